//! Switchable misbehaviour: rate limits, latency, faults and permission gaps, as real sites
//! show them. Set at start-up (`SimConfig::behaviour`, binary flags) or changed while running
//! (`RunningSim::set_behaviour`), so tests can break a site mid-run.

use std::collections::BTreeSet;
use std::time::Duration;

/// How the site misbehaves. The default is a perfectly well-behaved site.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Requests per second above which the site answers 429 with `Retry-After`.
    pub rate_limit_per_sec: Option<u32>,
    /// Every Nth API request is answered 429 with `Retry-After: 1`, whatever the rate (a storm
    /// of throttling, as busy shared sites show it).
    pub throttle_every: Option<u64>,
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
    /// them answers `havePermission: false` instead of 404.
    pub api_user_is_admin: bool,
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
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            rate_limit_per_sec: None,
            throttle_every: None,
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
            index_lag: Duration::ZERO,
            bulkfetch_unknown_as_errors: false,
            drop_from_fetch_every: None,
            board_configs_missing: BTreeSet::new(),
            archived_issues_fetchable: true,
            api_user_is_admin: false,
            created_indexed_to_minute: false,
            cloud_tokens_are_offsets: false,
            embedded_comments_newest: false,
            comment_edit_delete_keep_updated: false,
            no_worklog_feed: false,
            credentials_revoked: false,
            proxy_drops_authorization: false,
            hostile: None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
