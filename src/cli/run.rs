//! `jirapipe run`: one run of one pipeline, under the pipeline's lease.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jirapipe::config::{Pipeline, Vars};
use jirapipe::jira::RetryConfig;
use jirapipe::metrics::{Metrics, RunOutcome, textfile};
use jirapipe::runner::{self, RunReport};
use jirapipe::schedule::lease::DEFAULT_TTL;
use jirapipe::schedule::{Clock, ExclusiveError, LeaseError, LeaseLock, SystemClock, run_exclusive_with};

use super::schedule::StopSignals;
use super::{Exit, load};

/// Where a run's outputs go besides the tables.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outputs<'a> {
    /// The JSON run report (`-`: stdout).
    pub report: Option<&'a Path>,
    /// The metrics, in node_exporter's textfile format.
    pub metrics: Option<&'a Path>,
}

pub async fn run(file: &Path, outputs: Outputs<'_>, allow_mass_delete: bool, lease_ttl: Duration) -> Exit {
    let Some(mut pipeline) = load(file, &Vars::from_env()) else { return Exit::BadInput };
    if allow_mass_delete {
        // This run only: the next one guards again with the file's limit.
        for o in &mut pipeline.objects {
            o.max_deleted_fraction = 1.0;
        }
    }
    execute_leased(&pipeline, outputs, lease_ttl).await.map(|_| Exit::Ok).unwrap_or_else(|code| code)
}

/// Runs a loaded pipeline under its lease (default TTL) and prints its outcome; `Err` carries
/// the exit code.
pub async fn execute(pipeline: &Pipeline, report_to: Option<&Path>) -> Result<RunReport, Exit> {
    execute_leased(pipeline, Outputs { report: report_to, metrics: None }, DEFAULT_TTL).await
}

/// Takes the pipeline's lease, runs it, prints the outcome. With `report_to`, the JSON run
/// report goes to that path (`-`: stdout, and the summary moves to stderr so stdout stays pure
/// JSON), whether the run succeeded or not. SIGTERM or SIGINT abandons the run (every table
/// stays at its last commit), releases the lease and exits 1.
async fn execute_leased(pipeline: &Pipeline, outputs: Outputs<'_>, lease_ttl: Duration) -> Result<RunReport, Exit> {
    let name = &pipeline.name;
    let report_to = outputs.report;
    let mut signals = StopSignals::new();
    let clock = Arc::new(SystemClock);
    let metrics = Metrics::new();
    metrics.pipeline(pipeline);
    // Written however the run ends, so a failed or skipped run shows too.
    let write_metrics = |metrics: &Metrics| match outputs.metrics {
        Some(path) => textfile::write(path, &metrics.render(clock.now())).map_err(|e| {
            eprintln!("error: {e}");
            Exit::RunFailed
        }),
        None => Ok(()),
    };
    let lock = match LeaseLock::for_destination(&pipeline.destination, name, lease_ttl, clock.clone()) {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("error: pipeline `{name}`: {e}");
            metrics.outcome(name, RunOutcome::Failed, clock.now());
            write_metrics(&metrics).ok();
            return Err(Exit::RunFailed);
        }
    };
    let work = async {
        metrics.lease_taken(name, clock.now());
        runner::run_reported(pipeline, RetryConfig::default()).await
    };
    let done = run_exclusive_with(pipeline, &lock, work, signals.next()).await;
    metrics.lease_let_go(name);
    let (report, result) = match done {
        Ok(done) => done,
        Err(ExclusiveError::Lease(e @ LeaseError::Busy(_))) => {
            eprintln!(
                "error: {e}\n  nothing was done. Runs of one pipeline never overlap; if that process \
                 crashed, its lease frees itself at the expiry shown."
            );
            metrics.outcome(name, RunOutcome::Busy, clock.now());
            write_metrics(&metrics).ok();
            return Err(Exit::Busy);
        }
        Err(e) => {
            eprintln!("error: pipeline `{name}`: {e}");
            let outcome = if matches!(e, ExclusiveError::Stopped) { RunOutcome::Abandoned } else { RunOutcome::Failed };
            metrics.outcome(name, outcome, clock.now());
            write_metrics(&metrics).ok();
            return Err(Exit::RunFailed);
        }
    };
    metrics.record_run(&report);
    let to_stdout = report_to == Some(Path::new("-"));
    let summary = summary(&report);
    if to_stdout {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    let mut code = match &result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: pipeline `{name}`: {e}");
            if e.is_config() { Exit::BadInput } else { Exit::RunFailed }
        }
    };
    if let Some(path) = report_to
        && let Err(e) = write_report(&report, path)
    {
        eprintln!("error: cannot write the run report to {}: {e}", path.display());
        code = code.max(Exit::RunFailed);
    }
    if write_metrics(&metrics).is_err() {
        code = code.max(Exit::RunFailed);
    }
    if code == Exit::Ok { Ok(report) } else { Err(code) }
}

fn summary(report: &RunReport) -> String {
    let mut out = String::new();
    for o in &report.objects {
        let version = o.table_version.map_or_else(|| "unchanged".to_string(), |v| format!("version {v}"));
        let skipped = if o.skipped > 0 { format!(", {} skipped", o.skipped) } else { String::new() };
        out.push_str(&format!("{:<10} {:>8} rows{skipped}  -> {} ({version})\n", o.object, o.rows_written, o.table));
        for w in &o.warnings {
            out.push_str(&format!("  warning: {}\n    fix: {}\n", w.message, w.fix));
        }
    }
    out
}

fn write_report(report: &RunReport, path: &Path) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(&json)?;
        return out.write_all(b"\n");
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // A reader (a scheduler, a dashboard) never sees half a report.
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}
