//! What a run refuses to commit. Each gate runs after an object's records are all read and
//! before its commit, so a run that would write less than Jira holds — records refused whole,
//! a field that fits nowhere, a snapshot that collapsed — fails with the table at its last
//! version instead of exiting 0 (README, "What jirapipe refuses to write").

use crate::config::{ObjectConfig, SyncMode};
use crate::objects::{ObjectError, Outcome};
use crate::report::Reject;

/// Records with a value left null that always pass, whatever the share: a handful of odd
/// values on a small site is worth a warning, not a failed run.
const REJECT_FLOOR: usize = 10;

/// Rows a full refresh may drop, whatever the table's size (as the mass-delete guard).
const SHRINK_FLOOR: u64 = 10;

/// Fields named in a reject gate's message.
const FIELDS_NAMED: usize = 5;

/// Fails the object when records were refused whole (rows lost), or when more records than
/// `max_rejected_fraction` allows carry values that did not fit their columns.
pub(super) fn rejects(o: &ObjectConfig, outcome: &Outcome, rejects: &[Reject]) -> Result<(), ObjectError> {
    let object = o.kind.name();
    if outcome.rejected > 0 {
        let sample = rejects.iter().filter(|r| r.field.is_none()).take(3);
        let sample = sample.map(|r| format!("{}: {}", r.id, r.reason)).collect::<Vec<_>>().join("; ");
        return Err(ObjectError::Lost { object, count: outcome.rejected, sample });
    }
    let affected = outcome.partial;
    let read = outcome.rows;
    if affected <= REJECT_FLOOR || affected as f64 <= o.max_rejected_fraction * read.max(1) as f64 {
        return Ok(());
    }
    let mut fields: Vec<_> = outcome.rejected_fields.iter().filter_map(|(f, r)| Some((f.as_ref()?, r))).collect();
    fields.sort_by_key(|f| std::cmp::Reverse(f.1.count));
    let named = fields
        .iter()
        .take(FIELDS_NAMED)
        .map(|(f, r)| format!("`{f}` in {} records, e.g. {} ({})", r.count, r.example, r.reason))
        .collect::<Vec<_>>()
        .join("; ");
    Err(ObjectError::Rejected {
        object,
        affected,
        read,
        share: affected as f64 * 100.0 / read.max(1) as f64,
        limit_pct: o.max_rejected_fraction * 100.0,
        fields: format!("Values that did not fit: {named}"),
    })
}

/// A full refresh may not empty a table that holds rows, nor shrink it by more than
/// `max_deleted_fraction`: the answer that would do so is far likelier a lost credential or
/// permission than a site that lost its records.
pub(super) fn snapshot(o: &ObjectConfig, table_rows: Option<u64>, outcome: &Outcome) -> Result<(), ObjectError> {
    let object = o.kind.name();
    let Some(table_rows) = table_rows.filter(|n| *n > 0 && o.sync == SyncMode::FullRefresh) else { return Ok(()) };
    let rows = outcome.rows;
    if rows == 0 {
        return Err(ObjectError::Emptied { object, table_rows });
    }
    let dropped = table_rows.saturating_sub(rows as u64);
    if dropped > SHRINK_FLOOR && dropped as f64 > o.max_deleted_fraction * table_rows as f64 {
        return Err(ObjectError::Shrunk { object, table_rows, rows, limit_pct: o.max_deleted_fraction * 100.0 });
    }
    Ok(())
}
