//! Crash safety: `jirapipe run` is killed with SIGKILL at random moments over 24 runs while
//! the site keeps changing. After every kill the tables open, hold no duplicate ids and never
//! more than the truth; one clean run afterwards makes them equal the simulator again.

use std::path::Path;
use std::time::{Duration, Instant};

use deltalake::arrow::array::AsArray;
use deltalake::arrow::datatypes::Int64Type;
use jira_sim::{Behaviour, DatasetConfig, RunningSim, SimConfig};

use crate::common::{self, PipelineYaml};

fn pipeline() -> PipelineYaml {
    let objects = "  issues: {fields: {include: [summary, updated, status]}, reconcile_every: 0s}\n  users: {}";
    PipelineYaml::new("crash", objects).source("requests_per_second", "1000")
}

fn start_run(sim: &RunningSim, file: &Path) -> std::process::Child {
    let mut c = common::jirapipe_for(sim);
    c.arg("run").arg(file);
    // A killed run leaves its lease; with a 1s TTL the next round can take it over.
    c.env("JIRAPIPE_LEASE_TTL", "1s");
    c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    c.spawn().unwrap()
}

/// (rows, distinct ids) of a table, or `None` if it does not exist yet.
async fn counts(table: &Path) -> Option<(i64, i64)> {
    if !table.join("_delta_log").exists() {
        return None;
    }
    let url = url::Url::from_directory_path(table).unwrap();
    let t = deltalake::open_table(url).await.expect("the table opens after a kill");
    let b = common::query(&t, "SELECT count(*), count(DISTINCT id) FROM t").await;
    Some((b[0].column(0).as_primitive::<Int64Type>().value(0), b[0].column(1).as_primitive::<Int64Type>().value(0)))
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_moments_never_corrupts_a_table() {
    let behaviour = Behaviour { search_latency: Duration::from_millis(15), ..Behaviour::default() };
    let sim = RunningSim::start(SimConfig {
        data: DatasetConfig { issues: 2500, ..Default::default() },
        behaviour,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline().write(dir.path(), "crash.yaml");

    // How long an uninterrupted first run takes here, to spread the kills over it.
    let probe_dir = tempfile::tempdir().unwrap();
    let probe = pipeline().write(probe_dir.path(), "crash.yaml");
    let t = Instant::now();
    assert!(start_run(&sim, &probe).wait().unwrap().success());
    let full = t.elapsed();
    // And an incremental one (most rounds are incremental): kills are spread over its length.
    sim.edit_issues(1, 11, 5);
    let t = Instant::now();
    assert!(start_run(&sim, &probe).wait().unwrap().success());
    let incremental = t.elapsed();

    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_u64);
    let mut rng = seed;
    let mut next = move || {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        rng >> 33
    };
    let mut killed = 0;
    for round in 0..24 {
        sim.edit_issues(next() % 2400, 7, 5);
        if round % 6 == 5 {
            sim.create_issues(3);
        }
        let mut child = start_run(&sim, &file);
        let span = if round == 0 { full } else { incremental };
        let delay = Duration::from_millis(next() % (span.as_millis() as u64).max(20));
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
            child.wait().unwrap();
            // Its lease is left behind: wait it out, as the next scheduled run would.
            std::thread::sleep(Duration::from_millis(1200));
        } else {
            child.wait().unwrap();
        }
        let truth = sim.visible_issues().len() as i64;
        if let Some((rows, distinct)) = counts(&dir.path().join("lake/issues")).await {
            assert_eq!(rows, distinct, "round {round} (seed {seed}, kill after {delay:?}): duplicate ids");
            assert!(rows <= truth, "round {round}: {rows} rows but only {truth} issues");
        }
        if let Some((rows, distinct)) = counts(&dir.path().join("lake/users")).await {
            assert_eq!((rows, distinct), (40, 40), "round {round}: users table");
        }
    }
    assert!(killed >= 12, "most runs were killed mid-way ({killed} of 24; runs took {full:?} / {incremental:?})");

    // One clean run: the table equals the truth.
    assert!(start_run(&sim, &file).wait().unwrap().success());
    let (_, rows) = common::python_rows(dir.path(), "issues");
    let got: Vec<(String, i64)> =
        rows.iter().map(|r| (r["id"].as_str().unwrap().to_string(), r["updated"].as_i64().unwrap())).collect();
    let mut want: Vec<(String, i64)> =
        sim.visible_issues().into_iter().map(|(id, _, ms)| (id.to_string(), ms * 1000)).collect();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "after a clean run the issues equal the simulator's");
}
