//! Issues by id or key, outside search: Cloud's `POST /rest/api/{3,2}/issue/bulkfetch` and
//! `GET /rest/api/{3,2}/issue/{issueIdOrKey}` (both flavors).
//!
//! Shapes and rules are the v3 OpenAPI spec's (`openapi/jira-cloud-platform-v3.json`,
//! `BulkFetchIssueRequestBean` / `BulkIssueResults`): up to 100 ids or keys, mixed; keys match
//! case-insensitively; issues come back in ascending `id` order; "Issues which aren't found or
//! that the user doesn't have permission to view won't be returned" — they are simply absent,
//! unless `Behaviour::bulkfetch_unknown_as_errors` lists them under `issueErrors`.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::Viewer;
use crate::app::{AppState, error};
use crate::data::Dataset;
use crate::jql::IssueRef;
use crate::search::{Expand, Render, render, search_pause, select};
use crate::site::{Snapshot, State as SiteState};

/// Most ids or keys one bulk fetch takes.
const BULK_MAX: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkBody {
    issue_ids_or_keys: Option<Vec<String>>,
    fields: Option<Vec<String>>,
    expand: Option<Value>,
}

/// The issue an id or key names, if any, as stored: issue endpoints read the database, not the
/// search index, so an edit or a new issue shows here before search catches up (index lag).
pub(crate) fn lookup(st: &SiteState, data: &Dataset, id_or_key: &str) -> Option<Snapshot> {
    let r = match id_or_key.trim().parse::<u64>() {
        Ok(id) => IssueRef::Id(id),
        Err(_) => IssueRef::Key(id_or_key.trim().to_ascii_uppercase()),
    };
    // A moment after every pending index update: the stored version.
    let later = Instant::now() + std::time::Duration::from_secs(365 * 86_400);
    let i = st.index_of(data, &r)?;
    if st.behaviour.archived_issues_fetchable { st.stored(data, i, later) } else { st.snapshot(data, i, later) }
}

pub(crate) async fn bulkfetch_v3(
    app: State<Arc<AppState>>,
    v: Extension<Viewer>,
    b: Option<Json<BulkBody>>,
) -> Response {
    bulkfetch(app, v, b, "3").await
}

pub(crate) async fn bulkfetch_v2(
    app: State<Arc<AppState>>,
    v: Extension<Viewer>,
    b: Option<Json<BulkBody>>,
) -> Response {
    bulkfetch(app, v, b, "2").await
}

async fn bulkfetch(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Option<Json<BulkBody>>,
    api: &str,
) -> Response {
    let Some(Json(b)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid request payload. Refer to the REST API documentation and try again.",
        );
    };
    let wanted = b.issue_ids_or_keys.unwrap_or_default();
    if wanted.is_empty() {
        return error(StatusCode::BAD_REQUEST, "At least one issue ID or key must be provided.");
    }
    if wanted.len() > BULK_MAX {
        return error(StatusCode::BAD_REQUEST, &format!("Can't request more than {BULK_MAX} issues at once."));
    }
    search_pause(&app).await;
    let data = &app.site.data;
    let st = app.site.lock();
    // The default is `*navigable`, as on search.
    let sel = select(b.fields.as_deref(), &st.field_ids(data), true);
    let expand = Expand::from_value(b.expand.as_ref());
    let how = Render { api, emails: viewer.emails, compact: false, expand, full_changelog: false };
    let mut found: Vec<Snapshot> = Vec::new();
    let mut errors = Vec::new();
    for w in &wanted {
        match lookup(&st, data, w) {
            Some(s) if st.behaviour.drops_from_fetch(s.index) => {}
            Some(s) => found.push(s),
            None if st.behaviour.bulkfetch_unknown_as_errors => errors.push(json!({
                "id": w, "errorMessage": "Issue does not exist or you do not have permission to see it.",
            })),
            None => {}
        }
    }
    found.sort_by_key(|s| s.index);
    found.dedup_by_key(|s| s.index);
    let issues: Vec<Value> = found.iter().map(|s| render(&st, data, s, &sel, &how)).collect();
    Json(json!({"issues": issues, "issueErrors": errors})).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct IssueParams {
    fields: Option<String>,
}

pub(crate) async fn get_v3(
    app: State<Arc<AppState>>,
    v: Extension<Viewer>,
    id: Path<std::collections::HashMap<String, String>>,
    q: Query<IssueParams>,
) -> Response {
    get_issue(app, v, id, q, "3").await
}

pub(crate) async fn get_v2(
    app: State<Arc<AppState>>,
    v: Extension<Viewer>,
    id: Path<std::collections::HashMap<String, String>>,
    q: Query<IssueParams>,
) -> Response {
    get_issue(app, v, id, q, "2").await
}

/// `GET /rest/api/{3,2}/issue/{issueIdOrKey}`: one issue, every field by default; `404` with
/// Jira's message for an issue that does not exist or that the user cannot see.
async fn get_issue(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(params): Path<std::collections::HashMap<String, String>>,
    Query(p): Query<IssueParams>,
    api: &str,
) -> Response {
    // By name: behind the OAuth gateway the path also carries `{cloud_id}`.
    let id_or_key = params.get("id").cloned().unwrap_or_default();
    let data = &app.site.data;
    let st = app.site.lock();
    let Some(s) = lookup(&st, data, &id_or_key) else {
        return error(StatusCode::NOT_FOUND, "Issue does not exist or you do not have permission to see it.");
    };
    let requested: Option<Vec<String>> =
        p.fields.map(|f| f.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
    let sel = select(requested.as_deref(), &st.field_ids(data), true);
    let how = Render { api, emails: viewer.emails, compact: false, expand: Expand::default(), full_changelog: false };
    Json(render(&st, data, &s, &sel, &how)).into_response()
}
