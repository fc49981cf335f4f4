//! How activity changes the site: comments, worklogs and links added, edited and deleted on
//! the site's [`State`], each logged with the instant search sees it, and applied to an
//! issue's fields when it is read. The log itself is [`crate::activity`]; this is the site's
//! side of it, so the log does not import the site that holds it.

use crate::activity::{Act, Link, stored_view};
use crate::data::{
    COMMENT_EMBED_CLOUD, COMMENT_STRIDE, CommentSpec, Dataset, WORKLOG_EMBED, WORKLOG_STRIDE, WorklogSpec,
};
use crate::site::{Snapshot, State};
use crate::system_fields::{LINK_TYPES, TimeTracking, insert_time_fields};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

impl State {
    fn lag(&self) -> Duration {
        self.behaviour.index_lag
    }

    /// The index of the live (not deleted) issue with id `id`.
    fn live_index(&self, data: &Dataset, id: u64) -> Option<u64> {
        let i = id.checked_sub(Dataset::issue_id(0)).filter(|i| *i < self.index_count(data))?;
        (!self.is_deleted(i)).then_some(i)
    }

    /// Issue `i`'s comments as of `at`, oldest first.
    pub fn comments_of(&self, data: &Dataset, i: u64, at: Instant) -> Vec<CommentSpec> {
        let mut list = data.comment_specs(i);
        for l in self.activity.acts(i, at) {
            match l.act {
                Act::CommentAdded(c) => list.push(c),
                Act::CommentEdited { id, by } => {
                    if let Some(c) = list.iter_mut().find(|c| c.id == id) {
                        (c.updated, c.update_author, c.edits) = (l.ms, by, c.edits + 1);
                    }
                }
                Act::CommentDeleted { id } => list.retain(|c| c.id != id),
                _ => {}
            }
        }
        list
    }

    /// Issue `i`'s worklogs as of `at`, in `created` order.
    pub fn worklogs_of(&self, data: &Dataset, i: u64, at: Instant) -> Vec<WorklogSpec> {
        let mut list = data.worklog_specs(i);
        for l in self.activity.acts(i, at) {
            match l.act {
                Act::WorklogAdded(w) => list.push(w),
                Act::WorklogEdited { id, by, secs } => {
                    if let Some(w) = list.iter_mut().find(|w| w.id == id) {
                        (w.updated, w.update_author, w.secs, w.edits) = (l.ms, by, secs, w.edits + 1);
                    }
                }
                Act::WorklogDeleted { id } => list.retain(|w| w.id != id),
                _ => {}
            }
        }
        list
    }

    /// Issue `i`'s time tracking as of `at`: logged time is the sum of its worklogs; the
    /// remaining estimate moves as Jira's `adjustEstimate=auto` moves it (down by what is
    /// logged, never below zero; back up by what a deleted worklog had logged).
    fn time_tracking_of(&self, data: &Dataset, i: u64, at: Instant) -> TimeTracking {
        let mut tt = data.time_tracking(i);
        let mut logged: HashMap<u64, i64> = self.worklogs_base_secs(data, i);
        let mut changed = false;
        for l in self.activity.acts(i, at) {
            let delta = match l.act {
                Act::WorklogAdded(w) => {
                    logged.insert(w.id, w.secs);
                    w.secs
                }
                Act::WorklogEdited { id, secs, .. } => secs - logged.insert(id, secs).unwrap_or(secs),
                Act::WorklogDeleted { id } => -logged.remove(&id).unwrap_or(0),
                _ => continue,
            };
            changed = true;
            tt.remaining = tt.remaining.map(|r| (r - delta).max(0));
        }
        if changed {
            let spent: i64 = logged.values().sum();
            tt.spent = (!logged.is_empty()).then_some(spent);
            tt.worklogs = logged.len() as u64;
        }
        tt
    }

    fn worklogs_base_secs(&self, data: &Dataset, i: u64) -> HashMap<u64, i64> {
        data.worklog_specs(i).iter().map(|w| (w.id, w.secs)).collect()
    }

    /// Issue `i`'s `issuelinks` as of `at` (v3), generated ones first.
    pub fn links_of(&self, data: &Dataset, i: u64, base: Vec<Value>, at: Instant) -> Vec<Value> {
        let mut deleted = HashSet::new();
        let mut added = Vec::new();
        for l in self.activity.acts(i, at) {
            match l.act {
                Act::LinkAdded(link) => added.push(link),
                Act::LinkDeleted { id } => {
                    deleted.insert(id);
                }
                _ => {}
            }
        }
        let mut links: Vec<Value> = base
            .into_iter()
            .filter(|l| l["id"].as_str().and_then(|s| s.parse().ok()).is_none_or(|id: u64| !deleted.contains(&id)))
            .collect();
        for link in added.into_iter().filter(|l| !deleted.contains(&l.id)) {
            let (direction, other) =
                if link.from == i { ("outwardIssue", link.to) } else { ("inwardIssue", link.from) };
            links.push(data.issue_link(link.id, link.kind, direction, other));
        }
        links
    }

    /// Replaces the activity-dependent fields of `f` (issue `s`) when activity changed them, and
    /// embeds the newest comments instead of the oldest when the behaviour says so.
    pub(crate) fn apply_activity(&self, data: &Dataset, s: &Snapshot, f: &mut Map<String, Value>) {
        let i = s.index;
        let newest = self.behaviour.embedded_comments_newest && !data.data_center;
        if self.activity.touched(i) || (newest && data.comment_count(i) > COMMENT_EMBED_CLOUD as u64) {
            let comments = self.comments_of(data, i, s.at);
            let cap = if data.data_center { usize::MAX } else { COMMENT_EMBED_CLOUD };
            let start = if newest { comments.len().saturating_sub(cap) } else { 0 };
            f.insert("comment".into(), data.comment_page(i, &comments, start, cap));
        }
        let child = data.subtask_of(i);
        if self.activity.touched(i) || child.is_some_and(|c| self.activity.touched(c)) {
            let worklogs = self.worklogs_of(data, i, s.at);
            let mut page = data.worklog_page(&worklogs, 0, WORKLOG_EMBED);
            page["total"] = json!(worklogs.len());
            f.insert("worklog".into(), page);
            let own = self.time_tracking_of(data, i, s.at);
            let total = child.map_or(own, |c| own.plus(self.time_tracking_of(data, c, s.at)));
            insert_time_fields(f, &own, &total);
            let base = match f.remove("issuelinks") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            f.insert("issuelinks".into(), Value::Array(self.links_of(data, i, base, s.at)));
        }
    }

    /// The histories activity wrote on issue `i` (worklog and link changes, comment deletes),
    /// oldest first; ids clear of the edit histories' (`10_000 + i * 1_000_000 + n`).
    pub(crate) fn activity_histories(&self, data: &Dataset, i: u64) -> Vec<Value> {
        let Some(acts) = self.activity.by_issue.get(&i) else { return Vec::new() };
        let author = data.user_ref(0);
        let mut logged: HashMap<u64, i64> = self.worklogs_base_secs(data, i);
        let mut tt = data.time_tracking(i);
        let mut comments: HashMap<u64, CommentSpec> = HashMap::new();
        let mut out = Vec::new();
        let num = |v: Option<i64>| v.map_or(Value::Null, |v| json!(v.to_string()));
        for (n, l) in acts.iter().enumerate() {
            let mut items = Vec::new();
            let time_items = |delta: i64, tt: &mut TimeTracking, spent_before: Option<i64>, spent: Option<i64>| {
                let before = tt.remaining;
                tt.remaining = tt.remaining.map(|r| (r - delta).max(0));
                let mut v = vec![item("timespent", num(spent_before), num(spent))];
                if before != tt.remaining {
                    v.push(item("timeestimate", num(before), num(tt.remaining)));
                }
                v
            };
            let spent_now = |m: &HashMap<u64, i64>| (!m.is_empty()).then(|| m.values().sum::<i64>());
            match &l.act {
                Act::WorklogAdded(w) => {
                    let before = spent_now(&logged);
                    logged.insert(w.id, w.secs);
                    items = time_items(w.secs, &mut tt, before, spent_now(&logged));
                    items.push(item("WorklogId", Value::Null, json!(w.id.to_string())));
                }
                Act::WorklogEdited { id, secs, .. } => {
                    let before = spent_now(&logged);
                    let old = logged.insert(*id, *secs).unwrap_or(*secs);
                    items = time_items(secs - old, &mut tt, before, spent_now(&logged));
                    items.push(item("WorklogId", json!(id.to_string()), json!(id.to_string())));
                }
                Act::WorklogDeleted { id } => {
                    let before = spent_now(&logged);
                    let old = logged.remove(id).unwrap_or(0);
                    items = time_items(-old, &mut tt, before, spent_now(&logged));
                    items.push(item("WorklogTimeSpent", json!(old.to_string()), Value::Null));
                    items.push(item("WorklogId", json!(id.to_string()), Value::Null));
                }
                Act::CommentAdded(c) => {
                    comments.insert(c.id, *c);
                }
                Act::CommentDeleted { id } => {
                    let text = match comments.get(id).copied().or_else(|| {
                        data.comment_of_id(*id).filter(|(ci, _)| *ci == i).map(|(ci, k)| data.comment_spec(ci, k))
                    }) {
                        // Jira masks the text of a restricted comment.
                        Some(c) if c.restricted => "A restricted comment was deleted.".to_string(),
                        Some(c) => data.comment_text(&c),
                        None => String::new(),
                    };
                    items.push(json!({"field": "Comment", "fieldtype": "jira", "from": null, "fromString": text,
                                      "to": null, "toString": null}));
                }
                Act::LinkAdded(link) => items.push(link_item(data, i, link, true)),
                Act::LinkDeleted { id } => {
                    if let Some(link) = self.link(data, *id) {
                        items.push(link_item(data, i, &link, false));
                    }
                }
                Act::CommentEdited { .. } => {}
            }
            if !items.is_empty() {
                out.push(json!({
                    "id": (10_000 + i * 1_000_000 + 500_000 + n as u64).to_string(), "author": author,
                    "created": data.format_datetime(l.ms), "items": items,
                }));
            }
        }
        out
    }

    /// A link by id: added at run time, or generated (`10_000 + i` from issue `i` to `i - projects`).
    fn link(&self, data: &Dataset, id: u64) -> Option<Link> {
        if let Some(l) = self.activity.added_links.get(&id) {
            return Some(*l);
        }
        let i = id.checked_sub(10_000)?;
        let (to, kind) = data.links_back(i)?;
        Some(Link { id, from: i, to, kind })
    }

    /// Adds a comment to issue `id` now (by a user drawn from the site's users); `None` when
    /// the issue does not exist or was deleted.
    pub fn add_comment(&mut self, data: &Dataset, id: u64) -> Option<u64> {
        let i = self.live_index(data, id)?;
        let lag = self.lag();
        let ms = self.touch(data, i, lag)?;
        let seq = self.activity.next_comment;
        self.activity.next_comment += 1;
        let cid = 10_000 + data.config.issues * COMMENT_STRIDE + seq;
        let k = self.comments_of(data, i, stored_view()).len() as u64;
        let author = (seq * 7 + 3) % data.config.users.max(1);
        let c = CommentSpec {
            id: cid,
            issue: i,
            k,
            created: ms,
            updated: ms,
            author,
            update_author: author,
            restricted: false,
            edits: 0,
        };
        self.activity.added_comments.insert(cid, i);
        self.activity.log(i, Act::CommentAdded(c), ms, std::time::Instant::now() + lag);
        Some(cid)
    }

    /// The issue index of a live comment.
    fn comment_issue(&self, data: &Dataset, cid: u64) -> Option<u64> {
        let i = self.activity.added_comments.get(&cid).copied().or_else(|| data.comment_of_id(cid).map(|(i, _)| i))?;
        (!self.is_deleted(i) && self.comments_of(data, i, stored_view()).iter().any(|c| c.id == cid)).then_some(i)
    }

    pub fn edit_comment(&mut self, data: &Dataset, cid: u64) -> bool {
        self.comment_change(data, cid, false)
    }

    pub fn delete_comment(&mut self, data: &Dataset, cid: u64) -> bool {
        self.comment_change(data, cid, true)
    }

    fn comment_change(&mut self, data: &Dataset, cid: u64, delete: bool) -> bool {
        let Some(i) = self.comment_issue(data, cid) else { return false };
        let lag = self.lag();
        let ms = if self.behaviour.comment_edit_delete_keep_updated {
            self.next_change_ms()
        } else {
            self.touch(data, i, lag).unwrap_or_else(|| self.next_change_ms())
        };
        let by = (cid + 11) % data.config.users.max(1);
        let act = if delete { Act::CommentDeleted { id: cid } } else { Act::CommentEdited { id: cid, by } };
        self.activity.log(i, act, ms, Instant::now() + lag);
        true
    }

    /// Logs work on issue `id` now (an hour, by a drawn user); `None` for a missing issue.
    pub fn add_worklog(&mut self, data: &Dataset, id: u64) -> Option<u64> {
        let i = self.live_index(data, id)?;
        let lag = self.lag();
        let ms = self.touch(data, i, lag)?;
        let seq = self.activity.next_worklog;
        self.activity.next_worklog += 1;
        let wid = 10_000 + data.config.issues * WORKLOG_STRIDE + seq;
        let k = self.worklogs_of(data, i, stored_view()).len() as u64;
        let author = (seq * 5 + 1) % data.config.users.max(1);
        let w = WorklogSpec {
            id: wid,
            issue: i,
            k,
            started: ms - 3_600_000,
            created: ms,
            updated: ms,
            secs: 3_600,
            author,
            update_author: author,
            edits: 0,
        };
        self.activity.added_worklogs.insert(wid, i);
        self.activity.log(i, Act::WorklogAdded(w), ms, Instant::now() + lag);
        self.feed_update(wid, ms);
        Some(wid)
    }

    fn feed_update(&mut self, wid: u64, ms: i64) {
        let a = &mut self.activity;
        if let Some(old) = a.worklog_updated_at.insert(wid, ms) {
            a.worklog_updates.remove(&(old, wid));
        }
        a.worklog_updates.insert((ms, wid));
    }

    /// The issue index of a live worklog.
    fn worklog_issue(&self, data: &Dataset, wid: u64) -> Option<u64> {
        if self.activity.deleted_worklogs.contains(&wid) {
            return None;
        }
        let i = self.activity.added_worklogs.get(&wid).copied().or_else(|| data.worklog_of_id(wid).map(|(i, _)| i))?;
        (!self.is_deleted(i)).then_some(i)
    }

    /// Edits a worklog now: a quarter hour more logged.
    pub fn edit_worklog(&mut self, data: &Dataset, wid: u64) -> bool {
        let Some(i) = self.worklog_issue(data, wid) else { return false };
        let Some(w) = self.worklogs_of(data, i, stored_view()).into_iter().find(|w| w.id == wid) else { return false };
        let lag = self.lag();
        let Some(ms) = self.touch(data, i, lag) else { return false };
        let by = (wid + 13) % data.config.users.max(1);
        self.activity.log(i, Act::WorklogEdited { id: wid, by, secs: w.secs + 900 }, ms, Instant::now() + lag);
        self.feed_update(wid, ms);
        true
    }

    pub fn delete_worklog(&mut self, data: &Dataset, wid: u64) -> bool {
        let Some(i) = self.worklog_issue(data, wid) else { return false };
        let lag = self.lag();
        let Some(ms) = self.touch(data, i, lag) else { return false };
        self.activity.log(i, Act::WorklogDeleted { id: wid }, ms, Instant::now() + lag);
        let a = &mut self.activity;
        a.deleted_worklogs.insert(wid);
        if let Some(old) = a.worklog_updated_at.remove(&wid) {
            a.worklog_updates.remove(&(old, wid));
        }
        a.worklog_deletes.push((ms, wid));
        true
    }

    /// Links issue `from` to issue `to` now (a `Relates` link, or another type in turn); both
    /// issues are updated and record it.
    pub fn add_link(&mut self, data: &Dataset, from: u64, to: u64) -> Option<u64> {
        let (a, b) = (self.live_index(data, from)?, self.live_index(data, to)?);
        if a == b {
            return None;
        }
        let lag = self.lag();
        let seq = self.activity.next_link;
        self.activity.next_link += 1;
        let id = 10_000 + data.config.issues + 1_000_000 + seq;
        let link = Link { id, from: a, to: b, kind: (3 + seq) % LINK_TYPES.len() as u64 };
        self.activity.added_links.insert(id, link);
        for i in [a, b] {
            let ms = self.touch(data, i, lag)?;
            self.activity.log(i, Act::LinkAdded(link), ms, Instant::now() + lag);
        }
        Some(id)
    }

    pub fn delete_link(&mut self, data: &Dataset, id: u64) -> bool {
        let Some(link) = self.link(data, id) else { return false };
        if self.activity.deleted_links.contains(&id) || self.is_deleted(link.from) || self.is_deleted(link.to) {
            return false;
        }
        self.activity.deleted_links.insert(id);
        let lag = self.lag();
        for i in [link.from, link.to] {
            if let Some(ms) = self.touch(data, i, lag) {
                self.activity.log(i, Act::LinkDeleted { id }, ms, Instant::now() + lag);
            }
        }
        true
    }

    /// Issues with more comments than Cloud embeds (as stored), in id order.
    pub fn long_comment_threads(&self, data: &Dataset) -> Vec<u64> {
        (0..self.index_count(data))
            .filter(|i| !self.is_deleted(*i) && data.comment_count(*i) > COMMENT_EMBED_CLOUD as u64)
            .filter(|i| self.comments_of(data, *i, stored_view()).len() > COMMENT_EMBED_CLOUD)
            .map(Dataset::issue_id)
            .collect()
    }

    /// Every live worklog id: generated ones of live issues, then added ones, ascending.
    pub fn live_worklog_ids(&self, data: &Dataset) -> Vec<u64> {
        let mut ids: Vec<u64> = (0..data.config.issues)
            .filter(|i| !self.is_deleted(*i))
            .flat_map(|i| (0..data.worklog_count(i)).map(move |k| Dataset::worklog_id(i, k)))
            .chain(self.activity.added_worklogs.iter().filter(|(_, i)| !self.is_deleted(**i)).map(|(w, _)| *w))
            .filter(|w| !self.activity.deleted_worklogs.contains(w))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A worklog by id as stored, with its issue's index, if it is live.
    pub fn worklog(&self, data: &Dataset, wid: u64) -> Option<WorklogSpec> {
        let i = self.worklog_issue(data, wid)?;
        self.worklogs_of(data, i, stored_view()).into_iter().find(|w| w.id == wid)
    }
}

fn item(field: &str, from: Value, to: Value) -> Value {
    json!({"field": field, "fieldtype": "jira", "fieldId": field, "from": from, "fromString": from,
           "to": to, "toString": to})
}

/// The `Link` item Jira writes on each end: the other issue's key, and the link's verb as seen
/// from this issue.
fn link_item(data: &Dataset, i: u64, link: &Link, added: bool) -> Value {
    let (_, _, inward, outward) = LINK_TYPES[link.kind as usize];
    let (verb, other) = if link.from == i { (outward, link.to) } else { (inward, link.from) };
    let key = json!(data.issue_key(other));
    let text = json!(format!("This issue {verb} {}", data.issue_key(other)));
    if added {
        json!({"field": "Link", "fieldtype": "jira", "from": null, "fromString": null, "to": key, "toString": text})
    } else {
        json!({"field": "Link", "fieldtype": "jira", "from": key, "fromString": text, "to": null, "toString": null})
    }
}
