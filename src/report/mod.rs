//! What a run did: the report printed and returned after each run, and its durable forms, the
//! `_runs` audit table (one row per object per run) and the `_rejects` table.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::arrow::array::RecordBatch;
use crate::config::SyncMode;
use crate::jira::RequestStats;
use crate::transform::batch::BatchBuilder;
use crate::transform::columns::{Column, ColumnType};
use crate::transform::drift::Drift;

/// Something the operator should know about an object's run, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub message: String,
    pub fix: String,
}

/// A value that did not fit its column (the row was written with that cell null), or a record
/// refused whole because it had no usable id: kept, masked, in the `_rejects` table.
#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    pub id: String,
    /// The column whose value did not fit; `None` when the whole record was refused.
    pub field: Option<String>,
    pub reason: String,
    /// The value as Jira sent it (the whole record when `field` is `None`), after masking.
    pub raw: String,
}

/// A diagnosed problem (`check`'s catalog and the objects' probes): a stable code, the
/// problem in the user's terms, and its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// Stable identifier of the catalog entry, e.g. `oauth-audience`.
    pub code: &'static str,
    pub problem: String,
    pub fix: String,
}

impl Diagnosis {
    pub fn new(code: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { code, problem: problem.into(), fix: fix.into() }
    }
}

/// What a run did, per object.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub pipeline: String,
    pub run_id: String,
    /// `ok`, or `failed` when any object (or the whole run) failed.
    pub status: Status,
    /// Why the run failed; each failed object also has its own `error`.
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Requests to Jira for the whole run: objects run concurrently on one client (one rate
    /// cap), so requests, retries, 429s and bytes are counted per run, not per object.
    pub requests: RequestStats,
    pub objects: Vec<ObjectReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    pub object: String,
    pub sync: SyncMode,
    pub status: Status,
    /// Records received from Jira: written plus rejected.
    pub rows_read: usize,
    pub rows_written: usize,
    /// Records refused whole: no usable id (see the `_rejects` table).
    pub rows_rejected: usize,
    /// Rows written with at least one value that did not fit its column left null (each value
    /// is in the `_rejects` table).
    pub rows_with_rejected_fields: usize,
    /// Rows marked or removed because their issue was deleted in Jira.
    pub rows_deleted: usize,
    pub skipped: usize,
    /// Jira's own count of matching records, when it gives one.
    pub expected: Option<u64>,
    pub cursor_before: Option<DateTime<Utc>>,
    pub cursor_after: Option<DateTime<Utc>>,
    pub table: String,
    pub table_version: Option<u64>,
    pub duration_ms: u64,
    pub drift: Option<Drift>,
    pub warnings: Vec<Warning>,
    pub error: Option<String>,
}

/// How a run, or one object of it, ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
        }
    }
}

impl ObjectReport {
    /// An object about to run: nothing read yet.
    pub fn new(object: &str, sync: SyncMode, table: String) -> Self {
        Self {
            object: object.to_string(),
            sync,
            status: Status::Ok,
            rows_read: 0,
            rows_written: 0,
            rows_rejected: 0,
            rows_with_rejected_fields: 0,
            rows_deleted: 0,
            skipped: 0,
            expected: None,
            cursor_before: None,
            cursor_after: None,
            table,
            table_version: None,
            duration_ms: 0,
            drift: None,
            warnings: Vec::new(),
            error: None,
        }
    }
}

impl RunReport {
    pub fn failed(&self) -> impl Iterator<Item = &ObjectReport> {
        self.objects.iter().filter(|o| o.error.is_some())
    }
}

fn col(name: &str, ty: ColumnType) -> Column {
    Column { name: name.into(), ty }
}

pub fn runs_columns() -> Vec<Column> {
    use ColumnType::*;
    vec![
        col("id", Text),
        col("pipeline", Text),
        col("run_id", Text),
        col("object", Text),
        col("sync", Text),
        col("status", Text),
        col("rows_written", Int),
        col("rows_rejected", Int),
        col("rows_with_rejected_fields", Int),
        col("rows_deleted", Int),
        col("skipped", Int),
        col("expected", Int),
        col("cursor_before", Timestamp),
        col("cursor_after", Timestamp),
        col("started_at", Timestamp),
        col("duration_ms", Int),
        col("table_version", Int),
        col("requests", Int),
        col("warnings", List(Box::new(Text))),
        col("error", Text),
    ]
}

fn ts(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))).unwrap_or(Value::Null)
}

/// The `_runs` rows of a run: one per object.
pub fn runs_batch(r: &RunReport) -> RecordBatch {
    let mut b = BatchBuilder::new(runs_columns());
    for o in &r.objects {
        let row = json!({
            "id": format!("{}/{}", r.run_id, o.object), "pipeline": r.pipeline, "run_id": r.run_id,
            "object": o.object, "sync": o.sync, "status": o.status, "rows_written": o.rows_written,
            "rows_rejected": o.rows_rejected, "rows_with_rejected_fields": o.rows_with_rejected_fields,
            "rows_deleted": o.rows_deleted, "skipped": o.skipped,
            "expected": o.expected,
            "cursor_before": ts(o.cursor_before), "cursor_after": ts(o.cursor_after),
            "started_at": ts(Some(r.started_at)), "duration_ms": o.duration_ms, "table_version": o.table_version,
            "requests": r.requests.requests,
            "warnings": o.warnings.iter().map(|w| format!("{} Fix: {}", w.message, w.fix)).collect::<Vec<_>>(),
            "error": o.error,
        });
        let bad = b.push(&o.object, |c| row.get(c)).expect("run rows have an id");
        debug_assert!(bad.is_empty(), "run rows match their columns: {bad:?}");
    }
    b.finish()
}

pub fn rejects_columns() -> Vec<Column> {
    use ColumnType::*;
    vec![
        col("id", Text),
        col("object", Text),
        col("record_id", Text),
        col("field", Text),
        col("reason", Text),
        col("raw", Text),
        col("run_id", Text),
        col("_extracted_at", Timestamp),
    ]
}

/// The `_rejects` rows of a run.
pub fn rejects_batch(run_id: &str, at: DateTime<Utc>, rejects: &[(String, Reject)]) -> RecordBatch {
    let mut b = BatchBuilder::new(rejects_columns());
    for (n, (object, r)) in rejects.iter().enumerate() {
        let row = json!({
            "id": format!("{run_id}/{n}"), "object": object, "record_id": r.id, "field": r.field,
            "reason": r.reason, "raw": r.raw,
            "run_id": run_id, "_extracted_at": ts(Some(at)),
        });
        let bad = b.push(&r.id, |c| row.get(c)).expect("reject rows have an id");
        debug_assert!(bad.is_empty(), "reject rows match their columns: {bad:?}");
    }
    b.finish()
}
