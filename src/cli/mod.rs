//! The command line: one file per subcommand. Exit codes: 0 ok, 1 run failed, 2 bad input or
//! configuration, 3 another process is running the pipeline.

mod check;
mod demo;
mod discover;
mod run;
mod schedule;
mod state;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// How a command ended, as its exit code. Ordered by severity, so the worst of several wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// The command did what it was asked.
    Ok = 0,
    /// The run failed (Jira, network or storage); the tables stay at their last commit.
    RunFailed = 1,
    /// Bad input: invalid pipeline file, unsupported setting, bad flags.
    BadInput = 2,
    /// Another process holds the pipeline's lease (it is running); nothing was done.
    Busy = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

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
        /// Write the JSON run report here (`-`: stdout; the summary then goes to stderr). Written
        /// on failure too: per object rows read/written/rejected/skipped, cursor before/after,
        /// duration, warnings with fixes; requests, retries, 429s and bytes for the run.
        #[arg(long, value_name = "PATH|-")]
        report: Option<PathBuf>,
        /// Also write the run's metrics here, in node_exporter's textfile-collector format
        /// (a `*.prom` file in its --collector.textfile.directory), atomically. Counters add up
        /// across runs from the file's previous values; see docs/operating.md.
        #[arg(long, value_name = "PATH")]
        metrics_file: Option<PathBuf>,
        /// Let this one run mark more of a table deleted than `max_deleted_fraction` allows
        /// (after a run refused because Jira really lost that many issues).
        #[arg(long)]
        allow_mass_delete: bool,
        #[command(flatten)]
        lease: schedule::LeaseArgs,
    },
    /// Test a pipeline against its Jira site: connection, credentials, OAuth scopes, and one
    /// record of each object.
    ///
    /// Prints a table (object, status, records visible) with each problem and its fix from
    /// jirapipe's error catalog. Exits 1 if any probe failed (warnings do not fail), 2 if the
    /// file is invalid. Nothing is written, except a rotated OAuth refresh token to `token_store`.
    Check {
        /// The pipeline file.
        file: PathBuf,
        /// Print the findings as JSON (with stable catalog codes) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List every object's fields: id, name, Jira type, column type, custom or not, and the
    /// personal data found (emails, display names, phone numbers) as `hash` paths.
    Discover {
        /// The pipeline file (its source is read; objects do not matter).
        file: PathBuf,
        /// Print a starter pipeline with every object and the suggested hashes instead.
        #[arg(long)]
        write_pipeline: bool,
        /// Write the dbt sources and staging models of the pipeline's destination into this dbt
        /// project, under `generated/`; a new or empty folder first gets jirapipe's analytics
        /// project. See docs/analytics.md.
        #[arg(long, value_name = "DIR", conflicts_with = "write_pipeline")]
        dbt: Option<PathBuf>,
    },
    /// Show or rewind where each object's next run starts.
    #[command(subcommand)]
    State(StateCommand),
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

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Per object: table version, cursor, and the last run from the `_runs` table.
    Show {
        /// The pipeline file.
        file: PathBuf,
    },
    /// Rewind the cursor of incremental objects (issues), in a commit of its own.
    ///
    /// Without --to the cursor is forgotten: the next run re-extracts every issue the JQL
    /// matches and merges it by id (rows are kept, not replaced). With --to, the next run starts
    /// at that time (less `lookback`). Asks for confirmation unless --yes.
    Reset {
        /// The pipeline file.
        file: PathBuf,
        /// Only this object (default: every incremental object).
        #[arg(long)]
        object: Option<String>,
        /// New cursor: RFC 3339 (2026-03-01T09:00:00Z), `2026-03-01 09:00` or `2026-03-01` (UTC).
        #[arg(long)]
        to: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
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
            return ExitCode::from(Exit::RunFailed);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Validate { files } => validate::run(&files),
            Command::Run { file, report, metrics_file, allow_mass_delete, lease } => {
                let outputs = run::Outputs { report: report.as_deref(), metrics: metrics_file.as_deref() };
                run::run(&file, outputs, allow_mass_delete, lease.lease_ttl).await
            }
            Command::Check { file, json } => check::run(&file, json).await,
            Command::Discover { file, write_pipeline, dbt } => {
                discover::run(&file, write_pipeline, dbt.as_deref()).await
            }
            Command::State(StateCommand::Show { file }) => state::show(&file).await,
            Command::State(StateCommand::Reset { file, object, to, yes }) => {
                state::reset(&file, object.as_deref(), to.as_deref(), yes).await
            }
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
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).json().boxed(),
        LogFormat::Text => {
            let terminal = std::io::stderr().is_terminal();
            if terminal {
                // Bars only where a person watches; pipes, cron mail and JSON logs stay clean.
                jirapipe::progress::enable();
            }
            tracing_subscriber::fmt::layer().with_writer(|| jirapipe::progress::LogWriter).with_ansi(terminal).boxed()
        }
    };
    // The storage client's retries are counted whatever the log filter shows.
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(jirapipe::metrics::storage_retries_layer())
        .init();
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
