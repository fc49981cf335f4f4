//! The soak test: 100 incremental runs against a site that throttles (429), fails (5xx), drops
//! and cuts connections and stalls bodies at random, while issues are edited, created and
//! deleted and comments added and deleted between runs. Runs may fail; none may lose or
//! duplicate a row: after one last run on a calm site, `issues` and `comments`, read back by
//! Python, equal the simulator's truth. The figures are printed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use jira_sim::{Behaviour, DatasetConfig, RunningSim, SimConfig};
use jirapipe::jira::RetryConfig;
use jirapipe::runner;

use crate::common::pipeline::{PipelineYaml, sim_vars};
use crate::common::python_rows;

const RUNS: u32 = 100;

/// A small deterministic generator, so a failure can be replayed from the printed seed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn faulty() -> Behaviour {
    Behaviour {
        throttle_every: Some(97),
        error_rate: 0.08,
        drop_rate: 0.04,
        truncate_rate: 0.03,
        slow_rate: 0.005,
        slow_by: Duration::from_millis(1500),
        ..Behaviour::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_runs_through_random_faults_lose_nothing() {
    let seed = 0x5eed_2026;
    let mut rng = Lcg(seed);
    let data = DatasetConfig { issues: 150, ..Default::default() };
    let sim = RunningSim::start(SimConfig { data, behaviour: faulty(), ..Default::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let objects = "  issues: {fields: {include: [summary, updated, status]}, reconcile_every: 0s, lookback: 1m}\
        \n  comments: {reconcile_every: 12h}";
    let p = PipelineYaml::new("soak", objects)
        .source("requests_per_second", "1000")
        .source("read_timeout", "1s")
        .load(dir.path(), &sim_vars(&sim));
    // Three attempts, so that some runs do fail: a failed run must lose nothing either.
    let retry = RetryConfig { max_attempts: 3, base_backoff: Duration::from_millis(5), ..RetryConfig::default() };
    let started = Instant::now();
    let (mut failed, mut retries, mut throttled, mut errors) = (0, 0, 0, 0);
    let mut deleted = 0;
    for _ in 0..RUNS {
        // Changes between runs.
        sim.edit_issues(rng.below(150), 1 + rng.below(40), 1 + rng.below(8));
        if rng.below(4) == 0 {
            sim.create_issues(1 + rng.below(3));
        }
        if rng.below(6) == 0 {
            let victims: Vec<u64> =
                sim.visible_issues().iter().map(|v| v.0).filter(|id| id % 97 == rng.below(97)).collect();
            deleted += sim.delete_issues(&victims);
        }
        let ids: Vec<u64> = sim.visible_issues().iter().map(|v| v.0).collect();
        let issue = ids[rng.below(ids.len() as u64) as usize];
        sim.add_comment(issue);
        if let Some(c) = sim.comments(issue).first() {
            sim.delete_comment(c["id"].as_str().unwrap().parse().unwrap());
        }
        let (report, result) = runner::run_reported(&p, retry.clone()).await;
        if result.is_err() {
            failed += 1;
        }
        retries += report.requests.retries;
        throttled += report.requests.throttled;
        errors += report.requests.server_errors;
    }
    sim.set_behaviour(Behaviour::default());
    runner::run(&p, retry).await.expect("a run on a calm site");

    let (_, issues) = python_rows(dir.path(), "issues");
    let live: Vec<(String, String)> = issues
        .iter()
        .filter(|r| r["_deleted_at"].is_null())
        .map(|r| (r["id"].as_str().unwrap().to_string(), r["summary"].as_str().unwrap().to_string()))
        .collect();
    let mut truth: Vec<(String, String)> = sim
        .visible_issues()
        .iter()
        .map(|(id, ..)| (id.to_string(), sim.issue_fields(*id).unwrap()["summary"].as_str().unwrap().to_string()))
        .collect();
    truth.sort();
    let ids: BTreeSet<&str> = issues.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let lost = truth.iter().filter(|t| !live.contains(t)).count();
    let (_, comments) = python_rows(dir.path(), "comments");
    // Comments of a deleted issue keep their rows (the issue's row says it is gone).
    let visible: BTreeSet<String> = sim.visible_issues().iter().map(|v| v.0.to_string()).collect();
    let live_comments: BTreeSet<String> = comments
        .iter()
        .filter(|r| r["_deleted_at"].is_null() && visible.contains(r["issue_id"].as_str().unwrap()))
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let comment_ids: BTreeSet<&str> = comments.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(comment_ids.len(), comments.len(), "no duplicate comment ids");
    let comment_truth: BTreeSet<String> = sim
        .visible_issues()
        .iter()
        .flat_map(|(id, ..)| sim.comments(*id).into_iter().map(|c| c["id"].as_str().unwrap().to_string()))
        .collect();
    let comments_lost = comment_truth.difference(&live_comments).count();
    println!(
        "soak (seed {seed:#x}): {RUNS} runs in {:.0?}, {failed} failed; faults met: {retries} retries, {throttled} throttled, {errors} server errors; {deleted} issues deleted; rows lost: {lost} issues, {comments_lost} comments",
        started.elapsed()
    );
    assert_eq!(ids.len(), issues.len(), "no duplicate ids");
    assert_eq!(live, truth, "issues equal the truth");
    assert_eq!(live_comments, comment_truth, "comments equal the truth");
    assert!(retries > 100, "the site really was faulty: {retries} retries");
}
