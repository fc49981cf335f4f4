//! Rows on their way to the table: the metadata every row carries, the batches an object
//! hands the writer as it goes, and the count of what it found.

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{ObjectError, Shape};
use crate::arrow::array::RecordBatch;
use crate::report::{Reject, Warning};
use crate::transform::batch::{BatchBuilder, Cell};
use crate::transform::columns::{Column, ColumnType};

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

/// Rows the run marks instead of deleting: each id with why it left the table's scope, and
/// when that was noticed (see [`Gone`](super::Gone)). The values are held as JSON so the
/// marks go through the same typed builders as everything else.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    pub by_id: std::collections::HashMap<u64, super::Gone>,
    at: Value,
    reasons: Vec<(super::Gone, Value)>,
}

impl Marks {
    pub fn new(by_id: std::collections::HashMap<u64, super::Gone>, at: chrono::DateTime<chrono::Utc>) -> Self {
        let reasons = super::Gone::ALL.iter().map(|g| (*g, Value::from(g.as_str()))).collect();
        Self { by_id, at: at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into(), reasons }
    }

    /// The value of `_deleted_at` or `_deleted_reason` for the row `id`; `None` when the row is
    /// not marked (the columns are then null: the row is in scope).
    pub fn column(&self, id: u64, name: &str) -> Option<&Value> {
        let gone = self.by_id.get(&id)?;
        match name {
            crate::table::DELETED_AT => Some(&self.at),
            crate::table::DELETED_REASON => self.reasons.iter().find(|(g, _)| g == gone).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// What one run knows about itself, stamped on every row (held as JSON values so metadata
/// columns go through the same typed builders as Jira's fields).
#[derive(Debug, Clone)]
pub struct RunStamp {
    run_id: Value,
    extracted_at: Value,
    /// Rows of this object marked out of scope (incremental objects, after reconciliation).
    pub marks: std::sync::Arc<Marks>,
}

impl RunStamp {
    pub fn new(run_id: &str, extracted_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            run_id: run_id.into(),
            extracted_at: extracted_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into(),
            marks: std::sync::Arc::default(),
        }
    }

    /// This stamp, marking the rows in `marks`.
    pub fn with_marks(&self, marks: Marks) -> Self {
        Self { marks: std::sync::Arc::new(marks), ..self.clone() }
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

/// Rejects kept per object and run; beyond this only the count grows.
pub const MAX_REJECTS_KEPT: usize = 10_000;

/// The values of one column that did not fit it in a run: how many, and the first, to name in
/// the reject gate's message.
#[derive(Debug, Clone, Default)]
pub struct FieldRejects {
    pub count: usize,
    pub example: String,
    pub reason: String,
}

/// Values longer than this are cut in `_rejects` and messages: a reject is for finding the
/// shape that did not fit, not for keeping a second copy of large records.
const RAW_KEPT: usize = 4_000;

/// What extracting one object found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub rows: usize,
    /// Records refused whole (no usable id).
    pub rejected: usize,
    /// Rows written with one or more values left null because they did not fit their column.
    pub partial: usize,
    #[serde(skip)]
    pub rejects: Vec<Reject>,
    /// Per column (`None`: whole records), the values that did not fit: what the reject gate
    /// reports.
    #[serde(skip)]
    pub rejected_fields: std::collections::BTreeMap<Option<String>, FieldRejects>,
    /// Records (or parts of records) Jira refused to show (HTTP 403), skipped.
    pub skipped: usize,
    /// Jira's own count of matching records, when it gives one (issues).
    pub expected: Option<u64>,
    pub warnings: Vec<Warning>,
    /// The issues whose whole list of records (comments, links) this extraction read: their
    /// stored rows it did not write again are gone from Jira.
    #[serde(skip)]
    pub swept: Vec<String>,
}

impl Outcome {
    /// The rows and rejects of several workers' outcomes together.
    pub fn sum(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        let mut total = Outcome::default();
        for o in outcomes {
            total.rows += o.rows;
            total.rejected += o.rejected;
            total.partial += o.partial;
            total.rejects.extend(o.rejects);
            for (field, r) in o.rejected_fields {
                let t = total.rejected_fields.entry(field).or_insert_with(|| FieldRejects { count: 0, ..r.clone() });
                t.count += r.count;
            }
            total.skipped += o.skipped;
            total.warnings.extend(o.warnings);
            total.swept.extend(o.swept);
        }
        total
    }
}

/// One pending batch that the workers of an object fill together.
///
/// Each worker once kept a batch of its own: eight issue workers held eight batches of up to
/// 512 wide rows (with long comment threads ~10 MB each) and, once sent, the capacity for the
/// next, which was half of a run's heap at its peak (heaptrack, bench/RESULTS.md). Sending
/// smaller batches instead cost a fifth more CPU in the Parquet writer, which pays per batch
/// and column; one shared batch keeps batches large and holds one. Appending a decoded row is
/// a copy, so the lock is short; the send happens outside it.
#[derive(Clone)]
pub(crate) struct SharedBatch(std::sync::Arc<std::sync::Mutex<BatchBuilder>>);

impl SharedBatch {
    pub fn new(shape: &Shape) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(BatchBuilder::new(shape.columns.clone()))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BatchBuilder> {
        // A panic mid-append unwinds the one task every worker of the object runs in, so no
        // batch is taken after it.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The pending rows as a batch, when there are `at_least` (and at least one).
    fn take(&self, at_least: usize) -> Option<RecordBatch> {
        let mut b = self.lock();
        (b.len() >= at_least.max(1)).then(|| b.finish())
    }
}

/// Rows of one object on their way to the channel, a batch at a time; records that do not fit
/// their columns are set aside as rejects.
pub(crate) struct Rows<'s> {
    builder: SharedBatch,
    tx: &'s Sender,
    progress: indicatif::ProgressBar,
    pub count: usize,
    pub rejected: usize,
    pub partial: usize,
    pub rejects: Vec<Reject>,
    pub rejected_fields: std::collections::BTreeMap<Option<String>, FieldRejects>,
}

impl<'s> Rows<'s> {
    pub fn new(shape: &Shape, tx: &'s Sender) -> Self {
        Self::sharing(shape, tx, &SharedBatch::new(shape))
    }

    /// Rows whose counts are this worker's and whose batch is shared with the object's other
    /// workers.
    pub fn sharing(shape: &Shape, tx: &'s Sender, batch: &SharedBatch) -> Self {
        Self {
            builder: batch.clone(),
            tx,
            progress: shape.progress.clone(),
            count: 0,
            rejected: 0,
            partial: 0,
            rejects: Vec::new(),
            rejected_fields: Default::default(),
        }
    }

    /// Appends a row decoded by the caller; `false`, and nothing appended, when its key is
    /// null. Call `flush_if_full` after.
    pub fn push_row(&mut self, row: Vec<Cell<'_>>) -> bool {
        if self.builder.lock().push_row(row).is_err() {
            return false;
        }
        self.progress.inc(1);
        self.count += 1;
        true
    }

    /// Hands the batch to the writer once it has `BATCH_ROWS` rows.
    pub async fn flush_if_full(&mut self) -> Result<(), ObjectError> {
        match self.builder.take(BATCH_ROWS) {
            Some(batch) => self.send(batch).await,
            None => Ok(()),
        }
    }

    /// Appends the record `raw` (already masked) whose columns `value` looks up. A value that
    /// does not fit its column is left null and recorded, masked as the row is; only a record
    /// without a usable id is refused whole.
    pub async fn push<'v>(
        &mut self,
        id: &str,
        raw: &Value,
        value: impl Fn(&str) -> Option<&'v Value>,
    ) -> Result<(), ObjectError> {
        self.progress.inc(1);
        let pushed = self.builder.lock().push(id, &value);
        match pushed {
            Ok(bad) => {
                self.count += 1;
                if !bad.is_empty() {
                    self.partial += 1;
                }
                for e in bad {
                    tracing::warn!(record = id, field = %e.field, "value left null: {}", e.message);
                    let raw = value(&e.field).map(Value::to_string).unwrap_or_default();
                    self.reject(id, Some(e.field), e.message, raw);
                }
            }
            Err(e) => {
                tracing::warn!(record = id, field = %e.field, "record rejected: {}", e.message);
                self.rejected += 1;
                self.reject(id, None, e.to_string(), raw.to_string());
            }
        }
        self.flush_if_full().await
    }

    /// Sets a record aside whole, with why no row could be made of it.
    pub fn reject_record(&mut self, id: &str, reason: String) {
        self.progress.inc(1);
        self.rejected += 1;
        tracing::warn!(record = id, "record rejected: {reason}");
        self.reject(id, None, reason, String::new());
    }

    fn reject(&mut self, id: &str, field: Option<String>, reason: String, mut raw: String) {
        if raw.len() > RAW_KEPT {
            let cut = (0..=RAW_KEPT).rev().find(|i| raw.is_char_boundary(*i)).unwrap_or(0);
            raw.truncate(cut);
            raw.push('…');
        }
        let entry = self.rejected_fields.entry(field.clone()).or_default();
        if entry.count == 0 {
            entry.example = raw.chars().take(200).collect();
            entry.reason = reason.clone();
        }
        entry.count += 1;
        if self.rejects.len() < MAX_REJECTS_KEPT {
            self.rejects.push(Reject { id: id.to_string(), field, reason, raw });
        }
    }

    /// Moves the counts into `outcome`.
    pub fn into_outcome(self, outcome: Outcome) -> Outcome {
        Outcome {
            rows: self.count,
            rejected: self.rejected,
            partial: self.partial,
            rejects: self.rejects,
            rejected_fields: self.rejected_fields,
            ..outcome
        }
    }

    pub async fn flush(&mut self) -> Result<(), ObjectError> {
        match self.builder.take(1) {
            Some(batch) => self.send(batch).await,
            None => Ok(()),
        }
    }

    async fn send(&self, batch: RecordBatch) -> Result<(), ObjectError> {
        self.tx.send(batch).await.map_err(|_| ObjectError::WriterGone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::columns::{Column, ColumnType};

    /// Workers sharing a batch send full batches between them, each keeps its own counts, and
    /// the last flush sends what is left: every row arrives once.
    #[tokio::test]
    async fn workers_sharing_a_batch_send_full_batches_and_lose_no_row() {
        let columns =
            vec![Column { name: "id".into(), ty: ColumnType::Text }, Column { name: "n".into(), ty: ColumnType::Int }];
        let shape = Shape::new("t", columns, &[], None).unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let batch = SharedBatch::new(&shape);
        let (mut a, mut b) = (Rows::sharing(&shape, &tx, &batch), Rows::sharing(&shape, &tx, &batch));
        let total = BATCH_ROWS * 2 + 7;
        for i in 0..total {
            let rows = if i % 3 == 0 { &mut a } else { &mut b };
            assert!(rows.push_row(vec![Cell::Text(i.to_string().into()), Cell::Int(i as i64)]));
            rows.flush_if_full().await.unwrap();
        }
        a.flush().await.unwrap();
        b.flush().await.unwrap();
        let counts = (a.count, b.count);
        drop(a);
        drop(b);
        drop(tx);
        let mut sizes = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        while let Some(batch) = rx.recv().await {
            sizes.push(batch.num_rows());
            let n = batch.column(1).as_any().downcast_ref::<crate::arrow::array::Int64Array>().unwrap();
            seen.extend(n.values().iter().copied());
        }
        assert_eq!(sizes, [BATCH_ROWS, BATCH_ROWS, 7], "full batches, then the rest once");
        assert_eq!(seen.len(), total, "every row once");
        assert_eq!(counts, (total.div_ceil(3), total - total.div_ceil(3)), "counts stay per worker");
    }
}
