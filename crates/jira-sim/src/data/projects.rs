//! Projects and the agile boards over them: issues, boards and the project endpoints all
//! name a project by its number, and this is the one place that turns it into Jira's shapes.

use serde_json::{Value, json};

use super::{Dataset, avatar_urls};

const PROJECT_KEYS: [&str; 12] = ["ENG", "OPS", "WEB", "DATA", "MOB", "SEC", "INFRA", "PAY", "HR", "MKT", "SUP", "QA"];
const PROJECT_NAMES: [&str; 12] = [
    "Engineering",
    "Operations",
    "Website",
    "Data Platform",
    "Mobile",
    "Security",
    "Infrastructure",
    "Payments",
    "People",
    "Marketing",
    "Support",
    "Quality",
];

impl Dataset {
    pub fn project_key(&self, p: u64) -> String {
        match PROJECT_KEYS.get(p as usize) {
            Some(k) => (*k).to_string(),
            None => format!("P{p}"),
        }
    }

    pub fn project_id(p: u64) -> u64 {
        10_000 + p
    }

    pub fn project(&self, p: u64) -> Value {
        let name = match PROJECT_NAMES.get(p as usize) {
            Some(n) => (*n).to_string(),
            None => format!("Project {p}"),
        };
        json!({
            "self": format!("{}/rest/api/3/project/{}", self.base_url, Self::project_id(p)),
            "id": Self::project_id(p).to_string(),
            "key": self.project_key(p),
            "name": name,
            "projectTypeKey": "software",
            "simplified": false,
            "style": "classic",
            "isPrivate": false,
            "avatarUrls": avatar_urls(&self.base_url, "project", p),
        })
    }

    pub fn board_id(b: u64) -> u64 {
        1 + b
    }

    /// Every 7th board's filter is private to its owner: the API user cannot read the board.
    pub fn board_filter_shared(b: u64) -> bool {
        b % 7 != 6
    }

    pub fn board(&self, b: u64) -> Value {
        let p = b % self.config.projects.max(1);
        let project = self.project(p);
        let kind = if b.is_multiple_of(2) { "scrum" } else { "kanban" };
        json!({
            "id": Self::board_id(b),
            "self": format!("{}/rest/agile/1.0/board/{}", self.base_url, Self::board_id(b)),
            "name": format!("{} {} board {}", self.project_key(p), kind, b),
            "type": kind,
            "location": {
                "projectId": Self::project_id(p), "projectKey": project["key"], "projectName": project["name"],
                "displayName": format!(
                    "{} ({})",
                    project["name"].as_str().unwrap_or_default(),
                    project["key"].as_str().unwrap_or_default()
                ),
                "projectTypeKey": "software", "name": project["name"],
                "avatarURI": format!("{}/secure/projectavatar?size=small&pid={}", self.base_url, Self::project_id(p)),
            },
            "isPrivate": false,
        })
    }
}
