//! What people do on issues: an issue's comments and worklogs page by page
//! (`GET …/issue/{id}/comment`, `…/worklog`), read past the first page that search embeds, and
//! the site-wide worklog change feed (`GET …/worklog/updated`, `…/worklog/deleted`, then
//! `POST …/worklog/list` for the worklogs themselves).

use serde::Deserialize;
use serde_json::{Value, json};

use super::lean::Lean;
use super::{JiraClient, JiraError};

/// Worklog ids per `POST …/worklog/list` (v3 spec `getWorklogsForIds`: "a maximum of 1000").
pub const WORKLOG_LIST_MAX: usize = 1000;

/// Ids per page of the worklog feeds (v3 spec: "a limit of 1000 worklogs per page").
const FEED_PAGE: usize = 1000;

/// Records per request for an issue's comments or worklogs. Jira may cap it lower; the
/// reader follows `total`, never the size it asked for.
const CHILD_PAGE: u32 = 5000;

/// An issue's list Jira pages: its comments or its worklogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueList {
    Comments,
    Worklogs,
}

impl IssueList {
    /// The path segment after `issue/{id}/`, which is also the issue field embedding the
    /// first page.
    pub fn field(self) -> &'static str {
        match self {
            IssueList::Comments => "comment",
            IssueList::Worklogs => "worklog",
        }
    }

    /// The array inside a page (`PageOfComments.comments`, `PageOfWorklogs.worklogs`).
    pub fn key(self) -> &'static str {
        match self {
            IssueList::Comments => "comments",
            IssueList::Worklogs => "worklogs",
        }
    }
}

/// How complete an embedded page is: what it holds against Jira's `total`.
pub fn page_is_complete(page: &Value, list: IssueList) -> bool {
    let held = page[list.key()].as_array().map_or(0, Vec::len) as u64;
    match page["total"].as_u64() {
        Some(total) => held >= total,
        // A page without a total cannot say it is whole.
        None => false,
    }
}

/// One change feed of worklogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    Updated,
    Deleted,
}

/// What a feed found since a time: the ids, and the time it is complete up to, where the next
/// read starts.
#[derive(Debug, Default)]
pub struct FeedRead {
    pub ids: Vec<u64>,
    pub until_ms: Option<i64>,
}

/// How far behind Jira's clock (its `Date` header) a feed read to its last page is complete:
/// Jira leaves out the last minute, and a second minute covers the clocks of a cluster's nodes.
const FEED_SETTLED_MS: i64 = 120_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedPage {
    #[serde(default)]
    values: Vec<FeedEntry>,
    #[serde(default)]
    until: Option<i64>,
    #[serde(default)]
    last_page: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedEntry {
    worklog_id: u64,
}

impl JiraClient {
    /// Every record of issue `issue_id`'s list, in creation order. `None` when the issue is
    /// gone or hidden (404), so the caller can tell that from an issue with none.
    pub async fn issue_list(&self, issue_id: &str, list: IssueList) -> Result<Option<Vec<Value>>, JiraError> {
        let path = format!("{}/issue/{issue_id}/{}", self.api(), list.field());
        let mut out: Vec<Value> = Vec::new();
        loop {
            let mut query = vec![("startAt", out.len().to_string()), ("maxResults", CHILD_PAGE.to_string())];
            if list == IssueList::Comments {
                query.push(("orderBy", "created".to_string()));
            }
            let mut page: Value = match self.get::<Lean>(&path, &query).await {
                Ok(p) => p.0,
                Err(JiraError::Status { status: 404, .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
            let total = page["total"].as_u64();
            let items = match page.get_mut(list.key()) {
                Some(Value::Array(items)) => std::mem::take(items),
                _ => {
                    return Err(JiraError::Decode {
                        endpoint: path,
                        message: format!("the page has no `{}` array", list.key()),
                    });
                }
            };
            let n = items.len();
            // A page that begins with a record already read: the site ignores `startAt`.
            if let Some(first) = items.first().filter(|_| !out.is_empty())
                && out.iter().any(|r| r["id"] == first["id"])
            {
                return Err(JiraError::Decode {
                    endpoint: path,
                    message: format!(
                        "the page at startAt={} begins with a record already read: the site (or a proxy in front of it) ignores `startAt`, so the list cannot be read whole. Check that requests reach Jira unaltered",
                        out.len()
                    ),
                });
            }
            out.extend(items);
            match total {
                Some(t) if (out.len() as u64) < t && n > 0 => continue,
                // A page that says more is to come but brings nothing would loop forever.
                Some(t) if (out.len() as u64) < t => {
                    return Err(JiraError::Decode {
                        endpoint: path,
                        message: format!(
                            "Jira reports {t} records but an empty page at {} of them; the list cannot be read whole",
                            out.len()
                        ),
                    });
                }
                _ => return Ok(Some(out)),
            }
        }
    }

    /// The ids of worklogs updated (or deleted) since `since_ms`, every page of the feed.
    pub async fn worklog_feed(&self, feed: Feed, since_ms: i64) -> Result<FeedRead, JiraError> {
        let path = match feed {
            Feed::Updated => format!("{}/worklog/updated", self.api()),
            Feed::Deleted => format!("{}/worklog/deleted", self.api()),
        };
        let mut read = FeedRead::default();
        let mut since = since_ms.max(0);
        loop {
            let reply = self.get_reply::<FeedPage>(&path, &[("since", since.to_string())]).await?;
            let page = reply.body;
            read.ids.extend(page.values.iter().map(|v| v.worklog_id));
            // Without `lastPage`, only a short page is known to be the last.
            if page.last_page.unwrap_or(page.values.len() < FEED_PAGE) {
                // `until` is the newest change listed (or `since` when there is none): a quiet
                // feed would never move on from it, and a cursor set back by the lookback on
                // every run would read ever longer windows. Jira's clock says how far the feed
                // is complete.
                let settled = reply.date.map(|d| d.timestamp_millis() - FEED_SETTLED_MS);
                read.until_ms = [page.until, settled].into_iter().flatten().max();
                return Ok(read);
            }
            // The next page starts where this one ended; a feed that does not move on would
            // be read forever.
            match page.until {
                Some(u) if u > since => since = u,
                _ => {
                    return Err(JiraError::Decode {
                        endpoint: path,
                        message: format!(
                            "the feed says more pages follow but its `until` does not move past `since` ({since})"
                        ),
                    });
                }
            }
        }
    }

    /// The worklogs with these ids (at most [`WORKLOG_LIST_MAX`]); Jira leaves out those that
    /// are gone or that the API user may not see.
    pub async fn worklogs_by_id(&self, ids: &[u64]) -> Result<Vec<Value>, JiraError> {
        let path = format!("{}/worklog/list", self.api());
        self.post_reply::<Vec<Value>>(&path, &json!({"ids": ids})).await.map(|r| r.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_embedded_page_is_whole_only_when_it_holds_its_total() {
        let page = |n: usize, total: Option<u64>| {
            let mut p = json!({"comments": vec![json!({}); n], "startAt": 0, "maxResults": n});
            if let Some(t) = total {
                p["total"] = json!(t);
            }
            p
        };
        assert!(page_is_complete(&page(2, Some(2)), IssueList::Comments));
        assert!(page_is_complete(&page(0, Some(0)), IssueList::Comments));
        assert!(!page_is_complete(&page(20, Some(21)), IssueList::Comments));
        assert!(!page_is_complete(&page(3, None), IssueList::Comments));
        assert!(!page_is_complete(&json!({"worklogs": []}), IssueList::Worklogs));
    }
}
