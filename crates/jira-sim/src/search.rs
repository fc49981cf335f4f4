//! `GET|POST /rest/api/3/search/jql` — Jira Cloud's enhanced search.
//!
//! Paging is by an opaque `nextPageToken` that the client must echo back; the last page has
//! `isLast: true` and no token. Page sizes are Jira's, not the caller's: up to 5000 when only
//! `id`/`key` are requested, at most 100 otherwise.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::data::Dataset;
use crate::jql::{self, IssueView, SortKey};
use crate::rng::mix;
use crate::server::{Site, error};

const MAX_IDS_PAGE: usize = 5000;
const MAX_FIELDS_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetParams {
    jql: Option<String>,
    next_page_token: Option<String>,
    max_results: Option<i64>,
    fields: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostBody {
    jql: Option<String>,
    next_page_token: Option<String>,
    max_results: Option<i64>,
    fields: Option<Vec<String>>,
}

pub(crate) async fn get(State(site): State<Arc<Site>>, Query(p): Query<GetParams>) -> Response {
    let fields: Vec<String> = p
        .fields
        .as_deref()
        .unwrap_or("id")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    search(&site, p.jql.unwrap_or_default(), p.next_page_token, p.max_results, fields)
}

pub(crate) async fn post(State(site): State<Arc<Site>>, body: Option<Json<PostBody>>) -> Response {
    let Some(Json(b)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid request payload. Refer to the REST API documentation and try again.",
        );
    };
    let fields = b.fields.unwrap_or_else(|| vec!["id".into()]);
    search(&site, b.jql.unwrap_or_default(), b.next_page_token, b.max_results, fields)
}

/// The old search endpoint, as Jira Cloud answers it since its removal.
pub(crate) async fn removed() -> Response {
    error(
        StatusCode::GONE,
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
    )
}

/// Which fields each returned issue carries.
struct Selection {
    fields: Vec<String>,
    with_key: bool,
}

fn select(requested: &[String], data: &Dataset) -> Selection {
    let all = data.field_ids();
    let mut chosen: Vec<String> = Vec::new();
    let mut excluded: Vec<&str> = Vec::new();
    let mut with_key = false;
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

fn search(site: &Site, jql: String, token: Option<String>, max: Option<i64>, fields: Vec<String>) -> Response {
    let data = &site.data;
    let query = match jql::parse(&jql, &data.config.time_zone) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.0),
    };
    if query.filter.is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        );
    }
    let jql_hash = hash_str(&jql);
    let start = match token.as_deref() {
        None | Some("") => 0,
        Some(t) => match decode_token(t, jql_hash) {
            Some(p) => p,
            None => return error(StatusCode::BAD_REQUEST, "The provided next page token is invalid or expired."),
        },
    };
    let sel = select(&fields, data);
    let cap = if sel.fields.is_empty() { MAX_IDS_PAGE } else { MAX_FIELDS_PAGE };
    let limit = match max {
        Some(n) if n < 0 => return error(StatusCode::BAD_REQUEST, "maxResults must not be negative."),
        Some(0) | None => DEFAULT_PAGE,
        Some(n) => n as usize,
    }
    .min(cap);

    let n = data.config.issues;
    let view_matches = |i: u64| {
        let key = data.issue_key(i);
        let pkey = data.project_key(data.project_of(i));
        query.matches(&IssueView {
            id: Dataset::issue_id(i),
            key: &key,
            project_key: &pkey,
            project_id: Dataset::project_id(data.project_of(i)),
            updated_ms: data.updated_ms(i),
            created_ms: data.created_ms(i),
        })
    };

    // Index order is (updated, id) order; other orders need the matches sorted.
    let natural = matches!(
        query.order.as_slice(),
        [] | [(SortKey::Updated, true)] | [(SortKey::Updated, true), (SortKey::Id, true)] | [(SortKey::Id, true)]
    );
    let (page, next): (Vec<u64>, Option<u64>) = if natural {
        // Positions are issue indices; skip straight to the first candidate for `updated >= t`.
        let floor = query.min_updated().map(|t| first_index_updated_at_or_after(data, t)).unwrap_or(0);
        let mut i = start.max(floor);
        let mut page = Vec::with_capacity(limit);
        while i < n && page.len() < limit {
            if view_matches(i) {
                page.push(i);
            }
            i += 1;
        }
        while i < n && !view_matches(i) {
            i += 1;
        }
        (page, (i < n).then_some(i))
    } else {
        let mut all: Vec<u64> = (0..n).filter(|&i| view_matches(i)).collect();
        all.sort_by(|&a, &b| {
            for (key, asc) in &query.order {
                let ord = match key {
                    SortKey::Updated => data.updated_ms(a).cmp(&data.updated_ms(b)),
                    SortKey::Created => data.created_ms(a).cmp(&data.created_ms(b)),
                    SortKey::Key => jql::key_cmp(&data.issue_key(a), &data.issue_key(b)),
                    SortKey::Id => a.cmp(&b),
                };
                let ord = if *asc { ord } else { ord.reverse() };
                if ord.is_ne() {
                    return ord;
                }
            }
            a.cmp(&b)
        });
        let from = (start as usize).min(all.len());
        let to = (from + limit).min(all.len());
        (all[from..to].to_vec(), (to < all.len()).then_some(to as u64))
    };

    let issues: Vec<Value> = page.iter().map(|&i| render_issue(data, i, &sel)).collect();
    let mut body = json!({"issues": issues, "isLast": next.is_none()});
    if let Some(pos) = next {
        body["nextPageToken"] = json!(encode_token(pos, jql_hash));
    }
    Json(body).into_response()
}

/// Binary search over the strictly increasing `updated` of base issues.
fn first_index_updated_at_or_after(data: &Dataset, t: i64) -> u64 {
    let (mut lo, mut hi) = (0u64, data.config.issues);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if data.updated_ms(mid) < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn render_issue(data: &Dataset, i: u64, sel: &Selection) -> Value {
    let id = Dataset::issue_id(i).to_string();
    if sel.fields.is_empty() {
        let mut v = json!({"id": id});
        if sel.with_key {
            v["key"] = json!(data.issue_key(i));
        }
        return v;
    }
    let mut all = data.issue_fields(i);
    let mut fields = Map::new();
    for f in &sel.fields {
        if let Some(v) = all.remove(f) {
            fields.insert(f.clone(), v);
        }
    }
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": id,
        "self": format!("{}/rest/api/3/issue/{}", data.base_url(), Dataset::issue_id(i)),
        "key": data.issue_key(i),
        "fields": fields,
    })
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
    fn selection_handles_all_exclusions_and_unknown_names() {
        let d = Dataset::new(DatasetConfig::default(), "http://x");
        let s = select(&["*all".into(), "-description".into(), "nope".into()], &d);
        assert!(s.fields.contains(&"summary".to_string()));
        assert!(!s.fields.contains(&"description".to_string()));
        let ids = select(&["id".into(), "key".into()], &d);
        assert!(ids.fields.is_empty() && ids.with_key);
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
