//! The `users` table: every user, keyed by `accountId` (Cloud) or `key` (Data Center).

use futures::future::BoxFuture;
use serde_json::Value;

use super::{Concern, Job, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col};
use crate::config::{Deployment, ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::report::{Diagnosis, Warning};
use crate::transform::columns::{Column, ColumnType};

pub struct Users;

/// Users `check` reads: enough to tell "emails hidden for everyone" from "some hide theirs".
const PROBE_SAMPLE: usize = 50;

impl Object for Users {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Users
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        columns()
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    /// Users and their emails need `read:jira-user`.
    fn oauth_scope(&self) -> &'static str {
        "read:jira-user"
    }

    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            let users = client.users_sample(PROBE_SAMPLE).await?;
            let records =
                if users.len() >= PROBE_SAMPLE { format!("{PROBE_SAMPLE}+") } else { users.len().to_string() };
            let mut probed = Probed { records: Some(records), ..Probed::default() };
            let people: Vec<&Value> = users.iter().filter(|u| is_person(u)).collect();
            if !people.is_empty() && people.iter().all(|u| u.get("emailAddress").is_none_or(Value::is_null)) {
                probed.findings.push((
                    Concern::Warn,
                    Diagnosis::new(
                        "users-redacted",
                        format!("users come without `emailAddress` (none of {} sampled people has one)", people.len()),
                        "with OAuth, grant the `read:jira-user` scope and consent again; otherwise give the API user the global permission Browse users and groups. Emails hidden by a user's own profile visibility stay hidden",
                    ),
                ));
            }
            Ok(probed)
        })
    }
}

/// App and bot accounts have no email by design; people should.
fn is_person(u: &Value) -> bool {
    u["accountType"].as_str().is_none_or(|t| t == "atlassian")
}

fn columns() -> Vec<Column> {
    let mut cols = vec![
        col("id", ColumnType::Text),
        col("accountId", ColumnType::Text),
        col("name", ColumnType::Text),
        col("key", ColumnType::Text),
        col("accountType", ColumnType::Text),
        col("displayName", ColumnType::Text),
        col("emailAddress", ColumnType::Text),
        col("active", ColumnType::Bool),
        col("timeZone", ColumnType::Text),
        col("locale", ColumnType::Text),
    ];
    cols.extend(RunStamp::columns());
    cols
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, tx, .. } = job;
    let key = match client.deployment() {
        Deployment::Cloud => "accountId",
        Deployment::DataCenter => "key",
    };
    let mut rows = Rows::new(shape, &tx);
    let (mut people, mut without_email) = (0usize, 0usize);
    let mut pager = client.users();
    while let Some(page) = pager.next().await? {
        for mut u in page {
            let id = u.get(key).cloned().unwrap_or(Value::Null);
            if is_person(&u) {
                people += 1;
                without_email += usize::from(u.get("emailAddress").is_none_or(Value::is_null));
            }
            if let Some(o) = u.as_object_mut() {
                shape.mask(o);
            }
            rows.push(id.as_str().unwrap_or_default(), &u, |c| match c {
                "id" => Some(&id),
                _ => stamp.column(c).or_else(|| u.get(c)),
            })
            .await?;
        }
    }
    rows.flush().await?;
    let mut warnings = Vec::new();
    if without_email > 0 {
        warnings.push(Warning {
            message: format!("{without_email} of {people} users came without `emailAddress`"),
            fix: if without_email == people {
                "the API user cannot see emails: give an OAuth app the `read:jira-user` scope, or grant the user 'Browse users and groups'; otherwise users' profile visibility hides them".into()
            } else {
                "those users hide their email in their Atlassian profile visibility settings; nothing to fix on jirapipe's side".into()
            },
        });
    }
    Ok(rows.into_outcome(Outcome { warnings, ..Outcome::default() }))
}
