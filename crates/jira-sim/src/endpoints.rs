//! The non-search endpoints: fields, the API user, projects, users and boards, with each
//! endpoint's own paging envelope and page-size cap as Jira applies them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Viewer;
use crate::data::Dataset;
use crate::server::{AppState, error};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Paging {
    start_at: Option<i64>,
    max_results: Option<i64>,
}

impl Paging {
    /// (startAt, page size) with Jira's default of 50 and the endpoint's cap.
    fn window(&self, cap: usize) -> (usize, usize) {
        let start = self.start_at.unwrap_or(0).max(0) as usize;
        let size = match self.max_results {
            Some(n) if n > 0 => (n as usize).min(cap),
            _ => 50.min(cap),
        };
        (start, size)
    }
}

pub(crate) async fn fields(State(app): State<Arc<AppState>>) -> Response {
    let st = app.site.lock();
    Json(st.fields(&app.site.data)).into_response()
}

pub(crate) async fn myself(State(app): State<Arc<AppState>>, Extension(viewer): Extension<Viewer>) -> Response {
    let d = &app.site.data;
    let api = app.api_version();
    let mut me = json!({
        "self": format!("{}/rest/api/{api}/user?accountId=5b10ac8d82e05b22cc7d4ef5", d.base_url()),
        "accountId": "5b10ac8d82e05b22cc7d4ef5",
        "accountType": "atlassian",
        "emailAddress": app.credentials.email,
        "displayName": "Jira API user",
        "active": true,
        "timeZone": d.config.time_zone.name(),
        "locale": "en_US",
        "avatarUrls": {},
    });
    if !viewer.emails {
        me.as_object_mut().map(|o| o.remove("emailAddress"));
    }
    Json(me).into_response()
}

fn visible_projects(app: &AppState) -> Vec<u64> {
    let st = app.site.lock();
    (0..app.site.data.config.projects).filter(|p| st.project_visible(*p)).collect()
}

/// Cloud `GET /rest/api/3/project/search`: `PageBeanProject`, at most 100 a page.
pub(crate) async fn project_search(State(app): State<Arc<AppState>>, Query(q): Query<Paging>) -> Response {
    let d = &app.site.data;
    let all = visible_projects(&app);
    let (start, size) = q.window(100);
    let values: Vec<Value> = all.iter().skip(start).take(size).map(|p| d.project(*p)).collect();
    let is_last = start + values.len() >= all.len();
    let mut body = json!({
        "self": format!("{}/rest/api/3/project/search?startAt={start}&maxResults={size}", d.base_url()),
        "maxResults": size, "startAt": start, "total": all.len(), "isLast": is_last, "values": values,
    });
    if !is_last {
        body["nextPage"] =
            json!(format!("{}/rest/api/3/project/search?startAt={}&maxResults={size}", d.base_url(), start + size));
    }
    Json(body).into_response()
}

/// Data Center `GET /rest/api/2/project`: every visible project, no paging.
pub(crate) async fn project_list(State(app): State<Arc<AppState>>) -> Response {
    let d = &app.site.data;
    let values: Vec<Value> = visible_projects(&app)
        .iter()
        .map(|p| {
            let mut v = d.project(*p);
            v["self"] = json!(format!("{}/rest/api/2/project/{}", d.base_url(), Dataset::project_id(*p)));
            v
        })
        .collect();
    Json(values).into_response()
}

fn users_page(app: &AppState, viewer: Viewer, start: usize, size: usize) -> Vec<Value> {
    let d = &app.site.data;
    let st = app.site.lock();
    (start as u64..d.config.users)
        .take(size)
        .map(|u| {
            let mut user = st.user(d, u);
            if !viewer.emails {
                user.as_object_mut().map(|o| o.remove("emailAddress"));
            }
            user
        })
        .collect()
}

/// Cloud `GET /rest/api/3/users/search`: a bare array, at most 1000 a page; the end is a short page.
pub(crate) async fn users_search(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<Paging>,
) -> Response {
    let (start, size) = q.window(1000);
    Json(users_page(&app, viewer, start, size)).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DcUserQuery {
    username: Option<String>,
    start_at: Option<i64>,
    max_results: Option<i64>,
}

/// Data Center `GET /rest/api/2/user/search?username=…`: `username` is required (`.` matches all).
pub(crate) async fn dc_user_search(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<DcUserQuery>,
) -> Response {
    if q.username.as_deref().is_none_or(str::is_empty) {
        return error(StatusCode::BAD_REQUEST, "The username query parameter was not provided");
    }
    let (start, size) = Paging { start_at: q.start_at, max_results: q.max_results }.window(1000);
    let users: Vec<Value> = users_page(&app, viewer, start, size)
        .into_iter()
        .enumerate()
        .map(|(k, mut u)| {
            // Data Center identifies users by name/key rather than accountId.
            let name = u["displayName"].as_str().unwrap_or_default().to_lowercase().replace(' ', ".");
            u["name"] = json!(name);
            u["key"] = json!(format!("JIRAUSER{}", 10_000 + start + k));
            u
        })
        .collect();
    Json(users).into_response()
}

/// `GET /rest/agile/1.0/board`: at most 50 a page.
pub(crate) async fn boards(State(app): State<Arc<AppState>>, Query(q): Query<Paging>) -> Response {
    if !app.site.lock().behaviour.jira_software {
        return no_jira_software();
    }
    let d = &app.site.data;
    let (start, size) = q.window(50);
    let total = d.config.boards as usize;
    let values: Vec<Value> = (start as u64..d.config.boards).take(size).map(|b| d.board(b)).collect();
    Json(json!({
        "maxResults": size, "startAt": start, "total": total, "isLast": start + values.len() >= total, "values": values,
    }))
    .into_response()
}

/// `GET /rest/agile/1.0/board/{id}/configuration`: fails for boards whose filter is not shared
/// with the API user, which is how real extractors discover it.
/// What the agile API answers on a site without Jira Software.
fn no_jira_software() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "The requested resource could not be found. Jira Software is not installed on this site.",
    )
}

pub(crate) async fn board_configuration(
    State(app): State<Arc<AppState>>,
    Path(params): Path<std::collections::HashMap<String, String>>,
) -> Response {
    if !app.site.lock().behaviour.jira_software {
        return no_jira_software();
    }
    let d = &app.site.data;
    // By name: behind the OAuth gateway the path also carries `{cloud_id}`.
    let id = params.get("id").and_then(|i| i.parse::<u64>().ok()).unwrap_or(0);
    let Some(b) = id.checked_sub(1).filter(|b| *b < d.config.boards) else {
        return error(
            StatusCode::NOT_FOUND,
            "The requested board cannot be viewed because it either does not exist or you do not have permission to view it.",
        );
    };
    if !Dataset::board_filter_shared(b) {
        return error(
            StatusCode::FORBIDDEN,
            "The board's saved filter is not shared with you, so the board cannot be viewed. Ask the filter's owner to share it.",
        );
    }
    let board = d.board(b);
    Json(json!({
        "id": id, "name": board["name"], "type": board["type"],
        "self": format!("{}/rest/agile/1.0/board/{id}/configuration", d.base_url()),
        "filter": {"id": (10_000 + b).to_string(), "self": format!("{}/rest/api/3/filter/{}", d.base_url(), 10_000 + b)},
        "columnConfig": {"columns": [{"name": "To Do"}, {"name": "In Progress"}, {"name": "Done"}], "constraintType": "none"},
        "ranking": {"rankCustomFieldId": 10019},
    }))
    .into_response()
}
