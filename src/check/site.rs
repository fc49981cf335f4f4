//! The first probe: what answers at the site URL, without credentials, against what the
//! pipeline says (Cloud or Data Center, and for OAuth the cloud id).

use super::catalog::{self, Context, Diagnosis};
use super::{Probe, Status};
use crate::config::{Auth, Deployment, Pipeline};
use crate::jira::site::{SiteKind, site_kind};

pub(super) async fn probe_site(pipeline: &Pipeline) -> Probe {
    let source = &pipeline.source;
    let mut p = Probe::new("site");
    let url = source.base_url.as_str().trim_end_matches('/');
    let ctx = Context {
        deployment: source.deployment,
        auth: &source.auth,
        target: "site",
        scope: "read:jira-work",
        throttled: false,
        gateway_accepts: false,
    };
    let kind = match site_kind(&source.base_url, source).await {
        Ok(k) => k,
        Err(e) => {
            p.add(Status::Fail, catalog::diagnose(&e, &ctx));
            return p;
        }
    };
    let site_key = match source.deployment {
        Deployment::Cloud => "source.site",
        Deployment::DataCenter => "source.base_url",
    };
    match (kind, source.deployment) {
        (SiteKind::NotJira, _) => p.add(
            Status::Fail,
            Diagnosis::new(
                "wrong-site",
                format!("no Jira at {url}: neither Jira Cloud's /_edge/tenant_info nor the REST API /rest/api/2 answers there (HTTP 404)"),
                format!("set `{site_key}` to the address you open Jira at: https://<your-site>.atlassian.net for Cloud, the base URL (with its context path, e.g. https://host/jira) for Data Center — not a dashboard or project URL"),
            ),
        ),
        (SiteKind::DataCenter, Deployment::Cloud) => p.add(
            Status::Fail,
            Diagnosis::new(
                "dc-site-as-cloud",
                format!("{url} is not Jira Cloud (it has no /_edge/tenant_info) but the pipeline says `deployment: cloud`; Cloud API tokens and OAuth do not work on Jira Data Center/Server"),
                "set `deployment: data_center`, `base_url:` instead of `site:`, and `auth: {type: pat, token: ${JIRA_PAT}}` (or `type: basic`)",
            ),
        ),
        (SiteKind::Cloud { .. }, Deployment::DataCenter) => {
            let pat = if matches!(source.auth, Auth::Pat { .. }) {
                "; Jira Cloud does not accept personal access tokens (PATs exist only on Data Center)"
            } else {
                ""
            };
            p.add(
                Status::Fail,
                Diagnosis::new(
                    "cloud-site-as-dc",
                    format!("{url} is Jira Cloud but the pipeline says `deployment: data_center`{pat}"),
                    "set `deployment: cloud`, `site:` instead of `base_url:`, and `auth: {type: api_token, email: ..., token: ${JIRA_API_TOKEN}}` with an API token from id.atlassian.com → Security → API tokens (or OAuth 2.0)",
                ),
            );
        }
        (SiteKind::Cloud { cloud_id }, Deployment::Cloud) => {
            p.detail = Some(format!("Jira Cloud, cloud id {cloud_id}"));
            let configured = match &source.auth {
                Auth::OAuth2(o) => o.cloud_id.as_ref(),
                Auth::ApiToken { gateway: Some(g), .. } => g.cloud_id.as_ref(),
                Auth::ClientCredentials(c) => c.gateway.cloud_id.as_ref(),
                _ => None,
            };
            if let Some(configured) = configured
                && configured != &cloud_id
            {
                p.add(
                    Status::Fail,
                    Diagnosis::new(
                        "wrong-cloud-id",
                        format!("`auth.cloud_id` is `{configured}` but {url} has cloud id `{cloud_id}`"),
                        format!("set `cloud_id: {cloud_id}`, or remove it so jirapipe looks it up"),
                    ),
                );
            }
        }
        (SiteKind::DataCenter, Deployment::DataCenter) => p.detail = Some("Jira Data Center / Server".into()),
    }
    p
}
