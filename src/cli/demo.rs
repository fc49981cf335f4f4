//! `jirapipe demo`: the whole path on one machine, no Jira account needed.

use std::path::Path;

use jira_sim::{Behaviour, DatasetConfig, RunningSim, SimConfig};
use jirapipe::check;
use jirapipe::config::{Pipeline, Vars, load_str};
use jirapipe::dbt;
use jirapipe::jira::JiraClient;
use jirapipe::table::TableStore;

use super::{Exit, report_load_error};

/// The demo pipeline, embedded so `demo` works from any directory.
const DEMO_PIPELINE: &str = include_str!("../../pipelines/demo.yaml");

pub async fn run(dir: &Path, issues: u64) -> Exit {
    let sim = match RunningSim::start(SimConfig {
        data: DatasetConfig { issues, ..Default::default() },
        // The demo's user administers its site: Cloud shows custom field options to no one else.
        behaviour: Behaviour { api_user_is_admin: true, ..Default::default() },
        ..Default::default()
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the Jira simulator on 127.0.0.1: {e}");
            return Exit::RunFailed;
        }
    };
    let dir = match std::path::absolute(dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: bad --dir {}: {e}", dir.display());
            return Exit::BadInput;
        }
    };
    eprintln!("simulated Jira Cloud site with {issues} issues at {}", sim.base_url());
    // The simulator's address and credentials reach the pipeline as ${VAR}s, like real secrets.
    let vars = Vars::from_env()
        .with("JIRA_SITE", sim.base_url())
        .with("JIRA_EMAIL", sim.email())
        .with("JIRA_API_TOKEN", sim.api_token())
        .with("JIRAPIPE_DEMO_DIR", dir.display().to_string());
    let pipeline = match load_str(DEMO_PIPELINE, "pipelines/demo.yaml", Path::new("."), &vars) {
        Ok(p) => p,
        Err(e) => {
            report_load_error(&e);
            return Exit::BadInput;
        }
    };
    let result = super::run::execute(&pipeline, None).await;
    // The dbt project's sources need the site's field names: written while the site is up.
    let project = dir.join("analytics");
    let dbt = match &result {
        Ok(_) => write_dbt_project(&pipeline, &project).await,
        Err(_) => Err(String::new()),
    };
    sim.shutdown().await;
    match result {
        Ok(_) => {
            let issues_table = dir.join("issues");
            println!("\nDelta tables written under {}", dir.display());
            println!("Read them, e.g. with Python:");
            println!(
                "  python3 -c \"import deltalake; print(deltalake.DeltaTable('{}').to_pandas()[['key','summary','updated']].head())\"",
                issues_table.display()
            );
            println!("or DuckDB:  SELECT key, summary, updated FROM delta_scan('{}') LIMIT 5;", issues_table.display());
            print_cycle_times(&pipeline).await;
            match dbt {
                Ok(()) => print_dbt_steps(&project),
                Err(e) => eprintln!("warning: the dbt project was not written: {e}"),
            }
            Exit::Ok
        }
        Err(code) => code,
    }
}

/// Median cycle time per issue type, from the first move into an In Progress-category status
/// to the first Done-category status after it: status intervals joined to the statuses
/// dimension, computed by DataFusion over the Delta tables (docs/analytics.md explains the
/// measure; the `issue_cycle_time` model is the same per issue).
const CYCLE_TIMES: &str = "
WITH stays AS (
    SELECT s.issue_id, s.entered_at, st.category_key
    FROM intervals s
    JOIN statuses st ON st.id = s.status_id
    JOIN issues i ON i.id = s.issue_id AND i._deleted_at IS NULL
),
started AS (
    SELECT issue_id, MIN(entered_at) AS started_at FROM stays WHERE category_key = 'indeterminate' GROUP BY issue_id
),
finished AS (
    SELECT a.issue_id, a.started_at, MIN(s.entered_at) AS done_at
    FROM started a
    JOIN stays s ON s.issue_id = a.issue_id AND s.category_key = 'done' AND s.entered_at >= a.started_at
    GROUP BY a.issue_id, a.started_at
)
SELECT get_field(i.issuetype, 'name') AS issue_type,
       median((date_part('epoch', f.done_at) - date_part('epoch', f.started_at)) / 86400.0) AS days,
       COUNT(*) AS issues
FROM finished f JOIN issues i ON i.id = f.issue_id
GROUP BY get_field(i.issuetype, 'name')
ORDER BY issue_type";

async fn print_cycle_times(pipeline: &Pipeline) {
    let store = TableStore::for_destination(&pipeline.destination);
    let tables = [("issues", "issues"), ("issue_status_intervals", "intervals"), ("statuses", "statuses")];
    match store.query_tables(&tables, CYCLE_TIMES).await {
        Ok(Some(rows)) => {
            println!("\nMedian cycle time (first In Progress to the first Done after it), per issue type:");
            for r in rows {
                let text = |k: usize| r.get(k).cloned().flatten().unwrap_or_default();
                let days: f64 = text(1).parse().unwrap_or(f64::NAN);
                println!("  {:<10} {days:>6.1} days  ({} issues)", text(0), text(2));
            }
        }
        Ok(None) => eprintln!("warning: no cycle times: a table is missing"),
        Err(e) => eprintln!("warning: cannot compute the cycle times: {e}"),
    }
}

/// The analytics dbt project, with its sources and staging models for the demo's tables.
async fn write_dbt_project(pipeline: &Pipeline, project: &Path) -> Result<(), String> {
    let fresh = super::discover::project_state(project)?;
    let client = JiraClient::connect(&pipeline.source, check::probe_retry()).await.map_err(|e| e.to_string())?;
    let fields = client.fields().await.map_err(|e| e.to_string())?;
    let generated = dbt::generate(pipeline, &fields).await.map_err(|e| e.to_string())?;
    super::discover::write_project(project, fresh, &generated.files).map_err(|e| e.to_string())
}

fn print_dbt_steps(project: &Path) {
    let venv = std::path::absolute(".venv").unwrap_or_else(|_| ".venv".into());
    let (p, v) = (project.display(), venv.display());
    println!("\nThe same questions and more as a dbt project (DuckDB reads these tables in place):");
    println!("  {p}  (models: docs/analytics.md)");
    println!("  python3 -m venv {v} && {v}/bin/pip install -r {p}/requirements.txt");
    println!(
        "  export JIRAPIPE_DUCKDB_EXTENSIONS=$({v}/bin/python -c \"import duckdb_ext, os; print(os.path.join(duckdb_ext.__path__[0], 'extensions'))\")"
    );
    println!("  cd {p} && {v}/bin/dbt build --profiles-dir .");
}
