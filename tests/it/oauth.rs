//! OAuth 2.0 (3LO) against jira-sim: cloud id discovery, the gateway, rotating refresh tokens
//! persisted before use, and a process crash between the refresh and the first use.

use std::path::Path;
use std::time::Duration;

use jira_sim::{Credentials, DatasetConfig, OAuthApp, RunningSim, SimConfig};

use crate::common::{self, PipelineYaml, oauth2};

/// A pipeline file using OAuth against `sim`, its secrets from the environment.
fn write_pipeline(dir: &Path) -> std::path::PathBuf {
    let objects = "  issues: {sync: full_refresh, fields: {include: [summary]}}\n  users: {}";
    PipelineYaml::new("oauth", objects).auth(&oauth2("state/oauth.json")).write(dir, "oauth.yaml")
}

fn run(sim: &RunningSim, file: &Path, failpoint: Option<&str>) -> std::process::Output {
    let mut c = common::jirapipe_for(sim);
    c.args(["run"]).arg(file);
    // The crashed run leaves its lease behind; a short TTL lets the next run take it over soon.
    c.env("JIRAPIPE_LEASE_TTL", "1s");
    match failpoint {
        Some(f) => c.env("JIRAPIPE_FAILPOINT", f),
        None => c.env_remove("JIRAPIPE_FAILPOINT"),
    };
    c.output().unwrap()
}

fn stored_refresh_token(store: &Path) -> String {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(store).unwrap()).unwrap();
    v["refresh_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_survives_a_crash_between_refresh_and_use() {
    // One-second access tokens: every run refreshes (and rotates), and long runs refresh on
    // expiry along the way.
    let credentials = Credentials {
        oauth: OAuthApp { access_token_ttl: Duration::from_secs(1), ..OAuthApp::default() },
        ..Credentials::default()
    };
    let sim = RunningSim::start(SimConfig {
        data: DatasetConfig { issues: 120, ..Default::default() },
        credentials,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write_pipeline(dir.path());
    let store = dir.path().join("state/oauth.json");

    // 1. Crash right after the rotated refresh token is saved, before the access token is used.
    let out = run(&sim, &file, Some("after-token-persist"));
    assert!(!out.status.success(), "the failpoint must crash the run");
    let rotated = stored_refresh_token(&store);
    assert_ne!(rotated, "sim-refresh-0", "the new refresh token was saved before the crash");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(!dir.path().join("lake/issues/_delta_log").exists(), "nothing was written by the crashed run");

    // 2. The next run authenticates with the saved token (the configured one is used up).
    std::thread::sleep(Duration::from_millis(1500));
    let out = run(&sim, &file, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "second run failed:\n{stderr}");
    assert_ne!(stored_refresh_token(&store), rotated, "it rotated again and saved the next token");
    let through_gateway = sim
        .request_log()
        .iter()
        .any(|(p, s, _)| p.ends_with("/rest/api/3/search/jql") && p.starts_with("/ex/jira/") && *s == 200);
    assert!(through_gateway, "API calls go through /ex/jira/{{cloudId}}: {:?}", sim.request_log());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("issues") && stdout.contains("120 rows"), "{stdout}");

    // No secret reaches the output.
    for secret in ["sim-client-secret", "sim-refresh", "sim-at-"] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{secret} leaked:\n{stdout}\n{stderr}");
    }

    // 3. Losing the store means the used-up configured token: a clear failure with the fix.
    std::fs::remove_file(&store).unwrap();
    let out = run(&sim, &file, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("invalid_grant") && stderr.contains("consent flow"), "{stderr}");
}
