//! How fast requests go out. `requests_per_second` is a ceiling, not a promise: a 429 means the
//! site's real limit is lower (other clients share it, or the setting is too high). Before this,
//! every worker retried alone into the same full window until one ran out of attempts. Now a
//! 429 lowers the rate for all of them (multiplicative decrease) and every request waits out
//! `Retry-After`, not only the one that got it; while answers come back the rate creeps back up
//! toward the ceiling, slowly near the rate that was last throttled (additive increase).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The rate a 429 leaves: four fifths of what drew it.
const CUT: f64 = 0.8;
/// Requests per second gained per answered request: the rate grows by 2% a second, whatever it
/// is (a rate of r gets about r answers a second).
const GROWTH: f64 = 0.02;
/// Growth within 10% of the rate last throttled: a quarter of the above, so the rate dwells
/// just under the site's limit instead of bouncing off it.
const GROWTH_NEAR_LIMIT: f64 = 0.005;
/// The lowest rate a run is slowed to, in requests per second.
const FLOOR: f64 = 0.1;

pub(crate) struct Pace {
    ceiling: f64,
    state: Mutex<State>,
}

struct State {
    rate: f64,
    /// The earliest moment the next request may go.
    next: Instant,
    /// No request goes before this (a `Retry-After`).
    paused_until: Instant,
    /// When the rate was last cut, and the rate that drew the cut.
    last_cut: Option<(Instant, f64)>,
}

impl Pace {
    pub fn new(requests_per_second: f64) -> Self {
        let now = Instant::now();
        let ceiling = requests_per_second.max(0.001);
        Self { ceiling, state: Mutex::new(State { rate: ceiling, next: now, paused_until: now, last_cut: None }) }
    }

    /// Waits for this request's turn.
    pub async fn ready(&self) {
        loop {
            let slot = self.reserve(Instant::now());
            tokio::time::sleep_until(slot).await;
            // A 429 that arrived while this request waited pauses it too.
            if self.state.lock().expect("pace lock").paused_until <= slot {
                return;
            }
        }
    }

    /// The moment a request asking at `now` may go; the one after it goes a period later.
    fn reserve(&self, now: Instant) -> Instant {
        let mut s = self.state.lock().expect("pace lock");
        let slot = now.max(s.next).max(s.paused_until);
        s.next = slot + Duration::from_secs_f64(1.0 / s.rate);
        slot
    }

    /// The site answered.
    pub fn answered(&self) {
        let mut s = self.state.lock().expect("pace lock");
        let near = s.last_cut.is_some_and(|(_, drew)| s.rate >= 0.9 * drew);
        s.rate = (s.rate + if near { GROWTH_NEAR_LIMIT } else { GROWTH }).min(self.ceiling);
    }

    /// The site answered 429 (after `retry_after`, when it said). Cuts the rate at most once per
    /// pause, since one burst over the limit draws several 429s at once. Returns whether this
    /// 429 cut the rate: that one says "slower", not "failing", and its request keeps its
    /// attempts; the rest of the burst, and 429s once the rate is at its floor, spend them, so
    /// a site that never stops answering 429 still fails the run in seconds.
    pub fn throttled(&self, retry_after: Option<Duration>) -> bool {
        self.throttled_at(Instant::now(), retry_after)
    }

    fn throttled_at(&self, now: Instant, retry_after: Option<Duration>) -> bool {
        let mut s = self.state.lock().expect("pace lock");
        let wait = retry_after.unwrap_or(Duration::from_secs(1));
        let floor = FLOOR.min(self.ceiling);
        s.paused_until = s.paused_until.max(now + wait);
        let due = s.last_cut.is_none_or(|(at, _)| now.duration_since(at) >= wait.max(Duration::from_secs(1)));
        if !due || s.rate <= floor {
            return false;
        }
        s.last_cut = Some((now, s.rate));
        s.rate = (s.rate * CUT).max(floor);
        tracing::info!(requests_per_second = format!("{:.2}", s.rate), "Jira answered 429: slowing down");
        true
    }

    #[cfg(test)]
    fn rate(&self) -> f64 {
        self.state.lock().expect("pace lock").rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn spaces_requests_at_the_rate() {
        let pace = Pace::new(10.0);
        let t0 = Instant::now();
        let slots: Vec<Duration> = (0..5).map(|_| pace.reserve(t0) - t0).collect();
        assert_eq!(slots, [0, 100, 200, 300, 400].map(|m| m * MS), "the first goes at once, then one per 100 ms");
    }

    #[test]
    fn a_429_cuts_the_rate_once_per_pause_and_pauses_everyone() {
        let pace = Pace::new(20.0);
        let t0 = Instant::now();
        pace.reserve(t0);
        assert!(pace.throttled_at(t0, Some(Duration::from_secs(2))));
        assert!(!pace.throttled_at(t0 + MS, Some(Duration::from_secs(2))), "the same burst's second 429");
        assert_eq!(pace.rate(), 16.0, "cut once, not twice");
        assert_eq!(pace.reserve(t0 + MS) - t0, 2001 * MS, "waits out Retry-After");
        assert_eq!(pace.reserve(t0 + MS) - t0, 2001 * MS + Duration::from_secs_f64(1.0 / 16.0));
        pace.throttled_at(t0 + Duration::from_secs(3), Some(Duration::from_secs(1)));
        assert!((pace.rate() - 12.8).abs() < 1e-9, "a later 429 cuts again");
    }

    #[test]
    fn the_rate_recovers_slowly_near_the_limit_and_never_passes_the_ceiling() {
        let pace = Pace::new(10.0);
        pace.throttled_at(Instant::now(), None);
        assert_eq!(pace.rate(), 8.0);
        (0..45).for_each(|_| pace.answered());
        assert!((pace.rate() - 8.9).abs() < 1e-9, "2% a second below the throttled rate: {}", pace.rate());
        while pace.rate() < 9.0 {
            pace.answered();
        }
        let near = pace.rate();
        (0..20).for_each(|_| pace.answered());
        assert!((pace.rate() - near - 0.1).abs() < 1e-9, "a quarter of that near it: {near} → {}", pace.rate());
        (0..1000).for_each(|_| pace.answered());
        assert_eq!(pace.rate(), 10.0);
    }

    #[test]
    fn a_site_that_always_says_429_ends_at_the_floor() {
        let pace = Pace::new(5.0);
        let t0 = Instant::now();
        let more: Vec<bool> =
            (0..100).map(|i| pace.throttled_at(t0 + Duration::from_secs(i), Some(Duration::from_secs(1)))).collect();
        let cuts = more.iter().take_while(|c| **c).count();
        assert_eq!(cuts, 18, "5 → 0.1 in cuts of a fifth");
        assert!(more[cuts..].iter().all(|c| !c), "then every 429 spends an attempt");
        assert_eq!(pace.rate(), FLOOR);
    }
}
