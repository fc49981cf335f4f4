//! Failures talking to Jira, each naming the endpoint and what to do about it. Causes are typed
//! where they are known (the transport's failure, the OAuth server's error code, why a 401
//! happened), so `check`'s catalog matches on variants and never on message text.

use std::time::Duration;

use super::login::LoginSignal;

#[derive(Debug, thiserror::Error)]
pub enum JiraError {
    #[error(
        "{endpoint}: Jira rejected the credentials (HTTP 401{}). Check the email and API token (Cloud), the OAuth app and scopes, or the PAT (Data Center), and that the token has not been revoked",
        if message.is_empty() { String::new() } else { format!(": {message}") }
    )]
    Unauthorized { endpoint: String, reason: Rejection, message: String },
    /// Jira did not log the request in: a 401 for the credentials, or an answer marked as a
    /// failed or anonymous login (see `login`). Ends the run wherever it happens.
    #[error(
        "{endpoint}: Jira did not accept {credential}: {signal}. Nothing read with it is written. Likely causes: {fix}"
    )]
    LoginFailed { endpoint: String, signal: LoginSignal, credential: String, fix: String },
    #[error("{endpoint}: permission denied (HTTP 403): {message}")]
    Forbidden { endpoint: String, message: String },
    #[error("{endpoint}: HTTP {status}: {message}")]
    Status { endpoint: String, status: u16, message: String },
    #[error("{endpoint}: gave up after {attempts} attempts: {last}")]
    Exhausted {
        endpoint: String,
        attempts: u32,
        #[source]
        last: Box<JiraError>,
    },
    #[error(
        "{endpoint}: Jira asked to wait {}s before retrying (Retry-After), longer than jirapipe waits",
        wait.as_secs()
    )]
    RetryAfterTooLong { endpoint: String, wait: Duration },
    /// Waiting for the hour's quota to reset would take longer than the run may wait.
    #[error(
        "{endpoint}: Jira's hourly API quota is spent (RateLimit-Reason: {reason}); it resets at {} UTC, {} from now, longer than `source.max_rate_limit_wait` ({}). Fix: run again after the reset, raise `max_rate_limit_wait`, or spread the app's requests over the hour",
        resets_at.format("%Y-%m-%d %H:%M:%S"),
        humantime::format_duration(Duration::from_secs(wait.as_secs())),
        humantime::format_duration(*bound)
    )]
    QuotaSpent {
        endpoint: String,
        reason: String,
        resets_at: chrono::DateTime<chrono::Utc>,
        wait: Duration,
        bound: Duration,
    },
    #[error("{endpoint}: cannot connect: {message}. Check `source.site`/`base_url`, DNS and proxies")]
    Connect { endpoint: String, cause: Transport, message: String },
    #[error("{endpoint}: unexpected response body: {message}")]
    Decode { endpoint: String, message: String },
    /// A 2xx answer that is not Jira's JSON: a login page, nothing, a cut or corrupt body.
    #[error(
        "{endpoint}: {problem}{}. Fix: {}",
        if detail.is_empty() { String::new() } else { format!(" ({detail})") },
        problem.fix()
    )]
    Body { endpoint: String, problem: BodyProblem, detail: String },
    #[error("OAuth: {message}. Fix: {fix}")]
    OAuth { failure: OAuthFailure, message: String, fix: &'static str },
    #[error(
        "the OAuth token does not reach {site}; it reaches: {}. Fix: check `source.site`, or install the OAuth app on that site and consent again",
        reachable.join(", ")
    )]
    SiteNotGranted { site: String, reachable: Vec<String> },
    #[error("{message}. Fix: {fix}")]
    Config { message: String, fix: &'static str },
}

/// What is wrong with a successful answer's body. Only a body cut short or missing can be a
/// passing accident (a dropped connection, a load balancer restarting); the others are what
/// the same request will get again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProblem {
    /// An HTML page: a single sign-on or proxy login page answering for Jira.
    Html,
    /// Another content type (`text/plain` and the like).
    NotJson,
    /// Nothing at all.
    Empty,
    /// JSON that stops before it ends.
    Truncated,
    /// Bytes that are not UTF-8.
    NotUtf8,
    /// Nested deeper than the JSON reader goes.
    TooDeep,
    /// Larger than `source.max_response_mb`.
    TooLarge,
    /// JSON, but not the shape Jira sends (a field of the wrong type or missing).
    Malformed,
}

impl BodyProblem {
    pub fn is_transient(self) -> bool {
        matches!(self, BodyProblem::Empty | BodyProblem::Truncated)
    }

    pub fn fix(self) -> &'static str {
        match self {
            BodyProblem::Html => {
                "a single sign-on or proxy login page answers in Jira's place: point `source.site`/`base_url` at Jira itself, or have the proxy let API requests with a token through (API tokens and PATs are not browser sessions)"
            }
            BodyProblem::NotJson => {
                "something other than Jira answers at this URL (a proxy, a maintenance page, a wrong context path): check `source.site`/`base_url` by opening `<url>/rest/api/2/serverInfo` in a browser"
            }
            BodyProblem::Empty | BodyProblem::Truncated => {
                "a proxy or load balancer cut the response; it was retried. If it persists, check the proxy's body size and time limits"
            }
            BodyProblem::NotUtf8 => {
                "the response was corrupted on the way (a proxy rewriting bodies) or an app stores invalid text: report it to your Jira admin"
            }
            BodyProblem::TooDeep => {
                "a field holds a document nested deeper than 128 levels, which no Jira editor produces: find the issue (an app or an import wrote it) and fix or deselect the field with `fields`"
            }
            BodyProblem::TooLarge => {
                "a response this large holds a huge field: leave it out with `fields`, or raise `source.max_response_mb` if your site really has records this large"
            }
            BodyProblem::Malformed => {
                "the site answered JSON that is not Jira's shape (an app or proxy altering responses, or a newer API): report it with the endpoint to your Jira admin"
            }
        }
    }
}

impl std::fmt::Display for BodyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyProblem::Html => "answered with an HTML page, not Jira's JSON",
            BodyProblem::NotJson => "answered with something that is not JSON",
            BodyProblem::Empty => "answered with an empty body",
            BodyProblem::Truncated => "the JSON body ends before it is complete",
            BodyProblem::NotUtf8 => "the body is not valid UTF-8",
            BodyProblem::TooDeep => "the JSON is nested too deeply to read",
            BodyProblem::TooLarge => "the response is too large",
            BodyProblem::Malformed => "the JSON is not the shape Jira sends",
        })
    }
}

/// Why Jira answered 401, from the gateway's message (Cloud's OAuth gateway names the cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The OAuth token was issued for another audience than `api.atlassian.com`.
    Audience,
    /// The OAuth token lacks a scope the endpoint needs.
    Scope,
    /// The credentials themselves (token, password, PAT) were refused.
    Credentials,
}

impl Rejection {
    pub fn of(message: &str) -> Self {
        let lower = message.to_ascii_lowercase();
        if lower.contains("audience") {
            Rejection::Audience
        } else if lower.contains("scope") {
            Rejection::Scope
        } else {
            Rejection::Credentials
        }
    }
}

/// What failed on the wire before Jira could answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed (certificate, or a scheme the server does not speak).
    Tls,
    Timeout,
    /// The connection was refused or reset.
    Connect,
    /// The response was cut short.
    Body,
    Other,
}

impl Transport {
    /// Classifies a transport failure by its error chain (hyper and rustls expose no typed
    /// cause through reqwest).
    pub fn of(e: &reqwest::Error, chain: &str) -> Self {
        let lower = chain.to_ascii_lowercase();
        if lower.contains("dns") || lower.contains("lookup address") || lower.contains("name or service not known") {
            Transport::Dns
        } else if ["certificate", "tls", "ssl", "handshake", "corrupt message", "wrong version number"]
            .iter()
            .any(|k| lower.contains(k))
        {
            Transport::Tls
        } else if e.is_timeout() {
            Transport::Timeout
        } else if e.is_connect() {
            Transport::Connect
        } else if e.is_body() || e.is_decode() {
            Transport::Body
        } else {
            Transport::Other
        }
    }
}

/// Why the OAuth token endpoint, or the token store, failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthFailure {
    /// `invalid_grant`: the refresh token was used already (tokens rotate) or revoked.
    InvalidGrant,
    /// The app's client id or secret was refused.
    ClientRejected,
    /// The token store cannot be read or written.
    TokenStore,
    /// Data Center has no OAuth 2.0 provider (its token endpoint answers 404).
    NotEnabled,
    /// Anything else the token endpoint answered.
    Endpoint,
}

impl JiraError {
    /// Whether a later attempt can succeed (the retry layer's question).
    pub fn is_transient(&self) -> bool {
        match self {
            JiraError::Status { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            JiraError::Connect { .. } | JiraError::Decode { .. } => true,
            JiraError::Body { problem, .. } => problem.is_transient(),
            _ => false,
        }
    }

    /// The failure behind retries: the last attempt's error, or this one.
    pub fn last(&self) -> &JiraError {
        match self {
            JiraError::Exhausted { last, .. } => last.last(),
            e => e,
        }
    }
}
