//! The `components` table: every component of every project the API user can browse, with
//! its lead (a user, so `hash` can mask it) and, on Cloud, how many issues it has.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::per_project::{self, PerProject, project_id};
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const LIST: PerProject = PerProject { object: "components", list: JiraClient::project_components, row };

pub struct Components;

impl Object for Components {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Components
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("project_id", ColumnType::Text),
            col("name", ColumnType::Text),
            col("description", ColumnType::Text),
            col("lead", ColumnType::user()),
            col("assignee_type", ColumnType::Text),
            col("real_assignee_type", ColumnType::Text),
            // Cloud only: Data Center's component list has no count.
            col("issue_count", ColumnType::Int),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn personal_columns(&self) -> &'static [&'static str] {
        &["lead"]
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(LIST.extract(job))
    }

    /// The first page of the first project's components.
    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(LIST.probe(client))
    }
}

/// The component `c` of project `project` with the table's column names.
fn row(project: &str, c: &Value) -> Map<String, Value> {
    let project_id = project_id(project, c);
    let json = json!({
        "id": per_project::text(&c["id"]), "project_id": project_id, "name": c["name"], "description": c["description"],
        "lead": c["lead"], "assignee_type": c["assigneeType"], "real_assignee_type": c["realAssigneeType"],
        "issue_count": c["issueCount"],
    });
    match json {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}
