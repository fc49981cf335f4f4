//! The `auth` block: which keys each method takes, its secrets, and its OAuth settings.

use serde_saphyr::Location;
use url::Url;

use super::Resolver;
use super::auth_name;
use crate::config::model::{AuthKind, AuthSpec, Deployment, Text};
use crate::config::pipeline::{Auth, ClientCredentials, Gateway, OAuth2, OAuthProvider};

const ATLASSIAN_TOKEN_URL: &str = "https://auth.atlassian.com/oauth/token";
const ATLASSIAN_API_URL: &str = "https://api.atlassian.com";

impl Resolver<'_> {
    /// Rejects every key of `a` that `kind` does not use.
    pub(super) fn only(&mut self, a: &AuthSpec, kind: AuthKind, allowed: &[&str]) {
        let scoped = a.scoped.as_ref().map(|s| s.referenced);
        let keys: [(&str, Option<Location>); 18] = [
            ("email", a.email.as_ref().map(|v| v.referenced)),
            ("token", a.token.as_ref().map(|v| v.referenced)),
            ("token_file", a.token_file.as_ref().map(|v| v.referenced)),
            ("scoped", scoped),
            ("expires", a.expires.as_ref().map(|v| v.referenced)),
            ("username", a.username.as_ref().map(|v| v.referenced)),
            ("password", a.password.as_ref().map(|v| v.referenced)),
            ("password_file", a.password_file.as_ref().map(|v| v.referenced)),
            ("client_id", a.client_id.as_ref().map(|v| v.referenced)),
            ("client_secret", a.client_secret.as_ref().map(|v| v.referenced)),
            ("client_secret_file", a.client_secret_file.as_ref().map(|v| v.referenced)),
            ("refresh_token", a.refresh_token.as_ref().map(|v| v.referenced)),
            ("refresh_token_file", a.refresh_token_file.as_ref().map(|v| v.referenced)),
            ("token_store", a.token_store.as_ref().map(|v| v.referenced)),
            ("cloud_id", a.cloud_id.as_ref().map(|v| v.referenced)),
            ("token_url", a.token_url.as_ref().map(|v| v.referenced)),
            ("api_url", a.api_url.as_ref().map(|v| v.referenced)),
            ("redirect_uri", a.redirect_uri.as_ref().map(|v| v.referenced)),
        ];
        for (key, loc) in keys {
            if let Some(loc) = loc
                && !allowed.contains(&key)
            {
                let name = auth_name(kind);
                self.at(
                    &loc,
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

    /// A URL key with its default.
    fn url_or(&mut self, t: &Option<Text>, key: &str, default: &str) -> Option<Url> {
        match t {
            Some(t) => self.site_url(t, key),
            None => Some(Url::parse(default).expect("static URL")),
        }
    }

    /// `cloud_id` and `api_url`: where the gateway is.
    fn gateway(&mut self, a: &AuthSpec) -> Option<Gateway> {
        let cloud_id = match &a.cloud_id {
            Some(c) => Some(self.text(c, "cloud_id")?),
            None => None,
        };
        Some(Gateway { cloud_id, api_url: self.url_or(&a.api_url, "api_url", ATLASSIAN_API_URL)? })
    }

    pub(super) fn auth(
        &mut self,
        a: &AuthSpec,
        deployment: Deployment,
        base_url: Option<&Url>,
        pipeline_name: Option<&str>,
    ) -> Option<Auth> {
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
            (Deployment::DataCenter, AuthKind::ApiToken | AuthKind::Oauth2ClientCredentials) => {
                self.at(
                    &loc,
                    format!(
                        "`type: {}` is for Jira Cloud; Data Center uses a PAT, Basic auth or OAuth 2.0",
                        auth_name(kind)
                    ),
                    "Cloud only",
                    "use `type: pat` with `token: ${JIRA_PAT}`, `type: basic`, or `type: oauth2` with an incoming \
                     application link",
                );
                return None;
            }
            _ => {}
        }
        match kind {
            AuthKind::ApiToken => {
                let scoped = a.scoped.as_ref().is_some_and(|s| s.value);
                let mut allowed = vec!["email", "token", "token_file", "scoped", "expires", "api_url"];
                if scoped {
                    allowed.push("cloud_id");
                }
                self.only(a, kind, &allowed);
                let email = self.required(
                    &a.email,
                    "email",
                    kind,
                    &loc,
                    "${JIRA_EMAIL}` (the Atlassian account the token belongs to",
                );
                let token = self.secret(&a.token, &a.token_file, "token", &loc);
                let expires = match &a.expires {
                    Some(t) => {
                        let text = self.text(t, "expires")?;
                        match chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                            Ok(d) => Some(d),
                            Err(_) => {
                                self.at(
                                    &t.referenced,
                                    format!("`expires` must be a date like 2026-03-31, not `{text}`"),
                                    "not a date",
                                    "write the expiry date shown next to the token, as `expires: YYYY-MM-DD`",
                                );
                                return None;
                            }
                        }
                    }
                    None => None,
                };
                let gateway = if scoped { Some(Box::new(self.gateway(a)?)) } else { None };
                let api_url = self.url_or(&a.api_url, "api_url", ATLASSIAN_API_URL)?;
                Some(Auth::ApiToken { email: email?, token: token?, gateway, expires, api_url })
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
            AuthKind::Oauth2ClientCredentials => {
                self.only(
                    a,
                    kind,
                    &["client_id", "client_secret", "client_secret_file", "cloud_id", "token_url", "api_url"],
                );
                let client_id = self.required(&a.client_id, "client_id", kind, &loc, "${JIRA_CLIENT_ID}");
                let client_secret = self.secret(&a.client_secret, &a.client_secret_file, "client_secret", &loc);
                let token_url = self.url_or(&a.token_url, "token_url", ATLASSIAN_TOKEN_URL);
                let gateway = self.gateway(a);
                Some(Auth::ClientCredentials(Box::new(ClientCredentials {
                    client_id: client_id?,
                    client_secret: client_secret?,
                    token_url: token_url?,
                    gateway: gateway?,
                })))
            }
            AuthKind::Oauth2 => {
                let common = [
                    "client_id",
                    "client_secret",
                    "client_secret_file",
                    "refresh_token",
                    "refresh_token_file",
                    "token_store",
                    "token_url",
                ];
                let mut allowed = common.to_vec();
                match deployment {
                    Deployment::Cloud => allowed.extend(["cloud_id", "api_url"]),
                    Deployment::DataCenter => allowed.push("redirect_uri"),
                }
                self.only(a, kind, &allowed);
                let client_id = self.required(&a.client_id, "client_id", kind, &loc, "${JIRA_CLIENT_ID}");
                let client_secret = self.secret(&a.client_secret, &a.client_secret_file, "client_secret", &loc);
                let refresh_token = self.secret(&a.refresh_token, &a.refresh_token_file, "refresh_token", &loc);
                let token_store = match &a.token_store {
                    Some(t) => self.text(t, "token_store").map(|p| self.base_dir.join(p)),
                    None => Some(self.base_dir.join(".jirapipe").join(format!("{}.oauth.json", pipeline_name?))),
                };
                let (provider, token_url, redirect_uri) = match deployment {
                    Deployment::Cloud => {
                        (OAuthProvider::Atlassian, self.url_or(&a.token_url, "token_url", ATLASSIAN_TOKEN_URL), None)
                    }
                    Deployment::DataCenter => {
                        let token_url = match (&a.token_url, base_url) {
                            (Some(t), _) => self.site_url(t, "token_url"),
                            (None, Some(b)) => {
                                let mut u = b.clone();
                                u.set_path(&format!("{}/rest/oauth2/latest/token", b.path().trim_end_matches('/')));
                                Some(u)
                            }
                            (None, None) => None,
                        };
                        let redirect_uri = self.required(
                            &a.redirect_uri,
                            "redirect_uri",
                            kind,
                            &loc,
                            "https://…` (the Redirect URL of the incoming application link in Jira",
                        );
                        (OAuthProvider::DataCenter, token_url, Some(redirect_uri?))
                    }
                };
                let gateway = self.gateway(a);
                let Gateway { cloud_id, api_url } = gateway?;
                Some(Auth::OAuth2(Box::new(OAuth2 {
                    client_id: client_id?,
                    client_secret: client_secret?,
                    refresh_token: refresh_token?,
                    token_store: std::path::absolute(token_store?).ok()?,
                    cloud_id,
                    token_url: token_url?,
                    api_url,
                    provider,
                    redirect_uri,
                })))
            }
        }
    }
}
