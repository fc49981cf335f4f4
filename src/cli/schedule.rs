//! `jirapipe schedule`: the built-in daemon for one or many pipelines, or with `--dry-run` their
//! next fire times.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use jirapipe::config::{Pipeline, Vars};
use jirapipe::jira::RetryConfig;
use jirapipe::metrics::Metrics;
use jirapipe::schedule::daemon::Options;
use jirapipe::schedule::{Clock, Daemon, Health, LeasedRun, Phase, SystemClock};
use tokio::sync::watch;

use super::{Exit, load};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pipeline files, or directories whose *.yaml and *.yml files are all scheduled.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print the next fire times of each pipeline and exit.
    #[arg(long)]
    dry_run: bool,
    /// How many fire times --dry-run prints per pipeline.
    #[arg(long, default_value_t = 5, requires = "dry_run")]
    count: usize,
    /// Run every pipeline once right away, then follow the schedules (after a deploy, say).
    /// Runs stay at least 15 minutes apart only from the next fire time on.
    #[arg(long, alias = "once-now")]
    run_now: bool,
    /// Serve /metrics (Prometheus text format), /healthz and /readyz on this address, e.g.
    /// 127.0.0.1:9464 (0.0.0.0:9464 for every interface, as in a container).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Start each run after a random delay below this (e.g. 30s), so pipelines on the same
    /// cron do not all hit Jira in the same second.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    jitter: Duration,
    /// After SIGTERM or SIGINT, how long running runs may take to finish before they are
    /// abandoned (a second signal abandons them at once). Keep it below your supervisor's
    /// kill timeout (Kubernetes: terminationGracePeriodSeconds, systemd: TimeoutStopSec).
    #[arg(long, default_value = "25s", value_parser = humantime::parse_duration)]
    grace: Duration,
    #[command(flatten)]
    lease: LeaseArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LeaseArgs {
    /// How long a run's lease lasts without renewal (renewed every fifth of it while the run
    /// goes on). A crashed run blocks its pipeline this long at most.
    #[arg(long, env = "JIRAPIPE_LEASE_TTL", default_value = "5m", value_parser = parse_ttl)]
    pub lease_ttl: Duration,
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(1) {
        return Err("the lease TTL must be at least 1s".into());
    }
    Ok(d)
}

/// SIGTERM and SIGINT, registered at once so a signal that comes early is not lost (nor kills
/// the process with a lease held).
pub struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self { term: signal(SignalKind::terminate()).ok(), int: signal(SignalKind::interrupt()).ok() }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves at the next SIGTERM or SIGINT.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = recv(&mut self.term) => {}
                () = recv(&mut self.int) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub async fn run(args: Args) -> Exit {
    let mut signals = StopSignals::new();
    let Some(pipelines) = load_all(&args.paths) else { return Exit::BadInput };
    let now = Utc::now();
    if args.dry_run {
        for (file, p) in &pipelines {
            let schedule = p.schedule.as_ref().expect("checked by load_all");
            println!("{}  {schedule}  ({})", p.name, file.display());
            for t in schedule.upcoming(now, args.count) {
                println!("  {}", schedule.format_time(t));
            }
        }
        return Exit::Ok;
    }
    for (file, p) in &pipelines {
        let schedule = p.schedule.as_ref().expect("checked by load_all");
        let next = schedule.next_after(now).map(|t| schedule.format_time(t)).unwrap_or_else(|| "never".into());
        tracing::info!(pipeline = %p.name, file = %file.display(), %schedule, next = %next, "scheduled");
    }
    let metrics = Arc::new(Metrics::new());
    for (_, p) in &pipelines {
        metrics.pipeline(p);
    }
    let health = Arc::new(Health::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let server = match &args.listen {
        Some(addr) => match jirapipe::schedule::serve::bind(addr, metrics.clone(), health.clone(), clock.clone()).await
        {
            Ok((bound, serve)) => {
                tracing::info!(address = %bound, "serving /metrics, /healthz and /readyz on http://{bound}");
                Some(tokio::spawn(serve))
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::BadInput;
            }
        },
        None => None,
    };
    let job = LeasedRun::new(args.lease.lease_ttl, RetryConfig::default()).with_metrics(metrics);
    let options = Options { jitter: args.jitter, once_now: args.run_now };
    let pipelines = pipelines.into_iter().map(|(_, p)| p).collect();
    let daemon = Daemon::new(pipelines, Arc::new(job), clock, options).with_health(health);
    let (phase, rx) = watch::channel(Phase::Running);
    let grace = args.grace;
    let stopper = async move {
        signals.next().await;
        tracing::info!(grace = %humantime::format_duration(grace), "stopping: no new runs; running runs may finish");
        phase.send_replace(Phase::Draining);
        tokio::select! {
            () = tokio::time::sleep(grace) => {}
            () = signals.next() => {}
        }
        tracing::warn!("abandoning running runs; every table stays at its last commit");
        phase.send_replace(Phase::Abandoning);
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = daemon.run(rx) => {}
        () = stopper => {}
    }
    if let Some(server) = server {
        server.abort();
    }
    tracing::info!("stopped");
    Exit::Ok
}

/// Every pipeline named by `paths`, each with a schedule and a unique name; `None` (after
/// printing every problem) when any is not.
fn load_all(paths: &[PathBuf]) -> Option<Vec<(PathBuf, Pipeline)>> {
    let mut files = Vec::new();
    let mut ok = true;
    for path in paths {
        if path.is_dir() {
            match yaml_files(path) {
                Ok(found) if found.is_empty() => {
                    eprintln!("error: no *.yaml or *.yml pipeline files in {}", path.display());
                    ok = false;
                }
                Ok(found) => files.extend(found),
                Err(e) => {
                    eprintln!("error: cannot list {}: {e}", path.display());
                    ok = false;
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    let vars = Vars::from_env();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut pipelines = Vec::new();
    for file in files {
        let Some(p) = load(&file, &vars) else {
            ok = false;
            continue;
        };
        if p.schedule.is_none() {
            eprintln!(
                "error: {}: pipeline `{}` has no `schedule`\n  help: add `schedule: {{cron: \"*/15 * * * *\"}}` \
                 (or `every: 30m`), or run it on demand with `jirapipe run`",
                file.display(),
                p.name
            );
            ok = false;
        }
        if let Some(first) = seen.insert(p.name.clone(), file.clone()) {
            eprintln!(
                "error: {} and {} both define pipeline `{}`\n  help: give each pipeline its own `name`",
                first.display(),
                file.display(),
                p.name
            );
            ok = false;
        }
        pipelines.push((file, p));
    }
    ok.then_some(pipelines)
}

fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    Ok(files)
}
