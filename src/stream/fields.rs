//! The `fields` table: Jira's field catalogue, so analysts can map `customfield_10016` to
//! "Story Points" and see which column type each field got.

use serde_json::{Value, json};

use super::{Outcome, Rows, RunStamp, Sender, Shape, StreamError, col};
use crate::jira::fields::FieldDef;
use crate::transform::columns::{Column, ColumnType};

pub fn columns() -> Vec<Column> {
    let mut cols = vec![
        col("id", ColumnType::Text),
        col("name", ColumnType::Text),
        col("custom", ColumnType::Bool),
        col("schema_type", ColumnType::Text),
        col("schema_items", ColumnType::Text),
        col("schema_custom", ColumnType::Text),
        col("schema_system", ColumnType::Text),
        col("column_type", ColumnType::Text),
    ];
    cols.extend(RunStamp::columns());
    cols
}

/// Sends the table built from an already fetched catalogue (the issues stream needs it too).
pub async fn extract(defs: &[FieldDef], shape: &Shape, stamp: &RunStamp, tx: &Sender) -> Result<Outcome, StreamError> {
    let mut rows = Rows::new(shape, tx);
    for d in defs {
        let s = d.schema.as_ref();
        let mut row = json!({
            "id": d.id, "name": d.name, "custom": d.custom,
            "schema_type": s.map(|s| &s.kind), "schema_items": s.and_then(|s| s.items.as_ref()),
            "schema_custom": s.and_then(|s| s.custom.as_ref()), "schema_system": s.and_then(|s| s.system.as_ref()),
            "column_type": ColumnType::of(s).describe(),
        });
        if let Some(o) = row.as_object_mut() {
            shape.mask(o);
        }
        rows.push(&d.id, &row, |c| stamp.column(c).or_else(|| row.get(c)).filter(|v: &&Value| !v.is_null())).await?;
    }
    rows.flush().await?;
    Ok(rows.into_outcome(Outcome::default()))
}
