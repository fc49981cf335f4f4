//! Delete reconciliation: which rows of an incremental table belong to records that a full
//! listing no longer shows, why (asked of Jira by the object), and marking them — removing
//! only real deletes under `deletes: hard`, and never more than the pipeline allows at once.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;

use super::{Context, RunError};
use crate::config::{Deletes, ObjectConfig};
use crate::objects::RUN_ID;
use crate::objects::{Gone, Marks, Missing, ProjectRef};
use crate::report::{ObjectReport, Warning};
use crate::table::{CommitMeta, Encoding, StoredRow};

/// Deletes the mass-delete guard always lets through, whatever the table's size.
const MASS_DELETE_FLOOR: usize = 10;

/// What a reconciliation decided.
pub(super) struct Reconciled {
    /// When it happened, recorded with this run's commit; `None` when it was not due.
    pub at_ms: Option<i64>,
    /// Rows to read again although the incremental listing may not include them: marked rows
    /// the listing shows again (their marks are cleared), and rows that left the filter or were
    /// archived (their current values are kept, marked).
    pub refresh: Vec<u64>,
    /// The marks of the rows to keep marked.
    pub marks: Marks,
    /// Whether marks were committed (with the reconciliation time).
    pub committed: bool,
}

/// Looks for rows whose records a full listing no longer shows, when it is due
/// (`reconcile_every`), and marks each with why. Rows already marked `deleted`, `left_filter`
/// or `archived` are not asked about again; `lost_access` ones are, since access may return.
pub(super) async fn reconcile(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    encoding: &Encoding,
    report: &mut ObjectReport,
) -> Result<Reconciled, RunError> {
    let name = o.kind.table();
    let now = Utc::now();
    let not_due = Reconciled { at_ms: None, refresh: Vec::new(), marks: Marks::default(), committed: false };
    if let Some(last) = ctx.store.reconciled(&ctx.pipeline.name, name).await?
        && now.timestamp_millis() - last < o.reconcile_every.as_millis() as i64
    {
        return Ok(not_due);
    }
    let object = crate::objects::of(o.kind);
    // An object that lists nothing has nothing to reconcile (and no list to miss rows from).
    let Some(in_jira) = object.list(&ctx.client, o, 0).await?.map(|l| l.ids) else { return Ok(not_due) };
    let rows = ctx.store.stored_rows(name).await?;
    let in_scope = rows.iter().filter(|r| r.reason.is_none()).count();
    let missing: Vec<Missing> = rows
        .iter()
        .filter(|r| r.reason.as_deref().is_none_or(|g| g == Gone::LostAccess.as_str()))
        .filter_map(|r| Some((r.id.parse::<u64>().ok()?, r)))
        .filter(|(id, _)| in_jira.binary_search(id).is_err())
        .map(|(id, r)| Missing { id, project: project_of(r) })
        .collect();
    // Marked rows Jira lists again (access restored, back in the filter, unarchived).
    let back: Vec<u64> = rows
        .iter()
        .filter(|r| r.reason.is_some())
        .filter_map(|r| r.id.parse::<u64>().ok())
        .filter(|id| in_jira.binary_search(id).is_ok())
        .collect();
    let done =
        Reconciled { at_ms: Some(now.timestamp_millis()), refresh: back, marks: Marks::default(), committed: false };
    if missing.is_empty() {
        return Ok(done);
    }
    let explained = object.explain_missing(&ctx.client, &missing).await?;
    let count = |g: Gone| explained.iter().filter(|(_, x)| *x == g).count();
    let deleted = count(Gone::Deleted);
    // Nothing is written before the guard has had its say. A handful of deletes never trips
    // it, or one delete in a ten-row table would stop every run.
    if deleted > MASS_DELETE_FLOOR && deleted as f64 > o.max_deleted_fraction * in_scope.max(1) as f64 {
        return Err(RunError::MassDelete {
            object: name,
            deleted,
            rows: in_scope,
            limit_pct: o.max_deleted_fraction * 100.0,
        });
    }
    let previous: HashMap<&str, &str> =
        rows.iter().filter_map(|r| Some((r.id.as_str(), r.reason.as_deref()?))).collect();
    // A row still lost is not marked again (its `_deleted_at` says since when).
    let changed: Vec<(String, &'static str)> = explained
        .iter()
        .map(|(id, g)| (id.to_string(), g.as_str()))
        .filter(|(id, g)| previous.get(id.as_str()) != Some(g))
        .collect();
    if !changed.is_empty() {
        let mut meta = ctx.meta();
        meta.reconciled_ms = Some(now.timestamp_millis());
        // Rows an anonymous answer called missing are not deleted.
        ctx.client.login_proven()?;
        ctx.store.mark(name, &changed, o.deletes == Deletes::Hard, now, encoding, &meta).await?;
    }
    report.rows_deleted = deleted;
    // Under `hard` the deleted rows are removed, the others marked: the log says which.
    let what = if o.deletes == Deletes::Hard {
        "rows missing from the listing: deleted ones removed, the others marked"
    } else {
        "rows missing from the listing marked"
    };
    tracing::info!(
        object = name,
        deleted,
        left_filter = count(Gone::LeftFilter),
        archived = count(Gone::Archived),
        lost_access = count(Gone::LostAccess),
        "{what}"
    );
    warn_lost_access(&explained, &rows, report);
    let kept: HashMap<u64, Gone> =
        explained.into_iter().filter(|(_, g)| matches!(g, Gone::LeftFilter | Gone::Archived)).collect();
    let mut refresh = done.refresh;
    refresh.extend(kept.keys());
    Ok(Reconciled { at_ms: done.at_ms, refresh, marks: Marks::new(kept, now), committed: !changed.is_empty() })
}

/// The project a stored row names: its `_project_id`, or for rows written before that column
/// the project part of a key that is not hashed.
fn project_of(r: &StoredRow) -> Option<ProjectRef> {
    match &r.project_id {
        Some(id) => Some(ProjectRef::Id(id.clone())),
        None => key_project(r).map(ProjectRef::Key),
    }
}

/// The project part of the row's key, when the key reads as one (`ENG-42`, not a hash).
fn key_project(r: &StoredRow) -> Option<String> {
    let (project, number) = r.key.as_deref()?.rsplit_once('-')?;
    let looks_like_key = !project.is_empty()
        && project.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && number.parse::<u64>().is_ok();
    looks_like_key.then(|| project.to_string())
}

/// One warning per project the API user lost access to: its rows are kept.
fn warn_lost_access(explained: &[(u64, Gone)], rows: &[StoredRow], report: &mut ObjectReport) {
    let by_id: HashMap<&str, &StoredRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut by_project = BTreeMap::<String, usize>::new();
    for (id, _) in explained.iter().filter(|(_, g)| *g == Gone::LostAccess) {
        let row = by_id.get(id.to_string().as_str());
        // Named by its key when the row's key shows it, by id otherwise (a hashed key).
        let key = row.and_then(|r| key_project(r));
        let name = match (key, row.and_then(|r| r.project_id.as_deref())) {
            (Some(k), _) => format!("project {k}"),
            (None, Some(id)) => format!("project id {id}"),
            (None, None) => "an unknown project".to_string(),
        };
        *by_project.entry(name).or_default() += 1;
    }
    for (p, n) in by_project {
        report.warnings.push(Warning {
            message: format!(
                "{n} issues of {p} are no longer visible and the API user may not browse {p}: they are kept, marked `lost_access`, not deleted"
            ),
            fix: format!(
                "give the API user Browse Projects on {p} again (the next reconciliation clears the mark); if the project was deleted, remove its rows yourself"
            ),
        });
    }
}

/// What a sweep marked, and the version its commit made.
pub(super) struct Swept {
    pub marked: usize,
    pub version: Option<u64>,
}

/// Marks the rows of records found gone while reading changes, in one commit that also carries
/// `meta`'s cursor: the rows of each issue in `swept` that this run did not write again (the
/// issue's whole list was read, so they are no longer in it), and the rows whose ids a change
/// feed reported deleted (`gone`). Rows already marked stay as they are.
pub(super) async fn sweep(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    swept: &[String],
    gone: &[u64],
    encoding: &Encoding,
    meta: &CommitMeta,
) -> Result<Swept, RunError> {
    let name = o.kind.table();
    let parents = crate::objects::of(o.kind).parent_columns();
    let mut ids = ctx.store.live_ids(name, parents, swept, Some((RUN_ID, &ctx.run_id))).await?;
    let gone: Vec<String> = gone.iter().map(u64::to_string).collect();
    ids.extend(ctx.store.live_ids(name, &["id"], &gone, None).await?);
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        let version = ctx.store.commit_meta(name, meta).await?;
        return Ok(Swept { marked: 0, version });
    }
    let marks: Vec<(String, &'static str)> = ids.into_iter().map(|id| (id, Gone::Deleted.as_str())).collect();
    let version = ctx.store.mark(name, &marks, o.deletes == Deletes::Hard, Utc::now(), encoding, meta).await?;
    if o.deletes == Deletes::Hard {
        tracing::info!(object = name, deleted = marks.len(), "rows of records deleted in Jira removed");
    } else {
        tracing::info!(object = name, deleted = marks.len(), "rows of records deleted in Jira marked");
    }
    Ok(Swept { marked: marks.len(), version: Some(version) })
}
