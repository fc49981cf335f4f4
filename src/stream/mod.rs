//! Each Jira object as a sequence of typed Arrow batches sent to a bounded channel: its
//! endpoint, primary key and columns. Knows Jira's shapes (through `jira`) and Arrow (through
//! `transform`), not Delta. Batches flow to the table writer while later pages are still being
//! fetched, so memory depends on the batch size, not on the size of the site.

pub mod boards;
pub mod fields;
pub mod issue_row;
pub mod issues;
pub mod projects;
pub mod users;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::arrow::array::RecordBatch;
use crate::config::FieldSelection;
use crate::jira::JiraError;
use crate::transform::batch::{BatchBuilder, Cell};
use crate::transform::columns::{Column, ColumnType, ConvertError};
use crate::transform::mask::{MaskPath, Masker, masked_type};

/// Rows a partition gathers before handing a batch to the writer. Pending rows are the
/// largest thing in memory (a decoded issue is ~10-20 KB), and every issue partition holds its
/// own, so this stays small; Parquet row groups are sized by the writer, not by this.
pub const BATCH_ROWS: usize = 512;

/// Batches in flight between extraction and the table writer.
pub const CHANNEL_BATCHES: usize = 2;

/// Metadata columns on every table.
pub const EXTRACTED_AT: &str = "_extracted_at";
pub const RUN_ID: &str = "_run_id";

pub type Sender = mpsc::Sender<RecordBatch>;

/// What one run knows about itself, stamped on every row (held as JSON values so metadata
/// columns go through the same typed builders as Jira's fields).
#[derive(Debug, Clone)]
pub struct RunStamp {
    run_id: Value,
    extracted_at: Value,
}

impl RunStamp {
    pub fn new(run_id: &str, extracted_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            run_id: run_id.into(),
            extracted_at: extracted_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into(),
        }
    }

    /// The value of a metadata column, `None` for any other column.
    pub fn column(&self, name: &str) -> Option<&Value> {
        match name {
            EXTRACTED_AT => Some(&self.extracted_at),
            RUN_ID => Some(&self.run_id),
            _ => None,
        }
    }

    /// The metadata columns, appended to every table.
    pub fn columns() -> [Column; 2] {
        [
            Column { name: EXTRACTED_AT.into(), ty: ColumnType::Timestamp },
            Column { name: RUN_ID.into(), ty: ColumnType::Text },
        ]
    }
}

/// Something the operator should know about an object's run, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub message: String,
    pub fix: String,
}

/// A record that could not be converted to its row: kept, masked, in the `_rejects` table.
#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    pub id: String,
    pub reason: String,
    /// The record as Jira sent it, after masking.
    pub raw: String,
}

/// Rejects kept per object and run; beyond this only the count grows.
pub const MAX_REJECTS_KEPT: usize = 10_000;

/// What extracting one object found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub rows: usize,
    pub rejected: usize,
    #[serde(skip)]
    pub rejects: Vec<Reject>,
    /// Records (or parts of records) Jira refused to show (HTTP 403), skipped.
    pub skipped: usize,
    /// Jira's own count of matching records, when it gives one (issues).
    pub expected: Option<u64>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error("`{object}.fields` names `{field}`, which this Jira site does not have{suggestion}")]
    UnknownField { object: &'static str, field: String, suggestion: String },
    /// The table writer stopped reading (it failed; its error is the one reported).
    #[error("the table writer stopped")]
    WriterGone,
    #[error("`{object}.fields` names `{field}`, which is not a column of `{object}`; its columns are: {columns}")]
    UnknownColumn { object: &'static str, field: String, columns: String },
    #[error("`objects.{object}.hash`: {message}")]
    BadHash { object: &'static str, message: String },
    #[error(
        "`{object}`: {lost} of the {listed} issues listed did not come back when fetched by id, although Jira still shows each of them (ids {sample}); the table was left unchanged. Run again; if it repeats, the site is dropping issues from its responses (a proxy, an app, or a Jira bug): report the ids to your Jira admin"
    )]
    Incomplete { object: &'static str, listed: usize, lost: usize, sample: String },
    /// The issue listing could not be completed safely; nothing was written.
    #[error("{endpoint}: the issue listing stopped: {message}")]
    Listing { endpoint: &'static str, message: String },
    #[error(
        "`{object}`: Jira has fields the table does not: {fields}. `schema_drift: fail` stops the run before anything is written; add them (`auto_sync`), keep the table's columns (`block`), or deselect them"
    )]
    Drift { object: &'static str, fields: String },
}

impl StreamError {
    /// A problem with the pipeline file rather than with the run.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            StreamError::UnknownField { .. } | StreamError::UnknownColumn { .. } | StreamError::BadHash { .. }
        )
    }
}

/// An object's columns with its masks applied: hashed paths become text columns.
#[derive(Clone)]
pub struct Shape {
    pub columns: Vec<Column>,
    masks: Vec<MaskPath>,
    masker: Option<Masker>,
    /// Counts rows as they are converted (a hidden bar when progress is off).
    pub progress: indicatif::ProgressBar,
}

impl Shape {
    /// Checks every `hash` path against the columns (`id` never; the column must be selected).
    pub fn new(
        object: &'static str,
        mut columns: Vec<Column>,
        hash: &[String],
        masker: Option<&Masker>,
    ) -> Result<Self, StreamError> {
        let mut masks = Vec::new();
        for text in hash {
            let bad = |message: String| StreamError::BadHash { object, message };
            let path = MaskPath::parse(text).map_err(bad)?;
            let Some(col) = columns.iter_mut().find(|c| c.name == path.column()) else {
                return Err(bad(format!(
                    "`{text}` starts at `{}`, which is not a column of this table; hash a selected field (columns: {})",
                    path.column(),
                    columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .filter(|n| !n.starts_with('_'))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if col.name == "id" || col.name.starts_with('_') {
                return Err(bad(format!("`{text}`: `{}` cannot be hashed", col.name)));
            }
            col.ty = masked_type(&col.ty, &path).map_err(bad)?;
            masks.push(path);
        }
        let masker = if masks.is_empty() { None } else { masker.cloned() };
        if !masks.is_empty() && masker.is_none() {
            return Err(StreamError::BadHash { object, message: "no `masking.key` is configured".into() });
        }
        Ok(Self { columns, masks, masker, progress: indicatif::ProgressBar::hidden() })
    }

    /// Hashes the masked paths of `record` (column name → value) in place.
    pub fn mask(&self, record: &mut serde_json::Map<String, Value>) {
        if let Some(m) = &self.masker {
            for p in &self.masks {
                m.apply(record, p);
            }
        }
    }

    /// Whether values of `column` are hashed (somewhere below it).
    pub fn is_masked(&self, column: &str) -> bool {
        self.masker.is_some() && self.masks.iter().any(|p| p.column() == column)
    }

    /// `v`, the value of `column`, with its masked paths hashed.
    pub fn mask_value(&self, column: &str, mut v: Value) -> Value {
        if let Some(m) = &self.masker {
            for p in self.masks.iter().filter(|p| p.column() == column) {
                m.apply_to_column(&mut v, p);
            }
        }
        v
    }
}

/// Rows of one object on their way to the channel, a batch at a time; records that do not fit
/// their columns are set aside as rejects.
pub(crate) struct Rows<'s> {
    builder: BatchBuilder,
    tx: &'s Sender,
    progress: indicatif::ProgressBar,
    pub count: usize,
    pub rejected: usize,
    pub rejects: Vec<Reject>,
}

impl<'s> Rows<'s> {
    pub fn new(shape: &Shape, tx: &'s Sender) -> Self {
        Self {
            builder: BatchBuilder::new(shape.columns.clone()),
            tx,
            progress: shape.progress.clone(),
            count: 0,
            rejected: 0,
            rejects: Vec::new(),
        }
    }

    /// Appends a row decoded by the caller; `false`, and nothing appended, when its key is
    /// null. Call `flush_if_full` after.
    pub fn push_row(&mut self, row: Vec<Cell<'_>>) -> bool {
        if self.builder.push_row(row).is_err() {
            return false;
        }
        self.progress.inc(1);
        self.count += 1;
        true
    }

    /// Hands the batch to the writer once it has `BATCH_ROWS` rows.
    pub async fn flush_if_full(&mut self) -> Result<(), StreamError> {
        if self.builder.len() >= BATCH_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    /// Appends the record `raw` (already masked) whose columns `value` looks up.
    pub async fn push<'v>(
        &mut self,
        id: &str,
        raw: &Value,
        value: impl Fn(&str) -> Option<&'v Value>,
    ) -> Result<(), StreamError> {
        self.progress.inc(1);
        match self.builder.push(id, value) {
            Ok(()) => self.count += 1,
            Err(e) => {
                tracing::warn!(record = id, field = %e.field, "record rejected: {}", e.message);
                self.rejected += 1;
                if self.rejects.len() < MAX_REJECTS_KEPT {
                    self.rejects.push(Reject { id: id.to_string(), reason: e.to_string(), raw: raw.to_string() });
                }
            }
        }
        self.flush_if_full().await
    }

    /// Moves the counts into `outcome`.
    pub fn into_outcome(self, outcome: Outcome) -> Outcome {
        Outcome { rows: self.count, rejected: self.rejected, rejects: self.rejects, ..outcome }
    }

    pub async fn flush(&mut self) -> Result<(), StreamError> {
        if !self.builder.is_empty() {
            self.tx.send(self.builder.finish()).await.map_err(|_| StreamError::WriterGone)?;
        }
        Ok(())
    }
}

/// What the writer needs to know before the first batch: the schema the columns produce and
/// which of them hold nearly distinct values.
pub fn layout_of(columns: &[Column]) -> crate::table::Layout {
    crate::table::Layout {
        schema: crate::transform::batch::schema(columns),
        distinct: columns.iter().filter(|c| c.nearly_distinct()).map(|c| c.name.clone()).collect(),
    }
}

/// Applies `fields` to an object whose columns are fixed (everything but issues): `id` and the
/// metadata columns are always kept, and a name that is not a column is an error rather than
/// a selection that silently keeps everything.
pub fn select(
    object: &'static str,
    columns: Vec<Column>,
    selection: &FieldSelection,
) -> Result<Vec<Column>, StreamError> {
    let named = |c: &Column| !c.name.starts_with('_');
    if let FieldSelection::Include(names) | FieldSelection::Exclude(names) = selection
        && let Some(bad) = names.iter().find(|n| !columns.iter().any(|c| named(c) && &c.name == *n))
    {
        let list = columns.iter().filter(|c| named(c)).map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(StreamError::UnknownColumn { object, field: bad.clone(), columns: list });
    }
    Ok(columns.into_iter().filter(|c| !named(c) || selection.keeps(&c.name)).collect())
}

/// Column helper for the fixed-shape objects.
pub(crate) fn col(name: &str, ty: ColumnType) -> Column {
    Column { name: name.into(), ty }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_columns_follow_the_selection_and_reject_unknown_names() {
        let cols = || vec![col("id", ColumnType::Text), col("name", ColumnType::Text), col("size", ColumnType::Float)];
        let names = |c: Vec<Column>| c.into_iter().map(|c| c.name).collect::<Vec<_>>();
        let with_meta = || cols().into_iter().chain(RunStamp::columns()).collect::<Vec<_>>();
        let keep = FieldSelection::Include(vec!["size".into()]);
        assert_eq!(names(select("boards", with_meta(), &keep).unwrap()), ["id", "size", "_extracted_at", "_run_id"]);
        let drop = FieldSelection::Exclude(vec!["size".into()]);
        assert_eq!(names(select("boards", cols(), &drop).unwrap()), ["id", "name"]);
        let bad = FieldSelection::Exclude(vec!["_run_id".into()]);
        let e = select("boards", with_meta(), &bad).unwrap_err();
        assert!(e.is_config() && e.to_string().contains("id, name, size"), "{e}");
    }
}
