//! The analysts' dbt project (`analytics/`) end to end: a pipeline with every object runs
//! against jira-sim (history changed between two runs, sprints on the boards, an issue
//! deleted), `jirapipe discover --dbt` writes the sources and staging models into a copy of the
//! project, real `dbt build` (dbt-core + dbt-duckdb, DuckDB reading the Delta tables in place)
//! runs every model and its tests, and each model is compared row by row with what `truth`
//! computes from the simulator's own data.

pub(crate) mod truth;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use jira_sim::{Behaviour, DatasetConfig, RunningSim, SimConfig};
use jirapipe::jira::RetryConfig;
use jirapipe::report::Status;
use serde_json::Value;

use crate::common::{self, OFFLINE_ENV, PipelineYaml, python_rows, sim_vars};
use truth::Truth;

const EVERY_OBJECT: &str = concat!(
    "  issues: {reconcile_every: 0s}\n  changelog: {}\n  status_intervals: {}\n  field_history: {}\n",
    "  comments: {}\n  worklogs: {}\n  issue_links: {}\n  projects: {}\n  users: {}\n  boards: {}\n",
    "  fields: {}\n  sprints: {}\n  versions: {}\n  components: {}\n  statuses: {}\n  priorities: {}\n",
    "  resolutions: {}\n  issue_types: {}\n  project_categories: {}\n  labels: {}\n  field_options: {}",
);

/// The models, and the columns that key each one's rows.
const MODELS: [(&str, &[&str]); 7] = [
    ("issue_enhanced", &["issue_id"]),
    ("issue_status_time", &["issue_id", "status_id"]),
    ("issue_cycle_time", &["issue_id"]),
    ("issue_daily_history", &["issue_id", "field_id", "date_day"]),
    ("sprint_report", &["sprint_id"]),
    ("worklog_daily", &["author_id", "issue_id", "work_date"]),
    ("project_health", &["project_id", "week_start"]),
];

/// `dbt build` in `project`, with `as_of`; DuckDB's extensions from the venv (no download).
fn dbt_build(project: &Path, as_of: &str) -> common::Out {
    let python = common::dbt_python();
    let extensions = Command::new(&python)
        .args(["-c", "import duckdb_ext, os; print(os.path.join(list(duckdb_ext.__path__)[0], 'extensions'))"])
        .output()
        .unwrap();
    assert!(extensions.status.success(), "{}", String::from_utf8_lossy(&extensions.stderr));
    let extensions = String::from_utf8(extensions.stdout).unwrap().trim().to_string();
    let dbt = python.parent().unwrap().join("dbt");
    common::output(
        Command::new(dbt)
            .arg("build")
            .arg("--project-dir")
            .arg(project)
            .arg("--profiles-dir")
            .arg(project)
            .args(["--vars", &format!("{{as_of: '{as_of}'}}")])
            .env("JIRAPIPE_DUCKDB", project.join("target/test.duckdb"))
            .env("JIRAPIPE_DUCKDB_EXTENSIONS", extensions)
            .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
            .env("DBT_USE_COLORS", "false")
            .current_dir(project),
    )
}

/// Every row of every model, as `tests/dbt_models.py` reads them from the DuckDB file.
fn model_rows(db: &Path) -> BTreeMap<String, Vec<Value>> {
    let out = common::output(
        Command::new(common::dbt_python())
            .arg(common::root().join("tests/dbt_models.py"))
            .arg(db)
            .args(MODELS.iter().map(|(m, _)| *m)),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut rows: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in out.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        rows.entry(v["model"].as_str().unwrap().to_string()).or_default().push(v["row"].clone());
    }
    rows
}

fn key_of(row: &Value, key: &[&str]) -> String {
    key.iter().map(|k| row[*k].to_string()).collect::<Vec<_>>().join("|")
}

/// Whether a model's value is the truth's: numbers within a millisecond's rounding, the rest equal.
fn same(actual: &Value, expected: &Value) -> bool {
    match (actual.as_f64(), expected.as_f64()) {
        (Some(a), Some(e)) => (a - e).abs() <= 1e-6 * e.abs().max(1.0),
        _ => actual == expected,
    }
}

/// `actual` holds exactly `expected`'s rows (by `key`), each with every column `expected` gives.
fn assert_model(model: &str, actual: &[Value], expected: &[Value], key: &[&str]) {
    let actual: BTreeMap<String, &Value> = actual.iter().map(|r| (key_of(r, key), r)).collect();
    let expected: BTreeMap<String, &Value> = expected.iter().map(|r| (key_of(r, key), r)).collect();
    let (a, e): (BTreeSet<&String>, BTreeSet<&String>) = (actual.keys().collect(), expected.keys().collect());
    let missing: Vec<&&String> = e.difference(&a).take(5).collect();
    let extra: Vec<&&String> = a.difference(&e).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{model}: rows missing {missing:?}, rows extra {extra:?}");
    assert!(!expected.is_empty(), "{model}: the truth has no rows, the comparison would prove nothing");
    for (k, want) in &expected {
        let got = actual[k];
        for (column, value) in want.as_object().unwrap() {
            assert!(
                same(&got[column.as_str()], value),
                "{model} {k} `{column}`: model {} but the site says {value}\nrow: {got}",
                got[column.as_str()]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dbt_models_over_a_pipelines_tables_match_what_the_site_holds() {
    let sim = RunningSim::start(SimConfig {
        data: DatasetConfig { issues: 40, ..Default::default() },
        // Field options are for administrators only on Cloud; the pipeline reads every object.
        behaviour: Behaviour { api_user_is_admin: true, ..Default::default() },
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = PipelineYaml::new("analytics", EVERY_OBJECT).source("requests_per_second", "500");
    let file = yaml.write(dir.path(), "analytics.yaml");
    let pipeline = yaml.load(dir.path(), &sim_vars(&sim));
    let first = common::run(&pipeline, RetryConfig::default()).await;
    assert!(first.objects.iter().all(|o| o.status == Status::Ok), "{first:#?}");

    // History moves on between runs: status changes (some reopen a Done issue), new comments
    // and worklogs, and an issue deleted.
    let edited = sim.edit_issues(1, 3, 12);
    sim.edit_issues(1, 6, 6);
    for id in edited.iter().take(4) {
        sim.add_comment(*id).unwrap();
        sim.add_worklog(*id).unwrap();
    }
    let gone = sim
        .visible_issues()
        .iter()
        .map(|(id, _, _)| *id)
        .find(|id| !edited.contains(id) && sim.links(*id).is_empty())
        .unwrap();
    assert_eq!(sim.delete_issues(&[gone]), 1);
    // Jira's worklog feed leaves out the last minute: the site's clock moves past it.
    sim.advance_clock(std::time::Duration::from_secs(120));
    let second = common::run(&pipeline, RetryConfig::default()).await;
    assert!(second.objects.iter().all(|o| o.status == Status::Ok), "{second:#?}");
    let gone_id = gone.to_string();
    let deleted = python_rows(dir.path(), "issues").1.into_iter().find(|r| r["id"] == gone_id).unwrap();
    assert!(!deleted["_deleted_at"].is_null(), "the deleted issue is marked in the table: {deleted}");
    let as_of_ms = chrono::Utc::now().timestamp_millis() + 1_000;
    let as_of =
        chrono::DateTime::from_timestamp_millis(as_of_ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);

    // A new folder: discover writes the bundled analytics project, then the generated files.
    let project = dir.path().join("analytics");
    let out = common::output(common::jirapipe_for(&sim).arg("discover").arg(&file).arg("--dbt").arg(&project));
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("wrote jirapipe's analytics dbt project"), "{}", out.stdout);
    assert!(out.stdout.contains("role sprint        customfield_10020"), "{}", out.stdout);
    assert!(out.stdout.contains("customfield_10016    Story Points                 -> story_points"), "{}", out.stdout);
    let staging = std::fs::read_to_string(project.join("generated/models/stg_jira__issues.sql")).unwrap();
    assert!(staging.contains("\"customfield_10033\" as \"severity\""), "{staging}");

    let build = dbt_build(&project, &as_of);
    assert_eq!(build.code, Some(0), "dbt build failed:\n{}{}", build.stdout, build.stderr);
    let done = build.stdout.lines().find(|l| l.contains("Done. PASS=")).unwrap_or_else(|| panic!("{}", build.stdout));
    assert!(done.contains("ERROR=0") && done.contains("WARN=0"), "{done}");
    let tests = build.stdout.lines().filter(|l| l.contains(" PASS ")).count();
    assert!(tests >= 30, "the models' dbt tests ran ({tests}):\n{}", build.stdout);

    let rows = model_rows(&project.join("target/test.duckdb"));
    let truth = Truth::read(&sim, as_of_ms);
    assert!(!truth.issue_enhanced().iter().any(|i| i["issue_id"] == gone_id));
    for (model, key) in MODELS {
        let expected = match model {
            "issue_enhanced" => truth.issue_enhanced(),
            "issue_status_time" => truth.issue_status_time(),
            "issue_cycle_time" => truth.issue_cycle_time(),
            "issue_daily_history" => truth.issue_daily_history(),
            "sprint_report" => truth.sprint_report(),
            "worklog_daily" => truth.worklog_daily(),
            "project_health" => truth.project_health(),
            _ => unreachable!(),
        };
        assert_model(model, rows.get(model).map_or(&[][..], |r| &r[..]), &expected, key);
    }
    // The data exercises what the models distinguish: reopened issues, issues added to a sprint
    // after it started or moved out of one while it ran, completed and carried-over work.
    let cycle = truth.issue_cycle_time();
    assert!(cycle.iter().any(|c| c["reopen_count"].as_u64() > Some(0)), "no reopened issue");
    let sprints = truth.sprint_report();
    for column in ["committed_issues", "added_issues", "removed_issues", "completed_issues", "carried_over_issues"] {
        assert!(sprints.iter().any(|s| s[column].as_u64() > Some(0)), "no sprint has {column}");
    }
}

/// A folder that is neither empty nor a dbt project is refused before Jira is asked anything.
#[test]
fn discover_dbt_refuses_a_folder_that_is_not_a_dbt_project() {
    let dir = tempfile::tempdir().unwrap();
    let file = PipelineYaml::new("p", "  issues: {}").write(dir.path(), "p.yaml");
    let target = dir.path().join("notes");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("todo.txt"), "mine").unwrap();
    let out = common::output(common::jirapipe().arg("discover").arg(&file).arg("--dbt").arg(&target).envs(OFFLINE_ENV));
    assert_eq!(out.code, Some(2), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("is not a dbt project") && out.stderr.contains("new or empty folder"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 1, "nothing written");
}

/// A pipeline without some of the objects the models read gets empty staging views of their
/// columns (and says so), so the models still build; the issues view keeps live rows only
/// and gives every column the models read, null when not selected.
#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_without_the_models_objects_gets_empty_staging_views() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = PipelineYaml::new("p", "  issues: {fields: {include: [summary, status]}}\n  sprints: {}");
    let pipeline = yaml.load(dir.path(), &jirapipe::config::Vars::only(OFFLINE_ENV));
    let catalogue: Vec<jirapipe::jira::fields::FieldDef> = serde_json::from_value(serde_json::Value::Array(
        jira_sim::Dataset::new(Default::default(), "http://x").fields(),
    ))
    .unwrap();
    let g = jirapipe::dbt::generate(&pipeline, &catalogue).await.unwrap();
    let names: Vec<&str> = g.stubbed.iter().map(|k| k.name()).collect();
    assert_eq!(names, ["status_intervals", "field_history", "comments", "worklogs", "issue_links", "statuses"]);
    let file = |name: &str| &g.files.iter().find(|(p, _)| p.ends_with(name)).unwrap_or_else(|| panic!("{name}")).1;
    let comments = file("stg_jira__comments.sql");
    assert!(comments.contains("does not read `comments`") && comments.ends_with("where 1 = 0\n"), "{comments}");
    assert!(comments.contains("cast(null as VARCHAR) as \"issue_id\""), "{comments}");
    let issues = file("stg_jira__issues.sql");
    assert!(
        issues.contains("\"summary\" as \"summary\"") && issues.contains("where \"_deleted_at\" is null"),
        "{issues}"
    );
    assert!(issues.contains("cast(null as DOUBLE) as \"story_points\""), "{issues}");
    assert!(issues.contains("Not in the table, null here (the models read them): priority,"), "{issues}");
    let sources = file("_jira__sources.yml");
    assert!(sources.contains("delta_scan('{{ var('jirapipe_lake', '"), "{sources}");
    assert!(!sources.contains("name: comments"), "{sources}");
}
