//! The pipeline file as written: the single source of the JSON Schema and of the README's
//! pipeline reference. Values keep their source location (`Spanned`) so that validation,
//! which happens after parsing, can still point at the offending line.
//!
//! Alternatives are flat structs checked in `validate` rather than tagged enums: serde buffers
//! tagged enums, which would lose every location inside them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// A string value that may use `${VAR}` interpolation.
pub type Text = Spanned<String>;

/// A jirapipe pipeline: where to read Jira, what to extract, where to write the tables.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// Version of the pipeline file format. Always `1`.
    #[schemars(with = "u32")]
    pub version: Spanned<u32>,
    /// Name of the pipeline; used in logs, run reports and the lease that prevents overlapping runs.
    #[schemars(with = "String")]
    pub name: Text,
    /// The Jira site to read.
    pub source: SourceSpec,
    /// Where the Delta Lake tables are written.
    pub destination: DestinationSpec,
    /// When the pipeline runs (used by `jirapipe schedule`); omit to run only on demand.
    #[serde(default)]
    pub schedule: Option<ScheduleSpec>,
    /// Keyed hashing of personal data; required when any object has `hash` paths.
    #[serde(default)]
    pub masking: Option<MaskingSpec>,
    /// The Jira objects to extract, each into its own table.
    #[schemars(with = "ObjectsSpec")]
    pub objects: Spanned<ObjectsSpec>,
}

/// Which Jira product the site runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Deployment {
    /// Jira Cloud (`https://{site}.atlassian.net`).
    #[default]
    Cloud,
    /// Jira Data Center / Server (self-hosted, `base_url`).
    DataCenter,
}

/// The Jira site and how to authenticate to it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// `cloud` (default) or `data_center`.
    #[serde(default)]
    #[schemars(with = "Option<Deployment>")]
    pub deployment: Option<Spanned<Deployment>>,
    /// Cloud site URL, e.g. `https://acme.atlassian.net`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub site: Option<Text>,
    /// Data Center base URL, e.g. `https://jira.acme.internal`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub base_url: Option<Text>,
    /// Credentials.
    pub auth: AuthSpec,
    /// Most requests per second sent to Jira, all objects together. Default 10. Jira Cloud
    /// answers 429 above its (cost-based) limit; staying under it is faster than retrying.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub requests_per_second: Option<Spanned<f64>>,
    /// Most requests in flight at once (objects and issue partitions together). Default 4.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub concurrency: Option<Spanned<u32>>,
    /// PEM file of extra certificate authorities to trust for `https://` (a Data Center site
    /// behind an internal CA). The public roots stay trusted.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ca_certificate: Option<Text>,
    /// How long a response may stay silent before the request is abandoned and retried, e.g.
    /// `30s`. Default `60s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub read_timeout: Option<Text>,
    /// The largest response read, in MB (1–1024). A larger one fails the run naming the
    /// endpoint, so memory stays bounded whatever the site sends. Default 64.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max_response_mb: Option<Spanned<u32>>,
    /// The longest a run waits for Jira Cloud's hourly API quota (OAuth apps) to reset once it
    /// is spent, e.g. `15m`; a reset further away fails the run naming the reset time, so a
    /// scheduled run does not hold its slot for an hour. Default `15m`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_rate_limit_wait: Option<Text>,
}

/// How jirapipe authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// Jira Cloud API token: HTTP Basic with `email` and `token`.
    ApiToken,
    /// Data Center personal access token, sent as `Authorization: Bearer`.
    Pat,
    /// HTTP Basic with `username` and `password` (Data Center).
    Basic,
    /// OAuth 2.0 with a rotating refresh token: a Jira Cloud 3LO app, or on Data Center an
    /// incoming application link (`client_id`, `client_secret`, `refresh_token`).
    Oauth2,
    /// Jira Cloud service account OAuth 2.0 credential (client credentials grant):
    /// `client_id` and `client_secret`.
    Oauth2ClientCredentials,
}

/// Credentials. Secret values come from `${ENV}` or from a `*_file` path, never inline.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// `api_token`, `oauth2` or `oauth2_client_credentials` (Cloud), `pat`, `basic` or `oauth2`
    /// (Data Center).
    #[serde(rename = "type")]
    #[schemars(with = "AuthKind")]
    pub kind: Spanned<AuthKind>,
    /// Atlassian account email (`api_token`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub email: Option<Text>,
    /// API token or PAT, usually `${JIRA_API_TOKEN}` (`api_token`, `pat`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token: Option<Text>,
    /// File holding the API token or PAT, e.g. a mounted Kubernetes secret.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token_file: Option<Text>,
    /// The API token has scopes (`api_token`): every service account token does. Scoped tokens
    /// work only through Atlassian's gateway `https://api.atlassian.com/ex/jira/{cloud_id}`,
    /// which jirapipe then uses. Default `false`.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub scoped: Option<Spanned<bool>>,
    /// When the API token expires (`api_token`), e.g. `2026-03-31`, as shown where it was
    /// created; `check` warns 14 days ahead and names an expired token.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub expires: Option<Text>,
    /// User name (`basic`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub username: Option<Text>,
    /// Password (`basic`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub password: Option<Text>,
    /// File holding the password (`basic`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub password_file: Option<Text>,
    /// OAuth client id (`oauth2`, `oauth2_client_credentials`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_id: Option<Text>,
    /// OAuth client secret (`oauth2`, `oauth2_client_credentials`), usually `${JIRA_CLIENT_SECRET}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_secret: Option<Text>,
    /// File holding the OAuth client secret (`oauth2`, `oauth2_client_credentials`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_secret_file: Option<Text>,
    /// The refresh token from the consent flow (`oauth2`). Used only until jirapipe has stored a
    /// rotated one in `token_store`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub refresh_token: Option<Text>,
    /// File holding the initial refresh token (`oauth2`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub refresh_token_file: Option<Text>,
    /// Where jirapipe keeps the rotating refresh token (`oauth2`): a file only this user can
    /// read, on storage that survives between runs. Default
    /// `.jirapipe/{name}.oauth.json` beside the pipeline file.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token_store: Option<Text>,
    /// The site's cloud id (Cloud `oauth2`, `oauth2_client_credentials`, `api_token` with
    /// `scoped: true`). Default: looked up from the site.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cloud_id: Option<Text>,
    /// The token endpoint (`oauth2`, `oauth2_client_credentials`). Default
    /// `https://auth.atlassian.com/oauth/token` on Cloud, `{base_url}/rest/oauth2/latest/token`
    /// on Data Center.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token_url: Option<Text>,
    /// Atlassian's API gateway (Cloud `oauth2`, `oauth2_client_credentials`, `api_token`: with
    /// `scoped: true` every request goes there; without it `check` asks it whether a token the
    /// site refuses is a scoped one). Default `https://api.atlassian.com`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub api_url: Option<Text>,
    /// The redirect URL of the Data Center application link (`oauth2` on Data Center): Jira
    /// checks it again on every refresh.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub redirect_uri: Option<Text>,
}

/// Where the tables go.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationSpec {
    /// `file:///abs/path`, a local path (relative to the pipeline file), `s3://bucket/prefix`,
    /// `gs://bucket/prefix`, `az://container/prefix`,
    /// `abfss://container@account.dfs.core.windows.net/prefix` or `memory://`. Each object is
    /// written to `{url}/{object}`.
    #[schemars(with = "String")]
    pub url: Text,
    /// Compact small files (Delta `OPTIMIZE`) and vacuum every this many table versions.
    /// Default 96 (a day of 15-minute runs); `0` turns it off.
    #[serde(default)]
    #[schemars(with = "Option<u64>")]
    pub compact_every: Option<Spanned<u64>>,
    /// How long files no longer in the table are kept for readers and time travel before
    /// vacuum deletes them. Default `7d`; at least `1h`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub vacuum_retention: Option<Text>,
    /// How long a failing storage operation (a write, the commit, the lease) is retried before
    /// the run fails, e.g. `3m` (the default).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub retry_timeout: Option<Text>,
    /// How long one storage request may take before it is abandoned and retried, e.g. `30s`
    /// (the default).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub request_timeout: Option<Text>,
}

/// When the pipeline runs. Exactly one of `cron` and `every`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Cron expression, e.g. `*/15 * * * *`; runs closer than 15 minutes apart are rejected.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cron: Option<Text>,
    /// Fixed interval, e.g. `30m` or `2h`; at least 15 minutes.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub every: Option<Text>,
    /// IANA time zone of `cron`, e.g. `Europe/Berlin`. Default `UTC`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timezone: Option<Text>,
}

/// Keyed hashing (HMAC-SHA256) of personal data.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaskingSpec {
    /// The HMAC key, usually `${JIRA_MASK_KEY}`; keep it stable so hashes join across runs.
    #[schemars(with = "String")]
    pub key: Text,
}

/// Expands the object list (`for_each_object!` in `lib.rs`) into the `objects:` block.
macro_rules! objects_spec {
    ($($(#[$doc:meta])* $kind:ident = $module:ident, $sync:ident, $table:literal;)*) => {
        /// The objects to extract. Each becomes the table `{destination}/{object}`.
        #[derive(Debug, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct ObjectsSpec {
            $(
                $(#[$doc])*
                #[serde(default)]
                pub $module: Option<ObjectSpec>,
            )*
        }

        impl ObjectsSpec {
            /// Each object with its block, in table order.
            pub fn entries(&self) -> Vec<(super::ObjectKind, Option<&ObjectSpec>)> {
                vec![$((super::ObjectKind::$kind, self.$module.as_ref())),*]
            }
        }
    };
}

for_each_object!(objects_spec);

/// How an object's table is kept up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Fetch only what changed since the last run and merge it by `id`.
    Incremental,
    /// Fetch everything and replace the table in one commit.
    FullRefresh,
}

/// What happens when Jira has fields the table does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchemaDrift {
    /// Add new fields as columns.
    #[default]
    AutoSync,
    /// Keep the table's columns and report the new fields.
    Block,
    /// Stop the run before anything is written.
    Fail,
}

/// What happens to rows of issues deleted in Jira.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Deletes {
    /// Keep the row and set `_deleted_at`.
    #[default]
    Soft,
    /// Remove the row.
    Hard,
    /// Do not look for deletions.
    Ignore,
}

/// Settings of one object.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    /// `incremental` or `full_refresh`. Default: `incremental` for issues, `full_refresh` otherwise.
    #[serde(default)]
    #[schemars(with = "Option<SyncMode>")]
    pub sync: Option<Spanned<SyncMode>>,
    /// JQL restricting the issues extracted, or whose comments, worklogs, links or history are
    /// (incremental objects only), e.g. `project in (ENG, OPS)`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub jql: Option<Text>,
    /// Which fields become columns: `{include: [...]}` or `{exclude: [...]}`. `id` is always kept.
    #[serde(default)]
    pub fields: Option<FieldsSpec>,
    /// Paths whose values are replaced by their keyed hash, e.g. `assignee.emailAddress`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub hash: Vec<Text>,
    /// `auto_sync` (default), `block` or `fail`.
    #[serde(default)]
    #[schemars(with = "Option<SchemaDrift>")]
    pub schema_drift: Option<Spanned<SchemaDrift>>,
    /// What happens to rows of records deleted in Jira (incremental issues, comments, worklogs
    /// and issue links): `soft` (default) sets `_deleted_at`, `hard` removes the rows, `ignore`
    /// keeps them as they are.
    #[serde(default)]
    #[schemars(with = "Option<Deletes>")]
    pub deletes: Option<Spanned<Deletes>>,
    /// How often deletions are looked for (incremental issues only), e.g. `24h`; `0s` on every
    /// run. Each look is an ids-only search over the whole JQL. Default `24h`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub reconcile_every: Option<Text>,
    /// The largest share of an incremental table one reconciliation may mark deleted, or of a
    /// `full_refresh` table one run may drop, as a percentage (`10%`) or a fraction (`0.1`). A
    /// run that would remove more refuses, changes nothing and exits 1 (`jirapipe run
    /// --allow-mass-delete` lets one run through). Default `10%`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_deleted_fraction: Option<Text>,
    /// The largest share of the records read whose values may not fit their columns (each such
    /// value is written as null and recorded in `_rejects`) before the object fails without
    /// committing, as a percentage (`1%`) or a fraction. Up to 10 such records always pass.
    /// Default `1%`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_rejected_fraction: Option<Text>,
    /// How far before the cursor an incremental run starts again (issues only), e.g. `5m`.
    /// Covers JQL's minute precision and Jira's search index lagging behind edits. Default `5m`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub lookback: Option<Text>,
}

/// Field selection: exactly one of `include` and `exclude`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldsSpec {
    /// Only these fields (plus `id`).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub include: Option<Spanned<Vec<Text>>>,
    /// All fields except these.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub exclude: Option<Spanned<Vec<Text>>>,
}
