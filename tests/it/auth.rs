//! Service accounts and OAuth on every deployment, against jira-sim: scoped API tokens through
//! the gateway, client credentials renewed mid-run, Data Center OAuth 2.0 with rotating refresh
//! tokens and a crash between refresh and use, `check`'s catalog entries for each, and
//! `discover --write-pipeline` keeping the method.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use jira_sim::{Behaviour, Credentials, DataCenterOAuth, DatasetConfig, Flavor, RunningSim, ServiceAccount, SimConfig};
use jirapipe::check::{self, CheckReport, Status};

use crate::common::{self, CLIENT_CREDENTIALS, PAT, PipelineYaml, SCOPED_TOKEN, dc_oauth2, sim_vars};

/// Every object a method must read back, each with its own table.
/// Every object: each method must reach every endpoint jirapipe reads (through the gateway for
/// the scoped token and the service account, with the scopes each endpoint needs).
const OBJECTS: &str = concat!(
    "  issues: {sync: full_refresh, fields: {include: [summary, updated]}}\n",
    "  changelog: {}\n  status_intervals: {}\n  field_history: {}\n",
    "  comments: {}\n  worklogs: {}\n  issue_links: {}\n",
    "  projects: {}\n  users: {}\n  boards: {}\n  fields: {}\n  sprints: {}\n  versions: {}\n  components: {}",
);
const TABLES: [&str; 14] = [
    "issues",
    "issue_changelog",
    "issue_status_intervals",
    "issue_field_history",
    "comments",
    "worklogs",
    "issue_links",
    "projects",
    "users",
    "boards",
    "fields",
    "sprints",
    "versions",
    "components",
];

async fn sim(flavor: Flavor, credentials: Credentials, behaviour: Behaviour) -> RunningSim {
    let data = DatasetConfig { issues: 60, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, credentials, behaviour, ..Default::default() }).await.unwrap()
}

fn pipeline(deployment: &str, auth: &str) -> PipelineYaml {
    paced(deployment, auth, 200)
}

fn paced(deployment: &str, auth: &str, requests_per_second: u32) -> PipelineYaml {
    let rps = requests_per_second.to_string();
    PipelineYaml::new("auth", OBJECTS).deployment(deployment).auth(auth).source("requests_per_second", &rps)
}

/// Runs `p` with the binary (optionally crashing at `failpoint`), returning the command's output.
fn run_binary(sim: &RunningSim, dir: &Path, p: &PipelineYaml, failpoint: Option<&str>) -> common::Out {
    let file = p.write(dir, "auth.yaml");
    let mut c = common::jirapipe_for(sim);
    c.arg("run").arg(&file).env("JIRAPIPE_LEASE_TTL", "1s");
    match failpoint {
        Some(f) => c.env("JIRAPIPE_FAILPOINT", f),
        None => c.env_remove("JIRAPIPE_FAILPOINT"),
    };
    common::output(&mut c)
}

/// Every table of [`TABLES`] under `dir/lake`, as the Python reader reads it: its ids.
fn tables(dir: &Path) -> BTreeMap<&'static str, Vec<String>> {
    TABLES
        .iter()
        .map(|t| {
            let (_, rows) = common::python_rows(dir, t);
            let ids = rows.iter().map(|r| r["id"].to_string()).collect::<Vec<_>>();
            assert!(!ids.is_empty(), "{t} is empty");
            (*t, ids)
        })
        .collect()
}

/// The tables a run with a classic credential (Cloud API token, Data Center PAT) writes: what
/// every other method must read back.
fn reference(sim: &RunningSim, deployment: &str) -> BTreeMap<&'static str, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let auth = if deployment == "data_center" { PAT } else { common::API_TOKEN };
    let out = run_binary(sim, dir.path(), &pipeline(deployment, auth), None);
    assert_eq!(out.code, Some(0), "reference run failed:\n{}", out.stderr);
    tables(dir.path())
}

fn assert_no_secret(out: &common::Out, secrets: &[&str]) {
    for s in secrets {
        assert!(!out.stdout.contains(s) && !out.stderr.contains(s), "{s} leaked:\n{}\n{}", out.stdout, out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scoped_api_token_reads_every_object_through_the_gateway() {
    let sim = sim(Flavor::Cloud, Credentials::default(), Behaviour::default()).await;
    let want = reference(&sim, "cloud");
    let dir = tempfile::tempdir().unwrap();
    let out = run_binary(&sim, dir.path(), &pipeline("cloud", SCOPED_TOKEN), None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(tables(dir.path()), want);
    // The cloud id came from tenant_info and every API call went through the gateway with the
    // scoped token (the site URL refuses it).
    let log = sim.request_log();
    assert!(log.iter().any(|(p, s, _)| p == "/_edge/tenant_info" && *s == 200), "{log:?}");
    let gateway_ok =
        |suffix: &str| log.iter().any(|(p, s, _)| p.starts_with("/ex/jira/") && p.ends_with(suffix) && *s == 200);
    for suffix in ["/search/jql", "/comment", "/project/search", "/users/search", "/field"] {
        assert!(gateway_ok(suffix), "{suffix} not read through the gateway: {log:?}");
    }
    assert!(!log.iter().any(|(p, s, _)| p.starts_with("/ex/jira/") && *s == 401), "{log:?}");
    assert_no_secret(&out, &["sim-scoped-token"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_renew_the_access_token_mid_run() {
    // Two-second access tokens and slow answers: the run outlives several tokens.
    let credentials = Credentials {
        service_account: ServiceAccount { access_token_ttl: Duration::from_secs(2), ..ServiceAccount::default() },
        ..Credentials::default()
    };
    let behaviour = Behaviour { latency: Duration::from_millis(40), ..Behaviour::default() };
    let sim = sim(Flavor::Cloud, credentials, behaviour).await;
    let want = reference(&sim, "cloud");
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // Five requests a second: the run takes several seconds, so several tokens.
    let out = run_binary(&sim, dir.path(), &paced("cloud", CLIENT_CREDENTIALS, 5), None);
    let took = started.elapsed();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(tables(dir.path()), want);
    let grants = sim.token_grants("client_credentials");
    assert!(took > Duration::from_secs(3), "the run must outlive a token: {took:?}");
    assert!(grants >= 2, "the token was renewed during the run: {grants} grants in {took:?}");
    // One fetch serves all the requests in flight: at most one a second (tokens are renewed a
    // second before they expire), plus the first.
    assert!(grants <= took.as_secs() + 2, "{grants} grants in {took:?}: concurrent requests each fetched one");
    assert!(!dir.path().join(".jirapipe").exists(), "client credentials need no token store");
    assert_no_secret(&out, &["sim-sa-secret", "sim-sa-at-"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_oauth_rotation_survives_a_crash_between_refresh_and_use() {
    let credentials = Credentials {
        data_center_oauth: DataCenterOAuth { access_token_ttl: Duration::from_secs(1), ..DataCenterOAuth::default() },
        ..Credentials::default()
    };
    let sim = sim(Flavor::DataCenter, credentials, Behaviour::default()).await;
    let want = reference(&sim, "data_center");
    let dir = tempfile::tempdir().unwrap();
    // Slow enough for the one-second access tokens to expire during the run.
    let p = paced("data_center", &dc_oauth2("state/dc.json"), 5);
    let store = dir.path().join("state/dc.json");
    let stored = || {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&store).unwrap()).unwrap();
        v["refresh_token"].as_str().unwrap().to_string()
    };

    // 1. Crash right after the rotated refresh token is saved, before its access token is used.
    let out = run_binary(&sim, dir.path(), &p, Some("after-token-persist"));
    assert_ne!(out.code, Some(0), "the failpoint must crash the run");
    let rotated = stored();
    assert_ne!(rotated, "sim-dc-refresh-0", "the new refresh token was saved before the crash");
    assert!(!dir.path().join("lake/issues/_delta_log").exists());

    // 2. The next run refreshes with the saved token (the configured one is dead) and rotates
    //    again as the one-second access tokens expire along the way.
    std::thread::sleep(Duration::from_millis(1500));
    let out = run_binary(&sim, dir.path(), &p, None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(tables(dir.path()), want);
    assert_ne!(stored(), rotated);
    assert!(sim.token_grants("dc_refresh_token") >= 3, "{}", sim.token_grants("dc_refresh_token"));
    // Data Center serves its API on the site itself, with the access token as Bearer.
    assert!(sim.requests_with_status("/rest/api/2/search", 200) > 0, "{:?}", sim.request_log());
    assert_no_secret(&out, &["sim-dc-secret", "sim-dc-refresh", "sim-dc-at-"]);

    // 3. Without the store, the configured (used-up) token fails with Data Center's fix.
    std::fs::remove_file(&store).unwrap();
    let out = run_binary(&sim, dir.path(), &p, None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("invalid_grant") && out.stderr.contains("redirect_uri"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_authorization_code_flow_gives_a_working_refresh_token() {
    let sim = sim(Flavor::DataCenter, Credentials::default(), Behaviour::default()).await;
    let cfg = DataCenterOAuth::default();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let authorize = format!(
        "{}/rest/oauth2/latest/authorize?client_id={}&redirect_uri={}&response_type=code&scope=READ&state=s1",
        sim.base_url(),
        cfg.client_id,
        cfg.redirect_uri
    );
    let resp = http.get(&authorize).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&cfg.redirect_uri) && location.ends_with("&state=s1"), "{location}");
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", cfg.client_id.as_str()),
        ("client_secret", cfg.client_secret.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", cfg.redirect_uri.as_str()),
    ];
    let token_url = format!("{}/rest/oauth2/latest/token", sim.base_url());
    let tokens: serde_json::Value = http.post(&token_url).form(&form).send().await.unwrap().json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    // The code is single use.
    let again = http.post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 400);

    let dir = tempfile::tempdir().unwrap();
    let p = pipeline("data_center", &dc_oauth2("dc.json"));
    let file = p.write(dir.path(), "auth.yaml");
    let out = common::output(common::jirapipe_for(&sim).arg("run").arg(&file).env("JIRA_DC_REFRESH_TOKEN", &refresh));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_write_pipeline_keeps_the_auth_method() {
    let sim = sim(Flavor::Cloud, Credentials::default(), Behaviour::default()).await;
    for (auth, keeps) in [(SCOPED_TOKEN, "scoped: true"), (CLIENT_CREDENTIALS, "type: oauth2_client_credentials")] {
        let dir = tempfile::tempdir().unwrap();
        let file = pipeline("cloud", auth).write(dir.path(), "auth.yaml");
        let out = common::output(common::jirapipe_for(&sim).args(["discover", "--write-pipeline"]).arg(&file));
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(out.stdout.contains(keeps), "{keeps} lost:\n{}", out.stdout);
        let starter = common::write_file(dir.path(), "starter.yaml", &out.stdout);
        let out = common::output(common::jirapipe_for(&sim).arg("run").arg(&starter));
        assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    }
}

async fn check(p: &PipelineYaml, vars: jirapipe::config::Vars) -> CheckReport {
    let dir = tempfile::tempdir().unwrap();
    check::check(&p.load(dir.path(), &vars), check::probe_retry()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_a_scoped_token_sent_to_the_site_url() {
    let sim = sim(Flavor::Cloud, Credentials::default(), Behaviour::default()).await;
    let not_scoped = SCOPED_TOKEN.replace("\n    scoped: true\n    api_url: ${JIRA_SITE}", "");
    let r = check(&pipeline("cloud", &not_scoped), sim_vars(&sim)).await;
    common::assert_finding(&r, "auth", "scoped-token-on-site", Status::Fail, "", "scoped: true");
    assert!(!r.passed);
    let r = check(&pipeline("cloud", SCOPED_TOKEN), sim_vars(&sim)).await;
    assert!(r.passed, "{r:#?}");
}

/// A scoped token of a person (created at id.atlassian.com with scopes), not a service
/// account's: the email does not tell, so `check` asks the gateway, where the same email and
/// token log in. A token refused by both stays `bad-credentials`.
#[tokio::test(flavor = "multi_thread")]
async fn check_asks_the_gateway_whether_a_refused_token_is_a_scoped_one() {
    let credentials = Credentials {
        service_account: ServiceAccount { email: "etl@acme.com".into(), ..ServiceAccount::default() },
        ..Credentials::default()
    };
    let sim = sim(Flavor::Cloud, credentials, Behaviour::default()).await;
    let at_site = SCOPED_TOKEN.replace("\n    scoped: true", "");
    let r = check(&pipeline("cloud", &at_site), sim_vars(&sim)).await;
    common::assert_finding(
        &r,
        "auth",
        "scoped-token-on-site",
        Status::Fail,
        "work through Atlassian's gateway",
        "scoped: true",
    );
    let wrong = sim_vars(&sim).with("JIRA_SCOPED_TOKEN", "not-a-token");
    let r = check(&pipeline("cloud", &at_site), wrong).await;
    common::assert_finding(&r, "auth", "bad-credentials", Status::Fail, "", "create a new API token");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_a_classic_token_sent_to_the_gateway() {
    let sim = sim(Flavor::Cloud, Credentials::default(), Behaviour::default()).await;
    let classic_scoped = format!("{}\n    scoped: true\n    api_url: ${{JIRA_SITE}}", common::API_TOKEN);
    let r = check(&pipeline("cloud", &classic_scoped), sim_vars(&sim)).await;
    common::assert_finding(&r, "auth", "classic-token-on-gateway", Status::Fail, "", "remove `scoped: true`");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_an_expired_and_an_expiring_token() {
    let credentials = Credentials { api_token_expired: true, ..Credentials::default() };
    let sim = sim(Flavor::Cloud, credentials, Behaviour::default()).await;
    let expired = format!("{}\n    expires: 2025-01-31", common::API_TOKEN);
    let r = check(&pipeline("cloud", &expired), sim_vars(&sim)).await;
    common::assert_finding(&r, "auth", "token-expired", Status::Fail, "", "create a new API token");

    let sim = self::sim(Flavor::Cloud, Credentials::default(), Behaviour::default()).await;
    let soon = (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%d");
    let expiring = format!("{}\n    expires: {soon}", common::API_TOKEN);
    let r = check(&pipeline("cloud", &expiring), sim_vars(&sim)).await;
    common::assert_finding(&r, "auth", "token-expiring", Status::Warn, "", "before then");
    assert!(r.passed, "a warning does not fail the check: {r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_the_granular_scopes_an_object_lacks() {
    // A service account token with every granular scope but the users' ones.
    let users = ["read:user:jira", "read:application-role:jira"];
    let token_scopes =
        jira_sim::all_granular_read_scopes().into_iter().filter(|s| !users.contains(&s.as_str())).collect();
    let credentials = Credentials {
        service_account: ServiceAccount { token_scopes, ..ServiceAccount::default() },
        ..Credentials::default()
    };
    let sim = sim(Flavor::Cloud, credentials, Behaviour::default()).await;
    let r = check(&pipeline("cloud", SCOPED_TOKEN), sim_vars(&sim)).await;
    common::assert_finding(&r, "users", "token-scope", Status::Fail, "", "`read:user:jira`");
    common::assert_finding(&r, "users", "token-scope", Status::Fail, "", "`read:jira-user`");
    let issues = r.probes.iter().find(|p| p.target == "projects").unwrap();
    assert_eq!(issues.status, Status::Fail, "projects read users too (lead): {r:#?}");
    let fields = r.probes.iter().find(|p| p.target == "fields").unwrap();
    assert_eq!(fields.status, Status::Ok, "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_a_data_center_without_oauth() {
    let credentials = Credentials {
        data_center_oauth: DataCenterOAuth { enabled: false, ..DataCenterOAuth::default() },
        ..Credentials::default()
    };
    let sim = sim(Flavor::DataCenter, credentials, Behaviour::default()).await;
    let r = check(&pipeline("data_center", &dc_oauth2("dc.json")), sim_vars(&sim)).await;
    common::assert_finding(&r, "auth", "dc-oauth-disabled", Status::Fail, "", "Application links");
}
