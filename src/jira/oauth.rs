//! OAuth 2.0 (3LO) for Jira Cloud: access tokens from a rotating refresh token.
//!
//! Atlassian rotates refresh tokens: each refresh returns a new one and the old one stops
//! working. If the new token were lost (a crash after the refresh, a full disk) the pipeline
//! would be locked out until someone ran the consent flow again. So the new token is written to
//! the token store (temporary file, fsync, atomic rename, mode 0600) *before* the access token
//! it came with is used, and a store that cannot be written fails the run right there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{JiraError, OAuthFailure};
use crate::config::{OAuth2, OAuthProvider};

/// Refresh this long before the access token expires, so no request carries a dying token
/// (less for short-lived tokens: half their lifetime).
const EXPIRY_MARGIN_SECS: i64 = 60;

/// Environment variable naming a crash point, for the crash-safety tests only.
const FAILPOINT: &str = "JIRAPIPE_FAILPOINT";

pub(crate) struct Session {
    cfg: OAuth2,
    http: reqwest::Client,
    current: Mutex<Current>,
}

#[derive(Default)]
struct Current {
    access: Option<Access>,
    /// Jira rejected an access token: do not reuse the stored one either.
    rejected: bool,
}

#[derive(Clone)]
struct Access {
    header: HeaderValue,
    expires_at: i64,
    lifetime: i64,
}

impl Access {
    fn fresh(&self) -> bool {
        fresh(self.expires_at, self.lifetime)
    }
}

pub(super) fn fresh(expires_at: i64, lifetime: i64) -> bool {
    now() + EXPIRY_MARGIN_SECS.min(lifetime / 2) < expires_at
}

/// The token store's content. No `Debug`: it holds secrets.
#[derive(Serialize, Deserialize)]
struct Stored {
    client_id: String,
    refresh_token: String,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    lifetime: Option<i64>,
    updated_at: String,
}

#[derive(Deserialize)]
pub(super) struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(super) fn bearer(token: &str) -> Result<HeaderValue, JiraError> {
    let mut h = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| JiraError::OAuth {
        failure: OAuthFailure::Endpoint,
        message: "the token endpoint returned an access token that is not a valid header value".into(),
        fix: "check `token_url`: it must be Atlassian's token endpoint",
    })?;
    h.set_sensitive(true);
    Ok(h)
}

impl Session {
    pub fn new(cfg: OAuth2, http: reqwest::Client) -> Self {
        Self { cfg, http, current: Mutex::new(Current::default()) }
    }

    pub fn config(&self) -> &OAuth2 {
        &self.cfg
    }

    /// A valid access token, refreshing (and persisting the rotated refresh token) if needed.
    pub async fn header(&self) -> Result<HeaderValue, JiraError> {
        let mut current = self.current.lock().await;
        if let Some(a) = current.access.as_ref().filter(|a| a.fresh()) {
            return Ok(a.header.clone());
        }
        let stored = self.read_store()?;
        // An access token from an earlier run is still good: no refresh, no rotation.
        if let Some(s) = &stored
            && let (Some(t), Some(exp)) = (&s.access_token, s.expires_at)
            && fresh(exp, s.lifetime.unwrap_or(EXPIRY_MARGIN_SECS * 2))
            && !current.rejected
        {
            let a = Access { header: bearer(t)?, expires_at: exp, lifetime: s.lifetime.unwrap_or(0) };
            current.access = Some(a.clone());
            return Ok(a.header);
        }
        let a = self.refresh(stored).await?;
        current.access = Some(a.clone());
        Ok(a.header)
    }

    /// Forgets `used` after a 401, so the next request refreshes.
    pub async fn invalidate(&self, used: &HeaderValue) {
        let mut current = self.current.lock().await;
        if current.access.as_ref().is_some_and(|a| a.header == used) {
            current.access = None;
            current.rejected = true;
        }
    }

    fn read_store(&self) -> Result<Option<Stored>, JiraError> {
        let path = &self.cfg.token_store;
        match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Stored>(&bytes) {
                // A store written for another OAuth app holds nothing this one can use.
                Ok(s) if s.client_id == self.cfg.client_id => Ok(Some(s)),
                Ok(_) => Ok(None),
                Err(e) => Err(JiraError::OAuth {
                    failure: OAuthFailure::TokenStore,
                    message: format!("token store {} is not valid JSON: {e}", path.display()),
                    fix: "delete the file to start again from `refresh_token` in the pipeline",
                }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(JiraError::OAuth {
                failure: OAuthFailure::TokenStore,
                message: format!("cannot read token store {}: {e}", path.display()),
                fix: "check the path in `auth.token_store` and its permissions",
            }),
        }
    }

    /// Exchanges a refresh token for an access token. The stored (rotated) refresh token comes
    /// first; the configured one is the fallback, so pasting a freshly consented token into the
    /// pipeline's secret recovers a pipeline whose stored token was revoked.
    async fn refresh(&self, stored: Option<Stored>) -> Result<Access, JiraError> {
        let mut candidates: Vec<String> = stored.map(|s| s.refresh_token).into_iter().collect();
        let configured = self.cfg.refresh_token.expose().to_string();
        if !candidates.contains(&configured) {
            candidates.push(configured);
        }
        let mut last = None;
        for refresh_token in candidates {
            match self.exchange(&refresh_token).await {
                Ok(resp) => return self.accept(resp, refresh_token),
                Err(e @ JiraError::OAuth { failure: OAuthFailure::InvalidGrant, .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one refresh token is tried"))
    }

    async fn exchange(&self, refresh_token: &str) -> Result<TokenResponse, JiraError> {
        let cfg = &self.cfg;
        let mut body = vec![
            ("grant_type", "refresh_token"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.expose()),
            ("refresh_token", refresh_token),
        ];
        if let Some(r) = &cfg.redirect_uri {
            body.push(("redirect_uri", r.as_str()));
        }
        let data_center = cfg.provider == OAuthProvider::DataCenter;
        let (status, bytes) = post_token(&self.http, &cfg.token_url, &body, data_center).await?;
        let endpoint = cfg.token_url.to_string();
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| JiraError::Decode { endpoint, message: e.to_string() });
        }
        let (code, description) = oauth_error(&bytes);
        Err(match code.as_str() {
            _ if status == 404 && data_center => not_enabled(&endpoint),
            "invalid_grant" => JiraError::OAuth {
                failure: OAuthFailure::InvalidGrant,
                message: format!("the refresh token was rejected (invalid_grant: {description})"),
                fix: if data_center { DC_INVALID_GRANT_FIX } else { INVALID_GRANT_FIX },
            },
            "access_denied" | "unauthorized_client" | "invalid_client" => JiraError::OAuth {
                failure: OAuthFailure::ClientRejected,
                message: format!("the OAuth app's credentials were rejected ({code}: {description})"),
                fix: if data_center {
                    "check `client_id` and `client_secret` against the incoming link in Jira (Administration → \
                     Applications → Application links)"
                } else {
                    "check `client_id` and `client_secret` against the app in developer.atlassian.com/console"
                },
            },
            _ => JiraError::OAuth {
                failure: OAuthFailure::Endpoint,
                message: format!("token endpoint answered HTTP {status} ({code}: {description})"),
                fix: "check `token_url` (default https://auth.atlassian.com/oauth/token on Cloud, \
                      {base_url}/rest/oauth2/latest/token on Data Center)",
            },
        })
    }

    /// Persists the rotated refresh token, then hands out the access token.
    fn accept(&self, resp: TokenResponse, used_refresh: String) -> Result<Access, JiraError> {
        let lifetime = resp.expires_in.unwrap_or(3600).max(1);
        let expires_at = now() + lifetime;
        let stored = Stored {
            client_id: self.cfg.client_id.clone(),
            refresh_token: resp.refresh_token.unwrap_or(used_refresh),
            access_token: Some(resp.access_token.clone()),
            expires_at: Some(expires_at),
            lifetime: Some(lifetime),
            updated_at: chrono::Utc::now().to_rfc3339(),
        };
        let bytes = serde_json::to_vec_pretty(&stored).expect("serialisable");
        write_private(&self.cfg.token_store, &bytes).map_err(|e| JiraError::OAuth {
            failure: OAuthFailure::TokenStore,
            message: format!(
                "cannot save the rotated refresh token to {}: {e}; the previous token no longer works",
                self.cfg.token_store.display()
            ),
            fix: "make `auth.token_store` writable (persistent storage), then re-run the OAuth consent flow and set the new `refresh_token`",
        })?;
        tracing::info!(store = %self.cfg.token_store.display(), "OAuth refresh token rotated and saved");
        if std::env::var(FAILPOINT).as_deref() == Ok("after-token-persist") {
            // Simulates a crash between saving the new refresh token and using the access token.
            std::process::abort();
        }
        Ok(Access { header: bearer(&resp.access_token)?, expires_at, lifetime })
    }
}

/// Posts a token request (JSON, or a form for Data Center's provider), retrying transient
/// failures; answers the status and body.
pub(super) async fn post_token(
    http: &reqwest::Client,
    url: &url::Url,
    body: &[(&str, &str)],
    form: bool,
) -> Result<(u16, Vec<u8>), JiraError> {
    let endpoint = url.to_string();
    let json: serde_json::Map<String, Value> = body.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let request = http.post(url.clone());
        let request = if form { request.form(body) } else { request.json(&json) };
        let outcome = match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                r.bytes().await.map(|b| (status, b.to_vec())).map_err(|e| super::connect_error(&endpoint, &e))
            }
            Err(e) => Err(super::connect_error(&endpoint, &e)),
        };
        match outcome {
            Ok((s, b)) if s < 500 => return Ok((s, b)),
            Ok((s, _)) if attempt >= 3 => {
                return Err(JiraError::Status { endpoint, status: s, message: "token endpoint failed".into() });
            }
            Err(e) if attempt >= 3 => return Err(e),
            _ => tokio::time::sleep(Duration::from_millis(500 * attempt)).await,
        }
    }
}

/// The OAuth error body's `error` and `error_description`.
pub(super) fn oauth_error(bytes: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(bytes).unwrap_or_default();
    (
        v["error"].as_str().unwrap_or_default().to_string(),
        v["error_description"].as_str().unwrap_or_default().to_string(),
    )
}

/// Data Center answered 404 at its OAuth 2.0 token endpoint: no provider there.
fn not_enabled(endpoint: &str) -> JiraError {
    JiraError::OAuth {
        failure: OAuthFailure::NotEnabled,
        message: format!("{endpoint} answered 404: this Jira is not an OAuth 2.0 provider"),
        fix: "Jira Data Center 8.22 or later is an OAuth 2.0 provider: an administrator creates an incoming link \
              (Administration → Applications → Application links → Create link → External application → \
              Incoming); on older versions use `type: pat`",
    }
}

const DC_INVALID_GRANT_FIX: &str = "Jira Data Center rotates refresh tokens too: the token was already used, \
    revoked, older than 90 days, or `redirect_uri` differs from the incoming link's Redirect URL; authorize again \
    (/rest/oauth2/latest/authorize), set the new `refresh_token`, and keep `auth.token_store` on persistent storage";

const INVALID_GRANT_FIX: &str = "the refresh token was already used (tokens rotate) or revoked: \
    run the OAuth consent flow again, set the new token as `refresh_token`, \
    and keep `auth.token_store` on persistent storage so rotated tokens survive between runs";

/// Writes `bytes` to `path` atomically with mode 0600: a reader sees the old or the new file,
/// never half of one, and nobody but the owner can read the token.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // The default store sits beside the pipeline file, usually in a git checkout: keep the
    // token out of commits.
    let ignore = dir.join(".gitignore");
    if dir.file_name().is_some_and(|n| n == ".jirapipe") && !ignore.exists() {
        std::fs::write(&ignore, "# jirapipe state (OAuth tokens): never commit\n*\n")?;
    }
    let tmp: PathBuf = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("token"),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself must reach the disk too.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_writes_replace_atomically_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/store.json");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn the_default_store_folder_is_ignored_by_git() {
        let dir = tempfile::tempdir().unwrap();
        write_private(&dir.path().join(".jirapipe/p.oauth.json"), b"{}").unwrap();
        let ignore = std::fs::read_to_string(dir.path().join(".jirapipe/.gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "*"));
        // Elsewhere (a folder the user chose) nothing is added.
        write_private(&dir.path().join("state/p.json"), b"{}").unwrap();
        assert!(!dir.path().join("state/.gitignore").exists());
    }
}
