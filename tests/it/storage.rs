//! Failing storage: the local S3 server behind a fault-injecting proxy (`tests/fault_proxy.py`)
//! that fails data writes, commits and lease renewals the way object stores fail (503 SlowDown,
//! 500, a request that never answers), and a local destination that fills up. Each run that
//! meets a fault exits 1 naming the table and the fix, leaves every table at its last commit
//! (read back by Python straight from the bucket), and the next run after the fault makes the
//! tables equal the simulator's truth.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jira_sim::{Behaviour, DatasetConfig, RunningSim, SimConfig};
use serde_json::{Value, json};

use crate::common::s3::{FaultProxy, MotoServer};
use crate::common::{self, Out, PipelineYaml};

const OBJECTS: &str = "  issues: {fields: {include: [summary, updated]}}\n  users: {}";

fn site() -> (tokio::runtime::Runtime, RunningSim) {
    let data = DatasetConfig { issues: 200, ..Default::default() };
    common::blocking_sim(SimConfig { data, ..Default::default() })
}

/// A pipeline into `s3://lake/jira` that gives up on failing storage requests after seconds.
fn s3_pipeline(dir: &Path) -> PathBuf {
    PipelineYaml::new("st", OBJECTS)
        .source("requests_per_second", "500")
        .url("s3://lake/jira")
        .destination("retry_timeout", "3s")
        .destination("request_timeout", "2s")
        .write(dir, "st.yaml")
}

fn run(sim: &RunningSim, env: &[(&'static str, String)], file: &Path, args: &[&str]) -> Out {
    let mut cmd = common::jirapipe_for(sim);
    cmd.arg("run").arg(file).args(args).envs(env.iter().cloned());
    common::output(&mut cmd)
}

/// Every table as Python reads it straight from the bucket (not through the proxy).
fn tables(s3: &MotoServer) -> Vec<Vec<Value>> {
    ["issues", "users"].iter().map(|t| common::read_delta(format!("s3://lake/jira/{t}"), &s3.options()).1).collect()
}

fn assert_issues_equal_truth(sim: &RunningSim, rows: &[Value], case: &str) {
    let got: Vec<(String, Value)> =
        rows.iter().map(|r| (r["id"].as_str().unwrap().to_string(), r["summary"].clone())).collect();
    let mut want: Vec<(String, Value)> = sim
        .visible_issues()
        .iter()
        .map(|(id, ..)| (id.to_string(), sim.issue_fields(*id).unwrap()["summary"].clone()))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want, "{case}: the run after the fault brings the table to Jira's state");
}

/// A clean run; then `rules` fail the next one, which must exit 1 with `expect` on stderr and
/// change no table; then a clean run again.
fn fails_cleanly(case: &str, rules: Value, args: &[&str], behaviour: Behaviour, expect: &[&str]) {
    let s3 = MotoServer::start();
    s3.create_bucket("lake");
    let proxy = FaultProxy::start(&s3);
    let (_rt, sim) = site();
    let dir = tempfile::tempdir().unwrap();
    let file = s3_pipeline(dir.path());
    let env = proxy.options(&s3);
    let out = run(&sim, &env, &file, &[]);
    assert_eq!(out.code, Some(0), "{case}: first run: {}", out.stderr);
    let before = tables(&s3);
    sim.edit_issues(4, 9, 15);

    proxy.rules(rules);
    sim.set_behaviour(behaviour);
    let started = std::time::Instant::now();
    let out = run(&sim, &env, &file, args);
    assert_eq!(out.code, Some(1), "{case}: {}{}", out.stdout, out.stderr);
    assert!(started.elapsed() < Duration::from_secs(90), "{case}: took {:?}", started.elapsed());
    assert!(!proxy.faults().is_empty(), "{case}: the fault was injected");
    for e in expect {
        assert!(out.stderr.contains(e), "{case}: `{e}` not in:\n{}", out.stderr);
    }
    // The issues table is the one whose writes fail (the lease: every table).
    assert_eq!(tables(&s3)[0], before[0], "{case}: the issues table is as it was");

    proxy.rules(json!([]));
    sim.set_behaviour(Behaviour::default());
    let out = run(&sim, &env, &file, &[]);
    assert_eq!(out.code, Some(0), "{case}: the run after the fault: {}", out.stderr);
    assert_issues_equal_truth(&sim, &tables(&s3)[0], case);
}

const FIX: &str = "destination is reachable and writable";

#[test]
fn a_data_write_that_keeps_failing() {
    let rules = json!([{"method": "PUT", "path": r"/jira/issues/.*\.parquet$", "action": "status", "status": 503}]);
    fails_cleanly("data write 503", rules, &[], Behaviour::default(), &["lake/jira/issues", "SlowDown", FIX]);
}

#[test]
fn a_commit_that_fails_or_never_answers() {
    let commit = r"/jira/issues/_delta_log/";
    let rules = json!([{"method": "PUT", "path": commit, "action": "status", "status": 500}]);
    fails_cleanly("commit 500", rules, &[], Behaviour::default(), &["lake/jira/issues", FIX]);
    let rules = json!([{"method": "PUT", "path": commit, "action": "stall", "seconds": 30}]);
    fails_cleanly("commit stalls", rules, &[], Behaviour::default(), &["lake/jira/issues", FIX]);
}

#[test]
fn a_lease_that_cannot_be_renewed_stops_the_run() {
    // The first lease record is written; every renewal after it fails. A slow site keeps the
    // run going past the lease's expiry.
    let rules = json!([{"method": "PUT", "path": "/_jirapipe/lease/", "action": "status", "status": 503, "skip": 1}]);
    let slow = Behaviour { latency: Duration::from_millis(700), ..Behaviour::default() };
    fails_cleanly("lease renewal 503", rules, &["--lease-ttl", "3s"], slow, &["lost the lease"]);
}

/// A local destination on a small tmpfs (mounting needs root, which CI has): a write that runs
/// out of space fails the run and leaves the tables readable and as they were.
#[test]
fn a_destination_that_fills_up() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&lake)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert_ne!(unsafe_uid(), 0, "root can mount a tmpfs: this test must run");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let unmount = Unmount(lake.clone());
    let (_rt, sim) = site();
    let file = PipelineYaml::new("full", OBJECTS).source("requests_per_second", "500").write(dir.path(), "full.yaml");
    let out = run(&sim, &[], &file, &[]);
    assert_eq!(out.code, Some(0), "first run: {}", out.stderr);
    let read = || ["issues", "users"].map(|t| common::python_rows(dir.path(), t).1);
    let before = read();

    // Fill the disk, leaving a few kilobytes.
    let filler = lake.join("filler");
    let free = fs_free(&lake);
    std::fs::write(&filler, vec![0u8; free.saturating_sub(4096) as usize]).unwrap();
    sim.edit_issues(4, 9, 15);
    // A full disk cannot record the lease's release either: a short lease frees itself soon.
    let out = run(&sim, &[], &file, &["--lease-ttl", "2s"]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("No space left") || out.stderr.contains("space"), "{}", out.stderr);
    assert!(out.stderr.contains(FIX), "{}", out.stderr);
    assert_eq!(read(), before, "the tables are readable and as they were");

    std::fs::remove_file(&filler).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let out = run(&sim, &[], &file, &[]);
    assert_eq!(out.code, Some(0), "after space is freed: {}", out.stderr);
    assert_issues_equal_truth(&sim, &read()[0], "disk full");
    drop(unmount);
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn unsafe_uid() -> u32 {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(1)
}

/// Free bytes of the filesystem holding `path`.
fn fs_free(path: &Path) -> u64 {
    let out = std::process::Command::new("df").args(["--output=avail", "-B1"]).arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

/// Storage requests the object store retried count in `jirapipe_storage_retries_total`: two
/// data-write attempts answered 503 SlowDown, retried, and the run succeeds.
#[test]
fn storage_retries_are_counted_in_the_metrics() {
    let s3 = MotoServer::start();
    s3.create_bucket("lake");
    let proxy = FaultProxy::start(&s3);
    let (_rt, sim) = site();
    let dir = tempfile::tempdir().unwrap();
    let file = s3_pipeline(dir.path());
    let metrics = dir.path().join("st.prom");
    proxy.rules(
        json!([{"method": "PUT", "path": r"/jira/issues/.*\.parquet$", "action": "status", "status": 503, "times": 2}]),
    );
    let out = run(&sim, &proxy.options(&s3), &file, &["--metrics-file", metrics.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(proxy.faults().len(), 2, "two 503s were answered");
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(text.contains("\njirapipe_storage_retries_total 2\n"), "{text}");
    assert_issues_equal_truth(&sim, &tables(&s3)[0], "storage retries");
}
