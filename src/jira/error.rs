//! Failures talking to Jira, each naming the endpoint and what to do about it.

#[derive(Debug, thiserror::Error)]
pub enum JiraError {
    #[error("{endpoint}: Jira rejected the credentials (HTTP 401{}). Check the email and API token (Cloud), the OAuth app and scopes, or the PAT (Data Center), and that the token has not been revoked", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Unauthorized { endpoint: String, message: String },
    #[error("{endpoint}: permission denied (HTTP 403): {message}")]
    Forbidden { endpoint: String, message: String },
    #[error("{endpoint}: HTTP {status}: {message}")]
    Status { endpoint: String, status: u16, message: String },
    #[error("{endpoint}: gave up after {attempts} attempts: {last}")]
    Exhausted { endpoint: String, attempts: u32, last: String },
    #[error("{endpoint}: cannot connect: {message}. Check `source.site`/`base_url`, DNS and proxies")]
    Connect { endpoint: String, message: String },
    #[error("{endpoint}: unexpected response body: {message}")]
    Decode { endpoint: String, message: String },
    #[error("OAuth: {message}. Fix: {fix}")]
    OAuth { message: String, fix: &'static str },
    #[error("{message}. Fix: {fix}")]
    Config { message: String, fix: &'static str },
}

impl JiraError {
    /// Whether a later attempt can succeed (the retry layer's question).
    pub fn is_transient(&self) -> bool {
        match self {
            JiraError::Status { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            JiraError::Connect { .. } | JiraError::Decode { .. } => true,
            _ => false,
        }
    }
}
