//! The `versions` table: every version (release) of every project the API user can browse.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::{Job, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::report::Warning;
use crate::transform::columns::{Column, ColumnType};

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
        Box::pin(extract(job))
    }

    /// The first page of the first project's versions.
    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            let projects = client.project_ids().await?;
            let Some(first) = projects.first() else {
                return Ok(Probed { records: Some("0".into()), ..Probed::default() });
            };
            let page = client.project_versions(first).next().await?.unwrap_or_default();
            Ok(Probed { records: Some(format!("{}+", page.len())), ..Probed::default() })
        })
    }
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, tx, .. } = job;
    let mut rows = Rows::new(shape, &tx);
    let mut gone = Vec::new();
    for project in client.project_ids().await? {
        let mut pager = client.project_versions(&project);
        loop {
            let page = match pager.next().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                // Listed, then deleted or hidden before its versions were read.
                Err(JiraError::Forbidden { .. }) | Err(JiraError::Status { status: 404, .. }) => {
                    gone.push(project.clone());
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            for v in page {
                let mut row = row(&project, &v);
                shape.mask(&mut row);
                let id = row["id"].as_str().unwrap_or_default().to_string();
                let row = Value::Object(row);
                rows.push(&id, &v, |c| stamp.column(c).or_else(|| row.get(c))).await?;
            }
        }
    }
    rows.flush().await?;
    Ok(rows.into_outcome(skipped_projects("versions", gone)))
}

/// The version `v` of project `project` with the table's column names.
fn row(project: &str, v: &Value) -> Map<String, Value> {
    let text = |v: &Value| match v {
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    };
    let project_id = match text(&v["projectId"]) {
        Value::Null => Value::String(project.to_string()),
        id => id,
    };
    let json = json!({
        "id": text(&v["id"]), "project_id": project_id, "name": v["name"], "description": v["description"],
        "archived": v["archived"], "released": v["released"], "start_date": v["startDate"],
        "release_date": v["releaseDate"], "overdue": v["overdue"],
    });
    match json {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

/// The outcome of a per-project object when some projects could not be read.
pub(crate) fn skipped_projects(object: &str, gone: Vec<String>) -> Outcome {
    if gone.is_empty() {
        return Outcome::default();
    }
    Outcome {
        skipped: gone.len(),
        warnings: vec![Warning {
            message: format!(
                "{} projects' {object} could not be read (HTTP 403/404): {}",
                gone.len(),
                gone.join(", ")
            ),
            fix: "the projects were deleted during the run or the API user lost Browse projects on them; the next run reads them again".into(),
        }],
        ..Outcome::default()
    }
}
