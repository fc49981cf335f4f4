//! The axum side of search: one thin handler per route and request form, so the paging
//! modules take a plain `SearchRequest` and know nothing of extractors or which URL was hit.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::cloud::{CLOUD_MAX_FIELDS_PAGE, cloud};
use super::matcher::Matcher;
use super::query::{Parsed, parse};
use super::request::{CountBody, GetParams, PostBody, SearchRequest};
use super::start_at::{data_center, startat_search};
use crate::accounts::Viewer;
use crate::app::{AppState, error, errors};

pub(crate) async fn cloud_get(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<GetParams>,
) -> Response {
    cloud(&app, SearchRequest::from_get(p, v), "3").await
}

pub(crate) async fn cloud_post(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    body: Option<Json<PostBody>>,
) -> Response {
    let Some(Json(b)) = body else { return bad_payload() };
    cloud(&app, SearchRequest::from_post(b, v), "3").await
}

/// Cloud's enhanced search on REST v2 (`/rest/api/2/search/jql`): the same paging and issues,
/// with rich text as wiki markup instead of ADF.
pub(crate) async fn cloud_v2_get(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<GetParams>,
) -> Response {
    cloud(&app, SearchRequest::from_get(p, v), "2").await
}

pub(crate) async fn cloud_v2_post(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    body: Option<Json<PostBody>>,
) -> Response {
    let Some(Json(b)) = body else { return bad_payload() };
    cloud(&app, SearchRequest::from_post(b, v), "2").await
}

pub(crate) async fn dc_get(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<GetParams>,
) -> Response {
    data_center(&app, SearchRequest::from_get(p, v)).await
}

pub(crate) async fn dc_post(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    body: Option<Json<PostBody>>,
) -> Response {
    let Some(Json(b)) = body else { return bad_payload() };
    data_center(&app, SearchRequest::from_post(b, v)).await
}

fn bad_payload() -> Response {
    error(StatusCode::BAD_REQUEST, "Invalid request payload. Refer to the REST API documentation and try again.")
}

/// Cloud's old `/rest/api/3/search` (`startAt`, `total`, at most 100 a page): `410 Gone` as on
/// Cloud today, unless `Behaviour::legacy_search` switches it back on for tools (benchmark
/// peers) that still page through it.
pub(crate) async fn legacy_get(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<GetParams>,
) -> Response {
    if !app.site.lock().behaviour.legacy_search {
        return removed().await;
    }
    startat_search(&app, SearchRequest::from_get(p, v), "3", CLOUD_MAX_FIELDS_PAGE).await
}

pub(crate) async fn legacy_post(
    State(app): State<Arc<AppState>>,
    Extension(v): Extension<Viewer>,
    body: Option<Json<PostBody>>,
) -> Response {
    if !app.site.lock().behaviour.legacy_search {
        return removed().await;
    }
    let Some(Json(b)) = body else { return bad_payload() };
    startat_search(&app, SearchRequest::from_post(b, v), "3", CLOUD_MAX_FIELDS_PAGE).await
}

/// The old Cloud search endpoint, as Jira Cloud answers it since its removal.
pub(crate) async fn removed() -> Response {
    error(
        StatusCode::GONE,
        concat!(
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. ",
            "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
        ),
    )
}

/// `POST /rest/api/3/search/approximate-count`.
pub(crate) async fn approximate_count(State(app): State<Arc<AppState>>, body: Option<Json<CountBody>>) -> Response {
    let Some(Json(b)) = body else { return bad_payload() };
    let data = &app.site.data;
    let st = app.site.lock();
    let Parsed { query, candidates } = match parse(&st, data, b.jql.as_deref().unwrap_or_default(), true, false) {
        Ok(q) => q,
        Err(m) => return errors(StatusCode::BAD_REQUEST, &m),
    };
    let count =
        Matcher { st: &st, data, query: &query, candidates: candidates.as_deref(), now: Instant::now() }.count();
    Json(json!({"count": count})).into_response()
}
