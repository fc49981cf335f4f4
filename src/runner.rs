//! One run of a pipeline: config → jira → stream → table, with a report of what happened.
//!
//! Objects run concurrently (the client's rate cap and concurrency limit are shared), each
//! extracting into a bounded channel that its table write consumes as it goes. An object that
//! fails leaves its table at the last commit; the others still commit.

use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;
use tokio::sync::mpsc;

use crate::config::{Deletes, ObjectConfig, ObjectKind, Pipeline, SchemaDrift, SyncMode};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError, RetryConfig};
use crate::report;
pub use crate::report::{ObjectReport, RunReport};
use crate::stream::{self, CHANNEL_BATCHES, Outcome, Reject, RunStamp, Shape, StreamError, Warning};
use crate::table::{CommitMeta, DELETED_AT, TableError, TableStore};
use crate::transform::columns::{Column, ColumnType};
use crate::transform::mask::Masker;

/// Why a run (or one object of it) stopped. `is_config` separates "fix your pipeline" (exit 2)
/// from "the run failed" (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{failed} of {total} objects failed: {first}")]
    Objects { failed: usize, total: usize, first: String, config: bool },
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
            RunError::Stream(e) => e.is_config(),
            RunError::Jira(JiraError::Config { .. }) => true,
            RunError::Objects { config, .. } => *config,
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
    defs: Vec<FieldDef>,
    masker: Option<Masker>,
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
            status: "failed",
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
    // Every issue column is typed from the field catalogue, so it is fetched first.
    let needs_defs = pipeline.objects.iter().any(|o| matches!(o.kind, ObjectKind::Issues | ObjectKind::Fields));
    let defs = if needs_defs {
        match client.fields().await {
            Ok(d) => d,
            Err(e) => return not_started(e.into(), client.stats()),
        }
    } else {
        Vec::new()
    };
    let ctx = Context {
        pipeline,
        client: client.clone(),
        store: TableStore::new(pipeline.destination.url.clone()),
        stamp: RunStamp::new(&run_id, started_at),
        run_id: run_id.clone(),
        defs,
        masker: pipeline.masking_key.as_ref().map(|k| Masker::new(k.expose())),
        rejects: Mutex::new(Vec::new()),
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
    let result = match first_error {
        None => Ok(()),
        Some(e) if pipeline.objects.len() == 1 => Err(e),
        Some(e) => Err(RunError::Objects { failed, total: pipeline.objects.len(), first: e.to_string(), config }),
    };
    let report = RunReport {
        pipeline: pipeline.name.clone(),
        run_id: run_id.clone(),
        status: if result.is_ok() { "ok" } else { "failed" },
        error: result.as_ref().err().map(ToString::to_string),
        started_at,
        finished_at: Utc::now(),
        requests: client.stats(),
        objects,
    };
    write_audit(&ctx, &report).await;
    (report, result)
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
            if let Err(e) = ctx.store.maintain("_runs", v, &[], dest.compact_every, dest.vacuum_retention, &meta).await
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

async fn run_object(ctx: &Context<'_>, o: &ObjectConfig) -> (Result<(), RunError>, ObjectReport) {
    let started = Instant::now();
    let mut report = ObjectReport {
        object: o.kind.name().to_string(),
        sync: match o.sync {
            SyncMode::Incremental => "incremental",
            SyncMode::FullRefresh => "full_refresh",
        },
        status: "ok",
        rows_read: 0,
        rows_written: 0,
        rows_rejected: 0,
        rows_deleted: 0,
        skipped: 0,
        expected: None,
        cursor_before: None,
        cursor_after: None,
        table: ctx.store.table_url(o.kind.name()).to_string(),
        table_version: None,
        duration_ms: 0,
        drift: None,
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
    let mut meta = ctx.meta();
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    let (outcome, version, distinct) = match o.kind {
        ObjectKind::Issues => {
            let mut columns = stream::issues::columns(&ctx.defs, &o.fields)?;
            if o.deletes == Deletes::Soft {
                columns.push(Column { name: DELETED_AT.into(), ty: ColumnType::Timestamp });
            }
            let shape = shape_for(ctx, o, columns)?;
            let shape = drifted(ctx, o, shape, report).await?;
            let layout = stream::layout_of(&shape.columns);
            let distinct = layout.distinct.clone();
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
            if merge && o.deletes != Deletes::Ignore {
                meta.reconciled_ms = reconcile_deletes(ctx, o, &distinct, report).await?;
            } else if !merge {
                // A full load rewrites the table from what Jira shows now: nothing deleted
                // before this moment can be left in it, so the next reconciliation is not due
                // for another `reconcile_every`.
                meta.reconciled_ms = Some(Utc::now().timestamp_millis());
            }
            if merge && discovery.ids.is_empty() {
                // Nothing changed: no data commit (the window is re-read next time, cheaply).
                report.cursor_after = report.cursor_before;
                report.expected = Some(0);
                if meta.reconciled_ms.is_some() && report.rows_deleted == 0 {
                    // Record the reconciliation alone (cursor unchanged), or every quiet run
                    // would page through every issue id again until something changes.
                    meta.cursor_ms = before;
                    ctx.store.commit_meta(name, &meta).await?;
                }
                return Ok(());
            }
            let concurrency = ctx.pipeline.source.concurrency as usize;
            let shape = &shape;
            let extract = async move {
                stream::issues::extract(&ctx.client, shape, &discovery, concurrency, &ctx.stamp, &tx).await
            };
            let write = async {
                if merge {
                    ctx.store.merge(name, layout, rx, &meta).await
                } else {
                    ctx.store.replace(name, layout, rx, &meta).await
                }
            };
            let (outcome, version) = join(extract, write).await?;
            (outcome, version, distinct)
        }
        kind => {
            let cols = match kind {
                ObjectKind::Projects => stream::projects::columns(),
                ObjectKind::Users => stream::users::columns(),
                ObjectKind::Boards => stream::boards::columns(),
                _ => stream::fields::columns(),
            };
            let shape = shape_for(ctx, o, stream::select(name, cols, &o.fields)?)?;
            let layout = stream::layout_of(&shape.columns);
            let distinct = layout.distinct.clone();
            let shape = &shape;
            let extract = async move {
                match kind {
                    ObjectKind::Projects => stream::projects::extract(&ctx.client, shape, &ctx.stamp, &tx).await,
                    ObjectKind::Users => stream::users::extract(&ctx.client, shape, &ctx.stamp, &tx).await,
                    ObjectKind::Boards => stream::boards::extract(&ctx.client, shape, &ctx.stamp, &tx).await,
                    _ => stream::fields::extract(&ctx.defs, shape, &ctx.stamp, &tx).await,
                }
            };
            let (outcome, version) = join(extract, ctx.store.replace(name, layout, rx, &meta)).await?;
            (outcome, version, distinct)
        }
    };
    tracing::info!(object = name, rows = outcome.rows, version, "table committed");
    let dest = &ctx.pipeline.destination;
    if let Err(e) =
        ctx.store.maintain(name, version, &distinct, dest.compact_every, dest.vacuum_retention, &ctx.meta()).await
    {
        // The data is committed; compaction can wait for the next due run.
        report.warnings.push(Warning {
            message: format!("table maintenance (compaction/vacuum) failed: {e}"),
            fix: "nothing is lost; it is retried at the next due version. Check the destination's permissions (delete rights for vacuum)".into(),
        });
    }
    report.rows_read = outcome.rows + outcome.rejected;
    report.rows_written = outcome.rows;
    report.rows_rejected = outcome.rejected;
    report.skipped = outcome.skipped;
    report.expected = outcome.expected;
    report.warnings.extend(outcome.warnings);
    report.table_version = Some(version);
    if outcome.rejected > 0 {
        report.warnings.push(Warning {
            message: format!("{} records did not fit their columns and were not written", outcome.rejected),
            fix: "see the `_rejects` table (raw record and reason); a field whose type changed in Jira keeps the table's type until the table is rebuilt".into(),
        });
        ctx.rejects.lock().await.extend(outcome.rejects.into_iter().map(|r| (name.to_string(), r)));
    }
    Ok(())
}

/// Looks for issues deleted in Jira when it is due (`reconcile_every`): every id the JQL
/// matches now (ids-only search) against the table's rows. A row whose project the API user
/// can no longer see at all is lost access, not a deletion: it is kept and reported. Returns
/// when the reconciliation happened, to be recorded with this run's commit.
async fn reconcile_deletes(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    distinct: &[String],
    report: &mut ObjectReport,
) -> Result<Option<i64>, RunError> {
    let name = o.kind.name();
    let now = Utc::now();
    if let Some(last) = ctx.store.reconciled(&ctx.pipeline.name, name).await?
        && now.timestamp_millis() - last < o.reconcile_every.as_millis() as i64
    {
        return Ok(None);
    }
    let in_jira = stream::issues::discover(&ctx.client, o, 0).await?.ids;
    let missing: Vec<(String, String)> = ctx
        .store
        .ids(name)
        .await?
        .into_iter()
        .filter(|(id, _, deleted)| !deleted && id.parse::<u64>().is_ok_and(|n| in_jira.binary_search(&n).is_err()))
        .map(|(id, key, _)| (id, key))
        .collect();
    if missing.is_empty() {
        return Ok(Some(now.timestamp_millis()));
    }
    let mut visible = std::collections::HashSet::new();
    let mut pager = ctx.client.projects();
    while let Some(page) = pager.next().await? {
        visible.extend(page.iter().filter_map(|p| p["key"].as_str().map(str::to_string)));
    }
    let project = |key: &str| key.rsplit_once('-').map(|(p, _)| p.to_string()).unwrap_or_default();
    let (lost, gone): (Vec<_>, Vec<_>) = missing.into_iter().partition(|(_, key)| !visible.contains(&project(key)));
    let mut lost_projects = std::collections::BTreeMap::<String, usize>::new();
    for (_, key) in &lost {
        *lost_projects.entry(project(key)).or_default() += 1;
    }
    for (p, n) in lost_projects {
        report.warnings.push(Warning {
            message: format!("{n} issues of project {p} are no longer visible and project {p} is missing from project search: the API user lost access to it. Their rows are kept, not marked deleted"),
            fix: format!("give the API user Browse Projects on {p} again; if {p} was really deleted or archived, remove its rows yourself"),
        });
    }
    if !gone.is_empty() {
        let ids: Vec<String> = gone.into_iter().map(|(id, _)| id).collect();
        let mut meta = ctx.meta();
        meta.reconciled_ms = Some(now.timestamp_millis());
        ctx.store.delete_ids(name, &ids, distinct, o.deletes == Deletes::Soft, now.timestamp_micros(), &meta).await?;
        tracing::info!(object = name, deleted = ids.len(), "issues deleted in Jira marked");
        report.rows_deleted = ids.len();
    }
    Ok(Some(now.timestamp_millis()))
}

/// The object's columns with its `hash` paths applied.
fn shape_for(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    columns: Vec<crate::transform::columns::Column>,
) -> Result<Shape, RunError> {
    let mut shape = Shape::new(o.kind.name(), columns, &o.hash, ctx.masker.as_ref())?;
    shape.progress = report::progress::bar(o.kind.name());
    Ok(shape)
}

/// Applies the schema-drift policy against the table as it is, before anything is fetched.
async fn drifted(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    mut shape: Shape,
    report: &mut ObjectReport,
) -> Result<Shape, RunError> {
    let name = o.kind.name();
    let Some(table) = ctx.store.schema(name).await? else { return Ok(shape) };
    // A full refresh under `auto_sync` may drop columns; otherwise the table keeps them.
    let keep_missing = !(o.sync == SyncMode::FullRefresh && o.schema_drift == SchemaDrift::AutoSync);
    let drift = crate::transform::drift::reconcile(&mut shape.columns, &table, o.schema_drift, keep_missing)
        .map_err(|fields| StreamError::Drift { object: name, fields: fields.join(", ") })?;
    let label = |id: &String| match ctx.defs.iter().find(|d| &d.id == id) {
        Some(d) => format!("{id} ({})", d.name),
        None => id.clone(),
    };
    if !drift.added.is_empty() {
        let fields = drift.added.iter().map(label).collect::<Vec<_>>().join(", ");
        report.warnings.push(match o.schema_drift {
            SchemaDrift::Block => Warning {
                message: format!("new fields not added to the table (`schema_drift: block`): {fields}"),
                fix: "set `schema_drift: auto_sync` to add them, or deselect them in `fields` to silence this".into(),
            },
            _ => Warning { message: format!("new columns added: {fields}"), fix: "nothing to do".into() },
        });
    }
    for (col, table_type, jira_type) in &drift.retyped {
        report.warnings.push(Warning {
            message: format!("`{col}` is {jira_type} in Jira now but {table_type} in the table; the table keeps {table_type}"),
            fix: "records whose value does not fit go to `_rejects`; to adopt the new type, rebuild the table (delete it, or `jirapipe state reset`)".into(),
        });
    }
    report.drift = Some(drift);
    Ok(shape)
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
