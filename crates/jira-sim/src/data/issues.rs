//! The `fields` of an issue, assembled from the other generators: the place that decides which
//! fields an issue has and how its parts relate (parent, project, assignee, edits).

use serde_json::{Value, json};

use super::{DAY_MS, Dataset, STATUSES, adf, tag};
use crate::system_fields::IssueContext;

const VERBS: [&str; 8] = ["Fix", "Add", "Remove", "Refactor", "Document", "Speed up", "Investigate", "Migrate"];
pub(super) const NOUNS: [&str; 8] = [
    "login flow",
    "export job",
    "billing report",
    "search index",
    "API rate limiter",
    "onboarding email",
    "audit log",
    "dashboard",
];
pub(super) const PRIORITIES: [(&str, &str); 5] =
    [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")];
/// (id, name, subtask, hierarchyLevel)
pub(super) const ISSUE_TYPES: [(&str, &str, bool, i64); 4] = [
    ("10001", "Story", false, 0),
    ("10002", "Bug", false, 0),
    ("10003", "Task", false, 0),
    ("10004", "Sub-task", true, -1),
];
pub(super) const LABELS: [&str; 6] = ["backend", "frontend", "tech-debt", "customer", "urgent", "q4"];

impl Dataset {
    /// The full `fields` object of issue `i`, as `*all` returns it.
    pub fn issue_fields(&self, i: u64) -> serde_json::Map<String, Value> {
        self.issue_fields_at(i, 0)
    }

    /// Issue `i` after `version` edits: each edit moves it one status along its workflow and
    /// changes its summary, the way a person working on it would.
    pub fn issue_fields_at(&self, i: u64, version: u32) -> serde_json::Map<String, Value> {
        let c = &self.config;
        let project = self.project_of(i);
        let status = STATUSES[self.status_index(i, version)];
        let itype = ISSUE_TYPES[(self.p(tag::TYPE, i) % 4) as usize];
        let users = c.users.max(1);
        let assignee = self.p(tag::ASSIGNEE, i) % (users + users / 4);
        let reporter = self.p(tag::REPORTER, i) % users;
        let summary = self.summary(i, version);
        let lbits = self.p(tag::LABELS, i);
        let labels: Vec<&str> = (0..LABELS.len()).filter(|b| lbits >> (b * 3) & 7 == 0).map(|b| LABELS[b]).collect();
        let present = self.p(tag::PRESENT, i);
        let has = |bit: u32| present >> bit & 1 == 1;
        let created = self.created_ms(i);
        let updated = self.updated_ms(i);
        let base = &self.base_url;

        let mut f = serde_json::Map::new();
        f.insert("summary".into(), json!(summary));
        f.insert(
            "description".into(),
            match (has(0), i % 7) {
                (false, _) => Value::Null,
                (true, 0) => self.rich_description(i, &summary, reporter),
                (true, _) => adf(&format!("Steps to reproduce for {summary}.")),
            },
        );
        f.insert("status".into(), self.status_json(self.status_index(i, version)));
        f.insert("priority".into(), self.priority_json(i));
        f.insert("issuetype".into(), self.issuetype_json(i));
        f.insert("project".into(), self.project_ref(project));
        // A fifth of the draws land past the user list: those issues are unassigned.
        f.insert("assignee".into(), if assignee < users { self.user_ref(assignee) } else { Value::Null });
        f.insert("reporter".into(), self.user_ref(reporter));
        f.insert("labels".into(), json!(labels));
        f.insert(
            "components".into(),
            if self.has_component(i) { json!([self.component_ref(project, 0)]) } else { json!([]) },
        );
        f.insert("fixVersions".into(), if has(2) { json!([self.version_ref(project, i % 3)]) } else { json!([]) });
        f.insert("created".into(), json!(self.format_datetime(created)));
        f.insert("updated".into(), json!(self.format_datetime(updated)));
        f.insert(
            "resolutiondate".into(),
            if status.3 == "done" { json!(self.format_datetime(updated)) } else { Value::Null },
        );
        f.insert("duedate".into(), if has(3) { json!(self.format_date(created + 30 * DAY_MS)) } else { Value::Null });
        // Sub-tasks point at an earlier issue of the same project.
        if itype.2 && i >= c.projects {
            let parent = i - c.projects;
            f.insert(
                "parent".into(),
                json!({
                    "id": Self::issue_id(parent).to_string(), "key": self.issue_key(parent),
                    "self": format!("{base}/rest/api/3/issue/{}", Self::issue_id(parent)),
                    "fields": {"summary": format!("Parent {}", self.issue_key(parent))},
                }),
            );
        }
        for (n, (id, _, cf)) in self.custom_fields().enumerate() {
            let r = self.p(tag::CUSTOM + n as u64 * 101, i);
            let value = if r.is_multiple_of(5) { Value::Null } else { self.custom_value(cf, r, i) };
            f.insert(format!("customfield_{id}"), value);
        }
        f.insert("comment".into(), self.comments(i));
        let span = (i < c.issues).then_some((created, updated));
        let cx = IssueContext { i, status: self.status_index(i, version), reporter, span };
        self.insert_system_field_values(&cx, &mut f);
        f
    }

    pub(super) fn priority_json(&self, i: u64) -> Value {
        self.priority_ref((self.p(tag::PRIORITY, i) % 5) as usize)
    }

    fn issuetype_json(&self, i: u64) -> Value {
        self.issue_type((self.p(tag::TYPE, i) % 4) as usize)
    }

    /// Whether issue `i` is a sub-task (and so has a `parent` when `i >= projects`).
    pub(crate) fn is_subtask(&self, i: u64) -> bool {
        ISSUE_TYPES[(self.p(tag::TYPE, i) % 4) as usize].2
    }

    /// The `fields` other issues embed for issue `j` in `subtasks` and `issuelinks`: summary,
    /// status, priority and issue type of its generated (unedited) version.
    pub(crate) fn issue_fields_core(&self, j: u64) -> Value {
        json!({
            "summary": self.summary(j, 0), "status": self.status_json(self.status_index(j, 0)),
            "priority": self.priority_json(j), "issuetype": self.issuetype_json(j),
        })
    }

    pub(super) fn summary(&self, i: u64, version: u32) -> String {
        let r = self.p(tag::SUMMARY, i);
        let mut summary =
            format!("{} {} ({})", VERBS[(r % 8) as usize], NOUNS[((r >> 8) % 8) as usize], self.issue_key(i));
        if version > 0 {
            summary.push_str(&format!(" [edit {version}]"));
        }
        summary
    }
}

impl Dataset {
    /// Project `p` as an issue's `project` field shows it (no `style` or `isPrivate`).
    pub(crate) fn project_ref(&self, p: u64) -> Value {
        let mut proj = self.project(p);
        if let Some(o) = proj.as_object_mut() {
            o.remove("style");
            o.remove("isPrivate");
        }
        proj
    }
}

#[cfg(test)]
mod tests {
    use crate::data::Dataset;

    #[test]
    fn the_same_issue_is_generated_identically() {
        let ds = Dataset::for_tests;
        assert_eq!(ds(100).issue_fields(17), ds(100).issue_fields(17));
        assert_ne!(ds(100).issue_fields(17), ds(100).issue_fields(18));
    }
}
