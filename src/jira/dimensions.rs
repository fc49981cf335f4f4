//! The lists issues' values come from: statuses, priorities, resolutions, issue types,
//! project categories and labels. Cloud pages some of them (`PageBean`s) and lists others
//! whole; Data Center lists every one whole and has no label listing at all.

use super::planning::Paged;
use super::{JiraClient, JiraError};
use crate::config::Deployment;

/// `resolution/search`: the `PageBean` default and cap.
const PAGE_BEAN: u64 = 50;
/// `GET /rest/api/3/label`: its default and cap.
const LABEL_PAGE: u64 = 1000;

impl JiraClient {
    /// Every status with its whole category (`StatusDetails`). Not Cloud's `statuses/search`:
    /// it sends the category only as `TODO`/`IN_PROGRESS`/`DONE`, without its id or name.
    pub fn all_statuses(&self) -> Paged<'_> {
        Paged::new(self, format!("{}/status", self.api()), None)
    }

    /// Every priority, one array on both. Not Cloud's paged `priority/search`: the spec gives
    /// it the classic scope `manage:jira-configuration`, which a read-only token lacks, while
    /// `GET /priority` takes `read:jira-work` (or `read:priority:jira`). Both are marked
    /// deprecated; a site has a handful of priorities, so one array is no cost.
    pub fn priorities(&self) -> Paged<'_> {
        Paged::new(self, format!("{}/priority", self.api()), None)
    }

    /// Every resolution: paged on Cloud (`resolution/search`), one array on Data Center.
    pub fn resolutions(&self) -> Paged<'_> {
        self.paged_on_cloud("resolution/search", "resolution", PAGE_BEAN)
    }

    /// Every issue type the API user can see, one array on both.
    pub fn issue_types(&self) -> Paged<'_> {
        Paged::new(self, format!("{}/issuetype", self.api()), None)
    }

    /// Every project category, one array on both.
    pub fn project_categories(&self) -> Paged<'_> {
        Paged::new(self, format!("{}/projectCategory", self.api()), None)
    }

    /// Every label (plain strings). Cloud only: Data Center's REST API has no listing
    /// ([`JiraClient::cloud_only`]).
    pub fn labels(&self) -> Paged<'_> {
        Paged::new(self, "rest/api/3/label".into(), Some(LABEL_PAGE))
    }

    /// Fails on Data Center for what only Cloud lists; the pipeline's validation says so before
    /// a run, this keeps `check` and a hand-built client from asking a path that is not there.
    pub fn cloud_only(&self, object: &str) -> Result<(), JiraError> {
        match self.deployment() {
            Deployment::Cloud => Ok(()),
            Deployment::DataCenter => Err(JiraError::Config {
                message: format!("`{object}` cannot be read from Data Center: its REST API has no such listing"),
                fix: "remove the object from the pipeline (the issues table's `labels` column holds each issue's labels)",
            }),
        }
    }

    fn paged_on_cloud(&self, cloud: &str, data_center: &str, page: u64) -> Paged<'_> {
        match self.deployment() {
            Deployment::Cloud => Paged::new(self, format!("rest/api/3/{cloud}"), Some(page)),
            Deployment::DataCenter => Paged::new(self, format!("rest/api/2/{data_center}"), None),
        }
    }
}
