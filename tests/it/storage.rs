//! Failing storage: a real store — the local S3 server, and Azurite for Azure Blob Storage —
//! behind a fault-injecting proxy (`tests/fault_proxy.py`) that fails data writes, commits and
//! lease renewals the way object stores fail (503 SlowDown / ServerBusy, 500, a request that
//! never answers), and a local destination that fills up. Each run that meets a fault exits 1
//! naming the table and the fix, leaves every table at its last commit (read back by Python
//! straight from the store), and the next run after the fault makes the tables equal the
//! simulator's truth. On both stores a run is also killed (SIGKILL) while its commit is held,
//! after its data files were written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deltalake::logstore::object_store::ObjectStore;
use deltalake::logstore::object_store::path::Path as StorePath;
use futures::TryStreamExt;
use jira_sim::{Behaviour, DatasetConfig, RunningSim, SimConfig};
use serde_json::{Value, json};

use crate::common::azure::azurite;
use crate::common::faults::{Errors, FaultProxy};
use crate::common::s3::MotoServer;
use crate::common::{self, Out, PipelineYaml};

const OBJECTS: &str = "  issues: {fields: {include: [summary, updated]}}\n  users: {}";

fn site() -> (tokio::runtime::Runtime, RunningSim) {
    let data = DatasetConfig { issues: 200, ..Default::default() };
    common::blocking_sim(SimConfig { data, ..Default::default() })
}

/// A store the proxy stands in front of.
enum Store {
    S3(MotoServer),
    /// A container of the test process's Azurite.
    Azure(String),
}

impl Store {
    fn s3() -> Self {
        let s3 = MotoServer::start();
        s3.create_bucket("lake");
        Self::S3(s3)
    }

    fn azure() -> Self {
        Self::Azure(azurite().container("faults"))
    }

    /// Where the tables go: bucket or container, then `jira`.
    fn root(&self) -> String {
        match self {
            Self::S3(_) => "lake/jira".into(),
            Self::Azure(container) => format!("{container}/jira"),
        }
    }

    fn url(&self) -> String {
        match self {
            Self::S3(_) => format!("s3://{}", self.root()),
            Self::Azure(_) => format!("az://{}", self.root()),
        }
    }

    fn proxy(&self) -> FaultProxy {
        match self {
            Self::S3(s3) => FaultProxy::start(&s3.endpoint(), Errors::S3),
            Self::Azure(_) => FaultProxy::start(&azurite().url(), Errors::Azure),
        }
    }

    /// What jirapipe needs to reach the store through `proxy`.
    fn env(&self, proxy: &FaultProxy) -> Vec<(&'static str, String)> {
        match self {
            Self::S3(s3) => {
                let mut env = s3.options();
                env[0].1 = proxy.endpoint();
                env
            }
            Self::Azure(_) => azurite().env_via(&proxy.endpoint()),
        }
    }

    /// The destination's folder as deltalake opens it, straight (not through the proxy).
    fn object_store(&self) -> Arc<dyn ObjectStore> {
        let options: Vec<(&str, String)> = match self {
            Self::S3(s3) => {
                deltalake::aws::register_handlers(None);
                s3.options()
            }
            Self::Azure(_) => {
                deltalake::azure::register_handlers(None);
                azurite().in_process_options()
            }
        };
        let options: HashMap<String, String> = options.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let url = url::Url::parse(&format!("{}/", self.url())).unwrap();
        deltalake::logstore::store_for(&url, options).unwrap()
    }

    /// How many data files the issues table's folder holds, in a commit or not.
    fn issue_files(&self) -> usize {
        let store = self.object_store();
        let list = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(store.list(Some(&StorePath::from("issues"))).try_collect::<Vec<_>>()).unwrap()
        });
        list.join().unwrap().iter().filter(|m| m.location.as_ref().ends_with(".parquet")).count()
    }

    /// Every table as Python reads it straight from the store (not through the proxy).
    fn tables(&self) -> Vec<Vec<Value>> {
        ["issues", "users"]
            .iter()
            .map(|t| {
                let url = format!("{}/{t}", self.url());
                match self {
                    Self::S3(s3) => common::read_delta(url, &s3.options()).1,
                    Self::Azure(_) => {
                        common::read_delta_with(url, &azurite().reader_env(), &azurite().storage_options()).1
                    }
                }
            })
            .collect()
    }
}

/// A pipeline into `url` that gives up on failing storage requests after seconds.
fn pipeline(dir: &Path, url: &str) -> PathBuf {
    PipelineYaml::new("st", OBJECTS)
        .source("requests_per_second", "500")
        .url(url)
        .destination("retry_timeout", "3s")
        .destination("request_timeout", "2s")
        .write(dir, "st.yaml")
}

fn run(sim: &RunningSim, env: &[(&'static str, String)], file: &Path, args: &[&str]) -> Out {
    let mut cmd = common::jirapipe_for(sim);
    cmd.arg("run").arg(file).args(args).envs(env.iter().cloned());
    common::output(&mut cmd)
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

/// What stands for the issues table's place (`lake/jira/issues`) in the texts expected.
const TABLE: &str = "{table}";

/// A clean run; then `rules` fail the next one, which must exit 1 with `expect` on stderr and
/// change no table; then a clean run again.
fn fails_cleanly(store: Store, case: &str, rules: Value, args: &[&str], behaviour: Behaviour, expect: &[&str]) {
    let proxy = store.proxy();
    let (_rt, sim) = site();
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path(), &store.url());
    let env = store.env(&proxy);
    let out = run(&sim, &env, &file, &[]);
    assert_eq!(out.code, Some(0), "{case}: first run: {}", out.stderr);
    let before = store.tables();
    sim.edit_issues(4, 9, 15);

    proxy.rules(rules);
    sim.set_behaviour(behaviour);
    let started = std::time::Instant::now();
    let out = run(&sim, &env, &file, args);
    assert_eq!(out.code, Some(1), "{case}: {}{}", out.stdout, out.stderr);
    assert!(started.elapsed() < Duration::from_secs(90), "{case}: took {:?}", started.elapsed());
    assert!(!proxy.faults().is_empty(), "{case}: the fault was injected");
    for e in expect {
        let e = e.replace(TABLE, &format!("{}/issues", store.root()));
        assert!(out.stderr.contains(&e), "{case}: `{e}` not in:\n{}", out.stderr);
    }
    // The issues table is the one whose writes fail (the lease: every table).
    assert_eq!(store.tables()[0], before[0], "{case}: the issues table is as it was");

    proxy.rules(json!([]));
    sim.set_behaviour(Behaviour::default());
    let out = run(&sim, &env, &file, &[]);
    assert_eq!(out.code, Some(0), "{case}: the run after the fault: {}", out.stderr);
    assert_issues_equal_truth(&sim, &store.tables()[0], case);
}

const FIX: &str = "destination is reachable and writable";

const DATA_WRITE: &str = r"/jira/issues/.*\.parquet$";
const COMMIT: &str = r"/jira/issues/_delta_log/";
/// The first lease record is written; every renewal after it fails.
const LEASE: &str = "/_jirapipe/lease/";

/// A slow site keeps the run going past the lease's expiry.
fn slow() -> Behaviour {
    Behaviour { latency: Duration::from_millis(700), ..Behaviour::default() }
}

#[test]
fn a_data_write_that_keeps_failing() {
    let rules = json!([{"method": "PUT", "path": DATA_WRITE, "action": "status", "status": 503}]);
    fails_cleanly(Store::s3(), "data write 503", rules, &[], Behaviour::default(), &[TABLE, "SlowDown", FIX]);
}

#[test]
fn a_commit_that_fails_or_never_answers() {
    let rules = json!([{"method": "PUT", "path": COMMIT, "action": "status", "status": 500}]);
    fails_cleanly(Store::s3(), "commit 500", rules, &[], Behaviour::default(), &[TABLE, FIX]);
    let rules = json!([{"method": "PUT", "path": COMMIT, "action": "stall", "seconds": 30}]);
    fails_cleanly(Store::s3(), "commit stalls", rules, &[], Behaviour::default(), &[TABLE, FIX]);
}

#[test]
fn a_lease_that_cannot_be_renewed_stops_the_run() {
    let rules = json!([{"method": "PUT", "path": LEASE, "action": "status", "status": 503, "skip": 1}]);
    fails_cleanly(Store::s3(), "lease renewal 503", rules, &["--lease-ttl", "3s"], slow(), &["lost the lease"]);
}

#[test]
fn azure_a_data_write_that_keeps_failing() {
    let rules = json!([{"method": "PUT", "path": DATA_WRITE, "action": "status", "status": 503}]);
    fails_cleanly(Store::azure(), "data write 503", rules, &[], Behaviour::default(), &[TABLE, "ServerBusy", FIX]);
}

#[test]
fn azure_a_commit_that_fails_or_never_answers() {
    let rules = json!([{"method": "PUT", "path": COMMIT, "action": "status", "status": 500}]);
    fails_cleanly(Store::azure(), "commit 500", rules, &[], Behaviour::default(), &[TABLE, FIX]);
    let rules = json!([{"method": "PUT", "path": COMMIT, "action": "stall", "seconds": 30}]);
    fails_cleanly(Store::azure(), "commit stalls", rules, &[], Behaviour::default(), &[TABLE, FIX]);
}

#[test]
fn azure_a_lease_that_cannot_be_renewed_stops_the_run() {
    let rules = json!([{"method": "PUT", "path": LEASE, "action": "status", "status": 503, "skip": 1}]);
    fails_cleanly(Store::azure(), "lease renewal 503", rules, &["--lease-ttl", "3s"], slow(), &["lost the lease"]);
}

/// The commit of the issues table never answers (the proxy holds it); the run is killed with
/// SIGKILL while it waits, after its data files were written. The table stays at its last
/// version and reads as before, the killed run's files are in the store but in no commit, and
/// the next run (once the dead run's lease expires) brings the table to the simulator's state.
fn killed_between_a_data_write_and_its_commit(store: Store) {
    let proxy = store.proxy();
    let (_rt, sim) = site();
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path(), &store.url());
    let mut env = store.env(&proxy);
    env.push(("JIRAPIPE_LEASE_TTL", "2s".into()));
    let out = run(&sim, &env, &file, &[]);
    assert_eq!(out.code, Some(0), "first run: {}", out.stderr);
    let before = store.tables();
    let files_before = store.issue_files();
    sim.edit_issues(2, 9, 20);

    proxy.rules(
        json!([{"method": "PUT", "path": r"/jira/issues/_delta_log/\d+\.json$", "action": "stall", "seconds": 120}]),
    );
    let seen = proxy.log().len();
    let mut cmd = common::jirapipe_for(&sim);
    cmd.arg("run").arg(&file).envs(env.iter().cloned()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.faults().is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its commit was held");
        assert!(Instant::now() < deadline, "the commit never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL, while the commit is in flight
    child.wait().unwrap();
    let log = proxy.log();
    let this_run = &log[seen..];
    let held = this_run.iter().position(|(.., fault)| fault.is_some()).unwrap();
    assert!(
        this_run[..held].iter().any(|(m, p, _)| m == "PUT" && p.contains("/jira/issues/") && p.ends_with(".parquet")),
        "a data file was written before the commit: {this_run:?}"
    );
    // (The users table, whose commit was not held, may have committed.)
    assert!(store.tables()[0] == before[0], "the issues table reads as its last version");
    assert!(store.issue_files() > files_before, "the killed run's data files are in the store");

    proxy.rules(json!([]));
    std::thread::sleep(Duration::from_millis(2500)); // the dead run's lease expires
    let out = run(&sim, &env, &file, &[]);
    assert_eq!(out.code, Some(0), "the run after the kill: {}", out.stderr);
    assert!(out.stderr.contains("taking over the lease"), "{}", out.stderr);
    let issues_line = out.stdout.lines().find(|l| l.starts_with("issues")).unwrap_or_default();
    assert!(issues_line.contains("(version 1)"), "the next commit is version 1: {}", out.stdout);
    assert_issues_equal_truth(&sim, &store.tables()[0], "after the kill");
}

#[test]
fn a_run_killed_between_a_data_write_and_its_commit_on_s3() {
    killed_between_a_data_write_and_its_commit(Store::s3());
}

#[test]
fn azure_a_run_killed_between_a_data_write_and_its_commit() {
    killed_between_a_data_write_and_its_commit(Store::azure());
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
    let store = Store::s3();
    let proxy = store.proxy();
    let (_rt, sim) = site();
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path(), &store.url());
    let metrics = dir.path().join("st.prom");
    proxy.rules(
        json!([{"method": "PUT", "path": r"/jira/issues/.*\.parquet$", "action": "status", "status": 503, "times": 2}]),
    );
    let out = run(&sim, &store.env(&proxy), &file, &["--metrics-file", metrics.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(proxy.faults().len(), 2, "two 503s were answered");
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(text.contains("\njirapipe_storage_retries_total 2\n"), "{text}");
    assert_issues_equal_truth(&sim, &store.tables()[0], "storage retries");
}
