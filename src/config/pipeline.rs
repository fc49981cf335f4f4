//! The validated pipeline the rest of jirapipe works from: every value interpolated, every
//! default applied, every combination checked.

use std::fmt;

use url::Url;

pub use super::cron::Schedule;
pub use super::model::{Deletes, Deployment, SchemaDrift, SyncMode};
use super::secret::Secret;

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub source: Source,
    pub destination: Destination,
    pub schedule: Option<Schedule>,
    pub masking_key: Option<Secret>,
    pub objects: Vec<ObjectConfig>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub deployment: Deployment,
    /// Site or base URL without a trailing slash.
    pub base_url: Url,
    pub auth: Auth,
    pub requests_per_second: f64,
    pub concurrency: u32,
    /// Extra trusted CAs from `ca_certificate`, already parsed.
    pub ca_certificates: Vec<reqwest::Certificate>,
    /// Silence after which a response is abandoned (and retried).
    pub read_timeout: std::time::Duration,
    /// The largest response body read.
    pub max_response_bytes: usize,
    /// The longest wait for a spent hourly quota to reset.
    pub max_rate_limit_wait: std::time::Duration,
}

#[derive(Debug, Clone)]
pub enum Auth {
    /// Basic `email:token`; a scoped token (`gateway`) goes through Atlassian's gateway.
    ApiToken {
        email: String,
        token: Secret,
        gateway: Option<Box<Gateway>>,
        expires: Option<chrono::NaiveDate>,
        /// Atlassian's gateway even when the token is not scoped: `check` asks it whether a
        /// token the site refuses is a scoped one.
        api_url: Url,
    },
    Pat {
        token: Secret,
    },
    Basic {
        username: String,
        password: Secret,
    },
    OAuth2(Box<OAuth2>),
    /// A Cloud service account's OAuth 2.0 credential: short-lived tokens, no refresh token.
    ClientCredentials(Box<ClientCredentials>),
}

/// Atlassian's API gateway: requests go to `{api_url}/ex/jira/{cloud_id}/…`.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// `None`: looked up from the site (`/_edge/tenant_info`).
    pub cloud_id: Option<String>,
    pub api_url: Url,
}

/// A service account's OAuth 2.0 credential (client credentials grant).
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub token_url: Url,
    pub gateway: Gateway,
}

/// Who issues the OAuth 2.0 tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthProvider {
    /// `auth.atlassian.com` (Cloud 3LO): JSON bodies, API through the gateway.
    Atlassian,
    /// The Data Center site itself (`/rest/oauth2/latest/token`): form bodies with the link's
    /// `redirect_uri`, API on the site.
    DataCenter,
}

/// An OAuth 2.0 client with a rotating refresh token (Cloud 3LO app or Data Center incoming
/// link) and where that token lives.
#[derive(Debug, Clone)]
pub struct OAuth2 {
    pub client_id: String,
    pub client_secret: Secret,
    /// The configured refresh token; the stored (rotated) one takes precedence.
    pub refresh_token: Secret,
    pub token_store: std::path::PathBuf,
    pub cloud_id: Option<String>,
    pub token_url: Url,
    pub api_url: Url,
    pub provider: OAuthProvider,
    /// Data Center: the application link's redirect URL, sent with every refresh.
    pub redirect_uri: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Destination {
    /// Normalised: local paths become absolute `file://` URLs.
    pub url: Url,
    /// Table versions between compactions (0: never).
    pub compact_every: u64,
    pub vacuum_retention: std::time::Duration,
    /// How long a failing storage operation is retried.
    pub retry_timeout: std::time::Duration,
    /// How long one storage request may take.
    pub request_timeout: std::time::Duration,
}

impl Destination {
    /// The object-store settings every table and the lease are opened with: the retry budget
    /// and request timeout (deltalake and `object_store` read these keys). Credentials and
    /// endpoints come from the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    pub fn storage_options(&self) -> std::collections::HashMap<String, String> {
        let secs = |d: std::time::Duration| format!("{}s", d.as_secs().max(1));
        [
            ("retry_timeout", secs(self.retry_timeout)),
            ("max_retries", "10".to_string()),
            ("timeout", secs(self.request_timeout)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// Expands the object list (`for_each_object!` in `lib.rs`) into [`ObjectKind`].
macro_rules! object_kinds {
    ($($(#[$doc:meta])* $kind:ident = $module:ident, $sync:ident, $table:literal;)*) => {
        /// The Jira objects jirapipe can extract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ObjectKind {
            $($(#[$doc])* $kind,)*
        }

        impl ObjectKind {
            pub const ALL: &[ObjectKind] = &[$(ObjectKind::$kind),*];

            /// The key in the pipeline file, in reports and in `_runs`.
            pub fn name(self) -> &'static str {
                match self {
                    $(ObjectKind::$kind => stringify!($module),)*
                }
            }

            /// The table it is written to, `{destination}/{table}`.
            pub fn table(self) -> &'static str {
                match self {
                    $(ObjectKind::$kind => $table,)*
                }
            }

            /// Whether rows of records gone from Jira are marked (`deletes`): issues by
            /// reconciliation, an issue's comments and links when its list no longer has them,
            /// worklogs by Jira's tombstones.
            pub fn has_deletes(self) -> bool {
                match self {
                    $(ObjectKind::$kind => object_kinds!(@deletes $sync),)*
                }
            }

            /// Whether deletes are found by comparing the table with a full listing
            /// (`reconcile_every`, `max_deleted_fraction`): the objects with a listing of their
            /// own records.
            pub fn reconciles(self) -> bool {
                match self {
                    $(ObjectKind::$kind => object_kinds!(@reconciles $sync),)*
                }
            }

            /// Whether the object is read incrementally (and so takes `jql` and `lookback`)
            /// rather than whole: it follows the issues' `updated` cursor, or its own feed.
            pub fn is_incremental(self) -> bool {
                match self {
                    $(ObjectKind::$kind => object_kinds!(@incremental $sync),)*
                }
            }

            /// Whether an issue's rows are swept when its list is read again: rows of the
            /// issue the read did not return are gone (comments, links).
            pub fn sweeps_by_issue(self) -> bool {
                match self {
                    $(ObjectKind::$kind => object_kinds!(@sweeps $sync),)*
                }
            }
        }
    };
    (@incremental snapshot) => { false };
    (@incremental $other:ident) => { true };
    (@deletes incremental) => { true };
    (@deletes issue_children) => { true };
    (@deletes feed) => { true };
    (@deletes $other:ident) => { false };
    (@reconciles incremental) => { true };
    (@reconciles $other:ident) => { false };
    (@sweeps issue_children) => { true };
    (@sweeps $other:ident) => { false };
}

for_each_object!(object_kinds);

impl ObjectKind {
    /// Whether only Jira Cloud can list it: Data Center's REST API has no label listing, so a
    /// Data Center pipeline naming one is refused and a starter pipeline leaves it out.
    pub fn cloud_only(self) -> bool {
        self == ObjectKind::Labels
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSelection {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl FieldSelection {
    pub fn keeps(&self, field: &str) -> bool {
        match self {
            FieldSelection::All => true,
            FieldSelection::Include(f) => field == "id" || f.iter().any(|x| x == field),
            FieldSelection::Exclude(f) => field == "id" || !f.iter().any(|x| x == field),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ObjectConfig {
    pub kind: ObjectKind,
    pub sync: SyncMode,
    pub jql: Option<String>,
    pub fields: FieldSelection,
    pub hash: Vec<String>,
    pub schema_drift: SchemaDrift,
    /// Overlap before the cursor on incremental runs.
    pub lookback: std::time::Duration,
    /// Deletion handling; `Ignore` for everything but incremental issues.
    pub deletes: Deletes,
    pub reconcile_every: std::time::Duration,
    /// The mass-delete guard: the largest fraction of a table one reconciliation may mark
    /// deleted, or one full refresh may drop (1.0 lets everything through).
    pub max_deleted_fraction: f64,
    /// The reject gate: the largest fraction of records read that may have a value left null.
    pub max_rejected_fraction: f64,
}

impl Pipeline {
    pub fn object(&self, kind: ObjectKind) -> Option<&ObjectConfig> {
        self.objects.iter().find(|o| o.kind == kind)
    }
}
