//! What every request handler shares: the site's state as the router hands it over, and Jira's
//! error envelope. Below the handlers and the router alike, so neither imports the other's
//! home for them.

use std::sync::Mutex;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::accounts::{Credentials, Flavor, OAuthState};
use crate::site::Site;

/// The router's state: the site's data, the deployment it plays, and who may call it.
pub(crate) struct AppState {
    pub site: Site,
    pub flavor: Flavor,
    pub credentials: Credentials,
    pub oauth: Mutex<OAuthState>,
}

/// Jira's error envelope.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    errors(status, &[message.to_string()])
}

/// Jira's error envelope with several messages (JQL validation lists every bad literal).
pub(crate) fn errors(status: StatusCode, messages: &[String]) -> Response {
    (status, axum::Json(json!({"errorMessages": messages, "errors": {}}))).into_response()
}
