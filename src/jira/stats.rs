//! What the client did on the wire, for the run report and the metrics: requests, their
//! answers by status class, retries, throttling, bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    server_errors: AtomicU64,
    bytes: AtomicU64,
    /// Answers by status class: 1xx … 5xx.
    classes: [AtomicU64; 5],
    no_answer: AtomicU64,
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
    /// Answers by status class (`2xx` … `5xx`, 429s among the `4xx`).
    pub answers: StatusClasses,
    /// Requests that got no answer: connection refused or reset, DNS, TLS, timeout.
    pub no_answer: u64,
    /// Wall-clock time during which Jira's rate limits held requests back (a `Retry-After`
    /// pause of an endpoint or of every request, a spent hourly quota, a spent second), in
    /// milliseconds; overlapping pauses count once.
    pub rate_limit_wait_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusClasses {
    #[serde(rename = "1xx")]
    pub informational: u64,
    #[serde(rename = "2xx")]
    pub success: u64,
    #[serde(rename = "3xx")]
    pub redirection: u64,
    #[serde(rename = "4xx")]
    pub client_error: u64,
    #[serde(rename = "5xx")]
    pub server_error: u64,
}

impl StatusClasses {
    /// Each class with its label (`2xx`, …).
    pub fn labelled(&self) -> [(&'static str, u64); 5] {
        [
            ("1xx", self.informational),
            ("2xx", self.success),
            ("3xx", self.redirection),
            ("4xx", self.client_error),
            ("5xx", self.server_error),
        ]
    }
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
        if let Some(class) = (status / 100).checked_sub(1).and_then(|i| self.classes.get(i as usize)) {
            class.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A request that got no answer at all.
    pub fn no_answer(&self) {
        self.no_answer.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> RequestStats {
        let class = |i: usize| self.classes[i].load(Ordering::Relaxed);
        RequestStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            answers: StatusClasses {
                informational: class(0),
                success: class(1),
                redirection: class(2),
                client_error: class(3),
                server_error: class(4),
            },
            no_answer: self.no_answer.load(Ordering::Relaxed),
            rate_limit_wait_ms: 0,
        }
    }
}

impl std::ops::Sub for StatusClasses {
    type Output = StatusClasses;

    fn sub(self, o: StatusClasses) -> StatusClasses {
        StatusClasses {
            informational: self.informational.saturating_sub(o.informational),
            success: self.success.saturating_sub(o.success),
            redirection: self.redirection.saturating_sub(o.redirection),
            client_error: self.client_error.saturating_sub(o.client_error),
            server_error: self.server_error.saturating_sub(o.server_error),
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
            answers: self.answers - o.answers,
            no_answer: self.no_answer.saturating_sub(o.no_answer),
            rate_limit_wait_ms: self.rate_limit_wait_ms.saturating_sub(o.rate_limit_wait_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_by_class() {
        let c = Counters::default();
        for s in [200, 204, 302, 404, 429, 429, 503] {
            c.status(s);
        }
        c.no_answer();
        let s = c.snapshot();
        assert_eq!(s.answers.labelled(), [("1xx", 0), ("2xx", 2), ("3xx", 1), ("4xx", 3), ("5xx", 1)]);
        assert_eq!((s.throttled, s.server_errors, s.no_answer), (2, 1, 1));
    }
}
