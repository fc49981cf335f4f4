//! Each Jira object as a sequence of typed Arrow batches sent to a bounded channel: its
//! endpoint, primary key and columns. Knows Jira's shapes (through `jira`) and Arrow (through
//! `transform`), not Delta. Batches flow to the table writer while later pages are still being
//! fetched, so memory depends on the batch size, not on the size of the site.

pub mod boards;
pub mod fields;
pub mod issues;
pub mod projects;
pub mod users;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::arrow::array::RecordBatch;
use crate::jira::JiraError;
use crate::transform::columns::{BatchBuilder, Column, ColumnType, ConvertError};

/// Rows per Arrow batch (and so per Parquet row group at most).
pub const BATCH_ROWS: usize = 10_000;

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

/// What extracting one object found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub rows: usize,
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
}

/// Rows of one object on their way to the channel, a batch at a time.
pub(crate) struct Rows<'s> {
    builder: BatchBuilder,
    tx: &'s Sender,
    pub count: usize,
}

impl<'s> Rows<'s> {
    pub fn new(columns: Vec<Column>, tx: &'s Sender) -> Self {
        Self { builder: BatchBuilder::new(columns), tx, count: 0 }
    }

    pub async fn push<'v>(&mut self, id: &str, value: impl Fn(&str) -> Option<&'v Value>) -> Result<(), StreamError> {
        self.builder.push(id, value)?;
        self.count += 1;
        if self.builder.len() >= BATCH_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self) -> Result<(), StreamError> {
        if !self.builder.is_empty() {
            self.tx.send(self.builder.finish()).await.map_err(|_| StreamError::WriterGone)?;
        }
        Ok(())
    }
}

/// The schema a list of columns produces, for the writer to know before the first batch.
pub fn schema_of(columns: &[Column]) -> crate::arrow::datatypes::SchemaRef {
    BatchBuilder::new(columns.to_vec()).schema()
}

/// Column helper for the fixed-shape objects.
pub(crate) fn col(name: &str, ty: ColumnType) -> Column {
    Column { name: name.into(), ty }
}
