//! Sprints, versions and components: per board (sprints) or per project (versions,
//! components), each endpoint with its own envelope and page cap as Jira applies them.

use serde::Deserialize;
use serde_json::Value;

use super::{JiraClient, JiraError};
use crate::config::Deployment;

/// Sprints a page: the agile API's cap.
const SPRINT_PAGE: u64 = 50;
/// Versions and (Cloud) components a page: the default and cap of `PageBean` project lists.
const PROJECT_LIST_PAGE: u64 = 50;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    values: Vec<Value>,
    #[serde(default)]
    start_at: Option<u64>,
    #[serde(default)]
    is_last: Option<bool>,
    #[serde(default)]
    total: Option<u64>,
}

impl JiraClient {
    /// The sprints board `board_id` lists (its own and any whose issues its filter matches).
    /// Kanban boards answer 400: they have no sprints.
    pub fn board_sprints(&self, board_id: &str) -> Paged<'_> {
        Paged::new(self, format!("rest/agile/1.0/board/{board_id}/sprint"), Some(SPRINT_PAGE))
    }

    /// The versions of project `project` (id or key), paged on Cloud and Data Center alike.
    pub fn project_versions(&self, project: &str) -> Paged<'_> {
        Paged::new(self, format!("{}/project/{project}/version", self.api()), Some(PROJECT_LIST_PAGE))
    }

    /// The components of project `project`: paged on Cloud (with `issueCount`), one array on
    /// Data Center (`…/components`).
    pub fn project_components(&self, project: &str) -> Paged<'_> {
        match self.deployment() {
            Deployment::Cloud => {
                Paged::new(self, format!("rest/api/3/project/{project}/component"), Some(PROJECT_LIST_PAGE))
            }
            Deployment::DataCenter => Paged::new(self, format!("rest/api/2/project/{project}/components"), None),
        }
    }

    /// The ids of every project the API user can browse, for the per-project objects.
    pub async fn project_ids(&self) -> Result<Vec<String>, JiraError> {
        let mut ids = Vec::new();
        let mut pager = self.projects();
        while let Some(page) = pager.next().await? {
            ids.extend(page.iter().map(|p| match &p["id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }));
        }
        Ok(ids)
    }
}

/// Walks one per-board or per-project list: `startAt`-paged `{startAt, maxResults, isLast,
/// values}` pages, or (no page size) one bare array. A page that does not move `startAt` on
/// ends the walk with an error rather than reading it forever.
pub struct Paged<'c> {
    client: &'c JiraClient,
    path: String,
    page_size: Option<u64>,
    start: u64,
    first_of_last_page: Option<Value>,
    done: bool,
}

impl<'c> Paged<'c> {
    pub(super) fn new(client: &'c JiraClient, path: String, page_size: Option<u64>) -> Self {
        Self { client, path, page_size, start: 0, first_of_last_page: None, done: false }
    }

    /// The endpoint, as errors name it.
    pub fn endpoint(&self) -> &str {
        &self.path
    }

    /// The next non-empty page, or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, JiraError> {
        if self.done {
            return Ok(None);
        }
        let Some(size) = self.page_size else {
            self.done = true;
            let all: Vec<Value> = self.client.get(&self.path, &[]).await?;
            return Ok(if all.is_empty() { None } else { Some(all) });
        };
        let query = [("startAt", self.start.to_string()), ("maxResults", size.to_string())];
        let p: Page = self.client.get(&self.path, &query).await?;
        let stuck = |message: String| JiraError::Decode { endpoint: self.path.clone(), message };
        if let Some(at) = p.start_at.filter(|at| *at != self.start) {
            return Err(stuck(format!(
                "asked for startAt={}, got a page at {at}: the list cannot be paged",
                self.start
            )));
        }
        let n = p.values.len() as u64;
        if n == 0 && p.is_last == Some(false) {
            return Err(stuck(format!("an empty page at startAt={} that is not the last", self.start)));
        }
        if n > 0 && p.values.first() == self.first_of_last_page.as_ref() {
            return Err(stuck(format!("the page at startAt={} repeats the previous one", self.start)));
        }
        self.done = n == 0
            || p.is_last.unwrap_or_else(|| match p.total {
                Some(t) => self.start + n >= t,
                None => n < size,
            });
        self.start += n;
        self.first_of_last_page = p.values.first().cloned();
        Ok(if n == 0 { None } else { Some(p.values) })
    }
}
