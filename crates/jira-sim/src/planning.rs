//! The planning endpoints: a board's sprints (agile), a project's versions and components,
//! each with its envelope, page cap and errors as Jira answers them, and the lists they serve,
//! which `RunningSim` also hands tests as the truth.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::accounts::{Flavor, Viewer};
use crate::app::{AppState, error};
use crate::data::{BASE_VERSIONS, COMPONENTS, Dataset};
use crate::endpoints::{Paging, dc_identity, in_api, no_jira_software, visible_projects};

/// The agile API's page cap for sprints.
const SPRINT_CAP: usize = 50;
/// `PageBean` project lists (versions, Cloud components): default and cap 50.
const PROJECT_LIST_CAP: usize = 50;

/// `GET /rest/agile/1.0/board/{id}/sprint`: `{maxResults, startAt, isLast, values}`, at most
/// 50 a page; `400` for a kanban board, `404` for a board the user cannot view.
pub(crate) async fn board_sprints(
    State(app): State<Arc<AppState>>,
    Path(params): Path<HashMap<String, String>>,
    Query(q): Query<Paging>,
) -> Response {
    if !app.site.lock().behaviour.jira_software {
        return no_jira_software();
    }
    let d = &app.site.data;
    // By name: behind the OAuth gateway the path also carries `{cloud_id}`.
    let id = params.get("id").and_then(|i| i.parse::<u64>().ok()).unwrap_or(0);
    let Some(b) = id.checked_sub(1).filter(|b| *b < d.config.boards && Dataset::board_filter_shared(*b)) else {
        return error(
            StatusCode::NOT_FOUND,
            "The requested board cannot be viewed because it either does not exist or you do not have permission to view it.",
        );
    };
    let Some(all) = d.board_sprints(b, app.flavor == Flavor::DataCenter) else {
        return error(StatusCode::BAD_REQUEST, "The board does not support sprints");
    };
    let (start, size) = q.window(SPRINT_CAP);
    let values: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
    Json(json!({
        "maxResults": size, "startAt": start, "isLast": start + values.len() >= all.len(), "values": values,
    }))
    .into_response()
}

/// The project `idOrKey` names among those the user can browse.
fn project_named(app: &AppState, id_or_key: &str) -> Option<u64> {
    let d = &app.site.data;
    visible_projects(app)
        .into_iter()
        .find(|p| Dataset::project_id(*p).to_string() == id_or_key || d.project_key(*p) == id_or_key)
}

fn no_project(key: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("No project could be found with key '{key}'."))
}

/// Every version of project `p` (generated, then added at run time), in REST version `api`.
pub(crate) fn versions_of(app: &AppState, p: u64, api: &str) -> Vec<Value> {
    let d = &app.site.data;
    let added: Vec<Value> =
        app.site.lock().added_versions.iter().filter(|(q, _)| *q == p).map(|(_, v)| v.clone()).collect();
    (0..BASE_VERSIONS).map(|k| d.version(p, k)).chain(added).map(|v| in_api(v, api, d)).collect()
}

/// Every component of project `p`: Cloud counts its issues, Data Center names users by
/// `name`/`key` and sends no count.
pub(crate) fn components_of(app: &AppState, p: u64, emails: bool) -> Vec<Value> {
    let d = &app.site.data;
    let st = app.site.lock();
    let dc = app.flavor == Flavor::DataCenter;
    (0..COMPONENTS)
        .map(|k| {
            let mut c = d.component(p, k);
            for who in ["lead", "assignee", "realAssignee"] {
                if let Some(u) = c.get_mut(who) {
                    if !emails || !st.behaviour.user_emails_visible {
                        u.as_object_mut().map(|o| o.remove("emailAddress"));
                    }
                    if dc {
                        dc_identity(u, (p + 3) % d.config.users.max(1));
                    }
                }
            }
            if dc {
                in_api(c, "2", d)
            } else {
                c["issueCount"] = json!(if k == 0 { st.component_issue_count(d, p) } else { 0 });
                c
            }
        })
        .collect()
}

/// A `PageBean` page of `all` at `start`, with its `self` and `nextPage` links: the one shape
/// of Cloud's paged lists (versions, components, priorities, field contexts and options, …).
pub(crate) fn page_bean(d: &Dataset, path: &str, all: &[Value], start: usize, size: usize) -> Value {
    let values: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
    let is_last = start + values.len() >= all.len();
    let link = |at: usize| format!("{}/{path}?startAt={at}&maxResults={size}", d.base_url());
    let mut body = json!({
        "self": link(start), "maxResults": size, "startAt": start, "total": all.len(), "isLast": is_last,
        "values": values,
    });
    if !is_last {
        body["nextPage"] = json!(link(start + size));
    }
    body
}

fn api_of(uri: &Uri) -> &'static str {
    if uri.path().contains("/rest/api/2/") { "2" } else { "3" }
}

/// `GET /rest/api/{3,2}/project/{projectIdOrKey}/version`: `PageBeanVersion`, at most 50 a
/// page, on Cloud and on Data Center alike.
pub(crate) async fn project_versions(
    State(app): State<Arc<AppState>>,
    Path(params): Path<HashMap<String, String>>,
    Query(q): Query<Paging>,
    uri: Uri,
) -> Response {
    let key = params.get("project").cloned().unwrap_or_default();
    let Some(p) = project_named(&app, &key) else { return no_project(&key) };
    let api = api_of(&uri);
    let all = versions_of(&app, p, api);
    let (start, size) = q.window(PROJECT_LIST_CAP);
    Json(page_bean(&app.site.data, &format!("rest/api/{api}/project/{key}/version"), &all, start, size)).into_response()
}

/// Cloud `GET /rest/api/3/project/{projectIdOrKey}/component`: `PageBeanComponentWithIssueCount`,
/// at most 50 a page.
pub(crate) async fn project_components_paged(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(params): Path<HashMap<String, String>>,
    Query(q): Query<Paging>,
) -> Response {
    let key = params.get("project").cloned().unwrap_or_default();
    let Some(p) = project_named(&app, &key) else { return no_project(&key) };
    let all = components_of(&app, p, viewer.emails);
    let (start, size) = q.window(PROJECT_LIST_CAP);
    Json(page_bean(&app.site.data, &format!("rest/api/3/project/{key}/component"), &all, start, size)).into_response()
}

/// `GET /rest/api/2/project/{projectIdOrKey}/components`: every component, one bare array.
pub(crate) async fn project_components(
    State(app): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(params): Path<HashMap<String, String>>,
) -> Response {
    let key = params.get("project").cloned().unwrap_or_default();
    let Some(p) = project_named(&app, &key) else { return no_project(&key) };
    Json(components_of(&app, p, viewer.emails)).into_response()
}
