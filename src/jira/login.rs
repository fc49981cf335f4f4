//! Whether Jira logged a request in. Jira does not refuse a request whose credentials fail: it
//! serves it as the anonymous user ("if you don't log in, you access Jira anonymously", Atlassian
//! "Basic auth for REST APIs"), so a search answers `200` with no issues (Atlassian KB "Jira
//! Cloud: JQL search REST API returns 200 OK without API token") and an issue `404` — which an
//! extractor would take for "nothing changed", or for "everything was deleted". So every
//! response is checked for the marks Jira leaves on such an answer, whatever its status, and
//! one refused login ends the run before anything it read is committed.
//!
//! The marks, with their sources (see also jira-sim's README, "Failed logins"):
//! `X-Seraph-LoginReason: AUTHENTICATED_FAILED` on every answer to credentials Cloud refused,
//! `200`s included (MrRefactoring/jira.js #418, DeloitteDigitalUK/jira-agile-metrics #61);
//! `AUTHENTICATION_DENIED` after too many failures, even to the right password (go-jira/jira #8,
//! a `200` for `/myself`); `X-AUSERNAME: anonymous` on Data Center's anonymous answers
//! (bobcarroll/jira-client #60).

use reqwest::header::HeaderMap;

use crate::config::{Auth, Deployment};

/// How an answer showed that the request was not logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginSignal {
    /// HTTP 401 for the credentials themselves, with Jira's message.
    Refused { message: String },
    /// `X-Seraph-LoginReason: AUTHENTICATED_FAILED`: the credentials were refused and the
    /// request answered as the anonymous user.
    Failed,
    /// `X-Seraph-LoginReason: AUTHENTICATION_DENIED`: too many failed logins; Jira wants a
    /// CAPTCHA solved and refuses even the right credentials until then.
    Denied,
    /// `X-AUSERNAME: anonymous`: the request was answered as no one.
    Anonymous,
}

impl std::fmt::Display for LoginSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginSignal::Refused { message } if message.is_empty() => f.write_str("HTTP 401"),
            LoginSignal::Refused { message } => write!(f, "HTTP 401: {}", message.trim_end_matches('.')),
            LoginSignal::Failed => f.write_str(
                "Jira refused them and answered as the anonymous user (`X-Seraph-LoginReason: AUTHENTICATED_FAILED`)",
            ),
            LoginSignal::Denied => f.write_str(
                "Jira refuses them after too many failed logins (`X-Seraph-LoginReason: AUTHENTICATION_DENIED`)",
            ),
            LoginSignal::Anonymous => f.write_str("Jira answered as the anonymous user (`X-AUSERNAME: anonymous`)"),
        }
    }
}

/// The mark of a failed or anonymous login on an answer, whatever its status.
pub fn signal(headers: &HeaderMap) -> Option<LoginSignal> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    // Seraph may list several reasons, comma-separated.
    let seraph = value("x-seraph-loginreason").unwrap_or_default();
    let reasons = || seraph.split(',').map(str::trim);
    if reasons().any(|r| r.eq_ignore_ascii_case("AUTHENTICATION_DENIED")) {
        return Some(LoginSignal::Denied);
    }
    if reasons().any(|r| r.eq_ignore_ascii_case("AUTHENTICATED_FAILED")) {
        return Some(LoginSignal::Failed);
    }
    value("x-ausername").filter(|u| u.eq_ignore_ascii_case("anonymous")).map(|_| LoginSignal::Anonymous)
}

/// Which credential the run uses, in words that name it without showing it: the auth method,
/// the account, and where the secret comes from.
#[derive(Debug, Clone)]
pub struct Credential {
    auth: Auth,
    deployment: Deployment,
}

impl Credential {
    pub fn new(auth: &Auth, deployment: Deployment) -> Self {
        Self { auth: auth.clone(), deployment }
    }

    /// E.g. "the API token of etl@acme.com (from $JIRA_API_TOKEN)".
    pub fn describe(&self) -> String {
        let from = |s: &crate::config::Secret| match s.origin() {
            Some(o) if !o.is_empty() => format!(" (from {o})"),
            _ => String::new(),
        };
        match &self.auth {
            Auth::ApiToken { email, token, gateway: None, .. } => format!("the API token of {email}{}", from(token)),
            Auth::ApiToken { email, token, gateway: Some(_), .. } => {
                format!("the scoped API token of {email}{}, sent through Atlassian's gateway", from(token))
            }
            Auth::Pat { token } => format!("the personal access token (PAT){}", from(token)),
            Auth::Basic { username, password } => format!("the password of `{username}`{}", from(password)),
            Auth::OAuth2(o) => format!("the OAuth 2.0 access token of client `{}`", o.client_id),
            Auth::ClientCredentials(c) => {
                format!("the service account's OAuth 2.0 credential (client `{}`)", c.client_id)
            }
        }
    }

    /// The likely causes of `signal` for this credential, most likely first, each with its fix.
    pub fn fix(&self, signal: &LoginSignal) -> String {
        if *signal == LoginSignal::Denied {
            return "log in once in a browser as this account and answer the CAPTCHA, then run again (prefer a \
                    token: it is not subject to CAPTCHA)"
                .into();
        }
        let secret = match &self.auth {
            Auth::ApiToken { token, .. } | Auth::Pat { token } => token.origin(),
            Auth::Basic { password, .. } => password.origin(),
            _ => None,
        }
        .filter(|o| !o.is_empty())
        .map_or("the secret".to_string(), |o| o.to_string());
        let proxy = "a proxy between jirapipe and Jira removes the `Authorization` header: have it pass the header \
                     through, or point the site URL at Jira itself";
        let mut causes: Vec<String> = match &self.auth {
            Auth::ApiToken { email, gateway: None, .. } => {
                let revoked = format!(
                    "the token was revoked or has expired (API tokens created since December 2024 expire within a \
                     year): create a new one at id.atlassian.com → Security → API tokens and update {secret}"
                );
                let scoped = "it is a scoped API token (every service account's token is one) sent to the site \
                              URL, where Jira answers it as anonymous: add `scoped: true` to `auth`, so requests go \
                              through https://api.atlassian.com/ex/jira/{cloudId}"
                    .to_string();
                let email_wrong = format!("`email` ({email}) is not the token owner's: use the owner's email");
                if is_service_account(email) {
                    vec![scoped, revoked, email_wrong, proxy.into()]
                } else {
                    vec![revoked, scoped, email_wrong, proxy.into()]
                }
            }
            Auth::ApiToken { email, gateway: Some(_), .. } => vec![
                format!("the token was revoked or has expired: create a new scoped token and update {secret}"),
                "it is a classic token without scopes, which works only at the site URL: remove `scoped: true`".into(),
                format!("`email` ({email}) is not the token owner's"),
            ],
            Auth::Pat { .. } => vec![
                format!(
                    "the PAT was revoked or has expired: create a new one in Jira (Profile → Personal Access \
                     Tokens) and update {secret}"
                ),
                proxy.into(),
            ],
            Auth::Basic { username, .. } => vec![
                format!("the password of `{username}` changed or the account was deactivated: update {secret}"),
                proxy.into(),
            ],
            Auth::OAuth2(_) => vec![
                "the grant was revoked or the app removed from the site: run the consent flow again and set the new \
                 `refresh_token`"
                    .into(),
            ],
            Auth::ClientCredentials(_) => vec![
                "the credential was revoked or the service account removed from the site: check it in \
                 admin.atlassian.com → Directory → Service accounts"
                    .into(),
            ],
        };
        if *signal == LoginSignal::Anonymous && self.deployment == Deployment::Cloud {
            // No Seraph mark on a 200: the credentials may never have reached Jira.
            causes.retain(|c| c != proxy);
            causes.insert(0, proxy.into());
        }
        causes.iter().enumerate().map(|(i, c)| format!("({}) {c}", i + 1)).collect::<Vec<_>>().join("; ")
    }
}

/// Service accounts' emails end in `@serviceaccount.atlassian.com` (a distinct format Atlassian
/// assigns at creation: "Understand service accounts"; community guides quote the domain), and
/// they can create only scoped API tokens (Atlassian KB "401 Unauthorized error when service
/// account accesses Jira or Confluence API").
pub fn is_service_account(email: &str) -> bool {
    email.trim().to_ascii_lowercase().ends_with("@serviceaccount.atlassian.com")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_marks_of_a_failed_or_anonymous_login_are_read_from_any_answer() {
        assert_eq!(signal(&headers(&[("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")])), Some(LoginSignal::Failed));
        assert_eq!(signal(&headers(&[("x-seraph-loginreason", "authenticated_failed")])), Some(LoginSignal::Failed));
        assert_eq!(signal(&headers(&[("X-Seraph-LoginReason", "AUTHENTICATION_DENIED")])), Some(LoginSignal::Denied));
        assert_eq!(
            signal(&headers(&[("X-Seraph-LoginReason", "OK, AUTHENTICATION_DENIED")])),
            Some(LoginSignal::Denied)
        );
        assert_eq!(signal(&headers(&[("X-AUSERNAME", "anonymous")])), Some(LoginSignal::Anonymous));
        // Both: Seraph's reason says more.
        let both = headers(&[("X-AUSERNAME", "anonymous"), ("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")]);
        assert_eq!(signal(&both), Some(LoginSignal::Failed));
        // A logged-in answer (go-jira/jira #8's and cristibaluta/Jit #10's captures).
        assert_eq!(signal(&headers(&[("X-Seraph-LoginReason", "OK"), ("X-AUSERNAME", "martin")])), None);
        // A user literally named like the header value is not anonymous unless it says so.
        assert_eq!(signal(&headers(&[("X-AUSERNAME", "anonymous-bot")])), None);
        assert_eq!(signal(&HeaderMap::new()), None);
    }

    fn token(email: &str, scoped: bool) -> Credential {
        let gateway =
            scoped.then(|| Box::new(crate::config::Gateway { cloud_id: None, api_url: "https://a".parse().unwrap() }));
        let token = Secret::new("s3cr3t-value").from_origin("$JIRA_API_TOKEN");
        Credential::new(
            &Auth::ApiToken {
                email: email.into(),
                token,
                gateway,
                expires: None,
                api_url: "https://api.atlassian.com".parse().unwrap(),
            },
            Deployment::Cloud,
        )
    }

    #[test]
    fn the_credential_is_named_by_method_account_and_variable_never_by_value() {
        let c = token("etl@acme.com", false);
        assert_eq!(c.describe(), "the API token of etl@acme.com (from $JIRA_API_TOKEN)");
        let fix = c.fix(&LoginSignal::Failed);
        assert!(fix.starts_with("(1) the token was revoked or has expired"), "{fix}");
        assert!(fix.contains("update $JIRA_API_TOKEN") && fix.contains("`scoped: true`"), "{fix}");
        assert!(!fix.contains("s3cr3t") && !c.describe().contains("s3cr3t"));
        // A service account's email puts the scoped-token cause first.
        let fix = token("bot@serviceaccount.atlassian.com", false).fix(&LoginSignal::Refused { message: "x".into() });
        assert!(fix.starts_with("(1) it is a scoped API token"), "{fix}");
        // Through the gateway, a classic token is the other way round.
        assert!(token("etl@acme.com", true).fix(&LoginSignal::Failed).contains("remove `scoped: true`"));
        // No Seraph mark on Cloud: the header may not have reached Jira.
        assert!(c.fix(&LoginSignal::Anonymous).starts_with("(1) a proxy"), "{}", c.fix(&LoginSignal::Anonymous));
        assert!(c.fix(&LoginSignal::Denied).contains("CAPTCHA"));
        let pat =
            Credential::new(&Auth::Pat { token: Secret::new("p").from_origin("$JIRA_PAT") }, Deployment::DataCenter);
        assert_eq!(pat.describe(), "the personal access token (PAT) (from $JIRA_PAT)");
        assert!(pat.fix(&LoginSignal::Anonymous).starts_with("(1) the PAT was revoked"));
    }

    #[test]
    fn service_accounts_are_told_by_their_email_domain() {
        assert!(is_service_account("jirapipe-x1axxw94zz@serviceaccount.atlassian.com"));
        assert!(is_service_account("Bot@ServiceAccount.Atlassian.com "));
        assert!(!is_service_account("etl@acme.com"));
        assert!(!is_service_account("serviceaccount.atlassian.com@acme.com"));
    }
}
