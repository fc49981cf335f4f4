//! Jira over HTTP: authentication, the request-rate cap, retries and paging. Knows Jira, not
//! Arrow.

pub mod activity;
mod auth;
mod body;
mod client_credentials;
mod error;
mod login;
pub mod fields;
pub mod instant;
pub mod issues;
pub mod lean;
pub mod changelog;
pub mod dimensions;
pub mod field_options;
mod oauth;
pub mod objects;
pub mod planning;
mod pace;
mod retry;
pub mod site;
mod stats;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;
use url::Url;

pub use body::body_error;
pub use error::{BodyProblem, JiraError, OAuthFailure, Rejection, Transport};
pub use login::{LoginSignal, is_service_account};
pub use retry::{RateLimitHeaders, RetryConfig};
pub use stats::{RequestStats, StatusClasses};

use crate::config::{Auth, Deployment, Gateway, OAuthProvider, Source};

/// 429s that slowed the pace down and so do not count against one request's attempts: enough
/// for the pace to come down from a ceiling far above the site's limit, few enough that a site
/// answering nothing but 429 fails the run in seconds.
const FREE_429S: u32 = 3;

/// How many tries a request may spend on 429s that came among answers to other requests (a
/// share of 429s), in units of `max_attempts`: enough that a share never fails a request, few
/// enough that an endpoint answering one request 429 forever still ends.
const SHARE_TRIES: u32 = 4;

/// Quota waits that do not count against a request's attempts: a site still answering "quota
/// spent" after the reset it named has another problem.
const QUOTA_WAITS: u32 = 2;

/// The wait for a spent quota that names no reset: a minute, then ask again.
const QUOTA_WAIT_UNSAID: Duration = Duration::from_secs(60);

/// A client for one Jira site. Cheap to clone; clones share the rate cap, the concurrency
/// limit, the credentials and the counters.
#[derive(Clone)]
pub struct JiraClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// Where API paths are resolved: the site, or the OAuth gateway `…/ex/jira/{cloudId}/`.
    base: Url,
    deployment: Deployment,
    auth: auth::Authenticator,
    retry: RetryConfig,
    /// The configured `requests_per_second`, a promise to the site's admins that no heuristic
    /// may break; `pace` only ever goes slower than this.
    ceiling: DefaultDirectRateLimiter,
    pace: pace::Pace,
    in_flight: Semaphore,
    counters: stats::Counters,
    /// The largest body read (`source.max_response_mb`): memory stays bounded whatever the
    /// site sends.
    max_body: usize,
    /// The longest wait for a spent hourly quota (`source.max_rate_limit_wait`) before failing.
    max_quota_wait: Duration,
    /// The rate-limit headers of the latest response that had any, and its endpoint.
    limits_seen: std::sync::Mutex<Option<(String, RateLimitHeaders)>>,
    /// Names the credential in a failed login's error.
    credential: login::Credential,
    /// The first failed login of this client: once Jira answered as anonymous, nothing more is
    /// asked, so no object goes on reading (and committing) what an anonymous user sees.
    refused: std::sync::Mutex<Option<(String, LoginSignal)>>,
}

/// A decoded response and Jira's clock at the time it answered (the `Date` header).
pub struct Reply<T> {
    pub body: T,
    pub date: Option<DateTime<Utc>>,
}

/// An HTTP client builder that trusts what the source says to trust (`ca_certificate`), for
/// every client that talks to the site.
pub fn http_builder(source: &Source) -> reqwest::ClientBuilder {
    source.ca_certificates.iter().fold(reqwest::Client::builder(), |b, ca| b.add_root_certificate(ca.clone()))
}

impl JiraClient {
    /// Builds the client; for OAuth this gets an access token and finds the site's cloud id.
    pub async fn connect(source: &Source, retry: RetryConfig) -> Result<Self, JiraError> {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static("application/json"));
        let http = http_builder(source)
            .default_headers(headers)
            .user_agent(concat!("jirapipe/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            // A body that stalls (a proxy holding the connection) fails after `read_timeout`
            // of silence, then is retried like any dropped connection.
            .read_timeout(source.read_timeout)
            .timeout(Duration::from_secs(120).max(source.read_timeout))
            .gzip(true)
            .build()
            .map_err(|e| connect_error(source.base_url.as_str(), &e))?;
        let auth = auth::Authenticator::new(&source.auth, &http)?;
        let base = match (&source.auth, auth.oauth()) {
            (Auth::ApiToken { gateway: Some(g), .. }, _) => gateway_base(&http, g, &source.base_url).await?,
            (Auth::ClientCredentials(c), _) => gateway_base(&http, &c.gateway, &source.base_url).await?,
            (Auth::OAuth2(o), Some(session)) if o.provider == OAuthProvider::Atlassian => {
                let cloud_id = match &o.cloud_id {
                    Some(id) => id.clone(),
                    None => discover_cloud_id(&http, session, &source.base_url).await?,
                };
                o.api_url.join(&format!("ex/jira/{cloud_id}/")).map_err(|e| JiraError::Config {
                    message: format!("cannot build the API URL from `api_url` and cloud id `{cloud_id}`: {e}"),
                    fix: "check `auth.api_url` and `auth.cloud_id`",
                })?
            }
            _ => with_slash(source.base_url.clone()),
        };
        let rps = source.requests_per_second.max(0.001);
        let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rps))
            .expect("positive period")
            .allow_burst(NonZeroU32::MIN);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                deployment: source.deployment,
                auth,
                retry,
                ceiling: RateLimiter::direct(quota),
                pace: pace::Pace::new(rps),
                in_flight: Semaphore::new(source.concurrency.max(1) as usize),
                counters: stats::Counters::default(),
                max_body: source.max_response_bytes,
                max_quota_wait: source.max_rate_limit_wait,
                limits_seen: std::sync::Mutex::new(None),
                credential: login::Credential::new(&source.auth, source.deployment),
                refused: std::sync::Mutex::new(None),
            }),
        })
    }

    pub fn deployment(&self) -> Deployment {
        self.inner.deployment
    }

    /// The REST API prefix: v3 on Cloud (ADF rich text), v2 on Data Center.
    pub fn api(&self) -> &'static str {
        match self.inner.deployment {
            Deployment::Cloud => "rest/api/3",
            Deployment::DataCenter => "rest/api/2",
        }
    }

    pub fn stats(&self) -> RequestStats {
        let paused = self.inner.pace.paused();
        RequestStats {
            rate_limit_wait_ms: u64::try_from(paused.as_millis()).unwrap_or(u64::MAX),
            ..self.inner.counters.snapshot()
        }
    }

    fn url(&self, path: &str) -> Url {
        self.inner.base.join(path.trim_start_matches('/')).expect("relative API path")
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, JiraError> {
        Ok(self.get_reply(path, query).await?.body)
    }

    pub async fn get_reply<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Reply<T>, JiraError> {
        self.get_decoded(path, query, |b| serde_json::from_slice(&b)).await
    }

    pub async fn post_reply<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<Reply<T>, JiraError> {
        self.post_decoded(path, body, |b| serde_json::from_slice(&b)).await
    }

    /// A GET whose body `decode` turns into `T`, for a caller that keeps the body itself.
    pub(crate) async fn get_decoded<T>(
        &self,
        path: &str,
        query: &[(&str, String)],
        decode: impl Fn(Vec<u8>) -> Result<T, serde_json::Error>,
    ) -> Result<Reply<T>, JiraError> {
        let url = self.url(path);
        self.send("GET", path, || self.inner.http.get(url.clone()).query(query), decode).await
    }

    pub(crate) async fn post_decoded<T>(
        &self,
        path: &str,
        body: &Value,
        decode: impl Fn(Vec<u8>) -> Result<T, serde_json::Error>,
    ) -> Result<Reply<T>, JiraError> {
        let url = self.url(path);
        self.send("POST", path, || self.inner.http.post(url.clone()).json(body), decode).await
    }

    /// Sends under the rate cap and the concurrency limit, with retries: a 429 slows its
    /// endpoint (or, naming no endpoint limit, every endpoint) down and pauses it for its wait
    /// (see `pace`), a spent hourly quota pauses every request until the reset (or fails when
    /// that is further away than `source.max_rate_limit_wait`), a 503 waits for its
    /// `Retry-After`, other transient failures back off exponentially with full jitter, up to
    /// `max_attempts`; a 401 with OAuth refreshes the access token once. A body `decode` cannot
    /// read is retried too: a proxy or a dropped connection can cut it short.
    async fn send<T>(
        &self,
        method: &str,
        path: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
        decode: impl Fn(Vec<u8>) -> Result<T, serde_json::Error>,
    ) -> Result<Reply<T>, JiraError> {
        let inner = &self.inner;
        let endpoint = path.to_string();
        let lane = pace::endpoint(method, path);
        let mut attempt = 0;
        let mut tries = 0;
        let mut reauthenticated = false;
        let mut free_429s = 0;
        let mut quota_waits = 0;
        loop {
            self.login_proven()?;
            attempt += 1;
            tries += 1;
            inner.pace.ready(&lane).await;
            inner.ceiling.until_ready().await;
            let answers_before = inner.pace.answers(&lane);
            let auth = inner.auth.header().await?;
            let outcome = {
                let _permit = inner.in_flight.acquire().await.expect("semaphore is never closed");
                self.attempt(&endpoint, request().header(reqwest::header::AUTHORIZATION, auth.clone()), &decode).await
            };
            let (err, limits) = match outcome {
                Ok((reply, limits)) => {
                    inner.pace.answered(&lane, limits.per_second(), limits.remaining);
                    self.saw(&lane, limits);
                    return Ok(reply);
                }
                Err((e, _)) if refuses_login(&e) => {
                    if reauthenticated || !inner.auth.rejected(&auth).await {
                        return Err(self.refuse(e));
                    }
                    reauthenticated = true;
                    attempt -= 1;
                    continue;
                }
                Err((e, limits)) => {
                    if matches!(e, JiraError::Status { status, .. } if status != 429) {
                        inner.pace.answered(&lane, limits.per_second(), limits.remaining);
                    }
                    self.saw(&lane, limits.clone());
                    if !e.is_transient() {
                        return Err(e);
                    }
                    (e, limits)
                }
            };
            let throttled = matches!(err, JiraError::Status { status: 429, .. });
            let now = Utc::now();
            let delay = if throttled && limits.quota_spent() {
                // Every endpoint shares the hour's points: nothing goes until the reset.
                let wait = limits.quota_wait(now).unwrap_or(QUOTA_WAIT_UNSAID);
                // The reset as Jira wrote it when it did, else as far off as it asked to wait.
                let resets_at = limits
                    .reset
                    .filter(|r| *r > now)
                    .unwrap_or_else(|| now + chrono::Duration::from_std(wait).unwrap_or_default());
                let reason = limits.reason.clone().unwrap_or_default();
                if wait > inner.max_quota_wait {
                    return Err(JiraError::QuotaSpent {
                        endpoint,
                        reason,
                        resets_at,
                        wait,
                        bound: inner.max_quota_wait,
                    });
                }
                let until = resets_at.format("%Y-%m-%d %H:%M:%S UTC");
                tracing::warn!(
                    endpoint = %endpoint,
                    reason = %reason,
                    "Jira's hourly API quota is spent: every request waits until {until} ({}s)",
                    wait.as_secs()
                );
                crate::progress::message(&format!("Jira's hourly API quota is spent: waiting until {until}"));
                inner.pace.pause_all(wait);
                if quota_waits < QUOTA_WAITS {
                    // Waiting for the reset is not a failed attempt.
                    quota_waits += 1;
                    attempt -= 1;
                }
                Duration::ZERO
            } else if throttled {
                let wait = limits.wait(now).unwrap_or(Duration::from_secs(1));
                if wait > inner.retry.max_retry_after {
                    return Err(JiraError::RetryAfterTooLong { endpoint, wait });
                }
                let scope = if limits.burst() { pace::Scope::Endpoint } else { pace::Scope::Site };
                let slowed = inner.pace.throttled(&lane, scope, wait, limits.per_second());
                // A 429 among answers to others is a share of 429s, not a site that has stopped
                // answering: retrying it is not a failed attempt either (within a bound).
                let among_answers =
                    inner.pace.answers(&lane) > answers_before && tries < SHARE_TRIES * inner.retry.max_attempts;
                if slowed && free_429s < FREE_429S {
                    // This 429 slowed the endpoint down: retrying it is not a failed attempt.
                    free_429s += 1;
                    attempt -= 1;
                } else if among_answers {
                    attempt -= 1;
                }
                // The pause is shared: the next `ready` waits it out.
                Duration::ZERO
            } else {
                match limits.retry_after {
                    Some(w) if w > inner.retry.max_retry_after => {
                        return Err(JiraError::RetryAfterTooLong { endpoint, wait: w });
                    }
                    Some(w) => w,
                    None => inner.retry.backoff(attempt, retry::jitter()),
                }
            };
            if attempt >= inner.retry.max_attempts {
                return Err(JiraError::Exhausted { endpoint, attempts: attempt, last: Box::new(err) });
            }
            inner.counters.retry();
            if throttled {
                tracing::debug!(endpoint = %endpoint, attempt, "rate limited; retrying after the pause");
            } else {
                tracing::warn!(
                    endpoint = %endpoint,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    error = %err,
                    "retrying Jira request"
                );
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// Keeps the rate-limit headers of the latest response that had any, for `check`.
    fn saw(&self, lane: &str, limits: RateLimitHeaders) {
        if !limits.is_empty() {
            *self.inner.limits_seen.lock().expect("limits lock") = Some((lane.to_string(), limits));
        }
    }

    /// The rate-limit headers of the latest response that carried any, and its endpoint.
    pub fn rate_limit_headers(&self) -> Option<(String, RateLimitHeaders)> {
        self.inner.limits_seen.lock().expect("limits lock").clone()
    }

    /// The request rate jirapipe allows itself now for `method` `path`'s endpoint: the slower of
    /// its endpoint's pace and the one every request shares (the configured cap aside).
    pub fn current_rate(&self, method: &str, path: &str) -> f64 {
        self.inner.pace.rate(&pace::endpoint(method, path))
    }

    /// One attempt, with the response's rate-limit headers either way.
    async fn attempt<T>(
        &self,
        endpoint: &str,
        request: reqwest::RequestBuilder,
        decode: impl Fn(Vec<u8>) -> Result<T, serde_json::Error>,
    ) -> Result<(Reply<T>, RateLimitHeaders), (JiraError, RateLimitHeaders)> {
        let counters = &self.inner.counters;
        let resp = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                counters.request(0);
                counters.no_answer();
                return Err((connect_error(endpoint, &e), RateLimitHeaders::default()));
            }
        };
        let status = resp.status().as_u16();
        counters.status(status);
        let limits = RateLimitHeaders::read(resp.headers());
        let login_signal = login::signal(resp.headers());
        let date = limits.date;
        let content_type =
            resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body = match read_body(resp, self.inner.max_body).await {
            Ok(b) => b,
            Err(e) => {
                counters.request(0);
                return Err((e.at(endpoint), RateLimitHeaders::default()));
            }
        };
        counters.request(body.len());
        if status != 401
            && let Some(signal) = login_signal
        {
            return Err((
                JiraError::LoginFailed {
                    endpoint: endpoint.into(),
                    signal,
                    credential: String::new(),
                    fix: String::new(),
                },
                limits,
            ));
        }
        if !(200..300).contains(&status) {
            return Err((status_error(endpoint, status, &body), limits));
        }
        let sniffed = body::sniff(&content_type, &body);
        match sniffed {
            Some((problem, detail)) => {
                Err((JiraError::Body { endpoint: endpoint.into(), problem, detail }, RateLimitHeaders::default()))
            }
            None => match decode(body) {
                Ok(body) => Ok((Reply { body, date }, limits)),
                Err(e) => {
                    let (problem, detail) = body::classify(&e);
                    Err((JiraError::Body { endpoint: endpoint.into(), problem, detail }, RateLimitHeaders::default()))
                }
            },
        }
    }
}

/// Whether `e` says the credentials were not accepted (not that a scope or audience is
/// missing: those are `check`'s to name, and a run may go on without `read:jira-user`).
fn refuses_login(e: &JiraError) -> bool {
    matches!(e, JiraError::LoginFailed { .. } | JiraError::Unauthorized { reason: Rejection::Credentials, .. })
}

impl JiraClient {
    /// `Err` once any answer to this client refused its login (see `login`): every later
    /// request, and every commit the runner would make, stops on it.
    pub fn login_proven(&self) -> Result<(), JiraError> {
        let refused = self.inner.refused.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match refused {
            Some((endpoint, signal)) => Err(self.login_error(endpoint, signal)),
            None => Ok(()),
        }
    }

    /// Records the failed login `e` and names the credential and the likely causes in it.
    fn refuse(&self, e: JiraError) -> JiraError {
        let (endpoint, signal) = match e {
            JiraError::LoginFailed { endpoint, signal, .. } => (endpoint, signal),
            JiraError::Unauthorized { endpoint, message, .. } => (endpoint, LoginSignal::Refused { message }),
            other => return other,
        };
        self.inner.refused.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert((endpoint.clone(), signal.clone()));
        self.login_error(endpoint, signal)
    }

    fn login_error(&self, endpoint: String, signal: LoginSignal) -> JiraError {
        let credential = &self.inner.credential;
        JiraError::LoginFailed { endpoint, fix: credential.fix(&signal), credential: credential.describe(), signal }
    }
}

/// Reads a body chunk by chunk, failing as soon as it passes `max` bytes rather than holding
/// whatever the site sends.
async fn read_body(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, body::ReadError> {
    let mut out = Vec::with_capacity(resp.content_length().map_or(0, |n| (n as usize).min(max)));
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > max {
                    return Err(body::ReadError::TooLarge { max });
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(body::ReadError::Cut(transport_message(&e))),
        }
    }
}

/// `{api_url}/ex/jira/{cloud_id}/`, the cloud id from the site's `/_edge/tenant_info` unless
/// configured: scoped API tokens and service-account OAuth tokens work only there.
async fn gateway_base(http: &reqwest::Client, g: &Gateway, site: &Url) -> Result<Url, JiraError> {
    let cloud_id = match &g.cloud_id {
        Some(id) => id.clone(),
        None => {
            let url = with_slash(site.clone()).join("_edge/tenant_info").expect("static path");
            let endpoint = url.to_string();
            let resp = http.get(url).send().await.map_err(|e| connect_error(&endpoint, &e))?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.unwrap_or_default();
            if status != 200 {
                return Err(status_error(&endpoint, status, &body));
            }
            serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["cloudId"].as_str().map(str::to_string))
                .ok_or_else(|| JiraError::Decode { endpoint, message: "no `cloudId` in tenant_info".into() })?
        }
    };
    g.api_url.join(&format!("ex/jira/{cloud_id}/")).map_err(|e| JiraError::Config {
        message: format!("cannot build the API URL from `api_url` and cloud id `{cloud_id}`: {e}"),
        fix: "check `auth.api_url` and `auth.cloud_id`",
    })
}

fn with_slash(mut u: Url) -> Url {
    if !u.path().ends_with('/') {
        u.set_path(&format!("{}/", u.path()));
    }
    u
}

impl JiraClient {
    /// The OAuth scopes granted for the site this client talks to, from `accessible-resources`;
    /// `None` without OAuth (or when the site is not among the token's resources). `check`
    /// names missing scopes from this before any object probe fails on one.
    pub async fn granted_scopes(&self) -> Result<Option<Vec<String>>, JiraError> {
        let Some(session) = self.inner.auth.oauth() else { return Ok(None) };
        let sites = accessible_resources(&self.inner.http, session).await?;
        let base = self.inner.base.as_str();
        Ok(sites.iter().find(|s| s["id"].as_str().is_some_and(|id| base.contains(&format!("/ex/jira/{id}/")))).map(
            |s| s["scopes"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        ))
    }
}

/// The sites an OAuth access token reaches, with their cloud ids and granted scopes.
async fn accessible_resources(http: &reqwest::Client, session: &oauth::Session) -> Result<Vec<Value>, JiraError> {
    let url = session.config().api_url.join("oauth/token/accessible-resources").expect("static path");
    let endpoint = url.to_string();
    let resp = http
        .get(url)
        .header(reqwest::header::AUTHORIZATION, session.header().await?)
        .send()
        .await
        .map_err(|e| connect_error(&endpoint, &e))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    if status != 200 {
        return Err(status_error(&endpoint, status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| JiraError::Decode { endpoint, message: e.to_string() })
}

/// The cloud id of `site` among the sites the OAuth token reaches (`accessible-resources`).
async fn discover_cloud_id(http: &reqwest::Client, session: &oauth::Session, site: &Url) -> Result<String, JiraError> {
    let sites = accessible_resources(http, session).await?;
    let want = site.as_str().trim_end_matches('/');
    sites
        .iter()
        .find(|s| s["url"].as_str().is_some_and(|u| u.trim_end_matches('/') == want))
        .and_then(|s| s["id"].as_str().map(str::to_string))
        .ok_or_else(|| JiraError::SiteNotGranted {
            site: want.to_string(),
            reachable: sites.iter().filter_map(|s| s["url"].as_str().map(str::to_string)).collect(),
        })
}

/// A transport failure at `endpoint`, its cause classified once, here.
pub(crate) fn connect_error(endpoint: &str, e: &reqwest::Error) -> JiraError {
    let message = transport_message(e);
    JiraError::Connect { endpoint: endpoint.to_string(), cause: Transport::of(e, &message), message }
}

/// What went wrong on the wire, without the URL (its query can carry JQL with personal data).
pub(crate) fn transport_message(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "response body failed"
    } else {
        "request failed"
    }
    .to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Jira's `{"errorMessages": [...], "errors": {...}}` body (or the gateway's `{"message"}`),
/// flattened to one line.
fn status_error(endpoint: &str, status: u16, body: &[u8]) -> JiraError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .map(|v| {
            let mut parts: Vec<String> = v["errorMessages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect();
            if let Some(errs) = v["errors"].as_object() {
                parts.extend(errs.iter().map(|(k, m)| format!("{k}: {}", m.as_str().unwrap_or_default())));
            }
            if let Some(m) = v["message"].as_str() {
                parts.push(m.to_string());
            }
            parts.join("; ")
        })
        .filter(|m| !m.is_empty())
        .or_else(|| body::html_summary(body))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_string());
    match status {
        401 => JiraError::Unauthorized { endpoint: endpoint.to_string(), reason: Rejection::of(&message), message },
        403 => JiraError::Forbidden { endpoint: endpoint.to_string(), message },
        _ => JiraError::Status { endpoint: endpoint.to_string(), status, message },
    }
}
