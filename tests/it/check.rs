//! `jirapipe check` against jira-sim: each entry of the error catalog is produced for real and
//! its diagnosis and fix asserted, plus the command line's table, JSON, exit codes and secrets.

use std::path::Path;

use jira_sim::{Behaviour, Credentials, DatasetConfig, Flavor, OAuthApp, RunningSim, SimConfig};
use jirapipe::check::{self, CheckReport, Status};
use jirapipe::config::Pipeline;

use crate::common::{self, PAT, PipelineYaml, assert_finding, oauth2, sim_vars};

async fn sim_with(flavor: Flavor, credentials: Credentials, behaviour: Behaviour) -> RunningSim {
    let data = DatasetConfig { issues: 250, boards: 8, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, credentials, behaviour, ..Default::default() }).await.unwrap()
}

async fn cloud() -> RunningSim {
    sim_with(Flavor::Cloud, Credentials::default(), Behaviour::default()).await
}

/// The suite's pipeline: every object, from `${JIRA_SITE}` on Cloud with an API token unless
/// changed.
fn chk() -> PipelineYaml {
    PipelineYaml::new(
        "chk",
        "  issues: {fields: {include: [summary]}}\n  projects: {}\n  users: {}\n  boards: {}\n  fields: {}",
    )
}

fn api_token(sim: &RunningSim, dir: &Path) -> Pipeline {
    chk().load(dir, &sim_vars(sim))
}

/// OAuth through the simulator's token endpoint and gateway, optionally with a `cloud_id`.
fn oauth(sim: &RunningSim, dir: &Path, cloud_id: Option<&str>) -> Pipeline {
    let mut auth = oauth2("store.json");
    if let Some(id) = cloud_id {
        auth += &format!("\n    cloud_id: {id}");
    }
    chk().auth(&auth).load(dir, &sim_vars(sim))
}

async fn run(p: &Pipeline) -> CheckReport {
    check::check(p, check::probe_retry()).await
}

/// The check of the API-token pipeline against a Cloud site that behaves as `behaviour`.
async fn check_cloud(behaviour: Behaviour) -> CheckReport {
    let sim = sim_with(Flavor::Cloud, Credentials::default(), behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    run(&api_token(&sim, dir.path())).await
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
    let p = chk().site("${JIRA_SITE}/secure/Dashboard.jspa").load(dir.path(), &sim_vars(&sim));
    let r = run(&p).await;
    assert_finding(&r, "site", "wrong-site", Status::Fail, "no Jira at", "the address you open Jira at");
    assert_eq!(status_of(&r, "issues"), Status::Skipped);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let p = chk().load(dir.path(), &sim_vars(&sim).with("JIRA_API_TOKEN", "not-the-token"));
    let r = run(&p).await;
    assert_finding(&r, "auth", "bad-credentials", Status::Fail, "email and API token", "id.atlassian.com");
    assert_eq!(status_of(&r, "issues"), Status::Skipped);

    let dc = sim_with(Flavor::DataCenter, Credentials::default(), Behaviour::default()).await;
    let p = chk().deployment("data_center").auth(PAT).load(dir.path(), &sim_vars(&dc).with("JIRA_PAT", "wrong-pat"));
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
    let r = run(&oauth(&sim, dir.path(), None)).await;
    assert_finding(&r, "auth", "oauth-audience", Status::Fail, "api.atlassian.com", "audience=api.atlassian.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_scope_mismatch_names_the_missing_scopes() {
    // Only read:jira-work: /myself and users need read:jira-user; no offline_access.
    let scopes = vec!["read:jira-work".to_string()];
    let credentials = Credentials { oauth: OAuthApp { scopes, ..OAuthApp::default() }, ..Credentials::default() };
    let sim = sim_with(Flavor::Cloud, credentials, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&oauth(&sim, dir.path(), None)).await;
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
    let r = run(&oauth(&sim, dir.path(), None)).await;
    assert_finding(&r, "issues", "oauth-scope", Status::Fail, "`read:jira-work`", "read:jira-work");
    assert_eq!(status_of(&r, "scopes"), Status::Fail);
    assert_eq!(status_of(&r, "users"), Status::Ok, "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_refresh_token_already_rotated() {
    let sim = cloud().await;
    let first = tempfile::tempdir().unwrap();
    // A first check rotates the configured token and keeps the new one in its token store...
    assert!(run(&oauth(&sim, first.path(), None)).await.passed);
    // ...so another copy of the pipeline (its own, empty store) holds a dead token.
    let second = tempfile::tempdir().unwrap();
    let r = run(&oauth(&sim, second.path(), None)).await;
    assert_finding(&r, "auth", "oauth-refresh-token", Status::Fail, "already used", "consent flow again");
    // The first copy still works: it uses its rotated token.
    assert!(run(&oauth(&sim, first.path(), None)).await.passed);
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_wrong_client_secret() {
    let credentials = Credentials {
        oauth: OAuthApp { client_secret: "rotated-secret".into(), ..OAuthApp::default() },
        ..Credentials::default()
    };
    let sim = sim_with(Flavor::Cloud, credentials, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // The pipeline still sends the old secret.
    let old = OAuthApp::default().client_secret;
    let p = chk().auth(&oauth2("store.json")).load(dir.path(), &sim_vars(&sim).with("JIRA_CLIENT_SECRET", old));
    let r = run(&p).await;
    assert_finding(&r, "auth", "oauth-client", Status::Fail, "credentials were rejected", "client_secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_cloud_id() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&oauth(&sim, dir.path(), Some("00000000-dead-beef"))).await;
    let right = sim.dataset().cloud_id();
    assert_finding(&r, "site", "wrong-cloud-id", Status::Fail, "00000000-dead-beef", &format!("cloud_id: {right}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_site_configured_as_cloud() {
    let dc = sim_with(Flavor::DataCenter, Credentials::default(), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(&chk().load(dir.path(), &sim_vars(&dc).with("JIRA_API_TOKEN", "t"))).await;
    assert_finding(&r, "site", "dc-site-as-cloud", Status::Fail, "not Jira Cloud", "deployment: data_center");
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_pat_on_a_cloud_site() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let p = chk().deployment("data_center").auth(PAT).load(dir.path(), &sim_vars(&sim));
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
    let r = run(&chk().deployment("data_center").auth(PAT).load(dir.path(), &sim_vars(&dc))).await;
    assert!(r.passed, "{r:#?}");
    assert_eq!(r.probes[0].detail.as_deref(), Some("Jira Data Center / Server"));
    assert_eq!(r.probes.iter().find(|p| p.target == "issues").unwrap().records.as_deref(), Some("250"));
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_worklogs_and_links_are_probed_on_both_deployments() {
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", None), (Flavor::DataCenter, "data_center", Some(PAT))] {
        let sim = sim_with(flavor, Credentials::default(), Behaviour::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let mut p =
            PipelineYaml::new("chk", "  comments: {}\n  worklogs: {}\n  issue_links: {}").deployment(deployment);
        if let Some(a) = auth {
            p = p.auth(a);
        }
        let r = run(&p.load(dir.path(), &sim_vars(&sim))).await;
        assert!(r.passed, "{deployment}: {r:#?}");
        for (target, says) in
            [("comments", "on issue"), ("worklogs", "updated in the last week"), ("issue_links", "on issue")]
        {
            let probe = r.probes.iter().find(|p| p.target == target).unwrap_or_else(|| panic!("{target}: {r:#?}"));
            assert_eq!(probe.status, Status::Ok, "{deployment} {target}: {probe:#?}");
            let records = probe.records.as_deref().unwrap_or_default();
            assert!(records.contains(says), "{deployment} {target}: {records}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_redacted() {
    let behaviour = Behaviour { user_emails_visible: false, ..Behaviour::default() };
    let r = check_cloud(behaviour).await;
    assert_finding(&r, "users", "users-redacted", Status::Warn, "without `emailAddress`", "read:jira-user");
}

#[tokio::test(flavor = "multi_thread")]
async fn issues_hidden_by_security_levels_are_not_counted() {
    let behaviour = Behaviour { hidden_issue_every: Some(5), ..Behaviour::default() };
    let r = check_cloud(behaviour).await;
    // Jira counts only what the API user sees, so the probe can report the visible count and
    // the note, not the gap.
    let issues = r.probes.iter().find(|p| p.target == "issues").unwrap();
    assert_eq!(issues.records.as_deref(), Some("200"), "{r:#?}");
    assert_finding(&r, "issues", "issues-hidden", Status::Note, "not counted by Jira", "Issue security");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rate_limit_headers_jira_sent_are_reported() {
    let burst = jira_sim::BurstLimit { per_second: 50.0, buffer: 100, only: Vec::new(), others_per_second: 0.0 };
    let r = check_cloud(Behaviour { burst: Some(burst), ..Behaviour::default() }).await;
    let line = r.rate_limits.as_deref().unwrap_or_else(|| panic!("{r:#?}"));
    assert!(line.contains("X-RateLimit-Limit: 50") && line.contains("X-RateLimit-Remaining: "), "{line}");
    let quiet = check_cloud(Behaviour::default()).await;
    assert_eq!(quiet.rate_limits.as_deref(), Some("no rate-limit headers in Jira's answers"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_right_now() {
    let behaviour = Behaviour { throttle_every: Some(1), ..Behaviour::default() };
    let r = check_cloud(behaviour).await;
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
    let site = |site: &str| chk().site(site).load(dir.path(), &sim_vars(&sim).with("JIRA_API_TOKEN", "t"));
    let r = run(&site(&format!("http://127.0.0.1:{closed}"))).await;
    assert_finding(&r, "site", "connect", Status::Fail, "cannot connect", "host and port");
    // HTTPS to a plain-HTTP server: the TLS handshake fails.
    let https = sim.base_url().replace("http://", "https://");
    let r = run(&site(&https)).await;
    assert_finding(&r, "site", "tls", Status::Fail, "TLS", "https://");
    // `.invalid` never resolves (RFC 2606).
    let r = run(&site("https://acme.invalid")).await;
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
    let with_ca = chk().source("ca_certificate", "ca.pem");
    let r = run(&with_ca.load(dir.path(), &sim_vars(&sim))).await;
    assert!(r.passed, "{r:#?}");

    // A file that is not PEM fails validation and names the key.
    std::fs::write(dir.path().join("ca.pem"), "not a certificate").unwrap();
    let err = with_ca.try_load(dir.path(), &sim_vars(&sim)).unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("ca_certificate") && text.contains("PEM"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_prints_a_table_exits_by_outcome_and_never_a_secret() {
    let sim = cloud().await;
    let dir = tempfile::tempdir().unwrap();
    let file = chk().write(dir.path(), "chk.yaml");
    let cli = |token: &str, json: bool| {
        let mut c = common::jirapipe_for(&sim);
        c.arg("check").arg(&file).env("JIRA_API_TOKEN", token);
        if json {
            c.arg("--json");
        }
        let out = common::output(&mut c);
        (out.code, out.stdout, out.stderr)
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
    let r = check_cloud(behaviour).await;
    let probe = r.probes.iter().find(|p| p.target == "boards").unwrap();
    let f =
        probe.findings.iter().find(|f| f.diagnosis.code == "boards-unavailable").unwrap_or_else(|| panic!("{r:#?}"));
    assert!(f.diagnosis.problem.contains("Jira Software"), "{:?}", f.diagnosis);
    assert!(f.diagnosis.fix.contains("remove `boards`"), "{:?}", f.diagnosis);
}
