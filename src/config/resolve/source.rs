//! The `source` block: the site URL for the deployment, pacing, and extra CA certificates.

use url::Url;

use super::Resolver;
use super::{DEFAULT_CONCURRENCY, DEFAULT_REQUESTS_PER_SECOND};

/// How long a response may stay silent: long enough for Jira's slowest pages (a search over a
/// big site takes seconds, never a minute), short enough that a stalled proxy is noticed.
const DEFAULT_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
const DEFAULT_MAX_RATE_LIMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The largest response read, in MB: a page of 100 issues is typically 1–5 MB; Jira's own text
/// limit (32,767 characters a field by default) keeps legitimate pages far below this.
const DEFAULT_MAX_RESPONSE_MB: usize = 64;
use crate::config::model::{Deployment, PipelineFile, Text};
use crate::config::pipeline::Source;

impl Resolver<'_> {
    pub(super) fn site_url(&mut self, t: &Text, key: &str) -> Option<Url> {
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

    pub(super) fn source(&mut self, f: &PipelineFile, pipeline_name: Option<&str>) -> Option<Source> {
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
        let auth = self.auth(&s.auth, deployment, base_url.as_ref(), pipeline_name);
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
        let read_timeout =
            self.duration_in(&s.read_timeout, "read_timeout", (1, 600), DEFAULT_READ_TIMEOUT, "`read_timeout: 60s`");
        let max_rate_limit_wait = self.duration_in(
            &s.max_rate_limit_wait,
            "max_rate_limit_wait",
            (0, 2 * 3600),
            DEFAULT_MAX_RATE_LIMIT_WAIT,
            "`max_rate_limit_wait: 15m`",
        );
        let max_response_bytes = match &s.max_response_mb {
            Some(m) if m.value == 0 || m.value > 1024 => {
                self.at(
                    &m.referenced,
                    format!("`max_response_mb` must be 1 to 1024, not {}", m.value),
                    "out of range",
                    "use e.g. `max_response_mb: 64`",
                );
                None
            }
            Some(m) => Some((m.value as usize) << 20),
            None => Some(DEFAULT_MAX_RESPONSE_MB << 20),
        };
        Some(Source {
            deployment,
            base_url: base_url?,
            auth: auth?,
            requests_per_second: requests_per_second?,
            concurrency: concurrency?,
            ca_certificates: ca_certificates?,
            read_timeout: read_timeout?,
            max_response_bytes: max_response_bytes?,
            max_rate_limit_wait: max_rate_limit_wait?,
        })
    }

    /// Reads and parses `ca_certificate` now, so a bad file fails `validate`, not the first
    /// request of a scheduled run.
    pub(super) fn ca_certificates(&mut self, t: &Text) -> Option<Vec<reqwest::Certificate>> {
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
}
