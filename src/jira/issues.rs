//! Issue search: Cloud's `/rest/api/3/search/jql` (paged by `nextPageToken`) and Data
//! Center's `/rest/api/2/search` (paged by `startAt`, at most 10,000 deep), plus the
//! approximate count used to check completeness.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{JiraClient, JiraError};
use crate::config::Deployment;

/// One page of search results. Jira decides the page size; never assume the one asked for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage<I> {
    pub issues: Vec<I>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub is_last: Option<bool>,
}

impl<I> SearchPage<I> {
    /// Jira omits the token on the last page; `isLast` is advisory.
    pub fn next(&self) -> Option<&str> {
        self.next_page_token.as_deref().filter(|t| !t.is_empty() && self.is_last != Some(true))
    }
}

/// Data Center's `SearchResults`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DcPage<I> {
    pub issues: Vec<I>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub max_results: Option<u64>,
}

/// Longest field list sent in a GET query string; beyond it the POST form avoids URL limits.
const MAX_GET_FIELDS_LEN: usize = 1500;

/// Where to continue a search.
#[derive(Debug, Clone)]
pub enum Cursor {
    Start,
    /// Cloud's opaque token.
    Token(String),
}

/// A page of issues from either deployment, with Jira's clock when it answered. Issues are
/// `Value`s, or their JSON text (`Box<RawValue>`) for a caller that decodes it in one pass.
pub struct Page<I> {
    pub issues: Vec<I>,
    pub next: Option<String>,
    /// Data Center's exact total; Cloud does not say.
    pub total: Option<u64>,
    pub date: Option<DateTime<Utc>>,
}

impl JiraClient {
    /// One page of `jql` with `fields` (ids). On Data Center, `start_at` pages (callers keep
    /// below Jira's 10,000-result window); on Cloud the token does.
    pub async fn search<I: DeserializeOwned>(
        &self,
        jql: &str,
        fields: &[String],
        cursor: &Cursor,
        start_at: u64,
        max_results: u32,
    ) -> Result<Page<I>, JiraError> {
        let joined = fields.join(",");
        let long = joined.len() > MAX_GET_FIELDS_LEN;
        match self.deployment() {
            Deployment::Cloud => {
                let path = "rest/api/3/search/jql";
                let token = match cursor {
                    Cursor::Token(t) => Some(t.as_str()),
                    Cursor::Start => None,
                };
                let reply = if long {
                    let mut body = json!({"jql": jql, "fields": fields, "maxResults": max_results});
                    if let Some(t) = token {
                        body["nextPageToken"] = json!(t);
                    }
                    self.post_reply::<SearchPage<I>>(path, &body).await?
                } else {
                    let mut query =
                        vec![("jql", jql.to_string()), ("fields", joined), ("maxResults", max_results.to_string())];
                    if let Some(t) = token {
                        query.push(("nextPageToken", t.to_string()));
                    }
                    self.get_reply::<SearchPage<I>>(path, &query).await?
                };
                let next = reply.body.next().map(str::to_string);
                Ok(Page { issues: reply.body.issues, next, total: None, date: reply.date })
            }
            Deployment::DataCenter => {
                let path = "rest/api/2/search";
                let reply = if long {
                    let body = json!({"jql": jql, "fields": fields, "maxResults": max_results, "startAt": start_at});
                    self.post_reply::<DcPage<I>>(path, &body).await?
                } else {
                    let query = [
                        ("jql", jql.to_string()),
                        ("fields", joined),
                        ("maxResults", max_results.to_string()),
                        ("startAt", start_at.to_string()),
                    ];
                    self.get_reply::<DcPage<I>>(path, &query).await?
                };
                Ok(Page { issues: reply.body.issues, next: None, total: reply.body.total, date: reply.date })
            }
        }
    }

    /// Jira Cloud's estimate of how many issues match `jql` (no `ORDER BY`); `None` on Data
    /// Center, whose search reports an exact `total` instead.
    pub async fn approximate_count(&self, jql: &str) -> Result<Option<u64>, JiraError> {
        if self.deployment() == Deployment::DataCenter {
            return Ok(None);
        }
        #[derive(Deserialize)]
        struct Count {
            count: u64,
        }
        let reply = self.post_reply::<Count>("rest/api/3/search/approximate-count", &json!({"jql": jql})).await?;
        Ok(Some(reply.body.count))
    }
}

/// The filter part of jirapipe's JQL: the user's filter parenthesised (so its `OR`s cannot
/// escape the window) and bounded by `updated` (Cloud rejects unbounded queries). Epoch
/// milliseconds need no time zone, unlike `"yyyy/MM/dd HH:mm"`, which Jira reads in the API
/// user's zone.
pub fn window_jql(user_jql: Option<&str>, updated_from_ms: i64) -> String {
    let window = format!("updated >= {}", updated_from_ms.max(0));
    match user_jql.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => format!("({q}) AND {window}"),
        None => window,
    }
}

/// `filter` restricted to ids in `[lo, hi]` (either end open), in id order: a partition.
pub fn id_range_jql(filter: &str, lo: Option<u64>, hi: Option<u64>) -> String {
    let mut q = filter.to_string();
    if let Some(lo) = lo {
        q.push_str(&format!(" AND id >= {lo}"));
    }
    if let Some(hi) = hi {
        q.push_str(&format!(" AND id <= {hi}"));
    }
    q.push_str(" ORDER BY id ASC");
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_jql_is_parenthesised_and_bounded() {
        assert_eq!(window_jql(Some("project = A OR project = B"), 5), "(project = A OR project = B) AND updated >= 5");
        assert_eq!(window_jql(Some("  "), -3), "updated >= 0");
    }

    #[test]
    fn partitions_are_id_ranges_in_id_order() {
        assert_eq!(id_range_jql("updated >= 0", None, Some(9)), "updated >= 0 AND id <= 9 ORDER BY id ASC");
        assert_eq!(id_range_jql("f", Some(10), Some(20)), "f AND id >= 10 AND id <= 20 ORDER BY id ASC");
        assert_eq!(id_range_jql("f", Some(21), None), "f AND id >= 21 ORDER BY id ASC");
    }

    #[test]
    fn last_page_has_no_next() {
        let p: SearchPage<serde_json::Value> = serde_json::from_value(json!({"issues": [], "isLast": true})).unwrap();
        assert_eq!(p.next(), None);
        let p: SearchPage<serde_json::Value> =
            serde_json::from_value(json!({"issues": [], "nextPageToken": "t", "isLast": false})).unwrap();
        assert_eq!(p.next(), Some("t"));
    }
}
