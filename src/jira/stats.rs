//! What the client did on the wire, for the run report: requests, retries, throttling, bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    server_errors: AtomicU64,
    bytes: AtomicU64,
}

/// A snapshot of the counters; subtract two to get one object's share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestStats {
    pub requests: u64,
    pub retries: u64,
    /// Answers 429 (rate limited).
    pub throttled: u64,
    pub server_errors: u64,
    /// Response body bytes received.
    pub bytes: u64,
}

impl Counters {
    pub fn request(&self, bytes: usize) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn status(&self, status: u16) {
        if status == 429 {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        } else if status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> RequestStats {
        RequestStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

impl std::ops::Sub for RequestStats {
    type Output = RequestStats;

    fn sub(self, o: RequestStats) -> RequestStats {
        RequestStats {
            requests: self.requests.saturating_sub(o.requests),
            retries: self.retries.saturating_sub(o.retries),
            throttled: self.throttled.saturating_sub(o.throttled),
            server_errors: self.server_errors.saturating_sub(o.server_errors),
            bytes: self.bytes.saturating_sub(o.bytes),
        }
    }
}
