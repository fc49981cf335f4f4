//! `startAt`/`total` paging, Data Center's model (and Cloud's old search when switched back
//! on): it needs the whole ordered result list and has Data Center's result window, neither of
//! which Cloud's token paging has.

use std::time::Instant;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::matcher::Matcher;
use super::query::{Parsed, parse};
use super::render::{Render, render, select};
use super::request::SearchRequest;
use super::{DEFAULT_PAGE, search_pause};
use crate::app::{AppState, error, errors};
use crate::jql::SortKey;
use crate::site::Snapshot;

/// Data Center caps a page at 1000 whatever `maxResults` asks for.
const DC_MAX_PAGE: usize = 1000;
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

pub(super) async fn data_center(app: &AppState, r: SearchRequest) -> Response {
    startat_search(app, r, "2", DC_MAX_PAGE).await
}

/// `startAt`/`total` paging (Data Center, and Cloud's old search when switched back on).
pub(super) async fn startat_search(app: &AppState, r: SearchRequest, api: &str, max_page: usize) -> Response {
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
    // Data Center fails past its result window (`Behaviour::search_result_window`; the KB
    // "Handling JQL REST API searching exceeding max_result_window in Jira" quotes the
    // message); Cloud's old search paged without one.
    let window = st.behaviour.search_result_window;
    if api == "2" && start + limit > window {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "Search limit exceeded. We couldn't complete your search because it requests {} results \
                 which exceeded the search platform limit of {}. Try refining your query or contact your \
                 Jira administrator. Repeating the same search may not work.",
                thousands(start + limit),
                thousands(window)
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
        // Matches collected a chunk at a time (the chunk's size is the simulator's, not Jira's).
        const CHUNK: usize = 10_000;
        let mut v = Vec::new();
        let mut pos = Some(0);
        while let Some(p) = pos {
            let (page, next) = if m.natural() { m.page_natural(p, CHUNK) } else { m.page_by_created(p, CHUNK) };
            v.extend(page);
            pos = next;
        }
        v
    } else {
        m.all_sorted(&query.order)
    };
    // Cloud's old search answered `fields=id` with `{"id"}` like the enhanced one.
    // `/rest/api/2/search` here is Data Center's; Cloud's legacy one is v3.
    let how = Render { api, emails, compact: api == "3", expand, full_changelog: api == "2" };
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
