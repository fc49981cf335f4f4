//! The one workflow every issue follows: edits, the changelog, transitions and the
//! status-category dates all step along it, so its statuses and transitions live together.

use serde_json::{Value, json};

use super::{Dataset, tag};

/// (id, name, statusCategory id, key, colorName, category name)
pub(crate) const STATUSES: [(&str, &str, u64, &str, &str, &str); 4] = [
    ("10000", "To Do", 2, "new", "blue-gray", "To Do"),
    ("3", "In Progress", 4, "indeterminate", "yellow", "In Progress"),
    ("10001", "In Review", 4, "indeterminate", "yellow", "In Progress"),
    ("10002", "Done", 3, "done", "green", "Done"),
];

/// Workflow transitions out of each status (indices into `STATUSES`):
/// (transition id, name, target status). Edits follow the first one of each status, so the
/// workflow is a cycle To Do → In Progress → In Review → Done → To Do.
const TRANSITIONS: [&[(&str, &str, usize)]; 4] = [
    &[("11", "Start progress", 1)],
    &[("21", "Submit for review", 2), ("31", "Stop progress", 0)],
    &[("41", "Done", 3), ("51", "Request changes", 1)],
    &[("61", "Reopen", 0)],
];

/// The name of status `idx` (an index into `STATUSES`), as JQL's `status` clause matches it.
pub(crate) fn status_name(idx: usize) -> &'static str {
    STATUSES[idx].1
}

impl Dataset {
    /// Index into `STATUSES` of issue `i` after `version` edits (one workflow step each).
    pub(crate) fn status_index(&self, i: u64, version: u32) -> usize {
        ((self.p(tag::STATUS, i) + u64::from(version)) % 4) as usize
    }

    /// Every status, as `GET /rest/api/{3,2}/status` lists them (`StatusDetails`).
    pub fn statuses(&self) -> Value {
        Value::Array((0..STATUSES.len()).map(|i| self.status_json(i)).collect())
    }

    pub(super) fn status_json(&self, idx: usize) -> Value {
        let status = STATUSES[idx];
        let base = &self.base_url;
        json!({
            "self": format!("{base}/rest/api/3/status/{}", status.0),
            "description": "", "iconUrl": format!("{base}/images/icons/status.png"),
            "name": status.1, "id": status.0,
            "statusCategory": {
                "self": format!("{base}/rest/api/3/statuscategory/{}", status.2),
                "id": status.2, "key": status.3, "colorName": status.4, "name": status.5,
            },
        })
    }

    /// `transitions` of an issue in status `status` (`expand=transitions`), as Jira lists them.
    pub(crate) fn transitions(&self, status: usize) -> Value {
        let list: Vec<Value> = TRANSITIONS[status]
            .iter()
            .map(|(id, name, to)| {
                json!({
                    "id": id, "name": name, "to": self.status_json(*to),
                    "hasScreen": false, "isGlobal": false, "isInitial": false, "isAvailable": true,
                    "isConditional": false, "isLooped": false,
                })
            })
            .collect();
        Value::Array(list)
    }
}
