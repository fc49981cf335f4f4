//! One retry policy for every Jira endpoint: endpoints never loop on errors themselves.

use std::time::Duration;

/// Bounds on retrying transient failures (429, 5xx, resets, truncated bodies).
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles each attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this fails the request rather than stalling the run.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryConfig {
    /// Delay before attempt `attempt + 1` (attempt counts from 1): exponential backoff with
    /// full jitter, so many clients retrying at once spread out instead of stampeding.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self.base_backoff.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exp.min(self.max_backoff).mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Parses `Retry-After` given in seconds (Jira sends seconds).
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A uniform value in [0, 1) from the system clock's nanoseconds: enough to decorrelate
/// retries without a random-number dependency.
pub fn jitter() -> f64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    f64::from(nanos % 1_000_000) / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let c = RetryConfig {
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            ..Default::default()
        };
        assert_eq!(c.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(c.backoff(3, 1.0), Duration::from_secs(4));
        assert_eq!(c.backoff(10, 1.0), Duration::from_secs(10));
        assert_eq!(c.backoff(3, 0.5), Duration::from_secs(2));
        assert_eq!(c.backoff(3, 0.0), Duration::ZERO);
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(retry_after(Some(" 7")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(None), None);
    }
}
