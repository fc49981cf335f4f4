//! The `resolutions` table: every resolution, to tell Done from Won't Do and Duplicate.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::dimension::{Dimension, row_of};
use super::per_project::text;
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const LIST: Dimension = Dimension { kind: ObjectKind::Resolutions, list: JiraClient::resolutions, row };

pub struct Resolutions;

impl Object for Resolutions {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Resolutions
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("name", ColumnType::Text),
            col("description", ColumnType::Text),
            // Cloud's `resolution/search` only; null on Data Center.
            col("is_default", ColumnType::Bool),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(LIST.extract(job))
    }

    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(LIST.probe(client))
    }
}

fn row(r: &Value) -> Map<String, Value> {
    // The spec's schema names the flag `default`, its example `isDefault`: either is read.
    let is_default = r.get("default").or_else(|| r.get("isDefault"));
    row_of(json!({
        "id": text(&r["id"]), "name": r["name"], "description": r["description"], "is_default": is_default,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_flag_is_read_under_either_name_the_spec_gives() {
        assert_eq!(row(&json!({"id": "1", "default": true}))["is_default"], json!(true));
        assert_eq!(row(&json!({"id": "1", "isDefault": true}))["is_default"], json!(true));
        assert_eq!(row(&json!({"id": "1"}))["is_default"], Value::Null);
    }
}
