//! Switchable misbehaviour: rate limits, latency, faults and permission gaps, as real sites
//! show them. Set at start-up (`SimConfig::behaviour`, binary flags) or changed while running
//! (`RunningSim::set_behaviour`), so tests can break a site mid-run.

use std::collections::BTreeSet;
use std::time::Duration;

/// How the site misbehaves. The default is a perfectly well-behaved site.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Requests per second, all endpoints together, above which the site answers 429 with
    /// `Retry-After` and no `RateLimit-Reason`: a limit on the whole site, as Data Center's
    /// per-user rate limiting applies it.
    pub rate_limit_per_sec: Option<u32>,
    /// Every Nth API request is answered 429 with `Retry-After: 1` and `RateLimit-Reason:
    /// jira-burst-based`, whatever the rate (a storm of throttling, as busy shared sites show
    /// it: other clients spend the same endpoint buckets).
    pub throttle_every: Option<u64>,
    /// Jira Cloud's burst limit: a token bucket per endpoint (method and path, ids taken out).
    pub burst: Option<BurstLimit>,
    /// Jira Cloud's points quota for OAuth apps: `points` per window, counted on requests with
    /// a Bearer token (API-token traffic is not subject to it).
    pub quota: Option<PointsQuota>,
    /// Added to every API request.
    pub latency: Duration,
    /// Added to every issue-search page (real pages take 200–800 ms).
    pub search_latency: Duration,
    /// Fraction of API requests answered 500, 502 or 503.
    pub error_rate: f64,
    /// Fraction of API requests whose connection is dropped before a complete response.
    pub drop_rate: f64,
    /// Fraction of API requests whose body is cut short.
    pub truncate_rate: f64,
    /// Fraction of API requests answered only after `slow_by` (to exercise client timeouts).
    pub slow_rate: f64,
    pub slow_by: Duration,
    /// Every Nth issue (index ≡ N−1 mod N) is under a security level the API user cannot see.
    pub hidden_issue_every: Option<u64>,
    /// Projects (by index) the API user lost Browse Projects on: their issues vanish from
    /// search and they vanish from project search, exactly as on a real site.
    pub hidden_projects: BTreeSet<u64>,
    /// Whether user email addresses are visible (false: profile privacy or a token without
    /// `read:jira-user`; the field is simply absent, as Jira does).
    pub user_emails_visible: bool,
    /// Whether the site has Jira Software: without it the agile API (`/rest/agile/…`, boards)
    /// answers 404, as on a site with Jira Work Management or Service Management only.
    pub jira_software: bool,
    /// Serve Cloud's removed `/rest/api/3/search` (startAt/total paging) instead of `410 Gone`,
    /// for benchmark peers that still use it. Real Jira Cloud answers 410.
    pub legacy_search: bool,
    /// Data Center's search result window: `startAt + maxResults` past it answers 500 "Search
    /// limit exceeded". 10,000 by default; an admin sets it with the
    /// `jira.search.platform.max.result.window` property (Atlassian KB "Handling JQL REST API
    /// searching exceeding max_result_window in Jira"), so a site may have a smaller one.
    pub search_result_window: usize,
    /// Search results reflect an edit only this long after it (Jira's index is eventually
    /// consistent).
    pub index_lag: Duration,
    /// Cloud's `POST /issue/bulkfetch` lists ids that name no visible issue under `issueErrors`
    /// instead of leaving them out. The v3 spec says unknown and forbidden issues are left out
    /// and `issueErrors` is for "a retriable error or payload constraint"; connector authors
    /// describe unknown ids coming back under `issueErrors`. Both are played, the spec's by
    /// default.
    pub bulkfetch_unknown_as_errors: bool,
    /// Every Nth issue (index ≡ N−1 mod N) is silently left out of fetch responses — Cloud's
    /// `bulkfetch` and Data Center searches that ask for more than `id`/`key`/`created` —
    /// while listings and `GET /issue/{id}` still show it: a site that loses rows without
    /// saying so, which an extractor must notice.
    pub drop_from_fetch_every: Option<u64>,
    /// JQL compares and sorts `created` at minute resolution, as a search index that stores
    /// dates to the minute would: `created >= t` with `t` in the middle of a minute leaves the
    /// rest of that minute out, and `ORDER BY created` ties a minute's issues (then sorted by
    /// the next key). Jira's sources do not say which resolution its index keeps, so both are
    /// played; the default compares milliseconds.
    pub created_indexed_to_minute: bool,
    /// Cloud's `nextPageToken` encodes an offset into the current result list (so deleting an
    /// issue already returned shifts an unread one into a page already read) instead of a
    /// position that survives deletes. Atlassian documents the token as opaque; both are
    /// played, positions by default.
    pub cloud_tokens_are_offsets: bool,
    /// Whether an archived issue still answers `GET /issue/{id}` and bulk fetch (`true`), or
    /// answers them like a deleted one (`false`). Atlassian documents that archived issues
    /// leave search and stay viewable from a direct link ("Archive an issue", Jira Cloud
    /// support), not what the REST issue endpoints answer for them: both are played, the
    /// documented viewability by default.
    pub archived_issues_fetchable: bool,
    /// The API user is a Jira administrator: projects it lost Browse Projects on still appear
    /// in project search (administrators see every project there), and `mypermissions` for
    /// them answers `havePermission: false` instead of 404; Cloud's custom field contexts and
    /// their options answer it (everyone else gets 403, as the v3 spec says).
    pub api_user_is_admin: bool,
    /// Data Center's `customFields/{id}/options` counts `page` from 0 instead of 1. Its
    /// reference does not say where pages start; jirapipe must read every option either way.
    pub data_center_option_pages_from_zero: bool,
    /// Boards (by id) still listed whose configuration answers 404, as for a board deleted
    /// between the listing and the configuration request.
    pub board_configs_missing: BTreeSet<u64>,
    /// Cloud's `comment` field embeds the newest 100 comments of a longer thread instead of the
    /// oldest 100 (`total` counts all either way). One report (atlassian-mcp-server #230) saw
    /// the oldest dropped, possibly by its own layer; the page's `startAt: 0` suggests the
    /// oldest are kept. Both are played, the oldest by default.
    pub embedded_comments_newest: bool,
    /// Editing or deleting a comment leaves the issue's `updated` alone. Jira Server's source
    /// bumps it on both (adding always does); no Cloud source says either way. Both are
    /// played; bumping by default.
    pub comment_edit_delete_keep_updated: bool,
    /// The site has no worklog change feed (`/worklog/updated`, `/deleted`, `/list` answer 404),
    /// as a Jira Server older than the feed: the 9.12 REST reference lists it, and no source
    /// found says which release added it (its examples date from 2015, JIRA 6.4–7.0).
    pub no_worklog_feed: bool,
    /// Data Center changelog items carry Cloud's `fieldId`. Recorded Jira Server/DC responses
    /// have `field`, `fieldtype`, `from`, `fromString`, `to`, `toString` and no `fieldId` (see
    /// the README, "Data Center changelog items"), so by default Data Center leaves it out; a
    /// newer release adding it is played with this switch. Cloud always sends it.
    pub data_center_changelog_field_ids: bool,
    /// Data Center renders the Sprint field (`gh-sprint`) as Cloud's objects instead of the
    /// `com.atlassian.greenhopper.service.sprint.Sprint@…[id=…,…]` strings recorded responses
    /// show (README, "Data Center Sprint values"). Strings by default; Cloud always sends objects.
    pub data_center_sprint_objects: bool,
    /// The site's classic credentials — the Cloud API token, the Data Center PAT and password —
    /// stop working from the next request (revoked, expired or changed): the site then answers
    /// them as a failed login, anonymously (see `anonymous`). Switch it between runs or mid-run.
    pub credentials_revoked: bool,
    /// A proxy in front of the site drops the `Authorization` header: every request reaches
    /// Jira without credentials and is answered anonymously.
    pub proxy_drops_authorization: bool,
    /// A hostile response in place of (or around) Jira's answers: an SSO login page, broken
    /// bodies, endless paging, stalls and resets (see `hostile`).
    pub hostile: Option<crate::hostile::Hostile>,
    /// How Cloud's changelog bulk fetch writes a history's `created`. The v3 spec's example
    /// sends a number (`"created":1492070429`, milliseconds: the same value reads 1970-01-18 in
    /// the spec's other changelog examples) and a real site was seen sending milliseconds;
    /// seconds are seen nowhere but played as the other plausible number. Search's
    /// `expand=changelog` and Data Center send Jira's text form. Milliseconds by default
    /// (README, "Behaviours").
    pub changelog_created: InstantForm,
    /// Every Nth issue (index ≡ N−1 mod N) carries a Story Points value of a shape no number
    /// column takes (an object), as an app or a migrated field can leave behind: one field that
    /// does not fit must cost that cell, not the issue.
    pub undecodable_every: Option<u64>,
    /// The issue (by index) whose newest status change names a status it did not move to: a
    /// changelog that disagrees with the issue, which the derived tables must notice.
    pub corrupt_history_of: Option<u64>,
}

/// How an instant is written in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstantForm {
    /// Jira's `2024-01-08T09:00:00.000+0100`.
    Text,
    /// Epoch milliseconds, a JSON number.
    #[default]
    EpochMillis,
    /// Epoch seconds, a JSON number (fractions dropped).
    EpochSeconds,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            rate_limit_per_sec: None,
            throttle_every: None,
            burst: None,
            quota: None,
            latency: Duration::ZERO,
            search_latency: Duration::ZERO,
            error_rate: 0.0,
            drop_rate: 0.0,
            truncate_rate: 0.0,
            slow_rate: 0.0,
            slow_by: Duration::from_secs(30),
            hidden_issue_every: None,
            hidden_projects: BTreeSet::new(),
            user_emails_visible: true,
            jira_software: true,
            legacy_search: false,
            search_result_window: 10_000,
            index_lag: Duration::ZERO,
            bulkfetch_unknown_as_errors: false,
            drop_from_fetch_every: None,
            board_configs_missing: BTreeSet::new(),
            archived_issues_fetchable: true,
            api_user_is_admin: false,
            data_center_option_pages_from_zero: false,
            created_indexed_to_minute: false,
            cloud_tokens_are_offsets: false,
            embedded_comments_newest: false,
            comment_edit_delete_keep_updated: false,
            no_worklog_feed: false,
            data_center_changelog_field_ids: false,
            data_center_sprint_objects: false,
            credentials_revoked: false,
            proxy_drops_authorization: false,
            hostile: None,
            changelog_created: InstantForm::default(),
            undecodable_every: None,
            corrupt_history_of: None,
        }
    }
}

/// Atlassian's burst limit: "Steady-state refill rate" tokens a second into a bucket of
/// "Burst buffer" tokens, one token a request, one bucket per endpoint and method.
#[derive(Debug, Clone, PartialEq)]
pub struct BurstLimit {
    /// Tokens added a second: the steady-state requests per second.
    pub per_second: f64,
    /// The bucket's size: how many requests a spike may send at once.
    pub buffer: u32,
    /// Path fragments of the endpoints limited (`"/search"`); empty: every endpoint.
    pub only: Vec<String>,
    /// Tokens a second other clients of the site take from the same buckets ("All programmatic
    /// requests (from apps or API tokens) for a tenant share the same API bucket"): what is
    /// left for this client is less than the `X-RateLimit-Limit` it is told.
    pub others_per_second: f64,
}

impl BurstLimit {
    pub fn applies_to(&self, path: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| path.contains(o.as_str()))
    }
}

/// Atlassian's hourly points quota. Each request costs its base point; the page adds points
/// per object read, which the simulator leaves out (README, "Behaviours").
#[derive(Debug, Clone, PartialEq)]
pub struct PointsQuota {
    /// Points a window.
    pub points: u64,
    /// An hour on Jira; shorter in tests. Windows start at multiples of it since the epoch, as
    /// Jira's start on the hour.
    pub window: Duration,
    /// `RateLimit-Reason: jira-quota-global-based` (an app's global pool) instead of
    /// `jira-quota-tenant-based` (its pool on this site).
    pub global: bool,
}

impl PointsQuota {
    pub fn reason(&self) -> &'static str {
        if self.global { "jira-quota-global-based" } else { "jira-quota-tenant-based" }
    }
}

/// What the fault injector decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Status(u16),
    Drop,
    Truncate,
    Slow,
}

impl Behaviour {
    /// Whether issue index `i` carries an undecodable Story Points value.
    pub fn undecodable(&self, i: u64) -> bool {
        self.undecodable_every.is_some_and(|n| n > 0 && i % n == n - 1)
    }

    /// Whether issue index `i` is silently dropped from fetch responses.
    pub fn drops_from_fetch(&self, i: u64) -> bool {
        self.drop_from_fetch_every.is_some_and(|n| n > 0 && i % n == n - 1)
    }

    /// Deterministic per request number: the same run against the same site sees the same
    /// faults in the same places.
    pub fn fault(&self, seed: u64, request_no: u64) -> Fault {
        let r = crate::rng::pick(seed, 0xFA17, request_no);
        let u = (r >> 11) as f64 / (1u64 << 53) as f64;
        let statuses = [500, 502, 503];
        if u < self.error_rate {
            Fault::Status(statuses[(r % 3) as usize])
        } else if u < self.error_rate + self.drop_rate {
            Fault::Drop
        } else if u < self.error_rate + self.drop_rate + self.truncate_rate {
            Fault::Truncate
        } else if u < self.error_rate + self.drop_rate + self.truncate_rate + self.slow_rate {
            Fault::Slow
        } else {
            Fault::None
        }
    }
}

/// A token bucket per second: `limit` requests, refilled at the start of each second.
#[derive(Debug, Default)]
pub struct RateWindow {
    second: u64,
    used: u32,
}

impl RateWindow {
    /// Counts a request at `now_ms`; `Err(ms until the window resets)` when over `limit`.
    pub fn admit(&mut self, limit: u32, now_ms: u64) -> Result<u32, u64> {
        let second = now_ms / 1000;
        if second != self.second {
            self.second = second;
            self.used = 0;
        }
        if self.used >= limit {
            return Err(1000 - now_ms % 1000);
        }
        self.used += 1;
        Ok(limit - self.used)
    }
}

/// A token bucket: refilled continuously, one token a request.
#[derive(Debug, Default)]
pub struct Bucket {
    tokens: f64,
    at_ms: u64,
    started: bool,
}

impl Bucket {
    /// Takes a token at `now_ms`: `Ok(tokens left)`, or `Err(ms until a token is back)`.
    pub fn admit(&mut self, limit: &BurstLimit, now_ms: u64) -> Result<u32, u64> {
        let size = f64::from(limit.buffer.max(1));
        if !self.started {
            (self.started, self.tokens) = (true, size);
        }
        let elapsed = now_ms.saturating_sub(self.at_ms) as f64 / 1000.0;
        let refill = (limit.per_second - limit.others_per_second).max(1e-3);
        self.tokens = (self.tokens + elapsed * refill).min(size);
        self.at_ms = now_ms;
        if self.tokens < 1.0 {
            return Err((((1.0 - self.tokens) / refill) * 1000.0).ceil() as u64);
        }
        self.tokens -= 1.0;
        Ok(self.tokens.floor() as u32)
    }
}

/// The points spent in the current quota window.
#[derive(Debug, Default)]
pub struct QuotaWindow {
    window: u64,
    used: u64,
}

impl QuotaWindow {
    /// Spends a point at `now_ms`: `Ok(points left)`, or `Err(ms until the window resets)`.
    pub fn spend(&mut self, quota: &PointsQuota, now_ms: u64) -> Result<u64, u64> {
        let len = (quota.window.as_millis() as u64).max(1);
        let window = now_ms / len;
        if window != self.window {
            (self.window, self.used) = (window, 0);
        }
        if self.used >= quota.points {
            return Err((window + 1) * len - now_ms);
        }
        self.used += 1;
        Ok(quota.points - self.used)
    }
}

/// The endpoint a request counts against: its method and path with ids and issue keys taken
/// out, since Jira keeps a bucket per endpoint ("/rest/api/3/issue and /rest/api/3/search each
/// have their own burst behavior"), not per issue.
pub fn endpoint_of(method: &str, path: &str) -> String {
    let mut previous = "";
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .map(|seg| {
            // `api/3`, `agile/1.0`: the API's version, not an id.
            let version = ["api", "agile", "auth"].contains(&previous);
            previous = seg;
            let key = seg.split_once('-').is_some_and(|(p, n)| !p.is_empty() && n.parse::<u64>().is_ok());
            if !version && (seg.bytes().any(|b| b.is_ascii_digit()) || key) { "{id}" } else { seg }
        })
        .collect();
    format!("{method} /{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_lets_a_burst_through_then_the_steady_rate() {
        let limit = BurstLimit { per_second: 10.0, buffer: 3, only: Vec::new(), others_per_second: 0.0 };
        let mut b = Bucket::default();
        assert_eq!((0..3).map(|_| b.admit(&limit, 1_000)).collect::<Vec<_>>(), [Ok(2), Ok(1), Ok(0)]);
        assert_eq!(b.admit(&limit, 1_000), Err(100), "a token is back in 100 ms");
        assert_eq!(b.admit(&limit, 1_100), Ok(0));
        assert_eq!(b.admit(&limit, 60_000), Ok(2), "never more than the buffer");
        let shared = BurstLimit { others_per_second: 8.0, ..limit };
        let mut b = Bucket::default();
        (0..3).for_each(|_| _ = b.admit(&shared, 1_000));
        assert_eq!(b.admit(&shared, 1_100), Err(400), "others leave 2 tokens a second");
    }

    #[test]
    fn the_quota_resets_with_its_window() {
        let quota = PointsQuota { points: 2, window: Duration::from_secs(10), global: false };
        let mut w = QuotaWindow::default();
        assert_eq!(w.spend(&quota, 21_000), Ok(1));
        assert_eq!(w.spend(&quota, 22_000), Ok(0));
        assert_eq!(w.spend(&quota, 23_500), Err(6_500), "until 30 s, the next window");
        assert_eq!(w.spend(&quota, 30_000), Ok(1));
    }

    #[test]
    fn ids_and_keys_share_their_endpoint() {
        assert_eq!(endpoint_of("GET", "/rest/api/3/issue/10001/changelog"), "GET /rest/api/3/issue/{id}/changelog");
        assert_eq!(endpoint_of("GET", "/rest/api/3/issue/PROJ-2/changelog"), "GET /rest/api/3/issue/{id}/changelog");
        assert_ne!(endpoint_of("POST", "/rest/api/3/search/jql"), endpoint_of("GET", "/rest/api/3/search/jql"));
    }

    #[test]
    fn faults_follow_the_rates() {
        let b = Behaviour { error_rate: 0.2, drop_rate: 0.1, ..Default::default() };
        let n = 20_000;
        let faults: Vec<Fault> = (0..n).map(|i| b.fault(1, i)).collect();
        let errors = faults.iter().filter(|f| matches!(f, Fault::Status(_))).count() as f64 / n as f64;
        let drops = faults.iter().filter(|f| **f == Fault::Drop).count() as f64 / n as f64;
        assert!((errors - 0.2).abs() < 0.02, "{errors}");
        assert!((drops - 0.1).abs() < 0.02, "{drops}");
        assert_eq!(b.fault(1, 77), b.fault(1, 77));
        assert_eq!(Behaviour::default().fault(1, 5), Fault::None);
    }

    #[test]
    fn rate_window_admits_limit_per_second() {
        let mut w = RateWindow::default();
        assert_eq!(w.admit(2, 10_000), Ok(1));
        assert_eq!(w.admit(2, 10_100), Ok(0));
        assert_eq!(w.admit(2, 10_400), Err(600));
        assert_eq!(w.admit(2, 11_000), Ok(1));
    }
}
