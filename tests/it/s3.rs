//! Tables on a real S3-compatible server (moto_server on 127.0.0.1, installed by the project's
//! test venv): full refresh, incremental merge, deletes and `_runs`, read back by Python
//! `deltalake` straight from S3 and compared with the simulator.

use jira_sim::RunningSim;

use crate::common::s3::MotoServer;
use crate::common::{self, PipelineYaml};

fn run(sim: &RunningSim, s3: &MotoServer, file: &std::path::Path) -> std::process::Output {
    common::jirapipe_for(sim).arg("run").arg(file).envs(s3.options()).output().unwrap()
}

/// The rows of `table` as Python `deltalake` reads them straight from the bucket.
fn read(s3: &MotoServer, table: &str) -> Vec<serde_json::Value> {
    common::read_delta(format!("s3://lake/jira/{table}"), &s3.options()).1
}

#[tokio::test(flavor = "multi_thread")]
async fn full_incremental_and_deletes_on_a_local_s3_server() {
    let s3 = MotoServer::start();
    s3.create_bucket("lake");
    let sim = common::sim_with_issues(700).await;
    let dir = tempfile::tempdir().unwrap();
    let objects =
        "  issues: {fields: {include: [summary, updated, status]}, reconcile_every: 0s}\n  projects: {}\n  users: {}";
    let pipeline = PipelineYaml::new("s3", objects).source("requests_per_second", "500").url("s3://lake/jira");
    let file = pipeline.write(dir.path(), "s3.yaml");

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
