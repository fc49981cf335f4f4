//! Delete reconciliation: which rows of an incremental table belong to records Jira no longer
//! has, and marking (or removing) them.

use chrono::Utc;

use super::{Context, RunError};
use crate::config::{Deletes, ObjectConfig};
use crate::report::{ObjectReport, Warning};

/// Looks for issues deleted in Jira when it is due (`reconcile_every`): every id the JQL
/// matches now (ids-only search) against the table's rows. A row whose project the API user
/// can no longer see at all is lost access, not a deletion: it is kept and reported. Returns
/// when the reconciliation happened, to be recorded with this run's commit.
pub(super) async fn reconcile(
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
    let object = crate::objects::of(o.kind);
    // An object that lists nothing has nothing to reconcile (and no list to miss rows from).
    let Some(in_jira) = object.list(&ctx.client, o, 0).await?.map(|l| l.ids) else { return Ok(None) };
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
