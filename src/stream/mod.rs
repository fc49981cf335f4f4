//! Each Jira object as a sequence of typed Arrow batches: its endpoint, primary key and
//! columns. Knows Jira's shapes (through `jira`) and Arrow (through `transform`), not Delta.

pub mod fields;
pub mod issues;

use crate::arrow::array::RecordBatch;
use crate::arrow::datatypes::SchemaRef;

use crate::jira::JiraError;
use crate::transform::columns::ConvertError;

/// Rows per Arrow batch (and so per Parquet row group at most).
pub const BATCH_ROWS: usize = 10_000;

/// Metadata columns on every table.
pub const EXTRACTED_AT: &str = "_extracted_at";
pub const RUN_ID: &str = "_run_id";

/// What one run knows about itself, stamped on every row (held as JSON values so metadata
/// columns go through the same typed builders as Jira's fields).
#[derive(Debug, Clone)]
pub struct RunStamp {
    run_id: serde_json::Value,
    extracted_at: serde_json::Value,
}

impl RunStamp {
    pub fn new(run_id: &str, extracted_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            run_id: run_id.into(),
            extracted_at: extracted_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into(),
        }
    }

    /// The value of a metadata column, `None` for any other column.
    pub fn column(&self, name: &str) -> Option<&serde_json::Value> {
        match name {
            EXTRACTED_AT => Some(&self.extracted_at),
            RUN_ID => Some(&self.run_id),
            _ => None,
        }
    }

    /// The metadata columns, appended to every table.
    pub fn columns() -> [crate::transform::columns::Column; 2] {
        use crate::transform::columns::{Column, ColumnType};
        [
            Column { name: EXTRACTED_AT.into(), ty: ColumnType::Timestamp },
            Column { name: RUN_ID.into(), ty: ColumnType::Text },
        ]
    }
}

/// An extracted object: its schema and its batches.
#[derive(Debug)]
pub struct Extract {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error("`{object}.fields` names `{field}`, which this Jira site does not have{suggestion}")]
    UnknownField { object: &'static str, field: String, suggestion: String },
}
