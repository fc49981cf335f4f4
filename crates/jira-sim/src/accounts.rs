//! Who the site knows: the deployment it plays, the credentials it accepts, the OAuth tokens it
//! has issued, and what a caller may see. Plain data, read by the request handlers and by
//! [`crate::auth`], which checks each request against it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    /// Cloud: the API token has passed its expiry date (tokens created since December 2024
    /// expire within a year); Jira answers it like a wrong one.
    pub api_token_expired: bool,
    /// Cloud: a service account with a scoped API token and an OAuth 2.0 credential.
    pub service_account: ServiceAccount,
    /// Data Center: the incoming application link of an OAuth 2.0 client.
    pub data_center_oauth: DataCenterOAuth,
}

/// A Cloud service account: its scoped API token (Basic, only through the gateway) and its
/// OAuth 2.0 credential (client credentials grant, no refresh token).
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub email: String,
    pub scoped_token: String,
    /// Scopes chosen when the token was created: classic, granular, or both.
    pub token_scopes: Vec<String>,
    pub token_expired: bool,
    pub client_id: String,
    pub client_secret: String,
    /// Scopes of the OAuth 2.0 credential.
    pub oauth_scopes: Vec<String>,
    /// Lifetime of client-credentials access tokens (Atlassian: 60 minutes).
    pub access_token_ttl: Duration,
}

/// Jira Data Center as an OAuth 2.0 provider (an incoming application link).
#[derive(Debug, Clone)]
pub struct DataCenterOAuth {
    /// `false`: a Jira without the provider (before 8.22) — its endpoints answer `404`.
    pub enabled: bool,
    pub client_id: String,
    pub client_secret: String,
    /// The link's redirect URL; the provider checks it on the code and the refresh grants.
    pub redirect_uri: String,
    /// The refresh token handed out at consent time; it rotates on every use.
    pub refresh_token: String,
    /// `READ`, `WRITE`, `ADMIN` or `SYSTEM_ADMIN`; reading needs `READ` or more.
    pub scope: String,
    /// `atlassian.oauth2.provider.access.token.expiration.seconds`, default 3600.
    pub access_token_ttl: Duration,
}

impl Default for ServiceAccount {
    fn default() -> Self {
        Self {
            email: "sim-bot@serviceaccount.atlassian.com".into(),
            scoped_token: "sim-scoped-token".into(),
            token_scopes: crate::scopes::all_granular_read_scopes(),
            token_expired: false,
            client_id: "sim-sa-client".into(),
            client_secret: "sim-sa-secret".into(),
            oauth_scopes: crate::scopes::all_granular_read_scopes(),
            access_token_ttl: Duration::from_secs(3600),
        }
    }
}

impl Default for DataCenterOAuth {
    fn default() -> Self {
        Self {
            enabled: true,
            client_id: "sim-dc-client".into(),
            client_secret: "sim-dc-secret".into(),
            redirect_uri: "https://jirapipe.example/callback".into(),
            refresh_token: "sim-dc-refresh-0".into(),
            scope: "READ".into(),
            access_token_ttl: Duration::from_secs(3600),
        }
    }
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
            api_token_expired: false,
            service_account: ServiceAccount::default(),
            data_center_oauth: DataCenterOAuth::default(),
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
    pub(crate) refresh_token: Option<String>,
    pub(crate) access: HashMap<String, AccessToken>,
    pub(crate) issued: u64,
    /// Token requests answered `200`, by grant type.
    pub(crate) grants: HashMap<String, u64>,
    /// Data Center: the refresh token that works now, and issued access tokens.
    pub(crate) dc_refresh_token: Option<String>,
    pub(crate) dc_access: HashMap<String, Instant>,
    /// Data Center: the access token issued with each live refresh token (a refresh revokes it).
    pub(crate) dc_pair: HashMap<String, String>,
    pub(crate) dc_codes: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub(crate) expires: Instant,
    pub(crate) scopes: Vec<String>,
    pub(crate) audience: String,
}

/// What the authenticated caller may see, for handlers that redact.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Viewer {
    /// False for OAuth tokens without `read:jira-user`: user objects lose their email.
    pub emails: bool,
}
