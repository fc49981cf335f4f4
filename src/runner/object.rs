//! One object's run: its columns and masks, the drift policy against its table, the listing
//! and cursor of incremental objects, then extraction piped into the table's single commit.
//! Nothing here names an object: everything object-specific comes from [`objects::of`].

use std::time::Instant;

use chrono::Utc;
use tokio::sync::mpsc;

use super::{Context, RunError, deletes, derive, gates, millis_to_time};
use crate::config::{Deletes, FieldSelection, ObjectConfig, SchemaDrift, SyncMode};
use crate::objects::{self, CHANNEL_BATCHES, Job, ObjectError, Outcome, Shape};
use crate::report::{ObjectReport, Status, Warning};
use crate::table::{DELETED_AT, DELETED_REASON, Layout, TableError};
use crate::transform::columns::{Column, ColumnType};

/// Runs object `o`; `source` is the report of the object it may be derived from, when that ran
/// earlier in this run (see `derive`).
pub(super) async fn run_object(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    source: Option<&ObjectReport>,
) -> (Result<(), RunError>, ObjectReport) {
    let started = Instant::now();
    let mut report = ObjectReport::new(o.kind.name(), o.sync, ctx.store.table_url(o.kind.table()).to_string());
    let result = extract_and_write(ctx, o, source, &mut report).await;
    // An object that stopped before reading (or found nothing to read) lets the changelog read
    // go on without it.
    ctx.history.leave(o.kind);
    report.duration_ms = started.elapsed().as_millis() as u64;
    if let Err(e) = &result {
        report.status = Status::Failed;
        report.error = Some(e.to_string());
    }
    for w in &report.warnings {
        tracing::warn!(object = o.kind.name(), fix = %w.fix, "{}", w.message);
    }
    (result, report)
}

async fn extract_and_write(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    source: Option<&ObjectReport>,
    report: &mut ObjectReport,
) -> Result<(), RunError> {
    let object = objects::of(o.kind);
    // Every table operation is on the object's table (`issue_changelog` for `changelog`).
    let name = o.kind.table();
    let mut meta = ctx.meta();
    let selection = embedded_left_out(ctx, o, object).await?;
    let mut columns = object.select(&ctx.catalogue, &selection)?;
    if o.deletes != Deletes::Ignore {
        // Under `hard` too: rows that left the filter, were archived or lost are kept, marked.
        columns.push(Column { name: DELETED_AT.into(), ty: ColumnType::Timestamp });
        columns.push(Column { name: DELETED_REASON.into(), ty: ColumnType::Text });
    }
    let shape = shape_for(ctx, o, columns)?;
    let shape = drifted(ctx, o, shape, report).await?;
    let layout = Layout::of(&shape.columns);
    let encoding = layout.encoding.clone();
    let before = match o.sync {
        SyncMode::Incremental => ctx.store.cursor(&ctx.pipeline.name, name).await?,
        SyncMode::FullRefresh => None,
    };
    report.cursor_before = before.and_then(millis_to_time);
    let merge = before.is_some();
    let mut since = before.map(|c| c - o.lookback.as_millis() as i64).unwrap_or(0);
    if merge && o.deletes != Deletes::Ignore && o.kind.sweeps_by_issue() && full_sweep_due(ctx, o).await? {
        // Every issue's list is read again, so deletes Jira did not mark as updates are seen.
        since = 0;
        meta.reconciled_ms = Some(Utc::now().timestamp_millis());
    }
    let derived = match (object.derives_from(), source) {
        (Some(d), Some(src)) => derive::plan(ctx, o, d, src, before, merge && since == 0).await?,
        _ => None,
    };
    let (listing, records) = match derived {
        Some(d) => (Some(d.listing), Some(d.records)),
        None => (object.list(&ctx.client, o, since).await?, None),
    };
    let mut reconciled = None;
    if let Some(listing) = &listing {
        meta.cursor_ms = Some(listing.jira_now.timestamp_millis());
        report.cursor_after = Some(listing.jira_now);
        if merge && o.deletes != Deletes::Ignore && o.kind.reconciles() {
            let r = deletes::reconcile(ctx, o, &encoding, report).await?;
            meta.reconciled_ms = r.at_ms;
            reconciled = Some(r);
        } else if !merge {
            // A full load rewrites the table from what Jira shows now: nothing deleted
            // before this moment can be left in it, so the next reconciliation is not due
            // for another `reconcile_every`.
            meta.reconciled_ms = Some(Utc::now().timestamp_millis());
        }
        let refresh = reconciled.as_ref().is_some_and(|r| !r.refresh.is_empty());
        if merge && listing.ids.is_empty() && listing.gone.is_empty() && !refresh {
            // Nothing changed: no data commit (the window is re-read next time, cheaply).
            report.cursor_after = report.cursor_before;
            report.expected = Some(0);
            if meta.reconciled_ms.is_some() && !reconciled.as_ref().is_some_and(|r| r.committed) {
                // Record the reconciliation alone (cursor unchanged), or every quiet run
                // would page through every id again until something changes.
                ctx.client.login_proven()?;
                meta.cursor_ms = before;
                ctx.store.commit_meta(name, &meta).await?;
            }
            return Ok(());
        }
    }
    // Deletes seen while reading changes (a comment no longer in its issue's list, a worklog's
    // tombstone) are marked after the data, in a commit of their own; the cursor moves with
    // that one, so a run that stops between the two reads the same changes again.
    let marks_after = merge && o.deletes != Deletes::Ignore && o.kind.has_deletes() && !o.kind.reconciles();
    let cursor_meta = meta.clone();
    if marks_after {
        // A full sweep's time goes with its marks too: recorded with the data alone, a crash
        // between the commits would put off the deletes it found until the next one.
        meta.cursor_ms = None;
        meta.reconciled_ms = None;
    }
    let (refresh, stamp) = match reconciled {
        Some(r) => (r.refresh, ctx.stamp.with_marks(r.marks)),
        None => (Vec::new(), ctx.stamp.clone()),
    };
    // What a full refresh is about to replace, for the snapshot gate.
    let table_rows = match o.sync {
        SyncMode::FullRefresh => ctx.store.row_count(name).await?,
        SyncMode::Incremental => None,
    };
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    // Held until the gates pass: the writer commits when the channel closes, so a gate that
    // fails drops the write before it can commit.
    let hold = tx.clone();
    let job = Job {
        client: &ctx.client,
        config: o,
        catalogue: &ctx.catalogue,
        shape: &shape,
        stamp: &stamp,
        listing: listing.as_ref(),
        refresh: &refresh,
        concurrency: ctx.pipeline.source.concurrency as usize,
        tx,
        derived: records.as_deref(),
        history: Some(&ctx.history),
    };
    let write = async {
        if merge {
            ctx.store.merge(name, layout, rx, &meta).await
        } else {
            ctx.store.replace(name, layout, rx, &meta).await
        }
    };
    // A login refused anywhere in the run (another object's request included) stops this commit:
    // checked as the extraction ends, before the writer can see its channel close.
    let extract = async {
        let mut outcome = object.extract(job).await?;
        ctx.client.login_proven()?;
        // Recorded whether or not a gate lets the commit through: they say what did not fit.
        let rejects = std::mem::take(&mut outcome.rejects);
        ctx.rejects.lock().await.extend(rejects.iter().map(|r| (o.kind.name().to_string(), r.clone())));
        gates::rejects(o, &outcome, &rejects)?;
        gates::snapshot(o, table_rows, &outcome)?;
        drop(hold);
        Ok(outcome)
    };
    let (outcome, mut version) = join(extract, write).await?;
    tracing::info!(object = name, rows = outcome.rows, version, "table committed");
    if marks_after {
        if std::env::var("JIRAPIPE_FAILPOINT").as_deref() == Ok("after-data-commit") {
            // For the crash-safety test: the data is committed, the marks and cursor are not.
            std::process::abort();
        }
        let gone = listing.as_ref().map_or(&[][..], |l| &l.gone[..]);
        ctx.client.login_proven()?;
        let swept = deletes::sweep(ctx, o, &outcome.swept, gone, &encoding, &cursor_meta).await?;
        report.rows_deleted = swept.marked;
        version = swept.version.unwrap_or(version);
    }
    let dest = &ctx.pipeline.destination;
    if let Err(e) =
        ctx.store.maintain(name, version, &encoding, dest.compact_every, dest.vacuum_retention, &ctx.meta()).await
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
    report.rows_with_rejected_fields = outcome.partial;
    report.skipped = outcome.skipped;
    report.expected = outcome.expected;
    report.warnings.extend(outcome.warnings);
    report.table_version = Some(version);
    if outcome.partial > 0 {
        let fields: Vec<&str> = outcome.rejected_fields.keys().flatten().map(String::as_str).collect();
        report.warnings.push(Warning {
            message: format!(
                "{} rows were written with values that did not fit their columns left null (fields: {})",
                outcome.partial,
                fields.join(", ")
            ),
            fix: "see the `_rejects` table (record, field, raw value and reason); a field whose type changed in Jira keeps the table's type until the table is rebuilt".into(),
        });
    }
    Ok(())
}

/// `o.fields`, less the columns that only repeat a page of what another object of the pipeline
/// reads whole (`Object::embeds`) — unless `fields.include` or a `hash` path names them, or the
/// table already has them: a table written before keeps getting them, since leaving them out
/// now would null what its rows hold.
async fn embedded_left_out(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    object: &dyn objects::Object,
) -> Result<FieldSelection, RunError> {
    let embedded: Vec<&str> =
        object.embeds().iter().filter(|(_, by)| ctx.pipeline.object(*by).is_some()).map(|(c, _)| *c).collect();
    if embedded.is_empty() || matches!(o.fields, FieldSelection::Include(_)) {
        return Ok(o.fields.clone());
    }
    let table = ctx.store.schema(o.kind.table()).await?;
    // A column a `hash` path starts at is wanted: hashing it says so.
    let hashed = |c: &str| o.hash.iter().any(|h| h.split(['.', '[']).next() == Some(c));
    let has = |c: &str| hashed(c) || table.as_ref().is_some_and(|t| t.field_with_name(c).is_ok());
    let mut out: Vec<String> = match &o.fields {
        FieldSelection::Exclude(names) => names.clone(),
        _ => Vec::new(),
    };
    out.extend(embedded.into_iter().filter(|c| !has(c)).map(String::from));
    Ok(if out.is_empty() { FieldSelection::All } else { FieldSelection::Exclude(out) })
}

/// Whether an object swept by issue is due to read every issue's list (`reconcile_every`).
async fn full_sweep_due(ctx: &Context<'_>, o: &ObjectConfig) -> Result<bool, RunError> {
    let last = ctx.store.reconciled(&ctx.pipeline.name, o.kind.table()).await?;
    Ok(last.is_none_or(|at| Utc::now().timestamp_millis() - at >= o.reconcile_every.as_millis() as i64))
}

/// The object's columns with its `hash` paths applied.
fn shape_for(ctx: &Context<'_>, o: &ObjectConfig, columns: Vec<Column>) -> Result<Shape, RunError> {
    let mut shape = Shape::new(o.kind.name(), columns, &o.hash, ctx.masker.as_ref())?;
    shape.progress = crate::progress::bar(o.kind.name());
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
    let Some(table) = ctx.store.schema(o.kind.table()).await? else { return Ok(shape) };
    // A full refresh under `auto_sync` writes the table anew: Jira's columns and types.
    let rewrite = o.sync == SyncMode::FullRefresh && o.schema_drift == SchemaDrift::AutoSync;
    let drift = crate::transform::drift::reconcile(&mut shape.columns, &table, o.schema_drift, rewrite)
        .map_err(|fields| ObjectError::Drift { object: name, fields: fields.join(", ") })?;
    let label = |id: &String| match ctx.catalogue.iter().find(|d| &d.id == id) {
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
        if rewrite {
            report.warnings.push(Warning {
                message: format!("`{col}` was {table_type} in the table and is {jira_type} now"),
                fix: "nothing to do: a full refresh under `schema_drift: auto_sync` rewrites the table with the types of this run (Jira's, and `hash` makes a hashed value text); readers that expect the old type need updating".into(),
            });
            continue;
        }
        report.warnings.push(Warning {
            message: format!("`{col}` is {jira_type} in Jira now but {table_type} in the table; the table keeps {table_type}"),
            fix: "a text column keeps structured values as their JSON text; otherwise a value that does not fit is left null and recorded in `_rejects`. To adopt the new type, rebuild the table: delete it, or run it as a `full_refresh` (under `auto_sync` that takes Jira's types)".into(),
        });
    }
    report.drift = Some(drift);
    Ok(shape)
}

/// Runs extraction and the table write together. The extraction future owns the channel's
/// sender, so finishing it ends the write's input; if it fails, the write is dropped before it
/// can commit, and the table stays at its last version.
async fn join(
    extract: impl Future<Output = Result<Outcome, ObjectError>>,
    write: impl Future<Output = Result<u64, TableError>>,
) -> Result<(Outcome, u64), RunError> {
    tokio::try_join!(async { extract.await.map_err(RunError::from) }, async { write.await.map_err(RunError::from) })
}
