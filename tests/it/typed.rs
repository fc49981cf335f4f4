//! Jira's stable objects as typed columns: `timetracking`, `progress`, `aggregateprogress`,
//! `votes`, `watches`, `subtasks` and `attachment` read back by the Python reader value by value
//! against the simulator, on Cloud and Data Center; a table written when they were JSON text
//! keeps its text without a drift warning; and `comment`/`worklog` are left out of a new issues
//! table when `comments`/`worklogs` are in the pipeline.

use std::time::Duration;

use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::jira::RetryConfig;
use jirapipe::transform::columns::parse_jira_instant;
use serde_json::Value;

use crate::common::pipeline::{API_TOKEN, PAT, PipelineYaml, sim_vars};
use crate::common::{self, object, python_rows};

const TYPED: &str = "timetracking, progress, aggregateprogress, votes, watches, subtasks, attachment";

fn retry() -> RetryConfig {
    RetryConfig { max_attempts: 4, base_backoff: Duration::from_millis(10), ..RetryConfig::default() }
}

async fn site(flavor: Flavor) -> RunningSim {
    let data = DatasetConfig { issues: 200, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, behaviour: Behaviour::default(), ..Default::default() }).await.unwrap()
}

fn yaml(flavor: Flavor, objects: &str) -> PipelineYaml {
    let (deployment, auth) = match flavor {
        Flavor::Cloud => ("cloud", API_TOKEN),
        Flavor::DataCenter => ("data_center", PAT),
    };
    PipelineYaml::new("typed", objects).deployment(deployment).auth(auth)
}

/// `v[k]` as Jira sent it, or null.
fn at<'v>(v: &'v Value, path: &[&str]) -> &'v Value {
    path.iter().fold(v, |v, k| &v[*k])
}

#[tokio::test(flavor = "multi_thread")]
async fn stable_objects_are_typed_columns_equal_to_what_jira_sent() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = site(flavor).await;
        let dir = tempfile::tempdir().unwrap();
        let objects = format!("  issues: {{sync: full_refresh, fields: {{include: [{TYPED}]}}}}");
        let p = yaml(flavor, &objects).load(dir.path(), &sim_vars(&sim));
        let report = common::run(&p, retry()).await;
        assert_eq!(object(&report, "issues").rows_with_rejected_fields, 0, "{flavor:?}");
        let (schema, rows) = python_rows(dir.path(), "issues");
        for field in TYPED.split(", ") {
            let ty = schema["types"][field].as_str().unwrap();
            assert!(ty.starts_with("struct<") || ty.starts_with("list<"), "{flavor:?} {field}: {ty}");
        }
        assert!(schema["types"]["votes"].as_str().unwrap().contains("votes: int64"), "{}", schema["types"]["votes"]);
        let (mut subtasks, mut attachments) = (0, 0);
        for r in &rows {
            let id: u64 = r["id"].as_str().unwrap().parse().unwrap();
            let truth = Value::Object(sim.issue_fields(id).unwrap());
            for k in ["originalEstimateSeconds", "remainingEstimateSeconds", "timeSpentSeconds", "timeSpent"] {
                assert_eq!(r["timetracking"][k], truth["timetracking"][k], "{flavor:?} {id} timetracking.{k}");
            }
            for (field, k) in [("progress", "progress"), ("progress", "total"), ("aggregateprogress", "percent")] {
                assert_eq!(r[field][k], truth[field][k], "{flavor:?} {id} {field}.{k}");
            }
            assert_eq!(r["votes"]["votes"], truth["votes"]["votes"], "{id}");
            assert_eq!(r["votes"]["hasVoted"], truth["votes"]["hasVoted"], "{id}");
            assert_eq!(r["watches"]["watchCount"], truth["watches"]["watchCount"], "{id}");
            assert_eq!(r["watches"]["isWatching"], truth["watches"]["isWatching"], "{id}");
            let want = truth["subtasks"].as_array().unwrap();
            let got = r["subtasks"].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{flavor:?} {id} subtasks");
            for (g, w) in got.iter().zip(want) {
                for path in [&["id"][..], &["key"], &["fields", "summary"], &["fields", "status", "id"]] {
                    assert_eq!(at(g, path), at(w, path), "{flavor:?} {id} subtask {path:?}");
                }
                subtasks += 1;
            }
            let want = truth["attachment"].as_array().unwrap();
            let got = r["attachment"].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{flavor:?} {id} attachments");
            for (g, w) in got.iter().zip(want) {
                for k in ["id", "filename", "mimeType"] {
                    assert_eq!(g[k], w[k], "{flavor:?} {id} attachment.{k}");
                }
                assert_eq!(g["size"].as_i64(), w["size"].as_i64(), "{id}");
                assert_eq!(g["created"].as_i64(), parse_jira_instant(&w["created"]), "{id}");
                let who = if flavor == Flavor::Cloud { "accountId" } else { "name" };
                assert_eq!(g["author"][who], w["author"][who], "{flavor:?} {id} attachment author");
                attachments += 1;
            }
        }
        assert!(subtasks > 0 && attachments > 0, "{flavor:?}: the site has both ({subtasks}, {attachments})");
    }
}

/// An incremental table written when `votes` was JSON text keeps its text (the values still
/// arrive, as JSON) and no drift is reported; a new issues table leaves `comment` and `worklog` out while
/// `comments` and `worklogs` are in the pipeline, and keeps them when named.
#[tokio::test(flavor = "multi_thread")]
async fn json_tables_keep_their_text_and_embedded_pages_are_left_to_their_objects() {
    let sim = site(Flavor::Cloud).await;
    let dir = tempfile::tempdir().unwrap();
    // The table as an older jirapipe wrote it: `votes` as JSON text.
    let table = dir.path().join("lake/issues");
    let write = std::process::Command::new(common::python())
        .arg("-c")
        .arg(
            "import sys, pyarrow as pa; from deltalake import write_deltalake\n\
             t = pa.table({'id': pa.array(['10000'], pa.string()), 'key': ['DATA-1'], 'votes': ['{\"votes\": 0}']})\n\
             write_deltalake(sys.argv[1], t)",
        )
        .arg(&table)
        .output()
        .unwrap();
    assert!(write.status.success(), "{}", String::from_utf8_lossy(&write.stderr));
    let p = yaml(Flavor::Cloud, "  issues: {fields: {include: [votes, summary]}}").load(dir.path(), &sim_vars(&sim));
    let report = common::run(&p, retry()).await;
    let o = object(&report, "issues");
    assert!(o.warnings.iter().all(|w| !w.message.contains("in Jira now")), "{:?}", o.warnings);
    assert_eq!(o.rows_with_rejected_fields, 0);
    let (schema, rows) = python_rows(dir.path(), "issues");
    assert_eq!(schema["types"]["votes"], "string");
    let votes: Value = serde_json::from_str(rows[0]["votes"].as_str().unwrap()).unwrap();
    let truth = sim.issue_fields(rows[0]["id"].as_str().unwrap().parse().unwrap()).unwrap();
    assert_eq!(votes["votes"], truth["votes"]["votes"], "the value as JSON text");

    let both = "  issues: {}\n  comments: {}\n  worklogs: {}";
    let dir = tempfile::tempdir().unwrap();
    common::run(&yaml(Flavor::Cloud, both).load(dir.path(), &sim_vars(&sim)), retry()).await;
    let (schema, _) = python_rows(dir.path(), "issues");
    let columns: Vec<&str> = schema["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(!columns.contains(&"comment") && !columns.contains(&"worklog"), "{columns:?}");
    assert!(columns.contains(&"issuelinks"), "issue links stay: issue_links reads them from there");
    let named = "  issues: {fields: {include: [summary, comment]}}\n  comments: {}";
    let dir = tempfile::tempdir().unwrap();
    common::run(&yaml(Flavor::Cloud, named).load(dir.path(), &sim_vars(&sim)), retry()).await;
    let (schema, _) = python_rows(dir.path(), "issues");
    assert!(schema["columns"].as_array().unwrap().iter().any(|c| c == "comment"), "named, it is kept");
}
