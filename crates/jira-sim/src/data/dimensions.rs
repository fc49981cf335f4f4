//! The lists issues' values come from — priorities, resolutions, issue types, project
//! categories, labels — rendered as their own endpoints list them, so a value an issue carries
//! is always one of them (the README cites each shape).

use serde_json::{Value, json};

use super::Dataset;
use super::issues::{ISSUE_TYPES, LABELS, PRIORITIES};

/// (description, statusColor) of each of `PRIORITIES`: Jira's defaults for a new Cloud site.
const PRIORITY_DETAILS: [(&str, &str); 5] = [
    ("This problem will block progress.", "#d04437"),
    ("Serious problem that could block progress.", "#f15C75"),
    ("Has the potential to affect progress.", "#f79232"),
    ("Minor problem or easily worked around.", "#707070"),
    ("Trivial problem with little or no impact on progress.", "#999999"),
];

/// The default priority of a new site (`isDefault`): Medium.
const DEFAULT_PRIORITY: usize = 2;

/// (id, name, description): the resolutions of a new Cloud site; issues in Done carry the first.
pub const RESOLUTIONS: [(&str, &str, &str); 4] = [
    ("10000", "Done", "Work has been completed on this issue."),
    ("10001", "Won't Do", "This issue won't be actioned."),
    ("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
    ("10003", "Cannot Reproduce", "All attempts at reproducing this issue failed."),
];

/// (id, name, description) of the site's project categories (no project is in one yet).
const PROJECT_CATEGORIES: [(&str, &str, &str); 2] =
    [("10000", "Product", "Customer-facing products"), ("10001", "Internal", "Tools the company runs for itself")];

/// The description each of `ISSUE_TYPES` has on a new site.
const ISSUE_TYPE_DESCRIPTIONS: [&str; 4] = [
    "Functionality or a feature expressed as a user goal.",
    "A problem or error.",
    "A small, distinct piece of work.",
    "A small piece of work that's part of a larger task.",
];

/// The scope Cloud gives a team-managed project's own status or issue type (`Scope`: `type`
/// `PROJECT` and the project's id, as in the spec's `statuses/search` and `issuetype`
/// examples). The site's first project is team-managed.
fn team_managed_scope() -> Value {
    json!({"type": "PROJECT", "project": {"id": Dataset::project_id(0).to_string()}})
}

impl Dataset {
    /// Every status as `GET /status` lists them: the workflow's, and on Cloud one a
    /// team-managed project added for itself (no issue is in it).
    pub fn listed_statuses(&self, data_center: bool) -> Vec<Value> {
        let mut all = self.statuses().as_array().cloned().unwrap_or_default();
        if !data_center {
            let base = &self.base_url;
            all.push(json!({
                "self": format!("{base}/rest/api/3/status/10100"), "description": "Waiting on someone else.",
                "iconUrl": format!("{base}/images/icons/status.png"), "name": "Blocked", "id": "10100",
                "statusCategory": {
                    "self": format!("{base}/rest/api/3/statuscategory/4"),
                    "id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress",
                },
                "scope": team_managed_scope(),
            }));
        }
        all
    }

    /// Priority `k` as issues embed it (`self`, `iconUrl`, `name`, `id`).
    pub(super) fn priority_ref(&self, k: usize) -> Value {
        let (id, name) = PRIORITIES[k];
        let base = &self.base_url;
        json!({
            "self": format!("{base}/rest/api/3/priority/{id}"),
            "iconUrl": format!("{base}/images/icons/priorities/{}.svg", name.to_lowercase()),
            "name": name, "id": id,
        })
    }

    /// Every priority as the priority endpoints list them: the embedded fields plus
    /// `statusColor` and `description`; `isDefault` only on Cloud's `priority/search`.
    pub fn priorities(&self, data_center: bool) -> Vec<Value> {
        (0..PRIORITIES.len())
            .map(|k| {
                let mut p = self.priority_ref(k);
                p["statusColor"] = json!(PRIORITY_DETAILS[k].1);
                p["description"] = json!(PRIORITY_DETAILS[k].0);
                if !data_center {
                    p["isDefault"] = json!(k == DEFAULT_PRIORITY);
                }
                p
            })
            .collect()
    }

    /// Every resolution: Cloud's `resolution/search` sends `id`, `name`, `description` and
    /// `default` (its schema, `ResolutionJsonBean`; the spec's example says `isDefault`);
    /// Data Center's `/resolution` `self`, `id`, `name` and `description`.
    pub fn resolutions(&self, data_center: bool) -> Vec<Value> {
        let base = &self.base_url;
        RESOLUTIONS
            .iter()
            .map(|(id, name, description)| {
                if data_center {
                    json!({"self": format!("{base}/rest/api/2/resolution/{id}"), "id": id, "name": name,
                           "description": description})
                } else {
                    json!({"id": id, "name": name, "description": description, "default": false})
                }
            })
            .collect()
    }

    /// Issue type `k` as issues embed it and `/issuetype` lists it.
    pub(super) fn issue_type(&self, k: usize) -> Value {
        let (id, name, subtask, level) = ISSUE_TYPES[k];
        let base = &self.base_url;
        json!({
            "self": format!("{base}/rest/api/3/issuetype/{id}"),
            "id": id, "description": ISSUE_TYPE_DESCRIPTIONS[k], "name": name, "subtask": subtask,
            "hierarchyLevel": level,
            "iconUrl": format!("{base}/images/icons/issuetypes/{}.svg", name.to_lowercase()),
        })
    }

    /// Every issue type, as `GET /issuetype` lists them. Data Center's `IssueTypeJsonBean` has
    /// no `hierarchyLevel` (a Cloud concept), and no type there is scoped to a project; on
    /// Cloud the team-managed project has its own Task (no issue uses it).
    pub fn issue_types(&self, data_center: bool) -> Vec<Value> {
        let mut all: Vec<Value> = (0..ISSUE_TYPES.len())
            .map(|k| {
                let mut t = self.issue_type(k);
                if data_center {
                    t.as_object_mut().map(|o| o.remove("hierarchyLevel"));
                }
                t
            })
            .collect();
        if !data_center {
            let mut own = self.issue_type(2);
            own["id"] = json!("10100");
            own["self"] = json!(format!("{}/rest/api/3/issuetype/10100", self.base_url));
            own["scope"] = team_managed_scope();
            all.push(own);
        }
        all
    }

    /// Every project category, as `GET /projectCategory` lists them.
    pub fn project_categories(&self) -> Vec<Value> {
        let base = &self.base_url;
        PROJECT_CATEGORIES
            .iter()
            .map(|(id, name, description)| {
                json!({"self": format!("{base}/rest/api/3/projectCategory/{id}"), "id": id, "name": name,
                       "description": description})
            })
            .collect()
    }

    /// Every label in use, sorted as Cloud's `GET /label` pages them.
    pub fn labels(&self) -> Vec<String> {
        let mut all: Vec<String> = LABELS.iter().map(|l| l.to_string()).collect();
        all.sort();
        all
    }
}
