//! What the daemon reports of each fire time: the events it logs in order, and how each run
//! ended. Its own module because the daemon emits them and [`super::health`] folds them into
//! readiness: both read them, neither owns them.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        rows: u64,
    },
    /// Another process holds the lease.
    Busy(String),
    Failed(String),
    /// Stopped by shutdown before it finished.
    Abandoned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The pipeline's previous run was still going.
    StillRunning,
    /// The daemon was not awake at that time (machine suspended, clock stepped forward).
    Missed,
}

/// What the daemon did, in order per pipeline; each is also logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Started { pipeline: String, fire: DateTime<Utc> },
    Skipped { pipeline: String, fire: DateTime<Utc>, reason: SkipReason },
    Finished { pipeline: String, fire: DateTime<Utc>, outcome: Outcome },
}
