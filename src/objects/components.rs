//! The `components` table: every component of every project the API user can browse, with
//! its lead (a user, so `hash` can mask it) and, on Cloud, how many issues it has.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::versions::skipped_projects;
use super::{Job, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

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
            col("issue_count", ColumnType::Float),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn personal_columns(&self) -> &'static [&'static str] {
        &["lead"]
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    /// The first page of the first project's components.
    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            let projects = client.project_ids().await?;
            let Some(first) = projects.first() else {
                return Ok(Probed { records: Some("0".into()), ..Probed::default() });
            };
            let page = client.project_components(first).next().await?.unwrap_or_default();
            Ok(Probed { records: Some(format!("{}+", page.len())), ..Probed::default() })
        })
    }
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, tx, .. } = job;
    let mut rows = Rows::new(shape, &tx);
    let mut gone = Vec::new();
    for project in client.project_ids().await? {
        let mut pager = client.project_components(&project);
        loop {
            let page = match pager.next().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                // Listed, then deleted or hidden before its components were read.
                Err(JiraError::Forbidden { .. }) | Err(JiraError::Status { status: 404, .. }) => {
                    gone.push(project.clone());
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            for c in page {
                let mut row = row(&project, &c);
                shape.mask(&mut row);
                let id = row["id"].as_str().unwrap_or_default().to_string();
                let row = Value::Object(row);
                rows.push(&id, &c, |col| stamp.column(col).or_else(|| row.get(col))).await?;
            }
        }
    }
    rows.flush().await?;
    Ok(rows.into_outcome(skipped_projects("components", gone)))
}

/// The component `c` of project `project` with the table's column names.
fn row(project: &str, c: &Value) -> Map<String, Value> {
    let text = |v: &Value| match v {
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    };
    let project_id = match text(&c["projectId"]) {
        Value::Null => Value::String(project.to_string()),
        id => id,
    };
    let json = json!({
        "id": text(&c["id"]), "project_id": project_id, "name": c["name"], "description": c["description"],
        "lead": c["lead"], "assignee_type": c["assigneeType"], "real_assignee_type": c["realAssigneeType"],
        "issue_count": c["issueCount"],
    });
    match json {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}
