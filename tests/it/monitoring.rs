//! Monitoring end to end, with a real Prometheus (Debian's package, installed on first use):
//! `schedule --listen --run-now` against the simulator, scraped by Prometheus, whose HTTP API
//! must hold the run's series with the values the Delta tables confirm; the alerting rules
//! loaded into it and checked and unit-tested by `promtool`; every query of the Grafana dashboard
//! evaluated on the scraped data and naming only metrics jirapipe exposes; `run --metrics-file`
//! read by `promtool check metrics`, its counters adding up across runs; the Kubernetes
//! manifests' pipelines and arguments accepted by jirapipe.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jira_sim::{DatasetConfig, SimConfig};

use crate::common::prometheus::{self, Prometheus};
use crate::common::{self, OFFLINE_ENV, PipelineYaml};

const ISSUES: u64 = 120;

fn deploy(path: &str) -> PathBuf {
    common::root().join("deploy").join(path)
}

/// Pipeline `mon`: incremental issues and a snapshot of projects into `out`, every 15 minutes.
fn pipeline(dir: &Path, out: &Path) -> PathBuf {
    PipelineYaml::new(
        "mon",
        "  issues: {sync: incremental, fields: {include: [summary, status]}}\n  projects: {sync: full_refresh}",
    )
    .source("concurrency", "2")
    .url(&out.display().to_string())
    .section("schedule", "  every: 15m")
    .write(dir, "mon.yaml")
}

/// The families a text in the Prometheus format declares (`# TYPE` lines).
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect()
}

/// The jirapipe metric names a PromQL expression reads, histogram series named by their family.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("jirapipe_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        let name = &tail[..end];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| f.ends_with("_seconds")))
            .unwrap_or(name);
        names.insert(family.to_string());
        rest = &tail[end..];
    }
    names
}

/// Every PromQL expression of the dashboard: the panels' targets and the variables' queries.
fn dashboard_queries() -> Vec<String> {
    let d: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(deploy("grafana/jirapipe.json")).unwrap())
        .expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    for panel in d["panels"].as_array().expect("panels") {
        for t in panel["targets"].as_array().expect("targets") {
            exprs.push(t["expr"].as_str().expect("every target has an expr").to_string());
        }
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["definition"].as_str() {
            exprs.push(q.to_string());
        }
    }
    assert!(exprs.len() >= 14, "{exprs:?}");
    exprs
}

/// The expressions of the alerting rules.
fn rule_queries() -> Vec<String> {
    let text = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let rules: serde_json::Value = serde_saphyr::from_str(&text).expect("alerts.yml is YAML");
    rules["groups"][0]["rules"].as_array().unwrap().iter().map(|r| r["expr"].as_str().unwrap().to_string()).collect()
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_http(addr: &str, path: &str, until: impl Fn(u16, &str) -> bool, within: Duration) -> (u16, String) {
    let deadline = Instant::now() + within;
    loop {
        if let Ok((status, body)) = prometheus::get(addr, path)
            && until(status, &body)
        {
            return (status, body);
        }
        assert!(Instant::now() < deadline, "http://{addr}{path} never became as expected");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn value_of(found: &[(serde_json::Value, f64)], label: &str, value: &str) -> f64 {
    found
        .iter()
        .find(|(m, _)| m[label] == value)
        .unwrap_or_else(|| panic!("no series with {label}={value} in {found:?}"))
        .1
}

#[test]
fn prometheus_scrapes_the_daemon_and_its_series_match_the_tables() {
    let (_rt, sim) = common::blocking_sim(SimConfig {
        data: DatasetConfig { issues: ISSUES, ..Default::default() },
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let file = pipeline(dir.path(), &out);
    let listen = format!("127.0.0.1:{}", prometheus::free_port());
    // Prometheus first, so it sees the counters start at zero before the first run.
    let rules = vec![deploy("prometheus/alerts.yml")];
    let prom = Prometheus::start(std::slice::from_ref(&listen), &rules);
    let child = common::jirapipe_for(&sim)
        .args(["schedule", "--listen", &listen, "--run-now"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);
    let (status, body) = wait_http(&listen, "/healthz", |s, _| s == 200, Duration::from_secs(30));
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let runs =
        prom.wait_for(r#"jirapipe_runs_total{pipeline="mon",outcome="succeeded"} > 0"#, Duration::from_secs(120));
    assert_eq!(runs[0].1, 1.0, "{runs:?}");
    // The scrape after the run: every family of the run is in.
    prom.wait_for(r#"jirapipe_table_version{pipeline="mon",object="projects"}"#, Duration::from_secs(30));

    // Rows written are the rows the tables hold, as an independent reader sees them.
    let written = prom.query(r#"jirapipe_rows_written_total{pipeline="mon"}"#);
    let issues = common::read_with_python(&out.join("issues")).1.len();
    let projects = common::read_with_python(&out.join("projects")).1.len();
    assert_eq!(issues, ISSUES as usize);
    assert!(projects > 0);
    assert_eq!(value_of(&written, "object", "issues"), issues as f64, "{written:?}");
    assert_eq!(value_of(&written, "object", "projects"), projects as f64, "{written:?}");
    let versions = prom.query(r#"jirapipe_table_version{pipeline="mon"}"#);
    assert_eq!(value_of(&versions, "object", "issues"), (common::commits(&out.join("issues")).len() - 1) as f64);
    let one = |expr: &str| {
        let found = prom.query(expr);
        assert_eq!(found.len(), 1, "{expr}: {found:?}");
        found[0].1
    };
    assert_eq!(one(r#"jirapipe_last_run_succeeded{pipeline="mon"}"#), 1.0);
    assert_eq!(one(r#"jirapipe_run_duration_seconds_count{pipeline="mon"}"#), 1.0);
    assert_eq!(one(r#"jirapipe_lease_held{pipeline="mon"}"#), 0.0, "the lease is let go after the run");
    assert_eq!(one(r#"jirapipe_schedule_interval_seconds{pipeline="mon"}"#), 900.0);
    assert_eq!(one(r#"jirapipe_rows_rejected_total{pipeline="mon",object="issues"}"#), 0.0);
    assert_eq!(one(r#"jirapipe_runs_total{pipeline="mon",outcome="failed"}"#), 0.0);
    assert!(one(r#"jirapipe_jira_requests_total{pipeline="mon",class="2xx"}"#) >= 3.0);
    let lag = one(r#"jirapipe_cursor_lag_seconds{pipeline="mon",object="issues"}"#);
    assert!((0.0..600.0).contains(&lag), "the cursor is Jira's clock at the run: {lag}");
    let since = one(r#"time() - jirapipe_last_success_timestamp_seconds{pipeline="mon"}"#);
    assert!((0.0..600.0).contains(&since), "{since}");

    // The dashboard and the rules read only metrics jirapipe exposes, and each of their
    // queries evaluates on the scraped data.
    let (_, scraped) = prometheus::get(&listen, "/metrics").unwrap();
    let exposed = families(&scraped);
    for expr in dashboard_queries().into_iter().chain(rule_queries()) {
        let unknown: Vec<_> = metric_names(&expr).into_iter().filter(|n| !exposed.contains(n)).collect();
        assert!(unknown.is_empty(), "`{expr}` names metrics jirapipe does not expose: {unknown:?}\n{exposed:?}");
        if let Some(label) = expr.strip_prefix("label_values(") {
            let metric = label.split(',').next().unwrap();
            assert!(!prom.query(metric).is_empty(), "{expr}");
            continue;
        }
        let q = expr.replace("$__rate_interval", "1m").replace("$pipeline", ".*");
        prom.query(&q);
    }
    // The panels of the pipeline draw something after one run.
    for expr in [
        r#"sum by (pipeline, object) (increase(jirapipe_rows_written_total{pipeline=~".*"}[1m]))"#,
        r#"time() - jirapipe_cursor_timestamp_seconds{pipeline=~".*"}"#,
    ] {
        prom.wait_for(expr, Duration::from_secs(30));
    }
    // Prometheus loaded the rules and evaluates them without errors; none fires after a success.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let groups = prom.api("rules", &[]);
        let rules = groups["groups"][0]["rules"].as_array().cloned().unwrap_or_default();
        let evaluated = rules.len() == 5 && rules.iter().all(|r| r["lastEvaluation"] != "0001-01-01T00:00:00Z");
        if evaluated {
            for r in &rules {
                assert_eq!(r["health"], "ok", "{r}");
                assert_eq!(r["state"], "inactive", "{r}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "rules not evaluated: {groups}");
        std::thread::sleep(Duration::from_millis(300));
    }

    let (status, body) = prometheus::get(&listen, "/readyz").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("ready\nmon: ok, next due at"), "{body}");

    Command::new("kill").args(["-TERM", &daemon.0.id().to_string()]).status().unwrap();
    let status = daemon.0.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(daemon.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(status.success(), "{log}");
    assert!(log.contains(&format!("serving /metrics, /healthz and /readyz on http://{listen}")), "{log}");
}

#[test]
fn run_writes_a_textfile_promtool_reads_whose_counters_add_up_across_runs() {
    let (_, promtool) = prometheus::tools();
    let (_rt, sim) = common::blocking_sim(SimConfig {
        data: DatasetConfig { issues: 40, ..Default::default() },
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let file = PipelineYaml::new("cron", "  issues: {sync: full_refresh, fields: {include: [summary]}}")
        .url(&out.display().to_string())
        .write(dir.path(), "cron.yaml");
    let metrics = dir.path().join("textfile/cron.prom");
    for _ in 0..2 {
        let o = common::output(common::jirapipe_for(&sim).arg("run").arg(&file).arg("--metrics-file").arg(&metrics));
        assert_eq!(o.code, Some(0), "{}", o.stderr);
    }
    let text = std::fs::read_to_string(&metrics).unwrap();
    let check = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&metrics).unwrap())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "promtool check metrics:\n{}{}\n{text}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let sample = |series: &str| -> f64 {
        let line = text.lines().find(|l| l.strip_prefix(series).is_some_and(|r| r.starts_with(' ')));
        line.unwrap_or_else(|| panic!("no {series} in\n{text}")).rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(sample(r#"jirapipe_runs_total{outcome="succeeded",pipeline="cron"}"#), 2.0);
    let rows = common::read_with_python(&out.join("issues")).1.len() as f64;
    assert_eq!(rows, 40.0);
    assert_eq!(sample(r#"jirapipe_rows_written_total{object="issues",pipeline="cron"}"#), 2.0 * rows);
    assert_eq!(sample(r#"jirapipe_run_duration_seconds_count{pipeline="cron"}"#), 2.0);
    assert_eq!(sample(r#"jirapipe_table_version{object="issues",pipeline="cron"}"#), 1.0);
    assert_eq!(sample(r#"jirapipe_last_run_succeeded{pipeline="cron"}"#), 1.0);

    // A run that fails keeps the last success and counts the failure.
    let o = common::output(
        common::jirapipe_for(&sim)
            .env("JIRA_API_TOKEN", "revoked")
            .arg("run")
            .arg(&file)
            .arg("--metrics-file")
            .arg(&metrics),
    );
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    let after = std::fs::read_to_string(&metrics).unwrap();
    let again = |series: &str| -> Option<f64> {
        let line = after.lines().find(|l| l.strip_prefix(series).is_some_and(|r| r.starts_with(' ')))?;
        line.rsplit(' ').next()?.parse().ok()
    };
    assert_eq!(again(r#"jirapipe_runs_total{outcome="failed",pipeline="cron"}"#), Some(1.0), "{after}");
    assert_eq!(again(r#"jirapipe_runs_total{outcome="succeeded",pipeline="cron"}"#), Some(2.0), "{after}");
    assert_eq!(again(r#"jirapipe_last_run_succeeded{pipeline="cron"}"#), Some(0.0), "{after}");
    assert_eq!(
        again(r#"jirapipe_last_success_timestamp_seconds{pipeline="cron"}"#),
        Some(sample(r#"jirapipe_last_success_timestamp_seconds{pipeline="cron"}"#)),
        "{after}"
    );
    let check =
        Command::new(&promtool).args(["check", "metrics"]).stdin(std::fs::File::open(&metrics).unwrap()).output();
    assert!(check.unwrap().status.success());

    // The dashboard and the rules find their metrics in the textfile too, but for two this
    // pipeline has no reason to have: an interval (no schedule; the rules fall back to an hour)
    // and a cursor (no incremental object).
    let exposed = families(&after);
    let not_here = ["jirapipe_schedule_interval_seconds", "jirapipe_cursor_timestamp_seconds"];
    for expr in dashboard_queries().into_iter().chain(rule_queries()) {
        let unknown: Vec<_> = metric_names(&expr)
            .into_iter()
            .filter(|n| !exposed.contains(n) && !not_here.contains(&n.as_str()))
            .collect();
        assert!(unknown.is_empty(), "`{expr}`: {unknown:?} not in the textfile\n{after}");
    }
    let left: Vec<_> = std::fs::read_dir(metrics.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["cron.prom"], "no temporary file left beside it");
}

#[test]
fn promtool_checks_and_tests_the_alerting_rules() {
    let (_, promtool) = prometheus::tools();
    for args in [["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]] {
        let out = Command::new(&promtool).args(args).current_dir(deploy("prometheus")).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "promtool {args:?}:\n{text}");
        assert!(text.contains("SUCCESS"), "{text}");
    }
    // Every rule has a unit test.
    let tests = std::fs::read_to_string(deploy("prometheus/alerts.test.yml")).unwrap();
    let text = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let rules: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    for r in rules["groups"][0]["rules"].as_array().unwrap() {
        let name = r["alert"].as_str().unwrap();
        assert!(
            tests.contains(&format!("alertname: {name}\n        exp_alerts:\n          -")),
            "{name} never fires in a test"
        );
    }
}

/// The manifests' pipelines validate, and the Deployment's and the CronJob's arguments are
/// ones jirapipe accepts, with probes on the endpoints it serves.
#[test]
fn the_kubernetes_manifests_hold_valid_pipelines_and_arguments() {
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(deploy(&format!("kubernetes/{name}"))).unwrap();
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let config = tempfile::tempdir().unwrap();
    let cm = read("configmap.yaml");
    for (file, text) in cm["data"].as_object().unwrap() {
        std::fs::write(config.path().join(file), text.as_str().unwrap()).unwrap();
    }
    let secret = read("secret.yaml");
    let env: Vec<(String, String)> = secret["stringData"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .chain(OFFLINE_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let with_config = |args: &[serde_json::Value]| -> Vec<String> {
        args.iter().map(|a| a.as_str().unwrap().replace("/config", &config.path().display().to_string())).collect()
    };

    let deployment = read("deployment.yaml");
    let pod = &deployment["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["ports"][0]["containerPort"], 9464);
    assert_eq!(c["envFrom"][0]["secretRef"]["name"], secret["metadata"]["name"]);
    let mounts = c["volumeMounts"].as_array().unwrap();
    assert!(mounts.iter().any(|m| m["mountPath"] == "/var/lib/jirapipe"), "the token store's volume");
    let mut args = with_config(c["args"].as_array().unwrap());
    assert_eq!(
        args[..4],
        ["schedule".to_string(), config.path().display().to_string(), "--listen".into(), "0.0.0.0:9464".into()]
    );
    args.push("--dry-run".into());
    let o = common::output(common::jirapipe().args(&args).envs(env.clone()));
    assert_eq!(o.code, Some(0), "{args:?}: {}", o.stderr);
    assert!(
        o.stdout.contains("acme  cron `*/15 * * * *`") && o.stdout.contains("acme-oauth  every 1h"),
        "{}",
        o.stdout
    );

    let cron = read("cronjob.yaml");
    let job = &cron["spec"]["jobTemplate"]["spec"];
    let c = &job["template"]["spec"]["containers"][0];
    let args = with_config(c["args"].as_array().unwrap());
    assert_eq!(args[0], "run");
    let o = common::output(common::jirapipe().arg("validate").arg(&args[1]).envs(env));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let codes = &job["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"];
    assert_eq!(*codes, serde_json::json!([2, 3]), "bad input and a busy lease are not retried");
}

/// The image, where podman exists: built from deploy/Containerfile, its binary run from the
/// exported root filesystem (this machine cannot start containers).
#[test]
fn the_container_image_builds_and_its_binary_runs() {
    let Some(podman) = ["/usr/bin/podman", "/usr/local/bin/podman"].into_iter().find(|p| Path::new(p).exists()) else {
        eprintln!(
            "SKIPPED the_container_image_builds_and_its_binary_runs: podman is not installed (apt-get install podman); \
             the image's build is not tested here"
        );
        return;
    };
    let tag = "localhost/jirapipe-test:latest";
    let mut build = Command::new(podman);
    build.args(["build", "-f"]).arg(deploy("Containerfile")).args(["-t", tag]);
    for (arg, var) in [("RUST_IMAGE", "JIRAPIPE_RUST_IMAGE"), ("RUNTIME_IMAGE", "JIRAPIPE_RUNTIME_IMAGE")] {
        if let Ok(image) = std::env::var(var) {
            build.arg("--build-arg").arg(format!("{arg}={image}"));
        }
    }
    let o = common::output(build.arg(common::root()));
    assert_eq!(o.code, Some(0), "podman build:\n{}{}", o.stdout, o.stderr);
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let container = common::output(Command::new(podman).args(["create", tag]));
    assert_eq!(container.code, Some(0), "{}", container.stderr);
    let id = container.stdout.trim().to_string();
    let tar = dir.path().join("rootfs.tar");
    let o = common::output(Command::new(podman).args(["export", "-o"]).arg(&tar).arg(&id));
    let _ = Command::new(podman).args(["rm", &id]).output();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(&rootfs).status().unwrap().success());
    assert!(!rootfs.join("bin/sh").exists(), "no shell in the image");
    assert!(rootfs.join("etc/ssl/certs/ca-certificates.crt").exists(), "CA certificates");
    let inspect = common::output(Command::new(podman).args(["image", "inspect", "--format", "{{.Config.User}}", tag]));
    assert_eq!(inspect.stdout.trim(), "65532:65532", "a non-root user");
    // The image's binary on the image's own loader and libraries.
    let run = |args: &[&str]| {
        let mut c = Command::new(rootfs.join("lib64/ld-linux-x86-64.so.2"));
        c.arg("--library-path").arg(format!("{0}/lib/x86_64-linux-gnu:{0}/usr/lib/x86_64-linux-gnu", rootfs.display()));
        c.arg(rootfs.join("usr/local/bin/jirapipe")).args(args).envs(OFFLINE_ENV);
        common::output(&mut c)
    };
    let version = run(&["--version"]);
    assert_eq!(version.code, Some(0), "{}", version.stderr);
    assert_eq!(version.stdout.trim(), format!("jirapipe {}", env!("CARGO_PKG_VERSION")));
    let example = rootfs.join("usr/share/jirapipe/pipelines/cloud.yaml");
    let validate = run(&["validate", &example.display().to_string()]);
    assert_eq!(validate.code, Some(0), "{}", validate.stderr);
    let _ = Command::new(podman).args(["rmi", tag]).output();
}
