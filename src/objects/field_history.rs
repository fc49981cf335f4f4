//! The `issue_field_history` table (slowly changing dimension, type 2): each value each field
//! of each issue held, with `valid_from`, `valid_to` (null while current) and `is_current`.
//! The value before a field's first change is that change's `from`, held since the issue was
//! created. Rebuilt per issue from its whole changelog whenever the issue changes; `id` is
//! `{issue_id}/{field_id}/{n}`.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::history::{self, IssueHistory, IssueRows, Rebuilt, ValueColumns};
use super::status_intervals::instant;
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};
use crate::transform::history::{changes, field_versions};

/// The value columns: hashed on the rows of user fields only (see `history::ValueColumns`).
const VALUES: ValueColumns = ValueColumns { columns: &["value_id", "value"], field: "field_id" };

pub struct FieldHistory;

impl Object for FieldHistory {
    fn kind(&self) -> ObjectKind {
        ObjectKind::FieldHistory
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("issue_id", ColumnType::Text),
            col("field_id", ColumnType::Text),
            col("field", ColumnType::Text),
            col("value_id", ColumnType::Text),
            col("value", ColumnType::Text),
            col("valid_from", ColumnType::Timestamp),
            col("valid_to", ColumnType::Timestamp),
            col("is_current", ColumnType::Bool),
            col("history_id", ColumnType::Text),
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
        Box::pin(history::extract(job, "field_history", true, &VALUES, rows, Some(check)))
    }

    fn probe<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
    ) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(history::probe(client, config))
    }
}

fn rows(issue: &IssueHistory) -> Rebuilt {
    let Some(created) = issue.created()? else { return Ok(Vec::new()) };
    let mut n_by_field: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    Ok(field_versions(created, &changes(&issue.histories)?)
        .into_iter()
        .filter_map(|v| {
            let n = n_by_field.entry(v.field_id.clone()).or_default();
            let id = format!("{}/{}/{}", issue.issue_id, v.field_id, n);
            *n += 1;
            let row = json!({
                "id": id,
                "issue_id": issue.issue_id,
                "field_id": v.field_id,
                "field": v.field,
                "value_id": v.value_id,
                "value": v.value,
                "valid_from": instant(v.valid_from),
                "valid_to": v.valid_to.map_or(Value::Null, instant),
                "is_current": v.valid_to.is_none(),
                "history_id": v.history_id,
            });
            match row {
                Value::Object(row) => Some((id, row)),
                _ => None,
            }
        })
        .collect())
}

/// The status versions: one more than the status changes, the current one the status the
/// issue is in now. (Status is the one field whose current value the history read carries.)
fn check(issue: &IssueHistory, rows: &IssueRows) -> Result<(), String> {
    let status: Vec<&Map<String, Value>> =
        rows.iter().map(|(_, r)| r).filter(|r| r.get("field_id").and_then(Value::as_str) == Some("status")).collect();
    let moves = issue.status_moves();
    if status.len() != if moves == 0 { 0 } else { moves + 1 } {
        return Err(format!("{} status versions rebuilt from {moves} status changes", status.len()));
    }
    let current = status.last().and_then(|r| r.get("value_id")).and_then(Value::as_str);
    match (current, issue.status.0.as_deref()) {
        (Some(v), Some(now)) if v != now => Err(format!("its current status version is {v} but the issue is in {now}")),
        _ => Ok(()),
    }
}
