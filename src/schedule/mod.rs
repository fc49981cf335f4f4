//! Running pipelines on time, one run at a time: fire times with the 15-minute floor
//! ([`cron`]), the lease that keeps two processes from running the same pipeline at once
//! ([`lease`]), and the daemon behind `jirapipe schedule` ([`daemon`]) on an injectable
//! [`Clock`].

pub mod clock;

pub mod daemon;
pub mod event;
pub mod health;
pub mod lease;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, LocalBoxFuture};

pub use crate::config::cron::{MIN_INTERVAL, Schedule, ScheduleError};
pub use clock::{Clock, ManualClock, SystemClock};
pub use daemon::{Daemon, Job, Phase};
pub use event::{Event, Outcome, SkipReason};
pub use health::{Health, Readiness};
pub use lease::{Holder, Lease, LeaseError, LeaseLock, LeaseRecord};

use crate::config::Pipeline;
use crate::jira::RetryConfig;
use crate::metrics::{Metrics, RunOutcome};
use crate::runner::{self, RunError, RunReport};

/// Why a run under the lease did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExclusiveError {
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("stopped before it finished; every table stays at its last commit")]
    Stopped,
}

/// Runs `pipeline` once while holding its lease, so no other process runs it meanwhile.
/// `stop` abandons the run when it resolves: the run is dropped between or inside object
/// writes, and since each table changes only by one atomic Delta commit, every table stays at
/// its last commit. The lease is released in every case but a lost one.
pub async fn run_exclusive(
    pipeline: &Pipeline,
    lock: &LeaseLock,
    retry: RetryConfig,
    stop: impl Future<Output = ()>,
) -> Result<RunReport, ExclusiveError> {
    Ok(run_exclusive_with(pipeline, lock, runner::run(pipeline, retry), stop).await??)
}

/// Runs `work` (a run of `pipeline`) while holding the pipeline's lease; `stop` abandons it.
pub async fn run_exclusive_with<T>(
    pipeline: &Pipeline,
    lock: &LeaseLock,
    work: impl Future<Output = T>,
    stop: impl Future<Output = ()>,
) -> Result<T, ExclusiveError> {
    let mut lease = lock.acquire(Holder::this_process()).await?;
    tracing::info!(pipeline = %pipeline.name, holder = %lease.record().holder, "lease taken");
    let work = async {
        tokio::select! {
            out = work => Some(out),
            () = stop => None,
        }
    };
    let outcome = lease.hold(work).await?;
    if let Err(e) = lease.release().await {
        tracing::warn!(pipeline = %pipeline.name, error = %e, "lease not released; it expires by itself");
    }
    outcome.ok_or(ExclusiveError::Stopped)
}

/// The daemon's real job: one leased run of the pipeline, against its own destination, with
/// what it did recorded in `metrics`.
#[derive(Debug, Clone)]
pub struct LeasedRun {
    pub lease_ttl: Duration,
    pub retry: RetryConfig,
    pub metrics: Option<Arc<Metrics>>,
}

impl LeasedRun {
    pub fn new(lease_ttl: Duration, retry: RetryConfig) -> Self {
        Self { lease_ttl, retry, metrics: None }
    }

    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        Self { metrics: Some(metrics), ..self }
    }
}

impl Job for LeasedRun {
    fn run(&self, pipeline: Arc<Pipeline>, abandon: BoxFuture<'static, ()>) -> LocalBoxFuture<'static, Outcome> {
        let this = self.clone();
        Box::pin(async move {
            let clock = Arc::new(SystemClock);
            let name = pipeline.name.as_str();
            let note = |outcome: RunOutcome| {
                if let Some(m) = &this.metrics {
                    m.outcome(name, outcome, clock.now());
                }
            };
            let lock = match LeaseLock::for_destination(&pipeline.destination, name, this.lease_ttl, clock.clone()) {
                Ok(l) => l,
                Err(e) => {
                    note(RunOutcome::Failed);
                    return Outcome::Failed(e.to_string());
                }
            };
            // The work starts once the lease is taken.
            let work = async {
                if let Some(m) = &this.metrics {
                    m.lease_taken(name, clock.now());
                }
                runner::run_reported(&pipeline, this.retry).await
            };
            let done = run_exclusive_with(&pipeline, &lock, work, abandon).await;
            if let Some(m) = &this.metrics {
                m.lease_let_go(name);
            }
            match done {
                Ok((report, result)) => {
                    if let Some(m) = &this.metrics {
                        m.record_run(&report);
                    }
                    match result {
                        Ok(()) => {
                            Outcome::Succeeded { rows: report.objects.iter().map(|o| o.rows_written as u64).sum() }
                        }
                        Err(e) => Outcome::Failed(e.to_string()),
                    }
                }
                Err(ExclusiveError::Lease(e @ LeaseError::Busy(_))) => {
                    note(RunOutcome::Busy);
                    Outcome::Busy(e.to_string())
                }
                Err(ExclusiveError::Stopped) => {
                    note(RunOutcome::Abandoned);
                    Outcome::Abandoned
                }
                Err(e) => {
                    note(RunOutcome::Failed);
                    Outcome::Failed(e.to_string())
                }
            }
        })
    }
}
