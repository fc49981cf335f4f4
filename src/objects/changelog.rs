//! The `issue_changelog` table: every change of the issues the JQL matches, one row per
//! changed field (`id` is `{history_id}/{item_index}`, so overlapping windows merge instead of
//! duplicating). It follows the issues' cursor: each run lists the issues updated since the
//! cursor less the lookback and reads their whole changelog — Cloud's changelog bulk fetch,
//! not search's `expand=changelog`, which keeps only the newest 100 histories.

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::history::{self, IssueHistory, IssueRows, ValueColumns};
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

/// The value columns: hashed on the rows of user fields only (see `history::ValueColumns`).
const VALUES: ValueColumns = ValueColumns { columns: &["from", "to", "from_string", "to_string"], field: "field_id" };

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
            col("item_index", ColumnType::Int),
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

    fn personal_columns(&self) -> &'static [&'static str] {
        VALUES.columns
    }

    /// The catalogue says which fields hold users, whose values `hash` can reach.
    fn needs_catalogue(&self) -> bool {
        true
    }

    fn reads_history(&self) -> bool {
        true
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
        Box::pin(history::probe(client, config))
    }
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    history::extract(job, "changelog", false, &VALUES, |issue| Ok(rows(issue)), None).await
}

/// One row per changed item of each history.
fn rows(issue: &IssueHistory) -> IssueRows {
    let mut out = Vec::new();
    for h in &issue.histories {
        let history_id = h["id"].as_str().unwrap_or_default();
        for (n, item) in h["items"].as_array().into_iter().flatten().enumerate() {
            let id = format!("{history_id}/{n}");
            let row = json!({
                "id": id,
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
            });
            if let Value::Object(row) = row {
                out.push((id, row));
            }
        }
    }
    out
}
