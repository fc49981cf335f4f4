//! Issues: a cheap listing finds every id that matches, then the issues are fetched by
//! explicit id lists in parallel, so a large site is bounded by Jira's rate limit rather than
//! by one sequential chain of pages that each take hundreds of milliseconds.
//!
//! Nothing here splits, pages or resumes with `id`/`key` comparisons: in real JQL `id > N`
//! compares key numbers inside N's project, so id ranges lose every other project's issues
//! (`shared/notes/jql-semantics.md`). The listing pages in creation order — Cloud by
//! `nextPageToken`, Data Center by `created` windows that stay far below its 10,000-result
//! limit — and the fetch asks for explicit ids (Cloud's bulk fetch, Data Center's `id in`).
//! Every id listed must come back as a row, a reject, or an issue Jira says is gone; anything
//! else fails the object before its table is touched.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

mod gone;

use futures::future::BoxFuture;

use super::issue_row::IssueRows;
use super::{
    ColumnInfo, Concern, Gone, Job, Listing, Missing, Object, ObjectError, Outcome, Probed, Queue, Rows, RunStamp,
    Shape, SharedBatch,
};
use crate::config::{Deployment, FieldSelection, ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::issues::{BULK_FETCH_MAX, Cursor, IssueTexts, listing_jql, window_jql};
use crate::jira::{JiraClient, JiraError, body_error};
use crate::report::{Diagnosis, Warning};
use crate::table::PROJECT_ID;
use crate::transform::columns::{Column, ColumnType, parse_jira_datetime};

/// Ids per page of the ids-only listing (Cloud allows up to 5000 when only ids are asked for).
const IDS_PAGE_SIZE_CLOUD: u32 = 5000;
/// Data Center caps `maxResults` at 1000.
const PAGE_SIZE_DC: u32 = 1000;
/// Data Center's search fails past this many results (`startAt + maxResults`) on OpenSearch.
const DC_RESULT_WINDOW: u64 = 10_000;
/// A full Data Center listing page moves its `created` window to the last issue's minute:
/// Jira may index `created` to the minute, so a window starting mid-minute could skip the rest
/// of that minute. The overlap is read twice and deduplicated.
const MINUTE_MS: i64 = 60_000;

pub struct Issues;

impl Object for Issues {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Issues
    }

    fn columns(&self, catalogue: &[FieldDef]) -> Vec<Column> {
        columns(catalogue, &FieldSelection::All).expect("every field is in the catalogue")
    }

    fn select(&self, catalogue: &[FieldDef], selection: &FieldSelection) -> Result<Vec<Column>, ObjectError> {
        columns(catalogue, selection)
    }

    /// Every column is typed from the site's field catalogue.
    fn needs_catalogue(&self) -> bool {
        true
    }

    /// Every field of the catalogue, named and typed as Jira describes it.
    fn describe(&self, catalogue: &[FieldDef]) -> Vec<ColumnInfo> {
        catalogue
            .iter()
            .map(|d| {
                let ty = ColumnType::of(d.schema.as_ref());
                ColumnInfo {
                    column: Column { name: d.id.clone(), ty },
                    name: d.name.clone(),
                    jira_type: match &d.schema {
                        Some(s) => match &s.items {
                            Some(i) => format!("{}<{i}>", s.kind),
                            None => s.kind.clone(),
                        },
                        None => String::new(),
                    },
                    custom: d.custom,
                    personal: PERSONAL_JSON.contains(&d.id.as_str()),
                }
            })
            .collect()
    }

    fn explain_missing<'a>(
        &'a self,
        client: &'a JiraClient,
        missing: &'a [Missing],
    ) -> BoxFuture<'a, Result<Vec<(u64, Gone)>, ObjectError>> {
        Box::pin(gone::explain(client, missing))
    }

    /// `issuelinks` stays: Jira embeds every link, and `issue_links` reads its rows from it.
    fn embeds(&self) -> &'static [(&'static str, ObjectKind)] {
        &[("comment", ObjectKind::Comments), ("worklog", ObjectKind::Worklogs)]
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    fn diagnose(&self, err: &JiraError) -> Option<(Concern, Diagnosis)> {
        match err {
            JiraError::Status { status: 400, message, .. } => Some((
                Concern::Fail,
                Diagnosis::new(
                    "bad-jql",
                    format!("Jira rejected the issues JQL: {message}"),
                    "fix `objects.issues.jql` (try it in Jira's issue search first); field names in JQL must exist and be visible to the API user",
                ),
            )),
            _ => None,
        }
    }

    fn probe<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
    ) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(probe(client, config))
    }
}

/// How many issues the API user sees through the pipeline's JQL: one id-only search, and
/// Jira's approximate count where the search gives no total (Cloud).
async fn probe(client: &JiraClient, config: &ObjectConfig) -> Result<Probed, JiraError> {
    let jql = window_jql(config.jql.as_deref(), 0);
    let page = client.search::<Vec<serde::de::IgnoredAny>>(&jql, &["id".to_string()], &Cursor::Start, 0, 1).await?;
    let count = match page.total {
        Some(t) => t,
        None => client.approximate_count(&jql).await?.unwrap_or(page.issues.len() as u64),
    };
    let mut probed = Probed { records: Some(count.to_string()), ..Probed::default() };
    if count == 0 {
        probed.findings.push((
            Concern::Warn,
            Diagnosis::new(
                "no-issues-visible",
                format!("the API user sees no issue matching `{jql}`"),
                "give the API user Browse projects on the projects you extract (a project role or group in each permission scheme), and check `objects.issues.jql`",
            ),
        ));
    }
    probed.findings.push((
        Concern::Note,
        Diagnosis::new(
            "issues-hidden",
            "issues under a security level the API user is not in are invisible to it and not counted by Jira either, so no API can show the gap; the count above is what jirapipe will extract",
            "if issues are missing from the table, add the API user to those security levels (Project settings → Issue security) or to a role they grant",
        ),
    ));
    Ok(probed)
}

/// System fields kept as JSON whose insides name and quote people (authors, bodies, uploaders,
/// watchers): `discover` flags them, since no typed path inside them can be suggested.
const PERSONAL_JSON: [&str; 2] = ["comment", "worklog"];

/// The first issue `config`'s JQL matches, for the probes of the objects that follow issues.
pub(crate) async fn first_matching(client: &JiraClient, config: &ObjectConfig) -> Result<Option<u64>, JiraError> {
    let jql = window_jql(config.jql.as_deref(), 0);
    let page = client.search::<Vec<Listed>>(&jql, &["id".to_string()], &Cursor::Start, 0, 1).await?;
    Ok(page.issues.first().and_then(|i| i.id.parse().ok()))
}

/// The issue table's columns: `id`, `key`, the selected fields in `/field` order, metadata.
pub(crate) fn columns(defs: &[FieldDef], selection: &FieldSelection) -> Result<Vec<Column>, ObjectError> {
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
        // `/field` also lists pseudo-fields without a schema (`issuekey`, `thumbnail`,
        // `statusCategory` on Cloud; `archiveddate`/`archivedby` on Data Center) that no issue
        // ever carries: always-null columns unless asked for by name.
        let named = matches!(selection, FieldSelection::Include(names) if names.contains(&d.id));
        if d.schema.is_none() && !named {
            continue;
        }
        if d.id != "id" && d.id != "key" && selection.keeps(&d.id) {
            cols.push(Column { name: d.id.clone(), ty: ColumnType::of(d.schema.as_ref()) });
        }
    }
    cols.extend(RunStamp::columns());
    cols.push(Column { name: PROJECT_ID.into(), ty: ColumnType::Text });
    Ok(cols)
}

/// Users often write a field's display name ("Story Points") where its id belongs.
fn unknown_field(defs: &[FieldDef], name: &str) -> ObjectError {
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
    ObjectError::UnknownField { object: "issues", field: name.to_string(), suggestion }
}

/// One listed issue: its id, and on Data Center its `created` (the next window's start).
#[derive(Deserialize)]
struct Listed {
    id: String,
    #[serde(default)]
    fields: Option<ListedFields>,
}

#[derive(Deserialize)]
struct ListedFields {
    #[serde(default)]
    created: Option<String>,
}

/// The listing over `updated >= since_ms`.
pub(crate) async fn list(client: &JiraClient, object: &ObjectConfig, since_ms: i64) -> Result<Listing, ObjectError> {
    let filter = window_jql(object.jql.as_deref(), since_ms);
    let mut listing = match client.deployment() {
        Deployment::Cloud => list_cloud(client, &filter).await?,
        Deployment::DataCenter => list_data_center(client, &filter).await?,
    };
    listing.ids.sort_unstable();
    listing.ids.dedup();
    listing.ids.shrink_to_fit();
    let Found { ids, jira_now, total } = listing;
    Ok(Listing { filter, ids, jira_now: jira_now.unwrap_or_else(local_clock), total, gone: Vec::new(), feed: false })
}

#[derive(Default)]
struct Found {
    ids: Vec<u64>,
    jira_now: Option<DateTime<Utc>>,
    total: Option<u64>,
}

/// Cloud: ids-only pages (5,000 each) of one query, by `nextPageToken`. A listing of several
/// pages is read twice and the two are merged: Atlassian does not say whether the token is a
/// position or an offset, and with offsets an issue deleted during the listing slides an unread
/// one into a page already read. The second pass (one request per 5,000 issues) brings that
/// issue back; a single page is one consistent answer and is read once.
async fn list_cloud(client: &JiraClient, filter: &str) -> Result<Found, ObjectError> {
    let mut out = Found::default();
    let pages = list_cloud_pass(client, filter, &mut out).await?;
    if pages > 1 {
        // Merged pass by pass: a million ids are 8 MB, both passes unmerged twice that.
        out.ids.sort_unstable();
        out.ids.dedup();
        let mut again = Found::default();
        list_cloud_pass(client, filter, &mut again).await?;
        let first = std::mem::take(&mut out.ids);
        out.ids = again.ids.into_iter().filter(|id| first.binary_search(id).is_err()).collect();
        out.ids.extend(first);
    }
    Ok(out)
}

/// One pass of the Cloud listing into `out`; returns the number of pages.
async fn list_cloud_pass(client: &JiraClient, filter: &str, out: &mut Found) -> Result<usize, ObjectError> {
    let jql = listing_jql(filter, None);
    let only_id = vec!["id".to_string()];
    let mut cursor = Cursor::Start;
    let mut seen_tokens = HashSet::new();
    let mut firsts = HashSet::new();
    let mut pages = 0;
    loop {
        let page = client.search::<Vec<Listed>>(&jql, &only_id, &cursor, 0, IDS_PAGE_SIZE_CLOUD).await?;
        pages += 1;
        out.jira_now = out.jira_now.or(Some(page.date.unwrap_or_else(local_clock)));
        for issue in &page.issues {
            out.ids.push(listed_id(issue)?);
        }
        // A token seen before, or a page served before under a new token, would page forever.
        if let Some(t) = &page.next
            && !seen_tokens.insert(t.clone())
        {
            return Err(listing_error(
                "rest/api/3/search/jql",
                "Jira sent the same nextPageToken twice, so the listing would never end. Retry later; if it persists, report it to Atlassian".into(),
            ));
        }
        if let Some(first) = page.issues.first()
            && !firsts.insert(listed_id(first)?)
        {
            return Err(listing_error(
                "rest/api/3/search/jql",
                format!(
                    "Jira served a page it had already served (issue {} starts it again) under a new nextPageToken, so the listing would never end. Retry later; if it persists, report it to Atlassian with the JQL",
                    first.id
                ),
            ));
        }
        match page.next {
            Some(t) => cursor = Cursor::Token(t),
            None => return Ok(pages),
        }
    }
}

/// Data Center: pages of 1,000 in creation order, each a fresh query from the last page's
/// `created` minute (`created >= t`), so no query reads past the 10,000-result limit and an
/// issue deleted during the listing cannot shift one it has not read yet into a page already
/// read (it could with deep `startAt` paging). Each window must start with the issue that
/// ended the one before (or that issue must be gone): if Jira's `created` comparison ever
/// skipped issues, the listing fails instead of coming back short.
async fn list_data_center(client: &JiraClient, filter: &str) -> Result<Found, ObjectError> {
    const ENDPOINT: &str = "rest/api/2/search";
    let created = vec!["created".to_string()];
    let mut out = Found::default();
    let mut window: Option<i64> = None;
    let mut start = 0u64;
    // The last issue before a new window (id, `created` ms), which the window must contain.
    let mut anchor: Option<(u64, i64)> = None;
    // No two pages of one window start with the same issue: a site that ignores `startAt`
    // serves one again. A new window may rightly start with an issue read before — the last
    // minute of a full page, or a whole first page created within one minute (a CSV import).
    let mut firsts = HashSet::new();
    loop {
        let jql = listing_jql(filter, window);
        let page = client.search::<Vec<Listed>>(&jql, &created, &Cursor::Start, start, PAGE_SIZE_DC).await?;
        if let Some(first) = page.issues.first()
            && !firsts.insert((window, listed_id(first)?))
        {
            return Err(listing_error(
                ENDPOINT,
                format!(
                    "Jira served the page starting with issue {} again for `startAt={start}`: the site (or a proxy in front of it) ignores `startAt`, so the listing would never end. Check that requests reach Jira unaltered",
                    first.id
                ),
            ));
        }
        out.jira_now = out.jira_now.or(Some(page.date.unwrap_or_else(local_clock)));
        if window.is_none() && start == 0 {
            out.total = page.total;
        }
        let before = out.ids.len();
        for issue in &page.issues {
            out.ids.push(listed_id(issue)?);
        }
        let size = page.max_results.filter(|m| *m > 0).unwrap_or(PAGE_SIZE_DC as u64);
        let full = page.issues.len() as u64 >= size;
        // `parse_jira_datetime` gives microseconds; JQL takes milliseconds.
        let last = page
            .issues
            .last()
            .and_then(|i| i.fields.as_ref()?.created.as_deref())
            .and_then(parse_jira_datetime)
            .map(|us| us.div_euclid(1000));
        // The anchor belongs on this page unless the page is full of issues of its own minute
        // (a crowded minute, paged deeper below; within a minute Jira may order by key only).
        let minute = |ms: i64| ms.div_euclid(MINUTE_MS);
        if let Some((a, a_created)) = anchor.take()
            && (!full || last.is_some_and(|l| minute(l) > minute(a_created)))
            && !out.ids[before..].contains(&a)
            && client.issue_exists(a).await?
        {
            return Err(listing_error(
                ENDPOINT,
                format!(
                    "issue {a} is missing from the listing window that starts at its own `created` minute ({jql}); this site does not compare `created` as expected, so the listing could skip issues. Report this to the jirapipe maintainers with your Jira version"
                ),
            ));
        }
        if !full {
            return Ok(out);
        }
        let last = last.ok_or_else(|| {
            listing_error(
                ENDPOINT,
                "a listed issue has no readable `created`, which paging past 10,000 results needs".into(),
            )
        })?;
        let from = last.div_euclid(MINUTE_MS) * MINUTE_MS;
        if window == Some(from) {
            // A whole page created within one minute: page deeper in the same window.
            start += page.issues.len() as u64;
        } else {
            window = Some(from);
            start = 0;
            anchor = out.ids.last().map(|id| (*id, last));
        }
        if start + size > DC_RESULT_WINDOW {
            let at = DateTime::from_timestamp_millis(from).map(|d| d.to_rfc3339()).unwrap_or_default();
            return Err(listing_error(
                ENDPOINT,
                format!(
                    "more than {start} issues matching the JQL were created within one minute ({at}, as a CSV import or a bulk create leaves them); they cannot be listed below Data Center's {DC_RESULT_WINDOW}-result limit. Split the extraction by project: one pipeline per project with `objects.issues.jql: project = KEY`, so that each holds fewer issues of that minute than the limit"
                ),
            ));
        }
    }
}

fn listing_error(endpoint: &'static str, message: String) -> ObjectError {
    ObjectError::Listing { endpoint, message }
}

/// A listed issue's id, which every issue Jira sends has (as a numeric string).
fn listed_id(issue: &Listed) -> Result<u64, ObjectError> {
    issue.id.parse().map_err(|_| {
        let id: String = issue.id.chars().take(40).collect();
        listing_error("search", format!("an issue id is not a number: `{id}`"))
    })
}

/// Without Jira's `Date` header, the local clock less a margin for clock skew.
fn local_clock() -> DateTime<Utc> {
    Utc::now() - chrono::Duration::minutes(5)
}

fn issue_id(issue: &Value) -> Option<u64> {
    issue["id"].as_str().and_then(|s| s.parse().ok())
}

/// Ids per fetch request: Cloud's bulk fetch takes 100; Data Center's `id in (…)` search
/// returns up to 1000 a page.
fn batch_size(client: &JiraClient) -> usize {
    match client.deployment() {
        Deployment::Cloud => BULK_FETCH_MAX,
        Deployment::DataCenter => PAGE_SIZE_DC as usize,
    }
}

/// How the listed ids ended up; every one lands in exactly one of these or in the rows.
#[derive(Default)]
struct Accounting {
    /// Jira says they no longer exist for the API user (deleted or hidden since listed).
    gone: Vec<u64>,
    /// Jira still shows them but would not return them: rows silently lost.
    lost: Vec<u64>,
}

/// Fetches every issue found by `discovery` with the selected fields: `concurrency` workers
/// take batches of ids as they free up (so one slow batch does not hold the run up), each
/// feeding one row buffer so the table gets full-size batches.
async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, concurrency, tx, listing, refresh, .. } = job;
    let Some(discovery) = listing else {
        return Err(ObjectError::Listing { endpoint: "issues", message: "extracted without a listing".into() });
    };
    let tx = &tx;
    if discovery.ids.is_empty() && refresh.is_empty() {
        return Ok(Outcome { expected: Some(0), ..Outcome::default() });
    }
    // Push the selection down: ask Jira only for the fields that become columns.
    let mut wanted: Vec<String> =
        shape.columns.iter().filter(|c| !c.name.starts_with('_') && c.name != "id").map(|c| c.name.clone()).collect();
    for always in ["updated", "project"] {
        if !wanted.iter().any(|f| f == always) {
            wanted.push(always.into());
        }
    }
    // Listed issues must all be accounted for; issues read again after they left the listing
    // (`refresh`) are kept at their last values when Jira will not return them.
    let size = batch_size(client);
    let batches =
        Queue::new(discovery.ids.chunks(size).map(|c| (c, true)).chain(refresh.chunks(size).map(|c| (c, false))));
    let accounting = Mutex::new(Accounting::default());
    tracing::debug!(issues = discovery.ids.len(), workers = concurrency, "fetching issues");
    let batch = SharedBatch::new(shape);
    let workers = (0..concurrency.max(1)).map(|_| async {
        let mut rows = Rows::sharing(shape, tx, &batch);
        let decoder = IssueRows::new(shape, stamp);
        while let Some((ids, strict)) = batches.next() {
            let batch = fetch_batch(client, &mut rows, shape, decoder.as_ref(), ids, &wanted, stamp, strict).await?;
            let mut a = accounting.lock().expect("never poisoned");
            a.gone.extend(batch.gone);
            a.lost.extend(batch.lost);
        }
        rows.flush().await?;
        Ok::<_, ObjectError>(rows.into_outcome(Outcome::default()))
    });
    let outcomes = futures::future::try_join_all(workers).await?;
    let Accounting { mut gone, mut lost } = accounting.into_inner().expect("never poisoned");
    if !lost.is_empty() {
        lost.sort_unstable();
        return Err(ObjectError::Incomplete {
            object: "issues",
            endpoint: client.fetch_endpoint(),
            listed: discovery.ids.len(),
            lost: lost.len(),
            sample: sample(&lost),
        });
    }
    let total = Outcome::sum(outcomes);
    let mut warnings = Vec::new();
    if !gone.is_empty() {
        gone.sort_unstable();
        warnings.push(Warning {
            message: format!(
                "{} issue(s) listed at the start of the run were deleted or hidden from the API user before they were fetched (ids {})",
                gone.len(),
                sample(&gone)
            ),
            fix: "nothing to do if they were deleted; otherwise check the API user's permissions (`jirapipe check`)".into(),
        });
    }
    let rows = total.rows + total.rejected;
    let expected = match discovery.total {
        Some(t) => Some(t),
        None => client.approximate_count(&discovery.filter).await?,
    };
    if let Some(e) = expected
        && (rows as u64) < e.saturating_sub(gone.len() as u64)
    {
        warnings.push(Warning {
            message: format!("received {rows} issues but Jira counts {e} matching the same JQL"),
            fix: "issues under security levels or in projects the API user cannot browse are not returned; if the gap persists on the next run, check the API user's permissions (`jirapipe check`)".into(),
        });
    }
    Ok(Outcome { expected, warnings, ..total })
}

/// Up to five ids, for messages.
fn sample(ids: &[u64]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(u64::to_string).collect();
    if ids.len() > 5 { format!("{}, …", shown.join(", ")) } else { shown.join(", ") }
}

/// Fetches one batch of ids. Ids missing from the answer are asked for once more (a page can
/// shift under `startAt`, `issueErrors` are retriable by the spec); with `strict`, each one
/// left is then looked up on its own: 404 means gone since listed, anything else is a row
/// Jira lost.
#[allow(clippy::too_many_arguments)]
async fn fetch_batch(
    client: &JiraClient,
    rows: &mut Rows<'_>,
    shape: &Shape,
    decoder: Option<&IssueRows<'_>>,
    ids: &[u64],
    wanted: &[String],
    stamp: &RunStamp,
    strict: bool,
) -> Result<Accounting, ObjectError> {
    let mut missing: Vec<u64> = ids.to_vec();
    for _ in 0..2 {
        let mut received = HashSet::with_capacity(missing.len());
        let mut start = 0u64;
        loop {
            let page = client.fetch_by_ids::<IssueTexts>(&missing, wanted, start).await?;
            if let Some(e) = page.errors.first() {
                tracing::warn!(
                    issues = page.errors.len(),
                    first_id = e.id.as_deref().unwrap_or("?"),
                    message = e.error_message.as_deref().unwrap_or(""),
                    "Jira could not return some issues of a bulk fetch (issueErrors); asking again"
                );
            }
            let n = page.issues.len() as u64;
            push_issues(rows, shape, decoder, &page.issues, stamp, &mut received, client.fetch_endpoint()).await?;
            // Data Center may page an `id in` search below the size asked for.
            start += n;
            if n == 0 || page.total.is_none_or(|t| start >= t) {
                break;
            }
        }
        missing.retain(|id| !received.contains(id));
        if missing.is_empty() || !strict {
            break;
        }
    }
    if !strict {
        return Ok(Accounting::default());
    }
    let mut gone = Vec::new();
    let mut lost = Vec::new();
    for id in missing {
        if client.issue_exists(id).await? { lost.push(id) } else { gone.push(id) }
    }
    Ok(Accounting { gone, lost })
}

/// Appends a page's issues and adds their ids to `received`. Each issue is decoded from its
/// text in one pass; one that does not fit (or when `decoder` is `None`) is parsed into a
/// `Value` instead and goes the slow way, which says why and rejects it.
async fn push_issues(
    rows: &mut Rows<'_>,
    shape: &Shape,
    decoder: Option<&IssueRows<'_>>,
    issues: &IssueTexts,
    stamp: &RunStamp,
    received: &mut HashSet<u64>,
    endpoint: &str,
) -> Result<(), ObjectError> {
    for text in issues.iter() {
        let fast = decoder.and_then(|d| {
            let row = d.decode(text).ok()?;
            let id = d.id(&row);
            rows.push_row(row).then_some(id)
        });
        let id = match fast {
            Some(id) => id,
            None => {
                let issue: Value = serde_json::from_str(text).map_err(|e| body_error(endpoint, &e))?;
                let id = issue_id(&issue);
                push_value(rows, shape, issue, stamp).await?;
                id
            }
        };
        // An issue without a readable id cannot be accounted for; its batch's ids then stay
        // missing and are looked up one by one.
        received.extend(id);
        rows.flush_if_full().await?;
    }
    Ok(())
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
async fn push_value(rows: &mut Rows<'_>, shape: &Shape, mut issue: Value, stamp: &RunStamp) -> Result<(), ObjectError> {
    mask_issue(shape, &mut issue);
    let id = issue["id"].as_str().unwrap_or_default().to_string();
    rows.push(&id, &issue, issue_column(&issue, stamp)).await
}

/// Looks a column's value up in an issue: `id` and `key` on the issue, the run's metadata from
/// `stamp`, everything else in its `fields`.
pub(crate) fn issue_column<'v>(issue: &'v Value, stamp: &'v RunStamp) -> impl Fn(&str) -> Option<&'v Value> {
    let fields = &issue["fields"];
    let id = issue_id(issue);
    move |col| match col {
        "id" | "key" => issue.get(col),
        PROJECT_ID => fields.get("project").and_then(|p| p.get("id")),
        _ => stamp.column(col).or_else(|| id.and_then(|id| stamp.marks.column(id, col))).or_else(|| fields.get(col)),
    }
}

/// What the history rebuilds need of an issue besides its changelog.
#[derive(Debug)]
pub(crate) struct Basics {
    pub id: String,
    /// As sent: text on every endpoint seen, read by `parse_jira_instant` in any form.
    pub created: Option<Value>,
    pub status_id: Option<String>,
    pub status_name: Option<String>,
}

/// `created` and `status` of `ids` (at most [`BULK_FETCH_MAX`]); issues gone since they were
/// listed are left out.
pub(crate) async fn basics(client: &JiraClient, ids: &[u64]) -> Result<Vec<Basics>, ObjectError> {
    #[derive(Deserialize)]
    struct Issue {
        id: String,
        #[serde(default)]
        fields: Fields,
    }
    #[derive(Deserialize, Default)]
    struct Fields {
        #[serde(default)]
        created: Option<Value>,
        #[serde(default)]
        status: Option<Status>,
    }
    #[derive(Deserialize)]
    struct Status {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        name: Option<String>,
    }
    let fields = ["created".to_string(), "status".to_string()];
    let mut out = Vec::new();
    let mut start = 0u64;
    loop {
        let page = client.fetch_by_ids::<Vec<Issue>>(ids, &fields, start).await?;
        let n = page.issues.len() as u64;
        out.extend(page.issues.into_iter().map(|i| {
            let (status_id, status_name) = match i.fields.status {
                Some(s) => (s.id, s.name),
                None => (None, None),
            };
            Basics { id: i.id, created: i.fields.created, status_id, status_name }
        }));
        start += n;
        if n == 0 || page.total.is_none_or(|t| start >= t) {
            break;
        }
    }
    Ok(out)
}
