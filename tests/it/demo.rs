//! `jirapipe demo` end to end: simulator over HTTP → Delta tables → read back by two
//! independent readers and compared value by value with what the simulator serves.

use chrono::NaiveDate;
use deltalake::arrow::array::{Array, AsArray};
use deltalake::arrow::compute::concat_batches;
use deltalake::arrow::datatypes::{Date32Type, Float64Type, TimestampMicrosecondType};
use std::collections::BTreeMap;

use jira_sim::{Behaviour, Dataset, DatasetConfig, RunningSim, SimConfig};
use serde_json::{Value, json};

use crate::analytics::truth::Truth;
use crate::common;

const ISSUES: u64 = 321;

/// The rows the simulator holds, in the form the tables should carry them.
fn expected() -> Vec<Value> {
    let d = Dataset::new(DatasetConfig { issues: ISSUES, ..Default::default() }, "http://unused");
    (0..ISSUES)
        .map(|i| {
            let f = d.issue_fields(i);
            let summary = f["summary"].as_str().unwrap();
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
            json!({
                "id": Dataset::issue_id(i).to_string(),
                "key": d.issue_key(i),
                "summary": summary,
                "updated": d.updated_ms(i) * 1000,
                "created": d.created_ms(i) * 1000,
                "customfield_10016": f["customfield_10016"],
                "labels": f["labels"],
                "description": common::description_text(&d, i, false),
                "customfield_10031": f["customfield_10031"],
                "customfield_10031_days": f["customfield_10031"]
                    .as_str()
                    .map(|s| (NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap() - epoch).num_days()),
                "status": f["status"]["name"],
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_writes_the_simulators_issues_and_both_readers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        common::jirapipe().args(["demo", "--issues", &ISSUES.to_string(), "--dir"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let issues_dir = dir.path().join("issues");
    assert!(stdout.contains(&format!("{}", issues_dir.display())), "demo must say where the tables are:\n{stdout}");
    assert!(stdout.contains("delta_scan("), "demo must show a query:\n{stdout}");

    let want = expected();

    // 1. deltalake's own reader.
    let url = url::Url::from_directory_path(&issues_dir).unwrap();
    let batches = common::read_with_rust(&url).await;
    let batch = concat_batches(&batches[0].schema(), &batches).unwrap();
    assert_eq!(batch.num_rows() as u64, ISSUES);
    let col = |name: &str| batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    let (ids, keys, summaries) = (col("id"), col("key"), col("summary"));
    let (updated, created, points) = (col("updated"), col("created"), col("customfield_10016"));
    let (labels, description, review, status) =
        (col("labels"), col("description"), col("customfield_10031"), col("status"));
    for (r, w) in want.iter().enumerate() {
        assert_eq!(ids.as_string::<i32>().value(r), w["id"], "row {r}");
        assert_eq!(keys.as_string::<i32>().value(r), w["key"]);
        assert_eq!(summaries.as_string::<i32>().value(r), w["summary"]);
        assert_eq!(updated.as_primitive::<TimestampMicrosecondType>().value(r), w["updated"].as_i64().unwrap());
        assert_eq!(created.as_primitive::<TimestampMicrosecondType>().value(r), w["created"].as_i64().unwrap());
        let p = points.as_primitive::<Float64Type>();
        assert_eq!(p.is_valid(r).then(|| p.value(r)), w["customfield_10016"].as_f64(), "points row {r}");
        let l = labels.as_list::<i32>();
        let got: Vec<String> = l.value(r).as_string::<i32>().iter().map(|s| s.unwrap().to_string()).collect();
        assert_eq!(json!(got), w["labels"]);
        let d = description.as_string::<i32>();
        assert_eq!(d.is_valid(r).then(|| d.value(r)), w["description"].as_str());
        let rv = review.as_primitive::<Date32Type>();
        assert_eq!(rv.is_valid(r).then(|| rv.value(r) as i64), w["customfield_10031_days"].as_i64());
        let s = status.as_struct().column_by_name("name").unwrap().as_string::<i32>().value(r).to_string();
        assert_eq!(json!(s), w["status"]);
    }
    let run_ids = col("_run_id");
    let run_id = run_ids.as_string::<i32>().value(0).to_string();
    assert!((0..batch.num_rows()).all(|r| run_ids.as_string::<i32>().value(r) == run_id));

    // 2. Python deltalake, which shares no code with jirapipe's writer.
    let (schema, rows) = common::read_with_python(&issues_dir);
    assert_eq!(schema["types"]["updated"], "timestamp[us, tz=UTC]");
    assert_eq!(schema["types"]["customfield_10016"], "double");
    assert_eq!(schema["types"]["customfield_10031"], "date32[day]");
    assert_eq!(rows.len() as u64, ISSUES);
    for (row, w) in rows.iter().zip(&want) {
        for k in ["id", "key", "summary", "updated", "created", "labels", "description", "customfield_10031"] {
            assert_eq!(row[k], w[k], "python: {k} of {}", w["id"]);
        }
        assert_eq!(row["customfield_10016"].as_f64(), w["customfield_10016"].as_f64());
        assert_eq!(row["status"]["name"], w["status"], "python reads status as a struct");
        assert_eq!(row["_run_id"], json!(run_id));
    }

    // The fields table maps custom field ids to names.
    let (_, fields) = common::read_with_python(&dir.path().join("fields"));
    let story = fields.iter().find(|f| f["id"] == "customfield_10016").expect("story points field");
    assert_eq!(story["name"], "Story Points");
    assert_eq!(story["column_type"], "double");

    // The answer it ends with: the median cycle time per issue type, as the site's own
    // histories give it; and the dbt project, generated for these tables.
    let sim = RunningSim::start(SimConfig {
        data: DatasetConfig { issues: ISSUES, ..Default::default() },
        behaviour: Behaviour { api_user_is_admin: true, ..Default::default() },
        ..Default::default()
    })
    .await
    .unwrap();
    let truth = Truth::read(&sim, chrono::Utc::now().timestamp_millis());
    let mut by_type: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for c in truth.issue_cycle_time() {
        if let Some(s) = c["cycle_time_seconds"].as_f64() {
            by_type.entry(c["issue_type"].as_str().unwrap().to_string()).or_default().push(s / 86_400.0);
        }
    }
    assert!(by_type.len() >= 3, "{by_type:?}");
    for (kind, mut days) in by_type {
        days.sort_by(f64::total_cmp);
        let n = days.len();
        let median = if n % 2 == 1 { days[n / 2] } else { (days[n / 2 - 1] + days[n / 2]) / 2.0 };
        let line = format!("  {kind:<10} {median:>6.1} days  ({n} issues)");
        assert!(stdout.contains(&line), "the demo's answer lacks `{line}`:\n{stdout}");
    }
    assert!(stdout.contains("Median cycle time (first In Progress to the first Done after it), per issue type:"));
    let project = dir.path().join("analytics");
    assert!(stdout.contains(&format!("cd {} && ", project.display())), "{stdout}");
    for file in ["dbt_project.yml", "models/marts/sprint_report.sql", "generated/models/stg_jira__issues.sql"] {
        assert!(project.join(file).is_file(), "no {file} in the demo's dbt project");
    }
}

#[test]
fn a_second_demo_run_replaces_full_refresh_tables_and_leaves_unchanged_issues_alone() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = common::jirapipe().args(["demo", "--issues", "40", "--dir"]).arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let commits = |table: &str| common::commits(&dir.path().join(table));
    // Full refresh: one new version per run, replacing the rows.
    assert_eq!(commits("projects"), ["00000000000000000000.json", "00000000000000000001.json"]);
    let (_, rows) = common::read_with_python(&dir.path().join("projects"));
    assert_eq!(rows.len(), 5, "full refresh must replace, not append");
    // Incremental issues with nothing changed since: no new commit at all.
    assert_eq!(commits("issues"), ["00000000000000000000.json"]);
    let (_, rows) = common::read_with_python(&dir.path().join("issues"));
    assert_eq!(rows.len(), 40);
}
