//! Issue search: Cloud's `/rest/api/3/search/jql` (paged by `nextPageToken`) and Data
//! Center's `/rest/api/2/search` (paged by `startAt`, at most 10,000 deep), plus the
//! approximate count used to check completeness.

use std::ops::Range;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned};
use serde_json::json;
use serde_json::value::RawValue;

use super::{JiraClient, JiraError};
use crate::config::Deployment;

/// One page of search results as either deployment sends it: Cloud pages by `nextPageToken`
/// (`isLast` is advisory), Data Center by `startAt` with an exact `total`. Jira decides the
/// page size; never assume the one asked for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wire<I> {
    issues: Vec<I>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    is_last: Option<bool>,
    #[serde(default)]
    total: Option<u64>,
}

impl<I> Wire<I> {
    /// Jira omits the token on the last page.
    fn next(&self) -> Option<String> {
        self.next_page_token.clone().filter(|t| !t.is_empty() && self.is_last != Some(true))
    }
}

/// What a page's issues are read into: `Vec<I>` of any deserializable `I`, or `IssueTexts`.
pub trait Issues: Sized {
    /// The issues of a response body, and the rest of the page.
    fn read(body: Vec<u8>) -> Result<(Self, Wire<()>), serde_json::Error>;
}

impl<I: DeserializeOwned> Issues for Vec<I> {
    fn read(body: Vec<u8>) -> Result<(Self, Wire<()>), serde_json::Error> {
        let Wire { issues, next_page_token, is_last, total } = serde_json::from_slice(&body)?;
        Ok((issues, Wire { issues: Vec::new(), next_page_token, is_last, total }))
    }
}

/// A page's issues left as JSON text for a one-pass decoder: the body, and where each issue
/// lies in it. Copying each issue out of the body (`Box<RawValue>`) cost an allocation and a
/// UTF-8 check per issue and made finding them twice as slow.
pub struct IssueTexts {
    body: String,
    spans: Vec<Range<usize>>,
}

impl IssueTexts {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|s| &self.body[s.clone()])
    }
}

impl Issues for IssueTexts {
    fn read(body: Vec<u8>) -> Result<(Self, Wire<()>), serde_json::Error> {
        let body = String::from_utf8(body).map_err(de::Error::custom)?;
        let Wire { issues, next_page_token, is_last, total } = serde_json::from_str::<Wire<&RawValue>>(&body)?;
        // Each issue's text is a slice of `body`: its place is its distance from the start.
        let start = body.as_ptr() as usize;
        let spans = issues
            .iter()
            .map(|i| {
                let at = i.get().as_ptr() as usize - start;
                at..at + i.get().len()
            })
            .collect();
        let rest = Wire { issues: Vec::new(), next_page_token, is_last, total };
        drop(issues);
        Ok((IssueTexts { body, spans }, rest))
    }
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

/// A page of issues from either deployment, with Jira's clock when it answered.
pub struct Page<S> {
    pub issues: S,
    pub next: Option<String>,
    /// Data Center's exact total; Cloud does not say.
    pub total: Option<u64>,
    pub date: Option<DateTime<Utc>>,
}

impl JiraClient {
    /// One page of `jql` with `fields` (ids). On Data Center, `start_at` pages (callers keep
    /// below Jira's 10,000-result window); on Cloud the token does.
    pub async fn search<S: Issues>(
        &self,
        jql: &str,
        fields: &[String],
        cursor: &Cursor,
        start_at: u64,
        max_results: u32,
    ) -> Result<Page<S>, JiraError> {
        let joined = fields.join(",");
        let long = joined.len() > MAX_GET_FIELDS_LEN;
        let cloud = self.deployment() == Deployment::Cloud;
        let path = if cloud { "rest/api/3/search/jql" } else { "rest/api/2/search" };
        let reply = if long {
            let mut body = json!({"jql": jql, "fields": fields, "maxResults": max_results});
            match cursor {
                Cursor::Token(t) if cloud => body["nextPageToken"] = json!(t),
                _ if !cloud => body["startAt"] = json!(start_at),
                _ => {}
            }
            self.post_decoded(path, &body, S::read).await?
        } else {
            let mut query = vec![("jql", jql.to_string()), ("fields", joined), ("maxResults", max_results.to_string())];
            match cursor {
                Cursor::Token(t) if cloud => query.push(("nextPageToken", t.clone())),
                _ if !cloud => query.push(("startAt", start_at.to_string())),
                _ => {}
            }
            self.get_decoded(path, &query, S::read).await?
        };
        let (issues, rest) = reply.body;
        // Cloud's token pages; Data Center's exact total is the count `check` compares with.
        let (next, total) = if cloud { (rest.next(), None) } else { (None, rest.total) };
        Ok(Page { issues, next, total, date: reply.date })
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
        let p: Wire<()> = serde_json::from_value(json!({"issues": [], "isLast": true})).unwrap();
        assert_eq!(p.next(), None);
        let p: Wire<()> = serde_json::from_value(json!({"issues": [], "nextPageToken": "t", "isLast": false})).unwrap();
        assert_eq!(p.next().as_deref(), Some("t"));
    }
}
