//! The `fields` table: Jira's field catalogue, so analysts can map `customfield_10016` to
//! "Story Points" and see which column type each field got.

use serde_json::{Value, json};

use super::{Extract, RunStamp, StreamError};
use crate::jira::fields::FieldDef;
use crate::transform::columns::{BatchBuilder, Column, ColumnType};

pub fn columns() -> Vec<Column> {
    let text = |n: &str| Column { name: n.into(), ty: ColumnType::Text };
    let mut cols = vec![
        text("id"),
        text("name"),
        Column { name: "custom".into(), ty: ColumnType::Bool },
        text("schema_type"),
        text("schema_items"),
        text("schema_custom"),
        text("schema_system"),
        text("column_type"),
    ];
    cols.extend(RunStamp::columns());
    cols
}

/// Builds the table from an already fetched catalogue (the issues stream needs it too).
pub fn extract(defs: &[FieldDef], stamp: &RunStamp) -> Result<Extract, StreamError> {
    let mut builder = BatchBuilder::new(columns());
    for d in defs {
        let s = d.schema.as_ref();
        let row = json!({
            "id": d.id, "name": d.name, "custom": d.custom,
            "schema_type": s.map(|s| &s.kind), "schema_items": s.and_then(|s| s.items.as_ref()),
            "schema_custom": s.and_then(|s| s.custom.as_ref()), "schema_system": s.and_then(|s| s.system.as_ref()),
            "column_type": format!("{}", ColumnType::of(s).arrow()),
        });
        builder.push(&d.id, |c| stamp.column(c).or_else(|| row.get(c)).filter(|v: &&Value| !v.is_null()))?;
    }
    let batch = builder.finish();
    Ok(Extract { schema: batch.schema(), rows: batch.num_rows(), batches: vec![batch] })
}
