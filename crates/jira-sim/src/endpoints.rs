//! The non-search endpoints: fields, the API user, projects, users and boards, with each
//! endpoint's own paging envelope and page-size cap as Jira applies them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::{Flavor, Viewer};
use crate::app::{AppState, error};
use crate::data::{Dataset, to_v2};

/// The REST version a request came in on (`/rest/api/2/…` or `/rest/api/3/…`), for the links a
/// response carries.
fn api_of(uri: &Uri) -> &'static str {
    if uri.path().contains("/rest/api/2/") { "2" } else { "3" }
}

/// `body` as REST version `api` renders it.
pub(crate) fn in_api(body: Value, api: &str, d: &Dataset) -> Value {
    if api == "2" { to_v2(body, d.base_url()) } else { body }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Paging {
    pub start_at: Option<i64>,
    pub max_results: Option<i64>,
}

impl Paging {
    /// (startAt, page size) with Jira's default of 50 and the endpoint's cap.
    pub(crate) fn window(&self, cap: usize) -> (usize, usize) {
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

/// `GET /rest/api/{3,2}/status`: every status with its category (`StatusDetails`, v3 spec
/// `getStatuses`); on Cloud a team-managed project's own status carries its `scope`.
pub(crate) async fn statuses(State(app): State<Arc<AppState>>) -> Response {
    Json(app.site.data.listed_statuses(app.flavor == Flavor::DataCenter)).into_response()
}

pub(crate) async fn myself(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    uri: Uri,
) -> Response {
    let d = &app.site.data;
    let api = api_of(&uri);
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

/// `GET /rest/api/{2,3}/serverInfo`: `deploymentType` is `Cloud` on Cloud and `Server` on Data
/// Center (which is how clients such as tap-jira tell them apart).
pub(crate) async fn server_info(State(app): State<Arc<AppState>>) -> Response {
    let d = &app.site.data;
    let now = app.site.lock().now_ms();
    let (version, numbers, build, kind): (&str, [u32; 3], u32, &str) = match app.flavor {
        Flavor::Cloud => ("1001.0.0-SNAPSHOT", [1001, 0, 0], 100_290, "Cloud"),
        Flavor::DataCenter => ("9.12.15", [9, 12, 15], 9_120_015, "Server"),
    };
    let mut body = json!({
        "baseUrl": d.base_url(), "displayUrl": d.base_url(),
        "version": version, "versionNumbers": numbers, "deploymentType": kind, "buildNumber": build,
        "buildDate": d.format_datetime(d.config.updated_until.timestamp_millis() - 30 * 86_400_000),
        "serverTime": d.format_datetime(now),
        "scmInfo": "5f1e3c0b9a7d2e4f6a8b0c1d2e3f4a5b6c7d8e9f",
        "serverTitle": "Jira",
        "serverTimeZone": d.config.time_zone.name(),
    });
    if app.flavor == Flavor::DataCenter {
        body.as_object_mut().map(|o| o.remove("displayUrl"));
    }
    Json(body).into_response()
}

/// `expand` of the project endpoints: `description`, `lead`, and on Data Center `projectKeys`
/// (others ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProjectQuery {
    start_at: Option<i64>,
    max_results: Option<i64>,
    expand: Option<String>,
}

/// Project `p` with the expansions asked for; the lead is a user of the site.
fn project_expanded(app: &AppState, viewer: Viewer, p: u64, expand: Option<&str>) -> Value {
    let d = &app.site.data;
    let mut v = d.project(p);
    v["expand"] = json!("description,lead,issueTypes,url,projectKeys,permissions,insight");
    for e in expand.unwrap_or_default().split(',').map(str::trim) {
        match e {
            "description" => {
                v["description"] = json!(format!("Work of the {} team.", v["name"].as_str().unwrap_or_default()))
            }
            "lead" => {
                let mut lead = app.site.lock().user(d, p % d.config.users.max(1));
                if !viewer.emails {
                    lead.as_object_mut().map(|o| o.remove("emailAddress"));
                }
                v["lead"] = lead;
            }
            // Not in Cloud's `Project` schema: only Data Center lists a project's keys.
            "projectKeys" if app.flavor == Flavor::DataCenter => v["projectKeys"] = json!([d.project_key(p)]),
            _ => {}
        }
    }
    v
}

pub(crate) fn visible_projects(app: &AppState) -> Vec<u64> {
    let st = app.site.lock();
    // Administrators see every project in project search, Browse Projects or not.
    let admin = st.behaviour.api_user_is_admin;
    (0..app.site.data.config.projects).filter(|p| admin || st.project_visible(*p)).collect()
}

/// Cloud `GET /rest/api/{2,3}/project/search`: `PageBeanProject`, at most 100 a page.
pub(crate) async fn project_search(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    uri: Uri,
    Query(q): Query<ProjectQuery>,
) -> Response {
    let d = &app.site.data;
    let api = api_of(&uri);
    let all = visible_projects(&app);
    let (start, size) = Paging { start_at: q.start_at, max_results: q.max_results }.window(100);
    let values: Vec<Value> =
        all.iter().skip(start).take(size).map(|p| project_expanded(&app, viewer, *p, q.expand.as_deref())).collect();
    let is_last = start + values.len() >= all.len();
    let mut body = json!({
        "self": format!("{}/rest/api/{api}/project/search?startAt={start}&maxResults={size}", d.base_url()),
        "maxResults": size, "startAt": start, "total": all.len(), "isLast": is_last, "values": values,
    });
    if !is_last {
        body["nextPage"] =
            json!(format!("{}/rest/api/{api}/project/search?startAt={}&maxResults={size}", d.base_url(), start + size));
    }
    Json(in_api(body, api, d)).into_response()
}

/// Data Center `GET /rest/api/2/project`: every visible project, no paging.
pub(crate) async fn project_list(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<ProjectQuery>,
) -> Response {
    let d = &app.site.data;
    let values: Vec<Value> =
        visible_projects(&app).iter().map(|p| project_expanded(&app, viewer, *p, q.expand.as_deref())).collect();
    Json(to_v2(Value::Array(values), d.base_url())).into_response()
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
pub(crate) struct GroupQuery {
    groupname: Option<String>,
    group_id: Option<String>,
    include_inactive_users: Option<String>,
    start_at: Option<i64>,
    max_results: Option<i64>,
}

/// The site's groups: who is in each.
fn group_has(group: &str, d: &Dataset, u: u64) -> Option<bool> {
    match group {
        "jira-users" | "users" => Some(true),
        "jira-software-users" => Some(Dataset::user_active(u)),
        "jira-administrators" => Some(u < 2),
        _ => None,
    }
    .map(|member| member && u < d.config.users)
}

/// `GET /rest/api/{2,3}/group/member?groupname=…`: `PageBeanUserDetails`, at most 50 a page.
/// `jira-users` and `users` hold every user, `jira-software-users` the active ones,
/// `jira-administrators` the first two; inactive members only with `includeInactiveUsers=true`.
pub(crate) async fn group_member(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    uri: Uri,
    Query(q): Query<GroupQuery>,
) -> Response {
    let d = &app.site.data;
    let api = api_of(&uri);
    let Some(group) = q.groupname.as_deref().or(q.group_id.as_deref()).filter(|g| !g.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "You must specify a group name or a group ID.");
    };
    if group_has(group, d, 0).is_none() || q.groupname.is_none() {
        return error(StatusCode::NOT_FOUND, &format!("The group named '{group}' does not exist."));
    }
    // Jira reads booleans case-insensitively (Python clients send `True`).
    let inactive = q.include_inactive_users.as_deref().is_some_and(|b| b.eq_ignore_ascii_case("true"));
    let members: Vec<u64> = (0..d.config.users)
        .filter(|u| group_has(group, d, *u) == Some(true) && (inactive || Dataset::user_active(*u)))
        .collect();
    let (start, size) = Paging { start_at: q.start_at, max_results: q.max_results }.window(50);
    let values: Vec<Value> = {
        let st = app.site.lock();
        members
            .iter()
            .skip(start)
            .take(size)
            .map(|u| {
                let mut user = st.user(d, *u);
                if let Some(o) = user.as_object_mut() {
                    o.remove("locale");
                    if !viewer.emails {
                        o.remove("emailAddress");
                    }
                }
                if app.flavor == Flavor::DataCenter {
                    dc_identity(&mut user, *u);
                }
                user
            })
            .collect()
    };
    let is_last = start + values.len() >= members.len();
    let link = |at: usize| {
        let query = serde_urlencoded::to_string([
            ("groupname", group.to_string()),
            ("includeInactiveUsers", inactive.to_string()),
            ("startAt", at.to_string()),
            ("maxResults", size.to_string()),
        ])
        .unwrap_or_default();
        format!("{}/rest/api/{api}/group/member?{query}", d.base_url())
    };
    let mut body = json!({
        "self": link(start), "maxResults": size, "startAt": start, "total": members.len(), "isLast": is_last,
        "values": values,
    });
    if !is_last {
        body["nextPage"] = json!(link(start + size));
    }
    Json(in_api(body, api, d)).into_response()
}

/// Data Center identifies users by `name` and `key` rather than `accountId`.
pub(crate) fn dc_identity(user: &mut Value, u: u64) {
    // The name wiki mentions use (`[~ada.lovelace.3]`).
    let name = crate::wiki::username(user["displayName"].as_str().unwrap_or_default());
    user["name"] = json!(name);
    user["key"] = json!(format!("JIRAUSER{}", 10_000 + u));
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
            dc_identity(&mut u, (start + k) as u64);
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
pub(crate) fn no_jira_software() -> Response {
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
    let missing = app.site.lock().behaviour.board_configs_missing.contains(&id);
    let Some(b) = id.checked_sub(1).filter(|b| *b < d.config.boards && !missing) else {
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
        "filter": {
            "id": (10_000 + b).to_string(),
            "self": format!("{}/rest/api/3/filter/{}", d.base_url(), 10_000 + b),
        },
        "columnConfig": {
            "columns": [{"name": "To Do"}, {"name": "In Progress"}, {"name": "Done"}],
            "constraintType": "none",
        },
        "ranking": {"rankCustomFieldId": 10019},
    }))
    .into_response()
}
