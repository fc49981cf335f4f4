//! One retry policy for every Jira endpoint: endpoints never loop on errors themselves.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

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

/// What a response said about Jira Cloud's rate limits (Atlassian, "Rate limiting"). Read from
/// every response: `X-RateLimit-Limit` and `-Remaining` come with answers too, the others only
/// with 429s.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RateLimitHeaders {
    /// `Retry-After`: "how many seconds to wait before retrying".
    pub retry_after: Option<Duration>,
    /// `X-RateLimit-Limit`: for an endpoint's limit, the requests per second it allows.
    pub limit: Option<f64>,
    /// `X-RateLimit-Remaining`: for an endpoint's limit, the requests left this second.
    pub remaining: Option<f64>,
    /// `X-RateLimit-Reset`: when the window resets.
    pub reset: Option<DateTime<Utc>>,
    /// `RateLimit-Reason`: which limit a 429 is about.
    pub reason: Option<String>,
    /// `X-RateLimit-NearLimit: true`: less than a fifth of the hour's quota is left.
    pub near_limit: bool,
    /// Data Center's `X-RateLimit-FillRate` and `X-RateLimit-Interval-Seconds`: tokens added
    /// per interval. There `X-RateLimit-Limit` is the bucket's size, not a rate.
    pub fill_rate: Option<f64>,
    pub interval_secs: Option<f64>,
    /// The response's `Date`: Jira's clock, which `X-RateLimit-Reset` is measured against.
    #[serde(skip)]
    pub date: Option<DateTime<Utc>>,
}

impl RateLimitHeaders {
    pub fn read(h: &reqwest::header::HeaderMap) -> Self {
        let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
        let number = |name: &str| text(name).and_then(|v| v.parse::<f64>().ok()).filter(|n| n.is_finite());
        Self {
            retry_after: retry_after(text("retry-after")),
            limit: number("x-ratelimit-limit"),
            remaining: number("x-ratelimit-remaining"),
            reset: text("x-ratelimit-reset").and_then(reset_time),
            reason: text("ratelimit-reason").map(str::to_string),
            near_limit: text("x-ratelimit-nearlimit").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            fill_rate: number("x-ratelimit-fillrate"),
            interval_secs: number("x-ratelimit-interval-seconds").filter(|i| *i > 0.0),
            date: text("date").and_then(|d| DateTime::parse_from_rfc2822(d).ok()).map(|d| d.with_timezone(&Utc)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.retry_after.is_none()
            && self.limit.is_none()
            && self.remaining.is_none()
            && self.reset.is_none()
            && self.reason.is_none()
            && !self.near_limit
            && self.fill_rate.is_none()
    }

    /// The requests per second the site says it allows: Cloud's `X-RateLimit-Limit` ("for
    /// request rate limits, this reflects the allowed requests per second"), or Data Center's
    /// fill rate over its interval.
    pub fn per_second(&self) -> Option<f64> {
        match self.fill_rate {
            Some(fill) => Some(fill / self.interval_secs.unwrap_or(1.0)),
            None => self.limit,
        }
    }

    /// A 429 about one endpoint's per-second limit: Atlassian's guide says to "slow down
    /// requests to that endpoint only".
    pub fn burst(&self) -> bool {
        self.reason.as_deref() == Some("jira-burst-based")
    }

    /// A 429 saying the hourly points quota is spent (`jira-quota-global-based`,
    /// `jira-quota-tenant-based`): "pause all API requests until the window resets".
    pub fn quota_spent(&self) -> bool {
        self.reason.as_deref().is_some_and(|r| r.starts_with("jira-quota-"))
    }

    /// How long until `X-RateLimit-Reset`, on Jira's clock when the response has one.
    fn until_reset(&self, now: DateTime<Utc>) -> Option<Duration> {
        let now = self.date.unwrap_or(now);
        self.reset.and_then(|r| (r - now).to_std().ok()).filter(|d| !d.is_zero())
    }

    /// The wait a 429 asks for: `Retry-After` ("use the Retry-After header value as the minimum
    /// delay"), and without it the time to `X-RateLimit-Reset` (some limits, like the gateway's,
    /// send no `Retry-After`). Reset times can be written to the minute, so they never stretch
    /// a `Retry-After` of a second into a minute.
    pub fn wait(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.retry_after.or_else(|| self.until_reset(now))
    }

    /// The wait for a spent quota: until the window resets, by whichever of `Retry-After` and
    /// `X-RateLimit-Reset` is later (a retry before the reset is answered 429 again).
    pub fn quota_wait(&self, now: DateTime<Utc>) -> Option<Duration> {
        match (self.retry_after, self.until_reset(now)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `X-RateLimit-Reset`: ISO 8601, with seconds (`2026-01-01T01:01:01Z`) or, as Atlassian's page
/// also writes it, to the minute (`yyyy-MM-ddTHH:mmZ`).
fn reset_time(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%MZ").ok().map(|n| n.and_utc()))
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

    fn headers(pairs: &[(&'static str, &str)]) -> RateLimitHeaders {
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        RateLimitHeaders::read(&h)
    }

    #[test]
    fn a_burst_429_waits_its_retry_after_not_a_reset_written_to_the_minute() {
        let h = headers(&[
            ("Retry-After", "1"),
            ("X-RateLimit-Limit", "350"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "2026-01-01T01:02Z"),
            ("RateLimit-Reason", "jira-burst-based"),
            ("Date", "Thu, 01 Jan 2026 01:01:01 GMT"),
        ]);
        assert!(h.burst() && !h.quota_spent());
        assert_eq!((h.limit, h.remaining), (Some(350.0), Some(0.0)));
        assert_eq!(h.wait(Utc::now()), Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_spent_quota_waits_for_the_reset_on_jiras_clock() {
        let h = headers(&[
            ("Retry-After", "1847"),
            ("X-RateLimit-Reset", "2025-10-08T15:00:00Z"),
            ("RateLimit-Reason", "jira-quota-global-based"),
            ("Date", "Wed, 08 Oct 2025 14:00:00 GMT"),
        ]);
        assert!(h.quota_spent() && !h.burst());
        assert_eq!(h.quota_wait(Utc::now()), Some(Duration::from_secs(3600)), "the later of the two");
        let tenant = headers(&[("RateLimit-Reason", "jira-quota-tenant-based"), ("Retry-After", "5")]);
        assert!(tenant.quota_spent());
        assert_eq!(tenant.quota_wait(Utc::now()), Some(Duration::from_secs(5)));
    }

    #[test]
    fn without_retry_after_the_reset_says_how_long() {
        let h = headers(&[("X-RateLimit-Reset", "2026-01-01T01:02Z"), ("Date", "Thu, 01 Jan 2026 01:01:30 GMT")]);
        assert_eq!(h.wait(Utc::now()), Some(Duration::from_secs(30)));
        assert!(!h.is_empty());
        assert!(headers(&[("Date", "Thu, 01 Jan 2026 01:01:30 GMT")]).is_empty());
    }

    #[test]
    fn data_centers_limit_is_a_bucket_size_and_its_rate_the_fill_rate() {
        let h = headers(&[
            ("X-RateLimit-Limit", "20"),
            ("X-RateLimit-Remaining", "19"),
            ("X-RateLimit-FillRate", "5"),
            ("X-RateLimit-Interval-Seconds", "10"),
        ]);
        assert_eq!(h.per_second(), Some(0.5));
        assert_eq!(headers(&[("X-RateLimit-Limit", "350")]).per_second(), Some(350.0));
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(retry_after(Some(" 7")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(None), None);
    }
}
