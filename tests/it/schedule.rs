//! Scheduling end to end: the 15-minute floor as `validate` reports it, `schedule --dry-run`,
//! the lease between concurrent `run` processes (local folder and a local S3 server), takeover
//! of a killed holder's lease, SIGTERM in the middle of a run (for `run` and the daemon), and
//! the daemon skipping a fire time while a real run is still going, on a manual clock, and
//! `/readyz` turning unready while a stuck lease keeps a pipeline overdue.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use jira_sim::{Behaviour, DatasetConfig, RunningSim, SimConfig};
use jirapipe::jira::RetryConfig;
use jirapipe::metrics::Metrics;
use jirapipe::schedule::daemon::Options;
use jirapipe::schedule::{
    Clock, Daemon, Event, Health, Holder, LeaseLock, LeasedRun, ManualClock, Outcome, Phase, SkipReason, SystemClock,
    serve,
};

use crate::common::{self, OFFLINE_ENV, PipelineYaml};

const ISSUES: u64 = 300;

const EVERY_15_MINUTES: &str = "  cron: \"*/15 * * * *\"";

/// Pipeline `name`: the issues' summaries from `${JIRA_SITE}` into `${OUT}`, on `schedule` (the
/// lines under `schedule:`) if any.
fn pipeline(name: &str, schedule: Option<&str>) -> PipelineYaml {
    let p = PipelineYaml::new(name, "  issues: {sync: full_refresh, fields: {include: [summary]}}")
        .source("concurrency", "1")
        .url("${OUT}");
    match schedule {
        Some(lines) => p.section("schedule", lines),
        None => p,
    }
}

/// Pipeline `sched`, every 15 minutes, as `dir/sched.yaml`.
fn write_pipeline(dir: &Path) -> PathBuf {
    pipeline("sched", Some(EVERY_15_MINUTES)).write(dir, "sched.yaml")
}

struct Site {
    _rt: tokio::runtime::Runtime,
    sim: RunningSim,
}

impl Site {
    /// Each issue-search page takes `page` (a run reads four), so runs last long enough to
    /// be caught in the middle.
    fn start(page: Duration) -> Self {
        let (rt, sim) = common::blocking_sim(SimConfig {
            data: DatasetConfig { issues: ISSUES, ..Default::default() },
            behaviour: Behaviour { search_latency: page, ..Default::default() },
            ..Default::default()
        });
        Self { _rt: rt, sim }
    }

    fn set_page_latency(&self, page: Duration) {
        self.sim.set_behaviour(Behaviour { search_latency: page, ..Default::default() });
    }

    fn jirapipe(&self, pipeline: &Path, out: &str, args: &[&str]) -> Command {
        let mut c = common::jirapipe_for(&self.sim);
        c.args(args).arg(pipeline).env("OUT", out).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }
}

/// `jirapipe` with placeholder values, for a command that never reaches a site.
fn offline() -> Command {
    let mut c = common::jirapipe();
    c.envs(OFFLINE_ENV).env("OUT", "/tmp/x");
    c
}

fn finish(child: Child) -> (i32, String) {
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    (status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr)))
}

/// The newest lease record of pipeline `sched` under a local destination.
fn lease_record(out: &Path) -> Option<serde_json::Value> {
    let dir = out.join("_jirapipe/lease/sched");
    let newest = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).max()?;
    serde_json::from_str(&std::fs::read_to_string(newest).ok()?).ok()
}

/// Waits until a process holds the lease (a record not released).
fn wait_for_held_lease(out: &Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(r) = lease_record(out).filter(|r| r["released_at"].is_null()) {
            return r;
        }
        assert!(Instant::now() < deadline, "no lease taken under {}", out.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().unwrap().success();
    assert!(ok, "kill -{sig} failed");
}

fn issue_rows(out: &Path) -> usize {
    common::read_with_python(&out.join("issues")).1.len()
}

#[test]
fn validate_enforces_the_fifteen_minute_floor_with_located_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Option<&str>); 12] = [
        ("  cron: \"*/15 * * * *\"", None),
        ("  cron: \"@hourly\"", None),
        ("  cron: \"@daily\"\n  timezone: Europe/Berlin", None),
        ("  cron: \"0 */20 * * * *\"", None),
        ("  every: 30m", None),
        ("  cron: \"*/10 * * * *\"", Some("only 10m apart")),
        ("  cron: \"0,5 * * * *\"", Some("only 5m apart")),
        ("  cron: \"* */15 * * * *\"", Some("only 1s apart")),
        ("  every: 10m", Some("shorter than 15 minutes")),
        ("  cron: \"*/15 * * * *\"\n  every: 30m", Some("both `cron` and `every`")),
        ("  cron: \"*/15 * * *\"", Some("not a valid cron expression")),
        ("  cron: \"@daily\"\n  timezone: Europe/Berln", Some("did you mean `Europe/Berlin`?")),
    ];
    for (schedule, problem) in cases {
        let f = pipeline("sched", Some(schedule)).write(dir.path(), "sched.yaml");
        let out = offline().arg("validate").arg(&f).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match problem {
            None => assert!(out.status.success(), "{schedule}:\n{stderr}"),
            Some(problem) => {
                assert_eq!(out.status.code(), Some(2), "{schedule}:\n{stderr}");
                assert!(stderr.contains(problem), "{schedule}: no `{problem}` in:\n{stderr}");
                assert!(stderr.contains("sched.yaml:1"), "{schedule}: not located:\n{stderr}");
            }
        }
        if problem.is_some_and(|p| p.contains("apart")) {
            // Two fire times are named, and a valid expression is offered.
            assert_eq!(stderr.matches("UTC").count(), 2, "{stderr}");
            assert!(stderr.contains("*/15"), "{stderr}");
        }
    }
}

#[test]
fn dry_run_prints_the_next_fire_times_of_every_pipeline_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    pipeline("sched", Some("  cron: \"30 6 * * 1-5\"\n  timezone: Europe/Berlin")).write(dir.path(), "a.yaml");
    pipeline("other", Some(EVERY_15_MINUTES)).write(dir.path(), "b.yml");
    common::write_file(dir.path(), "notes.txt", "not a pipeline");
    let out = offline().args(["schedule", "--dry-run", "--count", "3"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{stdout}");
    assert!(lines[0].starts_with("sched  cron `30 6 * * 1-5` in Europe/Berlin"), "{stdout}");
    assert!(lines[1..4].iter().all(|l| l.contains(" 06:30:00 CE")), "{stdout}");
    assert!(lines[4].starts_with("other  cron `*/15 * * * *` in UTC"), "{stdout}");
    assert!(lines[5..].iter().all(|l| [":00:00", ":15:00", ":30:00", ":45:00"].iter().any(|m| l.contains(m))));

    // A pipeline without a schedule cannot be scheduled.
    let unscheduled = pipeline("sched", None).write(dir.path(), "c.yaml");
    let out = offline().args(["schedule", "--dry-run"]).arg(unscheduled).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no `schedule`"));
}

#[test]
fn help_lists_schedule_and_the_busy_exit_code() {
    let out = common::jirapipe().arg("--help").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in ["schedule", "3  another process is running this pipeline"] {
        assert!(stdout.contains(needle), "--help lacks `{needle}`:\n{stdout}");
    }
}

#[test]
fn two_concurrent_runs_on_a_local_folder_one_runs_the_other_exits_3() {
    let site = Site::start(Duration::from_millis(700));
    let dir = tempfile::tempdir().unwrap();
    let f = write_pipeline(dir.path());
    let out = dir.path().join("lake");
    let out_s = out.display().to_string();
    let a = site.jirapipe(&f, &out_s, &["run"]).spawn().unwrap();
    let b = site.jirapipe(&f, &out_s, &["run"]).spawn().unwrap();
    let mut results = [finish(a), finish(b)];
    results.sort();
    let [(ok, ok_out), (busy, busy_out)] = results;
    assert_eq!((ok, busy), (0, 3), "{ok_out}\n---\n{busy_out}");
    assert!(busy_out.contains("pipeline `sched` is already running"), "{busy_out}");
    assert!(busy_out.contains("holds its lease since"), "{busy_out}");
    assert_eq!(issue_rows(&out), ISSUES as usize);
    assert!(!lease_record(&out).unwrap()["released_at"].is_null(), "the lease is released after the run");
}

#[test]
fn two_concurrent_runs_on_s3_one_runs_the_other_exits_3() {
    let s3 = common::s3::MotoServer::start();
    s3.create_bucket("lake");
    let site = Site::start(Duration::from_millis(700));
    let dir = tempfile::tempdir().unwrap();
    let f = write_pipeline(dir.path());
    let spawn = || site.jirapipe(&f, "s3://lake/jira", &["run"]).envs(s3.options()).spawn().unwrap();
    let (a, b) = (spawn(), spawn());
    let mut results = [finish(a), finish(b)];
    results.sort();
    let [(ok, ok_out), (busy, busy_out)] = results;
    assert_eq!((ok, busy), (0, 3), "{ok_out}\n---\n{busy_out}");
    assert!(busy_out.contains("pipeline `sched` is already running"), "{busy_out}");

    // The table is in the bucket, complete, and the lease there is released.
    let options: std::collections::HashMap<String, String> =
        s3.options().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        deltalake::aws::register_handlers(None);
        let url = url::Url::parse("s3://lake/jira/issues/").unwrap();
        let table = deltalake::open_table_with_storage_options(url, options.clone()).await.unwrap();
        assert_eq!(table.version(), Some(0));
        let batches = common::query(&table, "SELECT id FROM t").await;
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), ISSUES as usize);

        let root = url::Url::parse("s3://lake/jira/").unwrap();
        let store = deltalake::logstore::store_for(&root, options).unwrap();
        let lock = jirapipe::schedule::LeaseLock::new(
            store,
            "sched",
            Duration::from_secs(60),
            Arc::new(jirapipe::schedule::SystemClock),
        );
        let record = lock.current().await.unwrap().expect("a lease record");
        assert!(record.released_at.is_some(), "{record:?}");
    });
}

#[test]
fn a_killed_runs_lease_blocks_until_it_expires_then_is_taken_over() {
    let site = Site::start(Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let f = write_pipeline(dir.path());
    let out = dir.path().join("lake");
    let out_s = out.display().to_string();
    let mut a = site.jirapipe(&f, &out_s, &["run", "--lease-ttl", "3s"]).spawn().unwrap();
    let held = wait_for_held_lease(&out);
    assert_eq!(held["holder"]["pid"], a.id());
    assert!(held["holder"]["host"].as_str().is_some_and(|h| !h.is_empty()), "{held}");
    assert!(held["acquired_at"].is_string() && held["expires_at"].is_string(), "{held}");
    a.kill().unwrap();
    a.wait().unwrap();

    let (code, output) = finish(site.jirapipe(&f, &out_s, &["run", "--lease-ttl", "3s"]).spawn().unwrap());
    assert_eq!(code, 3, "{output}");
    assert!(output.contains(&format!("pid {}", held["holder"]["pid"])), "{output}");

    std::thread::sleep(Duration::from_secs(4));
    site.set_page_latency(Duration::ZERO);
    let (code, output) = finish(site.jirapipe(&f, &out_s, &["run", "--lease-ttl", "3s"]).spawn().unwrap());
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("taking over the lease"), "{output}");
    assert_eq!(issue_rows(&out), ISSUES as usize);
}

#[test]
fn sigterm_mid_run_keeps_the_last_commit_and_releases_the_lease() {
    let site = Site::start(Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let f = write_pipeline(dir.path());
    let out = dir.path().join("lake");
    let out_s = out.display().to_string();
    let (code, output) = finish(site.jirapipe(&f, &out_s, &["run"]).spawn().unwrap());
    assert_eq!(code, 0, "{output}");

    site.set_page_latency(Duration::from_secs(2));
    let run = site.jirapipe(&f, &out_s, &["run"]).spawn().unwrap();
    wait_for_held_lease(&out);
    std::thread::sleep(Duration::from_millis(500));
    signal(&run, "TERM");
    let started = Instant::now();
    let (code, output) = finish(run);
    assert!(started.elapsed() < Duration::from_secs(10), "SIGTERM must stop the run promptly");
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("stopped before it finished; every table stays at its last commit"), "{output}");
    // Still the first run's table, readable by an independent reader.
    assert_eq!(issue_rows(&out), ISSUES as usize);
    assert!(!out.join("issues/_delta_log/00000000000000000001.json").exists(), "no commit from the stopped run");
    assert!(!lease_record(&out).unwrap()["released_at"].is_null(), "the lease was released");

    // The next run need not wait for any expiry.
    site.set_page_latency(Duration::ZERO);
    let (code, output) = finish(site.jirapipe(&f, &out_s, &["run"]).spawn().unwrap());
    assert_eq!(code, 0, "{output}");
}

#[test]
fn the_daemon_lets_a_run_finish_within_the_grace_and_exits_0_on_sigterm() {
    let site = Site::start(Duration::from_millis(800));
    let dir = tempfile::tempdir().unwrap();
    let f = write_pipeline(dir.path());
    let out = dir.path().join("lake");
    let out_s = out.display().to_string();
    let daemon = site.jirapipe(&f, &out_s, &["schedule", "--run-now", "--grace", "60s"]).spawn().unwrap();
    wait_for_held_lease(&out);
    signal(&daemon, "TERM");
    let (code, output) = finish(daemon);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("stopping: no new runs"), "{output}");
    assert!(output.contains("run finished"), "{output}");
    assert_eq!(issue_rows(&out), ISSUES as usize);
    assert!(!lease_record(&out).unwrap()["released_at"].is_null());
}

#[test]
fn the_daemon_abandons_a_run_after_the_grace_and_exits_0() {
    let site = Site::start(Duration::from_secs(3));
    let dir = tempfile::tempdir().unwrap();
    let f = write_pipeline(dir.path());
    let out = dir.path().join("lake");
    let out_s = out.display().to_string();
    let daemon = site.jirapipe(&f, &out_s, &["schedule", "--once-now", "--grace", "1s"]).spawn().unwrap();
    wait_for_held_lease(&out);
    signal(&daemon, "TERM");
    let started = Instant::now();
    let (code, output) = finish(daemon);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("run abandoned at shutdown"), "{output}");
    // The first run never committed: no table, and nothing half-written that a reader could see.
    assert!(!out.join("issues/_delta_log").exists() || issue_rows(&out) == 0);
    assert!(!lease_record(&out).unwrap()["released_at"].is_null());
}

/// The daemon with real runs against the simulator and a manual clock: a run still going at
/// the next fire time makes that fire time be skipped, and the one after runs.
#[test]
fn a_real_run_longer_than_the_interval_skips_the_next_fire_time() {
    let site = Site::start(Duration::from_millis(700));
    let dir = tempfile::tempdir().unwrap();
    let vars = common::sim_vars(&site.sim).with("OUT", dir.path().join("lake").display().to_string());
    let pipeline = pipeline("sched", Some(EVERY_15_MINUTES)).load(dir.path(), &vars);
    let at = |h, m| Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap();
    let clock = ManualClock::new(at(10, 1));
    let job = LeasedRun::new(Duration::from_secs(60), RetryConfig::default());
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let (phase, rx) = tokio::sync::watch::channel(Phase::Running);
    let daemon =
        Daemon::new(vec![pipeline], Arc::new(job), Arc::new(clock.clone()), Options::default()).with_events(tx);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(tokio::task::LocalSet::new().run_until(async move {
        let daemon = tokio::task::spawn_local(daemon.run(rx));
        let mut next = async || tokio::time::timeout(Duration::from_secs(60), events.recv()).await.unwrap().unwrap();
        tokio::task::yield_now().await;
        clock.set(at(10, 15));
        assert_eq!(next().await, Event::Started { pipeline: "sched".into(), fire: at(10, 15) });
        // Twenty minutes pass on the clock while the (real, slow) run goes on.
        clock.set(at(10, 35));
        let skipped = Event::Skipped { pipeline: "sched".into(), fire: at(10, 30), reason: SkipReason::StillRunning };
        assert_eq!(next().await, skipped);
        let rows = ISSUES;
        let finished = next().await;
        let done = Event::Finished { pipeline: "sched".into(), fire: at(10, 15), outcome: Outcome::Succeeded { rows } };
        assert_eq!(finished, done);
        clock.set(at(10, 45));
        assert_eq!(next().await, Event::Started { pipeline: "sched".into(), fire: at(10, 45) });
        assert!(matches!(next().await, Event::Finished { outcome: Outcome::Succeeded { .. }, .. }));
        phase.send_replace(Phase::Draining);
        daemon.await.unwrap();
    }));
}

/// `/readyz` of a daemon on a manual clock while another process holds the pipeline's lease
/// (taken with an hour's TTL and never let go): each run ends `busy`, and once a whole interval
/// has passed since the pipeline was due, the daemon is unready and says why. When the lease
/// is let go, the next run succeeds and the daemon is ready again; `/metrics` counts it all.
#[test]
fn readyz_turns_unready_while_a_stuck_lease_keeps_a_pipeline_overdue() {
    let site = Site::start(Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let vars = common::sim_vars(&site.sim).with("OUT", dir.path().join("lake").display().to_string());
    let pipeline = pipeline("sched", Some(EVERY_15_MINUTES)).load(dir.path(), &vars);
    let at = |h, m| Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap();
    let clock = ManualClock::new(at(10, 1));
    let metrics = Arc::new(Metrics::new());
    metrics.pipeline(&pipeline);
    let health = Arc::new(Health::new());
    let job = LeasedRun::new(Duration::from_secs(60), RetryConfig::default()).with_metrics(metrics.clone());
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let (phase, rx) = tokio::sync::watch::channel(Phase::Running);
    let stuck_lock =
        LeaseLock::for_destination(&pipeline.destination, "sched", Duration::from_secs(3600), Arc::new(SystemClock))
            .unwrap();
    let daemon = Daemon::new(vec![pipeline], Arc::new(job), Arc::new(clock.clone()), Options::default())
        .with_events(tx)
        .with_health(health.clone());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(tokio::task::LocalSet::new().run_until(async move {
        let stuck = stuck_lock.acquire(Holder::this_process()).await.unwrap();
        let (addr, serve) =
            serve::bind("127.0.0.1:0", metrics, health, Arc::new(clock.clone()) as Arc<dyn Clock>).await.unwrap();
        tokio::spawn(serve);
        let get = async |path: &str| {
            let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        };
        let daemon = tokio::task::spawn_local(daemon.run(rx));
        let mut next = async || tokio::time::timeout(Duration::from_secs(60), events.recv()).await.unwrap().unwrap();
        tokio::task::yield_now().await;
        let (status, body) = get("/readyz").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("sched: ok, next due at 2026-03-02 10:15:00 UTC"), "{body}");

        for fire in [at(10, 15), at(10, 30)] {
            clock.set(fire);
            assert_eq!(next().await, Event::Started { pipeline: "sched".into(), fire });
            assert!(matches!(next().await, Event::Finished { outcome: Outcome::Busy(_), .. }));
        }
        // Due at 10:15, one interval of slack: still ready at 10:30, not after.
        assert_eq!(get("/readyz").await.0, 200);
        clock.set(at(10, 31));
        let (status, body) = get("/readyz").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.starts_with("not ready\nsched: overdue: due at 2026-03-02 10:15:00 UTC, 16m ago"), "{body}");
        assert_eq!(get("/healthz").await, (200, "ok\n".to_string()), "alive all the same");
        let (_, text) = get("/metrics").await;
        assert!(text.contains("jirapipe_runs_total{outcome=\"busy\",pipeline=\"sched\"} 2\n"), "{text}");
        assert!(text.contains("jirapipe_lease_held{pipeline=\"sched\"} 0\n"), "{text}");

        stuck.release().await.unwrap();
        clock.set(at(10, 45));
        assert_eq!(next().await, Event::Started { pipeline: "sched".into(), fire: at(10, 45) });
        let done = Event::Finished {
            pipeline: "sched".into(),
            fire: at(10, 45),
            outcome: Outcome::Succeeded { rows: ISSUES },
        };
        assert_eq!(next().await, done);
        let (status, body) = get("/readyz").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("sched: ok, next due at 2026-03-02 11:00:00 UTC"), "{body}");
        let (_, text) = get("/metrics").await;
        assert!(text.contains("jirapipe_runs_total{outcome=\"succeeded\",pipeline=\"sched\"} 1\n"), "{text}");
        let written = format!("jirapipe_rows_written_total{{object=\"issues\",pipeline=\"sched\"}} {ISSUES}\n");
        assert!(text.contains(&written), "{text}");
        phase.send_replace(Phase::Draining);
        daemon.await.unwrap();
    }));
    assert_eq!(issue_rows(&dir.path().join("lake")), ISSUES as usize);
}
