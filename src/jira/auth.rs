//! The `Authorization` header of every request: fixed for API tokens, PATs and Basic; an
//! expiring, refreshable access token for OAuth 2.0 (refresh token or client credentials).

use base64::Engine;
use reqwest::header::HeaderValue;

use super::JiraError;
use super::client_credentials::ClientSession;
use super::oauth::Session;
use crate::config::Auth;

pub(crate) enum Authenticator {
    Fixed(HeaderValue),
    OAuth(Box<Session>),
    ClientCredentials(Box<ClientSession>),
}

impl Authenticator {
    pub fn new(auth: &Auth, http: &reqwest::Client) -> Result<Self, JiraError> {
        let mut header = match auth {
            Auth::ApiToken { email, token, .. } => basic(email, token.expose()),
            Auth::Basic { username, password } => basic(username, password.expose()),
            Auth::Pat { token } => {
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| JiraError::Config {
                    message: "the token contains characters not allowed in an HTTP header".into(),
                    fix: "copy the token again without line breaks or spaces",
                })?
            }
            Auth::OAuth2(o) => {
                return Ok(Authenticator::OAuth(Box::new(Session::new(o.as_ref().clone(), http.clone()))));
            }
            Auth::ClientCredentials(c) => {
                let session = ClientSession::new(c.as_ref().clone(), http.clone());
                return Ok(Authenticator::ClientCredentials(Box::new(session)));
            }
        };
        // Keeps the credential out of reqwest's debug output.
        header.set_sensitive(true);
        Ok(Authenticator::Fixed(header))
    }

    /// The header to send now (refreshing an expired OAuth access token first).
    pub async fn header(&self) -> Result<HeaderValue, JiraError> {
        match self {
            Authenticator::Fixed(h) => Ok(h.clone()),
            Authenticator::OAuth(s) => s.header().await,
            Authenticator::ClientCredentials(s) => s.header().await,
        }
    }

    /// Jira answered 401 to `used`: whether a new credential is worth one more try.
    pub async fn rejected(&self, used: &HeaderValue) -> bool {
        match self {
            Authenticator::Fixed(_) => false,
            Authenticator::OAuth(s) => {
                s.invalidate(used).await;
                true
            }
            Authenticator::ClientCredentials(s) => {
                s.invalidate(used).await;
                true
            }
        }
    }

    pub fn oauth(&self) -> Option<&Session> {
        match self {
            Authenticator::OAuth(s) => Some(s),
            Authenticator::Fixed(_) | Authenticator::ClientCredentials(_) => None,
        }
    }
}

fn basic(user: &str, secret: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    HeaderValue::from_str(&format!("Basic {encoded}")).expect("base64 is a valid header value")
}
