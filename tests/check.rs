//! `jirapipe check` against jira-sim: each entry of the error catalog is produced for real and
//! its diagnosis and fix asserted, plus the command line's table, JSON, exit codes and secrets.

mod common;

use std::path::Path;

use jira_sim::{Behaviour, Credentials, DatasetConfig, Flavor, OAuthApp, RunningSim, SimConfig};
use jirapipe::check::{self, CheckReport, Status};
use jirapipe::config::{Pipeline, Vars, load_str};

async fn sim_with(flavor: Flavor, credentials: Credentials, behaviour: Behaviour) -> RunningSim {
    let data = DatasetConfig { issues: 250, boards: 8, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, credentials, behaviour, ..Default::default() }).await.unwrap()
}

async fn cloud() -> RunningSim {
    sim_with(Flavor::Cloud, Credentials::default(), Behaviour::default()).await
}

const ALL: &str = "  issues: {fields: {include: [summary]}}\n  projects: {}\n  users: {}\n  boards: {}\n  fields: {}";
const API_TOKEN: &str = "    type: api_token\n    email: ${EMAIL}\n    token: ${TOKEN}";

/// A pipeline at `site` with an `auth` block; `${SITE}` and the sim's credentials are set.
fn pipeline(sim: &RunningSim, dir: &Path, deployment: &str, site: &str, auth: &str, token: &str) -> Pipeline {
    let key = if deployment == "cloud" { "site" } else { "base_url" };
    let yaml = format!(
        "version: 1\nname: chk\nsource:\n  deployment: {deployment}\n  {key}: {site}\n  auth:\n{auth}\ndestination:\n  url: lake\nobjects:\n{ALL}\n"
    );
    let vars = Vars::default()
        .with("SITE", sim.base_url())
        .with("EMAIL", sim.email())
        .with("TOKEN", token)
        .with("PAT", sim.credentials().pat.clone())
        .with("SECRET", sim.credentials().oauth.client_secret.clone());
    load_str(&yaml, "chk.yaml", dir, &vars).unwrap_or_else(|e| panic!("{e:?}"))
}

fn api_token(sim: &RunningSim, dir: &Path) -> Pipeline {
    pipeline(sim, dir, "cloud", "${SITE}", API_TOKEN, sim.api_token())
}

/// OAuth through the simulator's token endpoint and gateway; `extra` adds auth keys.
fn oauth(sim: &RunningSim, dir: &Path, extra: &str) -> Pipeline {
    let auth = format!(
        "    type: oauth2\n    client_id: sim-client\n    client_secret: ${{SECRET}}\n    refresh_token: ${{TOKEN}}\n    token_store: store.json\n    token_url: ${{SITE}}/oauth/token\n    api_url: ${{SITE}}\n{extra}"
    );
    pipeline(sim, dir, "cloud", "${SITE}", &auth, "sim-refresh-0")
}

async fn run(p: &Pipeline) -> CheckReport {
    check::check(p, check::probe_retry()).await
}

/// Asserts the report holds `code` on `target` with `status`, its problem and fix containing the
/// given texts.
#[track_caller]
fn assert_finding(r: &CheckReport, target: &str, code: &str, status: Status, problem: &str, fix: &str) {
    let probe = r.probes.iter().find(|p| p.target == target).unwrap_or_else(|| panic!("no row {target}: {r:#?}"));
    let f = probe
        .findings
        .iter()
        .find(|f| f.diagnosis.code == code)
        .unwrap_or_else(|| panic!("no `{code}` on {target}: {r:#?}"));
    assert_eq!(f.status, status, "{r:#?}");
    assert!(f.diagnosis.problem.contains(problem), "problem of {code}: {:?} lacks {problem:?}", f.diagnosis.problem);
    assert!(f.diagnosis.fix.contains(fix), "fix of {code}: {:?} lacks {fix:?}", f.diagnosis.fix);
    if status == Status::Fail {
        assert!(!r.passed, "a failed probe fails the check: {r:#?}");
    }
}

fn status_of(r: &CheckReport, target: &str) -> Status {
    r.probes.iter().find(|p| p.target == target).unwrap_or_else(|| panic!("no row {target}")).status
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_site_passes_with_records_per_object() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&api_token(&sim, dir.path())).await;
    assert!(r.passed, "{r:#?}");
    let records = |t: &str| r.probes.iter().find(|p| p.target == t).unwrap().records.clone();
    assert_eq!(records("issues").as_deref(), Some("250"));
    assert_eq!(records("projects").as_deref(), Some("5"));
    assert_eq!(records("boards").as_deref(), Some("8"));
    assert!(records("fields").is_some_and(|n| n.parse::<u32>().unwrap() > 20));
    assert!(r.probes[0].detail.as_deref().unwrap().starts_with("Jira Cloud, cloud id"), "{r:#?}");
    assert!(r.probes[1].detail.as_deref().unwrap().contains(sim.email()), "{r:#?}");
    // Board 7's filter is not shared with the API user (the simulator's every 7th board).
    assert_finding(&r, "boards", "board-filter-not-shared", Status::Warn, "7", "Edit filter shares");
    assert_finding(&r, "issues", "issues-hidden", Status::Note, "security level", "Issue security");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_site_url() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "cloud", "${SITE}/secure/Dashboard.jspa", API_TOKEN, sim.api_token());
    let r = run(&p).await;
    assert_finding(&r, "site", "wrong-site", Status::Fail, "no Jira at", "the address you open Jira at");
    assert_eq!(status_of(&r, "issues"), Status::Skipped);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "cloud", "${SITE}", API_TOKEN, "not-the-token");
    let r = run(&p).await;
    assert_finding(&r, "auth", "bad-credentials", Status::Fail, "email and API token", "id.atlassian.com");
    assert_eq!(status_of(&r, "issues"), Status::Skipped);

    let dc = sim_with(Flavor::DataCenter, Credentials::default(), Behaviour::default()).await;
    let p = pipeline(&dc, dir.path(), "data_center", "${SITE}", "    type: pat\n    token: ${TOKEN}", "wrong-pat");
    let r = run(&p).await;
    assert_finding(&r, "auth", "bad-credentials", Status::Fail, "personal access token", "Personal Access Tokens");
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_audience_not_api_atlassian_com() {
    let credentials = Credentials {
        oauth: OAuthApp { audience: "jira.example.com".into(), ..OAuthApp::default() },
        ..Credentials::default()
    };
    let sim = sim_with(Flavor::Cloud, credentials, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&oauth(&sim, dir.path(), "")).await;
    assert_finding(&r, "auth", "oauth-audience", Status::Fail, "api.atlassian.com", "audience=api.atlassian.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_scope_mismatch_names_the_missing_scopes() {
    // Only read:jira-work: /myself and users need read:jira-user; no offline_access.
    let scopes = vec!["read:jira-work".to_string()];
    let credentials = Credentials { oauth: OAuthApp { scopes, ..OAuthApp::default() }, ..Credentials::default() };
    let sim = sim_with(Flavor::Cloud, credentials, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&oauth(&sim, dir.path(), "")).await;
    assert_finding(&r, "scopes", "oauth-scope", Status::Warn, "`read:jira-user`", "read:jira-user");
    let scopes = r.finding("oauth-scope").unwrap();
    assert!(scopes.diagnosis.problem.contains("`offline_access`"), "{r:#?}");
    assert_finding(&r, "users", "oauth-scope", Status::Fail, "`read:jira-user`", "consent flow again");
    assert_eq!(status_of(&r, "issues"), Status::Ok, "issues only need read:jira-work: {r:#?}");

    // Without read:jira-work, every work object fails and says so.
    let scopes = vec!["read:jira-user".to_string(), "offline_access".to_string()];
    let credentials = Credentials { oauth: OAuthApp { scopes, ..OAuthApp::default() }, ..Credentials::default() };
    let sim = sim_with(Flavor::Cloud, credentials, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&oauth(&sim, dir.path(), "")).await;
    assert_finding(&r, "issues", "oauth-scope", Status::Fail, "`read:jira-work`", "read:jira-work");
    assert_eq!(status_of(&r, "scopes"), Status::Fail);
    assert_eq!(status_of(&r, "users"), Status::Ok, "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_refresh_token_already_rotated() {
    let sim = cloud().await;
    let first = tempfile::tempdir().unwrap();
    // A first check rotates the configured token and keeps the new one in its token store...
    assert!(run(&oauth(&sim, first.path(), "")).await.passed);
    // ...so another copy of the pipeline (its own, empty store) holds a dead token.
    let second = tempfile::tempdir().unwrap();
    let r = run(&oauth(&sim, second.path(), "")).await;
    assert_finding(&r, "auth", "oauth-refresh-token", Status::Fail, "already used", "consent flow again");
    // The first copy still works: it uses its rotated token.
    assert!(run(&oauth(&sim, first.path(), "")).await.passed);
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_wrong_client_secret() {
    let credentials = Credentials {
        oauth: OAuthApp { client_secret: "rotated-secret".into(), ..OAuthApp::default() },
        ..Credentials::default()
    };
    let sim = sim_with(Flavor::Cloud, credentials, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // The pipeline still sends the old secret (`${TOKEN}` is not the app's secret).
    let p = {
        let auth = "    type: oauth2\n    client_id: sim-client\n    client_secret: ${TOKEN}\n    refresh_token: ${TOKEN}\n    token_store: store.json\n    token_url: ${SITE}/oauth/token\n    api_url: ${SITE}\n";
        pipeline(&sim, dir.path(), "cloud", "${SITE}", auth, "sim-refresh-0")
    };
    let r = run(&p).await;
    assert_finding(&r, "auth", "oauth-client", Status::Fail, "credentials were rejected", "client_secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_cloud_id() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&oauth(&sim, dir.path(), "    cloud_id: 00000000-dead-beef\n")).await;
    let right = sim.dataset().cloud_id();
    assert_finding(&r, "site", "wrong-cloud-id", Status::Fail, "00000000-dead-beef", &format!("cloud_id: {right}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_site_configured_as_cloud() {
    let dc = sim_with(Flavor::DataCenter, Credentials::default(), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&pipeline(&dc, dir.path(), "cloud", "${SITE}", API_TOKEN, "t")).await;
    assert_finding(&r, "site", "dc-site-as-cloud", Status::Fail, "not Jira Cloud", "deployment: data_center");
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_pat_on_a_cloud_site() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "data_center", "${SITE}", "    type: pat\n    token: ${PAT}", "");
    let r = run(&p).await;
    assert_finding(
        &r,
        "site",
        "cloud-site-as-dc",
        Status::Fail,
        "does not accept personal access tokens",
        "type: api_token",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_healthy() {
    let dc = sim_with(Flavor::DataCenter, Credentials::default(), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let pat = dc.credentials().pat.clone();
    let r = run(&pipeline(&dc, dir.path(), "data_center", "${SITE}", "    type: pat\n    token: ${TOKEN}", &pat)).await;
    assert!(r.passed, "{r:#?}");
    assert_eq!(r.probes[0].detail.as_deref(), Some("Jira Data Center / Server"));
    assert_eq!(r.probes.iter().find(|p| p.target == "issues").unwrap().records.as_deref(), Some("250"));
}

#[tokio::test(flavor = "multi_thread")]
async fn users_redacted() {
    let behaviour = Behaviour { user_emails_visible: false, ..Behaviour::default() };
    let sim = sim_with(Flavor::Cloud, Credentials::default(), behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&api_token(&sim, dir.path())).await;
    assert_finding(&r, "users", "users-redacted", Status::Warn, "without `emailAddress`", "read:jira-user");
}

#[tokio::test(flavor = "multi_thread")]
async fn issues_hidden_by_security_levels_are_not_counted() {
    let behaviour = Behaviour { hidden_issue_every: Some(5), ..Behaviour::default() };
    let sim = sim_with(Flavor::Cloud, Credentials::default(), behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&api_token(&sim, dir.path())).await;
    // Jira counts only what the API user sees, so the probe can report the visible count and
    // the note, not the gap.
    let issues = r.probes.iter().find(|p| p.target == "issues").unwrap();
    assert_eq!(issues.records.as_deref(), Some("200"), "{r:#?}");
    assert_finding(&r, "issues", "issues-hidden", Status::Note, "not counted by Jira", "Issue security");
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_right_now() {
    let behaviour = Behaviour { throttle_every: Some(1), ..Behaviour::default() };
    let sim = sim_with(Flavor::Cloud, Credentials::default(), behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&api_token(&sim, dir.path())).await;
    assert_finding(&r, "auth", "rate-limited", Status::Fail, "HTTP 429", "requests_per_second");
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_tls_and_dns() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = pipeline(&sim, dir.path(), "cloud", &format!("http://127.0.0.1:{closed}"), API_TOKEN, "t");
    let r = run(&p).await;
    assert_finding(&r, "site", "connect", Status::Fail, "cannot connect", "host and port");
    // HTTPS to a plain-HTTP server: the TLS handshake fails.
    let https = sim.base_url().replace("http://", "https://");
    let r = run(&pipeline(&sim, dir.path(), "cloud", &https, API_TOKEN, "t")).await;
    assert_finding(&r, "site", "tls", Status::Fail, "TLS", "https://");
    // `.invalid` never resolves (RFC 2606).
    let r = run(&pipeline(&sim, dir.path(), "cloud", "https://acme.invalid", API_TOKEN, "t")).await;
    assert_finding(&r, "site", "dns", Status::Fail, "does not resolve", "nslookup");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_is_trusted_through_ca_certificate() {
    let identity = jira_sim::TlsIdentity::generate().unwrap();
    let ca_pem = identity.ca_pem().to_string();
    let data = DatasetConfig { issues: 30, ..Default::default() };
    let sim = RunningSim::start(SimConfig { data, tls: Some(identity), ..Default::default() }).await.unwrap();
    assert!(sim.base_url().starts_with("https://"));
    let dir = tempfile::tempdir().unwrap();

    let r = run(&api_token(&sim, dir.path())).await;
    assert_finding(&r, "site", "tls", Status::Fail, "TLS", "source.ca_certificate");

    std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
    let yaml = format!(
        "version: 1\nname: chk\nsource:\n  site: ${{SITE}}\n  ca_certificate: ca.pem\n  auth:\n{API_TOKEN}\ndestination:\n  url: lake\nobjects:\n{ALL}\n"
    );
    let vars = Vars::default().with("SITE", sim.base_url()).with("EMAIL", sim.email()).with("TOKEN", sim.api_token());
    let trusted = load_str(&yaml, "chk.yaml", dir.path(), &vars).unwrap_or_else(|e| panic!("{e:?}"));
    let r = run(&trusted).await;
    assert!(r.passed, "{r:#?}");

    // A file that is not PEM fails validation and names the key.
    std::fs::write(dir.path().join("ca.pem"), "not a certificate").unwrap();
    let err = load_str(&yaml, "chk.yaml", dir.path(), &vars).unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("ca_certificate") && text.contains("PEM"), "{text}");
}

fn write(dir: &Path, yaml: &str) -> std::path::PathBuf {
    let f = dir.join("p.yaml");
    std::fs::write(&f, yaml).unwrap();
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_prints_a_table_exits_by_outcome_and_never_a_secret() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "version: 1\nname: chk\nsource:\n  site: ${{SITE}}\n  auth:\n{API_TOKEN}\ndestination:\n  url: lake\nobjects:\n{ALL}\n"
    );
    let file = write(dir.path(), &yaml);
    let cli = |token: &str, json: bool| {
        let mut c = common::jirapipe();
        c.arg("check").arg(&file).env("SITE", sim.base_url()).env("EMAIL", sim.email()).env("TOKEN", token);
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, stdout, stderr) = cli(sim.api_token(), false);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for want in ["object", "status", "records", "issues", "250", "warning [board-filter-not-shared]", "fix:", "passed"]
    {
        assert!(stdout.contains(want), "{want:?} missing:\n{stdout}");
    }
    assert!(!stdout.contains(sim.api_token()) && !stderr.contains(sim.api_token()));

    let (code, stdout, stderr) = cli("wrong-token-value", false);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("problem [bad-credentials]") && stdout.contains("FAILED"), "{stdout}");
    assert!(!stdout.contains("wrong-token-value") && !stderr.contains("wrong-token-value"), "{stdout}{stderr}");

    let (code, stdout, _) = cli("wrong-token-value", true);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(v["probes"][1]["findings"][0]["code"], "bad-credentials");
}

#[tokio::test(flavor = "multi_thread")]
async fn boards_without_jira_software() {
    let behaviour = Behaviour { jira_software: false, ..Behaviour::default() };
    let sim = sim_with(Flavor::Cloud, Credentials::default(), behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&api_token(&sim, dir.path())).await;
    let probe = r.probes.iter().find(|p| p.target == "boards").unwrap();
    let f =
        probe.findings.iter().find(|f| f.diagnosis.code == "boards-unavailable").unwrap_or_else(|| panic!("{r:#?}"));
    assert!(f.diagnosis.problem.contains("Jira Software"), "{:?}", f.diagnosis);
    assert!(f.diagnosis.fix.contains("remove `boards`"), "{:?}", f.diagnosis);
}
