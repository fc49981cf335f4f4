//! Hostile responses: what proxies, load balancers and broken sites send instead of Jira's
//! answers (jira-sim's `Hostile` switches). Each case: a clean first run, then the hostile site —
//! a clear error naming the endpoint and what to do, a failed run (exit 1, not a pipeline
//! error), every table exactly as it was (read back by Python) — then a clean run that makes
//! the tables equal the simulator's truth again. Faults a retry gets past (stalls, resets) must
//! not fail the run at all.

use std::path::Path;
use std::time::Duration;

use jira_sim::{Behaviour, DatasetConfig, Flavor, Hostile, RunningSim, SimConfig};
use jirapipe::config::Pipeline;
use jirapipe::jira::RetryConfig;
use jirapipe::runner::{self, RunError};
use serde_json::Value;

use crate::common::pipeline::{PAT, PipelineYaml, sim_vars};
use crate::common::{self, python_rows};

fn retry() -> RetryConfig {
    RetryConfig { max_attempts: 4, base_backoff: Duration::from_millis(10), ..RetryConfig::default() }
}

async fn site(flavor: Flavor) -> RunningSim {
    let data = DatasetConfig { issues: 120, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap()
}

const OBJECTS: &str = "  issues: {fields: {include: [summary, description, updated]}}\n  comments: {}\n  users: {}";

fn pipeline(sim: &RunningSim, dir: &Path, flavor: Flavor, source: &[(&str, &str)]) -> Pipeline {
    let mut p = PipelineYaml::new("h", OBJECTS);
    if flavor == Flavor::DataCenter {
        p = p.deployment("data_center").auth(PAT);
    }
    for (k, v) in source {
        p = p.source(k, v);
    }
    p.load(dir, &sim_vars(sim))
}

const TABLES: [&str; 3] = ["issues", "comments", "users"];

/// A table as Python reads it.
fn table(dir: &Path, name: &str) -> Vec<Value> {
    python_rows(dir, name).1
}

/// The issue ids the table holds against the simulator's.
fn assert_issues_equal_truth(sim: &RunningSim, dir: &Path, case: &str) {
    let (_, rows) = python_rows(dir, "issues");
    let mut got: Vec<String> = rows.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    got.sort();
    let mut want: Vec<String> = sim.visible_issues().iter().map(|v| v.0.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{case}: the clean run after the fault");
    for r in rows.iter().take(20) {
        let id: u64 = r["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(r["summary"], sim.issue_fields(id).unwrap()["summary"], "{case}: issue {id}");
    }
}

/// A hostile site fails the run with `expect` in its error, leaves the tables as they were,
/// and a clean run afterwards brings them to the truth.
async fn fails_cleanly(flavor: Flavor, hostile: Hostile, source: &[(&str, &str)], expect: &[&str]) -> String {
    let case = format!("{hostile:?}");
    let sim = site(flavor).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), flavor, source);
    common::run(&p, retry()).await;
    let before: Vec<Vec<Value>> = TABLES.iter().map(|t| table(dir.path(), t)).collect();
    // Something changed in Jira since, which the failed run must not half-write.
    sim.edit_issues(2, 5, 10);

    sim.set_behaviour(Behaviour { hostile: Some(hostile), slow_by: Duration::from_secs(3), ..Behaviour::default() });
    let started = std::time::Instant::now();
    let (report, result) = runner::run_reported(&p, retry()).await;
    let err = result.expect_err(&case);
    assert!(started.elapsed() < Duration::from_secs(60), "{case}: gave up in {:?}", started.elapsed());
    // Objects the site's answers broke leave their tables exactly as they were (the others may
    // have committed what they read).
    for (name, before) in TABLES.iter().zip(&before) {
        let ran = report.objects.iter().find(|o| o.object == *name);
        if ran.is_none_or(|o| o.error.is_some()) {
            assert_eq!(&table(dir.path(), name), before, "{case}: {name} is as it was");
        }
    }
    assert!(!err.is_config(), "{case}: a failed run (exit 1), not a pipeline error: {err}");
    let text = error_text(&err);
    for e in expect {
        assert!(text.contains(e), "{case}: `{e}` not in: {text}");
    }
    assert!(text.contains("rest/"), "{case}: the endpoint is named: {text}");

    sim.set_behaviour(Behaviour::default());
    common::run(&p, retry()).await;
    assert_issues_equal_truth(&sim, dir.path(), &case);
    sim.shutdown().await;
    text
}

/// The error with everything under it (an object's failure inside the run's).
fn error_text(e: &RunError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(" | ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sso_login_page_is_named_and_not_retried() {
    let text = fails_cleanly(Flavor::Cloud, Hostile::HtmlLogin, &[], &["HTML page", "single sign-on", "Sign In"]).await;
    assert!(!text.contains("gave up"), "the same page would come back: not retried: {text}");

    // The command line: exit 1 and the same words on stderr.
    let sim = site(Flavor::Cloud).await;
    let dir = tempfile::tempdir().unwrap();
    let file = PipelineYaml::new("h", OBJECTS).write(dir.path(), "h.yaml");
    sim.set_behaviour(Behaviour { hostile: Some(Hostile::HtmlLogin), ..Behaviour::default() });
    let mut cmd = common::jirapipe_for(&sim);
    cmd.args(["run", file.to_str().unwrap()]);
    let out = tokio::task::spawn_blocking(move || common::output(&mut cmd)).await.unwrap();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("single sign-on") && out.stderr.contains("rest/api/"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_body_and_a_plain_text_answer() {
    fails_cleanly(Flavor::Cloud, Hostile::EmptyBody, &[], &["empty body", "proxy"]).await;
    fails_cleanly(Flavor::DataCenter, Hostile::PlainText, &[], &["not JSON", "text/plain", "base_url"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_json_and_invalid_utf8() {
    fails_cleanly(Flavor::Cloud, Hostile::TruncatedJson, &[], &["ends before it is complete", "gave up after 4"]).await;
    fails_cleanly(Flavor::DataCenter, Hostile::InvalidUtf8, &[], &["not valid UTF-8", "Jira admin"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_field_is_bounded_by_max_response_mb_and_deep_nesting_is_refused() {
    let big = Hostile::HugeString(50 << 20);
    fails_cleanly(Flavor::Cloud, big, &[("max_response_mb", "16")], &["too large", "max_response_mb", "bulkfetch"])
        .await;
    fails_cleanly(Flavor::Cloud, Hostile::DeepNesting(10_000), &[], &["nested too deeply", "bulkfetch", "`fields`"])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_field_under_the_limit_is_kept_whole() {
    let sim = site(Flavor::Cloud).await;
    let dir = tempfile::tempdir().unwrap();
    sim.set_behaviour(Behaviour { hostile: Some(Hostile::HugeString(50 << 20)), ..Behaviour::default() });
    let p = pipeline(&sim, dir.path(), Flavor::Cloud, &[]);
    common::run(&p, retry()).await;
    let url = url::Url::from_directory_path(dir.path().join("lake/issues")).unwrap();
    let table = deltalake::open_table(url).await.unwrap();
    let batches = common::query(&table, "SELECT CAST(MAX(length(summary)) AS BIGINT) AS n FROM t").await;
    let n =
        deltalake::arrow::array::AsArray::as_primitive::<deltalake::arrow::datatypes::Int64Type>(batches[0].column(0))
            .value(0);
    assert_eq!(n, 50 << 20, "the 50 MB summary is stored whole");
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_that_never_ends_is_stopped() {
    fails_cleanly(Flavor::Cloud, Hostile::RepeatedToken, &[], &["same nextPageToken twice", "search/jql"]).await;
    fails_cleanly(Flavor::Cloud, Hostile::IgnoreStartAt, &[], &["ignores `startAt`"]).await;
    fails_cleanly(Flavor::Cloud, Hostile::EndlessPages, &[], &["already served", "search/jql"]).await;
    fails_cleanly(Flavor::DataCenter, Hostile::IgnoreStartAt, &[], &["ignores `startAt`"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issue_without_a_usable_id_fails_the_run_naming_it() {
    let expect = ["bulkfetch", "did not come back whole", "rejects"];
    fails_cleanly(Flavor::Cloud, Hostile::IssueIdMissing, &[], &expect).await;
    fails_cleanly(Flavor::Cloud, Hostile::IssueIdObject, &[], &expect).await;
}

/// Pages that never say whether they are the last: paging ends on what the page shows (no
/// token, a short or empty page, the total), and every table holds what a run against the
/// same site with `isLast` holds — nothing lost, nothing read twice.
#[tokio::test(flavor = "multi_thread")]
async fn pages_without_is_last_end_where_the_data_ends() {
    let objects = format!("{OBJECTS}\n  worklogs: {{}}\n  sprints: {{}}\n  versions: {{}}");
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = site(flavor).await;
        let ids = |hostile: Option<Hostile>| {
            let dir = tempfile::tempdir().unwrap();
            let mut p = PipelineYaml::new("h", &objects);
            if flavor == Flavor::DataCenter {
                p = p.deployment("data_center").auth(PAT);
            }
            let p = p.load(dir.path(), &sim_vars(&sim));
            sim.set_behaviour(Behaviour { hostile, ..Behaviour::default() });
            async move {
                let report = common::run(&p, retry()).await;
                assert!(report.objects.iter().all(|o| o.error.is_none()), "{flavor:?} {hostile:?}: {report:?}");
                ["issues", "comments", "users", "worklogs", "sprints", "versions"].map(|t| {
                    let (_, rows) = python_rows(dir.path(), t);
                    rows.iter().map(|r| r["id"].to_string()).collect::<Vec<_>>()
                })
            }
        };
        let with = ids(None).await;
        let started = std::time::Instant::now();
        let without = ids(Some(Hostile::NoIsLast)).await;
        assert!(started.elapsed() < Duration::from_secs(60), "{flavor:?}: {:?}", started.elapsed());
        assert!(with.iter().all(|t| !t.is_empty()), "{flavor:?}");
        assert_eq!(without, with, "{flavor:?}: the same rows without isLast");
        sim.shutdown().await;
    }
}

/// Faults a retry gets past: the run succeeds and nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn stalls_and_resets_are_retried_and_lose_nothing() {
    // Every 5th request, with six attempts: concurrent requests interleave, and a retry that
    // kept landing on the faulty count would fail on attempts alone.
    let patient = RetryConfig { max_attempts: 6, ..retry() };
    for (hostile, source) in
        [(Hostile::StallEvery(5), &[("read_timeout", "1s")][..]), (Hostile::ResetEvery(5), &[][..])]
    {
        let sim = site(Flavor::Cloud).await;
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(&sim, dir.path(), Flavor::Cloud, source);
        sim.set_behaviour(Behaviour {
            hostile: Some(hostile),
            slow_by: Duration::from_secs(5),
            ..Behaviour::default()
        });
        let report = common::run(&p, patient.clone()).await;
        assert!(report.requests.retries > 0, "{hostile:?}: {:?}", report.requests);
        sim.set_behaviour(Behaviour::default());
        assert_issues_equal_truth(&sim, dir.path(), &format!("{hostile:?}"));
        sim.shutdown().await;
    }
    // A body that stalls every time fails, naming the timeout, well before the total timeout.
    fails_cleanly(Flavor::Cloud, Hostile::StallEvery(1), &[("read_timeout", "1s")], &["timed out", "gave up"]).await;
}
