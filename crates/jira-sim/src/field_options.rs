//! The options of select-type custom fields. Cloud lists a field's contexts
//! (`GET /rest/api/3/field/{fieldId}/context`, `PageBeanCustomFieldContext`) and each context's
//! options (`…/context/{contextId}/option`, `PageBeanCustomFieldContextOption`), both for Jira
//! administrators only; Data Center lists a field's options whole
//! (`GET /rest/api/2/customFields/{customFieldId}/options`, `CustomFieldOptionsBean`, paged by
//! `page`). The README cites each shape.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{AppState, error};
use crate::data::FieldContext;
use crate::endpoints::Paging;
use crate::planning::page_bean;

/// Contexts a page: the spec's default 50; options: its default 100. Both capped at 100, the
/// `maxResults` of the spec's examples.
const CONTEXT_DEFAULT: usize = 50;
const OPTION_DEFAULT: usize = 100;
const CLOUD_CAP: usize = 100;
/// Data Center: its reference gives no default or cap; these are the simulator's.
const DC_DEFAULT: usize = 100;
const DC_CAP: usize = 1000;

const NOT_FOUND: &str = "The custom field was not found.";

/// The numeric id of `customfield_N`; Cloud's context endpoints take the field's id whole.
fn field_number(field: &str) -> Option<u64> {
    field.strip_prefix("customfield_")?.parse().ok()
}

/// The contexts of `field`, or the error Jira answers (403 for a non-administrator first:
/// the spec's 403 "Only Jira administrators can access custom field contexts.").
fn contexts(app: &AppState, field: &str, forbidden: &'static str) -> Result<(u64, Vec<FieldContext>), Refused> {
    if !app.site.lock().behaviour.api_user_is_admin {
        return Err((StatusCode::FORBIDDEN, forbidden));
    }
    let id = field_number(field).ok_or((StatusCode::NOT_FOUND, NOT_FOUND))?;
    let all = app.site.data.field_contexts(id).ok_or((StatusCode::NOT_FOUND, NOT_FOUND))?;
    Ok((id, all))
}

/// An answer other than the list: its status and Jira's message.
type Refused = (StatusCode, &'static str);

/// A path parameter by name (through the gateway the cloud id is one more).
fn param(params: &HashMap<String, String>, name: &str) -> String {
    params.get(name).cloned().unwrap_or_default()
}

fn window(q: &Paging, default: usize) -> (usize, usize) {
    let start = q.start_at.unwrap_or(0).max(0) as usize;
    let size = match q.max_results {
        Some(n) if n > 0 => (n as usize).min(CLOUD_CAP),
        _ => default,
    };
    (start, size)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContextQuery {
    start_at: Option<i64>,
    max_results: Option<i64>,
    is_global_context: Option<bool>,
    is_any_issue_type: Option<bool>,
}

/// Cloud `GET /rest/api/3/field/{fieldId}/context` (`getContextsForField`).
pub(crate) async fn contexts_of_field(
    State(app): State<Arc<AppState>>,
    Path(params): Path<HashMap<String, String>>,
    Query(q): Query<ContextQuery>,
) -> Response {
    let field = param(&params, "field");
    let (_, all) = match contexts(&app, &field, "Only Jira administrators can access custom field contexts.") {
        Ok(c) => c,
        Err((status, message)) => return error(status, message),
    };
    let all: Vec<Value> = all
        .iter()
        .filter(|c| q.is_global_context.is_none_or(|g| c.is_global == g))
        .filter(|c| q.is_any_issue_type.is_none_or(|a| c.is_any_issue_type == a))
        .map(FieldContext::json)
        .collect();
    let (start, size) = window(&Paging { start_at: q.start_at, max_results: q.max_results }, CONTEXT_DEFAULT);
    Json(page_bean(&app.site.data, &format!("rest/api/3/field/{field}/context"), &all, start, size)).into_response()
}

/// Cloud `GET /rest/api/3/field/{fieldId}/context/{contextId}/option` (`getOptionsForContext`):
/// 400 for a field without options, 404 for a context of another field.
pub(crate) async fn options_of_context(
    State(app): State<Arc<AppState>>,
    Path(params): Path<HashMap<String, String>>,
    Query(q): Query<Paging>,
) -> Response {
    let (field, context) = (param(&params, "field"), param(&params, "context"));
    let (id, all) = match contexts(&app, &field, "Only Jira administrators can manage custom field options.") {
        Ok(c) => c,
        Err((status, message)) => return error(status, message),
    };
    if !app.site.data.field_has_options(id) {
        return error(StatusCode::BAD_REQUEST, "The custom field doesn't support options.");
    }
    let Some(c) = all.iter().find(|c| c.id == context) else {
        return error(StatusCode::NOT_FOUND, "The context was not found.");
    };
    let (start, size) = window(&q, OPTION_DEFAULT);
    Json(page_bean(
        &app.site.data,
        &format!("rest/api/3/field/{field}/context/{context}/option"),
        &c.options(),
        start,
        size,
    ))
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DcOptionQuery {
    page: Option<String>,
    max_results: Option<String>,
    use_all_contexts: Option<String>,
}

/// Data Center `GET /rest/api/2/customFields/{customFieldId}/options` (`getCustomFieldOptions`,
/// experimental): the numeric field id, `page` (from 1; 0 or none is the first page, unless
/// `Behaviour::data_center_option_pages_from_zero`), `maxResults`, `useAllContexts`;
/// `{options, total}` with `total` counting every option of the request.
pub(crate) async fn data_center_options(
    State(app): State<Arc<AppState>>,
    Path(params): Path<HashMap<String, String>>,
    Query(q): Query<DcOptionQuery>,
) -> Response {
    let field = param(&params, "field");
    let Ok(id) = field.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, &format!("Custom field with id '{field}' does not exist."));
    };
    if app.site.data.field_contexts(id).is_none() {
        return error(StatusCode::NOT_FOUND, &format!("Custom field with id '{field}' does not exist."));
    }
    if !app.site.data.field_has_options(id) {
        return error(StatusCode::BAD_REQUEST, "The custom field doesn't support options.");
    }
    let number = |v: &Option<String>| v.as_deref().map(str::parse::<i64>).transpose();
    let (Ok(page), Ok(max)) = (number(&q.page), number(&q.max_results)) else {
        return error(StatusCode::BAD_REQUEST, "page and maxResults must be numbers.");
    };
    let size = match max {
        Some(n) if n > 0 => (n as usize).min(DC_CAP),
        _ => DC_DEFAULT,
    };
    let from_zero = app.site.lock().behaviour.data_center_option_pages_from_zero;
    let index = match (page, from_zero) {
        (Some(p), true) => p.max(0) as usize,
        (None, true) => 0,
        (Some(p), false) => (p.max(1) - 1) as usize,
        (None, false) => 0,
    };
    let all = app.site.data.data_center_options(id, q.use_all_contexts.as_deref() == Some("true"));
    let total = all.len();
    let options: Vec<Value> = all.into_iter().skip(index * size).take(size).collect();
    Json(json!({"options": options, "total": total})).into_response()
}
