//! Issue search: Cloud's `/rest/api/3/search/jql` (paged by `nextPageToken`) and Data
//! Center's `/rest/api/2/search` (paged by `startAt`, at most 10,000 deep); issues by explicit
//! id lists (Cloud's `POST /rest/api/3/issue/bulkfetch`, Data Center's `id in (…)`); one issue
//! by id (did it survive?); and the approximate count used to check completeness.
//!
//! No JQL built here compares an issue id or key with `<`/`>`: in Jira those compare key
//! numbers within the literal's project, not ids (`shared/notes/jql-semantics.md`).

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
    /// Data Center: the page size Jira actually used (it may cap the one asked for).
    #[serde(default)]
    max_results: Option<u64>,
    /// Bulk fetch: ids Jira could not return this time.
    #[serde(default)]
    issue_errors: Vec<IssueError>,
}

/// An issue a bulk fetch could not return, with Jira's reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueError {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
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

impl<I> Wire<I> {
    /// The page without its issues.
    fn rest<J>(self) -> (Vec<I>, Wire<J>) {
        let Wire { issues, next_page_token, is_last, total, max_results, issue_errors } = self;
        (issues, Wire { issues: Vec::new(), next_page_token, is_last, total, max_results, issue_errors })
    }
}

impl<I: DeserializeOwned> Issues for Vec<I> {
    fn read(body: Vec<u8>) -> Result<(Self, Wire<()>), serde_json::Error> {
        Ok(serde_json::from_slice::<Wire<I>>(&body)?.rest())
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
        let (issues, rest) = serde_json::from_str::<Wire<&RawValue>>(&body)?.rest();
        // Each issue's text is a slice of `body`: its place is its distance from the start.
        let start = body.as_ptr() as usize;
        let spans = issues
            .iter()
            .map(|i| {
                let at = i.get().as_ptr() as usize - start;
                at..at + i.get().len()
            })
            .collect();
        drop(issues);
        Ok((IssueTexts { body, spans }, rest))
    }
}

/// Ids per `searchable` query: the JQL stays a few kilobytes, and one page holds them all.
pub const SEARCH_IDS_MAX: usize = 1000;

/// A project as `mypermissions` takes it.
#[derive(Debug, Clone, Copy)]
pub enum ProjectParam<'a> {
    Id(&'a str),
    Key(&'a str),
}

/// Most ids Cloud's bulk fetch takes in one request (v3 spec: "up to 100 issues").
pub const BULK_FETCH_MAX: usize = 100;

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
    /// Data Center's page size as applied.
    pub max_results: Option<u64>,
    /// Bulk fetch: the ids Jira listed under `issueErrors`.
    pub errors: Vec<IssueError>,
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
        Ok(Page { issues, next, total, max_results: rest.max_results, errors: Vec::new(), date: reply.date })
    }

    /// Where issues are fetched by id: Cloud's bulk fetch, Data Center's search.
    pub fn fetch_endpoint(&self) -> &'static str {
        match self.deployment() {
            Deployment::Cloud => "rest/api/3/issue/bulkfetch",
            Deployment::DataCenter => "rest/api/2/search",
        }
    }

    /// Issues by explicit id, with `fields`: Cloud's `POST /rest/api/3/issue/bulkfetch` (at most
    /// `BULK_FETCH_MAX` ids); on Data Center a search for `id in (…)` sent with
    /// `validateQuery=false`, so an id deleted since it was listed drops out instead of failing
    /// the whole batch with a 400. An id the caller asked for may be missing from the page:
    /// Jira leaves out issues that no longer exist or that the user cannot see.
    pub async fn fetch_by_ids<S: Issues>(
        &self,
        ids: &[u64],
        fields: &[String],
        start_at: u64,
    ) -> Result<Page<S>, JiraError> {
        let path = self.fetch_endpoint();
        let body = match self.deployment() {
            Deployment::Cloud => {
                json!({"issueIdsOrKeys": ids.iter().map(u64::to_string).collect::<Vec<_>>(), "fields": fields})
            }
            Deployment::DataCenter => {
                let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
                json!({"jql": format!("id in ({list})"), "fields": fields, "startAt": start_at,
                       "maxResults": ids.len(), "validateQuery": false})
            }
        };
        let reply = self.post_decoded(path, &body, S::read).await?;
        let (issues, rest) = reply.body;
        let total = if self.deployment() == Deployment::DataCenter { rest.total } else { None };
        Ok(Page {
            issues,
            next: None,
            total,
            max_results: rest.max_results,
            errors: rest.issue_errors,
            date: reply.date,
        })
    }

    /// Whether issue `id` exists for the API user: `GET …/issue/{id}` answers 404 ("Issue does
    /// not exist or you do not have permission to see it") for one that was deleted or hidden.
    pub async fn issue_exists(&self, id: u64) -> Result<bool, JiraError> {
        let path = format!("{}/issue/{id}", self.api());
        match self.get_reply::<serde::de::IgnoredAny>(&path, &[("fields", "id".to_string())]).await {
            Ok(_) => Ok(true),
            Err(JiraError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Which of `ids` (at most [`SEARCH_IDS_MAX`]) search still shows, whatever the pipeline's
    /// filter: search leaves out deleted and archived issues and those the user may not see.
    /// Data Center gets `validateQuery=false`, so ids that no longer exist drop out instead of
    /// failing the query with a 400.
    pub async fn searchable(&self, ids: &[u64]) -> Result<Vec<u64>, JiraError> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let jql = format!("id in ({list})");
        let only_id = ["id".to_string()];
        let mut found = Vec::new();
        match self.deployment() {
            Deployment::Cloud => {
                let mut cursor = Cursor::Start;
                loop {
                    let page = self.search::<Vec<Id>>(&jql, &only_id, &cursor, 0, SEARCH_IDS_MAX as u32).await?;
                    found.extend(page.issues.iter().filter_map(|i| i.id.parse::<u64>().ok()));
                    match page.next {
                        Some(t) if !page.issues.is_empty() => cursor = Cursor::Token(t),
                        _ => break,
                    }
                }
            }
            // Data Center's fetch by id is this very search (`id in`, `validateQuery=false`).
            Deployment::DataCenter => loop {
                let page = self.fetch_by_ids::<Vec<Id>>(ids, &only_id, found.len() as u64).await?;
                let n = page.issues.len();
                found.extend(page.issues.iter().filter_map(|i| i.id.parse::<u64>().ok()));
                if n == 0 || page.total.is_none_or(|t| found.len() as u64 >= t) {
                    break;
                }
            },
        }
        Ok(found)
    }

    /// Whether the API user may browse `project` (`GET …/mypermissions` with its id or key and
    /// `BROWSE_PROJECTS`); `None` when Jira answers 404, which it does for a project that is
    /// gone and for one the user may not even view.
    pub async fn may_browse(&self, project: ProjectParam<'_>) -> Result<Option<bool>, JiraError> {
        let (name, value) = match project {
            ProjectParam::Id(id) => ("projectId", id),
            ProjectParam::Key(key) => ("projectKey", key),
        };
        let query = [(name, value.to_string()), ("permissions", "BROWSE_PROJECTS".to_string())];
        #[derive(Deserialize)]
        struct Permissions {
            permissions: std::collections::HashMap<String, Permission>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Permission {
            have_permission: bool,
        }
        match self.get::<Permissions>(&format!("{}/mypermissions", self.api()), &query).await {
            Ok(p) => Ok(Some(p.permissions.get("BROWSE_PROJECTS").is_some_and(|p| p.have_permission))),
            Err(JiraError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
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

/// The listing query: `filter` from `created_from` (epoch milliseconds) on, in creation order.
/// `created` never changes, so an issue edited while the listing pages cannot move to a page
/// already read (it could under `ORDER BY updated`); the key breaks ties (ordering by key is
/// safe, only comparisons on it are not).
pub fn listing_jql(filter: &str, created_from: Option<i64>) -> String {
    match created_from {
        Some(ms) => format!("{filter} AND created >= {ms} ORDER BY created ASC, key ASC"),
        None => format!("{filter} ORDER BY created ASC, key ASC"),
    }
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
    fn listings_page_in_creation_order_and_never_compare_ids() {
        assert_eq!(listing_jql("updated >= 0", None), "updated >= 0 ORDER BY created ASC, key ASC");
        assert_eq!(listing_jql("f", Some(60_000)), "f AND created >= 60000 ORDER BY created ASC, key ASC");
        for q in [listing_jql("f", None), listing_jql("f", Some(1))] {
            assert!(!q.contains("id >") && !q.contains("id <") && !q.contains("key >") && !q.contains("key <"));
        }
    }

    #[test]
    fn last_page_has_no_next() {
        let p: Wire<()> = serde_json::from_value(json!({"issues": [], "isLast": true})).unwrap();
        assert_eq!(p.next(), None);
        let p: Wire<()> = serde_json::from_value(json!({"issues": [], "nextPageToken": "t", "isLast": false})).unwrap();
        assert_eq!(p.next().as_deref(), Some("t"));
    }
}
