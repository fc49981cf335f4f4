//! Who may call the site, and with which rights.
//!
//! Cloud: HTTP Basic with email + API token on the site URL; OAuth 2.0 (3LO) bearer tokens on
//! `/ex/jira/{cloudId}/…`, with rotating refresh tokens, expiring access tokens, scopes and
//! audience. Data Center: personal access tokens (Bearer) and HTTP Basic.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::server::{AppState, error};

/// Jira Cloud or Jira Data Center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    #[default]
    Cloud,
    DataCenter,
}

/// Credentials the site accepts.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Cloud: Basic `email:api_token`.
    pub email: String,
    pub api_token: String,
    /// Data Center: Bearer personal access token.
    pub pat: String,
    /// Data Center: Basic `username:password`.
    pub username: String,
    pub password: String,
    pub oauth: OAuthApp,
}

/// The OAuth 2.0 (3LO) app registered on the site and the grant its user gave.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
    /// The refresh token handed out at consent time; it rotates on every use.
    pub refresh_token: String,
    /// Scopes granted, e.g. `read:jira-work read:jira-user offline_access`.
    pub scopes: Vec<String>,
    /// Audience the tokens are issued for; Jira's API accepts only `api.atlassian.com`.
    pub audience: String,
    pub access_token_ttl: Duration,
}

pub const DEFAULT_EMAIL: &str = "sim@example.com";
pub const DEFAULT_API_TOKEN: &str = "sim-api-token";

impl Default for Credentials {
    fn default() -> Self {
        Self {
            email: DEFAULT_EMAIL.into(),
            api_token: DEFAULT_API_TOKEN.into(),
            pat: "sim-pat".into(),
            username: "sim".into(),
            password: "sim-password".into(),
            oauth: OAuthApp::default(),
        }
    }
}

impl Default for OAuthApp {
    fn default() -> Self {
        Self {
            client_id: "sim-client".into(),
            client_secret: "sim-client-secret".into(),
            refresh_token: "sim-refresh-0".into(),
            scopes: ["read:jira-work", "read:jira-user", "offline_access"].map(String::from).to_vec(),
            audience: "api.atlassian.com".into(),
            access_token_ttl: Duration::from_secs(3600),
        }
    }
}

/// Issued OAuth tokens.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    /// The one refresh token that works now (rotation invalidates the previous one).
    refresh_token: Option<String>,
    access: HashMap<String, AccessToken>,
    issued: u64,
}

#[derive(Debug, Clone)]
struct AccessToken {
    expires: Instant,
    scopes: Vec<String>,
    audience: String,
}

/// What the authenticated caller may see, for handlers that redact.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Viewer {
    /// False for OAuth tokens without `read:jira-user`: user objects lose their email.
    pub emails: bool,
}

/// The scope an endpoint needs from an OAuth token (`None`: any valid token), as Atlassian's
/// spec lists them.
fn required_scope(path: &str) -> Option<&'static str> {
    if path.ends_with("/serverInfo") {
        None
    } else if path.ends_with("/group/member") {
        Some("manage:jira-configuration")
    } else if path.contains("/myself") || path.contains("/users/search") || path.contains("/user/search") {
        Some("read:jira-user")
    } else {
        Some("read:jira-work")
    }
}

fn unauthorized() -> Response {
    let mut resp = error(StatusCode::UNAUTHORIZED, "Client must be authenticated to access this resource.");
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, "Basic realm=\"protected-area\"".parse().expect("static"));
    resp
}

/// Atlassian's API gateway error shape (`/ex/jira/…`).
fn gateway(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"code": status.as_u16(), "message": message}))).into_response()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let b = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let raw = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).ok()?).ok()?;
    let (u, p) = raw.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

/// Site-URL authentication: Basic API token (Cloud), PAT or Basic (Data Center).
pub(crate) async fn site_auth(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let c = &app.credentials;
    let ok = match app.flavor {
        Flavor::Cloud => basic(req.headers()) == Some((c.email.clone(), c.api_token.clone())),
        Flavor::DataCenter => {
            bearer(req.headers()) == Some(c.pat.as_str())
                || basic(req.headers()) == Some((c.username.clone(), c.password.clone()))
        }
    };
    if !ok {
        return unauthorized();
    }
    req.extensions_mut().insert(Viewer { emails: true });
    next.run(req).await
}

/// `/ex/jira/{cloudId}/…`: OAuth bearer tokens through Atlassian's API gateway.
pub(crate) async fn gateway_auth(
    State(app): State<Arc<AppState>>,
    Path(params): Path<HashMap<String, String>>,
    mut req: Request,
    next: Next,
) -> Response {
    if params.get("cloud_id").map(String::as_str) != Some(app.site.data.cloud_id().as_str()) {
        return gateway(StatusCode::NOT_FOUND, "Not Found - No message available");
    }
    let Some(token) = bearer(req.headers()).map(str::to_string) else {
        return gateway(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    let access = app.oauth.lock().unwrap_or_else(|e| e.into_inner()).access.get(&token).cloned();
    let Some(access) = access else { return gateway(StatusCode::UNAUTHORIZED, "Unauthorized") };
    if access.expires <= Instant::now() {
        return gateway(StatusCode::UNAUTHORIZED, "Unauthorized; token expired");
    }
    if access.audience != "api.atlassian.com" {
        return gateway(StatusCode::UNAUTHORIZED, "Unauthorized; audience does not match");
    }
    let needed = required_scope(req.uri().path());
    if needed.is_some_and(|n| !access.scopes.iter().any(|s| s == n)) {
        return gateway(StatusCode::UNAUTHORIZED, "Unauthorized; scope does not match");
    }
    let emails = access.scopes.iter().any(|s| s == "read:jira-user");
    req.extensions_mut().insert(Viewer { emails });
    next.run(req).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(json!({"error": code, "error_description": description}))).into_response()
}

/// `POST /oauth/token` (`auth.atlassian.com`): the refresh-token grant, rotating the refresh token.
pub(crate) async fn token(State(app): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    // Atlassian accepts JSON; form encoding is accepted too for standard OAuth clients.
    let req: Option<TokenRequest> =
        serde_json::from_slice(&body).ok().or_else(|| serde_urlencoded::from_bytes(&body).ok());
    let Some(req) = req else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Malformed request body.");
    };
    let app_cfg = &app.credentials.oauth;
    if req.grant_type.as_deref() != Some("refresh_token") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only the refresh_token grant is supported here.",
        );
    }
    if req.client_id.as_deref() != Some(app_cfg.client_id.as_str())
        || req.client_secret.as_deref() != Some(app_cfg.client_secret.as_str())
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    let mut oauth = app.oauth.lock().unwrap_or_else(|e| e.into_inner());
    let current = oauth.refresh_token.get_or_insert_with(|| app_cfg.refresh_token.clone()).clone();
    if req.refresh_token.as_deref() != Some(current.as_str()) {
        return oauth_error(StatusCode::FORBIDDEN, "invalid_grant", "Unknown or invalid refresh token.");
    }
    oauth.issued += 1;
    let n = oauth.issued;
    let access_token = format!("sim-at-{n}-{:x}", crate::rng::pick(app.site.data.config.seed, 0x0A7, n));
    let refresh_token = format!("sim-refresh-{n}-{:x}", crate::rng::pick(app.site.data.config.seed, 0x0F7, n));
    oauth.refresh_token = Some(refresh_token.clone());
    oauth.access.insert(
        access_token.clone(),
        AccessToken {
            expires: Instant::now() + app_cfg.access_token_ttl,
            scopes: app_cfg.scopes.clone(),
            audience: app_cfg.audience.clone(),
        },
    );
    Json(json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": app_cfg.access_token_ttl.as_secs(),
        "scope": app_cfg.scopes.join(" "), "refresh_token": refresh_token,
    }))
    .into_response()
}

/// `GET /oauth/token/accessible-resources` (`api.atlassian.com`): the sites a token reaches.
pub(crate) async fn accessible_resources(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let valid = bearer(&headers).is_some_and(|t| {
        app.oauth.lock().unwrap_or_else(|e| e.into_inner()).access.get(t).is_some_and(|a| a.expires > Instant::now())
    });
    if !valid {
        return gateway(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let d = &app.site.data;
    Json(json!([{
        "id": d.cloud_id(), "url": d.base_url(), "name": "sim",
        "scopes": app.credentials.oauth.scopes, "avatarUrl": format!("{}/avatar.png", d.base_url()),
    }]))
    .into_response()
}

/// `GET /_edge/tenant_info`: the site's cloud id, no authentication needed.
pub(crate) async fn tenant_info(State(app): State<Arc<AppState>>) -> Response {
    Json(json!({"cloudId": app.site.data.cloud_id()})).into_response()
}
