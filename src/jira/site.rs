//! What answers at a site URL, asked without credentials: `check` tells a wrong site, or a
//! Cloud site configured as Data Center (and the reverse), apart from bad credentials.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::JiraError;
use crate::config::Source;

/// What answers at the site URL, asked without credentials.
pub enum SiteKind {
    /// Jira Cloud answers `/_edge/tenant_info` with its cloud id.
    Cloud { cloud_id: String },
    /// A Jira REST API v2 that is not Cloud: Data Center or Server.
    DataCenter,
    /// Neither: another web server, or the wrong path.
    NotJira,
}

pub async fn site_kind(base: &Url, source: &Source) -> Result<SiteKind, JiraError> {
    let http = super::http_builder(source)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("jirapipe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| super::connect_error(base.as_str(), &e))?;
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let get = |path: &str| {
        let url = base.join(path).expect("static path");
        let http = http.clone();
        async move {
            let resp = http.get(url.clone()).send().await.map_err(|e| super::connect_error(url.as_str(), &e))?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.unwrap_or_default();
            Ok::<_, JiraError>((status, body))
        }
    };
    let (status, body) = get("_edge/tenant_info").await?;
    if status == 200
        && let Some(id) =
            serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["cloudId"].as_str().map(String::from))
    {
        return Ok(SiteKind::Cloud { cloud_id: id });
    }
    // Data Center answers its REST API at any status but 404 (401 without credentials).
    let (status, _) = get("rest/api/2/myself").await?;
    Ok(if status == 404 { SiteKind::NotJira } else { SiteKind::DataCenter })
}
