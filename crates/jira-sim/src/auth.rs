//! Who may call the site, and with which rights.
//!
//! Cloud: HTTP Basic with email + API token on the site URL; OAuth 2.0 (3LO) bearer tokens on
//! `/ex/jira/{cloudId}/…`, with rotating refresh tokens, expiring access tokens, scopes and
//! audience; service accounts: scoped API tokens (Basic, gateway only) and OAuth 2.0 client
//! credentials (Bearer, gateway only). Data Center: personal access tokens (Bearer), HTTP Basic,
//! and OAuth 2.0 access tokens from its own provider (`/rest/oauth2/latest/…`), whose refresh
//! tokens rotate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{AccessToken, Credentials, Flavor, Viewer};
use crate::anonymous::{self, Anonymous};
use crate::app::AppState;

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

/// Site-URL authentication: Basic API token (Cloud), PAT, Basic or an OAuth 2.0 access token
/// (Data Center). A request that does not log in — wrong, revoked or expired credentials, a
/// service account's scoped token (it works only through the gateway), or no `Authorization`
/// header — is answered as the anonymous user (`anonymous`), as Jira does; Data Center answers a
/// wrong Basic password with its 401 page instead.
pub(crate) async fn site_auth(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let (revoked, dropped) = {
        let st = app.site.lock();
        (st.behaviour.credentials_revoked, st.behaviour.proxy_drops_authorization)
    };
    if dropped {
        req.headers_mut().remove(header::AUTHORIZATION);
    }
    if !req.headers().contains_key(header::AUTHORIZATION) {
        return anonymous::answer(app.flavor, Anonymous::NoCredentials, req, next).await;
    }
    let c = &app.credentials;
    let ok = match app.flavor {
        Flavor::Cloud => {
            basic(req.headers()) == Some((c.email.clone(), c.api_token.clone())) && !c.api_token_expired && !revoked
        }
        Flavor::DataCenter => {
            if let Some(pair) = basic(req.headers()) {
                if pair != (c.username.clone(), c.password.clone()) || revoked {
                    return anonymous::basic_failure();
                }
                req.extensions_mut().insert(Viewer { emails: true });
                return logged_in(c, next.run(req).await);
            }
            let now = Instant::now();
            (bearer(req.headers()) == Some(c.pat.as_str()) && !revoked)
                || bearer(req.headers()).is_some_and(|t| {
                    let oauth = app.oauth.lock().unwrap_or_else(|e| e.into_inner());
                    oauth.dc_access.get(t).is_some_and(|exp| *exp > now)
                })
        }
    };
    if !ok {
        return anonymous::answer(app.flavor, Anonymous::LoginFailed, req, next).await;
    }
    req.extensions_mut().insert(Viewer { emails: true });
    match app.flavor {
        Flavor::Cloud => next.run(req).await,
        Flavor::DataCenter => logged_in(c, next.run(req).await),
    }
}

/// Data Center names the logged-in caller in `X-AUSERNAME` (go-jira/jira #8's capture).
fn logged_in(c: &Credentials, mut resp: Response) -> Response {
    resp.headers_mut().insert("X-AUSERNAME", HeaderValue::from_str(&c.username).expect("ascii user name"));
    resp
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
    let (method, path) = (req.method().as_str().to_string(), req.uri().path().to_string());
    let sa = &app.credentials.service_account;
    if let Some(pair) = basic(req.headers()) {
        // Scoped API tokens (Basic) work here; classic ones only on the site URL.
        if pair != (sa.email.clone(), sa.scoped_token.clone()) || sa.token_expired {
            return gateway(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        if !crate::scopes::allows(&sa.token_scopes, &method, &path) {
            return gateway(StatusCode::UNAUTHORIZED, "Unauthorized; scope does not match");
        }
        req.extensions_mut().insert(Viewer { emails: reads_emails(&sa.token_scopes) });
        return next.run(req).await;
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
    if !crate::scopes::allows(&access.scopes, &method, &path) {
        return gateway(StatusCode::UNAUTHORIZED, "Unauthorized; scope does not match");
    }
    req.extensions_mut().insert(Viewer { emails: reads_emails(&access.scopes) });
    next.run(req).await
}

/// Users keep their email with `read:jira-user` (classic) or `read:user:jira` (granular).
fn reads_emails(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == "read:jira-user" || s == "read:user:jira")
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
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
    if req.grant_type.as_deref() == Some("client_credentials") {
        return client_credentials(&app, &req);
    }
    if req.grant_type.as_deref() != Some("refresh_token") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only the refresh_token and client_credentials grants are supported here.",
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
    *oauth.grants.entry("refresh_token".into()).or_default() += 1;
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

/// The client credentials grant of a service account's OAuth 2.0 credential: a short-lived
/// access token for the gateway, no refresh token (RFC 6749 §4.4.3: "A refresh token SHOULD NOT
/// be included").
fn client_credentials(app: &AppState, req: &TokenRequest) -> Response {
    let sa = &app.credentials.service_account;
    if req.client_id.as_deref() != Some(sa.client_id.as_str())
        || req.client_secret.as_deref() != Some(sa.client_secret.as_str())
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    let mut oauth = app.oauth.lock().unwrap_or_else(|e| e.into_inner());
    oauth.issued += 1;
    *oauth.grants.entry("client_credentials".into()).or_default() += 1;
    let n = oauth.issued;
    let access_token = format!("sim-sa-at-{n}-{:x}", crate::rng::pick(app.site.data.config.seed, 0x0C7, n));
    let expires = Instant::now() + sa.access_token_ttl;
    let scopes = sa.oauth_scopes.clone();
    oauth.access.insert(access_token.clone(), AccessToken { expires, scopes, audience: "api.atlassian.com".into() });
    Json(json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": sa.access_token_ttl.as_secs(),
        "scope": sa.oauth_scopes.join(" "),
    }))
    .into_response()
}

/// Jersey's answer for a path no resource serves, as a Jira without the OAuth 2.0 provider
/// gives for `/rest/oauth2/latest/…`.
fn no_provider() -> Response {
    crate::app::error(StatusCode::NOT_FOUND, "null for uri: /rest/oauth2/latest")
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    state: Option<String>,
}

/// `GET /rest/oauth2/latest/authorize` (Data Center): the consent screen, already approved by
/// the simulated user, so it redirects straight back with a code.
pub(crate) async fn dc_authorize(
    State(app): State<Arc<AppState>>,
    axum::extract::Query(q): axum::extract::Query<AuthorizeParams>,
) -> Response {
    let cfg = &app.credentials.data_center_oauth;
    if !cfg.enabled {
        return no_provider();
    }
    if q.client_id.as_deref() != Some(cfg.client_id.as_str())
        || q.redirect_uri.as_deref() != Some(cfg.redirect_uri.as_str())
        || q.response_type.as_deref() != Some("code")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid client_id, redirect_uri or response_type",
        );
    }
    let mut oauth = app.oauth.lock().unwrap_or_else(|e| e.into_inner());
    oauth.issued += 1;
    let code = format!("sim-dc-code-{}", oauth.issued);
    oauth.dc_codes.insert(code.clone(), cfg.redirect_uri.clone());
    let state = q.state.map(|s| format!("&state={s}")).unwrap_or_default();
    let location = format!("{}?code={code}{state}", cfg.redirect_uri);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// `POST /rest/oauth2/latest/token` (Data Center): the authorization code and refresh token
/// grants, form-encoded (or as query parameters). Each refresh rotates the refresh token and
/// revokes the access token issued with the used one.
pub(crate) async fn dc_token(
    State(app): State<Arc<AppState>>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let cfg = &app.credentials.data_center_oauth;
    if !cfg.enabled {
        return no_provider();
    }
    let req: Option<TokenRequest> = serde_urlencoded::from_bytes(&body)
        .ok()
        .filter(|r: &TokenRequest| r.grant_type.is_some())
        .or_else(|| serde_urlencoded::from_str(uri.query().unwrap_or_default()).ok());
    let Some(req) = req else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Malformed request.");
    };
    if req.client_id.as_deref() != Some(cfg.client_id.as_str())
        || req.client_secret.as_deref() != Some(cfg.client_secret.as_str())
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed");
    }
    if req.redirect_uri.as_deref() != Some(cfg.redirect_uri.as_str()) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid redirect_uri");
    }
    let mut oauth = app.oauth.lock().unwrap_or_else(|e| e.into_inner());
    let current = oauth.dc_refresh_token.get_or_insert_with(|| cfg.refresh_token.clone()).clone();
    match req.grant_type.as_deref() {
        Some("authorization_code") => {
            if req.code.as_ref().and_then(|c| oauth.dc_codes.remove(c)).is_none() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid authorization code");
            }
        }
        Some("refresh_token") => {
            if req.refresh_token.as_deref() != Some(current.as_str()) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid refresh token");
            }
            if let Some(old) = oauth.dc_pair.remove(&current) {
                oauth.dc_access.remove(&old);
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Unsupported grant type"),
    }
    oauth.issued += 1;
    *oauth.grants.entry(format!("dc_{}", req.grant_type.as_deref().unwrap_or_default())).or_default() += 1;
    let n = oauth.issued;
    let seed = app.site.data.config.seed;
    let access_token = format!("sim-dc-at-{n}-{:x}", crate::rng::pick(seed, 0x0D7, n));
    let refresh_token = format!("sim-dc-refresh-{n}-{:x}", crate::rng::pick(seed, 0x0E7, n));
    oauth.dc_refresh_token = Some(refresh_token.clone());
    oauth.dc_access.insert(access_token.clone(), Instant::now() + cfg.access_token_ttl);
    oauth.dc_pair.insert(refresh_token.clone(), access_token.clone());
    Json(json!({
        "access_token": access_token, "token_type": "bearer", "expires_in": cfg.access_token_ttl.as_secs(),
        "refresh_token": refresh_token, "scope": cfg.scope,
    }))
    .into_response()
}
