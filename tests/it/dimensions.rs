//! The dimension objects (statuses, priorities, resolutions, issue types, project categories,
//! labels) against jira-sim on Cloud and Data Center: every row and column read back with
//! Python deltalake and compared with what the site serves, every value the issues carry
//! found in its dimension, labels refused on Data Center before a run, `check`'s probes.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::config::Pipeline;
use jirapipe::jira::RetryConfig;
use serde_json::{Value, json};

use crate::common::{self, PAT, PipelineYaml, object, python_rows, sim_vars};

const BOTH: &str = "  issues: {}\n  statuses: {}\n  priorities: {}\n  resolutions: {}\n  issue_types: {}\n  \
                    project_categories: {}";

async fn sim(flavor: Flavor) -> RunningSim {
    let data = DatasetConfig { issues: 200, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, behaviour: Behaviour::default(), ..Default::default() }).await.unwrap()
}

fn yaml(flavor: Flavor, objects: &str) -> PipelineYaml {
    let p = PipelineYaml::new("dims", objects).source("requests_per_second", "500");
    if flavor == Flavor::DataCenter { p.deployment("data_center").auth(PAT) } else { p }
}

fn pipeline(sim: &RunningSim, flavor: Flavor, dir: &Path, objects: &str) -> Pipeline {
    yaml(flavor, objects).load(dir, &sim_vars(sim))
}

/// A JSON number or string id as the tables' text.
fn text(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

/// `rows` by their `id`.
fn by_id(rows: Vec<Value>) -> HashMap<String, Value> {
    rows.into_iter().map(|r| (r["id"].as_str().unwrap().to_string(), r)).collect()
}

/// Checks table `table` against `truth` record by record: the same ids, and for each record
/// every `(column, value)` that `expect` gives.
fn matches(dir: &Path, table: &str, truth: &[Value], expect: impl Fn(&Value) -> Vec<(&'static str, Value)>) {
    let rows = by_id(python_rows(dir, table).1);
    assert_eq!(rows.len(), truth.len(), "{table}: {rows:?}");
    for t in truth {
        let id = text(&t["id"]);
        let row = rows.get(id.as_str().unwrap()).unwrap_or_else(|| panic!("{table}: no row {id}"));
        for (column, value) in expect(t) {
            assert_eq!(row[column], value, "{table} {id} `{column}`: {row}");
        }
    }
}

async fn tables_match(flavor: Flavor) {
    let dc = flavor == Flavor::DataCenter;
    let sim = sim(flavor).await;
    let d = sim.dataset();
    let dir = tempfile::tempdir().unwrap();
    let objects = if dc { BOTH.to_string() } else { format!("{BOTH}\n  labels: {{}}") };
    let report = common::run(&pipeline(&sim, flavor, dir.path(), &objects), RetryConfig::default()).await;
    for o in ["statuses", "priorities", "resolutions", "issue_types", "project_categories"] {
        assert!(object(&report, o).rows_written > 0, "{report:?}");
    }

    matches(dir.path(), "statuses", &d.listed_statuses(dc), |s| {
        let c = &s["statusCategory"];
        vec![
            ("name", s["name"].clone()),
            ("description", s["description"].clone()),
            ("category_id", text(&c["id"])),
            ("category_key", c["key"].clone()),
            ("category_name", c["name"].clone()),
            ("category_color", c["colorName"].clone()),
            ("scope_type", s["scope"]["type"].clone()),
            ("scope_project_id", s["scope"]["project"]["id"].clone()),
        ]
    });
    matches(dir.path(), "priorities", &d.priorities(dc), |p| {
        vec![
            ("name", p["name"].clone()),
            ("description", p["description"].clone()),
            ("status_color", p["statusColor"].clone()),
            ("icon_url", p["iconUrl"].clone()),
            // Cloud's list says which is the default; Data Center's does not.
            ("is_default", if dc { Value::Null } else { p["isDefault"].clone() }),
        ]
    });
    assert_eq!(
        python_rows(dir.path(), "priorities").1.iter().filter(|r| r["is_default"] == json!(true)).count(),
        usize::from(!dc)
    );
    matches(dir.path(), "resolutions", &d.resolutions(dc), |r| {
        vec![
            ("name", r["name"].clone()),
            ("description", r["description"].clone()),
            ("is_default", if dc { Value::Null } else { json!(false) }),
        ]
    });
    matches(dir.path(), "issue_types", &d.issue_types(dc), |t| {
        vec![
            ("name", t["name"].clone()),
            ("description", t["description"].clone()),
            ("subtask", t["subtask"].clone()),
            ("hierarchy_level", if dc { Value::Null } else { t["hierarchyLevel"].clone() }),
            ("scope_type", t["scope"]["type"].clone()),
            ("scope_project_id", t["scope"]["project"]["id"].clone()),
        ]
    });
    assert!(python_rows(dir.path(), "issue_types").1.iter().any(|t| t["hierarchy_level"] == json!(-1)) != dc);
    // Cloud: a team-managed project's own status and issue type say whose they are.
    for table in ["statuses", "issue_types"] {
        let scoped = python_rows(dir.path(), table).1.iter().filter(|r| r["scope_type"] == json!("PROJECT")).count();
        assert_eq!(scoped, usize::from(!dc), "{table}");
    }
    matches(dir.path(), "project_categories", &d.project_categories(), |c| {
        vec![("name", c["name"].clone()), ("description", c["description"].clone())]
    });
    if !dc {
        let labels: Vec<Value> = d.labels().into_iter().map(|l| json!({"id": l})).collect();
        matches(dir.path(), "labels", &labels, |l| vec![("name", l["id"].clone())]);
    }

    // Every value an issue carries is a row of its dimension, and each join has something to join.
    let ids =
        |table: &str| -> HashSet<Value> { python_rows(dir.path(), table).1.iter().map(|r| r["id"].clone()).collect() };
    let issues = python_rows(dir.path(), "issues").1;
    assert_eq!(issues.len(), 200);
    for (column, table) in [
        ("status", "statuses"),
        ("priority", "priorities"),
        ("issuetype", "issue_types"),
        ("resolution", "resolutions"),
    ] {
        let known = ids(table);
        let used: Vec<&Value> = issues.iter().map(|i| &i[column]["id"]).filter(|v| !v.is_null()).collect();
        assert!(!used.is_empty(), "no issue has a {column}");
        for id in used {
            assert!(known.contains(id), "issues.{column}.id {id} is not in {table}: {known:?}");
        }
    }
    let categories: HashMap<Value, Value> = python_rows(dir.path(), "statuses")
        .1
        .into_iter()
        .map(|s| (s["id"].clone(), s["category_key"].clone()))
        .collect();
    for i in &issues {
        assert_eq!(categories[&i["status"]["id"]], i["status"]["statusCategory"]["key"], "{}", i["status"]);
    }
    if !dc {
        let known = ids("labels");
        let used: Vec<&Value> = issues.iter().filter_map(|i| i["labels"].as_array()).flatten().collect();
        assert!(!used.is_empty(), "no issue has a label");
        for l in used {
            assert!(known.contains(l), "label {l} is not in labels: {known:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_tables_match_the_site_value_by_value_and_join_the_issues() {
    tables_match(Flavor::Cloud).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_tables_match_the_site_value_by_value_and_join_the_issues() {
    tables_match(Flavor::DataCenter).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn labels_on_data_center_are_refused_before_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let dc = sim(Flavor::DataCenter).await;
    let e = yaml(Flavor::DataCenter, "  labels: {}").try_load(dir.path(), &sim_vars(&dc)).unwrap_err();
    let message = format!("{e:?}");
    assert!(message.contains("`labels` is Cloud-only"), "{message}");
    let cloud = sim(Flavor::Cloud).await;
    yaml(Flavor::Cloud, "  labels: {}").load(dir.path(), &sim_vars(&cloud));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_probes_each_of_them() {
    use jirapipe::check::{self, Status};
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(flavor).await;
        let dir = tempfile::tempdir().unwrap();
        let r = check::check(&pipeline(&sim, flavor, dir.path(), BOTH), check::probe_retry()).await;
        assert!(r.passed, "{r:#?}");
        let (d, dc) = (sim.dataset(), flavor == Flavor::DataCenter);
        let expected = [
            ("statuses", d.listed_statuses(dc).len()),
            ("priorities", d.priorities(dc).len()),
            ("resolutions", d.resolutions(dc).len()),
            ("issue_types", d.issue_types(dc).len()),
            ("project_categories", d.project_categories().len()),
        ];
        for (t, n) in expected {
            let probe = r.probes.iter().find(|p| p.target == t).unwrap_or_else(|| panic!("no {t}: {r:#?}"));
            assert_eq!(probe.status, Status::Ok, "{probe:#?}");
            assert_eq!(probe.records.as_deref(), Some(n.to_string().as_str()), "{probe:#?}");
        }
    }
}
