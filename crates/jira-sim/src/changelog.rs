//! Cloud's `POST /rest/api/3/changelog/bulkfetch`: every history of up to 1,000 issues, paged
//! by token, where search's `expand=changelog` stops at the newest 100.
//!
//! Shapes and rules are the v3 OpenAPI spec's (`jira-cloud-platform-v3.json`,
//! `BulkChangelogRequestBean` / `BulkChangelogResponseBean`): `issueIdsOrKeys` (1 to 1000, ids
//! and keys), `fieldIds` (at most 10; histories keep only those fields' items, and a history
//! left without items is left out), `maxResults` (1 to 10000, default 1000, counted in
//! histories), `nextPageToken`. "Returns a paginated list of all changelogs for given issues
//! sorted by changelog date and issue IDs, starting from the oldest changelog and smallest
//! issue ID"; consecutive histories of one issue are grouped in one `IssueChangeLog`; the
//! token is absent on the last page.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::Viewer;
use crate::app::{AppState, error};
use crate::data::Dataset;
use crate::fetch::lookup;

const MAX_ISSUES: usize = 1000;
const MAX_FIELDS: usize = 10;
const MAX_RESULTS: i64 = 10_000;
const DEFAULT_RESULTS: i64 = 1000;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body {
    issue_ids_or_keys: Option<Vec<String>>,
    field_ids: Option<Vec<String>>,
    max_results: Option<i64>,
    next_page_token: Option<String>,
}

pub(crate) async fn bulkfetch(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Option<Json<Body>>,
) -> Response {
    let Some(Json(b)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid request payload. Refer to the REST API documentation and try again.",
        );
    };
    let wanted = b.issue_ids_or_keys.unwrap_or_default();
    if wanted.is_empty() || wanted.len() > MAX_ISSUES {
        return error(StatusCode::BAD_REQUEST, &format!("Provide between 1 and {MAX_ISSUES} issue IDs or keys."));
    }
    let fields = b.field_ids.unwrap_or_default();
    if fields.len() > MAX_FIELDS {
        return error(StatusCode::BAD_REQUEST, &format!("Provide at most {MAX_FIELDS} field IDs."));
    }
    let max = b.max_results.unwrap_or(DEFAULT_RESULTS);
    if !(1..=MAX_RESULTS).contains(&max) {
        return error(StatusCode::BAD_REQUEST, &format!("maxResults must be between 1 and {MAX_RESULTS}."));
    }
    let start: usize = match b.next_page_token.as_deref().map(str::parse) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "The nextPageToken is invalid."),
    };
    let data = &app.site.data;
    let st = app.site.lock();
    // (created, issue id, history) of every history asked for, oldest first.
    let mut all: Vec<(i64, u64, Value)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for w in &wanted {
        let Some(s) = lookup(&st, data, w) else { continue };
        if !seen.insert(s.index) {
            continue;
        }
        for mut h in st.histories(data, &s, viewer.emails) {
            if !fields.is_empty()
                && let Some(items) = h["items"].as_array_mut()
            {
                items.retain(|i| i["fieldId"].as_str().is_some_and(|f| fields.iter().any(|x| x == f)));
                if items.is_empty() {
                    continue;
                }
            }
            let created = h["created"]
                .as_str()
                .and_then(|c| chrono::DateTime::parse_from_str(c, "%Y-%m-%dT%H:%M:%S%.3f%z").ok())
                .map_or(0, |t| t.timestamp_millis());
            all.push((created, Dataset::issue_id(s.index), h));
        }
    }
    all.sort_by_key(|(created, issue, _)| (*created, *issue));
    let form = st.behaviour.changelog_created;
    for (created, _, h) in &mut all {
        h["created"] = match form {
            crate::behaviour::InstantForm::Text => continue,
            crate::behaviour::InstantForm::EpochMillis => json!(*created),
            crate::behaviour::InstantForm::EpochSeconds => json!(created.div_euclid(1000)),
        };
    }
    let total = all.len();
    let end = (start + max as usize).min(total);
    let mut groups: Vec<Value> = Vec::new();
    for (_, issue, h) in all.drain(start.min(end)..end) {
        match groups.last_mut() {
            Some(g) if g["issueId"].as_str() == Some(issue.to_string().as_str()) => {
                g["changeHistories"].as_array_mut().unwrap().push(h)
            }
            _ => groups.push(json!({"issueId": issue.to_string(), "changeHistories": [h]})),
        }
    }
    let mut out = json!({ "issueChangeLogs": groups });
    if end < total {
        out["nextPageToken"] = json!(end.to_string());
    }
    Json(out).into_response()
}
