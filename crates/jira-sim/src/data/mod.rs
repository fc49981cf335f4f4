//! The simulated site's content, generated from indices.
//!
//! Nothing here is stored: `Dataset::issue(i)` recomputes issue `i` from the seed, so memory does
//! not grow with `--issues`. Base issues are laid out so that index order *is* `updated` order
//! (issue `i+1` was updated after issue `i`), which lets search page through a million issues
//! ordered by `updated, id` without sorting them.
//!
//! The submodules each generate one part of the site; they share only [`Dataset`] and the
//! random tags below, so one part can change without shifting the values of another.

mod changelog;
mod comments;
mod config;
mod custom_values;
mod dates;
mod dimensions;
mod field_list;
mod field_options;
mod issues;
mod layout;
mod planning;
mod projects;
mod rich_text;
mod users;
mod workflow;
mod worklogs;

pub(crate) use changelog::{CHANGELOG_PAGE, Edit, Moved};
pub(crate) use comments::{COMMENT_EMBED_CLOUD, COMMENT_STRIDE, CommentSpec};
pub use config::DatasetConfig;
pub use field_list::{CUSTOM_FIELDS, CustomField};
pub use field_options::FieldContext;
pub use planning::{BASE_VERSIONS, COMPONENTS};
pub use rich_text::{adf, adf_to_wiki, to_v2};
pub(crate) use workflow::{STATUSES, status_name};
pub(crate) use worklogs::{WORKLOG_EMBED, WORKLOG_STRIDE, WorklogSpec};

use serde_json::{Value, json};

use crate::rng::pick;

const DAY_MS: i64 = 86_400_000;
/// Tags that keep independent attributes of one issue uncorrelated.
mod tag {
    pub const JITTER: u64 = 1;
    pub const AGE: u64 = 2;
    pub const STATUS: u64 = 3;
    pub const PRIORITY: u64 = 4;
    pub const TYPE: u64 = 5;
    pub const ASSIGNEE: u64 = 6;
    pub const REPORTER: u64 = 7;
    pub const LABELS: u64 = 8;
    pub const SUMMARY: u64 = 9;
    pub const CUSTOM: u64 = 10;
    pub const USER: u64 = 11;
    pub const PRESENT: u64 = 12;
    pub const COMMENTS: u64 = 13;
    pub const COMMENT: u64 = 14;
    pub const WORKLOG: u64 = 15;
    pub const SPRINT_MOVE: u64 = 16;
    /// Shared with `system_fields` (its time tracking draws), which worklogs follow.
    pub const TIME: u64 = 42;
}

/// The generated content of one simulated site.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub config: DatasetConfig,
    base_url: String,
    /// Serve Data Center's field list (REST v2 only) instead of Jira Cloud's.
    pub(crate) data_center: bool,
}

impl Dataset {
    pub fn new(config: DatasetConfig, base_url: impl Into<String>) -> Self {
        Self { config, base_url: base_url.into(), data_center: false }
    }

    /// The same site as Data Center lists it: its `/field` differs a little from Cloud's (no
    /// `statuscategorychangedate`, `statusCategory` or `issuerestriction`; `archiveddate` and
    /// `archivedby` instead).
    pub fn for_data_center(mut self, data_center: bool) -> Self {
        self.data_center = data_center;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn p(&self, tag: u64, i: u64) -> u64 {
        pick(self.config.seed, tag, i)
    }

    /// Cloud id of the site (what `/_edge/tenant_info` and accessible-resources report).
    pub fn cloud_id(&self) -> String {
        let r = pick(self.config.seed, 0xC10D, 0);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            r >> 32,
            (r >> 16) & 0xffff,
            r & 0xfff,
            (r >> 4) & 0xfff,
            r & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
impl Dataset {
    /// The default site with `issues` issues, for unit tests.
    pub(crate) fn for_tests(issues: u64) -> Self {
        Self::new(DatasetConfig { issues, ..Default::default() }, "http://sim")
    }
}

fn avatar_urls(base: &str, kind: &str, n: u64) -> Value {
    let url = |s: u32| format!("{base}/secure/{kind}avatar?size={s}&id={n}");
    json!({"48x48": url(48), "24x24": url(24), "16x16": url(16), "32x32": url(32)})
}
