//! The `versions` table: every version (release) of every project the API user can browse.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::per_project::{self, PerProject, project_id};
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const LIST: PerProject = PerProject { object: "versions", list: JiraClient::project_versions, row };

pub struct Versions;

impl Object for Versions {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Versions
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("project_id", ColumnType::Text),
            col("name", ColumnType::Text),
            col("description", ColumnType::Text),
            col("archived", ColumnType::Bool),
            col("released", ColumnType::Bool),
            // Jira sends both as `yyyy-mm-dd` dates.
            col("start_date", ColumnType::Date),
            col("release_date", ColumnType::Date),
            col("overdue", ColumnType::Bool),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(LIST.extract(job))
    }

    /// The first page of the first project's versions.
    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(LIST.probe(client))
    }
}

/// The version `v` of project `project` with the table's column names.
fn row(project: &str, v: &Value) -> Map<String, Value> {
    let project_id = project_id(project, v);
    let json = json!({
        "id": per_project::text(&v["id"]), "project_id": project_id, "name": v["name"], "description": v["description"],
        "archived": v["archived"], "released": v["released"], "start_date": v["startDate"],
        "release_date": v["releaseDate"], "overdue": v["overdue"],
    });
    match json {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}
