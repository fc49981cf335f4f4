//! The operator's commands end to end against jira-sim: `run --report`, `state show|reset`.

use std::path::{Path, PathBuf};

use jira_sim::RunningSim;
use serde_json::Value;

use crate::common::{self, Out, PipelineYaml};

fn pipeline() -> PipelineYaml {
    let objects = "  issues: {sync: incremental, fields: {include: [summary, updated]}}\n  projects: {}";
    PipelineYaml::new("ops", objects).source("requests_per_second", "200")
}

fn pipeline_file(dir: &Path) -> PathBuf {
    pipeline().write(dir, "ops.yaml")
}

fn jirapipe(sim: &RunningSim, token: &str, args: &[&str]) -> Out {
    common::output(common::jirapipe_for(sim).args(args).env("JIRA_API_TOKEN", token))
}

fn object<'v>(report: &'v Value, name: &str) -> &'v Value {
    report["objects"].as_array().unwrap().iter().find(|o| o["object"] == name).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_report_to_stdout_and_to_a_file_on_failure() {
    let sim = common::sim_with_issues(300).await;
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file(dir.path());
    let f = file.to_str().unwrap();

    let out = jirapipe(&sim, sim.api_token(), &["run", f, "--report", "-"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // stdout is the report alone; the summary went to stderr.
    let report: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    assert!(out.stderr.contains("issues") && out.stderr.contains("300 rows"), "{}", out.stderr);
    assert_eq!(report["status"], "ok");
    assert_eq!(report["pipeline"], "ops");
    let issues = object(&report, "issues");
    assert_eq!((issues["rows_read"].as_u64(), issues["rows_written"].as_u64()), (Some(300), Some(300)));
    assert_eq!(issues["rows_rejected"], 0);
    assert!(issues["cursor_before"].is_null() && issues["cursor_after"].is_string(), "{issues}");
    assert!(issues["duration_ms"].is_u64() && issues["warnings"].is_array() && issues["skipped"].is_u64());
    let req = &report["requests"];
    assert!(req["requests"].as_u64().unwrap() >= 4 && req["bytes"].as_u64().unwrap() > 1000, "{req}");
    for k in ["retries", "throttled", "server_errors"] {
        assert!(req[k].is_u64(), "{k}: {req}");
    }
    assert!(!out.stdout.contains(sim.api_token()) && !out.stderr.contains(sim.api_token()));

    // A failed run still writes its report, with the reason.
    let path = dir.path().join("reports/failed.json");
    let out = jirapipe(&sim, "wrong-token-value", &["run", f, "--report", path.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["status"], "failed");
    assert!(report["error"].as_str().unwrap().contains("401"), "{report}");
    assert!(!text.contains("wrong-token-value"), "the secret is never written: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_show_and_reset_rewind_the_next_run() {
    let sim = common::sim_with_issues(300).await;
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file(dir.path());
    let f = file.to_str().unwrap();
    let token = sim.api_token().to_string();
    let run = || {
        let out = jirapipe(&sim, &token, &["run", f, "--report", "-"]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        serde_json::from_str::<Value>(&out.stdout).unwrap()
    };

    let out = jirapipe(&sim, &token, &["state", "show", f]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("never") && out.stdout.contains("none (next: full)"), "{}", out.stdout);

    let first = run();
    let cursor = object(&first, "issues")["cursor_after"].as_str().unwrap().to_string();
    let out = jirapipe(&sim, &token, &["state", "show", f]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let issues_line = out.stdout.lines().find(|l| l.starts_with("issues")).unwrap();
    assert!(issues_line.contains(&cursor[..19]), "cursor {cursor} in {issues_line}");
    assert!(issues_line.contains("300") && issues_line.contains("ok"), "{issues_line}");
    assert!(out.stdout.lines().any(|l| l.starts_with("projects") && l.contains("(full refresh)")), "{}", out.stdout);

    // Without --yes and without a terminal, nothing happens.
    let out = jirapipe(&sim, &token, &["state", "reset", f]);
    assert_eq!(out.code, Some(2), "{}", out.stdout);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    let out = jirapipe(&sim, &token, &["state", "reset", f, "--object", "projects", "--yes"]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("no cursor"), "{}", out.stderr);

    // Rewind to the 50 most recently updated issues: the next run starts there (less lookback).
    let from_ms = sim.dataset().updated_ms(250) + 5 * 60 * 1000;
    let to = chrono::DateTime::from_timestamp_millis(from_ms).unwrap();
    let to_text = to.to_rfc3339();
    let out = jirapipe(&sim, &token, &["state", "reset", f, "--object", "issues", "--to", &to_text, "--yes"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("issues: cursor"), "{}", out.stdout);
    let second = run();
    let issues = object(&second, "issues");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(issues["cursor_before"].as_str().unwrap()).unwrap(),
        to,
        "{issues}"
    );
    assert_eq!(issues["rows_written"], 50, "{issues}");

    // Forgetting the cursor: everything again, merged by id (the table keeps 300 rows).
    let out = jirapipe(&sim, &token, &["state", "reset", f, "--yes"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let third = run();
    assert_eq!(object(&third, "issues")["rows_written"], 300);
    let (_, rows) = common::python_rows(dir.path(), "issues");
    assert_eq!(rows.len(), 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_lists_fields_and_its_starter_pipeline_runs_without_edits() {
    let sim = common::sim_with_issues(120).await;
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file(dir.path());
    let f = file.to_str().unwrap();
    let token = sim.api_token().to_string();

    let out = jirapipe(&sim, &token, &["discover", f]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let line = |id: &str| out.stdout.lines().find(|l| l.starts_with("issues") && l.contains(id)).unwrap().to_string();
    assert!(line("customfield_10016").contains("Story Points") && line("customfield_10016").contains("double"));
    assert!(line("customfield_10016").contains("yes"), "custom: {}", line("customfield_10016"));
    assert!(line("assignee").contains("hash: assignee.displayName, assignee.emailAddress"), "{}", line("assignee"));
    assert!(line("customfield_10039").contains("customfield_10039[].emailAddress"), "{}", line("customfield_10039"));
    assert!(line("attachment").contains("attachment[].author.emailAddress"), "{}", line("attachment"));
    assert!(out.stdout.lines().any(|l| l.starts_with("users") && l.contains("emailAddress") && l.contains("hash:")));
    // JSON columns whose insides name people are flagged whole.
    for json in ["comment", "worklog"] {
        let flagged = |l: &&str| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.first() == Some(&"issues") && cells.get(1) == Some(&json) && l.ends_with(&format!("hash: {json}"))
        };
        assert!(out.stdout.lines().any(|l| flagged(&l)), "{json} not flagged:\n{}", out.stdout);
    }
    let object_line = |o: &str, c: &str| out.stdout.lines().any(|l| l.starts_with(o) && l.contains(&format!(" {c} ")));
    for (o, c) in [("comments", "body"), ("comments", "update_author"), ("worklogs", "time_spent_seconds")] {
        assert!(object_line(o, c), "{o}.{c} not listed:\n{}", out.stdout);
    }
    assert!(object_line("issue_lin", "source_issue_id"), "{}", out.stdout);

    // Without a masking block the hashes are suggestions, and the file runs as written.
    let out = jirapipe(&sim, &token, &["discover", f, "--write-pipeline"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("# hash: [\"assignee.displayName\""), "{}", out.stdout);
    let starter = dir.path().join("starter.yaml");
    std::fs::write(&starter, &out.stdout).unwrap();
    let s = starter.to_str().unwrap();
    let out = jirapipe(&sim, &token, &["validate", s]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let out = jirapipe(&sim, &token, &["run", s]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    for o in ["issues", "comments", "worklogs", "issue_links", "projects", "users", "boards", "fields"] {
        assert!(out.stdout.lines().any(|l| l.starts_with(o)), "{o} missing:\n{}", out.stdout);
    }

    // With a masking block the hashes are active, and every suggested path is valid for `run`.
    pipeline().section("masking", "  key: ${JIRA_API_TOKEN}").write(dir.path(), "ops.yaml");
    let out = jirapipe(&sim, &token, &["discover", f, "--write-pipeline"]);
    assert!(out.stdout.contains("\n    hash: [\"assignee.displayName\""), "{}", out.stdout);
    std::fs::write(&starter, &out.stdout).unwrap();
    let out = jirapipe(&sim, &token, &["run", s]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
}
