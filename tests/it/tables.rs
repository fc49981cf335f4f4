//! The tables as analysts read them: typed struct and list columns, keyed hashes (recomputed
//! independently in Python), each schema-drift policy, `_rejects` and `_runs`. Every table is
//! read back with Python `deltalake`, which shares no code with jirapipe.

use std::path::Path;
use std::process::Command;

use jira_sim::{RunningSim, SimConfig};
use jirapipe::config::Pipeline;
use jirapipe::jira::RetryConfig;
use jirapipe::runner::{self, RunReport};
use serde_json::{Value, json};

use crate::common::{self, PipelineYaml, object, python_rows, sim_vars};

const KEY: &str = "a-long-random-masking-key";

/// The suite's pipeline, with a masking key: `objects` from `${JIRA_SITE}` into `lake`.
fn yaml(objects: &str) -> PipelineYaml {
    PipelineYaml::new("t", objects).source("requests_per_second", "500").section("masking", "  key: ${JIRA_MASK_KEY}")
}

fn load(p: &PipelineYaml, sim: &RunningSim, dir: &Path) -> Pipeline {
    p.load(dir, &sim_vars(sim).with("JIRA_MASK_KEY", KEY))
}

fn pipeline(sim: &RunningSim, dir: &Path, objects: &str) -> Pipeline {
    load(&yaml(objects), sim, dir)
}

async fn run(p: &Pipeline) -> RunReport {
    common::run(p, RetryConfig::default()).await
}

/// HMAC-SHA256 hex of each value with Python's standard library.
fn python_hmac(values: &[&str]) -> Vec<String> {
    let script = "import hmac, hashlib, json, sys\nkey = sys.argv[1].encode()\
        \nfor v in json.load(sys.stdin):\
        \n    print(hmac.new(key, v.encode(), hashlib.sha256).hexdigest())";
    let mut child = Command::new(common::python())
        .args(["-c", script, KEY])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(json!(values).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn struct_columns_and_keyed_hashes_as_python_reads_them() {
    let sim = common::sim_with_issues(80).await;
    let dir = tempfile::tempdir().unwrap();
    let objects = "  issues:\n    hash: [assignee.emailAddress, \"customfield_10039[].emailAddress\"]\
        \n  users: {hash: [emailAddress]}";
    run(&pipeline(&sim, dir.path(), objects)).await;

    let (schema, rows) = python_rows(dir.path(), "issues");
    let types = &schema["types"];
    assert!(
        types["status"].as_str().unwrap().starts_with("struct<id: string, name: string, statusCategory: struct<"),
        "{types}"
    );
    assert!(types["assignee"].as_str().unwrap().contains("emailAddress: string"), "{types}");
    assert!(types["customfield_10039"].as_str().unwrap().starts_with("list<element: struct<accountId"), "{types}");
    assert!(types["customfield_10020"].as_str().unwrap().contains("startDate: timestamp[us, tz=UTC]"), "{types}");
    assert_eq!(
        types["customfield_10038"].as_str().unwrap(),
        "struct<id: string, value: string, child: struct<id: string, value: string>>"
    );
    assert_eq!(types["created"], "timestamp[us, tz=UTC]");
    assert_eq!(types["customfield_10031"], "date32[day]");

    let d = sim.dataset();
    let mut plain = Vec::new();
    let mut hashed = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let truth = d.issue_fields(i as u64);
        assert_eq!(row["id"], json!((10_000 + i).to_string()));
        assert_eq!(row["status"]["name"], truth["status"]["name"]);
        assert_eq!(row["status"]["statusCategory"]["key"], truth["status"]["statusCategory"]["key"]);
        assert_eq!(row["customfield_10038"]["child"]["value"], truth["customfield_10038"]["child"]["value"]);
        if let Some(email) = truth["assignee"]["emailAddress"].as_str() {
            plain.push(email.to_string());
            hashed.push(row["assignee"]["emailAddress"].as_str().unwrap().to_string());
            assert_eq!(row["assignee"]["displayName"], truth["assignee"]["displayName"], "only the path is hashed");
        } else {
            assert!(row["assignee"].is_null() || row["assignee"]["emailAddress"].is_null(), "nulls stay null");
        }
        for (k, u) in truth["customfield_10039"].as_array().into_iter().flatten().enumerate() {
            if let Some(email) = u["emailAddress"].as_str() {
                plain.push(email.to_string());
                hashed.push(row["customfield_10039"][k]["emailAddress"].as_str().unwrap().to_string());
            }
        }
    }
    assert!(plain.len() > 40, "enough hashed values to mean something");
    let refs: Vec<&str> = plain.iter().map(String::as_str).collect();
    assert_eq!(hashed, python_hmac(&refs), "hashes equal HMAC-SHA256 computed independently");

    // The same person hashes the same in `users`, so the tables still join.
    let (_, users) = python_rows(dir.path(), "users");
    let user_hashes: Vec<&str> = users.iter().filter_map(|u| u["emailAddress"].as_str()).collect();
    assert!(hashed.iter().all(|h| user_hashes.contains(&h.as_str())));
    let raw = std::fs::read_dir(dir.path().join("lake/users")).unwrap().count();
    assert!(raw > 1);

    // `_runs` has one row per object of the run.
    let (_, runs) = python_rows(dir.path(), "_runs");
    let mut objects: Vec<&str> = runs.iter().map(|r| r["object"].as_str().unwrap()).collect();
    objects.sort();
    assert_eq!(objects, ["issues", "users"]);
    assert!(runs.iter().all(|r| r["status"] == "ok"));
    assert_eq!(runs.iter().find(|r| r["object"] == "issues").unwrap()["rows_written"], 80.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_hash_path_is_a_config_error_before_anything_is_written() {
    let sim = RunningSim::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "  issues: {hash: [assignee.email]}");
    let e = runner::run(&p, RetryConfig::default()).await.unwrap_err();
    assert!(e.is_config(), "{e}");
    assert!(e.to_string().contains("emailAddress"), "the message lists the fields: {e}");
    assert!(!dir.path().join("lake/issues/_delta_log").exists());
}

/// Runs, adds a custom field on the site, edits issues, runs again under `policy`.
async fn drift_run(policy: &str) -> (tempfile::TempDir, RunningSim, Pipeline, String, Result<RunReport, String>) {
    let sim = common::sim_with_issues(60).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        &sim,
        dir.path(),
        &format!("  issues: {{schema_drift: {policy}, fields: {{exclude: [description]}}}}"),
    );
    run(&p).await;
    let field = sim.add_custom_field("Risk Score", "number");
    sim.edit_issues(0, 1, 5);
    let second = runner::run(&p, RetryConfig::default()).await.map_err(|e| e.to_string());
    (dir, sim, p, field, second)
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_auto_sync_adds_the_new_field_as_a_column() {
    let (dir, _sim, _p, field, second) = drift_run("auto_sync").await;
    let report = second.unwrap();
    assert!(object(&report, "issues").warnings.iter().any(|w| w.message.contains("Risk Score")));
    let (schema, rows) = python_rows(dir.path(), "issues");
    assert_eq!(schema["types"][&field], "double");
    // The edited issues carry the new field; the others (not re-read) have null.
    assert_eq!(rows.iter().filter(|r| r[&field].is_number()).count(), 5);
    assert_eq!(rows.len(), 60);
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_block_keeps_the_columns_and_reports_the_field() {
    let (dir, _sim, _p, field, second) = drift_run("block").await;
    let report = second.unwrap();
    let w = &object(&report, "issues").warnings;
    assert!(w.iter().any(|w| w.message.contains(&field) && w.message.contains("schema_drift: block")), "{w:?}");
    let (schema, rows) = python_rows(dir.path(), "issues");
    assert!(schema["types"].get(&field).is_none());
    assert_eq!(object(&report, "issues").rows_written, 5);
    assert_eq!(rows.len(), 60);
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_fail_stops_before_anything_is_written() {
    let (dir, _sim, _p, field, second) = drift_run("fail").await;
    let e = second.unwrap_err();
    assert!(e.contains(&field) && e.contains("schema_drift: fail"), "{e}");
    assert_eq!(common::versions(dir.path(), "issues"), 1, "the table is untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_whose_type_changes_nulls_its_values_and_records_them_in_rejects() {
    let (dir, sim, p, field, second) = drift_run("auto_sync").await;
    second.unwrap();
    // The field becomes text in Jira; the table column stays double.
    sim.retype_field(&field, "string");
    sim.edit_issues(10, 1, 4);
    let third = run(&p).await;
    let issues = object(&third, "issues");
    // The four edits, and the five from the previous run still inside the lookback window: each
    // row is written (its other fields up to date) with the value that no longer fits null.
    let counts = (issues.rows_written, issues.rows_rejected, issues.rows_with_rejected_fields);
    assert_eq!(counts, (9, 0, 9), "{issues:?}");
    assert!(issues.warnings.iter().any(|w| w.message.contains(&field) && w.message.contains("double")));
    let (schema, rows) = python_rows(dir.path(), "issues");
    assert_eq!(schema["types"][&field], "double", "never coerced");
    let (_, rejects) = python_rows(dir.path(), "_rejects");
    assert_eq!(rejects.len(), 9);
    for r in &rejects {
        assert_eq!((&r["object"], r["field"].as_str()), (&Value::from("issues"), Some(field.as_str())));
        let raw: Value = serde_json::from_str(r["raw"].as_str().unwrap()).unwrap();
        assert!(raw.is_string(), "the raw value as Jira sent it: {r}");
        let row = rows.iter().find(|row| row["id"] == r["record_id"]).expect("the row is written");
        assert_eq!(row[&field], Value::Null, "{row}");
    }
    let (_, runs) = python_rows(dir.path(), "_runs");
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().any(|r| r["rows_with_rejected_fields"] == 9), "{runs:?}");
}

/// Two deleted issues and a project the API user lost access to, under `deletes: {mode}`.
async fn deletes_run(mode: &str) -> (tempfile::TempDir, RunReport) {
    let sim = common::sim_with_issues(100).await;
    let dir = tempfile::tempdir().unwrap();
    let objects = format!("  issues: {{deletes: {mode}, reconcile_every: 0s, fields: {{include: [summary]}}}}");
    let p = pipeline(&sim, dir.path(), &objects);
    run(&p).await;
    // Issues 10003 (DATA-1) and 10010 (ENG-3) are deleted; project OPS (index 1) becomes invisible.
    assert_eq!(sim.delete_issues(&[10_003, 10_010]), 2);
    let mut b = sim.behaviour();
    b.hidden_projects.insert(1);
    sim.set_behaviour(b);
    sim.edit_issues(20, 1, 1);
    (dir, run(&p).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_incremental_runs_do_not_reconcile_again_until_it_is_due() {
    let sim = common::sim_with_issues(12_000).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "  issues: {fields: {include: [summary]}}");
    run(&p).await;
    let searches = || sim.requests("/rest/api/3/search/jql");
    // The full load counts as reconciled: the next runs search only their window.
    let before = searches();
    run(&p).await;
    assert!(searches() - before <= 2, "{} searches on a quiet run", searches() - before);
    let v = common::versions(dir.path(), "issues");
    let before = searches();
    run(&p).await;
    assert!(searches() - before <= 2, "{} searches on a second quiet run", searches() - before);
    assert_eq!(common::versions(dir.path(), "issues"), v, "a quiet run that did not reconcile commits nothing");

    // Due every run: the id pass (3 pages of 5,000 ids) runs, and is recorded without data.
    let p = pipeline(&sim, dir.path(), "  issues: {fields: {include: [summary]}, reconcile_every: 0s}");
    let before = searches();
    let report = run(&p).await;
    assert!(searches() - before >= 4, "{} searches", searches() - before);
    assert_eq!(object(&report, "issues").rows_written, 0);
    assert_eq!(common::versions(dir.path(), "issues"), v + 1, "the reconciliation is recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn soft_deletes_mark_rows_and_lost_access_is_not_deletion() {
    let (dir, report) = deletes_run("soft").await;
    let issues = object(&report, "issues");
    assert_eq!(issues.rows_deleted, 2, "{issues:?}");
    let lost = issues.warnings.iter().find(|w| w.message.contains("project OPS")).expect("lost access reported");
    assert!(lost.message.contains("20 issues") && lost.fix.contains("Browse Projects"), "{lost:?}");
    let (schema, rows) = python_rows(dir.path(), "issues");
    assert_eq!(schema["types"]["_deleted_at"], "timestamp[us, tz=UTC]");
    assert_eq!(rows.len(), 100);
    assert_eq!(schema["types"]["_deleted_reason"], "string");
    for r in &rows {
        let id: u64 = r["id"].as_str().unwrap().parse().unwrap();
        // Project OPS (index 1) is every fifth issue from 10001.
        let want = match id {
            10_003 | 10_010 => Some("deleted"),
            _ if id % 5 == 1 => Some("lost_access"),
            _ => None,
        };
        assert_eq!(r["_deleted_reason"].as_str(), want, "{id}");
        assert_eq!(r["_deleted_at"].is_null(), want.is_none(), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hard_deletes_remove_rows_but_keep_the_invisible_project() {
    let (dir, report) = deletes_run("hard").await;
    assert_eq!(object(&report, "issues").rows_deleted, 2);
    let (_, rows) = python_rows(dir.path(), "issues");
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 98);
    assert!(!ids.contains(&"10003") && !ids.contains(&"10010"));
    assert!(ids.contains(&"10001"), "OPS-1 is kept: lost access is not deletion");
}

#[tokio::test(flavor = "multi_thread")]
async fn small_files_are_compacted_and_vacuumed_on_schedule() {
    let sim = common::sim_with_issues(50).await;
    let dir = tempfile::tempdir().unwrap();
    let compacted =
        yaml("  issues: {deletes: ignore}").destination("compact_every", "3").destination("vacuum_retention", "1h");
    let p = load(&compacted, &sim, dir.path());
    // `_runs` gains one small file per run; at version 3 (the fourth run) it is compacted.
    for k in 0..4 {
        sim.edit_issues(k * 3, 1, 2);
        run(&p).await;
    }
    let url = url::Url::from_directory_path(dir.path().join("lake/_runs")).unwrap();
    let table = deltalake::open_table(url).await.unwrap();
    let ops: Vec<String> = futures::StreamExt::collect::<Vec<_>>(table.history(None))
        .await
        .into_iter()
        .map(|c| c.unwrap().operation.unwrap_or_default())
        .collect();
    let files = table.snapshot().unwrap().log_data().num_files();
    assert!(ops.iter().any(|o| o == "OPTIMIZE"), "{ops:?}");
    // Vacuum ran too, but every replaced file is younger than the 1h retention: nothing to
    // delete, so it made no commit.
    assert_eq!(files, 1, "four appends compacted into one file");
    let (_, rows) = python_rows(dir.path(), "_runs");
    assert_eq!(rows.len(), 4, "compaction keeps every row");
    // `issues` (versions 0 to 3) was compacted too: its file still has no dictionary for the
    // nearly distinct columns.
    let url = url::Url::from_directory_path(dir.path().join("lake/issues")).unwrap();
    let issues = deltalake::open_table(url).await.unwrap();
    let files: Vec<String> = issues.get_file_uris().unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file =
        url::Url::parse(&files[0]).map(|u| u.to_file_path().unwrap()).unwrap_or_else(|_| files[0].clone().into());
    assert!(!has_dictionary(&file, "summary"));
    assert!(has_dictionary(&file, "status.name"));
}

/// Every table is created with a checkpoint every 10 commits: an open reads at most nine
/// commit files after the checkpoint, not 99 (deltalake's default interval is 100). Both
/// readers read the checkpointed log.
#[tokio::test(flavor = "multi_thread")]
async fn tables_are_checkpointed_every_ten_commits() {
    let sim = common::sim_with_issues(20).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "  issues: {deletes: ignore, fields: {include: [summary]}}");
    // `_runs` gains one commit a run: versions 0 to 10.
    for k in 0..11 {
        sim.edit_issues(k, 1, 1);
        run(&p).await;
    }
    let log = dir.path().join("lake/_runs/_delta_log");
    let checkpoints: Vec<String> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".checkpoint"))
        .collect();
    assert_eq!(checkpoints, ["00000000000000000009.checkpoint.parquet"], "{checkpoints:?}");
    let last: Value = serde_json::from_slice(&std::fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
    assert_eq!(last["version"], 9, "{last}");
    for table in ["_runs", "issues"] {
        let url = url::Url::from_directory_path(dir.path().join("lake").join(table)).unwrap();
        let t = deltalake::open_table(url).await.unwrap();
        let config = t.snapshot().unwrap().metadata().configuration().clone();
        assert_eq!(config.get("delta.checkpointInterval").map(String::as_str), Some("10"), "{table}: {config:?}");
    }
    let (_, rows) = python_rows(dir.path(), "_runs");
    assert_eq!(rows.len(), 11, "the Python reader reads the checkpoint and the commit after it");
}

/// Ids, keys, instants and free text are written without a Parquet dictionary (one would hold
/// every value twice); repeated values such as a status name keep theirs.
#[tokio::test(flavor = "multi_thread")]
async fn nearly_distinct_columns_are_written_without_a_dictionary() {
    let sim = common::sim_with_issues(120).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "  issues:\n    sync: full_refresh");
    run(&p).await;
    let table = dir.path().join("lake/issues");
    let file = std::fs::read_dir(&table)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .expect("a data file");
    let dictionary = |path: &str| has_dictionary(&file, path);
    for plain in ["id", "key", "summary", "description", "created", "updated", "comment"] {
        assert!(!dictionary(plain), "{plain} should have no dictionary");
    }
    for repeated in ["status.name", "priority.name", "_run_id", "_extracted_at"] {
        assert!(dictionary(repeated), "{repeated} should keep its dictionary");
    }
}

/// Whether `column` (a dotted leaf path) of the Parquet file has a dictionary page in any row
/// group.
fn has_dictionary(file: &Path, column: &str) -> bool {
    use deltalake::parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    reader.metadata().row_groups().iter().any(|group| {
        let chunk = group.columns().iter().find(|c| c.column_path().string() == column);
        chunk.unwrap_or_else(|| panic!("no column {column} in {}", file.display())).dictionary_page_offset().is_some()
    })
}
