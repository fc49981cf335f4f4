//! The login gate, end to end against jira-sim: a credential Jira no longer accepts — revoked
//! between runs or mid-run, a scoped token at the site URL, a proxy that drops `Authorization` —
//! is answered anonymously (empty searches, `404` issues), never read as "no issues" or "all
//! deleted". Each run exits 1 naming the credential, every table stays at its Delta version and
//! the incremental cursor with it, and the next run with a good credential picks up what
//! changed meanwhile.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use deltalake::arrow::array::AsArray;
use deltalake::arrow::datatypes::TimestampMicrosecondType;
use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::jira::RetryConfig;
use jirapipe::runner;

use crate::common::{self, API_TOKEN, PAT, PipelineYaml, SCOPED_TOKEN, sim_vars};

const FULL_REFRESH: &str = "  issues: {sync: full_refresh, fields: {include: [summary, updated]}}";
const INCREMENTAL: &str = concat!(
    "  issues: {sync: incremental, deletes: soft, reconcile_every: 0s, fields: {include: [summary, updated]}}\n",
    "  comments: {}",
);

async fn sim(flavor: Flavor) -> RunningSim {
    let data = DatasetConfig { issues: 80, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap()
}

fn pipeline(flavor: Flavor, objects: &str) -> PipelineYaml {
    let (deployment, auth) = match flavor {
        Flavor::Cloud => ("cloud", API_TOKEN),
        Flavor::DataCenter => ("data_center", PAT),
    };
    PipelineYaml::new("gate", objects).deployment(deployment).auth(auth)
}

fn run_binary(sim: &RunningSim, dir: &Path, p: &PipelineYaml) -> common::Out {
    let file = p.write(dir, "gate.yaml");
    common::output(common::jirapipe_for(sim).arg("run").arg(&file).env("JIRAPIPE_LEASE_TTL", "30s"))
}

/// Every table under `dir/lake` (a folder with a Delta log; the lease is not one) and its
/// number of commits.
fn versions(dir: &Path) -> BTreeMap<String, usize> {
    std::fs::read_dir(dir.join("lake"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("_delta_log").is_dir())
        .map(|p| {
            let t = p.file_name().unwrap().to_string_lossy().into_owned();
            (t.clone(), common::versions(dir, &t))
        })
        .collect()
}

/// `(id, updated µs)` of the issues table, in id order.
async fn issue_rows(dir: &Path) -> Vec<(u64, i64)> {
    let url = url::Url::from_directory_path(dir.join("lake").join("issues")).unwrap();
    let batches = common::read_with_rust(&url).await;
    let mut rows: Vec<(u64, i64)> = batches
        .iter()
        .flat_map(|b| {
            let ids = b.column_by_name("id").unwrap().as_string::<i32>().clone();
            let updated = b.column_by_name("updated").unwrap().as_primitive::<TimestampMicrosecondType>().clone();
            (0..b.num_rows()).map(move |r| (ids.value(r).parse().unwrap(), updated.value(r))).collect::<Vec<_>>()
        })
        .collect();
    rows.sort();
    rows
}

/// What the simulator holds, in the table's units.
fn truth(sim: &RunningSim) -> Vec<(u64, i64)> {
    sim.visible_issues().into_iter().map(|(id, _, ms)| (id, ms * 1000)).collect()
}

#[track_caller]
fn assert_refused(out: &common::Out, credential: &str, first_cause: &str, secret: &str) {
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    let e = &out.stderr;
    assert!(e.contains("Jira did not accept") && e.contains(credential), "{e}");
    assert!(e.contains(&format!("Likely causes: (1) {first_cause}")), "{e}");
    assert!(!e.contains(secret) && !out.stdout.contains(secret), "the secret leaked: {e}");
}

/// A good run, then edits and the credential revoked: the run fails at the gate and changes no
/// table; with the credential back, the next run reads the edits.
#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_credential_fails_the_run_and_the_next_good_run_catches_up() {
    for (flavor, objects) in [
        (Flavor::Cloud, FULL_REFRESH),
        (Flavor::Cloud, INCREMENTAL),
        (Flavor::DataCenter, FULL_REFRESH),
        (Flavor::DataCenter, INCREMENTAL),
    ] {
        let case = format!("{flavor:?}, {}", objects.lines().next().unwrap());
        let sim = sim(flavor).await;
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(flavor, objects);
        let out = run_binary(&sim, dir.path(), &p);
        assert_eq!(out.code, Some(0), "{case}: {}", out.stderr);
        let before = versions(dir.path());
        let rows_before = issue_rows(dir.path()).await;

        sim.advance_clock(Duration::from_secs(120));
        let edited = sim.edit_issues(3, 11, 5);
        sim.set_behaviour(Behaviour { credentials_revoked: true, ..Behaviour::default() });
        let out = run_binary(&sim, dir.path(), &p);
        let (credential, cause, secret) = match flavor {
            Flavor::Cloud => {
                ("the API token of sim@example.com (from $JIRA_API_TOKEN)", "the token was revoked", "sim-api-token")
            }
            Flavor::DataCenter => {
                ("the personal access token (PAT) (from $JIRA_PAT)", "the PAT was revoked", "sim-pat")
            }
        };
        assert_refused(&out, credential, cause, secret);
        assert!(out.stderr.contains("myself"), "{case}: the gate names its endpoint: {}", out.stderr);
        assert_eq!(versions(dir.path()), before, "{case}: no table moved, the cursor with them");
        assert_eq!(issue_rows(dir.path()).await, rows_before, "{case}");

        sim.set_behaviour(Behaviour::default());
        let out = run_binary(&sim, dir.path(), &p);
        assert_eq!(out.code, Some(0), "{case}: {}", out.stderr);
        let rows = issue_rows(dir.path()).await;
        assert_eq!(rows, truth(&sim), "{case}: the edits made meanwhile are read");
        for id in &edited {
            let old = rows_before.iter().find(|(i, _)| i == id).unwrap();
            let new = rows.iter().find(|(i, _)| i == id).unwrap();
            assert!(new.1 > old.1, "{case}: {id} was edited while the token was revoked");
        }
    }
}

fn retry() -> RetryConfig {
    RetryConfig { max_attempts: 3, base_backoff: Duration::from_millis(10), ..RetryConfig::default() }
}

/// The credential stops working after the gate, while the issues are fetched: every later
/// answer is anonymous (Cloud: bulk fetch `200` with nothing; Data Center: a search with
/// `total: 0`), the run fails, and no data table moves.
#[tokio::test(flavor = "multi_thread")]
async fn a_credential_revoked_mid_run_stops_every_commit() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(flavor).await;
        let dir = tempfile::tempdir().unwrap();
        let objects = "  issues: {sync: full_refresh, fields: {include: [summary, updated]}}\n  comments: {}";
        let p = pipeline(flavor, objects).source("requests_per_second", "200").load(dir.path(), &sim_vars(&sim));
        common::run(&p, retry()).await;
        let before = versions(dir.path());

        // Every request waits 40 ms before the site looks at its credentials: the one sent right
        // after the first search answered is refused.
        let slow = Behaviour { latency: Duration::from_millis(40), ..Behaviour::default() };
        sim.set_behaviour(slow.clone());
        let search = match flavor {
            Flavor::Cloud => "/rest/api/3/search/jql",
            Flavor::DataCenter => "/rest/api/2/search",
        };
        let searched = sim.requests(search);
        let run = tokio::spawn({
            let p = p.clone();
            async move { runner::run(&p, retry()).await }
        });
        while sim.requests(search) == searched {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sim.set_behaviour(Behaviour { credentials_revoked: true, ..slow });
        let err = run.await.unwrap().expect_err("the run must fail").to_string();
        assert!(err.contains("Jira did not accept") && err.contains("anonymous"), "{flavor:?}: {err}");
        // The data tables stay; `_runs` records the failed run.
        let after = versions(dir.path());
        for (table, v) in before.iter().filter(|(t, _)| !t.starts_with('_')) {
            assert_eq!(after.get(table), Some(v), "{flavor:?}: {table} moved: {err}");
        }
    }
}

/// A service account's scoped token at the site URL is anonymous there: the run fails naming
/// the fix (`scoped: true`) first; with it, the same token reads through the gateway.
#[tokio::test(flavor = "multi_thread")]
async fn a_scoped_token_at_the_site_url_fails_the_run_and_scoped_true_fixes_it() {
    let sim = sim(Flavor::Cloud).await;
    let dir = tempfile::tempdir().unwrap();
    let out = run_binary(&sim, dir.path(), &PipelineYaml::new("gate", INCREMENTAL).auth(SCOPED_TOKEN));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let before = versions(dir.path());
    let rows_before = issue_rows(dir.path()).await;

    sim.advance_clock(Duration::from_secs(120));
    sim.edit_issues(0, 13, 4);
    let at_site = SCOPED_TOKEN.replace("\n    scoped: true\n    api_url: ${JIRA_SITE}", "");
    let out = run_binary(&sim, dir.path(), &PipelineYaml::new("gate", INCREMENTAL).auth(&at_site));
    assert_refused(
        &out,
        "the API token of sim-bot@serviceaccount.atlassian.com (from $JIRA_SCOPED_TOKEN)",
        "it is a scoped API token",
        "sim-scoped-token",
    );
    assert!(out.stderr.contains("add `scoped: true`"), "{}", out.stderr);
    assert_eq!(versions(dir.path()), before);
    assert_eq!(issue_rows(dir.path()).await, rows_before);

    let out = run_binary(&sim, dir.path(), &PipelineYaml::new("gate", INCREMENTAL).auth(SCOPED_TOKEN));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(issue_rows(dir.path()).await, truth(&sim));
}

/// A proxy that drops the `Authorization` header: Jira sees no one. The gate names the proxy
/// among the causes on Data Center (where a revoked PAT looks the same) and first on Cloud.
#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_dropping_authorization_fails_the_run() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(flavor).await;
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(flavor, FULL_REFRESH);
        assert_eq!(run_binary(&sim, dir.path(), &p).code, Some(0));
        let before = versions(dir.path());
        sim.set_behaviour(Behaviour { proxy_drops_authorization: true, ..Behaviour::default() });
        let out = run_binary(&sim, dir.path(), &p);
        assert_eq!(out.code, Some(1), "{flavor:?}: {}", out.stderr);
        assert!(out.stderr.contains("removes the `Authorization` header"), "{flavor:?}: {}", out.stderr);
        assert_eq!(versions(dir.path()), before, "{flavor:?}");
    }
}
