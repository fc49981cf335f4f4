//! Issues: a cheap ids-only search finds what matches, then id-range partitions are fetched
//! in parallel, so a large site is bounded by Jira's rate limit rather than by one sequential
//! chain of pages that each take hundreds of milliseconds.
//!
//! Partitions page in `id` order: an issue edited while the run pages cannot move to a page
//! already read (it could under `ORDER BY updated`), and Data Center, which refuses to page
//! past 10,000 results with `startAt`, is walked by `id > last` windows instead.

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::issue_row::IssueRows;
use super::{Outcome, Rows, RunStamp, Sender, Shape, StreamError, Warning};
use crate::config::{Deployment, FieldSelection, ObjectConfig};
use crate::jira::fields::FieldDef;
use crate::jira::issues::{Cursor, IssueTexts, id_range_jql, window_jql};
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

/// Issues per page with fields; Jira Cloud caps it at 100 (it may return fewer).
const PAGE_SIZE: u32 = 100;
/// Ids per page of the ids-only pass (Cloud allows up to 5000 when only ids are asked for).
const IDS_PAGE_SIZE_CLOUD: u32 = 5000;
/// Data Center caps `maxResults` at 1000.
const PAGE_SIZE_DC: u32 = 1000;
/// Smallest partition worth its own request chain.
const MIN_PARTITION: usize = 500;

/// The issue table's columns: `id`, `key`, the selected fields in `/field` order, metadata.
pub fn columns(defs: &[FieldDef], selection: &FieldSelection) -> Result<Vec<Column>, StreamError> {
    if let FieldSelection::Include(names) | FieldSelection::Exclude(names) = selection {
        for name in names {
            if name != "key" && !defs.iter().any(|d| &d.id == name) {
                return Err(unknown_field(defs, name));
            }
        }
    }
    // `id` and `key` are always kept: the primary key and the name people use for an issue.
    let mut cols =
        vec![Column { name: "id".into(), ty: ColumnType::Text }, Column { name: "key".into(), ty: ColumnType::Text }];
    for d in defs {
        if d.id != "id" && d.id != "key" && selection.keeps(&d.id) {
            cols.push(Column { name: d.id.clone(), ty: ColumnType::of(d.schema.as_ref()) });
        }
    }
    cols.extend(RunStamp::columns());
    Ok(cols)
}

/// Users often write a field's display name ("Story Points") where its id belongs.
fn unknown_field(defs: &[FieldDef], name: &str) -> StreamError {
    let by_name = defs.iter().find(|d| d.name.eq_ignore_ascii_case(name));
    let suggestion = match by_name {
        Some(d) => format!("; `{name}` is the display name of `{}`: use the id", d.id),
        None => defs
            .iter()
            .map(|d| (strsim::jaro_winkler(&d.id, name), d))
            .filter(|(s, _)| *s > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, d)| format!("; did you mean `{}` ({})?", d.id, d.name))
            .unwrap_or_else(|| "; run `jirapipe discover` to list field ids".into()),
    };
    StreamError::UnknownField { object: "issues", field: name.to_string(), suggestion }
}

/// What the ids-only pass found: every matching id, in order, and Jira's clock when it began.
#[derive(Debug)]
pub struct Discovery {
    /// The filter (user JQL and window) without ordering.
    pub filter: String,
    pub ids: Vec<u64>,
    /// Jira's time at the first response. Everything updated before it (and indexed) is in
    /// `ids`, so it is the next run's cursor: unlike the largest `updated` received, it cannot
    /// skip an issue edited during the run after its partition was read.
    pub jira_now: DateTime<Utc>,
    /// Data Center's exact count.
    pub total: Option<u64>,
}

/// The ids-only pass over `updated >= since_ms`.
pub async fn discover(client: &JiraClient, object: &ObjectConfig, since_ms: i64) -> Result<Discovery, StreamError> {
    let filter = window_jql(object.jql.as_deref(), since_ms);
    let only_id = vec!["id".to_string()];
    let mut ids = Vec::new();
    let mut jira_now = None;
    let mut total = None;
    match client.deployment() {
        Deployment::Cloud => {
            let jql = id_range_jql(&filter, None, None);
            let mut cursor = Cursor::Start;
            loop {
                let page = client.search::<Vec<Value>>(&jql, &only_id, &cursor, 0, IDS_PAGE_SIZE_CLOUD).await?;
                jira_now = jira_now.or(Some(page.date.unwrap_or_else(local_clock)));
                ids.extend(page.issues.iter().filter_map(issue_id));
                match page.next {
                    Some(t) => cursor = Cursor::Token(t),
                    None => break,
                }
            }
        }
        Deployment::DataCenter => {
            let mut last = None;
            loop {
                let jql = id_range_jql(&filter, last.map(|l: u64| l + 1), None);
                let page = client.search::<Vec<Value>>(&jql, &only_id, &Cursor::Start, 0, PAGE_SIZE_DC).await?;
                jira_now = jira_now.or(Some(page.date.unwrap_or_else(local_clock)));
                total = total.or(page.total);
                let before = ids.len();
                ids.extend(page.issues.iter().filter_map(issue_id));
                if ids.len() == before || page.total.is_some_and(|t| (ids.len() - before) as u64 >= t) {
                    break;
                }
                last = ids.last().copied();
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(Discovery { filter, ids, jira_now: jira_now.unwrap_or_else(local_clock), total })
}

/// Without Jira's `Date` header, the local clock less a margin for clock skew.
fn local_clock() -> DateTime<Utc> {
    Utc::now() - chrono::Duration::minutes(5)
}

fn issue_id(issue: &Value) -> Option<u64> {
    issue["id"].as_str().and_then(|s| s.parse().ok())
}

/// Id ranges per worker. Ranges are handed to workers as they free up, so with several per
/// worker the run does not wait on the one range that happened to page slowest.
const RANGES_PER_WORKER: usize = 4;

/// Splits the sorted ids into at most `n` contiguous ranges of a whole number of `page` ids
/// (so no range ends in a part-filled page and splitting costs no requests), each at least
/// `MIN_PARTITION` ids. The first is open below and the last open above, so issues created
/// during the run still land in one.
pub fn partitions(ids: &[u64], n: usize, page: usize) -> Vec<(Option<u64>, Option<u64>)> {
    if ids.is_empty() {
        return vec![(None, None)];
    }
    let size = ids.len().div_ceil(n.max(1)).max(MIN_PARTITION).next_multiple_of(page.max(1));
    let chunks: Vec<&[u64]> = ids.chunks(size).collect();
    let last = chunks.len().saturating_sub(1);
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| (if i == 0 { None } else { Some(c[0]) }, if i == last { None } else { c.last().copied() }))
        .collect()
}

/// Fetches every issue found by `discovery` with the selected fields, partitions in parallel.
pub async fn extract(
    client: &JiraClient,
    shape: &Shape,
    discovery: &Discovery,
    concurrency: usize,
    stamp: &RunStamp,
    tx: &Sender,
) -> Result<Outcome, StreamError> {
    if discovery.ids.is_empty() {
        return Ok(Outcome { expected: Some(0), ..Outcome::default() });
    }
    // Push the selection down: ask Jira only for the fields that become columns.
    let mut wanted: Vec<String> =
        shape.columns.iter().filter(|c| !c.name.starts_with('_') && c.name != "id").map(|c| c.name.clone()).collect();
    if !wanted.iter().any(|f| f == "updated") {
        wanted.push("updated".into());
    }
    let page = match client.deployment() {
        Deployment::Cloud => PAGE_SIZE,
        Deployment::DataCenter => PAGE_SIZE_DC,
    };
    let parts = partitions(&discovery.ids, concurrency * RANGES_PER_WORKER, page as usize);
    tracing::debug!(issues = discovery.ids.len(), partitions = parts.len(), "fetching issues");
    let outcomes: Vec<Outcome> = futures::stream::iter(parts.iter().map(|(lo, hi)| {
        let jql = id_range_jql(&discovery.filter, *lo, *hi);
        fetch_partition(client, jql, shape, &wanted, stamp, tx)
    }))
    .buffer_unordered(concurrency.max(1))
    .try_collect()
    .await?;
    let mut total = Outcome::default();
    for o in outcomes {
        total.rows += o.rows;
        total.rejected += o.rejected;
        total.rejects.extend(o.rejects);
    }
    let rows = total.rows + total.rejected;
    let expected = match discovery.total {
        Some(t) => Some(t),
        None => client.approximate_count(&discovery.filter).await?,
    };
    let mut warnings = Vec::new();
    if let Some(e) = expected
        && (rows as u64) < e
    {
        warnings.push(Warning {
            message: format!("received {rows} issues but Jira counts {e} matching the same JQL"),
            fix: "issues under security levels or in projects the API user cannot browse are not returned; if the gap persists on the next run, check the API user's permissions (`jirapipe check`)".into(),
        });
    }
    Ok(Outcome { expected, warnings, ..total })
}

async fn fetch_partition(
    client: &JiraClient,
    jql: String,
    shape: &Shape,
    wanted: &[String],
    stamp: &RunStamp,
    tx: &Sender,
) -> Result<Outcome, StreamError> {
    let mut rows = Rows::new(shape, tx);
    let decoder = IssueRows::new(shape, stamp);
    let decoder = decoder.as_ref();
    match client.deployment() {
        Deployment::Cloud => {
            let mut cursor = Cursor::Start;
            loop {
                let page = client.search::<IssueTexts>(&jql, wanted, &cursor, 0, PAGE_SIZE).await?;
                push_issues(&mut rows, shape, decoder, &page.issues, stamp).await?;
                match page.next {
                    Some(t) => cursor = Cursor::Token(t),
                    None => break,
                }
            }
        }
        Deployment::DataCenter => {
            // `id > last` windows: never deeper than one page, so the 10,000 limit never applies.
            let (filter, _) = jql.rsplit_once(" ORDER BY").expect("id_range_jql orders");
            let mut last: Option<u64> = None;
            loop {
                let window = match last {
                    Some(l) => format!("{filter} AND id > {l} ORDER BY id ASC"),
                    None => jql.clone(),
                };
                let page = client.search::<IssueTexts>(&window, wanted, &Cursor::Start, 0, PAGE_SIZE_DC).await?;
                if page.issues.is_empty() {
                    break;
                }
                let n = page.issues.len() as u64;
                last = push_issues(&mut rows, shape, decoder, &page.issues, stamp).await?;
                if page.total.is_some_and(|t| n >= t) {
                    break;
                }
            }
        }
    }
    rows.flush().await?;
    Ok(rows.into_outcome(Outcome::default()))
}

/// Appends a page's issues; returns the largest id among them. Each issue is decoded from its
/// text in one pass; one that does not fit (or when `decoder` is `None`) is parsed into a
/// `Value` instead and goes the slow way, which says why and rejects it.
async fn push_issues(
    rows: &mut Rows<'_>,
    shape: &Shape,
    decoder: Option<&IssueRows<'_>>,
    issues: &IssueTexts,
    stamp: &RunStamp,
) -> Result<Option<u64>, StreamError> {
    let mut last = None;
    for text in issues.iter() {
        let fast = decoder.and_then(|d| {
            let row = d.decode(text).ok()?;
            let id = d.id(&row);
            rows.push_row(row).then_some(id)
        });
        let id = match fast {
            Some(id) => id,
            None => {
                let issue: Value = serde_json::from_str(text).map_err(|e| JiraError::Decode {
                    endpoint: "search".into(),
                    message: format!("an issue is not JSON: {e}"),
                })?;
                let id = issue_id(&issue);
                push_value(rows, shape, issue, stamp).await?;
                id
            }
        };
        last = last.max(id);
        rows.flush_if_full().await?;
    }
    Ok(last)
}

/// Hashes the masked paths of an issue: its fields, and its key.
pub(crate) fn mask_issue(shape: &Shape, issue: &mut Value) {
    if let Some(f) = issue.get_mut("fields").and_then(Value::as_object_mut) {
        shape.mask(f);
    }
    if shape.is_masked("key")
        && let Some(k) = issue.get_mut("key")
    {
        *k = shape.mask_value("key", k.take());
    }
}

/// One issue, the slow way: masked in place, then converted through `Value`s.
async fn push_value(rows: &mut Rows<'_>, shape: &Shape, mut issue: Value, stamp: &RunStamp) -> Result<(), StreamError> {
    mask_issue(shape, &mut issue);
    let id = issue["id"].as_str().unwrap_or_default().to_string();
    rows.push(&id, &issue, issue_column(&issue, stamp)).await
}

/// Looks a column's value up in an issue: `id` and `key` on the issue, the run's metadata from
/// `stamp`, everything else in its `fields`.
pub(crate) fn issue_column<'v>(issue: &'v Value, stamp: &'v RunStamp) -> impl Fn(&str) -> Option<&'v Value> {
    let fields = &issue["fields"];
    move |col| match col {
        "id" | "key" => issue.get(col),
        _ => stamp.column(col).or_else(|| fields.get(col)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_everything_with_open_ends() {
        let ids: Vec<u64> = (0..2000).collect();
        let p = partitions(&ids, 4, 100);
        assert_eq!(p, vec![(None, Some(499)), (Some(500), Some(999)), (Some(1000), Some(1499)), (Some(1500), None)]);
        // Few issues: one partition, whatever the concurrency.
        assert_eq!(partitions(&ids[..10], 8, 100), vec![(None, None)]);
        assert_eq!(partitions(&[], 8, 100), vec![(None, None)]);
        // Whole pages only: 2000 ids in 3 would be 667 each, so 700, 700 and 600.
        let ids: Vec<u64> = (0..2000).map(|i| i * 3).collect();
        assert_eq!(partitions(&ids, 3, 100), vec![(None, Some(2097)), (Some(2100), Some(4197)), (Some(4200), None)]);
    }
}
