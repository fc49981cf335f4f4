//! Jira over HTTP: authentication, retries and paging. Knows Jira, not Arrow.

mod error;
pub mod fields;
pub mod issues;
mod retry;

use std::time::Duration;

use base64::Engine;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

pub use error::JiraError;
pub use retry::RetryConfig;

use crate::config::{Auth, Source};

/// A client for one Jira site. Cheap to clone.
#[derive(Clone)]
pub struct JiraClient {
    http: reqwest::Client,
    base: Url,
    retry: RetryConfig,
}

impl JiraClient {
    pub fn new(source: &Source, retry: RetryConfig) -> Result<Self, JiraError> {
        let mut headers = HeaderMap::new();
        let mut auth = match &source.auth {
            Auth::ApiToken { email, token } => basic(email, token.expose()),
            Auth::Basic { username, password } => basic(username, password.expose()),
            Auth::Pat { token } => {
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| JiraError::Decode {
                    endpoint: source.base_url.to_string(),
                    message: "the token contains characters not allowed in an HTTP header".into(),
                })?
            }
        };
        // Keeps the credential out of reqwest's debug output.
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("jirapipe/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(120))
            .gzip(true)
            .build()
            .map_err(|e| JiraError::Connect { endpoint: source.base_url.to_string(), message: e.to_string() })?;
        let mut base = source.base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(Self { http, base, retry })
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path.trim_start_matches('/')).expect("relative API path")
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, JiraError> {
        self.send(path, || self.http.get(self.url(path)).query(query)).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, JiraError> {
        self.send(path, || self.http.post(self.url(path)).json(body)).await
    }

    /// Sends with retries: 429/503 wait for `Retry-After`, other transient failures back off
    /// exponentially with full jitter, up to `max_attempts`.
    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, JiraError> {
        let endpoint = path.to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (result, wait) = match request().send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let wait = retry::retry_after(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()));
                    match resp.bytes().await {
                        Ok(body) if status.is_success() => (
                            serde_json::from_slice::<T>(&body)
                                .map_err(|e| JiraError::Decode { endpoint: endpoint.clone(), message: e.to_string() }),
                            None,
                        ),
                        Ok(body) => (Err(status_error(&endpoint, status.as_u16(), &body)), wait),
                        Err(e) => (
                            Err(JiraError::Decode {
                                endpoint: endpoint.clone(),
                                message: format!("body cut short: {e}"),
                            }),
                            None,
                        ),
                    }
                }
                Err(e) => {
                    (Err(JiraError::Connect { endpoint: endpoint.clone(), message: transport_message(&e) }), None)
                }
            };
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) if !e.is_transient() => return Err(e),
                Err(e) => e,
            };
            if attempt >= self.retry.max_attempts {
                return Err(JiraError::Exhausted { endpoint, attempts: attempt, last: err.to_string() });
            }
            let delay = match wait {
                Some(w) if w > self.retry.max_retry_after => {
                    return Err(JiraError::Exhausted {
                        endpoint,
                        attempts: attempt,
                        last: format!("Retry-After of {}s exceeds the limit", w.as_secs()),
                    });
                }
                Some(w) => w,
                None => self.retry.backoff(attempt, retry::jitter()),
            };
            tracing::warn!(endpoint = %endpoint, attempt, delay_ms = delay.as_millis() as u64, error = %err, "retrying Jira request");
            tokio::time::sleep(delay).await;
        }
    }
}

fn basic(user: &str, secret: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    HeaderValue::from_str(&format!("Basic {encoded}")).expect("base64 is a valid header value")
}

/// What went wrong on the wire, without the URL (its query can carry JQL with personal data).
fn transport_message(e: &reqwest::Error) -> String {
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

/// Jira's `{"errorMessages": [...], "errors": {...}}` body, flattened to one line.
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
            parts.join("; ")
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_string());
    match status {
        401 => JiraError::Unauthorized {
            endpoint: endpoint.to_string(),
            hint: "Check the email and API token (Cloud) or the PAT (Data Center), and that the token has not been revoked",
        },
        403 => JiraError::Forbidden { endpoint: endpoint.to_string(), message },
        _ => JiraError::Status { endpoint: endpoint.to_string(), status, message },
    }
}
