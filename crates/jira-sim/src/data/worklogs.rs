//! Worklogs make up an issue's logged time (`timespent`); they are shown in the `worklog` field
//! (at most 20), on `GET /issue/{id}/worklog`, and in the site-wide worklog feed. Like comments
//! they are plain specs ([`WorklogSpec`]) until rendered, generated one issue at a time.

use serde_json::{Value, json};

use super::{Dataset, adf, tag};
use crate::system_fields::duration;

/// Worklog ids of base issue `i` are `10_000 + i * WORKLOG_STRIDE + k` (unique, interleaved
/// across projects); an issue logs fewer than this many.
pub(crate) const WORKLOG_STRIDE: u64 = 64;
/// Worklogs the `worklog` field embeds (`PageOfWorklogs`; `total` counts all).
pub(crate) const WORKLOG_EMBED: usize = 20;

/// One worklog as generated or added: everything but its rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorklogSpec {
    pub id: u64,
    pub issue: u64,
    pub k: u64,
    pub started: i64,
    pub created: i64,
    pub updated: i64,
    pub secs: i64,
    pub author: u64,
    pub update_author: u64,
    /// Edits made while the site ran (shown in its comment).
    pub edits: u32,
}

impl Dataset {
    pub(crate) fn worklog_count(&self, i: u64) -> u64 {
        self.time_tracking(i).worklogs
    }

    pub(crate) fn worklog_id(i: u64, k: u64) -> u64 {
        10_000 + i * WORKLOG_STRIDE + k
    }

    /// The base issue and number a generated worklog id names, if it names one.
    pub(crate) fn worklog_of_id(&self, id: u64) -> Option<(u64, u64)> {
        let off = id.checked_sub(10_000)?;
        let (i, k) = (off / WORKLOG_STRIDE, off % WORKLOG_STRIDE);
        (i < self.config.issues && k < self.worklog_count(i)).then_some((i, k))
    }

    /// Worklog `k` of base issue `i`: the time spent split evenly (in quarter hours, the last
    /// takes the rest), started in order between `created` and `updated`, logged when the work
    /// ended (never after the issue's `updated`); one in six edited later.
    pub(crate) fn worklog_spec(&self, i: u64, k: u64) -> WorklogSpec {
        let tt = self.time_tracking(i);
        let n = tt.worklogs;
        let spent = tt.spent.unwrap_or(0);
        let (created, updated) = (self.created_ms(i), self.updated_ms(i));
        let each = (spent / n as i64 / 900).max(1) * 900;
        let secs = if k + 1 == n { spent - each * (n as i64 - 1) } else { each };
        let started = created + (updated - created) * (k as i64 + 1) / (n as i64 + 2);
        let logged = (started + secs * 1000).min(updated);
        let id = Self::worklog_id(i, k);
        let w = self.p(tag::WORKLOG, id);
        let changed =
            if w.is_multiple_of(6) { logged + (updated - logged) * ((w >> 8) % 100) as i64 / 100 } else { logged };
        let users = self.config.users.max(1);
        let author = ((self.p(tag::TIME, i) >> 20) + k) % users;
        let update_author = if w.is_multiple_of(6) && (w >> 16).is_multiple_of(3) { (w >> 24) % users } else { author };
        WorklogSpec {
            id,
            issue: i,
            k,
            started,
            created: logged,
            updated: changed,
            secs,
            author,
            update_author,
            edits: 0,
        }
    }

    /// Every generated worklog of issue `i`, in `created` order.
    pub(crate) fn worklog_specs(&self, i: u64) -> Vec<WorklogSpec> {
        (0..self.worklog_count(i)).map(|k| self.worklog_spec(i, k)).collect()
    }

    /// A worklog as v3 renders it (`Worklog`, ADF `comment`, `issueId`).
    pub(crate) fn render_worklog(&self, w: &WorklogSpec) -> Value {
        let base = &self.base_url;
        let issue_id = Self::issue_id(w.issue);
        let mut text = format!("Worked on {}", self.issue_key(w.issue));
        if w.edits > 0 {
            text.push_str(&format!(" [edited {}]", w.edits));
        }
        json!({
            "self": format!("{base}/rest/api/3/issue/{issue_id}/worklog/{}", w.id),
            "author": self.user_ref(w.author), "updateAuthor": self.user_ref(w.update_author),
            "comment": adf(&text),
            "created": self.format_datetime(w.created), "updated": self.format_datetime(w.updated),
            "started": self.format_datetime(w.started),
            "timeSpent": duration(w.secs), "timeSpentSeconds": w.secs,
            "id": w.id.to_string(), "issueId": issue_id.to_string(),
        })
    }

    /// `PageOfWorklogs` of `worklogs` from `start`, at most `max`; `total` counts all.
    pub(crate) fn worklog_page(&self, worklogs: &[WorklogSpec], start: usize, max: usize) -> Value {
        let page: Vec<Value> = worklogs.iter().skip(start).take(max).map(|w| self.render_worklog(w)).collect();
        json!({"startAt": start, "maxResults": max, "total": worklogs.len(), "worklogs": page})
    }

    /// The `worklog` field of issue `i` as generated: the first 20 worklogs, `total` all.
    pub(crate) fn worklog_field(&self, i: u64) -> Value {
        let n = self.worklog_count(i);
        let specs: Vec<WorklogSpec> = (0..n.min(WORKLOG_EMBED as u64)).map(|k| self.worklog_spec(i, k)).collect();
        let mut page = self.worklog_page(&specs, 0, WORKLOG_EMBED);
        page["total"] = json!(n);
        page
    }
}
