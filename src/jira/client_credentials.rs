//! OAuth 2.0 client credentials for Jira Cloud service accounts: the client id and secret buy a
//! short-lived access token (Atlassian: 60 minutes) and no refresh token, so there is nothing to
//! store between runs. The token is fetched again shortly before it expires, and once more when
//! Jira answers 401; one fetch serves every request waiting for it (the lock is held while
//! fetching).

use reqwest::header::HeaderValue;
use tokio::sync::Mutex;

use super::oauth::{TokenResponse, bearer, fresh, now, oauth_error, post_token};
use super::{JiraError, OAuthFailure};
use crate::config::ClientCredentials;

pub(crate) struct ClientSession {
    cfg: ClientCredentials,
    http: reqwest::Client,
    current: Mutex<Option<Access>>,
}

#[derive(Clone)]
struct Access {
    header: HeaderValue,
    expires_at: i64,
    lifetime: i64,
}

impl ClientSession {
    pub fn new(cfg: ClientCredentials, http: reqwest::Client) -> Self {
        Self { cfg, http, current: Mutex::new(None) }
    }

    /// A valid access token, fetching a new one when the current one is about to expire.
    pub async fn header(&self) -> Result<HeaderValue, JiraError> {
        let mut current = self.current.lock().await;
        if let Some(a) = current.as_ref().filter(|a| fresh(a.expires_at, a.lifetime)) {
            return Ok(a.header.clone());
        }
        let a = self.fetch().await?;
        *current = Some(a.clone());
        Ok(a.header)
    }

    /// Forgets `used` after a 401, so the next request fetches a new token.
    pub async fn invalidate(&self, used: &HeaderValue) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|a| a.header == used) {
            *current = None;
        }
    }

    async fn fetch(&self) -> Result<Access, JiraError> {
        let cfg = &self.cfg;
        let body = [
            ("grant_type", "client_credentials"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.expose()),
        ];
        let (status, bytes) = post_token(&self.http, &cfg.token_url, &body, false).await?;
        let endpoint = cfg.token_url.to_string();
        if (200..300).contains(&status) {
            let resp: TokenResponse =
                serde_json::from_slice(&bytes).map_err(|e| JiraError::Decode { endpoint, message: e.to_string() })?;
            let lifetime = resp.expires_in.unwrap_or(3600).max(1);
            tracing::debug!(lifetime, "service account access token fetched");
            return Ok(Access { header: bearer(&resp.access_token)?, expires_at: now() + lifetime, lifetime });
        }
        let (code, description) = oauth_error(&bytes);
        Err(match code.as_str() {
            "access_denied" | "unauthorized_client" | "invalid_client" | "invalid_grant" => JiraError::OAuth {
                failure: OAuthFailure::ClientRejected,
                message: format!("the service account's OAuth 2.0 credential was rejected ({code}: {description})"),
                fix: "check `client_id` and `client_secret` against the service account's OAuth 2.0 credential \
                      (admin.atlassian.com → Directory → Service accounts → the account → Credentials); a secret \
                      is shown once and credentials expire: create a new one if needed",
            },
            _ => JiraError::OAuth {
                failure: OAuthFailure::Endpoint,
                message: format!("token endpoint answered HTTP {status} ({code}: {description})"),
                fix: "check `token_url` (default https://auth.atlassian.com/oauth/token)",
            },
        })
    }
}
