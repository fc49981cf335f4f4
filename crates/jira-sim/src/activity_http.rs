//! Comment and worklog endpoints: an issue's comments and worklogs page by page, and the
//! site-wide worklog feed (`/worklog/updated`, `/worklog/deleted`, `/worklog/list`).
//!
//! Rules from the v3 spec (`getComments`, `getIssueWorklog`, `getIdsOfWorklogsModifiedSince`,
//! `getIdsOfWorklogsDeletedSince`, `getWorklogsForIds`) and, for Data Center, its REST docs;
//! see the crate README, "Activity".

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::{Flavor, Viewer};
use crate::activity::stored_view;
use crate::app::{AppState, error};
use crate::fetch::lookup;
use crate::site::strip_emails;

/// Items per page of the worklog feed, and most ids `/worklog/list` takes.
pub(crate) const FEED_PAGE: usize = 1000;
/// The feed leaves out changes made in the minute before the request.
pub(crate) const FEED_QUIET_MS: i64 = 60_000;
/// `GET /issue/{id}/worklog`: default and most worklogs per page.
const WORKLOG_PAGE: usize = 5000;

fn api_of(uri: &axum::http::Uri) -> &'static str {
    if uri.path().contains("/rest/api/2/") { "2" } else { "3" }
}

/// Renders `v` for the caller: v2 rich text and links, emails redacted.
fn finish(app: &AppState, mut v: Value, api: &str, viewer: &Viewer) -> Value {
    if !(viewer.emails && app.site.lock().behaviour.user_emails_visible) {
        strip_emails(&mut v);
    }
    if api == "2" { crate::data::to_v2(v, app.site.data.base_url()) } else { v }
}

const NO_ISSUE: &str = "Issue does not exist or you do not have permission to see it.";

/// A numeric query parameter: `Ok(None)` when absent, `Err(raw)` when not a number.
fn number(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, String> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| v.clone()),
    }
}

fn invalid(name: &str, raw: &str) -> Response {
    error(StatusCode::BAD_REQUEST, &format!("The value '{raw}' is invalid for the parameter '{name}'."))
}

/// `GET /rest/api/{3,2}/issue/{issueIdOrKey}/comment`: `startAt`, `maxResults` (Cloud: default
/// and cap 100; Data Center: default 50, no cap), `orderBy` (`created`, `+created`, `-created`).
pub(crate) async fn comments(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(params): Path<HashMap<String, String>>,
    Query(q): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response {
    let (default_max, cap) = if app.flavor == Flavor::Cloud { (100, 100) } else { (50, usize::MAX) };
    let start = match number(&q, "startAt") {
        Ok(v) => v.unwrap_or(0),
        Err(raw) => return invalid("startAt", &raw),
    };
    let max = match number(&q, "maxResults") {
        Ok(v) => v.unwrap_or(default_max as i64),
        Err(raw) => return invalid("maxResults", &raw),
    };
    let newest_first = match q.get("orderBy").map(String::as_str) {
        None | Some("created" | "+created") => false,
        Some("-created") => true,
        Some(_) => return error(StatusCode::BAD_REQUEST, "Only ordering by 'created' is supported."),
    };
    let data = &app.site.data;
    let page = {
        let st = app.site.lock();
        let Some(s) = lookup(&st, data, params.get("id").map_or("", String::as_str)) else {
            return error(StatusCode::NOT_FOUND, NO_ISSUE);
        };
        let mut list = st.comments_of(data, s.index, stored_view());
        if newest_first {
            list.reverse();
        }
        let max = (max.max(0) as usize).min(cap);
        let start = start.max(0) as usize;
        let mut page = data.comment_page(s.index, &list, start, max);
        page["maxResults"] = json!(max);
        page
    };
    Json(finish(&app, page, api_of(&uri), &viewer)).into_response()
}

/// `GET /rest/api/{3,2}/issue/{issueIdOrKey}/worklog`: `startAt`, `maxResults` (default and
/// cap 5000), `startedAfter` (started at or after, epoch ms), `startedBefore` (before).
pub(crate) async fn worklogs(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(params): Path<HashMap<String, String>>,
    Query(q): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response {
    // Jira answers 404 for non-numeric paging values (v3 spec, getIssueWorklog).
    let (start, max, after, before) = match (
        number(&q, "startAt"),
        number(&q, "maxResults"),
        number(&q, "startedAfter"),
        number(&q, "startedBefore"),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a.unwrap_or(0), b.unwrap_or(WORKLOG_PAGE as i64), c, d),
        _ => return error(StatusCode::NOT_FOUND, NO_ISSUE),
    };
    let data = &app.site.data;
    let page = {
        let st = app.site.lock();
        let Some(s) = lookup(&st, data, params.get("id").map_or("", String::as_str)) else {
            return error(StatusCode::NOT_FOUND, NO_ISSUE);
        };
        let list: Vec<_> = st
            .worklogs_of(data, s.index, stored_view())
            .into_iter()
            .filter(|w| after.is_none_or(|a| w.started >= a) && before.is_none_or(|b| w.started < b))
            .collect();
        let max = (max.max(0) as usize).min(WORKLOG_PAGE);
        data.worklog_page(&list, start.max(0) as usize, max)
    };
    Json(finish(&app, page, api_of(&uri), &viewer)).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct SinceParams {
    since: Option<i64>,
}

/// `GET /rest/api/{3,2}/worklog/updated?since=`: ids and update times of worklogs updated at
/// or after `since`, oldest first, 1000 a page, none from the last minute.
pub(crate) async fn updated(
    State(app): State<Arc<AppState>>,
    Query(p): Query<SinceParams>,
    uri: axum::http::Uri,
) -> Response {
    if let Some(r) = no_feed(&app) {
        return r;
    }
    let since = p.since.unwrap_or(0);
    let data = &app.site.data;
    // Built once, outside the lock: every generated worklog by (updated, id).
    let base = app.site.worklog_index();
    let st = app.site.lock();
    let cutoff = st.now_ms() - FEED_QUIET_MS;
    let later = stored_view();
    let live = |w: u64, i: u64| {
        !st.activity.worklog_updated_at.contains_key(&w)
            && !st.activity.worklog_deleted(w)
            && st.stored(data, i, later).is_some()
    };
    let from = base.partition_point(|(t, _)| *t < since);
    let mut generated = base[from..]
        .iter()
        .filter(|(_, w)| data.worklog_of_id(*w).is_some_and(|(i, _)| live(*w, i)))
        .map(|(t, w)| (*t, *w))
        .peekable();
    let mut changed = st
        .activity
        .worklog_updates
        .range((since, 0)..)
        .filter(|(_, w)| st.worklog(data, *w).is_some_and(|s| st.stored(data, s.issue, later).is_some()))
        .copied()
        .peekable();
    let mut next = || match (generated.peek(), changed.peek()) {
        (Some(a), Some(b)) if a <= b => generated.next(),
        (Some(_), Some(_)) | (None, Some(_)) => changed.next(),
        (Some(_), None) => generated.next(),
        (None, None) => None,
    };
    let values = feed_page(std::iter::from_fn(&mut next).take_while(|(t, _)| *t < cutoff));
    feed_response(&app, &uri, "updated", since, values)
}

/// Up to a page of feed items and whether more follow.
fn feed_page(items: impl Iterator<Item = (i64, u64)>) -> (Vec<(i64, u64)>, bool) {
    let mut items = items.peekable();
    let page: Vec<(i64, u64)> = items.by_ref().take(FEED_PAGE).collect();
    (page, items.peek().is_none())
}

fn feed_response(
    app: &AppState,
    uri: &axum::http::Uri,
    what: &str,
    since: i64,
    page: (Vec<(i64, u64)>, bool),
) -> Response {
    let (values, last) = page;
    let base = format!("{}/rest/api/{}/worklog/{what}", app.site.data.base_url(), api_of(uri));
    let until = values.last().map_or(since, |(t, _)| *t);
    let mut body = json!({
        "values": values.iter().map(|(t, w)| json!({"worklogId": w, "updatedTime": t, "properties": []}))
            .collect::<Vec<_>>(),
        "since": since, "until": until, "self": format!("{base}?since={since}"), "lastPage": last,
    });
    if !last {
        body["nextPage"] = json!(format!("{base}?since={until}"));
    }
    if app.flavor == Flavor::DataCenter {
        // Data Center's `WorklogChangedSince` carries both names.
        body["isLastPage"] = json!(last);
    }
    Json(body).into_response()
}

/// `GET /rest/api/{3,2}/worklog/deleted?since=`: ids and deletion times of worklogs deleted at
/// or after `since`, oldest first, 1000 a page, none from the last minute.
pub(crate) async fn deleted(
    State(app): State<Arc<AppState>>,
    Query(p): Query<SinceParams>,
    uri: axum::http::Uri,
) -> Response {
    if let Some(r) = no_feed(&app) {
        return r;
    }
    let since = p.since.unwrap_or(0);
    let page = {
        let st = app.site.lock();
        let cutoff = st.now_ms() - FEED_QUIET_MS;
        let d = &st.activity.worklog_deletes;
        let from = d.partition_point(|(t, _)| *t < since);
        feed_page(d[from..].iter().copied().take_while(|(t, _)| *t < cutoff))
    };
    feed_response(&app, &uri, "deleted", since, page)
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdsBody {
    ids: Option<Vec<u64>>,
}

/// `POST /rest/api/{3,2}/worklog/list` `{"ids": [...]}`: the live worklogs among at most 1000
/// ids, as full `Worklog`s (with `issueId`), ascending by id; others are left out.
pub(crate) async fn list(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    uri: axum::http::Uri,
    body: Option<Json<IdsBody>>,
) -> Response {
    if let Some(r) = no_feed(&app) {
        return r;
    }
    let ids = body.and_then(|Json(b)| b.ids).unwrap_or_default();
    if ids.is_empty() || ids.len() > FEED_PAGE {
        return error(StatusCode::BAD_REQUEST, &format!("Provide between 1 and {FEED_PAGE} worklog ids."));
    }
    let data = &app.site.data;
    let out = {
        let st = app.site.lock();
        let later = stored_view();
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        let out: Vec<Value> = ids
            .iter()
            .filter_map(|w| st.worklog(data, *w))
            .filter(|w| st.stored(data, w.issue, later).is_some())
            .map(|w| data.render_worklog(&w))
            .collect();
        Value::Array(out)
    };
    Json(finish(&app, out, api_of(&uri), &viewer)).into_response()
}

impl crate::site::Site {
    /// Every generated worklog as (updated, id), sorted: built on first use.
    pub(crate) fn worklog_index(&self) -> &[(i64, u64)] {
        self.worklog_index.get_or_init(|| {
            let d = &self.data;
            let mut v: Vec<(i64, u64)> =
                (0..d.config.issues).flat_map(|i| d.worklog_specs(i).into_iter().map(|w| (w.updated, w.id))).collect();
            v.sort_unstable();
            v
        })
    }
}

/// The 404 a site without the worklog feed answers.
fn no_feed(app: &AppState) -> Option<Response> {
    app.site.lock().behaviour.no_worklog_feed.then(|| error(StatusCode::NOT_FOUND, "null for uri: worklog"))
}
