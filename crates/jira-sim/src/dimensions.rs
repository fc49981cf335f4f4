//! The lists issues' values come from: priorities, resolutions, issue types, project
//! categories and labels. Cloud pages the first two and labels (`PageBean…`), and lists the
//! others whole; Data Center lists all of them whole and has no label listing.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::accounts::Flavor;
use crate::app::AppState;
use crate::endpoints::{Paging, in_api};

/// `PageBean` lists: default and cap 50 (`priority/search`, `resolution/search`).
const PAGE_BEAN_CAP: usize = 50;
/// `GET /rest/api/3/label`: default and cap 1000.
const LABEL_CAP: usize = 1000;

fn data_center(app: &AppState) -> bool {
    app.flavor == Flavor::DataCenter
}

/// `all` as one `PageBean` page of `path`, `paging`'s window capped at `cap`.
fn page_bean(app: &AppState, path: &str, all: Vec<Value>, paging: &Paging, cap: usize) -> Value {
    let (start, size) = paging.window(cap);
    crate::planning::page_bean(&app.site.data, path, &all, start, size)
}

/// Cloud `GET /rest/api/3/priority/search` (`PageBeanPriority`).
pub(crate) async fn priority_search(State(app): State<Arc<AppState>>, Query(q): Query<Paging>) -> Response {
    let all = app.site.data.priorities(false);
    Json(page_bean(&app, "rest/api/3/priority/search", all, &q, PAGE_BEAN_CAP)).into_response()
}

/// Cloud `GET /rest/api/3/resolution/search` (`PageBeanResolutionJsonBean`).
pub(crate) async fn resolution_search(State(app): State<Arc<AppState>>, Query(q): Query<Paging>) -> Response {
    let all = app.site.data.resolutions(false);
    Json(page_bean(&app, "rest/api/3/resolution/search", all, &q, PAGE_BEAN_CAP)).into_response()
}

/// Cloud `GET /rest/api/3/label` (`PageBeanString`): the labels themselves, no ids.
pub(crate) async fn labels(State(app): State<Arc<AppState>>, Query(q): Query<Paging>) -> Response {
    let all = app.site.data.labels().into_iter().map(Value::String).collect();
    Json(page_bean(&app, "rest/api/3/label", all, &q, LABEL_CAP)).into_response()
}

/// `GET /rest/api/{3,2}/priority`: every priority, one array (Cloud's with `isDefault`, as its
/// `Priority` schema has it).
pub(crate) async fn priorities(State(app): State<Arc<AppState>>, uri: Uri) -> Response {
    let d = &app.site.data;
    Json(in_api(Value::Array(d.priorities(data_center(&app))), api_of(&uri), d)).into_response()
}

/// Data Center `GET /rest/api/2/resolution`: every resolution, one array.
pub(crate) async fn resolutions(State(app): State<Arc<AppState>>, uri: Uri) -> Response {
    let d = &app.site.data;
    Json(in_api(Value::Array(d.resolutions(data_center(&app))), api_of(&uri), d)).into_response()
}

/// `GET /rest/api/{3,2}/issuetype`: every issue type, one array, on both.
pub(crate) async fn issue_types(State(app): State<Arc<AppState>>, uri: Uri) -> Response {
    let d = &app.site.data;
    Json(in_api(Value::Array(d.issue_types(data_center(&app))), api_of(&uri), d)).into_response()
}

/// `GET /rest/api/{3,2}/projectCategory`: every project category, one array, on both.
pub(crate) async fn project_categories(State(app): State<Arc<AppState>>, uri: Uri) -> Response {
    let d = &app.site.data;
    Json(in_api(Value::Array(d.project_categories()), api_of(&uri), d)).into_response()
}

fn api_of(uri: &Uri) -> &'static str {
    if uri.path().contains("/rest/api/2/") { "2" } else { "3" }
}
