//! The `fields` table: Jira's field catalogue, so analysts can map `customfield_10016` to
//! "Story Points" and see which column type each field got.

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{Job, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

pub struct Fields;

impl Object for Fields {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Fields
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
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

    /// The table is the catalogue the run already fetched (the issues need it too).
    fn needs_catalogue(&self) -> bool {
        true
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(
            async move { Ok(Probed { records: Some(client.fields().await?.len().to_string()), ..Probed::default() }) },
        )
    }
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { catalogue, shape, stamp, tx, .. } = job;
    let mut rows = Rows::new(shape, &tx);
    for d in catalogue {
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
