//! The error catalog: what a failed probe means and what the operator should do about it.
//!
//! Each entry has a stable code (used by the README's troubleshooting table, `check --json`
//! and the tests), a problem stated in the user's terms, and a concrete fix. The mapping is a
//! pure function of the error and what the pipeline says, so every entry is unit-tested here
//! and produced for real against jira-sim in `tests/it/check.rs`.

use super::scopes::granular_scopes;
use crate::config::{Auth, Deployment};
use crate::jira::{BodyProblem, JiraError, LoginSignal, OAuthFailure, Rejection, Transport, is_service_account};
pub use crate::report::Diagnosis;

/// What the pipeline says about the site, for telling apart errors that look alike on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub deployment: Deployment,
    pub auth: &'a Auth,
    /// The object (or `auth`) whose probe failed; decides which OAuth scope a 401 lacks.
    pub target: &'a str,
    /// The classic OAuth scope the probed endpoints need (an object's `oauth_scope`).
    pub scope: &'static str,
    /// Jira answered 429 during the probe.
    pub throttled: bool,
    /// The email and API token, refused at the site URL, work through Atlassian's gateway:
    /// `check` asked it (a scoped token).
    pub gateway_accepts: bool,
}

pub const SCOPES: [&str; 3] = ["read:jira-work", "read:jira-user", "offline_access"];

const OAUTH_CONSENT: &str = "in developer.atlassian.com/console → your app → Permissions → Jira API, add the classic \
    scopes `read:jira-work` and `read:jira-user`, keep `offline_access` in the authorize URL, then run the consent \
    flow again and set the new `refresh_token`";

/// The catalog entry for `err`, met while probing `ctx.target`.
pub fn diagnose(err: &JiraError, ctx: &Context<'_>) -> Diagnosis {
    match err {
        JiraError::Unauthorized { reason, .. } => unauthorized(*reason, ctx),
        JiraError::LoginFailed { signal: LoginSignal::Denied, .. } => Diagnosis::new(
            "bad-credentials",
            format!("{} (HTTP 200 or 403)", LoginSignal::Denied),
            "log in once in a browser as the API user and answer the CAPTCHA, then run `check` again (a token is \
             not subject to CAPTCHA: prefer one)",
        ),
        JiraError::LoginFailed { .. } => unauthorized(Rejection::Credentials, ctx),
        JiraError::Forbidden { message, .. } => forbidden(message, ctx),
        JiraError::Status { status: 429, .. } => rate_limited(),
        JiraError::Status { status: 404, message, .. } => not_found(message, ctx),
        JiraError::Status { status, message, .. } if *status >= 500 => server_error(*status, message),
        JiraError::Status { status, message, .. } => Diagnosis::new(
            "unexpected-status",
            format!("Jira answered HTTP {status}: {message}"),
            "check `source.site`/`base_url`; if it persists, try the same request with curl from this host",
        ),
        JiraError::Exhausted { last, .. } => exhausted(last, ctx),
        JiraError::RetryAfterTooLong { .. } => rate_limited(),
        e @ JiraError::QuotaSpent { .. } => Diagnosis::new(
            "quota-spent",
            e.to_string(),
            "run again after the reset it names; if the hour's points keep running out, spread the app's runs over the day",
        ),
        JiraError::Connect { cause, message, .. } => connection(*cause, message),
        JiraError::Decode { message, .. } => Diagnosis::new(
            "not-jira",
            format!("the answer is not Jira's JSON ({message})"),
            "a proxy, SSO login page or another web server answered: check `source.site`/`base_url` (the address you open Jira at, without a path like /secure/Dashboard.jspa) and any proxy settings",
        ),
        JiraError::Body { problem, detail, .. } => body(*problem, detail),
        JiraError::OAuth { failure, message, fix } => oauth(*failure, message, fix),
        e @ JiraError::SiteNotGranted { .. } => Diagnosis::new(
            "oauth-site",
            e.to_string(),
            "check `source.site`, or install the OAuth app on that site and consent again",
        ),
        JiraError::Config { message, fix } => Diagnosis::new("config", message.clone(), *fix),
    }
}

/// A successful answer whose body is not Jira's JSON: a login page most of all.
fn body(problem: BodyProblem, detail: &str) -> Diagnosis {
    let code = match problem {
        BodyProblem::Html => "sso-login-page",
        BodyProblem::NotJson => "not-jira",
        BodyProblem::Empty | BodyProblem::Truncated => "body-cut",
        BodyProblem::TooLarge => "response-too-large",
        BodyProblem::NotUtf8 | BodyProblem::TooDeep | BodyProblem::Malformed => "malformed-response",
    };
    let detail = if detail.is_empty() { String::new() } else { format!(" ({detail})") };
    Diagnosis::new(code, format!("Jira's address {problem}{detail}"), problem.fix())
}

/// Whether the auth method sends every request through Atlassian's gateway with a token whose
/// scopes were chosen at creation (scoped API token, service-account OAuth credential).
fn scoped_credential(auth: &Auth) -> bool {
    matches!(auth, Auth::ApiToken { gateway: Some(_), .. } | Auth::ClientCredentials(_))
}

/// A scoped credential lacks what `ctx.target` needs: the classic scope or the granular ones.
fn token_scope(ctx: &Context<'_>) -> Diagnosis {
    let granular = granular_scopes(ctx.target).iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    let (what, where_) = match ctx.auth {
        Auth::ClientCredentials(_) => (
            "the service account's OAuth 2.0 credential",
            "admin.atlassian.com → Directory → Service accounts → the account → Credentials: create an OAuth 2.0 \
             credential",
        ),
        _ => (
            "the scoped API token",
            "admin.atlassian.com → Directory → Service accounts → the account → Create credentials → API token \
             (or id.atlassian.com → Security → Create API token with scopes): scopes cannot be added to a token, \
             create a new one",
        ),
    };
    Diagnosis::new(
        "token-scope",
        format!("{what} lacks a scope {} needs (HTTP 401: scope does not match)", ctx.target),
        format!(
            "in {where_} with the classic scope `{}` or these granular scopes: {granular}; then update the secret",
            ctx.scope
        ),
    )
}

/// A scoped API token sent to the site URL, where Jira Cloud does not accept it (Atlassian KB "401
/// Unauthorized error when service account accesses Jira or Confluence API": "NOT
/// https://<your-domain>.atlassian.net/{api}"); `why` says how `check` told.
fn scoped_token_on_site(why: &str) -> Diagnosis {
    Diagnosis::new(
        "scoped-token-on-site",
        format!(
            "the API token has scopes ({why}), and Jira Cloud accepts scoped tokens only through Atlassian's \
             gateway: at the site URL it answers them as an anonymous user (HTTP 401 on /myself, empty searches)"
        ),
        "add `scoped: true` to `auth`: jirapipe then sends every request to https://api.atlassian.com/ex/jira/{cloud \
         id} (the cloud id read from the site's /_edge/tenant_info, or `cloud_id`)",
    )
}

fn unauthorized(reason: Rejection, ctx: &Context<'_>) -> Diagnosis {
    if let Auth::ApiToken { gateway: None, email, .. } = ctx.auth
        && ctx.deployment == Deployment::Cloud
    {
        if reason == Rejection::Scope {
            return scoped_token_on_site("the site answered \"scope does not match\"");
        }
        if reason == Rejection::Credentials && is_service_account(email) {
            return scoped_token_on_site(&format!(
                "`{email}` is a service account, and service accounts can create only scoped tokens"
            ));
        }
        if reason == Rejection::Credentials && ctx.gateway_accepts {
            return scoped_token_on_site("the same email and token work through Atlassian's gateway");
        }
    }
    if reason == Rejection::Scope && scoped_credential(ctx.auth) {
        return token_scope(ctx);
    }
    if let Auth::ApiToken { expires: Some(day), .. } = ctx.auth
        && *day <= chrono::Utc::now().date_naive()
    {
        return Diagnosis::new(
            "token-expired",
            format!("the API token expired on {day} (`auth.expires`); Jira answers an expired token with HTTP 401"),
            "create a new API token (API tokens created since December 2024 expire within a year: id.atlassian.com → \
             Security → API tokens, or admin.atlassian.com → Directory → Service accounts for a service account), \
             update the secret and `expires`",
        );
    }
    if let Auth::ApiToken { gateway: Some(_), .. } = ctx.auth {
        return Diagnosis::new(
            "classic-token-on-gateway",
            "Atlassian's gateway rejected the email and API token (HTTP 401): `scoped: true` sends it to \
             api.atlassian.com, where only tokens with scopes work; a classic token (no scopes) works only at the \
             site URL — or the token is wrong, revoked or expired",
            "if the token was created without scopes, remove `scoped: true`; otherwise check that `email` is the \
             token owner's (a service account's email ends in @serviceaccount.atlassian.com) and create a new \
             scoped token if it expired",
        );
    }
    if reason == Rejection::Audience {
        return Diagnosis::new(
            "oauth-audience",
            "the OAuth token was issued for another audience, and Jira's API accepts only `api.atlassian.com`",
            "add `audience=api.atlassian.com` to the authorize URL of the consent flow (https://auth.atlassian.com/authorize?audience=api.atlassian.com&…), consent again and set the new `refresh_token`",
        );
    }
    if reason == Rejection::Scope {
        let scope = ctx.scope;
        return Diagnosis::new(
            "oauth-scope",
            format!("the OAuth token lacks the `{scope}` scope needed for {} (scope does not match)", ctx.target),
            format!("add `{scope}` to the app: {OAUTH_CONSENT}"),
        );
    }
    let (problem, fix) = match ctx.auth {
        Auth::ApiToken { .. } => (
            "Jira rejected the email and API token",
            "create a new API token at id.atlassian.com → Security → API tokens for the account in `auth.email` (the email must be the token owner's); a token is shown once, copy it whole",
        ),
        Auth::Pat { .. } => (
            "Jira rejected the personal access token",
            "the PAT is wrong, expired or revoked: create a new one in Jira (Profile → Personal Access Tokens) and update the secret",
        ),
        Auth::Basic { .. } => (
            "Jira rejected the username and password",
            "check `username` and the password; after several failed logins Jira may require a CAPTCHA: log in once in a browser, then retry (prefer a PAT)",
        ),
        Auth::OAuth2(_) => (
            "Jira rejected the OAuth access token",
            "the grant may have been revoked or the app uninstalled from the site: run the consent flow again and set the new `refresh_token`",
        ),
        Auth::ClientCredentials(_) => (
            "Atlassian's gateway rejected the service account's access token",
            "the credential may have been revoked or the service account removed from the site: check it in admin.atlassian.com → Directory → Service accounts",
        ),
    };
    Diagnosis::new("bad-credentials", format!("{problem} (HTTP 401)"), fix)
}

fn forbidden(message: &str, ctx: &Context<'_>) -> Diagnosis {
    Diagnosis::new(
        "forbidden",
        format!("permission denied reading {}: {message}", ctx.target),
        "give the API user the Jira permission it lacks (Browse projects for issues and projects, Browse users and groups for users); with OAuth also check the app's scopes",
    )
}

fn not_found(message: &str, ctx: &Context<'_>) -> Diagnosis {
    let cloud_id = match ctx.auth {
        Auth::OAuth2(o) if o.provider == crate::config::OAuthProvider::Atlassian => Some(&o.cloud_id),
        Auth::ApiToken { gateway: Some(g), .. } => Some(&g.cloud_id),
        Auth::ClientCredentials(c) => Some(&c.gateway.cloud_id),
        _ => None,
    };
    if let Some(cloud_id) = cloud_id {
        return match cloud_id {
            Some(id) => Diagnosis::new(
                "wrong-cloud-id",
                format!("Atlassian's gateway does not know cloud id `{id}` (HTTP 404)"),
                "remove `auth.cloud_id` so jirapipe looks it up, or copy the id from https://<site>.atlassian.net/_edge/tenant_info",
            ),
            None => Diagnosis::new(
                "wrong-cloud-id",
                "Atlassian's gateway answered 404 for the site's cloud id",
                "check `source.site` and `auth.api_url` (default https://api.atlassian.com)",
            ),
        };
    }
    match ctx.deployment {
        Deployment::Cloud => Diagnosis::new(
            "dc-site-as-cloud",
            format!("`deployment: cloud` but the site has no Jira Cloud REST API v3 (HTTP 404: {message})"),
            "if this is Jira Data Center/Server, set `deployment: data_center`, `base_url:` and `auth: {type: pat}`; otherwise fix `source.site`",
        ),
        Deployment::DataCenter => Diagnosis::new(
            "cloud-site-as-dc",
            format!("`deployment: data_center` but the site has no Data Center REST API v2 (HTTP 404: {message})"),
            "if this is Jira Cloud (*.atlassian.net), set `deployment: cloud`, `site:` and `auth: {type: api_token}` (Cloud has no PATs); otherwise fix `source.base_url` (include the context path, e.g. /jira)",
        ),
    }
}

fn rate_limited() -> Diagnosis {
    Diagnosis::new(
        "rate-limited",
        "Jira is rate limiting the API user right now (HTTP 429)",
        "wait and run `check` again; if runs hit it too, lower `source.requests_per_second` and `source.concurrency`, or schedule runs off-peak (other tools using the same account share its limit)",
    )
}

fn server_error(status: u16, message: &str) -> Diagnosis {
    Diagnosis::new(
        "server-errors",
        format!("Jira keeps failing (HTTP {status}: {message})"),
        "the site is unhealthy or in maintenance: check status.atlassian.com (Cloud) or the server's logs (Data Center), then retry",
    )
}

fn exhausted(last: &JiraError, ctx: &Context<'_>) -> Diagnosis {
    match last.last() {
        _ if ctx.throttled => rate_limited(),
        JiraError::Status { status: 429, .. } | JiraError::RetryAfterTooLong { .. } => rate_limited(),
        JiraError::Connect { cause, message, .. } if *cause != Transport::Body => connection(*cause, message),
        JiraError::Status { status, message, .. } => server_error(*status, message),
        other => Diagnosis::new(
            "unreliable-network",
            format!("requests keep failing: {other}"),
            "responses are cut short or time out: check proxies, firewalls and the network path to Jira, then retry",
        ),
    }
}

/// Connection failures by their cause.
fn connection(cause: Transport, message: &str) -> Diagnosis {
    match cause {
        Transport::Dns => Diagnosis::new(
            "dns",
            format!("the site's host name does not resolve ({message})"),
            "check the spelling of `source.site`/`base_url` (Cloud: https://<your-site>.atlassian.net) and the host's DNS; `nslookup <host>` from this machine must answer",
        ),
        Transport::Tls => Diagnosis::new(
            "tls",
            format!("the TLS connection failed ({message})"),
            "use the scheme the server speaks (https:// for Jira Cloud, http:// only for a plain-HTTP Data Center); for a private CA or an intercepting proxy, save its certificate as PEM and set `source.ca_certificate` to that file",
        ),
        Transport::Timeout => Diagnosis::new(
            "timeout",
            format!("the connection to Jira timed out ({message})"),
            "a firewall or proxy drops the traffic: allow outbound HTTPS to the site (and to api.atlassian.com / auth.atlassian.com for OAuth), or set HTTPS_PROXY",
        ),
        Transport::Connect | Transport::Body | Transport::Other => Diagnosis::new(
            "connect",
            format!("cannot connect to the site ({message})"),
            "check `source.site`/`base_url` (host and port), that Jira is up, and proxies/firewalls; `curl -sI <site>` from this host must answer",
        ),
    }
}

fn oauth(failure: OAuthFailure, message: &str, fix: &str) -> Diagnosis {
    match failure {
        OAuthFailure::InvalidGrant => Diagnosis::new(
            "oauth-refresh-token",
            format!(
                "the OAuth refresh token is expired, revoked or already used — Atlassian rotates it on every refresh, so a copy another process (or an earlier run without its `token_store`) used is dead: {message}"
            ),
            fix,
        ),
        OAuthFailure::ClientRejected => Diagnosis::new("oauth-client", message, fix),
        OAuthFailure::TokenStore => Diagnosis::new("oauth-token-store", message, fix),
        OAuthFailure::NotEnabled => Diagnosis::new(
            "dc-oauth-disabled",
            format!("Jira Data Center is not an OAuth 2.0 provider here: {message}"),
            fix,
        ),
        OAuthFailure::Endpoint => Diagnosis::new("oauth", message, fix),
    }
}

/// OAuth scopes that jirapipe needs and the grant lacks.
pub fn missing_scopes(granted: &[String]) -> Option<Diagnosis> {
    let missing: Vec<&str> = SCOPES.iter().copied().filter(|s| !granted.iter().any(|g| g == s)).collect();
    if missing.is_empty() {
        return None;
    }
    let effect = missing
        .iter()
        .map(|s| match *s {
            "read:jira-work" => "`read:jira-work` (issues, projects, boards, fields)",
            "read:jira-user" => "`read:jira-user` (users, /myself; without it emails are redacted)",
            _ => "`offline_access` (refresh tokens; without it access ends after an hour)",
        })
        .collect::<Vec<_>>()
        .join(", ");
    Some(Diagnosis::new(
        "oauth-scope",
        format!("the OAuth grant lacks {effect}; granted: {}", granted.join(" ")),
        format!("scope mismatch: {OAUTH_CONSENT}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OAuth2, ObjectKind, Secret};

    fn oauth(cloud_id: Option<&str>) -> Auth {
        Auth::OAuth2(Box::new(OAuth2 {
            client_id: "c".into(),
            client_secret: Secret::new("s"),
            refresh_token: Secret::new("r"),
            token_store: "t".into(),
            cloud_id: cloud_id.map(str::to_string),
            token_url: "https://auth.atlassian.com/oauth/token".parse().unwrap(),
            api_url: "https://api.atlassian.com".parse().unwrap(),
            provider: crate::config::OAuthProvider::Atlassian,
            redirect_uri: None,
        }))
    }

    fn code(err: JiraError, auth: &Auth, deployment: Deployment, target: &str) -> &'static str {
        let scope = if target == "auth" { "read:jira-user" } else { "read:jira-work" };
        diagnose(&err, &Context { deployment, auth, target, scope, throttled: false, gateway_accepts: false }).code
    }

    fn status(status: u16, message: &str) -> JiraError {
        JiraError::Status { endpoint: "e".into(), status, message: message.into() }
    }

    fn unauthorized(message: &str) -> JiraError {
        JiraError::Unauthorized { endpoint: "e".into(), reason: Rejection::of(message), message: message.into() }
    }

    #[test]
    fn every_error_maps_to_its_entry() {
        let token = Auth::ApiToken {
            email: "e".into(),
            token: Secret::new("t"),
            gateway: None,
            expires: None,
            api_url: "https://api.atlassian.com".parse().unwrap(),
        };
        let pat = Auth::Pat { token: Secret::new("t") };
        let o = oauth(None);
        let (c, dc) = (Deployment::Cloud, Deployment::DataCenter);
        assert_eq!(code(unauthorized(""), &token, c, "auth"), "bad-credentials");
        assert_eq!(code(unauthorized(""), &pat, dc, "auth"), "bad-credentials");
        assert_eq!(code(unauthorized("Unauthorized; audience does not match"), &o, c, "auth"), "oauth-audience");
        assert_eq!(code(unauthorized("Unauthorized; scope does not match"), &o, c, "issues"), "oauth-scope");
        assert_eq!(code(status(404, "Not Found"), &oauth(Some("x")), c, "auth"), "wrong-cloud-id");
        assert_eq!(code(status(404, ""), &token, c, "auth"), "dc-site-as-cloud");
        assert_eq!(code(status(404, ""), &pat, dc, "auth"), "cloud-site-as-dc");
        assert_eq!(code(status(429, ""), &token, c, "issues"), "rate-limited");
        assert_eq!(code(status(502, ""), &token, c, "issues"), "server-errors");
        let forbidden = JiraError::Forbidden { endpoint: "e".into(), message: "no".into() };
        assert_eq!(code(forbidden, &token, c, "projects"), "forbidden");
        let exhausted =
            |last: JiraError| JiraError::Exhausted { endpoint: "e".into(), attempts: 2, last: Box::new(last) };
        assert_eq!(code(exhausted(status(429, "too many")), &token, c, "auth"), "rate-limited");
        assert_eq!(code(exhausted(status(503, "down")), &token, c, "auth"), "server-errors");
        let too_long = JiraError::RetryAfterTooLong { endpoint: "e".into(), wait: std::time::Duration::from_secs(900) };
        assert_eq!(code(too_long, &token, c, "auth"), "rate-limited");
        let connect = |cause| JiraError::Connect { endpoint: "e".into(), cause, message: "m".into() };
        let conn = |cause| code(connect(cause), &token, c, "auth");
        assert_eq!(conn(Transport::Dns), "dns");
        assert_eq!(conn(Transport::Tls), "tls");
        assert_eq!(conn(Transport::Timeout), "timeout");
        assert_eq!(conn(Transport::Connect), "connect");
        assert_eq!(code(exhausted(connect(Transport::Dns)), &token, c, "auth"), "dns");
        assert_eq!(code(exhausted(connect(Transport::Body)), &token, c, "auth"), "unreliable-network");
        let oauth_error = |failure| JiraError::OAuth { failure, message: "m".into(), fix: "f" };
        assert_eq!(code(oauth_error(OAuthFailure::InvalidGrant), &o, c, "auth"), "oauth-refresh-token");
        assert_eq!(code(oauth_error(OAuthFailure::ClientRejected), &o, c, "auth"), "oauth-client");
        assert_eq!(code(oauth_error(OAuthFailure::TokenStore), &o, c, "auth"), "oauth-token-store");
        let site = JiraError::SiteNotGranted { site: "https://a".into(), reachable: vec!["https://b".into()] };
        assert_eq!(code(site, &o, c, "auth"), "oauth-site");
        let decode = JiraError::Decode { endpoint: "e".into(), message: "expected value".into() };
        assert_eq!(code(decode, &token, c, "auth"), "not-jira");
        // Service accounts and Data Center OAuth.
        let gateway =
            || Some(Box::new(crate::config::Gateway { cloud_id: None, api_url: "https://a".parse().unwrap() }));
        let scoped = Auth::ApiToken {
            email: "e".into(),
            token: Secret::new("t"),
            gateway: gateway(),
            expires: None,
            api_url: "https://api.atlassian.com".parse().unwrap(),
        };
        let scope_401 = || unauthorized("Unauthorized; scope does not match");
        assert_eq!(code(scope_401(), &token, c, "auth"), "scoped-token-on-site");
        // A service account's email: every token it has is scoped, whatever the 401 says.
        let sa = Auth::ApiToken {
            email: "bot@serviceaccount.atlassian.com".into(),
            token: Secret::new("t"),
            gateway: None,
            expires: None,
            api_url: "https://api.atlassian.com".parse().unwrap(),
        };
        assert_eq!(code(unauthorized("Client must be authenticated"), &sa, c, "auth"), "scoped-token-on-site");
        let anonymous = |signal| JiraError::LoginFailed {
            endpoint: "e".into(),
            signal,
            credential: String::new(),
            fix: String::new(),
        };
        assert_eq!(code(anonymous(LoginSignal::Failed), &sa, c, "auth"), "scoped-token-on-site");
        assert_eq!(code(anonymous(LoginSignal::Failed), &token, c, "auth"), "bad-credentials");
        let gateway_ok = Context {
            deployment: c,
            auth: &token,
            target: "auth",
            scope: "read:jira-user",
            throttled: false,
            gateway_accepts: true,
        };
        assert_eq!(diagnose(&unauthorized(""), &gateway_ok).code, "scoped-token-on-site");
        assert_eq!(code(scope_401(), &scoped, c, "users"), "token-scope");
        assert_eq!(code(unauthorized("Unauthorized"), &scoped, c, "auth"), "classic-token-on-gateway");
        let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 31);
        let expired = Auth::ApiToken {
            email: "e".into(),
            token: Secret::new("t"),
            gateway: None,
            expires: day,
            api_url: "https://api.atlassian.com".parse().unwrap(),
        };
        assert_eq!(code(unauthorized(""), &expired, c, "auth"), "token-expired");
        assert_eq!(code(oauth_error(OAuthFailure::NotEnabled), &o, dc, "auth"), "dc-oauth-disabled");
    }

    #[test]
    fn a_401_names_the_scope_the_object_needs() {
        let o = oauth(None);
        let d = |kind: ObjectKind| {
            let ctx = Context {
                deployment: Deployment::Cloud,
                auth: &o,
                target: kind.name(),
                scope: crate::objects::of(kind).oauth_scope(),
                throttled: false,
                gateway_accepts: false,
            };
            diagnose(&unauthorized("scope does not match"), &ctx)
        };
        assert!(d(ObjectKind::Users).problem.contains("`read:jira-user`"));
        assert!(d(ObjectKind::Issues).problem.contains("`read:jira-work`"));
    }

    #[test]
    fn objects_diagnose_their_own_failures() {
        use crate::objects::Concern;
        let boards = crate::objects::of(ObjectKind::Boards);
        let issues = crate::objects::of(ObjectKind::Issues);
        let forbidden = JiraError::Forbidden { endpoint: "e".into(), message: "no".into() };
        let code = |d: Option<(Concern, Diagnosis)>| d.map(|(c, d)| (c, d.code));
        assert_eq!(code(boards.diagnose(&forbidden)), Some((Concern::Warn, "boards-unavailable")));
        assert_eq!(code(boards.diagnose(&status(404, ""))), Some((Concern::Warn, "boards-unavailable")));
        assert_eq!(code(issues.diagnose(&status(400, "Field 'x' does not exist"))), Some((Concern::Fail, "bad-jql")));
        assert_eq!(code(issues.diagnose(&forbidden)), None);
    }

    #[test]
    fn missing_scopes_are_all_named() {
        let granted = vec!["read:jira-work".to_string()];
        let d = missing_scopes(&granted).unwrap();
        assert!(d.problem.contains("read:jira-user") && d.problem.contains("offline_access"), "{}", d.problem);
        assert!(!d.problem.contains("`read:jira-work` ("));
        let all: Vec<String> = SCOPES.iter().map(|s| s.to_string()).collect();
        assert_eq!(missing_scopes(&all), None);
    }
}
