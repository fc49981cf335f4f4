//! The `auth` block: which keys each method takes, its secrets, and its OAuth settings.

use serde_saphyr::Location;
use url::Url;

use super::Resolver;
use super::auth_name;
use crate::config::model::{AuthKind, AuthSpec, Deployment, Text};
use crate::config::pipeline::{Auth, OAuth2};

impl Resolver<'_> {
    /// Rejects every key of `a` that `kind` does not use.
    pub(super) fn only(&mut self, a: &AuthSpec, kind: AuthKind, allowed: &[&str]) {
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

    pub(super) fn required(
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

    pub(super) fn auth(&mut self, a: &AuthSpec, deployment: Deployment, pipeline_name: Option<&str>) -> Option<Auth> {
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
}
