//! Tables on a real S3-compatible server (moto_server on 127.0.0.1, installed by the project's
//! test venv): full refresh, incremental merge, deletes and `_runs`, read back by Python
//! `deltalake` straight from S3 and compared with the simulator.

mod common;

use jira_sim::RunningSim;

const PIPELINE: &str = "version: 1\nname: s3\nsource:\n  site: ${SITE}\n  requests_per_second: 500\n  auth:\n    type: api_token\n    email: ${EMAIL}\n    token: ${TOKEN}\ndestination:\n  url: s3://lake/jira\nobjects:\n  issues: {fields: {include: [summary, updated, status]}, reconcile_every: 0s}\n  projects: {}\n  users: {}\n";

fn run(sim: &RunningSim, s3: &common::s3::MotoServer, file: &std::path::Path) -> std::process::Output {
    let mut c = common::jirapipe();
    c.arg("run").arg(file);
    c.env("SITE", sim.base_url()).env("EMAIL", sim.email()).env("TOKEN", sim.api_token());
    for (k, v) in s3.options() {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn read(s3: &common::s3::MotoServer, table: &str) -> Vec<serde_json::Value> {
    let mut c = std::process::Command::new(common::python());
    c.arg(common::root().join("tests/read_delta.py")).arg(format!("s3://lake/jira/{table}"));
    for (k, v) in s3.options() {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "python could not read {table} from S3:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn full_incremental_and_deletes_on_a_local_s3_server() {
    let s3 = common::s3::MotoServer::start();
    s3.create_bucket("lake");
    let sim = common::sim_with_issues(700).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s3.yaml");
    std::fs::write(&file, PIPELINE).unwrap();

    let out = run(&sim, &s3, &file);
    assert!(out.status.success(), "first run failed:\n{}", String::from_utf8_lossy(&out.stderr));
    sim.edit_issues(5, 50, 9);
    sim.delete_issues(&[10_007]);
    let out = run(&sim, &s3, &file);
    assert!(out.status.success(), "second run failed:\n{}", String::from_utf8_lossy(&out.stderr));

    let rows = read(&s3, "issues");
    let live: Vec<(String, i64)> = rows
        .iter()
        .filter(|r| r["_deleted_at"].is_null())
        .map(|r| (r["id"].as_str().unwrap().to_string(), r["updated"].as_i64().unwrap()))
        .collect();
    let mut want: Vec<(String, i64)> =
        sim.visible_issues().into_iter().map(|(id, _, ms)| (id.to_string(), ms * 1000)).collect();
    want.sort();
    assert_eq!(live, want, "live rows equal the simulator's issues");
    let gone: Vec<&str> =
        rows.iter().filter(|r| !r["_deleted_at"].is_null()).map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(gone, ["10007"], "the deleted issue is soft-deleted");
    assert_eq!(read(&s3, "projects").len(), 5);
    assert_eq!(read(&s3, "users").len(), 40);
    assert_eq!(read(&s3, "_runs").len(), 6, "two runs of three objects");
}
