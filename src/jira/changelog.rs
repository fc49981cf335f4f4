//! Issue changelogs, whole: Cloud's `POST /rest/api/3/changelog/bulkfetch` (every history of
//! up to 1,000 issues, paged by token), and on Data Center `expand=changelog` on an `id in`
//! search, checked against its `total` because nothing documents that it is never cut short.

use serde::Deserialize;
use serde_json::{Value, json};

use super::lean::{self, Lean};
use super::{JiraClient, JiraError};
use crate::config::Deployment;

/// Issues per Cloud changelog request (v3 spec: 1 to 1000).
pub const CHANGELOG_ISSUES_CLOUD: usize = 1000;
/// Issues per Data Center search with `expand=changelog`: each carries its whole history.
pub const CHANGELOG_ISSUES_DC: usize = 100;
/// Histories per Cloud changelog page (spec: 1 to 10000, default 1000).
const CHANGELOG_PAGE: u32 = 1000;

/// One issue's histories, oldest first, and whether Jira said there are more than it sent.
#[derive(Debug)]
pub struct IssueHistories {
    pub issue_id: String,
    pub histories: Vec<Value>,
    /// Data Center: the `total` it reported, when more than `histories`.
    pub cut_at: Option<u64>,
    /// Data Center: `created` and `status`, which its search returns with the changelog (Cloud's
    /// changelog fetch has no issue fields).
    pub issue: Option<IssueFields>,
}

/// An issue's `created` and `status`, as the history rebuilds need them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssueFields {
    /// Text on every endpoint seen, held as sent so any of Jira's instant forms is read.
    #[serde(default)]
    pub created: Option<Value>,
    #[serde(default)]
    pub status: Option<StatusRef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatusRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

impl JiraClient {
    /// Every history of `ids`, grouped by issue (an issue may appear in several groups on
    /// Cloud, which pages across issues by date).
    pub async fn changelogs(&self, ids: &[u64]) -> Result<Vec<IssueHistories>, JiraError> {
        match self.deployment() {
            Deployment::Cloud => self.changelogs_cloud(ids).await,
            Deployment::DataCenter => self.changelogs_dc(ids).await,
        }
    }

    async fn changelogs_cloud(&self, ids: &[u64]) -> Result<Vec<IssueHistories>, JiraError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            issue_change_logs: Vec<Group>,
            #[serde(default)]
            next_page_token: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Group {
            issue_id: String,
            #[serde(default)]
            change_histories: Vec<Lean>,
        }
        let keys: Vec<String> = ids.iter().map(u64::to_string).collect();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut body = json!({"issueIdsOrKeys": keys, "maxResults": CHANGELOG_PAGE});
            if let Some(t) = &token {
                body["nextPageToken"] = json!(t);
            }
            let page: Page = self.post_reply("rest/api/3/changelog/bulkfetch", &body).await?.body;
            out.extend(page.issue_change_logs.into_iter().map(|g| IssueHistories {
                issue_id: g.issue_id,
                histories: lean::values(g.change_histories),
                cut_at: None,
                issue: None,
            }));
            match page.next_page_token {
                // A token seen before would page forever.
                Some(t) if seen.insert(t.clone()) => token = Some(t),
                Some(t) => {
                    return Err(JiraError::Decode {
                        endpoint: "rest/api/3/changelog/bulkfetch".into(),
                        message: format!("the page token {t} came back twice"),
                    });
                }
                None => break,
            }
        }
        Ok(out)
    }

    async fn changelogs_dc(&self, ids: &[u64]) -> Result<Vec<IssueHistories>, JiraError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            issues: Vec<Issue>,
            #[serde(default)]
            total: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Issue {
            id: String,
            #[serde(default)]
            fields: IssueFields,
            #[serde(default)]
            changelog: Option<Changelog>,
        }
        #[derive(Deserialize)]
        struct Changelog {
            #[serde(default)]
            total: Option<u64>,
            #[serde(default)]
            histories: Vec<Lean>,
        }
        let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let mut out = Vec::new();
        loop {
            let body = json!({
                "jql": format!("id in ({list})"), "fields": ["created", "status"], "expand": ["changelog"],
                "startAt": out.len(), "maxResults": ids.len(), "validateQuery": false,
            });
            let page: Page = self.post_reply("rest/api/2/search", &body).await?.body;
            let n = page.issues.len();
            for i in page.issues {
                let c = i.changelog.unwrap_or(Changelog { total: Some(0), histories: Vec::new() });
                let sent = c.histories.len() as u64;
                let mut histories = lean::values(c.histories);
                // Jira may list them newest first here; rows go oldest first, as on Cloud.
                histories.sort_by_key(|h| (created_ms(h), h["id"].as_str().and_then(|i| i.parse::<u64>().ok())));
                out.push(IssueHistories {
                    issue_id: i.id,
                    histories,
                    cut_at: c.total.filter(|t| *t > sent),
                    issue: Some(i.fields),
                });
            }
            if n == 0 || page.total.is_none_or(|t| out.len() as u64 >= t) {
                break;
            }
        }
        Ok(out)
    }
}

/// A history's `created` in epoch microseconds, in any of Jira's forms (text, epoch numbers).
fn created_ms(h: &Value) -> Option<i64> {
    super::instant::parse_jira_instant(&h["created"])
}

/// A status and its category, as `GET …/status` lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status_category: Option<StatusCategory>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatusCategory {
    pub key: String,
    pub name: String,
}

impl JiraClient {
    /// Every status with its category (`To Do`, `In Progress`, `Done`): what time-in-status
    /// groups by, which the changelog does not carry.
    pub async fn statuses(&self) -> Result<Vec<StatusDetails>, JiraError> {
        self.get(&format!("{}/status", self.api()), &[]).await
    }
}
