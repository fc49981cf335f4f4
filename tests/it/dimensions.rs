//! The dimension objects (statuses, priorities, resolutions, issue types, project categories,
//! labels, field options) against jira-sim on Cloud and Data Center: every row and column read
//! back with Python deltalake and compared with what the site serves, every value the issues
//! carry found in its dimension, labels refused on Data Center before a run, field options
//! skipped with a warning for a non-administrator on Cloud, `check`'s probes.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::config::Pipeline;
use jirapipe::jira::RetryConfig;
use serde_json::{Value, json};

use crate::common::{self, PAT, PipelineYaml, object, python_rows, sim_vars};

const BOTH: &str = "  issues: {}\n  statuses: {}\n  priorities: {}\n  resolutions: {}\n  issue_types: {}\n  \
                    project_categories: {}\n  field_options: {}";

/// A site whose API user is a Jira administrator (Cloud shows custom field options to no one
/// else).
async fn sim(flavor: Flavor) -> RunningSim {
    sim_with(flavor, Behaviour { api_user_is_admin: true, ..Behaviour::default() }).await
}

async fn sim_with(flavor: Flavor, behaviour: Behaviour) -> RunningSim {
    let data = DatasetConfig { issues: 200, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, behaviour, ..Default::default() }).await.unwrap()
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
    field_options_match(dir.path(), d, dc);

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

/// The options of every select-type field, row by row as the site lists them (Cloud: per
/// context; Data Center: per field, parents naming their children), and every option value an
/// issue carries found among them.
fn field_options_match(dir: &Path, d: &jira_sim::Dataset, dc: bool) {
    let select: Vec<(u64, String)> = d
        .fields()
        .iter()
        .filter(|f| f["schema"]["custom"].as_str().is_some_and(|c| c.ends_with("select")))
        .map(|f| (f["schema"]["customId"].as_u64().unwrap(), f["name"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(select.len(), 3, "{select:?}");
    let mut truth = Vec::new();
    for (number, name) in &select {
        let field = |mut row: Value| {
            row["field_id"] = json!(format!("customfield_{number}"));
            row["field_name"] = json!(name);
            row
        };
        if dc {
            let all = d.data_center_options(*number, true);
            for (position, o) in all.iter().enumerate() {
                let parent = all.iter().find(|p| p["childrenIds"].as_array().is_some_and(|c| c.contains(&o["id"])));
                truth.push(field(json!({
                    "id": text(&o["id"]), "value": o["value"], "disabled": o["disabled"], "position": position,
                    "parent_id": parent.map(|p| text(&p["id"])), "context_id": null,
                })));
            }
        } else {
            for c in d.field_contexts(*number).unwrap() {
                for (position, o) in c.options().iter().enumerate() {
                    truth.push(field(json!({
                        "id": o["id"], "value": o["value"], "disabled": o["disabled"], "position": position,
                        "parent_id": o["optionId"], "context_id": c.id, "context_name": c.name,
                        "context_is_global": c.is_global, "context_is_any_issue_type": c.is_any_issue_type,
                    })));
                }
            }
        }
    }
    // Severity's second context, the disabled area and the cascading children are all there.
    assert_eq!(truth.len(), 4 + 2 + 4 + 6, "{truth:?}");
    matches(dir, "field_options", &truth, |t| {
        let mut expect = vec![
            ("field_id", t["field_id"].clone()),
            ("field_name", t["field_name"].clone()),
            ("value", t["value"].clone()),
            ("disabled", t["disabled"].clone()),
            ("parent_id", t["parent_id"].clone()),
            ("position", t["position"].clone()),
            ("context_id", t["context_id"].clone()),
        ];
        if !dc {
            expect.push(("context_name", t["context_name"].clone()));
            expect.push(("context_is_global", t["context_is_global"].clone()));
            expect.push(("context_is_any_issue_type", t["context_is_any_issue_type"].clone()));
        }
        expect
    });
    let options: HashMap<String, Value> = by_id(python_rows(dir, "field_options").1);
    assert!(options.values().any(|o| o["disabled"] == json!(true)));
    let mut used = 0;
    for i in python_rows(dir, "issues").1 {
        for (number, _) in &select {
            let v = &i[format!("customfield_{number}").as_str()];
            let values: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Null => vec![],
                one => vec![one, &one["child"]],
            };
            for o in values.into_iter().filter(|o| !o.is_null()) {
                let id = o["id"].as_str().unwrap();
                let row = options.get(id).unwrap_or_else(|| panic!("option {o} not in field_options"));
                assert_eq!((&row["value"], &row["field_id"]), (&o["value"], &json!(format!("customfield_{number}"))));
                used += 1;
            }
        }
    }
    assert!(used > 100, "{used}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_field_options_are_skipped_with_a_warning_for_a_user_who_is_not_an_administrator() {
    let sim = sim_with(Flavor::Cloud, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let report = common::run(&pipeline(&sim, Flavor::Cloud, dir.path(), BOTH), RetryConfig::default()).await;
    let o = object(&report, "field_options");
    assert_eq!((o.rows_written, o.skipped), (0, 1), "{o:?}");
    let w = &o.warnings[0];
    assert!(w.message.contains("HTTP 403") && w.message.contains("Only Jira administrators"), "{w:?}");
    assert!(w.fix.contains("Administer Jira") && w.fix.contains("manage:jira-configuration"), "{w:?}");
    assert!(object(&report, "statuses").rows_written > 0, "the other objects run: {report:?}");
    use jirapipe::check::{self, Status};
    let r = check::check(&pipeline(&sim, Flavor::Cloud, dir.path(), BOTH), check::probe_retry()).await;
    let probe = r.probes.iter().find(|p| p.target == "field_options").unwrap();
    assert_eq!(probe.status, Status::Warn, "{probe:#?}");
    assert!(probe.findings.iter().any(|f| f.diagnosis.code == "field-options-admin-only"), "{probe:#?}");
}

/// Data Center's option pages counted from 0 instead of 1 (its reference does not say):
/// jirapipe reads every option once either way.
#[tokio::test(flavor = "multi_thread")]
async fn data_center_field_options_are_read_whole_whichever_way_pages_are_counted() {
    let b = Behaviour { data_center_option_pages_from_zero: true, ..Behaviour::default() };
    let sim = sim_with(Flavor::DataCenter, b).await;
    let dir = tempfile::tempdir().unwrap();
    let report = common::run(&pipeline(&sim, Flavor::DataCenter, dir.path(), BOTH), RetryConfig::default()).await;
    assert_eq!(object(&report, "field_options").rows_written, 16, "{report:?}");
    field_options_match(dir.path(), sim.dataset(), true);
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
            // The first select field, Severity: its options in every context, more fields after it.
            ("field_options", 6),
        ];
        for (t, n) in expected {
            let probe = r.probes.iter().find(|p| p.target == t).unwrap_or_else(|| panic!("no {t}: {r:#?}"));
            assert_eq!(probe.status, Status::Ok, "{probe:#?}");
            let records = if t == "field_options" { format!("{n}+") } else { n.to_string() };
            assert_eq!(probe.records.as_deref(), Some(records.as_str()), "{probe:#?}");
        }
    }
}
