//! The `issue_changelog` table against the simulator's truth, read back by the Python reader:
//! every history item of every issue, on Cloud (changelog bulk fetch) and Data Center
//! (`expand=changelog`), after a first load and after incremental runs with edits — including
//! an issue with more histories than search's `expand=changelog` keeps on Cloud.

use std::collections::BTreeMap;
use std::time::Duration;

use jira_sim::{DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::jira::RetryConfig;

use crate::common::pipeline::{API_TOKEN, PAT, PipelineYaml, sim_vars};
use crate::common::{self, object, python_rows};

fn retry() -> RetryConfig {
    RetryConfig { max_attempts: 4, base_backoff: Duration::from_millis(10), ..RetryConfig::default() }
}

/// (issue id, history id, item index) → (field id, from string, to string, created µs), as the
/// simulator stores every history of every visible issue.
type Items = BTreeMap<String, (String, String, Option<String>, Option<String>, i64)>;

fn truth(sim: &RunningSim) -> Items {
    let mut out = Items::new();
    for (id, ..) in sim.visible_issues() {
        for h in sim.histories(id) {
            let created = chrono::DateTime::parse_from_str(h["created"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.3f%z")
                .unwrap()
                .timestamp_micros();
            for (n, item) in h["items"].as_array().unwrap().iter().enumerate() {
                let text = |k: &str| item[k].as_str().map(str::to_string);
                out.insert(
                    format!("{}/{n}", h["id"].as_str().unwrap()),
                    (id.to_string(), text("fieldId").unwrap(), text("fromString"), text("toString"), created),
                );
            }
        }
    }
    out
}

fn table(dir: &std::path::Path) -> Items {
    let (schema, rows) = python_rows(dir, "issue_changelog");
    assert_eq!(schema["types"]["created"], "timestamp[us, tz=UTC]");
    rows.iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().map(str::to_string);
            let key = format!("{}/{}", r["history_id"].as_str().unwrap(), r["item_index"].as_f64().unwrap());
            assert_eq!(r["id"].as_str().unwrap(), key, "the key is history/item");
            (
                key,
                (
                    text("issue_id").unwrap(),
                    text("field_id").unwrap(),
                    text("from_string"),
                    text("to_string"),
                    r["created"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_history_item_of_every_issue_first_load_and_incremental() {
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let data = DatasetConfig { issues: 400, ..Default::default() };
        let sim = RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = PipelineYaml::new("c", "  changelog: {}")
            .deployment(deployment)
            .auth(auth)
            .load(dir.path(), &sim_vars(&sim));
        let report = common::run(&p, retry()).await;
        let o = object(&report, "changelog");
        assert!(o.error.is_none(), "{deployment}: {o:?}");
        assert!(o.table.trim_end_matches('/').ends_with("/issue_changelog"), "{}", o.table);
        let first = table(dir.path());
        assert!(first.len() > 400, "{deployment}: {} items", first.len());
        assert_eq!(first, truth(&sim), "{deployment}: first load");

        // Edits: one issue gets more histories than Cloud's search expansion keeps (100).
        sim.edit_issues(10, 7, 20);
        for _ in 0..110 {
            sim.edit_issues(3, 1, 1);
        }
        let report = common::run(&p, retry()).await;
        assert!(object(&report, "changelog").error.is_none(), "{deployment}: {report:?}");
        let after = table(dir.path());
        assert_eq!(after, truth(&sim), "{deployment}: after edits (no duplicates, nothing missing)");
        let busy = after.values().filter(|v| v.0 == "10003").count();
        assert!(busy > 200, "{deployment}: issue 10003 keeps all of its {busy} items");
        sim.shutdown().await;
    }
}
