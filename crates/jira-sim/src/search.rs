//! Issue search: Cloud's enhanced `/rest/api/3/search/jql` (opaque `nextPageToken`), Data
//! Center's `/rest/api/2/search` (`startAt`, `total`), Cloud's `approximate-count`, and the
//! removed Cloud `/rest/api/3/search` (410).
//!
//! Page sizes are Jira's, not the caller's: Cloud returns up to 5000 when only `id`/`key` are
//! requested and at most 100 otherwise; Data Center caps at 1000 and fails past 10,000 results
//! with `startAt` (Atlassian KB "Handling JQL REST API searching exceeding max_result_window in
//! Jira": HTTP 500, "Search limit exceeded. We couldn't complete your search because it requests
//! 10,100 results which exceeded the search platform limit of 10,000. …").
//!
//! Issue literals in the JQL are resolved first (`jql::Query::resolve_issues`): on Data Center
//! one that names no issue is a 400 with Jira's message unless `validateQuery=false`; on Cloud
//! it matches nothing (see `shared/notes/jql-semantics.md`).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::Viewer;
use crate::data::Dataset;
use crate::jql::{self, SortKey};
use crate::rng::mix;
use crate::server::{AppState, error, errors};
use crate::site::{self, Snapshot, State as SiteState};

const CLOUD_MAX_IDS_PAGE: usize = 5000;
const CLOUD_MAX_FIELDS_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 50;
const DC_MAX_PAGE: usize = 1000;
const DC_MAX_WINDOW: usize = 10_000;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetParams {
    jql: Option<String>,
    next_page_token: Option<String>,
    start_at: Option<i64>,
    max_results: Option<i64>,
    fields: Option<String>,
    expand: Option<String>,
    validate_query: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostBody {
    jql: Option<String>,
    next_page_token: Option<String>,
    start_at: Option<i64>,
    max_results: Option<i64>,
    fields: Option<Vec<String>>,
    /// A comma list (Cloud enhanced search) or an array of names (Data Center).
    expand: Option<Value>,
    /// `false` (Data Center's boolean) or `"none"`/`"warn"` (newer string form) turn literal
    /// validation off.
    validate_query: Option<Value>,
}

/// Whether a `validateQuery` value leaves validation on (the default).
fn validates(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !matches!(s.to_ascii_lowercase().as_str(), "false" | "none" | "warn"),
        _ => true,
    }
}

fn split_fields(fields: Option<&str>) -> Option<Vec<String>> {
    fields.map(|f| f.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

/// The issue expansions the simulator renders (`expand=changelog,transitions`); Jira's others
/// (`names`, `schema`, `renderedFields`, …) are accepted and ignored.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Expand {
    changelog: bool,
    transitions: bool,
}

impl Expand {
    fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut e = Expand::default();
        for n in names {
            match n.trim() {
                "changelog" => e.changelog = true,
                "transitions" => e.transitions = true,
                _ => {}
            }
        }
        e
    }

    pub(crate) fn from_value(v: Option<&Value>) -> Self {
        match v {
            Some(Value::String(s)) => Self::parse(s.split(',')),
            Some(Value::Array(a)) => Self::parse(a.iter().filter_map(Value::as_str).flat_map(|s| s.split(','))),
            _ => Self::default(),
        }
    }
}

/// One search request, whichever form it came in.
struct SearchRequest {
    jql: String,
    token: Option<String>,
    start_at: Option<i64>,
    max: Option<i64>,
    fields: Option<Vec<String>>,
    expand: Expand,
    emails: bool,
    validate: bool,
}

impl SearchRequest {
    fn from_get(p: GetParams, viewer: Viewer) -> Self {
        let fields = split_fields(p.fields.as_deref());
        Self {
            jql: p.jql.unwrap_or_default(),
            token: p.next_page_token,
            start_at: p.start_at,
            max: p.max_results,
            fields,
            expand: Expand::parse(p.expand.as_deref().unwrap_or_default().split(',')),
            emails: viewer.emails,
            validate: validates(p.validate_query.map(Value::String).as_ref()),
        }
    }

    fn from_post(b: PostBody, viewer: Viewer) -> Self {
        Self {
            jql: b.jql.unwrap_or_default(),
            token: b.next_page_token,
            start_at: b.start_at,
            max: b.max_results,
            fields: b.fields,
            expand: Expand::from_value(b.expand.as_ref()),
            emails: viewer.emails,
            validate: validates(b.validate_query.as_ref()),
        }
    }
}

pub(crate) async fn cloud_get(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<GetParams>,
) -> Response {
    cloud(&app, SearchRequest::from_get(p, v), "3").await
}

pub(crate) async fn cloud_post(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    body: Option<Json<PostBody>>,
) -> Response {
    let Some(Json(b)) = body else { return bad_payload() };
    cloud(&app, SearchRequest::from_post(b, v), "3").await
}

/// Cloud's enhanced search on REST v2 (`/rest/api/2/search/jql`): the same paging and issues,
/// with rich text as wiki markup instead of ADF.
pub(crate) async fn cloud_v2_get(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<GetParams>,
) -> Response {
    cloud(&app, SearchRequest::from_get(p, v), "2").await
}

pub(crate) async fn cloud_v2_post(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    body: Option<Json<PostBody>>,
) -> Response {
    let Some(Json(b)) = body else { return bad_payload() };
    cloud(&app, SearchRequest::from_post(b, v), "2").await
}

pub(crate) async fn dc_get(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<GetParams>,
) -> Response {
    data_center(&app, SearchRequest::from_get(p, v)).await
}

pub(crate) async fn dc_post(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    body: Option<Json<PostBody>>,
) -> Response {
    let Some(Json(b)) = body else { return bad_payload() };
    data_center(&app, SearchRequest::from_post(b, v)).await
}

fn bad_payload() -> Response {
    error(StatusCode::BAD_REQUEST, "Invalid request payload. Refer to the REST API documentation and try again.")
}

/// Cloud's old `/rest/api/3/search` (`startAt`, `total`, at most 100 a page): `410 Gone` as on
/// Cloud today, unless `Behaviour::legacy_search` switches it back on for tools (benchmark
/// peers) that still page through it.
pub(crate) async fn legacy_get(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<GetParams>,
) -> Response {
    if !app.site.lock().behaviour.legacy_search {
        return removed().await;
    }
    startat_search(&app, SearchRequest::from_get(p, v), "3", CLOUD_MAX_FIELDS_PAGE).await
}

pub(crate) async fn legacy_post(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    body: Option<Json<PostBody>>,
) -> Response {
    if !app.site.lock().behaviour.legacy_search {
        return removed().await;
    }
    let Some(Json(b)) = body else { return bad_payload() };
    startat_search(&app, SearchRequest::from_post(b, v), "3", CLOUD_MAX_FIELDS_PAGE).await
}

/// The old Cloud search endpoint, as Jira Cloud answers it since its removal.
pub(crate) async fn removed() -> Response {
    error(
        StatusCode::GONE,
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct CountBody {
    jql: Option<String>,
}

/// `POST /rest/api/3/search/approximate-count`.
pub(crate) async fn approximate_count(State(app): State<Arc<AppState>>, body: Option<Json<CountBody>>) -> Response {
    let Some(Json(b)) = body else { return bad_payload() };
    let data = &app.site.data;
    let st = app.site.lock();
    let Parsed { query, candidates } = match parse(&st, data, b.jql.as_deref().unwrap_or_default(), true, false) {
        Ok(q) => q,
        Err(m) => return errors(StatusCode::BAD_REQUEST, &m),
    };
    let count =
        Matcher { st: &st, data, query: &query, candidates: candidates.as_deref(), now: Instant::now() }.count();
    Json(json!({"count": count})).into_response()
}

/// Which fields each returned issue carries.
pub(crate) struct Selection {
    fields: Vec<String>,
    with_key: bool,
}

pub(crate) fn select(requested: Option<&[String]>, all: &[String], default_all: bool) -> Selection {
    let mut chosen: Vec<String> = Vec::new();
    let mut excluded: Vec<&str> = Vec::new();
    let mut with_key = false;
    let requested = match requested {
        Some(r) => r,
        None if default_all => &["*navigable".to_string()][..],
        None => &["id".to_string()][..],
    };
    for f in requested {
        match f.as_str() {
            "*all" | "*navigable" => chosen.extend(all.iter().cloned()),
            "id" => {}
            "key" => with_key = true,
            f if f.starts_with('-') => excluded.push(&f[1..]),
            // Jira silently ignores fields it does not know.
            f if all.iter().any(|a| a == f) => chosen.push(f.to_string()),
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    chosen.retain(|f| !excluded.contains(&f.as_str()) && seen.insert(f.clone()));
    Selection { fields: chosen, with_key }
}

fn encode_token(pos: u64, jql_hash: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{pos}:{jql_hash:x}"))
}

fn decode_token(token: &str, jql_hash: u64) -> Option<u64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (pos, hash) = text.split_once(':')?;
    (u64::from_str_radix(hash, 16).ok()? == jql_hash).then_some(())?;
    pos.parse().ok()
}

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| mix(h ^ b as u64))
}

/// Parses JQL in the API user's time zone and resolves its issue literals; `Err` holds Jira's
/// 400 messages. Unknown issue literals are an error only when `strict` (Data Center with
/// validation on); otherwise they match nothing.
fn parse(st: &SiteState, data: &Dataset, jql: &str, bounded: bool, strict: bool) -> Result<Parsed, Vec<String>> {
    let mut query = jql::parse(jql, &data.config.time_zone).map_err(|e| vec![e.0])?;
    let ids = query.id_list();
    if bounded && query.filter.is_none() {
        return Err(vec![
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".into(),
        ]);
    }
    let now = Instant::now();
    let unknown = query.resolve_issues(&|r| st.resolve(data, r, now));
    if strict && !unknown.is_empty() {
        return Err(unknown);
    }
    let candidates = ids.map(|ids| {
        let mut v: Vec<u64> = ids.into_iter().filter_map(|id| id.checked_sub(Dataset::issue_id(0))).collect();
        v.sort_unstable();
        v.dedup();
        v
    });
    Ok(Parsed { query, candidates })
}

/// A parsed query and, for an explicit id list, the only issue indices that can match.
struct Parsed {
    query: jql::Query,
    candidates: Option<Vec<u64>>,
}

/// `n` with thousands separators, as Jira's messages print counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Walks the site's visible issues in a query's order.
struct Matcher<'a> {
    st: &'a SiteState,
    data: &'a Dataset,
    query: &'a jql::Query,
    /// The only indices that can match (an `id in (…)` query), if known.
    candidates: Option<&'a [u64]>,
    now: Instant,
}

/// A position in `updated, id` order: base indices first, then the tail of changed issues.
impl Matcher<'_> {
    fn natural(&self) -> bool {
        matches!(
            self.query.order.as_slice(),
            [] | [(SortKey::Updated, true)] | [(SortKey::Updated, true), (SortKey::Id, true)]
        )
    }

    fn matches(&self, s: &Snapshot) -> bool {
        let key = self.data.issue_key(s.index);
        let pkey = self.data.project_key(self.data.project_of(s.index));
        let mut view = site::view(self.data, s, &key, &pkey);
        view.created_ms = self.created(s);
        self.query.matches(&view)
    }

    /// `created` as the index compares it (to the minute with `created_indexed_to_minute`).
    fn created(&self, s: &Snapshot) -> i64 {
        if self.st.behaviour.created_indexed_to_minute {
            s.created_ms.div_euclid(60_000) * 60_000
        } else {
            s.created_ms
        }
    }

    /// The snapshot at natural position `pos` if it is a match.
    fn at(&self, pos: u64, tail: &[Snapshot]) -> Option<Snapshot> {
        let n = self.data.config.issues;
        let s = if pos < n {
            self.st.snapshot(self.data, pos, self.now).filter(|s| s.version == 0)?
        } else {
            *tail.get((pos - n) as usize)?
        };
        self.matches(&s).then_some(s)
    }

    /// Up to `limit` matches from natural position `start`, and the position to resume at.
    fn page_natural(&self, start: u64, limit: usize) -> (Vec<Snapshot>, Option<u64>) {
        let tail = self.st.tail(self.data, self.now);
        let end = self.data.config.issues + tail.len() as u64;
        let floor = self.query.min_updated().map(|t| first_index_updated_at_or_after(self.data, t)).unwrap_or(0);
        let mut pos = start.max(floor);
        let mut page = Vec::with_capacity(limit.min(1024));
        while pos < end && page.len() < limit {
            page.extend(self.at(pos, &tail));
            pos += 1;
        }
        while pos < end && self.at(pos, &tail).is_none() {
            pos += 1;
        }
        (page, (pos < end).then_some(pos))
    }

    /// Ordered by `created` ascending (ties by key or id): base issues were created in index
    /// order and created issues come after them, so positions are issue indices and an edit
    /// does not move an issue, as on Jira.
    fn by_created(&self) -> bool {
        !self.st.behaviour.created_indexed_to_minute
            && matches!(
                self.query.order.as_slice(),
                [(SortKey::Created, true)] | [(SortKey::Created, true), (SortKey::Key | SortKey::Id, true)]
            )
    }

    /// Up to `limit` matches in `created` order from index `start`, and the index to resume at.
    fn page_by_created(&self, start: u64, limit: usize) -> (Vec<Snapshot>, Option<u64>) {
        let end = self.st.index_count(self.data);
        let floor = self.query.min_created().map(|t| first_index_created_at_or_after(self.data, t)).unwrap_or(0);
        let mut pos = start.max(floor);
        let visible = |i: u64| self.st.snapshot(self.data, i, self.now).filter(|s| self.matches(s));
        let mut page = Vec::with_capacity(limit.min(1024));
        while pos < end && page.len() < limit {
            page.extend(visible(pos));
            pos += 1;
        }
        while pos < end && visible(pos).is_none() {
            pos += 1;
        }
        (page, (pos < end).then_some(pos))
    }

    /// The indices that can match, in index order.
    fn indices(&self) -> Box<dyn Iterator<Item = u64> + '_> {
        let count = self.st.index_count(self.data);
        match self.candidates {
            Some(c) => Box::new(c.iter().copied().filter(move |i| *i < count)),
            None => Box::new(0..count),
        }
    }

    /// Every match in `order` (for orders other than `updated`).
    fn all_sorted(&self, order: &[(SortKey, bool)]) -> Vec<Snapshot> {
        let mut all: Vec<Snapshot> = self
            .indices()
            .filter_map(|i| self.st.snapshot(self.data, i, self.now))
            .filter(|s| self.matches(s))
            .collect();
        let data = self.data;
        all.sort_by(|a, b| {
            for (key, asc) in order {
                let ord = match key {
                    SortKey::Updated => a.updated_ms.cmp(&b.updated_ms),
                    SortKey::Created => self.created(a).cmp(&self.created(b)),
                    // `ORDER BY id` is `ORDER BY key` in Jira (`KeySystemField.getSortFields`:
                    // project key, then key number), not numeric id order.
                    SortKey::Key | SortKey::Id => jql::key_cmp(&data.issue_key(a.index), &data.issue_key(b.index)),
                };
                let ord = if *asc { ord } else { ord.reverse() };
                if ord.is_ne() {
                    return ord;
                }
            }
            a.index.cmp(&b.index)
        });
        all
    }

    fn count(&self) -> u64 {
        self.indices().filter_map(|i| self.st.snapshot(self.data, i, self.now)).filter(|s| self.matches(s)).count()
            as u64
    }
}

async fn cloud(app: &AppState, r: SearchRequest, api: &str) -> Response {
    search_pause(app).await;
    let data = &app.site.data;
    let st = app.site.lock();
    let SearchRequest { jql, token, max, fields, expand, emails, .. } = r;
    let Parsed { query, candidates } = match parse(&st, data, &jql, true, false) {
        Ok(q) => q,
        Err(m) => return errors(StatusCode::BAD_REQUEST, &m),
    };
    let jql_hash = hash_str(&jql);
    let start = match token.as_deref() {
        None | Some("") => 0,
        Some(t) => match decode_token(t, jql_hash) {
            Some(p) => p,
            None => return error(StatusCode::BAD_REQUEST, "The provided next page token is invalid or expired."),
        },
    };
    let sel = select(fields.as_deref(), &st.field_ids(data), false);
    let cap = if sel.fields.is_empty() { CLOUD_MAX_IDS_PAGE } else { CLOUD_MAX_FIELDS_PAGE };
    let limit = match max {
        Some(n) if n < 0 => return error(StatusCode::BAD_REQUEST, "The value of 'maxResults' must be at least 0."),
        Some(0) | None => DEFAULT_PAGE,
        Some(n) => n as usize,
    }
    .min(cap);
    let m = Matcher { st: &st, data, query: &query, candidates: candidates.as_deref(), now: Instant::now() };
    // Positions in the walk (stable under deletes and edits, like a search-after cursor), or
    // with `cloud_tokens_are_offsets` offsets into the current result list, which shift when an
    // issue before them is deleted: Atlassian does not say which `nextPageToken` is.
    let offsets = st.behaviour.cloud_tokens_are_offsets;
    let (page, next) = if !offsets && m.candidates.is_none() && m.natural() {
        m.page_natural(start, limit)
    } else if !offsets && m.by_created() {
        m.page_by_created(start, limit)
    } else {
        let all = m.all_sorted(&query.order);
        let from = (start as usize).min(all.len());
        let to = (from + limit).min(all.len());
        (all[from..to].to_vec(), (to < all.len()).then_some(to as u64))
    };
    let how = Render { api, emails, compact: true, expand };
    let issues: Vec<Value> = page.iter().map(|s| render(&st, data, s, &sel, &how)).collect();
    let mut body = json!({"issues": issues, "isLast": next.is_none()});
    if let Some(pos) = next {
        body["nextPageToken"] = json!(encode_token(pos, jql_hash));
    }
    Json(body).into_response()
}

async fn data_center(app: &AppState, r: SearchRequest) -> Response {
    startat_search(app, r, "2", DC_MAX_PAGE).await
}

/// `startAt`/`total` paging (Data Center, and Cloud's old search when switched back on).
async fn startat_search(app: &AppState, r: SearchRequest, api: &str, max_page: usize) -> Response {
    search_pause(app).await;
    let data = &app.site.data;
    let st = app.site.lock();
    let SearchRequest { jql, start_at, max, fields, expand, emails, validate, .. } = r;
    let Parsed { query, candidates } = match parse(&st, data, &jql, false, api == "2" && validate) {
        Ok(q) => q,
        Err(m) => return errors(StatusCode::BAD_REQUEST, &m),
    };
    let start = start_at.unwrap_or(0).max(0) as usize;
    let limit = match max {
        Some(n) if n < 0 => DEFAULT_PAGE,
        Some(n) => n as usize,
        None => DEFAULT_PAGE,
    }
    .min(max_page);
    // Data Center's 10,000 result window (OpenSearch's max_result_window, as the KB reports
    // it); Cloud's old search paged without one.
    if api == "2" && start + limit > DC_MAX_WINDOW {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "Search limit exceeded. We couldn't complete your search because it requests {} results which exceeded the search platform limit of {}. Try refining your query or contact your Jira administrator. Repeating the same search may not work.",
                thousands(start + limit),
                thousands(DC_MAX_WINDOW)
            ),
        );
    }
    let sel = select(fields.as_deref(), &st.field_ids(data), true);
    let m = Matcher { st: &st, data, query: &query, candidates: candidates.as_deref(), now: Instant::now() };
    // Without `ORDER BY`, Data Center sorts by key descending (see the JQL notes); Cloud's old
    // search walked in its natural order.
    let dc_default = api == "2" && query.order.is_empty();
    let all: Vec<Snapshot> = if dc_default {
        m.all_sorted(&[(SortKey::Key, false)])
    } else if m.candidates.is_none() && (m.natural() || m.by_created()) {
        let mut v = Vec::new();
        let mut pos = Some(0);
        while let Some(p) = pos {
            let (page, next) =
                if m.natural() { m.page_natural(p, DC_MAX_WINDOW) } else { m.page_by_created(p, DC_MAX_WINDOW) };
            v.extend(page);
            pos = next;
        }
        v
    } else {
        m.all_sorted(&query.order)
    };
    // Cloud's old search answered `fields=id` with `{"id"}` like the enhanced one.
    let how = Render { api, emails, compact: api == "3", expand };
    let fetching = sel.fields.iter().any(|f| f != "created");
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .filter(|s| !(fetching && st.behaviour.drops_from_fetch(s.index)))
        .map(|s| render(&st, data, s, &sel, &how))
        .collect();
    Json(json!({
        "expand": "schema,names", "startAt": start, "maxResults": limit, "total": all.len(), "issues": page,
    }))
    .into_response()
}

pub(crate) async fn search_pause(app: &AppState) {
    let lag = app.site.lock().behaviour.search_latency;
    if !lag.is_zero() {
        tokio::time::sleep(lag).await;
    }
}

/// The first base issue whose `created` is at least `t` (created issues come after them all).
fn first_index_created_at_or_after(data: &Dataset, t: i64) -> u64 {
    first_index_at_or_after(data, t, Dataset::created_ms)
}

fn first_index_updated_at_or_after(data: &Dataset, t: i64) -> u64 {
    first_index_at_or_after(data, t, Dataset::updated_ms)
}

/// Binary search over an instant that strictly increases with the base issue's index.
fn first_index_at_or_after(data: &Dataset, t: i64, at: fn(&Dataset, u64) -> i64) -> u64 {
    let (mut lo, mut hi) = (0u64, data.config.issues);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if at(data, mid) < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// How a page renders its issues.
pub(crate) struct Render<'a> {
    /// REST version: `"2"` renders rich text as wiki markup and links into v2.
    pub api: &'a str,
    pub emails: bool,
    /// Cloud's `{"id"}` (plus `key`) shape when no field is selected.
    pub compact: bool,
    pub expand: Expand,
}

pub(crate) fn render(st: &SiteState, data: &Dataset, s: &Snapshot, sel: &Selection, how: &Render<'_>) -> Value {
    let id = Dataset::issue_id(s.index).to_string();
    let mut issue = if sel.fields.is_empty() && how.compact {
        let mut v = json!({"id": id});
        if sel.with_key {
            v["key"] = json!(data.issue_key(s.index));
        }
        v
    } else {
        let mut all = st.issue_fields(data, s, how.emails);
        let mut fields = Map::new();
        for f in &sel.fields {
            if let Some(v) = all.remove(f) {
                fields.insert(f.clone(), v);
            }
        }
        json!({
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": id,
            "self": format!("{}/rest/api/3/issue/{id}", data.base_url()),
            "key": data.issue_key(s.index),
            "fields": fields,
        })
    };
    if how.expand.transitions {
        issue["transitions"] = st.transitions(data, s);
    }
    if how.expand.changelog {
        issue["changelog"] = st.changelog(data, s, how.emails);
    }
    if how.api == "2" { crate::data::to_v2(issue, data.base_url()) } else { issue }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetConfig;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let t = encode_token(1234, hash_str("project = ENG"));
        assert_eq!(decode_token(&t, hash_str("project = ENG")), Some(1234));
        assert_eq!(decode_token(&t, hash_str("project = OPS")), None);
        assert_eq!(decode_token("garbage!", 1), None);
    }

    #[test]
    fn expand_lists_come_as_comma_strings_or_arrays() {
        let e = Expand::parse("changelog,transitions".split(','));
        assert!(e.changelog && e.transitions);
        let e = Expand::from_value(Some(&json!(["names", "changelog"])));
        assert!(e.changelog && !e.transitions);
        let e = Expand::from_value(Some(&json!("renderedFields, transitions")));
        assert!(!e.changelog && e.transitions);
        assert!(!Expand::from_value(None).changelog);
    }

    #[test]
    fn selection_handles_all_exclusions_and_unknown_names() {
        let d = Dataset::new(DatasetConfig::default(), "http://x");
        let all = d.field_ids();
        let s = select(Some(&["*all".into(), "-description".into(), "nope".into()]), &all, false);
        assert!(s.fields.contains(&"summary".to_string()));
        assert!(!s.fields.contains(&"description".to_string()));
        let ids = select(Some(&["id".into(), "key".into()]), &all, false);
        assert!(ids.fields.is_empty() && ids.with_key);
        assert!(select(None, &all, false).fields.is_empty());
        assert_eq!(select(None, &all, true).fields.len(), all.len());
    }

    #[test]
    fn binary_search_finds_the_first_issue_at_or_after() {
        let d = Dataset::new(DatasetConfig { issues: 1000, ..Default::default() }, "http://x");
        let t = d.updated_ms(400);
        assert_eq!(first_index_updated_at_or_after(&d, t), 400);
        assert_eq!(first_index_updated_at_or_after(&d, t + 1), 401);
        assert_eq!(first_index_updated_at_or_after(&d, i64::MIN), 0);
        assert_eq!(first_index_updated_at_or_after(&d, i64::MAX), 1000);
    }
}
