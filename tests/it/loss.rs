//! No silent loss: a value that fits nowhere costs its cell, not the row, and past
//! `max_rejected_fraction` the object fails; a full refresh never empties or collapses a table
//! without `--allow-mass-delete`; derived tables that disagree with their issue fail; Cloud's
//! changelog instants in every form give the same rows; whole numbers are integers; and two
//! runs report no phantom schema drift. On Cloud and Data Center, tables read back by the
//! Python reader.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use jira_sim::{Behaviour, DatasetConfig, Flavor, InstantForm, RunningSim, SimConfig};
use jirapipe::config::Pipeline;
use jirapipe::jira::RetryConfig;
use jirapipe::runner;
use serde_json::Value;

use crate::common::pipeline::{API_TOKEN, PAT, PipelineYaml, sim_vars};
use crate::common::{self, jirapipe_for, object, output, python_rows};

const FLAVORS: [Flavor; 2] = [Flavor::Cloud, Flavor::DataCenter];

fn retry() -> RetryConfig {
    RetryConfig { max_attempts: 4, base_backoff: Duration::from_millis(10), ..RetryConfig::default() }
}

async fn site(flavor: Flavor, issues: u64, behaviour: Behaviour) -> RunningSim {
    let data = DatasetConfig { issues, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, behaviour, ..Default::default() }).await.unwrap()
}

fn yaml(flavor: Flavor, objects: &str) -> PipelineYaml {
    let (deployment, auth) = match flavor {
        Flavor::Cloud => ("cloud", API_TOKEN),
        Flavor::DataCenter => ("data_center", PAT),
    };
    PipelineYaml::new("loss", objects).deployment(deployment).auth(auth)
}

fn pipeline(sim: &RunningSim, dir: &Path, flavor: Flavor, objects: &str) -> Pipeline {
    yaml(flavor, objects).load(dir, &sim_vars(sim))
}

/// The table's newest commit, `None` before the first: what a refused run must leave alone.
fn version(dir: &Path, table: &str) -> Option<u64> {
    let log = dir.join("lake").join(table).join("_delta_log");
    let versions = std::fs::read_dir(log).ok()?.filter_map(|e| {
        let name = e.ok()?.file_name().into_string().ok()?;
        name.strip_suffix(".json")?.parse::<u64>().ok()
    });
    versions.max()
}

/// Every third issue's Story Points is an object no number column takes: past the default 1%
/// the object fails and writes nothing; allowed, every issue is written with that cell null and
/// `_rejects` names the field and the raw value per issue; a later refused run leaves the table
/// at its version.
#[tokio::test(flavor = "multi_thread")]
async fn a_value_that_fits_nowhere_costs_its_cell_not_the_row() {
    for flavor in FLAVORS {
        let sim = site(flavor, 300, Behaviour { undecodable_every: Some(3), ..Default::default() }).await;
        let dir = tempfile::tempdir().unwrap();
        let strict = pipeline(&sim, dir.path(), flavor, "  issues: {sync: full_refresh}");
        let err = runner::run(&strict, retry()).await.unwrap_err().to_string();
        assert!(err.contains("max_rejected_fraction") && err.contains("`customfield_10016` in 100 records"), "{err}");
        assert!(err.contains("3 points"), "the message shows an example value: {err}");
        assert_eq!(version(dir.path(), "issues"), None, "{flavor:?}: nothing committed");

        let lenient = pipeline(&sim, dir.path(), flavor, "  issues: {sync: full_refresh, max_rejected_fraction: 50%}");
        let report = common::run(&lenient, retry()).await;
        let o = object(&report, "issues");
        assert_eq!((o.rows_written, o.rows_rejected, o.rows_with_rejected_fields), (300, 0, 100), "{flavor:?}");
        let (_, rows) = python_rows(dir.path(), "issues");
        assert_eq!(rows.len(), 300, "{flavor:?}: every issue is a row");
        let mut bad = BTreeSet::new();
        for r in &rows {
            let id: u64 = r["id"].as_str().unwrap().parse().unwrap();
            let truth = sim.issue_fields(id).unwrap();
            if (id - 10_000) % 3 == 2 {
                assert_eq!(r["customfield_10016"], Value::Null, "{flavor:?} issue {id}");
                bad.insert(id.to_string());
            } else {
                assert_eq!(r["customfield_10016"].as_f64(), truth["customfield_10016"].as_f64(), "issue {id}");
            }
            assert_eq!(r["summary"], truth["summary"], "{flavor:?} issue {id}: the row's other values are kept");
        }
        let (_, rejects) = python_rows(dir.path(), "_rejects");
        let named: BTreeSet<String> = rejects
            .iter()
            .filter(|r| r["object"] == "issues" && r["field"] == "customfield_10016")
            .inspect(|r| assert!(r["raw"].as_str().unwrap().contains("3 points"), "{r}"))
            .map(|r| r["record_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(named, bad, "{flavor:?}: `_rejects` names the field per row");

        let before = version(dir.path(), "issues");
        runner::run(&strict, retry()).await.unwrap_err();
        assert_eq!(version(dir.path(), "issues"), before, "{flavor:?}: a refused run leaves the table");
    }
}

/// A full refresh whose answer would drop more than `max_deleted_fraction` of the table, or
/// empty it, exits 1 and leaves the table; `--allow-mass-delete` lets a shrink through, never
/// an empty answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_refresh_never_empties_or_collapses_a_table() {
    for flavor in FLAVORS {
        let sim = site(flavor, 250, Behaviour::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let file =
            yaml(flavor, "  issues: {sync: full_refresh, fields: {include: [summary]}}").write(dir.path(), "p.yaml");
        let run = |extra: &[&str]| output(jirapipe_for(&sim).arg("run").arg(&file).args(extra));
        let first = run(&[]);
        assert_eq!(first.code, Some(0), "{}", first.stderr);
        let loaded = version(dir.path(), "issues");

        // One project of five is out of reach: a fifth of the rows would go.
        sim.set_behaviour(Behaviour { hidden_projects: [4].into(), ..Default::default() });
        let shrunk = run(&[]);
        assert_eq!(shrunk.code, Some(1), "{flavor:?}: {}", shrunk.stderr);
        assert!(shrunk.stderr.contains("max_deleted_fraction") && shrunk.stderr.contains("--allow-mass-delete"));
        assert_eq!(version(dir.path(), "issues"), loaded, "{flavor:?}");

        // Nothing visible at all: refused even with the flag.
        sim.set_behaviour(Behaviour { hidden_projects: (0..5).collect(), ..Default::default() });
        let emptied = run(&["--allow-mass-delete"]);
        assert_eq!(emptied.code, Some(1), "{flavor:?}: {}", emptied.stderr);
        assert!(emptied.stderr.contains("Jira returned no records, but the table holds 250"), "{}", emptied.stderr);
        assert_eq!(version(dir.path(), "issues"), loaded, "{flavor:?}");

        sim.set_behaviour(Behaviour { hidden_projects: [4].into(), ..Default::default() });
        let allowed = run(&["--allow-mass-delete"]);
        assert_eq!(allowed.code, Some(0), "{flavor:?}: {}", allowed.stderr);
        assert_eq!(python_rows(dir.path(), "issues").1.len(), 200, "{flavor:?}");
    }
}

/// One issue's newest status change names a status it never moved to: `status_intervals` and
/// `field_history` fail naming the issue and commit nothing; the changelog itself is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_history_that_disagrees_with_its_issue_fails_the_derived_tables() {
    for flavor in FLAVORS {
        let sim = site(flavor, 120, Behaviour::default()).await;
        let moved = sim
            .visible_issues()
            .into_iter()
            .map(|(id, ..)| id)
            .find(|id| sim.histories(*id).iter().any(|h| h["items"].to_string().contains("\"status\"")))
            .expect("an issue that changed status");
        sim.set_behaviour(Behaviour { corrupt_history_of: Some(moved - 10_000), ..Default::default() });
        let dir = tempfile::tempdir().unwrap();
        let objects = "  changelog: {}\n  status_intervals: {}\n  field_history: {}";
        let p = pipeline(&sim, dir.path(), flavor, objects);
        let (report, result) = runner::run_reported(&p, retry()).await;
        assert!(result.is_err(), "{flavor:?}");
        for table in ["status_intervals", "field_history"] {
            let error = object(&report, table).error.clone().unwrap_or_default();
            let named = error.contains(&format!("for issue {moved}")) && error.contains("99999");
            assert!(named && error.contains("disagrees"), "{flavor:?} {table}: {error}");
        }
        assert!(object(&report, "changelog").error.is_none(), "{flavor:?}");
        assert_eq!(version(dir.path(), "issue_status_intervals"), None, "{flavor:?}");
        assert_eq!(version(dir.path(), "issue_field_history"), None, "{flavor:?}");
    }
}

/// Cloud's changelog bulk fetch in each of its instant forms gives the same tables: every item
/// a row with its instant (to the second when Jira sends seconds), one stay more per issue than
/// status changes.
#[tokio::test(flavor = "multi_thread")]
async fn changelog_instants_as_text_or_epoch_numbers_give_the_same_rows() {
    for form in [InstantForm::Text, InstantForm::EpochMillis, InstantForm::EpochSeconds] {
        let sim = site(Flavor::Cloud, 150, Behaviour { changelog_created: form, ..Default::default() }).await;
        let dir = tempfile::tempdir().unwrap();
        let objects = "  changelog: {}\n  status_intervals: {}";
        let report = common::run(&pipeline(&sim, dir.path(), Flavor::Cloud, objects), retry()).await;
        let mut truth = std::collections::BTreeMap::new();
        let mut stays = 0;
        for (id, ..) in sim.visible_issues() {
            let histories = sim.histories(id);
            stays += 1;
            for h in &histories {
                let at = jirapipe::transform::columns::parse_jira_instant(&h["created"]).unwrap();
                let at = if form == InstantForm::EpochSeconds { at - at.rem_euclid(1_000_000) } else { at };
                for (n, item) in h["items"].as_array().unwrap().iter().enumerate() {
                    truth.insert(format!("{}/{n}", h["id"].as_str().unwrap()), at);
                    stays += usize::from(item["fieldId"] == "status");
                }
            }
        }
        let (schema, rows) = python_rows(dir.path(), "issue_changelog");
        assert_eq!(schema["types"]["item_index"], "int64");
        let got: std::collections::BTreeMap<String, i64> =
            rows.iter().map(|r| (r["id"].as_str().unwrap().to_string(), r["created"].as_i64().unwrap())).collect();
        assert_eq!(got, truth, "{form:?}");
        assert_eq!(object(&report, "status_intervals").rows_written, stays, "{form:?}");
    }
}

/// Two runs over a site with every kind of field (lists of structs among them) report no
/// drift, and Jira's whole numbers are integer columns, in `_runs` too.
#[tokio::test(flavor = "multi_thread")]
async fn two_runs_report_no_drift_and_whole_numbers_are_integers() {
    for flavor in FLAVORS {
        let sim = site(flavor, 150, Behaviour::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(&sim, dir.path(), flavor, "  issues: {}\n  worklogs: {}");
        common::run(&p, retry()).await;
        sim.edit_issues(0, 7, 10);
        let second = common::run(&p, retry()).await;
        for o in &second.objects {
            let drift = o.drift.as_ref();
            assert!(drift.is_none_or(|d| d.retyped.is_empty() && d.added.is_empty()), "{flavor:?} {o:?}");
            assert!(o.warnings.iter().all(|w| !w.message.contains("in Jira now")), "{flavor:?} {:?}", o.warnings);
        }
        let (issues, rows) = python_rows(dir.path(), "issues");
        for field in ["timespent", "timeoriginalestimate", "timeestimate", "aggregatetimespent", "workratio"] {
            assert_eq!(issues["types"][field], "int64", "{flavor:?} {field}");
        }
        let spent = |r: &Value| r["timespent"].as_i64();
        assert!(rows.iter().any(|r| spent(r).is_some_and(|s| s > 0)), "{flavor:?}: time spent is read");
        let (worklogs, _) = python_rows(dir.path(), "worklogs");
        assert_eq!(worklogs["types"]["time_spent_seconds"], "int64");
        let (runs, _) = python_rows(dir.path(), "_runs");
        assert_eq!(runs["types"]["rows_written"], "int64");
        assert_eq!(runs["types"]["table_version"], "int64");
    }
}
