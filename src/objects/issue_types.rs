//! The `issue_types` table: every issue type, whether it is a sub-task and (Cloud) its level
//! in the hierarchy and the team-managed project it belongs to.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::dimension::{Dimension, row_of};
use super::per_project::text;
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const LIST: Dimension = Dimension { kind: ObjectKind::IssueTypes, list: JiraClient::issue_types, row };

pub struct IssueTypes;

impl Object for IssueTypes {
    fn kind(&self) -> ObjectKind {
        ObjectKind::IssueTypes
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("name", ColumnType::Text),
            col("description", ColumnType::Text),
            col("subtask", ColumnType::Bool),
            // Cloud only (epics 1, standard types 0, sub-tasks -1); Data Center has no levels.
            col("hierarchy_level", ColumnType::Int),
            col("scope_type", ColumnType::Text),
            col("scope_project_id", ColumnType::Text),
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

fn row(t: &Value) -> Map<String, Value> {
    row_of(json!({
        "id": text(&t["id"]), "name": t["name"], "description": t["description"], "subtask": t["subtask"],
        "hierarchy_level": t["hierarchyLevel"],
        "scope_type": t["scope"]["type"], "scope_project_id": text(&t["scope"]["project"]["id"]),
    }))
}
