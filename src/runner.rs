//! One run of a pipeline: config → jira → stream → table, with a report of what happened.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Deployment, ObjectKind, Pipeline, SyncMode};
use crate::jira::{JiraClient, JiraError, RetryConfig};
use crate::stream::{self, RunStamp, StreamError};
use crate::table::{CommitMeta, TableError, TableStore};

/// Why a run stopped. `is_config` separates "fix your pipeline" (exit 2) from "the run failed"
/// (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{what} is not supported by this version of jirapipe yet; {fix}")]
    Unsupported { what: String, fix: &'static str },
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error(transparent)]
    Table(#[from] TableError),
}

impl RunError {
    pub fn is_config(&self) -> bool {
        matches!(self, RunError::Unsupported { .. } | RunError::Stream(StreamError::UnknownField { .. }))
    }
}

/// What a run did, per object.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub pipeline: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub objects: Vec<ObjectReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    pub object: String,
    pub rows_written: usize,
    pub table: String,
    pub table_version: u64,
}

/// Checks before anything is fetched or written, so an unsupported pipeline fails fast and
/// leaves every table as it was.
fn preflight(p: &Pipeline) -> Result<(), RunError> {
    if p.source.deployment == Deployment::DataCenter {
        return Err(RunError::Unsupported { what: "Jira Data Center".into(), fix: "use a Jira Cloud site for now" });
    }
    for o in &p.objects {
        match o.kind {
            ObjectKind::Issues | ObjectKind::Fields => {}
            kind => {
                return Err(RunError::Unsupported {
                    what: format!("extracting `{kind}`"),
                    fix: "remove it from `objects` (issues and fields are supported)",
                });
            }
        }
        if o.sync == SyncMode::Incremental {
            return Err(RunError::Unsupported {
                what: format!("`sync: incremental` for `{}`", o.kind),
                fix: "set `sync: full_refresh`",
            });
        }
        if !o.hash.is_empty() {
            return Err(RunError::Unsupported {
                what: format!("`hash` on `{}`", o.kind),
                fix: "remove `hash` for now",
            });
        }
    }
    Ok(())
}

/// Runs `pipeline` once.
pub async fn run(pipeline: &Pipeline, retry: RetryConfig) -> Result<RunReport, RunError> {
    preflight(pipeline)?;
    let started_at = Utc::now();
    let run_id = uuid::Uuid::now_v7().to_string();
    let stamp = RunStamp::new(&run_id, started_at);
    let client = JiraClient::new(&pipeline.source, retry)?;
    let store = TableStore::new(pipeline.destination.url.clone());
    tracing::info!(pipeline = %pipeline.name, run_id = %run_id, "run started");

    // Every issue column is typed from the field catalogue, so it is fetched first.
    let defs = client.fields().await?;
    let mut objects = Vec::new();
    for o in &pipeline.objects {
        let extract = match o.kind {
            ObjectKind::Issues => stream::issues::extract(&client, o, &defs, &stamp).await?,
            ObjectKind::Fields => stream::fields::extract(&defs, &stamp)?,
            _ => unreachable!("rejected by preflight"),
        };
        let name = o.kind.name();
        let meta = CommitMeta { pipeline: pipeline.name.clone(), run_id: run_id.clone(), rows: extract.rows };
        let version = store.replace(name, extract.batches, &meta).await?;
        tracing::info!(object = name, rows = extract.rows, version, "table committed");
        objects.push(ObjectReport {
            object: name.to_string(),
            rows_written: extract.rows,
            table: store.table_url(name).to_string(),
            table_version: version,
        });
    }
    Ok(RunReport { pipeline: pipeline.name.clone(), run_id, started_at, finished_at: Utc::now(), objects })
}
