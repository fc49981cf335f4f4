//! What the objects read project by project share (`versions`, `components`): every project the
//! API user can browse, each one's list paged through, a project that vanished between the
//! project list and its own list skipped with a warning rather than failing the run.

use serde_json::{Map, Value};

use super::{Job, ObjectError, Outcome, Probed, Rows};
use crate::jira::planning::Paged;
use crate::jira::{JiraClient, JiraError};
use crate::report::Warning;

/// How an object reads one project's list, and the row of one of its records.
pub(crate) struct PerProject {
    pub object: &'static str,
    pub list: for<'c> fn(&'c JiraClient, &str) -> Paged<'c>,
    /// The record of project `project` with the table's column names.
    pub row: fn(project: &str, record: &Value) -> Map<String, Value>,
}

impl PerProject {
    pub(crate) async fn extract(&self, job: Job<'_>) -> Result<Outcome, ObjectError> {
        let Job { client, shape, stamp, tx, .. } = job;
        let mut rows = Rows::new(shape, &tx);
        let mut gone = Vec::new();
        for project in client.project_ids().await? {
            let mut pager = (self.list)(client, &project);
            loop {
                let page = match pager.next().await {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    // Listed, then deleted or hidden before its own list was read.
                    Err(JiraError::Forbidden { .. }) | Err(JiraError::Status { status: 404, .. }) => {
                        gone.push(project.clone());
                        break;
                    }
                    Err(e) => return Err(e.into()),
                };
                for record in page {
                    let mut row = (self.row)(&project, &record);
                    shape.mask(&mut row);
                    let id = row["id"].as_str().unwrap_or_default().to_string();
                    let row = Value::Object(row);
                    rows.push(&id, &record, |c| stamp.column(c).or_else(|| row.get(c))).await?;
                }
            }
        }
        rows.flush().await?;
        Ok(rows.into_outcome(skipped_projects(self.object, gone)))
    }

    /// `check`'s probe: the first page of the first project's list.
    pub(crate) async fn probe(&self, client: &JiraClient) -> Result<Probed, JiraError> {
        let projects = client.project_ids().await?;
        let Some(first) = projects.first() else {
            return Ok(Probed { records: Some("0".into()), ..Probed::default() });
        };
        let page = (self.list)(client, first).next().await?.unwrap_or_default();
        Ok(Probed { records: Some(format!("{}+", page.len())), ..Probed::default() })
    }
}

/// An id Jira may send as a number (Data Center) or a string (Cloud), as text.
pub(crate) fn text(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// The record's `projectId`, or the project it was listed under.
pub(crate) fn project_id(project: &str, record: &Value) -> Value {
    match text(&record["projectId"]) {
        Value::Null => Value::String(project.to_string()),
        id => id,
    }
}

/// The outcome of a per-project object when some projects could not be read.
fn skipped_projects(object: &str, gone: Vec<String>) -> Outcome {
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
