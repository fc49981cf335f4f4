//! Cloud's enhanced search pages with an opaque `nextPageToken` and no `total`, a model the
//! `startAt` search does not share; its tokens and page limits live here.
//!
//! Cloud returns up to 5000 issues a page when only `id`/`key` are requested and at most 100
//! otherwise, whatever `maxResults` asks for.

use std::time::Instant;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::matcher::Matcher;
use super::query::{Parsed, parse};
use super::render::{Render, render, select};
use super::request::SearchRequest;
use super::{DEFAULT_PAGE, search_pause};
use crate::app::{AppState, error, errors};
use crate::rng::mix;

const CLOUD_MAX_IDS_PAGE: usize = 5000;
pub(super) const CLOUD_MAX_FIELDS_PAGE: usize = 100;

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

pub(super) async fn cloud(app: &AppState, r: SearchRequest, api: &str) -> Response {
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
    let how = Render { api, emails, compact: true, expand, full_changelog: false };
    let issues: Vec<Value> = page.iter().map(|s| render(&st, data, s, &sel, &how)).collect();
    let mut body = json!({"issues": issues, "isLast": next.is_none()});
    if let Some(pos) = next {
        body["nextPageToken"] = json!(encode_token(pos, jql_hash));
    }
    Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let t = encode_token(1234, hash_str("project = ENG"));
        assert_eq!(decode_token(&t, hash_str("project = ENG")), Some(1234));
        assert_eq!(decode_token(&t, hash_str("project = OPS")), None);
        assert_eq!(decode_token("garbage!", 1), None);
    }
}
