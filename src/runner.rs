//! One run of a pipeline: config → jira → stream → table, with a report of what happened.
//!
//! Objects run concurrently (the client's rate cap and concurrency limit are shared), each
//! extracting into a bounded channel that its table write consumes as it goes. An object that
//! fails leaves its table at the last commit; the others still commit.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::config::{ObjectConfig, ObjectKind, Pipeline, SyncMode};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError, RequestStats, RetryConfig};
use crate::stream::{self, CHANNEL_BATCHES, Outcome, RunStamp, StreamError, Warning};
use crate::table::{CommitMeta, TableError, TableStore};

/// Why a run (or one object of it) stopped. `is_config` separates "fix your pipeline" (exit 2)
/// from "the run failed" (exit 1).
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
    #[error("{failed} of {total} objects failed: {first}")]
    Objects { failed: usize, total: usize, first: String, config: bool },
}

impl RunError {
    pub fn is_config(&self) -> bool {
        match self {
            RunError::Unsupported { .. } | RunError::Stream(StreamError::UnknownField { .. }) => true,
            RunError::Jira(JiraError::Config { .. }) => true,
            RunError::Objects { config, .. } => *config,
            _ => false,
        }
    }
}

/// What a run did, per object.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub pipeline: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Requests to Jira for the whole run (objects share one client).
    pub requests: RequestStats,
    pub objects: Vec<ObjectReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    pub object: String,
    pub sync: &'static str,
    pub status: &'static str,
    pub rows_written: usize,
    pub skipped: usize,
    /// Jira's own count of matching records, when it gives one.
    pub expected: Option<u64>,
    pub cursor_before: Option<DateTime<Utc>>,
    pub cursor_after: Option<DateTime<Utc>>,
    pub table: String,
    pub table_version: Option<u64>,
    pub duration_ms: u64,
    pub warnings: Vec<Warning>,
    pub error: Option<String>,
}

impl RunReport {
    pub fn failed(&self) -> impl Iterator<Item = &ObjectReport> {
        self.objects.iter().filter(|o| o.error.is_some())
    }
}

/// Checks before anything is fetched or written, so an unsupported pipeline fails fast and
/// leaves every table as it was.
fn preflight(p: &Pipeline) -> Result<(), RunError> {
    for o in &p.objects {
        if !o.hash.is_empty() {
            return Err(RunError::Unsupported {
                what: format!("`hash` on `{}`", o.kind),
                fix: "remove `hash` for now",
            });
        }
    }
    Ok(())
}

/// Everything an object's run shares with the others.
struct Context<'a> {
    pipeline: &'a Pipeline,
    client: JiraClient,
    store: TableStore,
    stamp: RunStamp,
    run_id: String,
    defs: Vec<FieldDef>,
}

/// Runs `pipeline` once. `Err` when nothing could run (bad credentials, unreachable site) or
/// when any object failed; the report of the objects that did run is logged either way.
pub async fn run(pipeline: &Pipeline, retry: RetryConfig) -> Result<RunReport, RunError> {
    preflight(pipeline)?;
    let started_at = Utc::now();
    let run_id = uuid::Uuid::now_v7().to_string();
    tracing::info!(pipeline = %pipeline.name, run_id = %run_id, "run started");
    let client = JiraClient::connect(&pipeline.source, retry).await?;
    // Every issue column is typed from the field catalogue, so it is fetched first.
    let needs_defs = pipeline.objects.iter().any(|o| matches!(o.kind, ObjectKind::Issues | ObjectKind::Fields));
    let defs = if needs_defs { client.fields().await? } else { Vec::new() };
    let ctx = Context {
        pipeline,
        client: client.clone(),
        store: TableStore::new(pipeline.destination.url.clone()),
        stamp: RunStamp::new(&run_id, started_at),
        run_id: run_id.clone(),
        defs,
    };
    let results = futures::future::join_all(pipeline.objects.iter().map(|o| run_object(&ctx, o))).await;
    let mut objects = Vec::new();
    let mut first_error: Option<RunError> = None;
    let mut failed = 0;
    let mut config = false;
    for (o, (result, report)) in pipeline.objects.iter().zip(results) {
        if let Err(e) = result {
            tracing::error!(object = o.kind.name(), error = %e, "object failed");
            failed += 1;
            config |= e.is_config();
            first_error.get_or_insert(e);
        }
        objects.push(report);
    }
    let report = RunReport {
        pipeline: pipeline.name.clone(),
        run_id,
        started_at,
        finished_at: Utc::now(),
        requests: client.stats(),
        objects,
    };
    match first_error {
        None => Ok(report),
        Some(e) if pipeline.objects.len() == 1 => Err(e),
        Some(e) => Err(RunError::Objects { failed, total: pipeline.objects.len(), first: e.to_string(), config }),
    }
}

fn millis_to_time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

async fn run_object(ctx: &Context<'_>, o: &ObjectConfig) -> (Result<(), RunError>, ObjectReport) {
    let started = Instant::now();
    let mut report = ObjectReport {
        object: o.kind.name().to_string(),
        sync: match o.sync {
            SyncMode::Incremental => "incremental",
            SyncMode::FullRefresh => "full_refresh",
        },
        status: "ok",
        rows_written: 0,
        skipped: 0,
        expected: None,
        cursor_before: None,
        cursor_after: None,
        table: ctx.store.table_url(o.kind.name()).to_string(),
        table_version: None,
        duration_ms: 0,
        warnings: Vec::new(),
        error: None,
    };
    let result = extract_and_write(ctx, o, &mut report).await;
    report.duration_ms = started.elapsed().as_millis() as u64;
    if let Err(e) = &result {
        report.status = "failed";
        report.error = Some(e.to_string());
    }
    for w in &report.warnings {
        tracing::warn!(object = o.kind.name(), fix = %w.fix, "{}", w.message);
    }
    (result, report)
}

async fn extract_and_write(ctx: &Context<'_>, o: &ObjectConfig, report: &mut ObjectReport) -> Result<(), RunError> {
    let name = o.kind.name();
    let mut meta = CommitMeta { pipeline: ctx.pipeline.name.clone(), run_id: ctx.run_id.clone(), cursor_ms: None };
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    let (outcome, version) = match o.kind {
        ObjectKind::Issues => {
            let cols = stream::issues::columns(&ctx.defs, &o.fields)?;
            let before = match o.sync {
                SyncMode::Incremental => ctx.store.cursor(&ctx.pipeline.name, name).await?,
                SyncMode::FullRefresh => None,
            };
            report.cursor_before = before.and_then(millis_to_time);
            let since = before.map(|c| c - o.lookback.as_millis() as i64).unwrap_or(0);
            let discovery = stream::issues::discover(&ctx.client, o, since).await?;
            meta.cursor_ms = Some(discovery.jira_now.timestamp_millis());
            report.cursor_after = Some(discovery.jira_now);
            let merge = before.is_some();
            if merge && discovery.ids.is_empty() {
                // Nothing changed: no commit (the window is re-read next time, cheaply).
                report.cursor_after = report.cursor_before;
                report.expected = Some(0);
                return Ok(());
            }
            let schema = stream::schema_of(&cols);
            let concurrency = ctx.pipeline.source.concurrency as usize;
            let extract = async move {
                stream::issues::extract(&ctx.client, &cols, &discovery, concurrency, &ctx.stamp, &tx).await
            };
            let write = async {
                if merge {
                    ctx.store.merge(name, schema, rx, &meta).await
                } else {
                    ctx.store.replace(name, schema, rx, &meta).await
                }
            };
            join(extract, write).await?
        }
        kind => {
            let cols = match kind {
                ObjectKind::Projects => stream::projects::columns(),
                ObjectKind::Users => stream::users::columns(),
                ObjectKind::Boards => stream::boards::columns(),
                _ => stream::fields::columns(),
            };
            let schema = stream::schema_of(&cols);
            let extract = async move {
                match kind {
                    ObjectKind::Projects => stream::projects::extract(&ctx.client, &ctx.stamp, &tx).await,
                    ObjectKind::Users => stream::users::extract(&ctx.client, &ctx.stamp, &tx).await,
                    ObjectKind::Boards => stream::boards::extract(&ctx.client, &ctx.stamp, &tx).await,
                    _ => stream::fields::extract(&ctx.defs, &ctx.stamp, &tx).await,
                }
            };
            join(extract, ctx.store.replace(name, schema, rx, &meta)).await?
        }
    };
    tracing::info!(object = name, rows = outcome.rows, version, "table committed");
    report.rows_written = outcome.rows;
    report.skipped = outcome.skipped;
    report.expected = outcome.expected;
    report.warnings = outcome.warnings;
    report.table_version = Some(version);
    Ok(())
}

/// Runs extraction and the table write together. The extraction future owns the channel's
/// sender, so finishing it ends the write's input; if it fails, the write is dropped before it
/// can commit, and the table stays at its last version.
async fn join(
    extract: impl Future<Output = Result<Outcome, StreamError>>,
    write: impl Future<Output = Result<u64, TableError>>,
) -> Result<(Outcome, u64), RunError> {
    tokio::try_join!(async { extract.await.map_err(RunError::from) }, async { write.await.map_err(RunError::from) })
}
