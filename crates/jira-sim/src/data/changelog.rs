//! The changelog has to agree with both the generated status and every later edit, and is
//! paged like Jira's; that reconstruction is the one piece of history logic in the data set.

use serde_json::{Value, json};

use super::{Dataset, STATUSES, tag};

/// Newest histories a search returns per issue with `expand=changelog` (`total` counts all).
const CHANGELOG_PAGE: usize = 100;

impl Dataset {
    /// `changelog` of base issue `i` (`expand=changelog`, `PageOfChangelogs`), newest first: the
    /// status changes that brought it from To Do to its generated status (up to its generated
    /// `updated`), then one history per edit (status and summary), the last at `updated_ms`.
    /// Issues created at run time (`i` past the base issues) have none.
    pub(crate) fn changelog(&self, i: u64, version: u32, updated_ms: i64) -> Value {
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
            let mut push = |n: usize, at: i64, items: Vec<Value>| {
                histories.push(json!({
                    "id": (10_000 + i * 1000 + n as u64).to_string(), "author": author,
                    "created": self.format_datetime(at), "items": items,
                }));
            };
            for j in 0..s0 {
                push(j, created + (base_updated - created) * (j as i64 + 1) / s0 as i64, vec![status_item(j, j + 1)]);
            }
            let first_edit = total.saturating_sub(CHANGELOG_PAGE).max(s0);
            for n in first_edit..total {
                let k = (n - s0 + 1) as u32;
                let at = base_updated + (updated_ms - base_updated) * i64::from(k) / i64::from(version);
                // Text fields carry no ids (`from`/`to`), only the strings.
                let summary = item("summary", self.summary(i, k - 1), self.summary(i, k));
                push(n, at, vec![status_item(self.status_index(i, k - 1), self.status_index(i, k)), summary]);
            }
            histories.reverse();
            histories.truncate(CHANGELOG_PAGE);
            return json!({"startAt": 0, "maxResults": histories.len(), "total": total, "histories": histories});
        }
        json!({"startAt": 0, "maxResults": 0, "total": 0, "histories": histories})
    }
}
