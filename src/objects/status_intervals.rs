//! The `issue_status_intervals` table: each stay of each issue in a status — entered, left,
//! how long — so time in status, lead time and cycle time are one query. Rebuilt per issue
//! from its whole changelog whenever the issue changes; `id` is `{issue_id}/{n}`, the n-th stay.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat};
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::history::{self, IssueHistory, IssueRows, Rebuilt, ValueColumns};
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};
use crate::transform::history::{changes, status_intervals};

/// The value columns: hashed on the rows of user fields only (see `history::ValueColumns`).
const VALUES: ValueColumns = ValueColumns { columns: &[], field: "status_id" };

pub struct StatusIntervals;

impl Object for StatusIntervals {
    fn kind(&self) -> ObjectKind {
        ObjectKind::StatusIntervals
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("issue_id", ColumnType::Text),
            col("status_id", ColumnType::Text),
            col("status_name", ColumnType::Text),
            col("status_category", ColumnType::Text),
            col("entered_at", ColumnType::Timestamp),
            col("left_at", ColumnType::Timestamp),
            col("duration_seconds", ColumnType::Float),
            col("is_current", ColumnType::Bool),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn reads_history(&self) -> bool {
        true
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(async move {
            // The changelog names statuses, not their categories.
            let categories: HashMap<String, String> = job
                .client
                .statuses()
                .await?
                .into_iter()
                .filter_map(|s| Some((s.id, s.status_category?.name)))
                .collect();
            history::extract(job, "status_intervals", true, &VALUES, |issue| rows(issue, &categories), Some(check))
                .await
        })
    }

    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            Ok(Probed { records: Some(format!("{} statuses", client.statuses().await?.len())), ..Probed::default() })
        })
    }
}

/// Epoch microseconds as the RFC 3339 text the typed builders read.
pub(super) fn instant(us: i64) -> Value {
    DateTime::from_timestamp_micros(us).map_or(Value::Null, |t| json!(t.to_rfc3339_opts(SecondsFormat::Micros, true)))
}

fn rows(issue: &IssueHistory, categories: &HashMap<String, String>) -> Rebuilt {
    // An issue gone since it was listed has no creation time: nothing to rebuild from.
    let Some(created) = issue.created()? else { return Ok(Vec::new()) };
    let intervals = status_intervals(created, issue.status.clone(), &changes(&issue.histories)?);
    Ok(intervals
        .iter()
        .enumerate()
        .filter_map(|(n, i)| {
            let id = format!("{}/{n}", issue.issue_id);
            let row = json!({
                "id": id,
                "issue_id": issue.issue_id,
                "status_id": i.status_id,
                "status_name": i.status_name,
                "status_category": i.status_id.as_ref().and_then(|s| categories.get(s)),
                "entered_at": instant(i.entered_at),
                "left_at": i.left_at.map_or(Value::Null, instant),
                "duration_seconds": i.left_at.map(|l| (l - i.entered_at) as f64 / 1e6),
                "is_current": i.left_at.is_none(),
            });
            match row {
                Value::Object(row) => Some((id, row)),
                _ => None,
            }
        })
        .collect())
}

/// One stay more than there are status changes, and the last stay in the status the issue is
/// in now (where both are known): what a changelog read whole and rebuilt right must give.
fn check(issue: &IssueHistory, rows: &IssueRows) -> Result<(), String> {
    if rows.is_empty() {
        return Ok(());
    }
    let moves = issue.status_moves();
    if rows.len() != moves + 1 {
        return Err(format!("{} stays rebuilt from {moves} status changes (expected {})", rows.len(), moves + 1));
    }
    let last = rows.last().and_then(|(_, r)| r.get("status_id")).and_then(Value::as_str);
    match (last, issue.status.0.as_deref()) {
        (Some(last), Some(now)) if last != now => {
            Err(format!("its last stay is in status {last} but the issue is in status {now}"))
        }
        _ => Ok(()),
    }
}
