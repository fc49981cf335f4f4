//! The `labels` table: every label in use on the site (Cloud only: Data Center's REST API has
//! no label listing). A label has no id of its own, so the label is the row's key.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::dimension::{Dimension, row_of};
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const LIST: Dimension = Dimension { kind: ObjectKind::Labels, list: JiraClient::labels, row };

pub struct Labels;

impl Object for Labels {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Labels
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![col("id", ColumnType::Text), col("name", ColumnType::Text)];
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

/// `label` (Jira sends the bare string) as a row keyed by itself.
fn row(label: &Value) -> Map<String, Value> {
    row_of(json!({"id": label, "name": label}))
}
