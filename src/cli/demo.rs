//! `jirapipe demo`: the whole path on one machine, no Jira account needed.

use std::path::Path;

use jira_sim::{DatasetConfig, RunningSim, SimConfig};
use jirapipe::config::{Vars, load_str};

use super::{Exit, report_load_error};

/// The demo pipeline, embedded so `demo` works from any directory.
const DEMO_PIPELINE: &str = include_str!("../../pipelines/demo.yaml");

pub async fn run(dir: &Path, issues: u64) -> Exit {
    let sim = match RunningSim::start(SimConfig {
        data: DatasetConfig { issues, ..Default::default() },
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
            Exit::Ok
        }
        Err(code) => code,
    }
}
