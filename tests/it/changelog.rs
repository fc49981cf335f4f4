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

/// The simulator's truth for the history rebuilds, in Jira's own shapes (see `tests/history.py`).
fn history_truth(sim: &RunningSim) -> serde_json::Value {
    let issues: Vec<serde_json::Value> = sim
        .visible_issues()
        .into_iter()
        .map(|(id, ..)| {
            let f = sim.issue_fields(id).unwrap();
            serde_json::json!({
                "id": id.to_string(), "created": f["created"], "status": f["status"], "histories": sim.histories(id),
            })
        })
        .collect();
    serde_json::json!({"statuses": sim.dataset().statuses(), "issues": issues})
}

/// Runs `tests/history.py`, which recomputes both rebuilt tables from `sim`'s truth on its own
/// and compares them with what jirapipe wrote under `dir/lake`.
fn python_agrees(sim: &RunningSim, dir: &std::path::Path, case: &str) {
    let truth = dir.join("truth.json");
    std::fs::write(&truth, history_truth(sim).to_string()).unwrap();
    let out = std::process::Command::new(common::python())
        .arg(common::root().join("tests/history.py"))
        .arg(&truth)
        .arg(dir.join("lake"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{case}: the Python rebuild disagrees:\n{text}");
    assert!(text.contains("issue_status_intervals:") && text.contains("issue_field_history:"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_intervals_and_field_history_match_an_independent_rebuild() {
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let data = DatasetConfig { issues: 300, ..Default::default() };
        let sim = RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let objects = "  status_intervals: {}\n  field_history: {}";
        let p = PipelineYaml::new("h", objects).deployment(deployment).auth(auth).load(dir.path(), &sim_vars(&sim));
        let report = common::run(&p, retry()).await;
        assert!(report.error.is_none(), "{deployment}: {report:?}");
        python_agrees(&sim, dir.path(), &format!("{deployment} first load"));

        // Incremental: edits move statuses and summaries; the changed issues are rebuilt.
        sim.edit_issues(5, 11, 20);
        sim.edit_issues(5, 11, 7);
        let report = common::run(&p, retry()).await;
        assert!(report.error.is_none(), "{deployment}: {report:?}");
        assert!(object(&report, "status_intervals").rows_written > 0);
        python_agrees(&sim, dir.path(), &format!("{deployment} after edits"));
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_history_costs_per_ten_thousand_issues() {
    // The figures the README quotes; a change that makes history dearer fails here first.
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let data = DatasetConfig { issues: 10_000, ..Default::default() };
        let sim = RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap();
        let total = |sim: &RunningSim| sim.request_log().iter().map(|(_, _, n)| n).sum::<u64>();
        let mut costs = Vec::new();
        // On Data Center one object shows the cost: all three read the same searches.
        let objects: &[&str] = match flavor {
            Flavor::Cloud => &["changelog", "status_intervals", "field_history"],
            Flavor::DataCenter => &["field_history"],
        };
        for &object in objects {
            let dir = tempfile::tempdir().unwrap();
            let p = PipelineYaml::new("h", &format!("  {object}: {{}}"))
                .deployment(deployment)
                .auth(auth)
                .load(dir.path(), &sim_vars(&sim));
            let before = total(&sim);
            let report = common::run(&p, retry()).await;
            assert!(report.error.is_none(), "{deployment} {object}: {report:?}");
            costs.push((object, total(&sim) - before));
        }
        eprintln!("{deployment}: requests for a first load of 10,000 issues' history: {costs:?}");
        let limit = |object: &str| match (flavor, object) {
            (Flavor::Cloud, "changelog") => 30,
            (Flavor::Cloud, _) => 130,
            _ => 120,
        };
        for (object, n) in costs {
            assert!(n <= limit(object), "{deployment} {object}: {n} requests");
        }
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn user_values_in_history_hash_like_issues_and_nothing_else_does() {
    let data = DatasetConfig { issues: 120, ..Default::default() };
    let sim = RunningSim::start(SimConfig { data, ..Default::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let objects = "  issues: {fields: {include: [assignee, status]}, hash: [assignee.accountId, assignee.displayName]}\
        \n  changelog: {hash: [from, to, from_string, to_string, author.displayName]}\
        \n  field_history: {hash: [value_id, value]}";
    let p = PipelineYaml::new("u", objects)
        .section("masking", "  key: ${JIRA_MASK_KEY}")
        .load(dir.path(), &sim_vars(&sim).with("JIRA_MASK_KEY", "history-masking-key-for-tests"));
    let report = common::run(&p, retry()).await;
    assert!(report.error.is_none(), "{report:?}");
    let (_, issues) = python_rows(dir.path(), "issues");
    let hashed_assignee: BTreeMap<String, String> = issues
        .iter()
        .filter_map(|r| Some((r["id"].as_str()?.to_string(), r["assignee"]["accountId"].as_str()?.to_string())))
        .collect();
    assert!(!hashed_assignee.is_empty());
    let (_, changes) = python_rows(dir.path(), "issue_changelog");
    let (mut users, mut statuses) = (0, 0);
    for r in &changes {
        let issue = r["issue_id"].as_str().unwrap();
        match r["field_id"].as_str().unwrap() {
            "assignee" => {
                users += 1;
                // The same keyed hash as `issues.assignee.accountId`: the join still works.
                assert_eq!(r["to"].as_str(), hashed_assignee.get(issue).map(String::as_str), "{r}");
                assert_ne!(r["to_string"], sim.histories(issue.parse().unwrap())[0]["items"][1]["toString"]);
            }
            "status" => {
                statuses += 1;
                let name = r["to_string"].as_str().unwrap();
                assert!(["To Do", "In Progress", "In Review", "Done"].contains(&name), "not hashed: {name}");
            }
            _ => {}
        }
    }
    assert!(users > 10 && statuses > users, "{users} user rows, {statuses} status rows");
    let (_, versions) = python_rows(dir.path(), "issue_field_history");
    for r in versions.iter().filter(|r| r["field_id"] == "assignee" && r["history_id"].is_string()) {
        assert_eq!(r["value_id"].as_str(), hashed_assignee.get(r["issue_id"].as_str().unwrap()).map(String::as_str));
    }
    assert!(versions.iter().any(|r| r["field_id"] == "status" && r["value"] == "Done"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_during_a_run_are_in_the_next_one() {
    let cases = [
        (Flavor::Cloud, "cloud", API_TOKEN, "/rest/api/3/changelog/bulkfetch"),
        (Flavor::DataCenter, "data_center", PAT, "/rest/api/2/search"),
    ];
    for (flavor, deployment, auth, changelog_path) in cases {
        let data = DatasetConfig { issues: 3_000, ..Default::default() };
        let behaviour = jira_sim::Behaviour { latency: Duration::from_millis(20), ..Default::default() };
        let config = SimConfig { flavor, data, behaviour, ..Default::default() };
        let sim = std::sync::Arc::new(RunningSim::start(config).await.unwrap());
        let dir = tempfile::tempdir().unwrap();
        let objects = "  changelog: {}\n  status_intervals: {}\n  field_history: {}";
        let p = PipelineYaml::new("d", objects).deployment(deployment).auth(auth).load(dir.path(), &sim_vars(&sim));
        // Data Center's listing searches too: wait past it (3 listings of 3 pages each).
        let after = if flavor == Flavor::Cloud { 1 } else { 12 };
        let editor = {
            let sim = sim.clone();
            tokio::spawn(async move {
                // Once the changelogs are being read, edit issues already read and still to come.
                while sim.requests(changelog_path) < after {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                sim.edit_issues(0, 97, 30).len()
            })
        };
        let report = common::run(&p, retry()).await;
        assert!(report.error.is_none(), "{deployment}: {report:?}");
        assert_eq!(editor.await.unwrap(), 30);
        // The next run's window starts before the edits (the cursor is Jira's clock when the
        // listing began), so it reads them.
        let report = common::run(&p, retry()).await;
        assert!(report.error.is_none(), "{deployment}: {report:?}");
        assert_eq!(table(dir.path()), truth(&sim), "{deployment}: the changelog caught up");
        python_agrees(&sim, dir.path(), &format!("{deployment} after edits during a run"));
    }
}

/// Data Center's items name their field without an id (by default): the ids come from the
/// field catalogue, and a custom field name two fields share stays a name, with a warning.
/// With the site sending `fieldId` (the switch), the ids are Jira's and nothing is warned.
#[tokio::test(flavor = "multi_thread")]
async fn data_center_items_get_their_field_ids_from_the_catalogue() {
    for sends_ids in [false, true] {
        let behaviour = jira_sim::Behaviour { data_center_changelog_field_ids: sends_ids, ..Default::default() };
        let data = DatasetConfig { issues: 150, ..Default::default() };
        let config = SimConfig { flavor: Flavor::DataCenter, data, behaviour, ..Default::default() };
        let sim = RunningSim::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = PipelineYaml::new("c", "  changelog: {}")
            .deployment("data_center")
            .auth(PAT)
            .load(dir.path(), &sim_vars(&sim));
        let report = common::run(&p, retry()).await;
        assert!(object(&report, "changelog").warnings.is_empty(), "{sends_ids}: {report:?}");
        // Every item, Sprint ones (`customfield_10020`, a custom field by name) included.
        let first = table(dir.path());
        assert_eq!(first, truth(&sim), "sends ids: {sends_ids}");
        assert!(first.values().any(|v| v.1 == "customfield_10020") && first.values().any(|v| v.1 == "status"));

        // A second custom field named "Sprint": the name no longer tells which field it is.
        sim.add_custom_field("Sprint", "number");
        let dir = tempfile::tempdir().unwrap();
        let p = PipelineYaml::new("c", "  changelog: {}")
            .deployment("data_center")
            .auth(PAT)
            .load(dir.path(), &sim_vars(&sim));
        let report = common::run(&p, retry()).await;
        let warnings = &object(&report, "changelog").warnings;
        let (rows, want) = (table(dir.path()), truth(&sim));
        let sprint_ids: std::collections::BTreeSet<&str> =
            rows.iter().filter(|(k, _)| want[*k].1 == "customfield_10020").map(|(_, v)| v.1.as_str()).collect();
        if sends_ids {
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(sprint_ids, ["customfield_10020"].into());
        } else {
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(warnings[0].message.contains("several custom fields are named `Sprint`"), "{warnings:?}");
            assert_eq!(sprint_ids, ["Sprint"].into());
        }
        assert!(rows.values().any(|v| v.1 == "status"), "system fields still resolve");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_objects_share_one_changelog_read() {
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let data = DatasetConfig { issues: 2_500, ..Default::default() };
        let sim = RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap();
        let log = |sim: &RunningSim| -> BTreeMap<String, u64> {
            let mut by_path = BTreeMap::new();
            for (path, _, n) in sim.request_log() {
                *by_path.entry(path).or_default() += n;
            }
            by_path
        };
        let spent = |before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
            after
                .iter()
                .map(|(p, n)| (p.clone(), n - before.get(p).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        let run = |objects: &str, dir: &std::path::Path| {
            PipelineYaml::new("h", objects).deployment(deployment).auth(auth).load(dir, &sim_vars(&sim))
        };

        // The dearest of the three alone: changelogs, and each issue's `created` and status.
        let alone = tempfile::tempdir().unwrap();
        let before = log(&sim);
        let report = common::run(&run("  field_history: {}", alone.path()), retry()).await;
        assert!(report.error.is_none(), "{deployment}: {report:?}");
        let one = spent(&before, &log(&sim));

        let dir = tempfile::tempdir().unwrap();
        let all = run("  changelog: {}\n  status_intervals: {}\n  field_history: {}", dir.path());
        let before = log(&sim);
        let report = common::run(&all, retry()).await;
        assert!(report.error.is_none(), "{deployment}: {report:?}");
        let three = spent(&before, &log(&sim));
        eprintln!("{deployment}: field_history alone {one:?}; all three {three:?}");
        // Each history object lists the issues it follows (one cheap listing each); the changelogs
        // and issue basics are read once, whatever the number of history objects.
        let reads = |spent: &BTreeMap<String, u64>, path: &str| spent.get(path).copied().unwrap_or(0);
        match flavor {
            Flavor::Cloud => {
                for path in ["/rest/api/3/changelog/bulkfetch", "/rest/api/3/issue/bulkfetch"] {
                    assert!(reads(&one, path) > 0, "{path} not read: {one:?}");
                    assert_eq!(reads(&three, path), reads(&one, path), "{path}: {three:?} against {one:?}");
                }
            }
            Flavor::DataCenter => {
                // Listing and changelog pages are both `search`: the three listings add a page
                // of ids each, not a second and third read of every changelog.
                let (a, b) = (reads(&one, "/rest/api/2/search"), reads(&three, "/rest/api/2/search"));
                assert!(a >= 25, "{one:?}");
                assert!(b < a + a / 2, "all three read the changelogs more than once: {b} searches against {a}");
            }
        }
        assert_eq!(table(dir.path()), truth(&sim), "{deployment}: every history item, once");
        python_agrees(&sim, dir.path(), &format!("{deployment} three objects, one read"));

        // Incremental, with the edited issues read once for all three.
        sim.edit_issues(5, 11, 30);
        let report = common::run(&all, retry()).await;
        assert!(report.error.is_none(), "{deployment}: {report:?}");
        for o in ["changelog", "status_intervals", "field_history"] {
            assert!(object(&report, o).rows_written > 0, "{deployment} {o}: {report:?}");
        }
        assert_eq!(table(dir.path()), truth(&sim), "{deployment}: after edits");
        python_agrees(&sim, dir.path(), &format!("{deployment} three objects after edits"));
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_history_object_with_nothing_to_read_lets_the_others_read() {
    let data = DatasetConfig { issues: 200, ..Default::default() };
    let sim = RunningSim::start(SimConfig { data, ..Default::default() }).await.unwrap();
    let (first_id, first_key, _) = sim.visible_issues()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    // `field_history` follows one issue that is never edited: after the first load it has nothing
    // to read and leaves the run's changelog read to `changelog`.
    let objects = format!("  changelog: {{}}\n  field_history: {{jql: \"key = {first_key}\"}}");
    let p = PipelineYaml::new("h", &objects).auth(API_TOKEN).load(dir.path(), &sim_vars(&sim));
    let report = common::run(&p, retry()).await;
    assert!(report.error.is_none(), "{report:?}");
    let (_, rows) = python_rows(dir.path(), "issue_field_history");
    assert!(!rows.is_empty());
    let followed = first_id.to_string();
    assert!(rows.iter().all(|r| r["issue_id"].as_str() == Some(&followed)), "only the issue it follows");

    let edited = sim.edit_issues(5, 11, 9);
    assert!(!edited.contains(&first_id));
    let report = tokio::time::timeout(Duration::from_secs(60), common::run(&p, retry())).await.expect("no wait");
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(object(&report, "field_history").expected, Some(0), "{report:?}");
    assert!(object(&report, "changelog").rows_written > 0, "{report:?}");
    assert_eq!(table(dir.path()), truth(&sim));
    sim.shutdown().await;
}
