//! The `issue_changelog` table: every change of the issues the JQL matches, one row per
//! changed field (`id` is `{history_id}/{item_index}`, so overlapping windows merge instead of
//! duplicating). It follows the issues' cursor: each run lists the issues updated since the
//! cursor less the lookback and reads their whole changelog — Cloud's changelog bulk fetch,
//! not search's `expand=changelog`, which keeps only the newest 100 histories.

use std::sync::Mutex;

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::{Job, Listing, Object, ObjectError, Outcome, Probed, Rows, RunStamp, Shape, col, issues};
use crate::config::{Deployment, ObjectConfig, ObjectKind};
use crate::jira::changelog::{CHANGELOG_ISSUES_CLOUD, CHANGELOG_ISSUES_DC, IssueHistories};
use crate::jira::fields::FieldDef;
use crate::jira::issues::{Cursor, window_jql};
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

pub struct Changelog;

impl Object for Changelog {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Changelog
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("issue_id", ColumnType::Text),
            col("history_id", ColumnType::Text),
            col("item_index", ColumnType::Float),
            col("created", ColumnType::Timestamp),
            col("author", ColumnType::user()),
            col("field", ColumnType::Text),
            col("field_id", ColumnType::Text),
            col("fieldtype", ColumnType::Text),
            col("from", ColumnType::Text),
            col("from_string", ColumnType::Text),
            col("to", ColumnType::Text),
            col("to_string", ColumnType::Text),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    /// The issues changed since the cursor, listed exactly as the `issues` object lists them.
    fn list<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
        since_ms: i64,
    ) -> BoxFuture<'a, Result<Option<Listing>, ObjectError>> {
        Box::pin(async move { issues::list(client, config, since_ms).await.map(Some) })
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    /// The first matching issue's changelog: the endpoint answers and the user may read it.
    fn probe<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
    ) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            #[derive(serde::Deserialize)]
            struct Id {
                id: String,
            }
            let jql = window_jql(config.jql.as_deref(), 0);
            let page = client.search::<Vec<Id>>(&jql, &["id".to_string()], &Cursor::Start, 0, 1).await?;
            let Some(id) = page.issues.first().and_then(|i| i.id.parse::<u64>().ok()) else {
                return Ok(Probed { records: Some("0".into()), ..Probed::default() });
            };
            let histories: usize = client.changelogs(&[id]).await?.iter().map(|h| h.histories.len()).sum();
            Ok(Probed { records: Some(format!("{histories} changes on issue {id}")), ..Probed::default() })
        })
    }
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, concurrency, tx, listing, .. } = job;
    let Some(listing) = listing else {
        return Err(ObjectError::Listing { endpoint: "changelog", message: "extracted without a listing".into() });
    };
    let per_request = match client.deployment() {
        Deployment::Cloud => CHANGELOG_ISSUES_CLOUD,
        Deployment::DataCenter => CHANGELOG_ISSUES_DC,
    };
    let batches = Mutex::new(listing.ids.chunks(per_request));
    let cut = Mutex::new(Vec::new());
    let next = || batches.lock().expect("never poisoned").next();
    let tx = &tx;
    let workers = (0..concurrency.max(1)).map(|_| async {
        let mut rows = Rows::new(shape, tx);
        while let Some(ids) = next() {
            for issue in client.changelogs(ids).await? {
                if let Some(total) = issue.cut_at {
                    cut.lock().expect("never poisoned").push((issue.issue_id.clone(), total));
                }
                push_issue(&mut rows, shape, stamp, &issue).await?;
            }
        }
        rows.flush().await?;
        Ok::<_, ObjectError>(rows.into_outcome(Outcome::default()))
    });
    let outcomes = futures::future::try_join_all(workers).await?;
    let cut = cut.into_inner().expect("never poisoned");
    if let Some((issue, total)) = cut.first() {
        // Rows would be silently missing: fail before the commit.
        return Err(ObjectError::Listing {
            endpoint: "rest/api/2/search (expand=changelog)",
            message: format!(
                "Jira cut the changelog of {} issue(s) short (issue {issue} has {total} histories); the table was left unchanged. Report it with your Jira version: this Data Center does not return whole changelogs",
                cut.len()
            ),
        });
    }
    let mut total = Outcome::default();
    for o in outcomes {
        total.rows += o.rows;
        total.rejected += o.rejected;
        total.rejects.extend(o.rejects);
    }
    Ok(total)
}

/// One row per changed item of each history.
async fn push_issue(
    rows: &mut Rows<'_>,
    shape: &Shape,
    stamp: &RunStamp,
    issue: &IssueHistories,
) -> Result<(), ObjectError> {
    for h in &issue.histories {
        let history_id = h["id"].as_str().unwrap_or_default();
        for (n, item) in h["items"].as_array().into_iter().flatten().enumerate() {
            let mut row: Map<String, Value> = json!({
                "id": format!("{history_id}/{n}"),
                "issue_id": issue.issue_id,
                "history_id": history_id,
                "item_index": n,
                "created": h["created"],
                "author": h["author"],
                "field": item["field"],
                "field_id": item["fieldId"],
                "fieldtype": item["fieldtype"],
                "from": item["from"],
                "from_string": item["fromString"],
                "to": item["to"],
                "to_string": item["toString"],
            })
            .as_object()
            .cloned()
            .unwrap_or_default();
            shape.mask(&mut row);
            let raw = Value::Object(row);
            let id = format!("{history_id}/{n}");
            rows.push(&id, &raw, |c| stamp.column(c).or_else(|| raw.get(c)).filter(|v| !v.is_null())).await?;
        }
    }
    Ok(())
}
