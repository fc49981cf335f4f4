//! `jirapipe run`: one run of one pipeline, under the pipeline's lease.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jirapipe::config::{Pipeline, Vars};
use jirapipe::jira::RetryConfig;
use jirapipe::runner::RunReport;
use jirapipe::schedule::lease::DEFAULT_TTL;
use jirapipe::schedule::{ExclusiveError, LeaseError, LeaseLock, SystemClock, run_exclusive};

use super::schedule::StopSignals;
use super::{EXIT_BAD_INPUT, EXIT_BUSY, EXIT_OK, EXIT_RUN_FAILED, load};

pub async fn run(file: &Path, lease_ttl: Duration) -> u8 {
    let Some(pipeline) = load(file, &Vars::from_env()) else { return EXIT_BAD_INPUT };
    execute_leased(&pipeline, lease_ttl).await.map(|_| EXIT_OK).unwrap_or_else(|code| code)
}

/// Runs a loaded pipeline with the default lease TTL and prints its outcome; `Err` carries
/// the exit code.
pub async fn execute(pipeline: &Pipeline) -> Result<RunReport, u8> {
    execute_leased(pipeline, DEFAULT_TTL).await
}

/// Takes the pipeline's lease, runs it, prints the outcome. SIGTERM or SIGINT abandons the run
/// (every table stays at its last commit), releases the lease and exits 1.
async fn execute_leased(pipeline: &Pipeline, lease_ttl: Duration) -> Result<RunReport, u8> {
    let name = &pipeline.name;
    let mut signals = StopSignals::new();
    let clock = Arc::new(SystemClock);
    let lock = LeaseLock::for_destination(&pipeline.destination.url, name, lease_ttl, clock).map_err(|e| {
        eprintln!("error: pipeline `{name}`: {e}");
        EXIT_RUN_FAILED
    })?;
    match run_exclusive(pipeline, &lock, RetryConfig::default(), signals.next()).await {
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
        Err(ExclusiveError::Lease(e @ LeaseError::Busy(_))) => {
            eprintln!(
                "error: {e}\n  nothing was done. Runs of one pipeline never overlap; if that process \
                 crashed, its lease frees itself at the expiry shown."
            );
            Err(EXIT_BUSY)
        }
        Err(ExclusiveError::Run(e)) => {
            eprintln!("error: pipeline `{name}`: {e}");
            Err(if e.is_config() { EXIT_BAD_INPUT } else { EXIT_RUN_FAILED })
        }
        Err(e) => {
            eprintln!("error: pipeline `{name}`: {e}");
            Err(EXIT_RUN_FAILED)
        }
    }
}
