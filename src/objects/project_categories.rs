//! The `project_categories` table: the categories `projects.projectCategory` points at.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::dimension::{Dimension, row_of};
use super::per_project::text;
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const LIST: Dimension = Dimension { kind: ObjectKind::ProjectCategories, list: JiraClient::project_categories, row };

pub struct ProjectCategories;

impl Object for ProjectCategories {
    fn kind(&self) -> ObjectKind {
        ObjectKind::ProjectCategories
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols =
            vec![col("id", ColumnType::Text), col("name", ColumnType::Text), col("description", ColumnType::Text)];
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

fn row(c: &Value) -> Map<String, Value> {
    row_of(json!({"id": text(&c["id"]), "name": c["name"], "description": c["description"]}))
}
