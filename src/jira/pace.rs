//! How fast requests go out. `requests_per_second` is a ceiling, not a promise: a 429 means the
//! site's real limit is lower. Jira Cloud says which limit a 429 is about (`RateLimit-Reason`,
//! Atlassian's "Rate limiting" page), and each needs its own answer:
//!
//! - `jira-burst-based`: the per-second limit of one endpoint ("Hitting the burst threshold for
//!   one endpoint affects only that endpoint"), so only that endpoint's *lane* slows down;
//! - a 429 that names no endpoint limit (Data Center, older sites, a site-wide user limit): the
//!   *shared* lane every request also passes through slows down;
//! - the hourly quota (`jira-quota-*`): nothing is too fast, the hour's points are spent, so
//!   every request pauses until the window resets (`pause_all`) and no rate is cut.
//!
//! A cut takes a lane to four fifths (multiplicative decrease) at most once per pause, and every
//! request of the lane waits out `Retry-After`, not only the one that got it. While the site
//! answers, a lane climbs back toward the ceiling by a share per second of quiet (slowly around
//! the rate last throttled, until the site has been quiet for a while: then the limiter has
//! relaxed). A lane never goes below its floor, a quarter of the rate the site says it allows
//! (`X-RateLimit-Limit`, Data Center's fill rate) or of the ceiling: 429s that keep coming at a quarter of the stated
//! limit are not caused by this client's rate (other clients share the bucket, or the site
//! throttles a share of requests whatever the rate), and slowing further would only stall the
//! run — their `Retry-After` pauses still apply.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The rate a 429 leaves: four fifths of what drew it.
const CUT: f64 = 0.8;
/// Growth per second of quiet, as a share of the rate: doubles in about 7 s, so a run that was
/// throttled gets back to its ceiling within a minute of the site relaxing.
const GROWTH: f64 = 0.1;
/// Growth within 10% of the rate last throttled, shortly after the cut: a fifth of the above,
/// so the rate dwells around the site's limit instead of bouncing off it.
const GROWTH_NEAR_LIMIT: f64 = 0.02;
/// How long after a cut the rate that drew it still counts as the site's limit: burst limits
/// refill within seconds, so a site quiet for longer has relaxed.
const QUIET: Duration = Duration::from_secs(10);
/// The floor as a share of the stated limit (or of the ceiling).
const FLOOR_SHARE: f64 = 0.25;
/// The lowest floor, in requests per second.
const MIN_FLOOR: f64 = 0.1;
/// Lanes kept apart; past this every new endpoint shares one lane, so paths the grouping does
/// not recognise cannot grow the table without bound.
const MAX_LANES: usize = 64;
/// The lane of endpoints past `MAX_LANES`.
const OTHER: &str = "other";

/// Which limit a 429 was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One endpoint's per-second limit (`RateLimit-Reason: jira-burst-based`).
    Endpoint,
    /// A limit the 429 does not place: every endpoint together.
    Site,
}

pub(crate) struct Pace {
    ceiling: f64,
    state: Mutex<State>,
}

struct State {
    /// No request goes before this (the hourly quota).
    paused_until: Instant,
    /// Every request passes through it after its endpoint's lane.
    shared: Lane,
    lanes: HashMap<String, Lane>,
    /// Wall-clock time some pause of Jira's was in force, each stretch counted once however
    /// many lanes it held: the union of the pauses so far.
    paused: Duration,
    /// The end of the latest pause counted in `paused`.
    paused_counted_until: Instant,
}

impl State {
    /// Counts the pause `[from, until)` into `paused`, less what earlier pauses covered. Pauses
    /// start "now", which never goes back, so the union is the sum of the new parts.
    fn count_pause(&mut self, from: Instant, until: Instant) {
        let start = from.max(self.paused_counted_until);
        if until > start {
            self.paused += until - start;
            self.paused_counted_until = until;
        }
    }
}

struct Lane {
    rate: f64,
    /// The earliest moment the next request may go.
    next: Instant,
    /// No request of the lane goes before this (a `Retry-After`).
    paused_until: Instant,
    /// When the rate was last cut, and the rate that drew the cut.
    last_cut: Option<(Instant, f64)>,
    /// The requests per second the site says it allows here (`X-RateLimit-Limit`, or Data
    /// Center's fill rate).
    stated: Option<f64>,
    /// When the rate last grew.
    grown_at: Instant,
    /// Answers so far: a 429 among answers is a share, not a wall.
    answers: u64,
}

impl Lane {
    fn new(rate: f64, now: Instant) -> Self {
        Self { rate, next: now, paused_until: now, last_cut: None, stated: None, grown_at: now, answers: 0 }
    }

    fn floor(&self, ceiling: f64) -> f64 {
        (FLOOR_SHARE * self.stated.map_or(ceiling, |s| s.min(ceiling))).max(MIN_FLOOR).min(ceiling)
    }

    fn reserve(&mut self, now: Instant) -> Instant {
        let slot = now.max(self.next).max(self.paused_until);
        self.next = slot + Duration::from_secs_f64(1.0 / self.rate);
        slot
    }

    fn grow(&mut self, now: Instant, ceiling: f64) {
        let quiet = now.saturating_duration_since(self.grown_at).as_secs_f64();
        self.grown_at = self.grown_at.max(now);
        let near = self
            .last_cut
            .is_some_and(|(at, drew)| now.duration_since(at) < QUIET && (0.9 * drew..=1.1 * drew).contains(&self.rate));
        let growth = if near { GROWTH_NEAR_LIMIT } else { GROWTH };
        self.rate = (self.rate * (growth * quiet).exp()).min(ceiling);
        self.answers += 1;
    }

    /// Pauses the lane for `wait` and cuts its rate when due; whether it cut.
    fn throttle(&mut self, now: Instant, wait: Duration, ceiling: f64, what: &str) -> bool {
        self.paused_until = self.paused_until.max(now + wait);
        // Growth restarts after the pause: time spent paused is not quiet.
        self.grown_at = self.grown_at.max(now + wait);
        let floor = self.floor(ceiling);
        let due = self.last_cut.is_none_or(|(at, _)| now.duration_since(at) >= wait.max(Duration::from_secs(1)));
        if !due || self.rate <= floor {
            return false;
        }
        self.last_cut = Some((now, self.rate));
        self.rate = (self.rate * CUT).max(floor);
        tracing::info!(
            endpoint = what,
            requests_per_second = format!("{:.2}", self.rate),
            "Jira answered 429: slowing down"
        );
        true
    }
}

impl Pace {
    pub fn new(requests_per_second: f64) -> Self {
        let now = Instant::now();
        let ceiling = requests_per_second.max(0.001);
        Self {
            ceiling,
            state: Mutex::new(State {
                paused_until: now,
                shared: Lane::new(ceiling, now),
                lanes: HashMap::new(),
                paused: Duration::ZERO,
                paused_counted_until: now,
            }),
        }
    }

    /// Waits for this request's turn: first in its endpoint's lane, then in the shared one. The
    /// shared slot is taken only once the lane lets the request go, so a slow endpoint never
    /// holds back the others.
    pub async fn ready(&self, endpoint: &str) {
        self.wait_in(|s| lane(s, endpoint, self.ceiling, Instant::now())).await;
        self.wait_in(|s| &mut s.shared).await;
    }

    async fn wait_in(&self, pick: impl Fn(&mut State) -> &mut Lane) {
        loop {
            let slot = self.reserve_in(&pick, Instant::now());
            tokio::time::sleep_until(slot).await;
            // A 429 that arrived while this request waited pauses it too.
            if self.clear_at(&pick, slot) {
                return;
            }
        }
    }

    /// The moment a request asking at `now` may go in the lane `pick` chooses.
    fn reserve_in(&self, pick: &impl Fn(&mut State) -> &mut Lane, now: Instant) -> Instant {
        let mut s = self.state.lock().expect("pace lock");
        let paused = s.paused_until;
        pick(&mut s).reserve(now.max(paused))
    }

    /// Whether a request given `slot` may still go then: no pause arrived since.
    fn clear_at(&self, pick: &impl Fn(&mut State) -> &mut Lane, slot: Instant) -> bool {
        let mut s = self.state.lock().expect("pace lock");
        let paused = s.paused_until;
        paused <= slot && pick(&mut s).paused_until <= slot
    }

    /// The site answered (any status but 429). `limit` and `remaining` are its
    /// `X-RateLimit-Limit` and `X-RateLimit-Remaining`, which for an endpoint's limit count
    /// requests per second: the lane never goes faster than the limit, and a spent second holds
    /// it for a second.
    pub fn answered(&self, endpoint: &str, limit: Option<f64>, remaining: Option<f64>) {
        self.answered_at(Instant::now(), endpoint, limit, remaining);
    }

    fn answered_at(&self, now: Instant, endpoint: &str, limit: Option<f64>, remaining: Option<f64>) {
        let mut s = self.state.lock().expect("pace lock");
        s.shared.grow(now, self.ceiling);
        let l = lane(&mut s, endpoint, self.ceiling, now);
        l.grow(now, self.ceiling);
        if let Some(limit) = limit.filter(|l| *l > 0.0) {
            l.stated = Some(limit);
            l.rate = l.rate.min(limit);
        }
        if remaining.is_some_and(|r| r <= 0.0) {
            let until = now + Duration::from_secs(1);
            l.paused_until = l.paused_until.max(until);
            s.count_pause(now, until);
        }
    }

    /// Answers so far on `endpoint`'s lane: a 429 after others were answered there is a share
    /// of 429s among answers, not a site that has stopped answering.
    pub fn answers(&self, endpoint: &str) -> u64 {
        let mut s = self.state.lock().expect("pace lock");
        lane(&mut s, endpoint, self.ceiling, Instant::now()).answers
    }

    /// The site answered 429 about `scope`, asking to wait `wait`; `limit` is the requests per
    /// second it says it allows (`X-RateLimit-Limit`). Cuts the rate at most once per pause, since
    /// one burst over the limit draws several 429s at once. Returns whether this 429 cut the
    /// rate: that one says "slower", not "failing".
    pub fn throttled(&self, endpoint: &str, scope: Scope, wait: Duration, limit: Option<f64>) -> bool {
        self.throttled_at(Instant::now(), endpoint, scope, wait, limit)
    }

    fn throttled_at(&self, now: Instant, endpoint: &str, scope: Scope, wait: Duration, limit: Option<f64>) -> bool {
        let mut s = self.state.lock().expect("pace lock");
        let ceiling = self.ceiling;
        let (l, what) = match scope {
            Scope::Endpoint => (lane(&mut s, endpoint, ceiling, now), endpoint),
            Scope::Site => (&mut s.shared, "every endpoint"),
        };
        if let Some(limit) = limit.filter(|l| *l > 0.0) {
            l.stated = Some(limit);
        }
        let cut = l.throttle(now, wait, ceiling, what);
        s.count_pause(now, now + wait);
        cut
    }

    /// No request goes for `wait`: the hourly quota is spent for every endpoint.
    pub fn pause_all(&self, wait: Duration) {
        self.pause_all_at(Instant::now(), wait);
    }

    fn pause_all_at(&self, now: Instant, wait: Duration) {
        let until = now + wait;
        let mut s = self.state.lock().expect("pace lock");
        s.paused_until = s.paused_until.max(until);
        s.count_pause(now, until);
    }

    /// How long Jira's rate limits have held requests back so far (see `State::paused`).
    pub fn paused(&self) -> Duration {
        self.state.lock().expect("pace lock").paused
    }

    /// The rate of `endpoint`'s lane and of the shared one, whichever is slower.
    pub fn rate(&self, endpoint: &str) -> f64 {
        let mut s = self.state.lock().expect("pace lock");
        let shared = s.shared.rate;
        lane(&mut s, endpoint, self.ceiling, Instant::now()).rate.min(shared)
    }
}

fn lane<'a>(s: &'a mut State, endpoint: &str, ceiling: f64, now: Instant) -> &'a mut Lane {
    let key = if s.lanes.contains_key(endpoint) || s.lanes.len() < MAX_LANES { endpoint } else { OTHER };
    s.lanes.entry(key.to_string()).or_insert_with(|| Lane::new(ceiling, now))
}

/// The endpoint a request counts against: its method and path with ids, keys and names taken
/// out (`GET rest/api/3/issue/{id}/changelog`), since Jira limits an endpoint, not one issue's
/// URL, and ids in paths must not make an endless number of lanes.
pub(crate) fn endpoint(method: &str, path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_matches('/');
    let mut previous = "";
    let segments: Vec<&str> = path
        .split('/')
        .map(|seg| {
            // `api/3`, `agile/1.0`: the API's version, not an id.
            let version = API_ROOTS.contains(&previous);
            previous = seg;
            let has_digit = seg.bytes().any(|b| b.is_ascii_digit());
            let issue_key = seg.split_once('-').is_some_and(|(p, n)| {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && n.parse::<u64>().is_ok()
            });
            if !version && (has_digit || issue_key || seg.len() > 40) { "{id}" } else { seg }
        })
        .collect();
    format!("{method} {}", segments.join("/"))
}

/// Path segments followed by the API's version.
const API_ROOTS: [&str; 4] = ["api", "agile", "auth", "greenhopper"];

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const SEC: Duration = Duration::from_secs(1);
    const SEARCH: &str = "POST rest/api/3/search/jql";
    const BULK: &str = "POST rest/api/3/issue/bulkfetch";

    fn lane_rate(pace: &Pace, endpoint: &str) -> f64 {
        let mut s = pace.state.lock().unwrap();
        lane(&mut s, endpoint, pace.ceiling, Instant::now()).rate
    }

    fn reserve(pace: &Pace, endpoint: &str, now: Instant) -> Instant {
        let mut s = pace.state.lock().unwrap();
        lane(&mut s, endpoint, pace.ceiling, now).reserve(now)
    }

    #[test]
    fn ids_keys_and_queries_do_not_make_new_endpoints() {
        assert_eq!(endpoint("GET", "/rest/api/3/issue/10042/changelog"), "GET rest/api/3/issue/{id}/changelog");
        assert_eq!(endpoint("GET", "rest/api/3/issue/PROJ-7/comment?startAt=50"), "GET rest/api/3/issue/{id}/comment");
        assert_eq!(endpoint("GET", "rest/agile/1.0/board/3/sprint"), "GET rest/agile/1.0/board/{id}/sprint");
        assert_eq!(endpoint("POST", "rest/api/3/search/jql"), SEARCH);
        assert_ne!(endpoint("GET", "rest/api/3/search/jql"), SEARCH, "Jira's buckets are per method too");
        let many: std::collections::HashSet<String> =
            (0..1000).map(|i| endpoint("GET", &format!("rest/api/3/issue/{i}/worklog"))).collect();
        assert_eq!(many.len(), 1);
    }

    #[test]
    fn unknown_endpoints_past_the_bound_share_one_lane() {
        let pace = Pace::new(10.0);
        let t0 = Instant::now();
        for i in 0..MAX_LANES + 10 {
            pace.answered_at(t0, &format!("GET odd/{}", "x".repeat(i + 1)), None, None);
        }
        assert_eq!(pace.state.lock().unwrap().lanes.len(), MAX_LANES + 1);
    }

    #[test]
    fn spaces_requests_at_the_rate() {
        let pace = Pace::new(10.0);
        let t0 = Instant::now();
        let slots: Vec<Duration> = (0..5).map(|_| reserve(&pace, SEARCH, t0) - t0).collect();
        assert_eq!(slots, [0, 100, 200, 300, 400].map(|m| m * MS), "the first goes at once, then one per 100 ms");
    }

    #[test]
    fn a_burst_429_slows_its_endpoint_only() {
        let pace = Pace::new(20.0);
        let t0 = Instant::now();
        assert!(pace.throttled_at(t0, SEARCH, Scope::Endpoint, 2 * SEC, None));
        assert!(!pace.throttled_at(t0 + MS, SEARCH, Scope::Endpoint, 2 * SEC, None), "the same burst's second 429");
        assert_eq!(lane_rate(&pace, SEARCH), 16.0, "cut once, not twice");
        assert_eq!(reserve(&pace, SEARCH, t0 + MS) - t0, 2001 * MS, "waits out the latest Retry-After");
        assert_eq!(lane_rate(&pace, BULK), 20.0, "another endpoint keeps its rate");
        assert_eq!(reserve(&pace, BULK, t0 + MS) - t0, MS, "and does not wait");
        assert_eq!(pace.rate(BULK), 20.0, "nor does the shared lane");
        pace.throttled_at(t0 + 3 * SEC, SEARCH, Scope::Endpoint, SEC, None);
        assert!((lane_rate(&pace, SEARCH) - 12.8).abs() < 1e-9, "a later 429 cuts again");
    }

    #[test]
    fn a_429_naming_no_endpoint_slows_every_endpoint() {
        let pace = Pace::new(20.0);
        assert!(pace.throttled_at(Instant::now(), SEARCH, Scope::Site, SEC, None));
        assert_eq!(pace.rate(SEARCH), 16.0);
        assert_eq!(pace.rate(BULK), 16.0);
    }

    #[test]
    fn the_rate_recovers_once_the_site_is_quiet() {
        let pace = Pace::new(100.0);
        let t0 = Instant::now();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(pace.throttled_at(t0, SEARCH, Scope::Endpoint, SEC, None));
        assert_eq!(lane_rate(&pace, SEARCH), 80.0);
        // Growth counts from the end of the pause: 10% a second.
        pace.answered_at(t0 + 2 * SEC, SEARCH, None, None);
        assert!(close(lane_rate(&pace, SEARCH), 80.0 * 0.1f64.exp()), "{}", lane_rate(&pace, SEARCH));
        let drew = lane_rate(&pace, SEARCH);
        assert!(pace.throttled_at(t0 + 2 * SEC, SEARCH, Scope::Endpoint, SEC, None));
        pace.answered_at(t0 + 5 * SEC, SEARCH, None, None);
        let near = lane_rate(&pace, SEARCH);
        assert!(close(near, drew * 0.8 * 0.2f64.exp()) && (0.9 * drew..=1.1 * drew).contains(&near), "{near}");
        // Near the rate that drew the last cut, shortly after it: 2% a second.
        pace.answered_at(t0 + 10 * SEC, SEARCH, None, None);
        assert!(close(lane_rate(&pace, SEARCH), near * 0.1f64.exp()), "{}", lane_rate(&pace, SEARCH));
        // Quiet for 10 s: the limiter relaxed, and the rate climbs to the ceiling, not past it.
        pace.answered_at(t0 + 40 * SEC, SEARCH, None, None);
        assert_eq!(lane_rate(&pace, SEARCH), 100.0);
    }

    #[test]
    fn a_share_of_429s_whatever_the_rate_stops_at_the_floor() {
        let pace = Pace::new(20.0);
        let t0 = Instant::now();
        let cuts = (0..100)
            .filter(|i| pace.throttled_at(t0 + Duration::from_secs(2 * i), SEARCH, Scope::Endpoint, SEC, Some(100.0)))
            .count();
        assert_eq!(lane_rate(&pace, SEARCH), 5.0, "a quarter of the ceiling, the stated limit being higher");
        assert_eq!(cuts, 7, "20 → 5 in cuts of a fifth, then none");
    }

    #[test]
    fn the_floor_follows_the_stated_limit() {
        let pace = Pace::new(50.0);
        let t0 = Instant::now();
        for i in 0..100 {
            pace.throttled_at(t0 + Duration::from_secs(2 * i), SEARCH, Scope::Endpoint, SEC, Some(4.0));
        }
        assert_eq!(lane_rate(&pace, SEARCH), 1.0, "a quarter of the 4 a second the site allows");
    }

    #[test]
    fn x_ratelimit_headers_on_answers_cap_and_hold_the_lane() {
        let pace = Pace::new(50.0);
        let t0 = Instant::now();
        pace.answered_at(t0, SEARCH, Some(8.0), Some(3.0));
        assert_eq!(lane_rate(&pace, SEARCH), 8.0, "never faster than the site allows");
        pace.answered_at(t0, SEARCH, Some(8.0), Some(0.0));
        assert_eq!(reserve(&pace, SEARCH, t0) - t0, SEC, "this second is spent");
        assert_eq!(reserve(&pace, BULK, t0) - t0, Duration::ZERO);
    }

    /// Lanes already made (the tests' `Instant`s come after them).
    fn bulk(s: &mut State) -> &mut Lane {
        s.lanes.get_mut(BULK).expect("made")
    }

    fn search(s: &mut State) -> &mut Lane {
        s.lanes.get_mut(SEARCH).expect("made")
    }

    fn shared(s: &mut State) -> &mut Lane {
        &mut s.shared
    }

    #[test]
    fn overlapping_pauses_count_once_as_time_held_back() {
        let pace = Pace::new(100.0);
        let t0 = Instant::now();
        pace.throttled_at(t0, SEARCH, Scope::Endpoint, Duration::from_secs(2), None);
        // Another endpoint paused within the first pause adds only what lies past it.
        pace.throttled_at(t0 + SEC, BULK, Scope::Endpoint, Duration::from_secs(2), None);
        assert_eq!(pace.paused(), Duration::from_secs(3));
        // After a quiet stretch, a quota pause counts whole.
        pace.pause_all_at(t0 + 10 * SEC, Duration::from_secs(5));
        assert_eq!(pace.paused(), Duration::from_secs(8));
    }

    #[test]
    fn a_spent_quota_holds_every_request_until_the_reset() {
        let pace = Pace::new(100.0);
        lane_rate(&pace, BULK);
        let t0 = Instant::now();
        assert_eq!(pace.reserve_in(&bulk, t0), t0);
        pace.pause_all_at(t0, Duration::from_secs(90));
        assert!(!pace.clear_at(&bulk, t0 + 10 * MS), "a request already given its turn waits too");
        assert_eq!(pace.reserve_in(&bulk, t0 + 10 * MS), t0 + Duration::from_secs(90));
        assert_eq!(pace.reserve_in(&shared, t0), t0 + Duration::from_secs(90));
        assert_eq!(lane_rate(&pace, BULK), 100.0, "a spent quota is no reason to go slower after it");
    }

    #[test]
    fn a_429_during_the_wait_pauses_the_waiting_request() {
        let pace = Pace::new(1.0);
        lane_rate(&pace, SEARCH);
        let t0 = Instant::now();
        assert_eq!(pace.reserve_in(&search, t0), t0);
        let waiting = pace.reserve_in(&search, t0);
        assert_eq!(waiting, t0 + SEC);
        pace.throttled_at(t0 + 500 * MS, SEARCH, Scope::Endpoint, 3 * SEC, None);
        assert!(!pace.clear_at(&search, waiting));
        assert_eq!(pace.reserve_in(&search, waiting), t0 + 3500 * MS);
    }
}
