//! `jirapipe run`: one run of one pipeline.

use std::path::Path;

use jirapipe::config::{Pipeline, Vars};
use jirapipe::jira::RetryConfig;
use jirapipe::runner::{self, RunReport};

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED, load};

pub async fn run(file: &Path) -> u8 {
    let Some(pipeline) = load(file, &Vars::from_env()) else { return EXIT_BAD_INPUT };
    execute(&pipeline).await.map(|_| EXIT_OK).unwrap_or_else(|code| code)
}

/// Runs a loaded pipeline and prints its outcome; `Err` carries the exit code.
pub async fn execute(pipeline: &Pipeline) -> Result<RunReport, u8> {
    match runner::run(pipeline, RetryConfig::default()).await {
        Ok(report) => {
            for o in &report.objects {
                let version = o.table_version.map_or_else(|| "unchanged".to_string(), |v| format!("version {v}"));
                let skipped = if o.skipped > 0 { format!(", {} skipped", o.skipped) } else { String::new() };
                println!("{:<10} {:>8} rows{skipped}  -> {} ({version})", o.object, o.rows_written, o.table);
                for w in &o.warnings {
                    println!("  warning: {}\n    fix: {}", w.message, w.fix);
                }
            }
            Ok(report)
        }
        Err(e) => {
            eprintln!("error: pipeline `{}`: {e}", pipeline.name);
            Err(if e.is_config() { EXIT_BAD_INPUT } else { EXIT_RUN_FAILED })
        }
    }
}
