//! The `users` table: every user, keyed by `accountId` (Cloud) or `key` (Data Center).

use serde_json::Value;

use super::{Outcome, Rows, RunStamp, Sender, Shape, StreamError, Warning, col};
use crate::config::Deployment;
use crate::jira::JiraClient;
use crate::transform::columns::{Column, ColumnType};

pub fn columns() -> Vec<Column> {
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

pub async fn extract(
    client: &JiraClient,
    shape: &Shape,
    stamp: &RunStamp,
    tx: &Sender,
) -> Result<Outcome, StreamError> {
    let key = match client.deployment() {
        Deployment::Cloud => "accountId",
        Deployment::DataCenter => "key",
    };
    let mut rows = Rows::new(shape, tx);
    let (mut people, mut without_email) = (0usize, 0usize);
    let mut pager = client.users();
    while let Some(page) = pager.next().await? {
        for mut u in page {
            let id = u.get(key).cloned().unwrap_or(Value::Null);
            // App and bot accounts have no email by design; people should.
            if u["accountType"].as_str().is_none_or(|t| t == "atlassian") {
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
