//! Where each object of a pipeline stands — its table version, its cursor and its last run
//! (from the `_runs` table) — and rewinding a cursor.
//!
//! The cursor is a Delta `txn` action committed with the data it covers. Rewinding commits a
//! new `txn` for the same app id in a commit of its own (no data change), so the rewind is as
//! atomic and as durable as a run, and copying the table carries it along. Forgetting the
//! cursor sets it to 0 (the epoch): the next run then extracts every issue the JQL matches and
//! merges it by `id`, keeping the table's rows (and soft deletes) instead of replacing them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{ObjectKind, Pipeline, SyncMode};
use crate::table::{CommitMeta, TableError, TableStore};

/// An object's state, for `jirapipe state show`.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectState {
    pub object: &'static str,
    pub table: String,
    /// `None`: the table does not exist yet (no run has committed it).
    pub version: Option<u64>,
    /// Incremental objects: where the next run starts (less the lookback).
    pub cursor: Option<DateTime<Utc>>,
    pub last_run: Option<LastRun>,
}

/// The object's latest row in `_runs`.
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    pub run_id: String,
    pub started_at: String,
    pub status: String,
    pub rows_written: String,
    pub duration_ms: String,
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(
        "`{object}` has no cursor: only `issues` with `sync: incremental` has one; {object} is rebuilt on every run"
    )]
    NoCursor { object: &'static str },
    #[error("`{object}` is not in pipeline `{pipeline}`; its objects are: {objects}")]
    NotInPipeline { object: String, pipeline: String, objects: String },
}

impl StateError {
    /// A mistake on the command line rather than a storage failure.
    pub fn is_input(&self) -> bool {
        !matches!(self, StateError::Table(_))
    }
}

pub async fn show(pipeline: &Pipeline) -> Result<Vec<ObjectState>, StateError> {
    let store = TableStore::for_destination(&pipeline.destination);
    let runs = last_runs(&store, &pipeline.name).await?;
    let mut out = Vec::new();
    for o in &pipeline.objects {
        let (name, table) = (o.kind.name(), o.kind.table());
        let cursor = match o.sync {
            SyncMode::Incremental => {
                store.cursor(&pipeline.name, table).await?.and_then(DateTime::from_timestamp_millis)
            }
            SyncMode::FullRefresh => None,
        };
        out.push(ObjectState {
            object: name,
            table: store.table_url(table).to_string(),
            version: store.version(table).await?,
            cursor,
            last_run: runs.iter().find(|(obj, _)| obj == name).map(|(_, r)| r.clone()),
        });
    }
    Ok(out)
}

/// The latest `_runs` row of each object of `pipeline`.
async fn last_runs(store: &TableStore, pipeline: &str) -> Result<Vec<(String, LastRun)>, StateError> {
    let sql = format!(
        "SELECT CAST(object AS VARCHAR) AS o, CAST(run_id AS VARCHAR) AS r, CAST(started_at AS VARCHAR) AS s, \
         CAST(status AS VARCHAR) AS st, CAST(CAST(rows_written AS BIGINT) AS VARCHAR) AS w, \
         CAST(CAST(duration_ms AS BIGINT) AS VARCHAR) AS d, CAST(error AS VARCHAR) AS e \
         FROM t WHERE pipeline = '{}' ORDER BY started_at DESC",
        pipeline.replace('\'', "''")
    );
    let Some(rows) = store.query_text("_runs", &sql).await? else { return Ok(Vec::new()) };
    let mut latest: Vec<(String, LastRun)> = Vec::new();
    for r in rows {
        let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        let object = text(0);
        if latest.iter().any(|(o, _)| *o == object) {
            continue;
        }
        let run = LastRun {
            run_id: text(1),
            started_at: text(2),
            status: text(3),
            rows_written: text(4),
            duration_ms: text(5),
            error: r.get(6).cloned().flatten(),
        };
        latest.push((object, run));
    }
    Ok(latest)
}

/// What a reset did to one object.
#[derive(Debug, Clone, Serialize)]
pub struct Reset {
    pub object: &'static str,
    pub cursor_before: Option<DateTime<Utc>>,
    pub cursor_after: DateTime<Utc>,
    /// The new table version; `None` when the table does not exist (nothing to reset).
    pub version: Option<u64>,
}

/// The objects a reset of `only` (or of every object with a cursor) touches.
pub fn reset_targets(pipeline: &Pipeline, only: Option<&str>) -> Result<Vec<ObjectKind>, StateError> {
    let incremental = |k: ObjectKind| pipeline.object(k).is_some_and(|o| o.sync == SyncMode::Incremental);
    match only {
        Some(name) => {
            let Some(o) = pipeline.objects.iter().find(|o| o.kind.name() == name) else {
                return Err(StateError::NotInPipeline {
                    object: name.to_string(),
                    pipeline: pipeline.name.clone(),
                    objects: pipeline.objects.iter().map(|o| o.kind.name()).collect::<Vec<_>>().join(", "),
                });
            };
            if !incremental(o.kind) {
                return Err(StateError::NoCursor { object: o.kind.name() });
            }
            Ok(vec![o.kind])
        }
        None => Ok(pipeline.objects.iter().map(|o| o.kind).filter(|k| incremental(*k)).collect()),
    }
}

/// Sets the cursor of each of `objects` to `to` (`None`: forget it, i.e. the epoch).
pub async fn reset(
    pipeline: &Pipeline,
    objects: &[ObjectKind],
    to: Option<DateTime<Utc>>,
) -> Result<Vec<Reset>, StateError> {
    let store = TableStore::for_destination(&pipeline.destination);
    let to = to.unwrap_or(DateTime::UNIX_EPOCH);
    let mut out = Vec::new();
    for kind in objects {
        let table = kind.table();
        let before = store.cursor(&pipeline.name, table).await?.and_then(DateTime::from_timestamp_millis);
        let meta = CommitMeta {
            pipeline: pipeline.name.clone(),
            run_id: format!("state-reset-{}", uuid::Uuid::now_v7()),
            cursor_ms: Some(to.timestamp_millis()),
            reconciled_ms: None,
        };
        let version = store.commit_meta(table, &meta).await?;
        tracing::info!(object = kind.name(), cursor = %to, ?version, "cursor reset");
        out.push(Reset { object: kind.name(), cursor_before: before, cursor_after: to, version });
    }
    Ok(out)
}

/// Parses `--to`: RFC 3339 (`2026-03-01T09:00:00Z`, any offset), `YYYY-MM-DD HH:MM` or
/// `YYYY-MM-DD` (both UTC).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return Ok(d.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(format!("`{t}` is not a time: use RFC 3339 (2026-03-01T09:00:00Z), `2026-03-01 09:00` or `2026-03-01` (UTC)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_utc() {
        let want = DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_time("2026-03-01T09:00:00Z").unwrap(), want);
        assert_eq!(parse_time("2026-03-01T04:00:00-05:00").unwrap(), want);
        assert_eq!(parse_time("2026-03-01 09:00").unwrap(), want);
        assert_eq!(parse_time("2026-03-01").unwrap(), want - chrono::Duration::hours(9));
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }
}
