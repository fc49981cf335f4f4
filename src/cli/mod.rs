//! The command line: one file per subcommand. Exit codes: 0 ok, 1 run failed, 2 bad input or
//! configuration, 3 another process is running the pipeline.

mod demo;
mod run;
mod schedule;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: the run finished.
pub const EXIT_OK: u8 = 0;
/// Exit code: the run failed (Jira, network or storage); the tables stay at their last commit.
pub const EXIT_RUN_FAILED: u8 = 1;
/// Exit code: bad input: invalid pipeline file, unsupported setting, bad flags.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: another process holds the pipeline's lease (it is running); nothing was done.
pub const EXIT_BUSY: u8 = 3;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  the run failed (Jira, network or storage); tables stay at their last good commit
  2  bad input: invalid pipeline file, missing ${VAR}, unsupported setting, bad flags
  3  another process is running this pipeline (it holds the lease); nothing was done

Start here:
  jirapipe demo                       simulated Jira site -> Delta tables in ./jirapipe-demo
  jirapipe validate pipelines/*.yaml  check pipeline files without touching Jira
  jirapipe run pipelines/acme.yaml    extract once (for cron, systemd, Kubernetes, Airflow)
  jirapipe schedule pipelines/        run each pipeline on its schedule (a daemon)";

/// Extract Jira Cloud and Data Center data into Delta Lake tables, driven by YAML pipeline files.
#[derive(Debug, Parser)]
#[command(name = "jirapipe", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr. Verbosity follows RUST_LOG (default: jirapipe at info, libraries at warn).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check pipeline files offline: syntax, keys, types, ${VAR}s and combinations.
    ///
    /// Every problem is shown with its file:line:column, the offending line and how to fix it.
    /// Exits 2 if any file is invalid.
    Validate {
        /// Pipeline files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a pipeline once: extract from Jira and commit one Delta table per object.
    ///
    /// Secrets are read from the environment (${VAR}) or from *_file paths. Each table is
    /// written in a single commit (replaced, or merged by id for incremental issues), so
    /// readers never see a partial run.
    ///
    /// The run holds a lease in the destination, so two runs of the same pipeline (on one
    /// machine or many) never overlap: the second exits 3 at once. SIGTERM or SIGINT abandons
    /// the run (every table stays at its last commit), releases the lease and exits 1.
    Run {
        /// The pipeline file.
        file: PathBuf,
        #[command(flatten)]
        lease: schedule::LeaseArgs,
    },
    /// Run pipelines on their `schedule` until stopped (SIGTERM/SIGINT), or print their next
    /// fire times with --dry-run.
    ///
    /// A fire time that comes while the pipeline's previous run is still going is skipped and
    /// logged. On SIGTERM or SIGINT no new run starts; running ones get --grace to finish, then
    /// are abandoned (every table stays at its last commit), and the daemon exits 0.
    Schedule(schedule::Args),
    /// Start a simulated Jira site and run pipelines/demo.yaml against it into a local folder.
    Demo {
        /// Where to write the tables.
        #[arg(long, default_value = "jirapipe-demo")]
        dir: PathBuf,
        /// Issues on the simulated site.
        #[arg(long, default_value_t = 500)]
        issues: u64,
    },
}

/// Parses arguments, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUN_FAILED);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Validate { files } => validate::run(&files),
            Command::Run { file, lease } => run::run(&file, lease.lease_ttl).await,
            Command::Schedule(args) => schedule::run(args).await,
            Command::Demo { dir, issues } => demo::run(&dir, issues).await,
        }
    });
    ExitCode::from(code)
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    // The Delta kernel logs an ERROR when it probes a table that does not exist yet, which is
    // how every first run starts; its real failures reach us as errors anyway.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,jirapipe=info,jira_sim=info,buoyant_kernel=off"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

/// Prints a diagnostic with its source snippet; colour only on a terminal.
pub(crate) fn print_diagnostic(d: &dyn miette::Diagnostic) {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme =
        if std::io::stderr().is_terminal() { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let mut out = String::new();
    if GraphicalReportHandler::new_themed(theme).with_width(100).render_report(&mut out, d).is_err() {
        out = d.to_string();
    }
    eprintln!("{out}");
}

/// Loads a pipeline, printing every problem; `None` means exit 2.
pub(crate) fn load(file: &std::path::Path, vars: &jirapipe::config::Vars) -> Option<jirapipe::config::Pipeline> {
    match jirapipe::config::load_file(file, vars) {
        Ok(p) => Some(p),
        Err(e) => {
            report_load_error(&e);
            None
        }
    }
}

pub(crate) fn report_load_error(e: &jirapipe::config::LoadError) {
    if e.errors().is_empty() {
        print_diagnostic(e);
    }
    for err in e.errors() {
        print_diagnostic(err);
    }
}
