//! The `priorities` table: every priority with its colour and whether it is the default.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::dimension::{Dimension, row_of};
use super::per_project::text;
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const LIST: Dimension = Dimension { kind: ObjectKind::Priorities, list: JiraClient::priorities, row };

pub struct Priorities;

impl Object for Priorities {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Priorities
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("name", ColumnType::Text),
            col("description", ColumnType::Text),
            col("status_color", ColumnType::Text),
            col("icon_url", ColumnType::Text),
            // Cloud only; null on Data Center.
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

fn row(p: &Value) -> Map<String, Value> {
    row_of(json!({
        "id": text(&p["id"]), "name": p["name"], "description": p["description"],
        "status_color": p["statusColor"], "icon_url": p["iconUrl"], "is_default": p["isDefault"],
    }))
}
