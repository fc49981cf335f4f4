//! The one pipeline builder of the suites: a pipeline file's YAML, with the simulator's address
//! and credentials as `${JIRA_…}` variables (the names the example pipelines use), loaded in
//! process ([`PipelineYaml::load`]) or written to a file for the binary ([`PipelineYaml::write`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use jira_sim::RunningSim;
use jirapipe::config::{LoadError, Pipeline, Vars, load_str};

/// API-token auth (Cloud): the lines of an `auth` block.
pub const API_TOKEN: &str = "    type: api_token\n    email: ${JIRA_EMAIL}\n    token: ${JIRA_API_TOKEN}";

/// Personal-access-token auth (Data Center): the lines of an `auth` block.
pub const PAT: &str = "    type: pat\n    token: ${JIRA_PAT}";

/// OAuth 2.0 through the simulator's token endpoint and gateway, the tokens kept in
/// `token_store`: the lines of an `auth` block.
pub fn oauth2(token_store: &str) -> String {
    format!(
        "    type: oauth2\n    client_id: sim-client\n    client_secret: ${{JIRA_CLIENT_SECRET}}\n    refresh_token: ${{JIRA_REFRESH_TOKEN}}\n    token_store: {token_store}\n    token_url: ${{JIRA_SITE}}/oauth/token\n    api_url: ${{JIRA_SITE}}"
    )
}

/// A service account's scoped API token through the simulator's gateway: the lines of an `auth`
/// block.
pub const SCOPED_TOKEN: &str = concat!(
    "    type: api_token\n    email: ${JIRA_SA_EMAIL}\n    token: ${JIRA_SCOPED_TOKEN}\n",
    "    scoped: true\n    api_url: ${JIRA_SITE}",
);

/// A service account's OAuth 2.0 credential (client credentials) through the simulator's token
/// endpoint and gateway: the lines of an `auth` block.
pub const CLIENT_CREDENTIALS: &str = concat!(
    "    type: oauth2_client_credentials\n    client_id: sim-sa-client\n    client_secret: ${JIRA_SA_CLIENT_SECRET}\n",
    "    token_url: ${JIRA_SITE}/oauth/token\n    api_url: ${JIRA_SITE}",
);

/// OAuth 2.0 against a Data Center simulator's own provider, the tokens kept in `token_store`:
/// the lines of an `auth` block (the token URL is the default, `{base_url}/rest/oauth2/latest/token`).
pub fn dc_oauth2(token_store: &str) -> String {
    format!(
        "    type: oauth2\n    client_id: sim-dc-client\n    client_secret: ${{JIRA_DC_CLIENT_SECRET}}\n    refresh_token: ${{JIRA_DC_REFRESH_TOKEN}}\n    redirect_uri: https://jirapipe.example/callback\n    token_store: {token_store}"
    )
}

/// The variables the pipelines refer to, with `sim`'s values: its address, email, API token,
/// PAT, password, its OAuth app's client secret and first refresh token, its service account's
/// email, scoped token and client secret, and its Data Center OAuth link's secret and first
/// refresh token.
pub fn sim_env(sim: &RunningSim) -> Vec<(&'static str, String)> {
    let c = sim.credentials();
    vec![
        ("JIRA_SITE", sim.base_url().to_string()),
        ("JIRA_EMAIL", sim.email().to_string()),
        ("JIRA_API_TOKEN", sim.api_token().to_string()),
        ("JIRA_PAT", c.pat.clone()),
        ("JIRA_PASSWORD", c.password.clone()),
        ("JIRA_CLIENT_SECRET", c.oauth.client_secret.clone()),
        ("JIRA_REFRESH_TOKEN", c.oauth.refresh_token.clone()),
        ("JIRA_SA_EMAIL", c.service_account.email.clone()),
        ("JIRA_SCOPED_TOKEN", c.service_account.scoped_token.clone()),
        ("JIRA_SA_CLIENT_SECRET", c.service_account.client_secret.clone()),
        ("JIRA_DC_CLIENT_SECRET", c.data_center_oauth.client_secret.clone()),
        ("JIRA_DC_REFRESH_TOKEN", c.data_center_oauth.refresh_token.clone()),
    ]
}

/// [`sim_env`] as the variables of an in-process load; `.with(..)` overrides one.
pub fn sim_vars(sim: &RunningSim) -> Vars {
    Vars::only(sim_env(sim))
}

/// The binary with [`sim_env`] in its environment; a later `.env(..)` overrides one.
pub fn jirapipe_for(sim: &RunningSim) -> Command {
    let mut c = super::jirapipe();
    c.envs(sim_env(sim));
    c
}

/// Values for a pipeline that is only validated or scheduled, never run against a site.
pub const OFFLINE_ENV: [(&str, &str); 3] =
    [("JIRA_SITE", "https://x.atlassian.net"), ("JIRA_EMAIL", "e"), ("JIRA_API_TOKEN", "t")];

/// A pipeline file, built up key by key. [`PipelineYaml::new`] reads from the Cloud site at
/// `${JIRA_SITE}` with an API token and writes to `lake` beside the file.
#[derive(Clone, Debug)]
pub struct PipelineYaml {
    name: String,
    deployment: Option<String>,
    site: String,
    source: String,
    auth: String,
    url: String,
    destination: String,
    sections: String,
    objects: String,
}

impl PipelineYaml {
    /// Pipeline `name` extracting `objects` (the lines under `objects:`, indented two spaces).
    pub fn new(name: &str, objects: &str) -> Self {
        Self {
            name: name.into(),
            deployment: None,
            site: "${JIRA_SITE}".into(),
            source: String::new(),
            auth: API_TOKEN.into(),
            url: "lake".into(),
            destination: String::new(),
            sections: String::new(),
            objects: objects.into(),
        }
    }

    /// `source.deployment`; on `data_center` the site's key is `base_url`.
    pub fn deployment(mut self, deployment: &str) -> Self {
        self.deployment = Some(deployment.into());
        self
    }

    /// The site's address, instead of `${JIRA_SITE}`.
    pub fn site(mut self, site: &str) -> Self {
        self.site = site.into();
        self
    }

    /// Another `source` key, e.g. `.source("requests_per_second", "500")`.
    pub fn source(mut self, key: &str, value: &str) -> Self {
        self.source += &format!("  {key}: {value}\n");
        self
    }

    /// The `auth` block's lines (indented four spaces): [`API_TOKEN`] unless set.
    pub fn auth(mut self, auth: &str) -> Self {
        self.auth = auth.into();
        self
    }

    /// `destination.url`, instead of `lake`.
    pub fn url(mut self, url: &str) -> Self {
        self.url = url.into();
        self
    }

    /// Another `destination` key, e.g. `.destination("compact_every", "3")`.
    pub fn destination(mut self, key: &str, value: &str) -> Self {
        self.destination += &format!("  {key}: {value}\n");
        self
    }

    /// A top-level section between `destination` and `objects` (`masking`, `schedule`), its
    /// lines indented two spaces.
    pub fn section(mut self, key: &str, lines: &str) -> Self {
        self.sections += &format!("{key}:\n{lines}\n");
        self
    }

    /// The file's text.
    pub fn text(&self) -> String {
        let Self { name, deployment, site, source, auth, url, destination, sections, objects } = self;
        let deployment_line = deployment.as_ref().map(|d| format!("  deployment: {d}\n")).unwrap_or_default();
        let site_key = if deployment.as_deref() == Some("data_center") { "base_url" } else { "site" };
        format!(
            "version: 1\nname: {name}\nsource:\n{deployment_line}  {site_key}: {site}\n{source}  auth:\n{auth}\ndestination:\n  url: {url}\n{destination}{sections}objects:\n{objects}\n"
        )
    }

    /// Loads the pipeline as `<name>.yaml` in `dir` (relative paths are read from there).
    pub fn try_load(&self, dir: &Path, vars: &Vars) -> Result<Pipeline, LoadError> {
        load_str(&self.text(), &format!("{}.yaml", self.name), dir, vars)
    }

    /// [`PipelineYaml::try_load`], which must succeed.
    pub fn load(&self, dir: &Path, vars: &Vars) -> Pipeline {
        self.try_load(dir, vars).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Writes the pipeline to `dir/file`.
    pub fn write(&self, dir: &Path, file: &str) -> PathBuf {
        super::write_file(dir, file, &self.text())
    }
}
