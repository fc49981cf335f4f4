//! The site as it is now: the generated data set plus everything that changed since start-up
//! (edits, deletes, new issues, new or renamed custom fields), and what the API user may see.
//!
//! Base issues keep their generated `updated`, which increases with the index. An edit moves
//! an issue to the end of `updated` order, so search walks base indices first and then a short
//! "tail" of changed issues sorted by their new `updated` — no sort over the whole site.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::behaviour::{Behaviour, RateWindow};
use crate::data::{Dataset, Edit, Moved};
use crate::jql::{IssueRef, IssueView};

/// Key numbers of moved issues start here: Jira gives a moved issue the next number of its new
/// project; above every generated one, no key is ever handed out twice.
const MOVED_KEY_BASE: u64 = 1_000_000;

/// An issue's state when it differs from the generated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    version: u32,
    updated_ms: i64,
    /// When search starts to see this version (index lag).
    visible_at: Instant,
}

#[derive(Debug, Clone)]
struct Change {
    current: Version,
    /// What search shows until `current` is visible; `None`: the generated issue.
    previous: Option<Version>,
}

/// A custom field added while the site runs.
#[derive(Debug, Clone)]
pub struct AddedField {
    pub id: u64,
    pub name: String,
    /// `number` or `string`.
    pub kind: &'static str,
}

#[derive(Debug, Default)]
pub(crate) struct Overlay {
    changed: HashMap<u64, Change>,
    deleted: HashSet<u64>,
    /// Archived issues (Cloud): out of search, still there.
    archived: HashSet<u64>,
    /// When each edit of an issue was made, in order: its histories keep these times.
    edit_times: HashMap<u64, Vec<Edit>>,
    /// Issues moved to another project: index → (project, key number). The id stays, the
    /// key changes, and the old key still finds the issue, as in Jira.
    moved: HashMap<u64, (u64, u64)>,
    /// Issues created after start-up: indices `n..n + created.len()`.
    created: Vec<Version>,
    added_fields: Vec<AddedField>,
    renamed: HashMap<String, String>,
    clock_offset_ms: i64,
    /// Last `updated` handed out: changes get strictly increasing times, as on a real site
    /// where each change is its own transaction.
    last_change_ms: i64,
}

/// Mutable state behind one lock: small, and held only for the length of one request.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub overlay: Overlay,
    /// Comments, worklogs and links changed while running.
    pub activity: crate::activity::Activity,
    pub behaviour: Behaviour,
    pub rate: RateWindow,
    /// The burst limit's bucket of each endpoint.
    pub buckets: std::collections::HashMap<String, crate::behaviour::Bucket>,
    pub quota: crate::behaviour::QuotaWindow,
    pub requests: u64,
    pub counters: std::collections::BTreeMap<(String, u16), u64>,
    /// Requests as received, while `RunningSim::record_requests` is on.
    pub recorded: Option<Vec<RecordedRequest>>,
    /// Versions added at run time (`RunningSim::add_version`): project index and version.
    pub added_versions: Vec<(u64, Value)>,
}

pub(crate) struct Site {
    pub data: Dataset,
    state: Mutex<State>,
    /// Every generated worklog by (updated, id), for the worklog feed; built on first use.
    pub(crate) worklog_index: std::sync::OnceLock<Vec<(i64, u64)>>,
}

/// The visible state of one issue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    pub index: u64,
    pub version: u32,
    pub updated_ms: i64,
    pub created_ms: i64,
    /// The instant the snapshot shows the site at: comments, worklogs and links changed after
    /// it (index lag) are not shown yet.
    pub at: Instant,
}

impl Site {
    pub fn new(data: Dataset, behaviour: Behaviour) -> Self {
        Self { data, state: Mutex::new(State { behaviour, ..State::default() }), worklog_index: Default::default() }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// The site's clock: real time, moved forward by `advance_clock`.
    pub fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + self.overlay.clock_offset_ms
    }

    /// The `updated` of a change made now.
    fn change_time(&mut self) -> i64 {
        let ms = self.now_ms().max(self.overlay.last_change_ms + 1);
        self.overlay.last_change_ms = ms;
        ms
    }

    /// Number of issue indices ever allocated (base + created).
    pub fn index_count(&self, data: &Dataset) -> u64 {
        data.config.issues + self.overlay.created.len() as u64
    }

    fn hidden(&self, data: &Dataset, i: u64) -> bool {
        let b = &self.behaviour;
        b.hidden_issue_every.is_some_and(|n| n > 0 && i % n == n - 1)
            || b.hidden_projects.contains(&self.project_of(data, i))
    }

    /// The project issue `i` is in now (moves included).
    pub fn project_of(&self, data: &Dataset, i: u64) -> u64 {
        self.overlay.moved.get(&i).map_or_else(|| data.project_of(i), |m| m.0)
    }

    /// The number part of issue `i`'s key now.
    pub fn key_num(&self, data: &Dataset, i: u64) -> u64 {
        self.overlay.moved.get(&i).map_or_else(|| data.key_num(i), |m| m.1)
    }

    /// Issue `i`'s key now.
    pub fn issue_key(&self, data: &Dataset, i: u64) -> String {
        format!("{}-{}", data.project_key(self.project_of(data, i)), self.key_num(data, i))
    }

    /// What search shows for index `i` right now; `None` if deleted, archived or invisible.
    pub fn snapshot(&self, data: &Dataset, i: u64, now: Instant) -> Option<Snapshot> {
        if self.overlay.archived.contains(&i) {
            return None;
        }
        self.stored(data, i, now)
    }

    /// Issue `i` as stored, archived included; `None` if deleted or invisible.
    pub fn stored(&self, data: &Dataset, i: u64, now: Instant) -> Option<Snapshot> {
        if self.overlay.deleted.contains(&i) || self.hidden(data, i) {
            return None;
        }
        let n = data.config.issues;
        let shown =
            |v: &Version| Snapshot { index: i, version: v.version, updated_ms: v.updated_ms, created_ms: 0, at: now };
        if i >= n {
            let v = self.overlay.created.get((i - n) as usize)?;
            return (v.visible_at <= now).then(|| Snapshot { created_ms: v.updated_ms, ..shown(v) });
        }
        let created_ms = data.created_ms(i);
        let snap = match self.overlay.changed.get(&i) {
            Some(c) if c.current.visible_at <= now => shown(&c.current),
            Some(Change { previous: Some(p), .. }) => shown(p),
            _ => Snapshot { index: i, version: 0, updated_ms: data.updated_ms(i), created_ms, at: now },
        };
        Some(Snapshot { created_ms, ..snap })
    }

    /// Changed (edited or touched) and created issues, ordered by (updated, id): the end of
    /// `updated` order.
    pub fn tail(&self, data: &Dataset, now: Instant) -> Vec<Snapshot> {
        let n = data.config.issues;
        let mut tail: Vec<Snapshot> = self
            .overlay
            .changed
            .keys()
            .copied()
            .chain(n..self.index_count(data))
            .filter_map(|i| self.snapshot(data, i, now))
            .filter(|s| s.index >= n || s.updated_ms != data.updated_ms(s.index))
            .collect();
        tail.sort_by_key(|s| (s.updated_ms, s.index));
        tail
    }

    /// Edits `count` issues (every `stride`-th visible base issue from `first`), as if a user
    /// changed them now. Returns the ids edited.
    pub fn edit(&mut self, data: &Dataset, first: u64, stride: u64, count: u64, lag: std::time::Duration) -> Vec<u64> {
        let now = Instant::now();
        let mut ids = Vec::new();
        let mut i = first;
        while (ids.len() as u64) < count && i < self.index_count(data) {
            if !self.overlay.deleted.contains(&i) {
                let ms = self.change_time();
                let visible_at = now + lag;
                let entry = self.overlay.changed.entry(i);
                let change = entry.or_insert(Change {
                    current: Version { version: 0, updated_ms: data.updated_ms(i), visible_at: now },
                    previous: None,
                });
                let prev = change.current;
                // Search keeps showing what it showed: a version it never saw is not one to go back to.
                if prev.visible_at <= now {
                    change.previous = (prev.version > 0 || prev.updated_ms != data.updated_ms(i)).then_some(prev);
                }
                change.current = Version { version: prev.version + 1, updated_ms: ms, visible_at };
                self.overlay.edit_times.entry(i).or_default().push(Edit { at: ms, moved: None });
                ids.push(Dataset::issue_id(i));
            }
            i += stride.max(1);
        }
        ids
    }

    /// Bumps issue `i`'s `updated` to now without changing its field values (same version), as
    /// a comment, worklog or link does: it moves to the end of `updated` order once search sees
    /// it (after `lag`). Returns the new `updated`, `None` for an unknown or deleted issue.
    pub fn touch(&mut self, data: &Dataset, i: u64, lag: std::time::Duration) -> Option<i64> {
        if i >= self.index_count(data) || self.overlay.deleted.contains(&i) {
            return None;
        }
        let now = Instant::now();
        let ms = self.change_time();
        let visible_at = now + lag;
        let n = data.config.issues;
        if i >= n {
            let v = &mut self.overlay.created[(i - n) as usize];
            // A created issue has one version: one search already shows stays shown (its new
            // `updated` then shows at once); one not yet indexed waits for this change too.
            v.updated_ms = ms;
            if v.visible_at > now {
                v.visible_at = visible_at;
            }
            return Some(ms);
        }
        let change = self.overlay.changed.entry(i).or_insert(Change {
            current: Version { version: 0, updated_ms: data.updated_ms(i), visible_at: now },
            previous: None,
        });
        let prev = change.current;
        if prev.visible_at <= now {
            change.previous = (prev.version > 0 || prev.updated_ms != data.updated_ms(i)).then_some(prev);
        }
        change.current = Version { version: prev.version, updated_ms: ms, visible_at };
        Some(ms)
    }

    /// The `updated` of a change made now (strictly increasing across changes).
    pub fn next_change_ms(&mut self) -> i64 {
        self.change_time()
    }

    /// Whether issue index `i` was deleted.
    pub fn is_deleted(&self, i: u64) -> bool {
        self.overlay.deleted.contains(&i)
    }

    /// Creates `count` issues now; returns their ids.
    pub fn create(&mut self, data: &Dataset, count: u64, lag: std::time::Duration) -> Vec<u64> {
        let now = Instant::now();
        (0..count)
            .map(|_| {
                let ms = self.change_time();
                self.overlay.created.push(Version { version: 1, updated_ms: ms, visible_at: now + lag });
                Dataset::issue_id(self.index_count(data) - 1)
            })
            .collect()
    }

    /// Deletes issues by id; unknown ids are ignored. Returns how many were deleted.
    pub fn delete(&mut self, data: &Dataset, ids: &[u64]) -> usize {
        let count = self.index_count(data);
        let deleted = &mut self.overlay.deleted;
        ids.iter().filter_map(|id| id.checked_sub(10_000).filter(|i| *i < count)).filter(|i| deleted.insert(*i)).count()
    }

    /// Archives issues by id (Cloud Premium's issue archiving): they leave search but stay on
    /// the site. Returns how many were archived.
    pub fn archive(&mut self, data: &Dataset, ids: &[u64]) -> usize {
        let count = self.index_count(data);
        let archived = &mut self.overlay.archived;
        ids.iter()
            .filter_map(|id| id.checked_sub(10_000).filter(|i| *i < count))
            .filter(|i| archived.insert(*i))
            .count()
    }

    /// Moves the issue with id `id` to project `project` (by index): a new key at the end of
    /// that project, the same id, and a change (it is updated now). Returns the new key.
    pub fn move_issue(&mut self, data: &Dataset, id: u64, project: u64) -> Option<String> {
        let i = id.checked_sub(10_000).filter(|i| *i < self.index_count(data))?;
        let (from_project, from_key) = (self.project_of(data, i), self.issue_key(data, i));
        // Above every generated key number of the project, so no key is ever reused.
        let num = MOVED_KEY_BASE + self.overlay.moved.len() as u64;
        self.overlay.moved.insert(i, (project, num));
        self.edit(data, i, 1, 1, std::time::Duration::ZERO);
        let to_key = self.issue_key(data, i);
        // The move's history also records the new key and project, as Jira's does.
        if let Some(last) = self.overlay.edit_times.get_mut(&i).and_then(|e| e.last_mut()) {
            last.moved = Some(Moved { from_project, to_project: project, from_key, to_key: to_key.clone() });
        }
        Some(to_key)
    }

    pub fn add_field(&mut self, name: &str, kind: &'static str) -> String {
        let id = 10_100 + self.overlay.added_fields.len() as u64;
        self.overlay.added_fields.push(AddedField { id, name: name.to_string(), kind });
        format!("customfield_{id}")
    }

    /// Changes an added field's type (`number` or `string`), as an admin re-creating it would.
    pub fn retype_field(&mut self, id: &str, kind: &'static str) {
        for f in &mut self.overlay.added_fields {
            if format!("customfield_{}", f.id) == id {
                f.kind = kind;
            }
        }
    }

    pub fn rename_field(&mut self, id: &str, name: &str) {
        self.overlay.renamed.insert(id.to_string(), name.to_string());
    }

    pub fn advance_clock(&mut self, ms: i64) {
        self.overlay.clock_offset_ms += ms;
    }

    /// `/field`: generated fields with renames applied, then fields added at run time.
    pub fn fields(&self, data: &Dataset) -> Vec<Value> {
        let mut fields = data.fields();
        for f in &mut fields {
            if let Some(name) = f["id"].as_str().and_then(|id| self.overlay.renamed.get(id)) {
                f["name"] = json!(name);
            }
        }
        fields.extend(self.overlay.added_fields.iter().map(|f| {
            let custom = if f.kind == "number" { "float" } else { "textfield" };
            json!({
                "id": format!("customfield_{}", f.id), "key": format!("customfield_{}", f.id),
                "name": self.overlay.renamed.get(&format!("customfield_{}", f.id)).unwrap_or(&f.name),
                "custom": true, "orderable": true, "navigable": true, "searchable": true,
                "clauseNames": [format!("cf[{}]", f.id)],
                "schema": {
                    "type": f.kind,
                    "custom": format!("com.atlassian.jira.plugin.system.customfieldtypes:{custom}"),
                    "customId": f.id,
                },
            })
        }));
        fields
    }

    pub fn field_ids(&self, data: &Dataset) -> Vec<String> {
        let mut ids = data.field_ids();
        ids.extend(self.overlay.added_fields.iter().map(|f| format!("customfield_{}", f.id)));
        ids
    }

    /// The `fields` object of an issue as it is now, with what the API user may not see removed.
    pub fn issue_fields(&self, data: &Dataset, s: &Snapshot, emails: bool) -> Map<String, Value> {
        let mut f = data.issue_fields_at(s.index, if s.index >= data.config.issues { 0 } else { s.version });
        // Edits move the status along the workflow, so the status category may change with them.
        let category_changed = f.contains_key("statuscategorychangedate");
        if s.index >= data.config.issues {
            f.insert("created".into(), json!(data.format_datetime(s.created_ms)));

            if category_changed {
                f.insert("statuscategorychangedate".into(), json!(data.format_datetime(s.created_ms)));
            }
        } else if s.version > 0 && category_changed {
            let ms = data.status_category_changed_ms(s.index, s.version, s.updated_ms);
            f.insert("statuscategorychangedate".into(), json!(data.format_datetime(ms)));
        }
        if s.version > 0 || s.updated_ms != data.updated_ms(s.index) {
            f.insert("updated".into(), json!(data.format_datetime(s.updated_ms)));
        }
        self.apply_activity(data, s, &mut f);
        if data.data_center
            && !self.behaviour.data_center_sprint_objects
            && let Some(Value::Array(sprints)) = f.get_mut("customfield_10020")
        {
            for sprint in sprints.iter_mut() {
                *sprint = json!(data.sprint_string(sprint));
            }
        }
        if let Some((p, _)) = self.overlay.moved.get(&s.index) {
            f.insert("project".into(), data.project_ref(*p));
        }
        if self.behaviour.undecodable(s.index) {
            f.insert("customfield_10016".into(), json!({"value": "3 points", "source": "legacy-estimates"}));
        }
        for a in &self.overlay.added_fields {
            let r = crate::rng::pick(data.config.seed, a.id, s.index);
            let v =
                if a.kind == "number" { json!((r % 1000) as f64 / 10.0) } else { json!(format!("value {}", r % 97)) };
            f.insert(format!("customfield_{}", a.id), v);
        }
        if !(emails && self.behaviour.user_emails_visible) {
            for v in f.values_mut() {
                strip_emails(v);
            }
        }
        f
    }

    /// `changelog` of an issue as it is now (`expand=changelog`), users redacted like fields.
    pub fn changelog(&self, data: &Dataset, s: &Snapshot, emails: bool, cap: Option<usize>) -> Value {
        let mut v = if self.activity.touched(s.index) {
            let mut all = self.histories(data, s, true);
            let total = all.len();
            all.reverse();
            all.truncate(cap.unwrap_or(usize::MAX));
            json!({"startAt": 0, "maxResults": all.len(), "total": total, "histories": all})
        } else {
            data.changelog(s.index, s.version, self.edit_times(s.index), cap)
        };
        if !(emails && self.behaviour.user_emails_visible) {
            strip_emails(&mut v);
        }
        if data.data_center && !self.behaviour.data_center_changelog_field_ids {
            let histories = v["histories"].as_array_mut().into_iter().flatten();
            for item in histories.filter_map(|h| h["items"].as_array_mut()).flatten() {
                item.as_object_mut().map(|i| i.remove("fieldId"));
            }
        }
        if self.behaviour.corrupt_history_of == Some(s.index)
            && let Some(histories) = v["histories"].as_array_mut()
        {
            // Newest first here: the newest status change is the first one found in reverse.
            histories.reverse();
            corrupt_last_status_move(histories);
            histories.reverse();
        }
        v
    }

    fn edit_times(&self, i: u64) -> &[Edit] {
        self.overlay.edit_times.get(&i).map_or(&[], Vec::as_slice)
    }

    /// Every history of an issue as it is now, oldest first, users redacted like fields.
    pub fn histories(&self, data: &Dataset, s: &Snapshot, emails: bool) -> Vec<Value> {
        let mut v = data.histories(s.index, s.version, self.edit_times(s.index));
        if self.activity.touched(s.index) {
            v.extend(self.activity_histories(data, s.index));
            // Oldest first; datetimes in one zone and format sort as text within an issue's span.
            v.sort_by_cached_key(|h| {
                h["created"]
                    .as_str()
                    .and_then(|c| chrono::DateTime::parse_from_str(c, "%Y-%m-%dT%H:%M:%S%.3f%z").ok())
                    .map_or(0, |t| t.timestamp_millis())
            });
        }
        if !(emails && self.behaviour.user_emails_visible) {
            v.iter_mut().for_each(strip_emails);
        }
        if self.behaviour.corrupt_history_of == Some(s.index) {
            corrupt_last_status_move(&mut v);
        }
        v
    }

    /// `transitions` available from the issue's current status (`expand=transitions`).
    pub fn transitions(&self, data: &Dataset, s: &Snapshot) -> Value {
        let version = if s.index >= data.config.issues { 0 } else { s.version };
        data.transitions(data.status_index(s.index, version))
    }

    pub fn user(&self, data: &Dataset, u: u64) -> Value {
        let mut user = data.user(u);
        if !self.behaviour.user_emails_visible {
            strip_emails(&mut user);
        }
        user
    }

    /// How many issues (deleted ones aside) are in project `p`'s core component, as Cloud's
    /// component list counts them.
    pub fn component_issue_count(&self, data: &Dataset, p: u64) -> u64 {
        (0..self.index_count(data))
            .filter(|i| !self.overlay.deleted.contains(i) && data.project_of(*i) == p && data.has_component(*i))
            .count() as u64
    }

    pub fn project_visible(&self, p: u64) -> bool {
        !self.behaviour.hidden_projects.contains(&p)
    }
}

/// Removes `emailAddress` from user objects anywhere in a value (how Jira redacts them).
pub(crate) fn strip_emails(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.contains_key("accountId") {
                o.remove("emailAddress");
            }
            o.values_mut().for_each(strip_emails);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_emails),
        _ => {}
    }
}

impl State {
    /// The index of the issue an id or key names (keys case-insensitively), if one was ever
    /// allocated; deleted and hidden ones included.
    pub fn index_of(&self, data: &Dataset, r: &IssueRef) -> Option<u64> {
        let index = match r {
            IssueRef::Id(id) => id.checked_sub(Dataset::issue_id(0))?,
            IssueRef::Key(key) => {
                let (pkey, num) = key.rsplit_once('-')?;
                let num: u64 = num.parse().ok().filter(|n| *n > 0)?;
                let p = (0..data.config.projects).find(|p| data.project_key(*p).eq_ignore_ascii_case(pkey))?;
                if let Some((i, _)) = self.overlay.moved.iter().find(|(_, m)| **m == (p, num)) {
                    return Some(*i);
                }
                (num - 1).checked_mul(data.config.projects)?.checked_add(p)?
            }
        };
        (index < self.index_count(data)).then_some(index)
    }

    /// An issue literal of JQL → the project id and key number of the visible issue it names.
    pub fn resolve(&self, data: &Dataset, r: &IssueRef, now: Instant) -> Option<(u64, u64)> {
        let index = self.index_of(data, r)?;
        self.snapshot(data, index, now)?;
        Some((Dataset::project_id(self.project_of(data, index)), self.key_num(data, index)))
    }
}

/// What JQL sees of a snapshot.
pub(crate) fn view<'a>(st: &State, data: &Dataset, s: &Snapshot, key: &'a str, project_key: &'a str) -> IssueView<'a> {
    let version = if s.index >= data.config.issues { 0 } else { s.version };
    IssueView {
        id: Dataset::issue_id(s.index),
        key,
        key_num: st.key_num(data, s.index),
        project_key,
        project_id: Dataset::project_id(st.project_of(data, s.index)),
        updated_ms: s.updated_ms,
        created_ms: s.created_ms,
        status: crate::data::status_name(data.status_index(s.index, version)),
    }
}

/// Points the newest status change at a status the issue is not in (`corrupt_history_of`).
fn corrupt_last_status_move(histories: &mut [Value]) {
    let last = histories
        .iter_mut()
        .rev()
        .flat_map(|h| h["items"].as_array_mut().into_iter().flatten())
        .find(|i| i["fieldId"].as_str().or(i["field"].as_str()) == Some("status"));
    if let Some(item) = last {
        item["to"] = json!("99999");
        item["toString"] = json!("Nowhere");
    }
}

/// One request as the site received it, so tests can check what a client asked for (its
/// `fields`, whether it used the POST form) instead of trusting a comment.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The JSON body, when there was one.
    pub body: Option<serde_json::Value>,
}

impl RecordedRequest {
    /// A query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&self.query)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetConfig;
    use std::time::Duration;

    fn setup() -> (Dataset, State) {
        (Dataset::new(DatasetConfig { issues: 100, ..Default::default() }, "http://x"), State::default())
    }

    #[test]
    fn edits_move_issues_to_the_tail_in_edit_order() {
        let (d, mut s) = setup();
        let ids = s.edit(&d, 10, 10, 3, Duration::ZERO);
        assert_eq!(ids, [10_010, 10_020, 10_030]);
        let now = Instant::now();
        let tail: Vec<u64> = s.tail(&d, now).iter().map(|t| t.index).collect();
        assert_eq!(tail, [10, 20, 30]);
        assert!(s.snapshot(&d, 10, now).unwrap().updated_ms > d.updated_ms(99));
        s.edit(&d, 10, 1, 1, Duration::ZERO);
        let tail: Vec<u64> = s.tail(&d, Instant::now()).iter().map(|t| t.index).collect();
        assert_eq!(tail, [20, 30, 10]);
    }

    #[test]
    fn index_lag_shows_the_previous_version_until_visible() {
        let (d, mut s) = setup();
        s.edit(&d, 5, 1, 1, Duration::from_secs(3600));
        let snap = s.snapshot(&d, 5, Instant::now()).unwrap();
        assert_eq!((snap.version, snap.updated_ms), (0, d.updated_ms(5)));
        assert!(s.tail(&d, Instant::now()).is_empty());
        assert_eq!(s.snapshot(&d, 5, Instant::now() + Duration::from_secs(3601)).unwrap().version, 1);
    }

    #[test]
    fn deletes_creates_and_hidden_issues() {
        let (d, mut s) = setup();
        assert_eq!(s.delete(&d, &[10_003, 10_003, 99_999]), 1);
        assert!(s.snapshot(&d, 3, Instant::now()).is_none());
        let ids = s.create(&d, 2, Duration::ZERO);
        assert_eq!(ids, [10_100, 10_101]);
        assert_eq!(s.tail(&d, Instant::now()).len(), 2);
        s.behaviour.hidden_issue_every = Some(10);
        assert!(s.snapshot(&d, 9, Instant::now()).is_none());
        s.behaviour.hidden_projects.insert(d.project_of(4));
        assert!(s.snapshot(&d, 4, Instant::now()).is_none());
    }

    #[test]
    fn redacted_users_lose_their_email() {
        let (d, mut s) = setup();
        s.behaviour.user_emails_visible = false;
        let f = s.issue_fields(&d, &s.snapshot(&d, 1, Instant::now()).unwrap(), true);
        assert!(f["reporter"].get("emailAddress").is_none());
        assert!(f["reporter"].get("accountId").is_some());
        assert!(s.user(&d, 1).get("emailAddress").is_none());
    }

    #[test]
    fn added_and_renamed_fields() {
        let (d, mut s) = setup();
        let id = s.add_field("Risk", "number");
        s.rename_field("customfield_10016", "Effort");
        let fields = s.fields(&d);
        assert!(fields.iter().any(|f| f["id"] == id.as_str() && f["schema"]["type"] == "number"));
        assert!(fields.iter().any(|f| f["id"] == "customfield_10016" && f["name"] == "Effort"));
        let snap = s.snapshot(&d, 2, Instant::now()).unwrap();
        assert!(s.issue_fields(&d, &snap, true)[&id].is_number());
    }
}
