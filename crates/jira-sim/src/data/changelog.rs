//! The changelog has to agree with both the generated status and every later edit, and is
//! paged like Jira's; that reconstruction is the one piece of history logic in the data set.

use serde_json::{Value, json};

use super::{Dataset, STATUSES, tag};

/// Newest histories Cloud's search returns per issue with `expand=changelog`.
pub(crate) const CHANGELOG_PAGE: usize = 100;

/// One edit made while the site runs: when, and for a move, from and to where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub at: i64,
    pub moved: Option<Moved>,
}

/// A move to another project: the old and new project (indices) and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub from_project: u64,
    pub to_project: u64,
    pub from_key: String,
    pub to_key: String,
}

impl Dataset {
    /// `changelog` of issue `i` (`expand=changelog`, `PageOfChangelogs`), newest first, at most
    /// `cap` histories (`total` counts all): Cloud's search keeps the newest 100
    /// (JRACLOUD-67458; airbytehq/airbyte #33040), Data Center's returns them all.
    pub(crate) fn changelog(&self, i: u64, version: u32, edits: &[Edit], cap: Option<usize>) -> Value {
        let mut histories = self.histories(i, version, edits);
        let total = histories.len();
        histories.reverse();
        if let Some(cap) = cap {
            histories.truncate(cap);
        }
        json!({"startAt": 0, "maxResults": histories.len(), "total": total, "histories": histories})
    }

    /// Every history of issue `i`, oldest first: the status changes that brought it from To Do
    /// to its generated status (up to its generated `updated`), then one history per edit
    /// (status and summary) at the time it was made (`edits`, as recorded by the site; a
    /// history, once written, never changes, as in Jira), and for one in five sprint issues a
    /// move out of the sprint before its own. Issues created at run time (`i` past the base
    /// issues) have none. History ids are unique per issue and history.
    pub(crate) fn histories(&self, i: u64, version: u32, edits: &[Edit]) -> Vec<Value> {
        let mut histories = Vec::new();
        if i < self.config.issues {
            let s0 = self.status_index(i, 0);
            let (created, base_updated) = (self.created_ms(i), self.updated_ms(i));
            let author = self.user_ref(self.p(tag::REPORTER, i) % self.config.users.max(1));
            let item = |field: &str, from: String, to: String| {
                json!({
                    "field": field, "fieldtype": "jira", "fieldId": field, "fromString": from, "toString": to,
                })
            };
            let status_item = |from: usize, to: usize| {
                let (a, b) = (STATUSES[from], STATUSES[to]);
                let mut v = item("status", a.1.to_string(), b.1.to_string());
                (v["from"], v["to"]) = (json!(a.0), json!(b.0));
                v
            };
            let total = s0 + version as usize;
            // Gathered first and numbered in time order: a sprint move falls between the
            // status changes, and history ids grow with time in Jira.
            let mut timed: Vec<(i64, Vec<Value>)> = Vec::new();
            let mut push = |at: i64, items: Vec<Value>| timed.push((at, items));
            let moved_from = self.sprint_moved_from(i);
            // An assigned issue was assigned when work started: its first status change also
            // sets the assignee (a user field: `from`/`to` are account ids).
            let users = self.config.users.max(1);
            let assignee = self.p(tag::ASSIGNEE, i) % (users + users / 4);
            for j in 0..s0 {
                let mut items = vec![status_item(j, j + 1)];
                // Planned into its sprint then too: the item Jira Software writes (`from` and
                // `fromString` empty, `to` the sprint id, `toString` its name), as recorded.
                let at = created + (base_updated - created) * (j as i64 + 1) / s0 as i64;
                if j == 0
                    && let Some(sprint) = self.issue_sprint(i)
                {
                    let s = &sprint[0];
                    // One in five was planned into the sprint before and moved out of it into
                    // its own while that one ran: one item, `from` the old sprint and `to` the
                    // new (the shape recorded in public Jira clients' fixtures, e.g. `from:
                    // "126"`, `to: "127"`). Moved only when planned before that sprint ended.
                    let moved = moved_from.as_ref().filter(|(_, _, end)| at < *end);
                    let planned = moved.map_or(s, |(p, _, _)| p);
                    items.push(json!({
                        "field": "Sprint", "fieldtype": "custom", "fieldId": "customfield_10020",
                        "from": "", "fromString": "", "to": planned["id"].to_string(), "toString": planned["name"],
                    }));
                    if let Some((p, start, end)) = moved {
                        let from = at.max(*start);
                        let item = json!({
                            "field": "Sprint", "fieldtype": "custom", "fieldId": "customfield_10020",
                            "from": p["id"].to_string(), "fromString": p["name"],
                            "to": s["id"].to_string(), "toString": s["name"],
                        });
                        push(from + (end - from) / 2, vec![item]);
                    }
                }
                if j == 0 && assignee < users {
                    let user = self.user_ref(assignee);
                    // No `from`/`fromString` (unassigned before): the keys are left out, as in
                    // the v3 spec's changelog examples, whose schema has no nulls.
                    items.push(json!({
                        "field": "assignee", "fieldtype": "jira", "fieldId": "assignee",
                        "to": user["accountId"], "toString": user["displayName"],
                    }));
                }
                push(at, items);
            }
            for n in s0..total {
                let k = (n - s0 + 1) as u32;
                let edit = edits.get(k as usize - 1);
                let at = edit.map_or(base_updated + i64::from(k), |e| e.at);
                // Text fields carry no ids (`from`/`to`), only the strings.
                let summary = item("summary", self.summary(i, k - 1), self.summary(i, k));
                let mut items = vec![status_item(self.status_index(i, k - 1), self.status_index(i, k)), summary];
                if let Some(m) = edit.and_then(|e| e.moved.as_ref()) {
                    // Jira's move: the key (no ids) and the project (ids and names).
                    items.push(json!({
                        "field": "Key", "fieldtype": "jira", "fromString": m.from_key, "toString": m.to_key,
                    }));
                    items.push(json!({
                        "field": "project", "fieldtype": "jira", "fieldId": "project",
                        "from": Dataset::project_id(m.from_project).to_string(),
                        "fromString": self.project_key(m.from_project),
                        "to": Dataset::project_id(m.to_project).to_string(),
                        "toString": self.project_key(m.to_project),
                    }));
                }
                push(at, items);
            }
            timed.sort_by_key(|(at, _)| *at);
            for (n, (at, items)) in timed.into_iter().enumerate() {
                histories.push(json!({
                    "id": (10_000 + i * 1_000_000 + n as u64).to_string(), "author": author,
                    "created": self.format_datetime(at), "items": items,
                }));
            }
        }
        histories
    }
}
