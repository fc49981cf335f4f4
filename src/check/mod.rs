//! `jirapipe check`, the pipeline's healthcheck: is the site what the pipeline says it is, do
//! the credentials work, and can the API user read each configured object? Every failure is
//! explained with an entry of the error catalog ([`catalog`]): the problem and its fix.
//!
//! Probes are cheap (one record where Jira allows it) and run in order: the site (without
//! credentials), authentication, OAuth scopes, then each object. A failure that makes the
//! later probes meaningless (wrong site, rejected credentials) skips them, so the first problem
//! shown is the one to fix first. Retries are few and short: `check` reports "rate limited
//! right now" instead of waiting it out.

pub mod catalog;
pub mod scopes;
mod site;

use std::time::Duration;

use serde::Serialize;

use catalog::Context;
pub use catalog::Diagnosis;

use crate::config::{Auth, Deployment, Gateway, OAuthProvider, Pipeline};
use crate::jira::{JiraClient, JiraError, RetryConfig};
use crate::objects::{self, Concern};

/// How a probe went. `Note` is information that never fails a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Note,
    Skipped,
    Warn,
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Note => "note",
            Status::Skipped => "skipped",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One diagnosed problem of a probe, and how serious it is.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub status: Status,
    #[serde(flatten)]
    pub diagnosis: Diagnosis,
}

/// One row of the check: the site, authentication, OAuth scopes, or an object.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub target: String,
    pub status: Status,
    /// Records the API user can see (objects), e.g. `250` or `50+`.
    pub records: Option<String>,
    /// What was found when it went well, e.g. `Jira Cloud` or `as sim@example.com`.
    pub detail: Option<String>,
    pub findings: Vec<Finding>,
}

impl Probe {
    fn new(target: &str) -> Self {
        Self { target: target.into(), status: Status::Ok, records: None, detail: None, findings: Vec::new() }
    }

    fn add(&mut self, status: Status, diagnosis: Diagnosis) {
        if status != Status::Note {
            self.status = self.status.max(status);
        }
        self.findings.push(Finding { status, diagnosis });
    }

    fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

/// What `check` found, row by row.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub pipeline: String,
    pub site: String,
    pub passed: bool,
    pub probes: Vec<Probe>,
    /// The rate-limit headers Jira sent (the latest response that had any), or that it sent
    /// none: what `requests_per_second` is up against. `None` when no request reached the API.
    pub rate_limits: Option<String>,
}

impl CheckReport {
    /// Every finding's catalog code, in order (for tests and scripts).
    pub fn codes(&self) -> Vec<&'static str> {
        self.probes.iter().flat_map(|p| p.findings.iter().map(|f| f.diagnosis.code)).collect()
    }

    pub fn finding(&self, code: &str) -> Option<&Finding> {
        self.probes.iter().flat_map(|p| &p.findings).find(|f| f.diagnosis.code == code)
    }
}

/// Few, short retries: a check answers quickly, and "rate limited now" is a finding.
pub fn probe_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 2,
        base_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(5),
    }
}

/// Runs every probe of `pipeline` against its site.
pub async fn check(pipeline: &Pipeline, retry: RetryConfig) -> CheckReport {
    let source = &pipeline.source;
    let mut probes = Vec::new();
    let targets: Vec<&str> = pipeline.objects.iter().map(|o| o.kind.name()).collect();
    let skip_rest = |probes: &mut Vec<Probe>, from: &[&str]| {
        for t in from {
            let mut p = Probe::new(t);
            p.status = Status::Skipped;
            p.detail = Some("not probed: fix the problem above first".into());
            probes.push(p);
        }
    };

    let site = site::probe_site(pipeline).await;
    let site_failed = site.failed();
    probes.push(site);
    if site_failed {
        let mut rest = vec!["auth"];
        rest.extend(&targets);
        skip_rest(&mut probes, &rest);
        return finish(pipeline, probes);
    }

    let mut auth = Probe::new("auth");
    let ctx = |target: &'static str, scope: &'static str, throttled: bool| Context {
        deployment: source.deployment,
        auth: &source.auth,
        target,
        scope,
        throttled,
        gateway_accepts: false,
    };
    let client = match JiraClient::connect(source, retry.clone()).await {
        Ok(c) => c,
        Err(e) => {
            auth.add(Status::Fail, catalog::diagnose(&e, &ctx("auth", USER_SCOPE, false)));
            probes.push(auth);
            skip_rest(&mut probes, &targets);
            return finish(pipeline, probes);
        }
    };
    if matches!(&source.auth, Auth::OAuth2(o) if o.provider == OAuthProvider::Atlassian) {
        let mut scopes = Probe::new("scopes");
        match client.granted_scopes().await {
            Ok(Some(granted)) => {
                scopes.detail = Some(granted.join(" "));
                if let Some(d) = catalog::missing_scopes(&granted) {
                    let fatal = !granted.iter().any(|g| g == "read:jira-work");
                    scopes.add(if fatal { Status::Fail } else { Status::Warn }, d);
                }
            }
            Ok(None) => scopes.detail = Some("the token's resources do not list this site's scopes".into()),
            Err(e) => scopes.add(Status::Warn, catalog::diagnose(&e, &ctx("scopes", "read:jira-work", false))),
        }
        probes.push(scopes);
    }
    let before = client.stats().throttled;
    match client.myself().await {
        Ok(me) => {
            let who = me.email_address.or(me.name).or(me.account_id).unwrap_or_else(|| "the API user".into());
            let tz = me.time_zone.map(|z| format!(", time zone {z}")).unwrap_or_default();
            auth.detail = Some(format!("as {who}{tz}"));
            if let Auth::ApiToken { expires: Some(day), .. } = &source.auth {
                let left = (*day - chrono::Utc::now().date_naive()).num_days();
                if left <= TOKEN_EXPIRY_WARNING_DAYS {
                    auth.add(
                        Status::Warn,
                        Diagnosis::new(
                            "token-expiring",
                            format!("the API token expires on {day} (`auth.expires`), in {} days", left.max(0)),
                            "create a new API token before then and update the secret and `expires`",
                        ),
                    );
                }
            }
            probes.push(auth);
        }
        Err(e) => {
            let mut c = ctx("auth", USER_SCOPE, client.stats().throttled > before);
            c.gateway_accepts = matches!(e, JiraError::LoginFailed { .. }) && gateway_accepts(pipeline, retry).await;
            let d = catalog::diagnose(&e, &c);
            // A missing `read:jira-user` fails /myself but not necessarily the objects.
            let go_on = d.code == "oauth-scope" || d.code == "token-scope";
            auth.add(Status::Fail, d);
            probes.push(auth);
            if !go_on {
                skip_rest(&mut probes, &targets);
                return finish(pipeline, probes);
            }
        }
    }

    for o in &pipeline.objects {
        let object = objects::of(o.kind);
        let mut probe = Probe::new(o.kind.name());
        let before = client.stats().throttled;
        match object.probe(&client, o).await {
            Ok(probed) => {
                probe.records = probed.records;
                for (concern, d) in probed.findings {
                    probe.add(status_of(concern), d);
                }
            }
            Err(e) => {
                let (concern, d) = object.diagnose(&e).unwrap_or_else(|| {
                    let throttled = client.stats().throttled > before;
                    (Concern::Fail, catalog::diagnose(&e, &ctx(o.kind.name(), object.oauth_scope(), throttled)))
                });
                probe.add(status_of(concern), d);
            }
        }
        probes.push(probe);
    }
    let mut report = finish(pipeline, probes);
    report.rate_limits = Some(rate_limits(&client));
    report
}

/// One line of what the site said about its rate limits.
fn rate_limits(client: &JiraClient) -> String {
    let Some((endpoint, h)) = client.rate_limit_headers() else {
        return "no rate-limit headers in Jira's answers".into();
    };
    let mut parts = Vec::new();
    let mut add = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            parts.push(format!("{name}: {v}"));
        }
    };
    add("X-RateLimit-Limit", h.limit.map(|n| n.to_string()));
    add("X-RateLimit-Remaining", h.remaining.map(|n| n.to_string()));
    add("X-RateLimit-FillRate", h.fill_rate.map(|n| n.to_string()));
    add("X-RateLimit-Interval-Seconds", h.interval_secs.map(|n| n.to_string()));
    add("X-RateLimit-NearLimit", h.near_limit.then(|| "true".into()));
    add("Retry-After", h.retry_after.map(|d| d.as_secs().to_string()));
    add("X-RateLimit-Reset", h.reset.map(|r| r.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    add("RateLimit-Reason", h.reason.clone());
    format!("{} (on {endpoint})", parts.join(", "))
}

/// Whether the email and API token, refused at the site URL, log in through Atlassian's gateway
/// (`{api_url}/ex/jira/{cloud id}`): then the token is a scoped one, which Jira Cloud accepts only
/// there (Atlassian, "Manage API tokens for your Atlassian account": "URLs for API tokens with
/// scopes"; stablyai/orca #20092 retries `/myself` on the gateway the same way).
async fn gateway_accepts(pipeline: &Pipeline, retry: RetryConfig) -> bool {
    let source = &pipeline.source;
    let Auth::ApiToken { gateway: None, api_url, .. } = &source.auth else { return false };
    if source.deployment != Deployment::Cloud {
        return false;
    }
    let mut through = source.clone();
    if let Auth::ApiToken { gateway, .. } = &mut through.auth {
        *gateway = Some(Box::new(Gateway { cloud_id: None, api_url: api_url.clone() }));
    }
    match JiraClient::connect(&through, retry).await {
        Ok(client) => client.myself().await.is_ok(),
        Err(_) => false,
    }
}

/// How many days before an API token's `expires` date `check` warns.
const TOKEN_EXPIRY_WARNING_DAYS: i64 = 14;

/// The scope of `/myself`, which authentication is probed with.
const USER_SCOPE: &str = "read:jira-user";

fn status_of(concern: Concern) -> Status {
    match concern {
        Concern::Note => Status::Note,
        Concern::Warn => Status::Warn,
        Concern::Fail => Status::Fail,
    }
}

fn finish(pipeline: &Pipeline, probes: Vec<Probe>) -> CheckReport {
    CheckReport {
        pipeline: pipeline.name.clone(),
        site: pipeline.source.base_url.to_string(),
        passed: !probes.iter().any(Probe::failed),
        probes,
        rate_limits: None,
    }
}
