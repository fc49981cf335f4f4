//! Objects read back from a table written earlier in the same run: `issue_links` from the
//! `issuelinks` of the issues this run read, so a pipeline with both sends no request for the
//! links. Only when the two read exactly the same issues — the same sync, JQL and lookback, the
//! source's run succeeded, and both cursors stood at the same place — otherwise the object
//! reads Jira as usual.

use chrono::Utc;
use serde_json::{Value, json};

use super::{Context, RunError};
use crate::config::ObjectConfig;
use crate::objects::{Derivation, Listing};
use crate::report::ObjectReport;
use crate::table::DELETED_AT;

/// Most issues derived in one run: beyond it (a first load of a large site) the object reads
/// Jira, which pages through them instead of holding them all.
const DERIVE_MAX: u64 = 50_000;

/// What a derived object reads instead of Jira: the listing (the issues read this run, and the
/// source's new cursor) and the records.
pub(super) struct Derived {
    pub listing: Listing,
    pub records: Vec<Value>,
}

/// The records of `o` read back from `d.source`'s table, when that reads the same issues; `full`
/// asks for every live issue (a full sweep) rather than those this run read.
pub(super) async fn plan(
    ctx: &Context<'_>,
    o: &ObjectConfig,
    d: Derivation,
    source: &ObjectReport,
    before: Option<i64>,
    full: bool,
) -> Result<Option<Derived>, RunError> {
    let Some(src) = ctx.pipeline.object(d.source) else { return Ok(None) };
    // Values the source hashed are not the ones Jira sent (the column, or the issue keys).
    let column_hashed =
        src.hash.iter().any(|h| h == d.column || h.starts_with(&format!("{}.", d.column)) || h == "key");
    let same_issues = source.error.is_none()
        && src.sync == o.sync
        && src.jql == o.jql
        && src.lookback == o.lookback
        && before == source.cursor_before.map(|c| c.timestamp_millis());
    if !same_issues || column_hashed {
        return Ok(None);
    }
    let table = d.source.table();
    let Some(schema) = ctx.store.schema(table).await? else { return Ok(None) };
    if schema.field_with_name(d.column).is_err() || schema.field_with_name("key").is_err() {
        return Ok(None);
    }
    let filter = match (full, schema.field_with_name(DELETED_AT).is_ok()) {
        (true, true) => format!("{DELETED_AT} IS NULL"),
        (true, false) => "TRUE".to_string(),
        (false, _) => format!("_run_id = '{}'", ctx.run_id.replace('\'', "''")),
    };
    let count = ctx.store.query_text(table, &format!("SELECT CAST(COUNT(*) AS VARCHAR) FROM t WHERE {filter}")).await?;
    let count: u64 = count.and_then(|r| r.first()?.first()?.as_deref()?.parse().ok()).unwrap_or(u64::MAX);
    if count > DERIVE_MAX {
        return Ok(None);
    }
    let c = d.column;
    let sql = format!("SELECT CAST(id AS VARCHAR), CAST(key AS VARCHAR), CAST({c} AS VARCHAR) FROM t WHERE {filter}");
    let rows = ctx.store.query_text(table, &sql).await?.unwrap_or_default();
    let mut ids = Vec::with_capacity(rows.len());
    let mut records = Vec::with_capacity(rows.len());
    for mut r in rows {
        let Some(id) = r[0].take() else { continue };
        // A value that does not parse (or is null) leaves the issue unread: nothing is swept.
        let value = r[2].take().and_then(|t| serde_json::from_str::<Value>(&t).ok()).unwrap_or(Value::Null);
        ids.extend(id.parse::<u64>().ok());
        records.push(json!({"id": id, "key": r[1].take(), "fields": {c: value}}));
    }
    ids.sort_unstable();
    tracing::info!(object = o.kind.name(), issues = records.len(), from = table, "read back from this run's table");
    let listing = Listing {
        filter: format!("the {table} read this run"),
        ids,
        jira_now: source.cursor_after.unwrap_or_else(Utc::now),
        total: None,
        gone: Vec::new(),
        feed: false,
    };
    Ok(Some(Derived { listing, records }))
}
