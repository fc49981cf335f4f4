//! One run of a pipeline: config → jira → stream → table, with a report of what happened.
//!
//! Objects run concurrently (the client's rate cap and concurrency limit are shared), each
//! extracting into a bounded channel that its table write consumes as it goes. An object that
//! fails leaves its table at the last commit; the others still commit.

mod deletes;
mod derive;
mod gates;
mod object;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::config::{ObjectConfig, Pipeline};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError, Rejection, RetryConfig};
use crate::objects::{self, HistoryFeed, ObjectError, RunStamp};
use crate::report::{self, Reject, Status};
pub use crate::report::{ObjectReport, RunReport};
use crate::table::{CommitMeta, TableError, TableStore};
use crate::transform::mask::Masker;

/// Why a run (or one object of it) stopped. `is_config` separates "fix your pipeline" (exit 2)
/// from "the run failed" (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(
        "`{object}`: reconciliation would mark {deleted} of its {rows} rows deleted in Jira, more than `max_deleted_fraction` allows ({limit_pct}%); nothing was changed. If Jira really lost them, run once with `jirapipe run --allow-mass-delete`; if they moved out of reach (a project archived, a permission scheme changed), check the API user's access first (`jirapipe check`)"
    )]
    MassDelete { object: &'static str, deleted: usize, rows: usize, limit_pct: f64 },
    #[error("{failed} of {total} objects failed: {first}")]
    Objects { failed: usize, total: usize, first: Box<RunError> },
}

impl Context<'_> {
    fn meta(&self) -> CommitMeta {
        CommitMeta {
            pipeline: self.pipeline.name.clone(),
            run_id: self.run_id.clone(),
            cursor_ms: None,
            reconciled_ms: None,
        }
    }
}

impl RunError {
    pub fn is_config(&self) -> bool {
        match self {
            RunError::Object(e) => e.is_config(),
            RunError::Jira(JiraError::Config { .. }) => true,
            RunError::Objects { first, .. } => first.is_config(),
            _ => false,
        }
    }
}

/// Everything an object's run shares with the others.
struct Context<'a> {
    pipeline: &'a Pipeline,
    client: JiraClient,
    store: TableStore,
    stamp: RunStamp,
    run_id: String,
    /// The site's field catalogue, when an object needs it (fetched once per run).
    catalogue: Vec<FieldDef>,
    masker: Option<Masker>,
    /// The one changelog read of the history objects.
    history: HistoryFeed,
    /// Rejected records of every object, written to `_rejects` once at the end.
    rejects: Mutex<Vec<(String, Reject)>>,
}

/// Runs `pipeline` once. `Err` when nothing could run (bad credentials, unreachable site) or
/// when any object failed; the report of the objects that did run is logged either way.
pub async fn run(pipeline: &Pipeline, retry: RetryConfig) -> Result<RunReport, RunError> {
    let (report, result) = run_reported(pipeline, retry).await;
    result.map(|()| report)
}

/// Like [`run`], but the report comes back on failure too (for `run --report`): it holds the
/// objects that ran, and `status`/`error` say what failed. A run that could not start (bad
/// credentials, unreachable site) reports no objects.
pub async fn run_reported(pipeline: &Pipeline, retry: RetryConfig) -> (RunReport, Result<(), RunError>) {
    let started_at = Utc::now();
    let run_id = uuid::Uuid::now_v7().to_string();
    tracing::info!(pipeline = %pipeline.name, run_id = %run_id, "run started");
    let not_started = |e: RunError, requests| {
        let report = RunReport {
            pipeline: pipeline.name.clone(),
            run_id: run_id.clone(),
            status: Status::Failed,
            error: Some(e.to_string()),
            started_at,
            finished_at: Utc::now(),
            requests,
            objects: Vec::new(),
        };
        (report, Err(e))
    };
    let client = match JiraClient::connect(&pipeline.source, retry).await {
        Ok(c) => c,
        Err(e) => return not_started(e.into(), Default::default()),
    };
    // Credentials are proven before anything is read: Jira answers a refused login as the
    // anonymous user, whose empty search a run would take for "no issues" (see `jira::login`).
    // Only an authenticated caller gets `/myself`; a token lacking the users' scope is still a
    // login, and its objects say what they miss.
    match client.myself().await {
        Ok(_) | Err(JiraError::Unauthorized { reason: Rejection::Scope, .. }) => {}
        Err(e) => return not_started(e.into(), client.stats()),
    }
    let needs_catalogue = pipeline.objects.iter().any(|o| objects::of(o.kind).needs_catalogue());
    let catalogue = if needs_catalogue {
        match client.fields().await {
            Ok(d) => d,
            Err(e) => return not_started(e.into(), client.stats()),
        }
    } else {
        Vec::new()
    };
    let history = HistoryFeed::new(
        &client,
        &catalogue,
        pipeline.source.concurrency as usize,
        pipeline.objects.iter().map(|o| o.kind).filter(|k| objects::of(*k).reads_history()),
    );
    let ctx = Context {
        pipeline,
        client: client.clone(),
        store: TableStore::for_destination(&pipeline.destination),
        stamp: RunStamp::new(&run_id, started_at),
        run_id: run_id.clone(),
        catalogue,
        masker: pipeline.masking_key.as_ref().map(|k| Masker::new(k.expose())),
        history,
        rejects: Mutex::new(Vec::new()),
    };
    let results = run_objects(&ctx).await;
    let mut objects = Vec::new();
    let mut first_error: Option<RunError> = None;
    let mut failed = 0;
    for (o, (result, report)) in pipeline.objects.iter().zip(results) {
        if let Err(e) = result {
            tracing::error!(object = o.kind.name(), error = %e, "object failed");
            failed += 1;
            first_error.get_or_insert(e);
        }
        objects.push(report);
    }
    let result = match first_error {
        None => Ok(()),
        Some(e) if pipeline.objects.len() == 1 => Err(e),
        Some(e) => Err(RunError::Objects { failed, total: pipeline.objects.len(), first: Box::new(e) }),
    };
    let report = RunReport {
        pipeline: pipeline.name.clone(),
        run_id: run_id.clone(),
        status: if result.is_ok() { Status::Ok } else { Status::Failed },
        error: result.as_ref().err().map(ToString::to_string),
        started_at,
        finished_at: Utc::now(),
        requests: client.stats(),
        objects,
    };
    write_audit(&ctx, &report).await;
    (report, result)
}

/// Runs every object of the pipeline, concurrently; an object derivable from another one in the
/// pipeline (`Object::derives_from`) runs after the others, with that one's report. Results are
/// in the pipeline's order.
async fn run_objects(ctx: &Context<'_>) -> Vec<(Result<(), RunError>, ObjectReport)> {
    let objects = &ctx.pipeline.objects;
    let source_of = |o: &ObjectConfig| {
        let d = objects::of(o.kind).derives_from()?;
        objects.iter().position(|s| s.kind == d.source)
    };
    let (later, first): (Vec<usize>, Vec<usize>) = (0..objects.len()).partition(|i| source_of(&objects[*i]).is_some());
    let mut results: Vec<Option<(Result<(), RunError>, ObjectReport)>> = objects.iter().map(|_| None).collect();
    let done = futures::future::join_all(first.iter().map(|i| object::run_object(ctx, &objects[*i], None))).await;
    for (i, r) in first.into_iter().zip(done) {
        results[i] = Some(r);
    }
    let sources: Vec<Option<ObjectReport>> =
        later.iter().map(|i| source_of(&objects[*i]).and_then(|s| results[s].as_ref().map(|r| r.1.clone()))).collect();
    let done = futures::future::join_all(
        later.iter().zip(&sources).map(|(i, src)| object::run_object(ctx, &objects[*i], src.as_ref())),
    )
    .await;
    for (i, r) in later.into_iter().zip(done) {
        results[i] = Some(r);
    }
    results.into_iter().map(|r| r.expect("every object ran")).collect()
}

/// Appends the run to `_runs` and its rejected records to `_rejects`. A failure here is logged,
/// not fatal: the objects' own commits already happened.
async fn write_audit(ctx: &Context<'_>, report: &RunReport) {
    let meta = ctx.meta();
    let rejects = std::mem::take(&mut *ctx.rejects.lock().await);
    if !rejects.is_empty() {
        let batch = report::rejects_batch(&ctx.run_id, report.started_at, &rejects);
        if let Err(e) = ctx.store.append("_rejects", batch, &meta).await {
            tracing::error!(error = %e, "cannot record rejected records in _rejects");
        }
    }
    let dest = &ctx.pipeline.destination;
    match ctx.store.append("_runs", report::runs_batch(report), &meta).await {
        // One small file per run: exactly what compaction is for.
        Ok(v) => {
            if let Err(e) = ctx
                .store
                .maintain("_runs", v, &Default::default(), dest.compact_every, dest.vacuum_retention, &meta)
                .await
            {
                tracing::warn!(error = %e, "maintenance of _runs failed; retried at the next due version");
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot record the run in _runs"),
    }
}

fn millis_to_time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}
