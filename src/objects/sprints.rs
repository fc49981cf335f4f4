//! The `sprints` table: every sprint of every scrum board, one row per sprint. A sprint is
//! listed by its own board and by every other board whose filter matches its issues, so rows
//! are keyed by the sprint's id and `origin_board_id` says whose it is. Kanban boards have no
//! sprints (Jira answers 400) and are passed over.

use std::collections::HashSet;

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::{Concern, Job, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::report::{Diagnosis, Warning};
use crate::transform::columns::{Column, ColumnType};

pub struct Sprints;

impl Object for Sprints {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Sprints
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("name", ColumnType::Text),
            col("state", ColumnType::Text),
            col("start_date", ColumnType::Timestamp),
            col("end_date", ColumnType::Timestamp),
            col("complete_date", ColumnType::Timestamp),
            col("created_date", ColumnType::Timestamp),
            col("goal", ColumnType::Text),
            col("origin_board_id", ColumnType::Text),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    /// Like a run, which skips sprints on a site without Jira Software and goes on.
    fn diagnose(&self, err: &JiraError) -> Option<(Concern, Diagnosis)> {
        match err {
            JiraError::Forbidden { .. } | JiraError::Status { status: 404, .. } => Some((
                Concern::Warn,
                Diagnosis::new(
                    "sprints-unavailable",
                    format!("sprints are not available: the agile API needs Jira Software ({err})"),
                    "remove `sprints` from `objects` if the site has no Jira Software, or give the API user Jira Software access",
                ),
            )),
            _ => None,
        }
    }

    /// The first page of boards, and the first page of sprints of the first scrum board.
    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            let (boards, _) = client.boards_first_page().await?;
            let Some(board) = boards.iter().find(|b| b["type"] == "scrum") else {
                return Ok(Probed { records: Some("0".into()), ..Probed::default() });
            };
            let id = id_text(&board["id"]);
            let first = client.board_sprints(&id).next().await?.unwrap_or_default();
            let records = if first.len() >= 50 { "50+".to_string() } else { format!("{}+", first.len()) };
            Ok(Probed { records: Some(records), ..Probed::default() })
        })
    }
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, tx, .. } = job;
    let mut rows = Rows::new(shape, &tx);
    let mut seen = HashSet::new();
    let mut boards = client.boards();
    let mut forbidden = Vec::new();
    loop {
        let page = match boards.next().await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // No Jira Software on the site, or no access to it: the object is skipped, not the run.
            Err(JiraError::Forbidden { message, .. }) | Err(JiraError::Status { status: 404, message, .. }) => {
                return Ok(rows.into_outcome(Outcome {
                    skipped: 1,
                    warnings: vec![Warning {
                        message: format!("sprints are not available: {message}"),
                        fix: "sprints need Jira Software and the API user's access to it; remove `sprints` from `objects` if the site has none".into(),
                    }],
                    ..Outcome::default()
                }));
            }
            Err(e) => return Err(e.into()),
        };
        for board in page {
            let id = id_text(&board["id"]);
            let mut sprints = client.board_sprints(&id);
            loop {
                let page = match sprints.next().await {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    // "The board does not support sprints": a kanban board, nothing lost.
                    Err(JiraError::Status { status: 400, .. }) => break,
                    // A board the API user cannot view (its filter is not shared): its sprints
                    // are read through the boards that can.
                    Err(JiraError::Forbidden { .. }) | Err(JiraError::Status { status: 404, .. }) => {
                        forbidden.push(id.clone());
                        break;
                    }
                    Err(e) => return Err(e.into()),
                };
                for s in page {
                    let sid = id_text(&s["id"]);
                    if !seen.insert(sid.clone()) {
                        continue;
                    }
                    let mut row = row(&sid, &s);
                    shape.mask(&mut row);
                    let row = Value::Object(row);
                    rows.push(&sid, &s, |c| stamp.column(c).or_else(|| row.get(c))).await?;
                }
            }
        }
    }
    rows.flush().await?;
    let mut warnings = Vec::new();
    if !forbidden.is_empty() {
        warnings.push(Warning {
            message: format!(
                "{} boards' sprints could not be read (HTTP 403/404): {}",
                forbidden.len(),
                forbidden.join(", ")
            ),
            fix: "share each board's saved filter with the API user; sprints those boards alone list are missing"
                .into(),
        });
    }
    Ok(rows.into_outcome(Outcome { skipped: forbidden.len(), warnings, ..Outcome::default() }))
}

/// The sprint `s` with the table's column names.
fn row(id: &str, s: &Value) -> Map<String, Value> {
    let origin = match &s["originBoardId"] {
        Value::Null => Value::Null,
        v => Value::String(id_text(v)),
    };
    let json = json!({
        "id": id, "name": s["name"], "state": s["state"], "start_date": s["startDate"], "end_date": s["endDate"],
        "complete_date": s["completeDate"], "created_date": s["createdDate"], "goal": s["goal"],
        "origin_board_id": origin,
    });
    match json {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

/// Board and sprint ids are numbers in JSON; the table keys every object by text.
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
