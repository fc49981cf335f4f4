//! From the file as written (`model`) to the validated [`Pipeline`]: interpolation, defaults and
//! every cross-field rule, each failure located and paired with its fix. All problems are
//! collected so one `validate` shows them together.

use std::path::Path;

use serde_saphyr::Location;
use url::Url;

use super::error::{ConfigError, SourceFile};
use super::interpolate::{InterpolateError, Vars, interpolate};
use super::model::{AuthKind, AuthSpec, Deletes, Deployment, FieldsSpec, ObjectSpec, PipelineFile, SyncMode, Text};
use super::pipeline::{
    Auth, Destination, FieldSelection, OAuth2, ObjectConfig, ObjectKind, Pipeline, Schedule, Source,
};
use super::secret::Secret;

pub(super) struct Resolver<'a> {
    pub src: &'a SourceFile,
    pub vars: &'a Vars,
    /// Directory of the pipeline file: relative paths are read from there.
    pub base_dir: &'a Path,
    pub errors: Vec<ConfigError>,
}

const DEFAULT_REQUESTS_PER_SECOND: f64 = 10.0;
const DEFAULT_CONCURRENCY: u32 = 4;
/// Long enough to cover JQL's minute precision and ordinary index lag.
const DEFAULT_LOOKBACK: std::time::Duration = std::time::Duration::from_secs(5 * 60);
const DEFAULT_RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

const SCHEMES: &str = "file://, s3://, gs://, az://, memory:// or a local path";

impl Resolver<'_> {
    fn at(&mut self, loc: &Location, message: impl Into<String>, label: &str, help: impl Into<String>) {
        let e = self.src.error_at(loc, message, label, help);
        self.errors.push(e);
    }

    /// Interpolates a value; a missing variable is reported at its `${...}`.
    fn text(&mut self, t: &Text, key: &str) -> Option<String> {
        match interpolate(&t.value, self.vars) {
            Ok(v) => Some(v),
            Err(e) => {
                let (offset, len, message, help) = match &e {
                    InterpolateError::Missing { name, offset } => (
                        *offset,
                        name.len() + 3,
                        format!("environment variable `{name}` used by `{key}` is not set"),
                        format!("export {name}=... before running jirapipe, or write `$${{` for a literal `${{`"),
                    ),
                    InterpolateError::Unclosed { offset } => (
                        *offset,
                        2,
                        format!("`${{` in `{key}` is not closed"),
                        "write `${NAME}`, or `$${` for a literal `${`".to_string(),
                    ),
                    InterpolateError::BadName { name, offset } => (
                        *offset,
                        name.len() + 3,
                        format!("`${{{name}}}` in `{key}` is not a valid variable name"),
                        "variable names are letters, digits and `_`, not starting with a digit".to_string(),
                    ),
                };
                let start = self.src.value_start(&t.referenced) + offset;
                // Point inside the value only when the raw text really is there (plain scalars
                // and simple quoted strings); otherwise at the value.
                let exact = self.src.text.get(start..start + 2) == Some("${");
                let err = if exact {
                    self.src.error_span(start, len, message, "here", help)
                } else {
                    self.src.error_at(&t.referenced, message, "here", help)
                };
                self.errors.push(err);
                None
            }
        }
    }

    /// A secret: from `${ENV}` in `inline` or from the file named by `file`, never a literal.
    fn secret(&mut self, inline: &Option<Text>, file: &Option<Text>, key: &str, owner: &Location) -> Option<Secret> {
        let file_key = format!("{key}_file");
        match (inline, file) {
            (Some(_), Some(f)) => {
                self.at(
                    &f.referenced,
                    format!("both `{key}` and `{file_key}` are set"),
                    "second source",
                    format!("keep one of `{key}` and `{file_key}`"),
                );
                None
            }
            (None, None) => {
                self.at(
                    owner,
                    format!("`{key}` is required for this auth type"),
                    "in this auth block",
                    format!("add `{key}: ${{JIRA_{}}}` or `{file_key}: /path/to/secret`", key.to_uppercase()),
                );
                None
            }
            (Some(t), None) => {
                if !t.value.contains("${") {
                    self.at(
                        &t.referenced,
                        format!("`{key}` is written inline in the pipeline file"),
                        "literal secret",
                        format!(
                            "secrets must not live in pipeline files: use `{key}: ${{JIRA_{}}}` or `{file_key}:`",
                            key.to_uppercase()
                        ),
                    );
                    return None;
                }
                self.text(t, key).map(Secret::new)
            }
            (None, Some(f)) => {
                let path = self.text(f, &file_key)?;
                let full = self.base_dir.join(&path);
                match std::fs::read_to_string(&full) {
                    Ok(s) if !s.trim().is_empty() => Some(Secret::new(s.trim_end_matches(['\n', '\r']))),
                    Ok(_) => {
                        self.at(
                            &f.referenced,
                            format!("`{file_key}` {} is empty", full.display()),
                            "empty file",
                            "write the secret into the file (a trailing newline is ignored)",
                        );
                        None
                    }
                    Err(e) => {
                        self.at(&f.referenced, format!("cannot read `{file_key}` {}: {e}", full.display()), "unreadable", "check the path (relative paths are read from the pipeline file's directory) and its permissions");
                        None
                    }
                }
            }
        }
    }

    /// Rejects every key of `a` that `kind` does not use.
    fn only(&mut self, a: &AuthSpec, kind: AuthKind, allowed: &[&str]) {
        let keys: [(&str, &Option<Text>); 15] = [
            ("email", &a.email),
            ("token", &a.token),
            ("token_file", &a.token_file),
            ("username", &a.username),
            ("password", &a.password),
            ("password_file", &a.password_file),
            ("client_id", &a.client_id),
            ("client_secret", &a.client_secret),
            ("client_secret_file", &a.client_secret_file),
            ("refresh_token", &a.refresh_token),
            ("refresh_token_file", &a.refresh_token_file),
            ("token_store", &a.token_store),
            ("cloud_id", &a.cloud_id),
            ("token_url", &a.token_url),
            ("api_url", &a.api_url),
        ];
        for (key, value) in keys {
            if let Some(v) = value
                && !allowed.contains(&key)
            {
                let name = auth_name(kind);
                self.at(
                    &v.referenced,
                    format!("`{key}` is not used with `type: {name}`"),
                    "not used",
                    format!("remove `{key}`, or change `type` to the auth method that uses it"),
                );
            }
        }
    }

    fn required(
        &mut self,
        value: &Option<Text>,
        key: &str,
        kind: AuthKind,
        loc: &Location,
        example: &str,
    ) -> Option<String> {
        match value {
            Some(v) => self.text(v, key),
            None => {
                self.at(
                    loc,
                    format!("`{key}` is required with `type: {}`", auth_name(kind)),
                    format!("needs {key}").as_str(),
                    format!("add `{key}: {example}`"),
                );
                None
            }
        }
    }

    fn auth(&mut self, a: &AuthSpec, deployment: Deployment, pipeline_name: Option<&str>) -> Option<Auth> {
        let kind = a.kind.value;
        let loc = a.kind.referenced;
        match (deployment, kind) {
            (Deployment::Cloud, AuthKind::Pat) => {
                self.at(
                    &loc,
                    "personal access tokens (PAT) exist only on Jira Data Center",
                    "Data Center only",
                    "for Jira Cloud use `type: api_token` with `email` and an API token from id.atlassian.com",
                );
                return None;
            }
            (Deployment::DataCenter, AuthKind::ApiToken | AuthKind::Oauth2) => {
                self.at(
                    &loc,
                    format!("`type: {}` is for Jira Cloud; Data Center uses a PAT or Basic auth", auth_name(kind)),
                    "Cloud only",
                    "use `type: pat` with `token: ${JIRA_PAT}`, or `type: basic`",
                );
                return None;
            }
            _ => {}
        }
        match kind {
            AuthKind::ApiToken => {
                self.only(a, kind, &["email", "token", "token_file"]);
                let email = self.required(
                    &a.email,
                    "email",
                    kind,
                    &loc,
                    "${JIRA_EMAIL}` (the Atlassian account the token belongs to",
                );
                let token = self.secret(&a.token, &a.token_file, "token", &loc);
                Some(Auth::ApiToken { email: email?, token: token? })
            }
            AuthKind::Pat => {
                self.only(a, kind, &["token", "token_file"]);
                Some(Auth::Pat { token: self.secret(&a.token, &a.token_file, "token", &loc)? })
            }
            AuthKind::Basic => {
                self.only(a, kind, &["username", "password", "password_file"]);
                let username = self.required(&a.username, "username", kind, &loc, "${JIRA_USER}");
                let password = self.secret(&a.password, &a.password_file, "password", &loc);
                Some(Auth::Basic { username: username?, password: password? })
            }
            AuthKind::Oauth2 => {
                self.only(
                    a,
                    kind,
                    &[
                        "client_id",
                        "client_secret",
                        "client_secret_file",
                        "refresh_token",
                        "refresh_token_file",
                        "token_store",
                        "cloud_id",
                        "token_url",
                        "api_url",
                    ],
                );
                let client_id = self.required(&a.client_id, "client_id", kind, &loc, "${JIRA_CLIENT_ID}");
                let client_secret = self.secret(&a.client_secret, &a.client_secret_file, "client_secret", &loc);
                let refresh_token = self.secret(&a.refresh_token, &a.refresh_token_file, "refresh_token", &loc);
                let token_store = match &a.token_store {
                    Some(t) => self.text(t, "token_store").map(|p| self.base_dir.join(p)),
                    None => Some(self.base_dir.join(".jirapipe").join(format!("{}.oauth.json", pipeline_name?))),
                };
                let cloud_id = match &a.cloud_id {
                    Some(c) => Some(self.text(c, "cloud_id")?),
                    None => None,
                };
                let token_url = match &a.token_url {
                    Some(t) => self.site_url(t, "token_url"),
                    None => Some(Url::parse("https://auth.atlassian.com/oauth/token").expect("static URL")),
                };
                let api_url = match &a.api_url {
                    Some(t) => self.site_url(t, "api_url"),
                    None => Some(Url::parse("https://api.atlassian.com").expect("static URL")),
                };
                Some(Auth::OAuth2(Box::new(OAuth2 {
                    client_id: client_id?,
                    client_secret: client_secret?,
                    refresh_token: refresh_token?,
                    token_store: std::path::absolute(token_store?).ok()?,
                    cloud_id,
                    token_url: token_url?,
                    api_url: api_url?,
                })))
            }
        }
    }

    fn site_url(&mut self, t: &Text, key: &str) -> Option<Url> {
        let raw = self.text(t, key)?;
        match Url::parse(raw.trim_end_matches('/')) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Some(u),
            _ => {
                self.at(
                    &t.referenced,
                    format!("`{key}` is not an http(s) URL: `{raw}`"),
                    "not a URL",
                    format!("write the full URL, e.g. `{key}: https://acme.atlassian.net`"),
                );
                None
            }
        }
    }

    fn source(&mut self, f: &PipelineFile, pipeline_name: Option<&str>) -> Option<Source> {
        let s = &f.source;
        let deployment = s.deployment.as_ref().map(|d| d.value).unwrap_or_default();
        let auth_loc = s.auth.kind.referenced;
        let base_url = match (deployment, &s.site, &s.base_url) {
            (Deployment::Cloud, Some(site), None) => self.site_url(site, "site"),
            (Deployment::DataCenter, None, Some(b)) => self.site_url(b, "base_url"),
            (Deployment::Cloud, _, Some(b)) => {
                self.at(
                    &b.referenced,
                    "`base_url` is for Data Center; Jira Cloud uses `site`",
                    "Data Center key",
                    "rename it to `site:`, or set `deployment: data_center`",
                );
                None
            }
            (Deployment::DataCenter, Some(site), _) => {
                self.at(
                    &site.referenced,
                    "`site` is for Jira Cloud; Data Center uses `base_url`",
                    "Cloud key",
                    "rename it to `base_url:`, or set `deployment: cloud`",
                );
                None
            }
            (Deployment::Cloud, None, None) => {
                self.at(
                    &auth_loc,
                    "`source.site` is missing",
                    "source needs a site",
                    "add `site: https://your-site.atlassian.net` under `source`",
                );
                None
            }
            (Deployment::DataCenter, None, None) => {
                self.at(
                    &auth_loc,
                    "`source.base_url` is missing",
                    "source needs base_url",
                    "add `base_url: https://jira.example.com` under `source`",
                );
                None
            }
        };
        let auth = self.auth(&s.auth, deployment, pipeline_name);
        let requests_per_second = match &s.requests_per_second {
            Some(r) if !(r.value > 0.0 && r.value <= 1000.0) => {
                self.at(
                    &r.referenced,
                    format!("`requests_per_second` must be above 0 and at most 1000, not {}", r.value),
                    "out of range",
                    "use e.g. `requests_per_second: 10`",
                );
                None
            }
            Some(r) => Some(r.value),
            None => Some(DEFAULT_REQUESTS_PER_SECOND),
        };
        let concurrency = match &s.concurrency {
            Some(c) if c.value == 0 || c.value > 64 => {
                self.at(
                    &c.referenced,
                    format!("`concurrency` must be 1 to 64, not {}", c.value),
                    "out of range",
                    "use e.g. `concurrency: 4`",
                );
                None
            }
            Some(c) => Some(c.value),
            None => Some(DEFAULT_CONCURRENCY),
        };
        let ca_certificates = match &s.ca_certificate {
            Some(t) => self.ca_certificates(t),
            None => Some(Vec::new()),
        };
        Some(Source {
            deployment,
            base_url: base_url?,
            auth: auth?,
            requests_per_second: requests_per_second?,
            concurrency: concurrency?,
            ca_certificates: ca_certificates?,
        })
    }

    /// Reads and parses `ca_certificate` now, so a bad file fails `validate`, not the first
    /// request of a scheduled run.
    fn ca_certificates(&mut self, t: &Text) -> Option<Vec<reqwest::Certificate>> {
        let path = self.base_dir.join(self.text(t, "ca_certificate")?);
        let pem = match std::fs::read(&path) {
            Ok(pem) => pem,
            Err(e) => {
                self.at(
                    &t.referenced,
                    format!("cannot read `ca_certificate` {}: {e}", path.display()),
                    "unreadable",
                    "check the path (relative paths are read from the pipeline file's directory) and its permissions",
                );
                return None;
            }
        };
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certs) if !certs.is_empty() => Some(certs),
            Ok(_) | Err(_) => {
                self.at(
                    &t.referenced,
                    format!("`ca_certificate` {} holds no PEM certificate", path.display()),
                    "not a PEM certificate",
                    "point it at a PEM file with `-----BEGIN CERTIFICATE-----` blocks (convert DER with `openssl x509 -inform der`)",
                );
                None
            }
        }
    }

    fn destination(&mut self, f: &PipelineFile) -> Option<Destination> {
        let t = &f.destination.url;
        let raw = self.text(t, "destination.url")?;
        if raw.trim().is_empty() {
            self.at(&t.referenced, "`destination.url` is empty", "empty", format!("use {SCHEMES}"));
            return None;
        }
        let url = match Url::parse(&raw) {
            Ok(u) if u.scheme().len() > 1 => u,
            // No scheme (or a Windows drive letter): a local folder.
            _ => {
                let path = self.base_dir.join(&raw);
                let abs = std::path::absolute(&path).unwrap_or(path);
                match Url::from_directory_path(&abs) {
                    Ok(u) => u,
                    Err(()) => {
                        self.at(
                            &t.referenced,
                            format!("`{raw}` is not a usable local path"),
                            "bad path",
                            format!("use {SCHEMES}"),
                        );
                        return None;
                    }
                }
            }
        };
        let d = &f.destination;
        let compact_every = d.compact_every.as_ref().map(|c| c.value).unwrap_or(96);
        let vacuum_retention = match &d.vacuum_retention {
            Some(t) => {
                let raw = self.text(t, "vacuum_retention")?;
                match humantime::parse_duration(raw.trim()) {
                    Ok(r) if r >= std::time::Duration::from_secs(3600) => r,
                    Ok(_) => {
                        self.at(
                            &t.referenced,
                            format!("`vacuum_retention: {raw}` is under an hour"),
                            "too short",
                            "readers still scanning an older version would lose files; use at least `1h` (default `7d`)",
                        );
                        return None;
                    }
                    Err(e) => {
                        self.at(
                            &t.referenced,
                            format!("`vacuum_retention: {raw}` is not a duration: {e}"),
                            "not a duration",
                            "write e.g. `7d` or `48h`",
                        );
                        return None;
                    }
                }
            }
            None => std::time::Duration::from_secs(7 * 24 * 3600),
        };
        match url.scheme() {
            "file" | "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "memory" => {
                Some(Destination { url, compact_every, vacuum_retention })
            }
            other => {
                self.at(
                    &t.referenced,
                    format!("destination scheme `{other}://` is not supported"),
                    "unsupported scheme",
                    format!("use {SCHEMES}"),
                );
                None
            }
        }
    }

    /// Parses `cron` or `every` and checks the 15-minute floor over the coming year.
    fn schedule(&mut self, f: &PipelineFile) -> Option<Option<Schedule>> {
        let Some(s) = &f.schedule else { return Some(None) };
        let timezone = match &s.timezone {
            Some(t) => {
                let name = self.text(t, "schedule.timezone")?;
                match super::cron::parse_timezone(&name) {
                    Ok(tz) => tz,
                    Err(e) => {
                        self.at(&t.referenced, e.to_string(), "unknown time zone", e.help());
                        return None;
                    }
                }
            }
            None => chrono_tz::Tz::UTC,
        };
        let (text, parsed) = match (&s.cron, &s.every) {
            (Some(_), Some(e)) => {
                self.at(
                    &e.referenced,
                    "`schedule` has both `cron` and `every`",
                    "second schedule",
                    "keep exactly one of `cron` and `every`",
                );
                return None;
            }
            (None, None) => {
                let loc = s.timezone.as_ref().map(|t| t.referenced).unwrap_or(f.name.referenced);
                self.at(
                    &loc,
                    "`schedule` needs `cron` or `every`",
                    "schedule",
                    "add `cron: \"*/15 * * * *\"` or `every: 30m`, or remove `schedule`",
                );
                return None;
            }
            (Some(c), None) => {
                let expression = self.text(c, "schedule.cron")?;
                let parsed = Schedule::cron(&expression, timezone).and_then(|s| {
                    s.check_floor(chrono::Utc::now())?;
                    Ok(s)
                });
                (c, parsed)
            }
            (None, Some(e)) => {
                if let Some(t) = &s.timezone {
                    self.at(
                        &t.referenced,
                        "`timezone` applies to `cron` only",
                        "not used by `every`",
                        "remove `timezone`: an interval runs every so often whatever the zone",
                    );
                    return None;
                }
                (e, Schedule::every(&self.text(e, "schedule.every")?))
            }
        };
        match parsed {
            Ok(schedule) => Some(Some(schedule)),
            Err(e) => {
                let label = match e {
                    super::cron::ScheduleError::TooClose { .. } => "runs too close together",
                    _ => "invalid schedule",
                };
                self.at(&text.referenced, e.to_string(), label, e.help());
                None
            }
        }
    }

    fn object(&mut self, kind: ObjectKind, o: &ObjectSpec) -> Option<ObjectConfig> {
        let sync = match &o.sync {
            Some(s) if s.value == SyncMode::Incremental && !kind.is_incremental() => {
                self.at(
                    &s.referenced,
                    format!("`{kind}` cannot be extracted incrementally: Jira gives no change date for them"),
                    "only issues are incremental",
                    "use `sync: full_refresh`",
                );
                None
            }
            Some(s) => Some(s.value),
            None if kind.is_incremental() => Some(SyncMode::Incremental),
            None => Some(SyncMode::FullRefresh),
        };
        let jql = match &o.jql {
            Some(j) if !kind.is_incremental() => {
                self.at(
                    &j.referenced,
                    format!("`jql` applies only to issues, not to `{kind}`"),
                    "not for this object",
                    "move the `jql` under `objects.issues`, or remove it",
                );
                None
            }
            Some(j) => {
                let q = self.text(j, "jql").filter(|q| !q.trim().is_empty());
                // jirapipe wraps the filter in its own windows and ordering; an `ORDER BY`
                // inside the parentheses would be a Jira syntax error at run time.
                if q.as_deref().is_some_and(|q| {
                    q.to_ascii_lowercase()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .windows(2)
                        .any(|w| w == ["order", "by"])
                }) {
                    self.at(
                        &j.referenced,
                        "`jql` must not contain `ORDER BY`: jirapipe orders its own queries".to_string(),
                        "ordering here",
                        "remove the `ORDER BY …` part; the table has no order to keep",
                    );
                }
                q
            }
            None => None,
        };
        let fields = self.fields(o.fields.as_ref());
        let incremental_issues = kind.is_incremental() && sync == Some(SyncMode::Incremental);
        let lookback =
            self.issues_duration(&o.lookback, "lookback", incremental_issues, 7 * 24 * 3600, DEFAULT_LOOKBACK);
        let reconcile_every = self.issues_duration(
            &o.reconcile_every,
            "reconcile_every",
            incremental_issues,
            366 * 24 * 3600,
            DEFAULT_RECONCILE_EVERY,
        );
        let deletes = match &o.deletes {
            Some(d) if !incremental_issues => {
                self.at(
                    &d.referenced,
                    format!("`deletes` applies only to issues with `sync: incremental`, not to `{kind}`"),
                    "not for this object",
                    "remove `deletes`: a full refresh replaces the table, so deleted records disappear with it",
                );
                None
            }
            Some(d) => Some(d.value),
            None if incremental_issues => Some(Deletes::Soft),
            None => Some(Deletes::Ignore),
        };
        let mut hash = Vec::new();
        for h in &o.hash {
            let path = self.text(h, "hash")?;
            if path == "id" {
                self.at(
                    &h.referenced,
                    "`id` cannot be hashed: it is the primary key that merges and joins rely on",
                    "primary key",
                    "remove `id` from `hash`",
                );
            } else if path.trim().is_empty() {
                self.at(
                    &h.referenced,
                    "empty path in `hash`",
                    "empty",
                    "write a field path such as `assignee.emailAddress`",
                );
            } else {
                hash.push(path);
            }
        }
        Some(ObjectConfig {
            kind,
            sync: sync?,
            jql,
            fields: fields?,
            hash,
            schema_drift: o.schema_drift.as_ref().map(|d| d.value).unwrap_or_default(),
            lookback: lookback?,
            deletes: deletes?,
            reconcile_every: reconcile_every?,
        })
    }

    /// A duration key of incremental issues (`lookback`, `reconcile_every`), at most `max_secs`.
    fn issues_duration(
        &mut self,
        value: &Option<Text>,
        key: &str,
        allowed: bool,
        max_secs: u64,
        default: std::time::Duration,
    ) -> Option<std::time::Duration> {
        let Some(l) = value else { return Some(default) };
        if !allowed {
            self.at(
                &l.referenced,
                format!("`{key}` applies only to issues with `sync: incremental`"),
                "not for this object",
                format!("remove `{key}`"),
            );
            return None;
        }
        let raw = self.text(l, key)?;
        match humantime::parse_duration(raw.trim()) {
            Ok(d) if d.as_secs() <= max_secs => Some(d),
            Ok(_) => {
                self.at(
                    &l.referenced,
                    format!(
                        "`{key}: {raw}` is too long (at most {})",
                        humantime::format_duration(std::time::Duration::from_secs(max_secs))
                    ),
                    "too long",
                    format!("use a shorter duration, e.g. `{key}: {}`", humantime::format_duration(default)),
                );
                None
            }
            Err(e) => {
                self.at(
                    &l.referenced,
                    format!("`{key}: {raw}` is not a duration: {e}"),
                    "not a duration",
                    "write e.g. `5m`, `90s`, `1h` or `1d`",
                );
                None
            }
        }
    }

    fn fields(&mut self, f: Option<&FieldsSpec>) -> Option<FieldSelection> {
        let Some(f) = f else { return Some(FieldSelection::All) };
        let list = |r: &mut Self, items: &[Text], key: &str| -> Option<Vec<String>> {
            let mut out = Vec::new();
            for t in items {
                out.push(r.text(t, key)?);
            }
            Some(out)
        };
        match (&f.include, &f.exclude) {
            (Some(inc), None) => {
                if inc.value.is_empty() {
                    self.at(
                        &inc.referenced,
                        "`fields.include` is empty",
                        "empty list",
                        "list the fields to keep, or remove `fields` to keep all",
                    );
                    return None;
                }
                Some(FieldSelection::Include(list(self, &inc.value, "fields.include")?))
            }
            (None, Some(exc)) => {
                if let Some(id) = exc.value.iter().find(|t| t.value == "id") {
                    self.at(
                        &id.referenced,
                        "`id` cannot be excluded: every table is keyed by it",
                        "primary key",
                        "remove `id` from `exclude`",
                    );
                    return None;
                }
                Some(FieldSelection::Exclude(list(self, &exc.value, "fields.exclude")?))
            }
            (Some(_), Some(exc)) => {
                self.at(
                    &exc.referenced,
                    "`fields` has both `include` and `exclude`",
                    "second list",
                    "keep one: `include` lists what to keep, `exclude` what to drop",
                );
                None
            }
            (None, None) => Some(FieldSelection::All),
        }
    }

    pub fn pipeline(&mut self, f: &PipelineFile) -> Option<Pipeline> {
        if f.version.value != 1 {
            self.at(
                &f.version.referenced,
                format!("unsupported pipeline version {}", f.version.value),
                "version",
                "set `version: 1`",
            );
        }
        let name = self.text(&f.name, "name");
        if let Some(n) = &name
            && (n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            self.at(
                &f.name.referenced,
                format!("pipeline name `{n}` must be letters, digits, `-` or `_`"),
                "name",
                "pick a short identifier such as `acme-jira`",
            );
        }
        let source = self.source(f, name.as_deref());
        let destination = self.destination(f);
        let schedule = self.schedule(f);
        let masking_key = match &f.masking {
            Some(m) => {
                let none = None;
                self.secret(&Some(m.key.clone()), &none, "key", &m.key.referenced)
            }
            None => None,
        };

        let o = &f.objects.value;
        let specs = o.entries();
        let mut objects = Vec::new();
        for &(kind, spec) in &specs {
            if let Some(spec) = spec {
                objects.extend(self.object(kind, spec));
                if !spec.hash.is_empty() && f.masking.is_none() {
                    self.at(&spec.hash[0].referenced, format!("`{kind}` hashes fields but no masking key is configured"), "needs masking.key", "add a top-level `masking:` block with `key: ${JIRA_MASK_KEY}` (a long random secret; keep it stable)");
                }
            }
        }
        if specs.iter().all(|(_, s)| s.is_none()) {
            self.at(
                &f.objects.referenced,
                "`objects` is empty: nothing to extract",
                "no objects",
                "add at least one object, e.g. `issues: {sync: incremental}`",
            );
        }
        if !self.errors.is_empty() {
            return None;
        }
        Some(Pipeline {
            name: name?,
            source: source?,
            destination: destination?,
            schedule: schedule?,
            masking_key,
            objects,
        })
    }
}

fn auth_name(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::ApiToken => "api_token",
        AuthKind::Pat => "pat",
        AuthKind::Basic => "basic",
        AuthKind::Oauth2 => "oauth2",
    }
}
