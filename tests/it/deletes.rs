//! Deletes that are really deletes: every way an issue leaves the listing — deleted, out of
//! the JQL, archived, out of reach — ends with its own `_deleted_reason`, read back by the
//! Python reader, on Cloud and Data Center, under `soft` and `hard`, for a normal and an admin
//! API user, with and without `hash: [key]`; and the mass-delete guard refuses a run that
//! would mark too much.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::config::Pipeline;
use jirapipe::jira::RetryConfig;
use jirapipe::runner::{self, RunError};
use serde_json::Value;

use crate::common::pipeline::{API_TOKEN, PAT, PipelineYaml, sim_vars};
use crate::common::{self, object, python_rows};

const ISSUES: u64 = 250;
/// Project index 4 (the fifth project) is the one the API user loses Browse Projects on.
const LOST_PROJECT: u64 = 4;

fn retry() -> RetryConfig {
    RetryConfig { max_attempts: 4, base_backoff: Duration::from_millis(10), ..RetryConfig::default() }
}

async fn site(flavor: Flavor) -> RunningSim {
    let data = DatasetConfig { issues: ISSUES, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap()
}

fn pipeline(sim: &RunningSim, dir: &Path, flavor: Flavor, objects: &str) -> Pipeline {
    let (deployment, auth) = match flavor {
        Flavor::Cloud => ("cloud", API_TOKEN),
        Flavor::DataCenter => ("data_center", PAT),
    };
    PipelineYaml::new("d", objects)
        .deployment(deployment)
        .auth(auth)
        .section("masking", "  key: ${JIRA_MASK_KEY}")
        .load(dir, &sim_vars(sim).with("JIRA_MASK_KEY", "a-long-random-masking-key-for-tests"))
}

fn objects(mode: &str, hash_key: bool, extra: &str) -> String {
    let hash = if hash_key { ", hash: [key]" } else { "" };
    format!(
        "  issues: {{jql: \"status != Done\", deletes: {mode}, reconcile_every: 0s, fields: {{include: [summary, status]}}{hash}{extra}}}"
    )
}

fn status(sim: &RunningSim, id: u64) -> String {
    sim.issue_status(id).unwrap_or_default()
}

/// Ids (in the table's scope, not in the lost project) whose status is `name`.
fn with_status(sim: &RunningSim, name: &str) -> Vec<u64> {
    let d = sim.dataset();
    sim.visible_issues()
        .into_iter()
        .map(|(id, ..)| id)
        .filter(|id| d.project_of(id - 10_000) != LOST_PROJECT && status(sim, *id) == name)
        .collect()
}

fn rows_by_id(dir: &Path) -> BTreeMap<u64, Value> {
    let (_, rows) = python_rows(dir, "issues");
    rows.into_iter().map(|r| (r["id"].as_str().unwrap().parse().unwrap(), r)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_way_out_of_the_listing_ends_with_its_reason() {
    let cases = [
        (Flavor::Cloud, "soft", false, false),
        (Flavor::Cloud, "hard", true, true),
        (Flavor::DataCenter, "soft", true, true),
        (Flavor::DataCenter, "hard", false, false),
    ];
    for (flavor, mode, hash_key, admin) in cases {
        let case = format!("{flavor:?} deletes: {mode}, hash key: {hash_key}, admin: {admin}");
        let sim = site(flavor).await;
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(&sim, dir.path(), flavor, &objects(mode, hash_key, ""));
        let first = common::run(&p, retry()).await;
        assert!(first.error.is_none(), "{case}: {first:?}");
        let before = rows_by_id(dir.path());
        assert!(before.values().all(|r| r["status"]["name"] != "Done"), "{case}: the filter applies");
        for (id, r) in &before {
            let project = 10_000 + sim.dataset().project_of(id - 10_000);
            assert_eq!(r["_project_id"], project.to_string(), "{case}: {id}'s project is stored");
        }

        // A real delete, an issue done (out of `status != Done`), an archived one, a moved one
        // that still matches, and a project out of reach.
        let to_do = with_status(&sim, "To Do");
        let in_review = with_status(&sim, "In Review");
        let (deleted, archived, moved) = (to_do[0], to_do[1], to_do[2]);
        let done = in_review[0];
        assert_eq!(sim.delete_issues(&[deleted]), 1);
        sim.edit_issues(done - 10_000, 1, 1);
        assert_eq!(status(&sim, done), "Done");
        assert_eq!(sim.archive_issues(&[archived]), 1);
        let old_key = before[&moved]["key"].clone();
        let new_key = sim.move_issue(moved, 0).unwrap();
        assert_eq!(status(&sim, moved), "In Progress", "{case}: a move is one edit, still in the filter");
        let mut b = Behaviour { api_user_is_admin: admin, ..Behaviour::default() };
        b.hidden_projects.insert(LOST_PROJECT);
        sim.set_behaviour(b);

        let report = common::run(&p, retry()).await;
        let issues = object(&report, "issues");
        assert!(issues.error.is_none(), "{case}: {issues:?}");
        assert_eq!(issues.rows_deleted, 1, "{case}");
        let lost: BTreeSet<u64> =
            before.keys().copied().filter(|id| sim.dataset().project_of(id - 10_000) == LOST_PROJECT).collect();
        assert!(!lost.is_empty());
        let warning = issues.warnings.iter().find(|w| w.message.contains("lost_access")).expect("lost access reported");
        assert!(warning.message.contains(&format!("{} issues", lost.len())), "{case}: {warning:?}");

        let after = rows_by_id(dir.path());
        let reason = |id: u64| after.get(&id).map(|r| r["_deleted_reason"].clone());
        if mode == "hard" {
            assert_eq!(reason(deleted), None, "{case}: a real delete is removed");
        } else {
            assert_eq!(reason(deleted), Some(Value::from("deleted")), "{case}");
        }
        assert_eq!(reason(done), Some(Value::from("left_filter")), "{case}");
        assert_eq!(after[&done]["status"]["name"], "Done", "{case}: refreshed with its current values");
        assert_eq!(reason(archived), Some(Value::from("archived")), "{case}");
        assert_eq!(reason(moved), Some(Value::Null), "{case}: a moved issue is alive");
        assert_ne!(after[&moved]["key"], old_key, "{case}: with its new key");
        if !hash_key {
            assert_eq!(after[&moved]["key"], new_key.as_str(), "{case}");
        }
        for id in &lost {
            assert_eq!(reason(*id), Some(Value::from("lost_access")), "{case}: {id}");
        }
        for (id, r) in &after {
            let marked = [deleted, done, archived].contains(id) || lost.contains(id);
            assert_eq!(r["_deleted_at"].is_null(), !marked, "{case}: {id}");
            if !marked {
                assert!(r["_deleted_reason"].is_null(), "{case}: {id}");
            }
        }
        let expected_rows = before.len() + usize::from(mode == "soft") - 1;
        assert_eq!(after.len(), expected_rows, "{case}: nothing live is removed");

        // Access comes back: the lost rows are read again and their marks cleared.
        sim.set_behaviour(Behaviour::default());
        let report = common::run(&p, retry()).await;
        assert!(report.error.is_none(), "{case}: {report:?}");
        let back = rows_by_id(dir.path());
        for id in &lost {
            assert!(back[id]["_deleted_reason"].is_null() && back[id]["_deleted_at"].is_null(), "{case}: {id}");
        }
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mass_delete_guard_refuses_then_lets_one_run_through() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = site(flavor).await;
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(&sim, dir.path(), flavor, &objects("hard", false, ", max_deleted_fraction: 10%"));
        common::run(&p, retry()).await;
        let before = rows_by_id(dir.path());
        let versions = common::versions(dir.path(), "issues");
        // A quarter of the table vanishes at once (a bad permission scheme change looks alike).
        let gone: Vec<u64> = before.keys().copied().step_by(4).collect();
        assert_eq!(sim.delete_issues(&gone), gone.len());
        let e = runner::run(&p, retry()).await.unwrap_err();
        assert!(matches!(e, RunError::MassDelete { .. }), "{flavor:?}: {e}");
        let text = e.to_string();
        assert!(text.contains(&format!("{} of its {} rows", gone.len(), before.len())), "{text}");
        assert!(text.contains("--allow-mass-delete") && text.contains("nothing was changed"), "{text}");
        assert_eq!(common::versions(dir.path(), "issues"), versions, "{flavor:?}: nothing written");
        assert_eq!(rows_by_id(dir.path()), before, "{flavor:?}: table unchanged");

        // `--allow-mass-delete` is the file's limit lifted for one run.
        let mut once = p.clone();
        once.objects[0].max_deleted_fraction = 1.0;
        let report = common::run(&once, retry()).await;
        assert_eq!(object(&report, "issues").rows_deleted, gone.len(), "{flavor:?}");
        let after = rows_by_id(dir.path());
        assert_eq!(after.len(), before.len() - gone.len(), "{flavor:?}");
        assert!(gone.iter().all(|id| !after.contains_key(id)));
        sim.shutdown().await;
    }
}

#[test]
fn the_command_line_lets_one_run_through() {
    let out = common::output(common::jirapipe().args(["run", "--help"]));
    assert!(out.stdout.contains("--allow-mass-delete"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_reconciliation_of_ten_thousand_issues_costs() {
    // The figures the README's Deletes section quotes; a change that makes reconciliation
    // dearer fails here first.
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let data = DatasetConfig { issues: 10_000, ..Default::default() };
        let sim = RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let objects = "  issues: {deletes: soft, reconcile_every: 0s, fields: {include: [summary]}}";
        let p = pipeline(&sim, dir.path(), flavor, objects);
        common::run(&p, retry()).await;
        let total = |sim: &RunningSim| sim.request_log().iter().map(|(_, _, n)| n).sum::<u64>();

        // Nothing missing: the listing alone (and the run's own window).
        let before = total(&sim);
        common::run(&p, retry()).await;
        let quiet = total(&sim) - before;

        // 100 deleted (from every project) and 20 archived: one search per 1,000 missing, one
        // bulk fetch per 100 search does not find (Data Center: one GET each), one
        // `mypermissions` per project.
        let deleted: Vec<u64> = (10_000..10_500).step_by(5).collect();
        let archived: Vec<u64> = (11_000..11_020).collect();
        sim.delete_issues(&deleted);
        sim.archive_issues(&archived);
        let before = total(&sim);
        let report = common::run(&p, retry()).await;
        let busy = total(&sim) - before;
        assert_eq!(object(&report, "issues").rows_deleted, deleted.len(), "{flavor:?}");
        let (quiet_max, busy_max) = match flavor {
            Flavor::Cloud => (8, 8 + 1 + 2 + 5 + 2),
            Flavor::DataCenter => (16, 16 + 1 + 120 + 5 + 2),
        };
        eprintln!(
            "{flavor:?}: a quiet reconciliation of 10,000 issues took {quiet} requests, one with 120 missing {busy}"
        );
        assert!(quiet <= quiet_max, "{flavor:?}: {quiet} requests");
        assert!(busy <= busy_max, "{flavor:?}: {busy} requests");
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_table_can_lose_a_few_issues_without_tripping_the_guard() {
    let data = DatasetConfig { issues: 25, ..Default::default() };
    let sim = RunningSim::start(SimConfig { data, ..Default::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), Flavor::Cloud, "  issues: {reconcile_every: 0s, fields: {include: [summary]}}");
    common::run(&p, retry()).await;
    // 3 of 25 is 12%, over the default 10%, but under the floor of 10 rows.
    assert_eq!(sim.delete_issues(&[10_001, 10_002, 10_003]), 3);
    let report = common::run(&p, retry()).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(object(&report, "issues").rows_deleted, 3);
}
