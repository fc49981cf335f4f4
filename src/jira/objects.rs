//! Projects, users, boards and the API user: each endpoint with its own paging envelope and
//! page-size cap, as Jira applies them. Callers get pages, never the whole object at once.

use serde::Deserialize;
use serde_json::Value;

use super::{JiraClient, JiraError};
use crate::config::Deployment;

/// How an endpoint pages.
#[derive(Debug, Clone, Copy)]
enum Envelope {
    /// `{startAt, maxResults, isLast, values}` (project search, agile).
    Values,
    /// A bare array; the end is an empty page (users: Jira may return short pages before it).
    Array,
    /// A bare array of everything, no paging (Data Center projects).
    All,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValuesPage {
    values: Vec<Value>,
    #[serde(default)]
    is_last: Option<bool>,
    #[serde(default)]
    total: Option<u64>,
}

/// The API user, and the time zone Jira reads JQL dates in for them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub email_address: Option<String>,
}

impl JiraClient {
    pub async fn myself(&self) -> Result<Myself, JiraError> {
        self.get(&format!("{}/myself", self.api()), &[]).await
    }

    /// Every visible project, page by page.
    pub fn projects(&self) -> Pager<'_> {
        match self.deployment() {
            Deployment::Cloud => {
                let q = vec![("expand", "description,lead".to_string())];
                Pager::new(self, "rest/api/3/project/search", q, 100, Envelope::Values)
            }
            // Without the expansion Data Center leaves `description` and `lead` out.
            Deployment::DataCenter => {
                let q = vec![("expand", "description,lead".to_string())];
                Pager::new(self, "rest/api/2/project", q, 0, Envelope::All)
            }
        }
    }

    /// Every user, page by page (Data Center's search needs `username`; `.` matches all).
    pub fn users(&self) -> Pager<'_> {
        match self.deployment() {
            Deployment::Cloud => Pager::new(self, "rest/api/3/users/search", vec![], 1000, Envelope::Array),
            Deployment::DataCenter => {
                let q = vec![("username", ".".to_string()), ("includeInactive", "true".to_string())];
                Pager::new(self, "rest/api/2/user/search", q, 1000, Envelope::Array)
            }
        }
    }

    /// Every agile board, page by page (Jira Software; 50 a page).
    pub fn boards(&self) -> Pager<'_> {
        Pager::new(self, "rest/agile/1.0/board", vec![], 50, Envelope::Values)
    }

    /// How many projects the API user can browse (`check`): one small request on Cloud, the
    /// whole list on Data Center, which does not page projects.
    pub async fn project_count(&self) -> Result<u64, JiraError> {
        match self.deployment() {
            Deployment::Cloud => {
                let q = [("maxResults", "1".to_string())];
                let p: ValuesPage = self.get("rest/api/3/project/search", &q).await?;
                Ok(p.total.unwrap_or(p.values.len() as u64))
            }
            Deployment::DataCenter => Ok(self.get::<Vec<Value>>("rest/api/2/project", &[]).await?.len() as u64),
        }
    }

    /// The first `n` users (`check`).
    pub async fn users_sample(&self, n: usize) -> Result<Vec<Value>, JiraError> {
        match self.deployment() {
            Deployment::Cloud => self.get("rest/api/3/users/search", &[("maxResults", n.to_string())]).await,
            Deployment::DataCenter => {
                let q = [("username", ".".to_string()), ("maxResults", n.to_string())];
                self.get("rest/api/2/user/search", &q).await
            }
        }
    }

    /// The first page of boards and Jira's total (`check`).
    pub async fn boards_first_page(&self) -> Result<(Vec<Value>, Option<u64>), JiraError> {
        let p: ValuesPage = self.get("rest/agile/1.0/board", &[("maxResults", "50".to_string())]).await?;
        Ok((p.values, p.total))
    }

    /// A board's filter and columns; 403 when its saved filter is not shared with the API user.
    pub async fn board_configuration(&self, board_id: &str) -> Result<Value, JiraError> {
        self.get(&format!("rest/agile/1.0/board/{board_id}/configuration"), &[]).await
    }
}

/// Walks one `startAt`-paged endpoint.
pub struct Pager<'c> {
    client: &'c JiraClient,
    path: &'static str,
    extra: Vec<(&'static str, String)>,
    page_size: u64,
    envelope: Envelope,
    start: u64,
    done: bool,
    /// The first record of every page so far: a page that starts like an earlier one means the
    /// site ignores `startAt`, and paging would never end.
    firsts: std::collections::HashSet<String>,
}

impl<'c> Pager<'c> {
    fn new(
        client: &'c JiraClient,
        path: &'static str,
        extra: Vec<(&'static str, String)>,
        page_size: u64,
        envelope: Envelope,
    ) -> Self {
        Self { client, path, extra, page_size, envelope, start: 0, done: false, firsts: Default::default() }
    }

    /// The next non-empty page, or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, JiraError> {
        if self.done {
            return Ok(None);
        }
        let mut query = self.extra.clone();
        if !matches!(self.envelope, Envelope::All) {
            query.push(("startAt", self.start.to_string()));
            query.push(("maxResults", self.page_size.to_string()));
        }
        let (values, last) = match self.envelope {
            Envelope::Values => {
                let p: ValuesPage = self.client.get(self.path, &query).await?;
                let n = p.values.len() as u64;
                // `isLast` when given; else the total; an empty page always ends.
                let last = n == 0
                    || p.is_last.unwrap_or_else(|| match p.total {
                        Some(t) => self.start + n >= t,
                        None => n < self.page_size,
                    });
                (p.values, last)
            }
            Envelope::Array => {
                let v: Vec<Value> = self.client.get(self.path, &query).await?;
                let last = v.is_empty();
                (v, last)
            }
            Envelope::All => (self.client.get::<Vec<Value>>(self.path, &query).await?, true),
        };
        if let Some(first) = values.first()
            && !self.firsts.insert(first.to_string())
        {
            return Err(JiraError::Decode {
                endpoint: self.path.to_string(),
                message: format!(
                    "the page at startAt={} is one already read: the site (or a proxy in front of it) ignores `startAt`, so paging would never end. Check that requests reach Jira unaltered",
                    self.start
                ),
            });
        }
        self.start += values.len() as u64;
        self.done = last;
        Ok(if values.is_empty() { None } else { Some(values) })
    }
}
