//! The `boards` table: agile boards with their saved filter and columns. A board whose filter
//! is not shared with the API user keeps its row (the list shows it) without configuration,
//! and is counted as skipped.

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{Concern, Job, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::report::{Diagnosis, Warning};
use crate::transform::columns::{Column, ColumnType};

pub struct Boards;

impl Object for Boards {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Boards
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        columns()
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    /// Like a run, which skips boards on a site without Jira Software and goes on.
    fn diagnose(&self, err: &JiraError) -> Option<(Concern, Diagnosis)> {
        match err {
            JiraError::Forbidden { message, .. } => Some((
                Concern::Warn,
                Diagnosis::new(
                    "boards-unavailable",
                    format!("boards are not available to the API user: {message}"),
                    "boards need Jira Software on the site and a Jira Software licence/product access for the API user; remove `boards` from `objects` if the site has none",
                ),
            )),
            JiraError::Status { status: 404, .. } => Some((
                Concern::Warn,
                Diagnosis::new(
                    "boards-unavailable",
                    "the agile API is missing: the site has no Jira Software",
                    "remove `boards` from `objects` (boards exist only with Jira Software)",
                ),
            )),
            _ => None,
        }
    }

    /// The first page of boards, and each one's configuration: it needs the board's saved
    /// filter, which may not be shared with the API user.
    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            let (boards, total) = client.boards_first_page().await?;
            let ids: Vec<String> = boards.iter().map(|b| id_text(&b["id"])).collect();
            let mut probed =
                Probed { records: Some(total.unwrap_or(ids.len() as u64).to_string()), ..Probed::default() };
            let configs: Vec<(String, Result<Value, JiraError>)> =
                futures::stream::iter(ids.into_iter().map(|id| async move {
                    let r = client.board_configuration(&id).await;
                    (id, r)
                }))
                .buffered(CONFIG_CONCURRENCY)
                .collect()
                .await;
            let mut forbidden = Vec::new();
            for (id, r) in configs {
                match r {
                    Ok(_) => {}
                    Err(JiraError::Forbidden { .. }) => forbidden.push(id),
                    Err(e) => return Err(e),
                }
            }
            if !forbidden.is_empty() {
                probed.findings.push((
                    Concern::Warn,
                    Diagnosis::new(
                        "board-filter-not-shared",
                        format!(
                            "{} board(s) answer 403 for their configuration because their saved filter is not shared with the API user: {} (they are extracted without filter and columns)",
                            forbidden.len(),
                            forbidden.join(", ")
                        ),
                        "in Jira, open each board → Board settings → General → Edit filter shares, and share the filter with the API user (or a group it is in); the user also needs Browse projects on the filter's projects",
                    ),
                ));
            }
            Ok(probed)
        })
    }
}

fn columns() -> Vec<Column> {
    let mut cols = vec![
        col("id", ColumnType::Text),
        col("name", ColumnType::Text),
        col("type", ColumnType::Text),
        col("isPrivate", ColumnType::Bool),
        col("location", ColumnType::Json),
        col("filter_id", ColumnType::Text),
        col("columns", ColumnType::List(Box::new(ColumnType::Text))),
    ];
    cols.extend(RunStamp::columns());
    cols
}

/// The columns that come from each board's configuration rather than from the board list.
const CONFIG_COLUMNS: [&str; 2] = ["filter_id", "columns"];

/// Configurations fetched at once per page (the client's rate cap still applies).
const CONFIG_CONCURRENCY: usize = 8;

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, tx, .. } = job;
    let mut rows = Rows::new(shape, &tx);
    let mut forbidden = Vec::new();
    let mut not_found = Vec::new();
    // One request per board, every run: skipped when `fields` leaves out what it feeds.
    let wants_config = shape.columns.iter().any(|c| CONFIG_COLUMNS.contains(&c.name.as_str()));
    let mut pager = client.boards();
    loop {
        let page = match pager.next().await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // No Jira Software on the site, or no access to it: the object is skipped, not the run.
            Err(JiraError::Forbidden { message, .. }) | Err(JiraError::Status { status: 404, message, .. }) => {
                rows.flush().await?;
                return Ok(rows.into_outcome(Outcome {
                    skipped: 1,
                    warnings: vec![Warning {
                        message: format!("boards are not available: {message}"),
                        fix: "boards need Jira Software and the API user's access to it; remove `boards` from `objects` if the site has none".into(),
                    }],
                    ..Outcome::default()
                }));
            }
            Err(e) => return Err(e.into()),
        };
        let ids: Vec<String> = page.iter().map(|b| id_text(&b["id"])).collect();
        let configs: Vec<Result<Value, JiraError>> = futures::stream::iter(ids.into_iter().map(|id| async move {
            if wants_config { client.board_configuration(&id).await } else { Ok(Value::Null) }
        }))
        .buffered(CONFIG_CONCURRENCY)
        .collect()
        .await;
        for (mut b, config) in page.into_iter().zip(configs) {
            let id = id_text(&b["id"]);
            let extra = match config {
                Ok(c) => json!({
                    "filter_id": c["filter"]["id"],
                    "columns": c["columnConfig"]["columns"]
                        .as_array()
                        .map(|cols| cols.iter().map(|c| c["name"].clone()).collect::<Vec<_>>()),
                }),
                Err(JiraError::Forbidden { .. }) => {
                    forbidden.push(id.clone());
                    json!({})
                }
                // Listed, but its configuration is not found (the board was deleted since the
                // listing, or Jira hides it like a forbidden one): the row stays, without it.
                Err(JiraError::Status { status: 404, .. }) => {
                    not_found.push(id.clone());
                    json!({})
                }
                Err(e) => return Err(e.into()),
            };
            let mut extra = extra;
            if let (Some(o), Some(x)) = (b.as_object_mut(), extra.as_object_mut()) {
                shape.mask(o);
                shape.mask(x);
            }
            let id_value = Value::String(id.clone());
            rows.push(&id, &b, |c| match c {
                "id" => Some(&id_value),
                "filter_id" | "columns" => extra.get(c),
                _ => stamp.column(c).or_else(|| b.get(c)),
            })
            .await?;
        }
    }
    rows.flush().await?;
    let mut warnings = Vec::new();
    if !forbidden.is_empty() {
        warnings.push(Warning {
            message: format!(
                "{} boards' configuration is forbidden (their saved filter is not shared with the API user): {}",
                forbidden.len(),
                forbidden.join(", ")
            ),
            fix: "ask each filter's owner to share it with the API user (or a group it is in); the boards are kept without filter and columns".into(),
        });
    }
    if !not_found.is_empty() {
        warnings.push(Warning {
            message: format!(
                "{} boards' configuration was not found (HTTP 404): {}",
                not_found.len(),
                not_found.join(", ")
            ),
            fix: "the boards were deleted during the run or their configuration is hidden from the API user; they are kept without filter and columns, and the next run reads them again".into(),
        });
    }
    let skipped = forbidden.len() + not_found.len();
    Ok(rows.into_outcome(Outcome { skipped, warnings, ..Outcome::default() }))
}

/// Board ids are numbers in JSON; the table keys every object by text.
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
