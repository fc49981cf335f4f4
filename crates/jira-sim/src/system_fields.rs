//! The system fields a real Jira site lists beyond the simulator's first 17, and their values.
//!
//! Definitions (`/field`) follow two recorded Jira Cloud `/field` responses and one recorded Data
//! Center one (see the crate README, "System fields", for every source); values follow recorded
//! search and issue responses. Values are computed from the issue index like the rest of the
//! data set: nothing is stored per issue.
//!
//! Consistency kept with the other fields: `creator` is a user (mostly the reporter);
//! `statuscategorychangedate` is the time of the last status change that crossed a status
//! category in the issue's changelog (so `created` ≤ it ≤ `updated`); `resolution` is set exactly
//! when `resolutiondate` is; `subtasks` lists the sub-task whose `parent` is this issue;
//! `issuelinks` appear on both ends of a link; `timetracking`, `timespent`, `timeestimate`,
//! `timeoriginalestimate`, `progress`, `workratio` and the `worklog` page agree, and the
//! `aggregate*` fields add the sub-task's figures to the issue's own.

use serde_json::{Map, Value, json};

use crate::data::{Dataset, STATUSES, adf};

/// One system field's `/field` entry.
pub(crate) struct SystemField {
    pub id: &'static str,
    pub name: &'static str,
    /// `schema.type`; `None` for the entries Jira lists without a schema (`issuekey`,
    /// `statusCategory`, `thumbnail`).
    pub schema_type: Option<&'static str>,
    pub items: Option<&'static str>,
    pub orderable: bool,
    pub navigable: bool,
    pub searchable: bool,
    pub clause_names: &'static [&'static str],
    pub on: Sites,
    /// Whether issues carry a value for it. Jira lists `issuekey`, `statusCategory` and
    /// `thumbnail` as navigator columns but never returns them in an issue's `fields`, and no
    /// source shows `archiveddate`/`archivedby` values in search results (archived issues are
    /// not searchable).
    pub on_issues: bool,
}

/// Which deployments list a field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sites {
    Both,
    CloudOnly,
    DataCenterOnly,
}

impl SystemField {
    pub fn listed_on(&self, data_center: bool) -> bool {
        match self.on {
            Sites::Both => true,
            Sites::CloudOnly => !data_center,
            Sites::DataCenterOnly => data_center,
        }
    }

    /// The `/field` entry. Data Center names a few fields differently (recorded DC response).
    pub fn definition(&self, data_center: bool) -> Value {
        let name = match (data_center, self.id) {
            (true, "timeoriginalestimate") => "Original Estimate",
            (true, "timetracking") => "Time Tracking",
            (true, "subtasks") => "Sub-Tasks",
            (true, "versions") => "Affects Version/s",
            _ => self.name,
        };
        // The recorded DC response lists no clause for issue links (Cloud: `issueLink`).
        let clauses: &[&str] = if data_center && self.id == "issuelinks" { &[] } else { self.clause_names };
        let mut v = json!({
            "id": self.id, "key": self.id, "name": name, "custom": false, "orderable": self.orderable,
            "navigable": self.navigable, "searchable": self.searchable, "clauseNames": clauses,
        });
        if let Some(ty) = self.schema_type {
            let mut schema = json!({"type": ty, "system": self.id});
            if let Some(items) = self.items {
                schema["items"] = json!(items);
            }
            v["schema"] = schema;
        }
        v
    }
}

#[allow(clippy::too_many_arguments)]
const fn sf(
    id: &'static str,
    name: &'static str,
    schema_type: Option<&'static str>,
    items: Option<&'static str>,
    (orderable, navigable, searchable): (bool, bool, bool),
    clause_names: &'static [&'static str],
    on: Sites,
    on_issues: bool,
) -> SystemField {
    SystemField { id, name, schema_type, items, orderable, navigable, searchable, clause_names, on, on_issues }
}

const NUM: Option<&str> = Some("number");
/// (orderable, navigable, searchable) combinations as recorded.
const COLUMN: (bool, bool, bool) = (false, true, false);
const SEARCHABLE_COLUMN: (bool, bool, bool) = (false, true, true);
const EDITABLE: (bool, bool, bool) = (true, true, true);
const EDIT_ONLY: (bool, bool, bool) = (true, false, true);

/// The extra system fields, in the order `/field` lists them (after the first 17). Names,
/// flags and clauses are Jira Cloud's (nenning/Controlling, 2023; KrishKayc/ferry, 2020 for
/// the fields the first omits); Data Center differences are in [`SystemField::definition`].
pub(crate) const EXTRA_SYSTEM_FIELDS: [SystemField; 29] = {
    use Sites::*;
    [
        sf("environment", "Environment", Some("string"), None, EDITABLE, &["environment"], Both, true),
        sf("issuelinks", "Linked Issues", Some("array"), Some("issuelinks"), EDITABLE, &["issueLink"], Both, true),
        sf("subtasks", "Sub-tasks", Some("array"), Some("issuelinks"), COLUMN, &["subtasks"], Both, true),
        sf("worklog", "Log Work", Some("array"), Some("worklog"), EDIT_ONLY, &[], Both, true),
        sf("attachment", "Attachment", Some("array"), Some("attachment"), EDIT_ONLY, &["attachments"], Both, true),
        sf("timetracking", "Time tracking", Some("timetracking"), None, EDIT_ONLY, &[], Both, true),
        sf("timespent", "Time Spent", NUM, None, COLUMN, &["timespent"], Both, true),
        sf(
            "timeoriginalestimate",
            "Original estimate",
            NUM,
            None,
            COLUMN,
            &["originalEstimate", "timeoriginalestimate"],
            Both,
            true,
        ),
        sf("timeestimate", "Remaining Estimate", NUM, None, COLUMN, &["remainingEstimate", "timeestimate"], Both, true),
        sf("aggregatetimespent", "Σ Time Spent", NUM, None, COLUMN, &[], Both, true),
        sf("aggregatetimeoriginalestimate", "Σ Original Estimate", NUM, None, COLUMN, &[], Both, true),
        sf("aggregatetimeestimate", "Σ Remaining Estimate", NUM, None, COLUMN, &[], Both, true),
        sf("progress", "Progress", Some("progress"), None, COLUMN, &["progress"], Both, true),
        sf("aggregateprogress", "Σ Progress", Some("progress"), None, COLUMN, &[], Both, true),
        sf("workratio", "Work Ratio", NUM, None, SEARCHABLE_COLUMN, &["workratio"], Both, true),
        sf("resolution", "Resolution", Some("resolution"), None, EDITABLE, &["resolution"], Both, true),
        sf("security", "Security Level", Some("securitylevel"), None, EDITABLE, &["level"], Both, true),
        sf("creator", "Creator", Some("user"), None, SEARCHABLE_COLUMN, &["creator"], Both, true),
        sf("versions", "Affects versions", Some("array"), Some("version"), EDITABLE, &["affectedVersion"], Both, true),
        sf("votes", "Votes", Some("votes"), None, COLUMN, &["votes"], Both, true),
        sf("watches", "Watchers", Some("watches"), None, COLUMN, &["watchers"], Both, true),
        sf(
            "statuscategorychangedate",
            "Status Category Changed",
            Some("datetime"),
            None,
            SEARCHABLE_COLUMN,
            &["statusCategoryChangedDate"],
            CloudOnly,
            true,
        ),
        sf("lastViewed", "Last Viewed", Some("datetime"), None, COLUMN, &["lastViewed"], Both, true),
        sf("issuerestriction", "Restrict to", Some("issuerestriction"), None, EDIT_ONLY, &[], CloudOnly, true),
        sf("issuekey", "Key", None, None, COLUMN, &["id", "issue", "issuekey", "key"], Both, false),
        sf("statusCategory", "Status Category", None, None, SEARCHABLE_COLUMN, &["statusCategory"], CloudOnly, false),
        sf("thumbnail", "Images", None, None, COLUMN, &[], Both, false),
        sf("archiveddate", "Archived", Some("datetime"), None, EDIT_ONLY, &[], DataCenterOnly, false),
        sf("archivedby", "Archiver", Some("user"), None, EDIT_ONLY, &[], DataCenterOnly, false),
    ]
};

/// Tags for the draws of this module, clear of `data`'s (`data/mod.rs`).
mod tag {
    pub const ENVIRONMENT: u64 = 40;
    pub const LINK: u64 = 41;
    pub const TIME: u64 = 42;
    pub const ATTACHMENT: u64 = 43;
    pub const SECURITY: u64 = 44;
    pub const CREATOR: u64 = 45;
    pub const VERSIONS: u64 = 46;
    pub const SOCIAL: u64 = 47;
    pub const VIEWED: u64 = 48;
}

/// Jira Cloud's default issue link types: (id, name, inward, outward).
pub(crate) const LINK_TYPES: [(&str, &str, &str, &str); 4] = [
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
];
const ENVIRONMENTS: [&str; 4] =
    ["Chrome 126 on macOS 14", "Firefox 128 on Windows 11", "Production, eu-west-1", "Staging cluster"];
/// (file name, MIME type, has a thumbnail)
const FILES: [(&str, &str, bool); 4] = [
    ("screenshot.png", "image/png", true),
    ("debuglog.txt", "text/plain", false),
    ("report.pdf", "application/pdf", false),
    ("picture.jpg", "image/jpeg", true),
];
/// Original estimates drawn from, in seconds (2h to 3d of 8-hour days).
const ESTIMATES: [i64; 5] = [7_200, 14_400, 28_800, 57_600, 86_400];

/// Time tracking of one issue, in seconds (`None`: not set, sent as `null`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TimeTracking {
    pub original: Option<i64>,
    pub remaining: Option<i64>,
    pub spent: Option<i64>,
    /// Worklogs that make up `spent`, each `spent / worklogs` (the last takes the rest).
    pub worklogs: u64,
}

impl TimeTracking {
    /// `progress`/`aggregateprogress`: logged work against logged plus remaining work.
    fn progress(&self) -> Value {
        let (spent, remaining) = (self.spent.unwrap_or(0), self.remaining.unwrap_or(0));
        let total = spent + remaining;
        if total == 0 {
            json!({"progress": 0, "total": 0})
        } else {
            json!({"progress": spent, "total": total, "percent": spent * 100 / total})
        }
    }

    /// The `timetracking` object: only the parts that are set, as Jira sends it (`{}` if none).
    fn details(&self) -> Value {
        let mut o = Map::new();
        for (name, secs) in
            [("originalEstimate", self.original), ("remainingEstimate", self.remaining), ("timeSpent", self.spent)]
        {
            if let Some(s) = secs {
                o.insert(name.into(), json!(duration(s)));
                o.insert(format!("{name}Seconds"), json!(s));
            }
        }
        Value::Object(o)
    }

    pub(crate) fn plus(self, other: Self) -> Self {
        let add = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        Self {
            original: add(self.original, other.original),
            remaining: add(self.remaining, other.remaining),
            spent: add(self.spent, other.spent),
            worklogs: self.worklogs + other.worklogs,
        }
    }
}

/// The time tracking fields of an issue whose own figures are `own` and whose figures with its
/// sub-task's are `total`.
pub(crate) fn insert_time_fields(f: &mut Map<String, Value>, own: &TimeTracking, total: &TimeTracking) {
    f.insert("timetracking".into(), own.details());
    let secs = |s: Option<i64>| s.map_or(Value::Null, |s| json!(s));
    f.insert("timespent".into(), secs(own.spent));
    f.insert("timeoriginalestimate".into(), secs(own.original));
    f.insert("timeestimate".into(), secs(own.remaining));
    f.insert("aggregatetimespent".into(), secs(total.spent));
    f.insert("aggregatetimeoriginalestimate".into(), secs(total.original));
    f.insert("aggregatetimeestimate".into(), secs(total.remaining));
    f.insert("progress".into(), own.progress());
    f.insert("aggregateprogress".into(), total.progress());
    // Jira sends -1 when there is no original estimate.
    let ratio = own.original.map_or(-1, |o| own.spent.unwrap_or(0) * 100 / o);
    f.insert("workratio".into(), json!(ratio));
}

/// Jira's duration text with 8-hour days and 5-day weeks (`57600` → `2d`, `12000` → `3h 20m`).
pub(crate) fn duration(secs: i64) -> String {
    let mut parts = Vec::new();
    let mut rest = secs / 60;
    for (unit, minutes) in [("w", 5 * 8 * 60), ("d", 8 * 60), ("h", 60), ("m", 1)] {
        if rest >= minutes {
            parts.push(format!("{}{unit}", rest / minutes));
            rest %= minutes;
        }
    }
    if parts.is_empty() { "0m".to_string() } else { parts.join(" ") }
}

/// What the extra fields of issue `i` depend on, as computed by `Dataset::issue_fields_at`.
pub(crate) struct IssueContext {
    pub i: u64,
    /// Index into `STATUSES` of the issue as it is now.
    pub status: usize,
    pub reporter: u64,
    /// `(created, updated)` of a base issue; `None` for an issue created at run time, which
    /// has no history yet (no work logged, no links, no attachments).
    pub span: Option<(i64, i64)>,
}

impl Dataset {
    /// Time tracking of issue `i`: about half the issues have none; the rest have an original
    /// estimate and none, one or two worklogs — or, for one in 25 of them, a long run of 21–60,
    /// more than the `worklog` field embeds; the remaining estimate is what is left of it.
    pub(crate) fn time_tracking(&self, i: u64) -> TimeTracking {
        if i >= self.config.issues {
            return TimeTracking::default();
        }
        let r = self.p(tag::TIME, i);
        if r.is_multiple_of(2) {
            return TimeTracking::default();
        }
        let original = ESTIMATES[((r >> 4) % ESTIMATES.len() as u64) as usize];
        let worklogs = if (r >> 40).is_multiple_of(25) { 21 + (r >> 48) % 40 } else { (r >> 8) % 3 };
        // Up to one and a half times the estimate, in whole quarter hours, at least a quarter
        // hour per worklog.
        let spent = (worklogs > 0)
            .then(|| ((original * ((r >> 12) % 151) as i64 / 100) / 900).max(1).max(worklogs as i64) * 900);
        let remaining = (original - spent.unwrap_or(0)).max(0);
        TimeTracking { original: Some(original), remaining: Some(remaining), spent, worklogs }
    }

    /// The sub-task whose `parent` is issue `i`, if any (sub-tasks point at the issue one
    /// round of projects earlier; see `Dataset::issue_fields_at`).
    pub(crate) fn subtask_of(&self, i: u64) -> Option<u64> {
        let child = i + self.config.projects;
        (child < self.config.issues && self.is_subtask(child)).then_some(child)
    }

    /// Whether issue `i` links to issue `i - projects` (link id `10000 + i`).
    pub(crate) fn links_back(&self, i: u64) -> Option<(u64, u64)> {
        let r = self.p(tag::LINK, i);
        (i >= self.config.projects && i < self.config.issues && r.is_multiple_of(3))
            .then(|| (i - self.config.projects, (r >> 8) % LINK_TYPES.len() as u64))
    }

    /// When the status category of issue `i` last changed, `version` edits in, the last edit
    /// at `updated_ms`. Follows `Dataset::changelog`: the base status changes are spread evenly
    /// between `created` and the base `updated`, edit `k` is at the `k/version` point between
    /// the base `updated` and `updated_ms`. Jira sets it at creation, so an issue still in its
    /// first category reports `created`.
    pub(crate) fn status_category_changed_ms(&self, i: u64, version: u32, updated_ms: i64) -> i64 {
        let category = |v: u32| STATUSES[self.status_index(i, v)].3;
        let (created, base_updated) = (self.created_ms(i), self.updated_ms(i));
        // Categories change at least every other step of the four-status cycle.
        for k in (version.saturating_sub(4) + 1..=version).rev() {
            if category(k) != category(k - 1) {
                return base_updated + (updated_ms - base_updated) * i64::from(k) / i64::from(version);
            }
        }
        // Base history: To Do → In Progress (step 1) and In Review → Done (step 3) cross
        // categories, In Progress → In Review does not.
        let s0 = self.status_index(i, 0) as i64;
        let last_crossing = match s0 {
            0 => return created,
            1 | 2 => 1,
            _ => 3,
        };
        created + (base_updated - created) * last_crossing / s0
    }

    /// Inserts the values of the extra system fields of one issue.
    pub(crate) fn insert_system_field_values(&self, cx: &IssueContext, f: &mut Map<String, Value>) {
        let base = self.base_url();
        let i = cx.i;
        let key = self.issue_key(i);
        let users = self.config.users.max(1);
        let done = STATUSES[cx.status].3 == "done";
        let (created, updated) = cx.span.unwrap_or_default();
        let at =
            |frac_per_mille: u64| self.format_datetime(created + (updated - created) * frac_per_mille as i64 / 1000);

        let r = self.p(tag::ENVIRONMENT, i);
        let environment = if cx.span.is_some() && r.is_multiple_of(4) {
            adf(ENVIRONMENTS[((r >> 8) % 4) as usize])
        } else {
            Value::Null
        };
        f.insert("environment".into(), environment);

        let mut links = Vec::new();
        if let Some((to, t)) = self.links_back(i) {
            links.push(self.issue_link(10_000 + i, t, "outwardIssue", to));
        }
        if let Some((_, t)) = self.links_back(i + self.config.projects) {
            links.push(self.issue_link(10_000 + i + self.config.projects, t, "inwardIssue", i + self.config.projects));
        }
        f.insert("issuelinks".into(), Value::Array(links));
        let subtasks: Vec<Value> = self.subtask_of(i).map(|c| self.linked_issue(c)).into_iter().collect();
        f.insert("subtasks".into(), Value::Array(subtasks));

        let own = self.time_tracking(i);
        let total = self.subtask_of(i).map_or(own, |c| own.plus(self.time_tracking(c)));
        f.insert("worklog".into(), self.worklog_field(i));
        let r = self.p(tag::ATTACHMENT, i);
        let attachments = if cx.span.is_some() && r.is_multiple_of(5) {
            let (name, mime, thumb) = FILES[((r >> 8) % 4) as usize];
            let aid = 10_000 + i;
            let mut a = json!({
                "self": format!("{base}/rest/api/3/attachment/{aid}"), "id": aid.to_string(), "filename": name,
                "author": self.user_ref((r >> 16) % users), "created": at(100 + (r >> 24) % 400),
                "size": 1_000 + (r >> 32) % 500_000, "mimeType": mime,
                "content": format!("{base}/rest/api/3/attachment/content/{aid}"),
            });
            if thumb {
                a["thumbnail"] = json!(format!("{base}/rest/api/3/attachment/thumbnail/{aid}"));
            }
            vec![a]
        } else {
            Vec::new()
        };
        f.insert("attachment".into(), Value::Array(attachments));
        insert_time_fields(f, &own, &total);

        f.insert(
            "resolution".into(),
            if done {
                json!({"self": format!("{base}/rest/api/3/resolution/10000"), "id": "10000",
                       "description": "Work has been completed on this issue.", "name": "Done"})
            } else {
                Value::Null
            },
        );
        let r = self.p(tag::SECURITY, i);
        f.insert(
            "security".into(),
            if r.is_multiple_of(10) {
                json!({"self": format!("{base}/rest/api/3/securitylevel/10021"), "id": "10021",
                       "description": "Only the reporter and internal staff can see this issue.",
                       "name": "Reporter Only"})
            } else {
                Value::Null
            },
        );
        let r = self.p(tag::CREATOR, i);
        // Usually the reporter; sometimes someone filed it on their behalf.
        let creator = if r.is_multiple_of(5) { (r >> 8) % users } else { cx.reporter };
        f.insert("creator".into(), self.user_ref(creator));
        let r = self.p(tag::VERSIONS, i);
        let versions =
            if r.is_multiple_of(4) { json!([self.version_ref(self.project_of(i), (i + 1) % 3)]) } else { json!([]) };
        f.insert("versions".into(), versions);
        let r = self.p(tag::SOCIAL, i);
        let votes = if cx.span.is_some() { (r % 8).saturating_sub(4) } else { 0 };
        f.insert(
            "votes".into(),
            json!({"self": format!("{base}/rest/api/3/issue/{key}/votes"), "votes": votes,
                   "hasVoted": votes > 0 && (r >> 8).is_multiple_of(3)}),
        );
        let watchers = 1 + if cx.span.is_some() { (r >> 16) % 4 } else { 0 };
        f.insert(
            "watches".into(),
            json!({"self": format!("{base}/rest/api/3/issue/{key}/watchers"), "watchCount": watchers,
                   "isWatching": (r >> 24).is_multiple_of(4)}),
        );
        if !self.data_center {
            let changed = match cx.span {
                Some(_) => self.status_category_changed_ms(i, 0, self.updated_ms(i)),
                None => created,
            };
            f.insert("statuscategorychangedate".into(), json!(self.format_datetime(changed)));
        }
        let r = self.p(tag::VIEWED, i);
        let viewed = if cx.span.is_some() && r % 5 < 2 { json!(at(500 + (r >> 8) % 500)) } else { Value::Null };
        f.insert("lastViewed".into(), viewed);
        if !self.data_center {
            f.insert("issuerestriction".into(), json!({"issuerestrictions": {}, "shouldDisplay": false}));
        }
    }

    /// An issue as other issues' `subtasks` and `issuelinks` show it: id, key, self, and the
    /// summary, status, priority and issue type of its first version.
    pub(crate) fn linked_issue(&self, j: u64) -> Value {
        let f = self.issue_fields_core(j);
        json!({
            "id": Self::issue_id(j).to_string(), "key": self.issue_key(j),
            "self": format!("{}/rest/api/3/issue/{}", self.base_url(), Self::issue_id(j)),
            "fields": f,
        })
    }

    pub(crate) fn issue_link(&self, link_id: u64, t: u64, direction: &str, other: u64) -> Value {
        let base = self.base_url();
        let (tid, name, inward, outward) = LINK_TYPES[t as usize];
        let mut link = json!({
            "id": link_id.to_string(), "self": format!("{base}/rest/api/3/issueLink/{link_id}"),
            "type": {"id": tid, "name": name, "inward": inward, "outward": outward,
                     "self": format!("{base}/rest/api/3/issueLinkType/{tid}")},
        });
        link[direction] = self.linked_issue(other);
        link
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetConfig;

    fn ds(issues: u64) -> Dataset {
        Dataset::new(DatasetConfig { issues, ..Default::default() }, "http://sim")
    }

    fn ms(v: &Value) -> i64 {
        chrono::DateTime::parse_from_str(v.as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.3f%z").unwrap().timestamp_millis()
    }

    #[test]
    fn durations_use_eight_hour_days_and_five_day_weeks() {
        assert_eq!(duration(57_600), "2d");
        assert_eq!(duration(12_000), "3h 20m");
        assert_eq!(duration(86_400), "3d");
        assert_eq!(duration(5 * 28_800 + 3_600), "1w 1h");
        assert_eq!(duration(0), "0m");
    }

    #[test]
    fn definitions_follow_the_recorded_shapes() {
        let worklog = EXTRA_SYSTEM_FIELDS.iter().find(|f| f.id == "worklog").unwrap().definition(false);
        assert_eq!(
            worklog,
            json!({"id": "worklog", "key": "worklog", "name": "Log Work", "custom": false, "orderable": true,
                   "navigable": false, "searchable": true, "clauseNames": [],
                   "schema": {"type": "array", "items": "worklog", "system": "worklog"}})
        );
        let key = EXTRA_SYSTEM_FIELDS.iter().find(|f| f.id == "issuekey").unwrap().definition(true);
        assert!(key.get("schema").is_none());
        let ids: Vec<&str> = EXTRA_SYSTEM_FIELDS.iter().map(|f| f.id).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn time_tracking_agrees_across_fields() {
        let d = ds(2000);
        let (mut with_work, mut long_runs) = (0, 0);
        for i in 0..2000 {
            let f = d.issue_fields(i);
            let tt = &f["timetracking"];
            assert_eq!(tt.get("timeSpentSeconds").cloned().unwrap_or(Value::Null), f["timespent"], "{i}");
            assert_eq!(tt.get("originalEstimateSeconds").cloned().unwrap_or(Value::Null), f["timeoriginalestimate"]);
            assert_eq!(tt.get("remainingEstimateSeconds").cloned().unwrap_or(Value::Null), f["timeestimate"]);
            // Every worklog (not only the 20 embedded) adds up to the time spent.
            let all = d.worklog_specs(i);
            let logged: i64 = all.iter().map(|w| w.secs).sum();
            assert_eq!(logged, f["timespent"].as_i64().unwrap_or(0), "{i}");
            assert!(all.iter().all(|w| w.secs > 0 && w.created <= w.updated), "{i}");
            assert_eq!(f["worklog"]["total"].as_u64().unwrap() as usize, all.len());
            assert_eq!(f["worklog"]["worklogs"].as_array().unwrap().len(), all.len().min(20));
            long_runs += usize::from(all.len() > 20);
            let spent = f["timespent"].as_i64().unwrap_or(0);
            assert_eq!(f["progress"]["progress"].as_i64().unwrap(), spent);
            assert!(f["aggregatetimespent"].as_i64().unwrap_or(0) >= spent);
            match f["timeoriginalestimate"].as_i64() {
                Some(o) => assert_eq!(f["workratio"].as_i64().unwrap(), spent * 100 / o),
                None => assert_eq!(f["workratio"], -1),
            }
            for w in f["worklog"]["worklogs"].as_array().unwrap() {
                let (s, u) = (ms(&w["started"]), ms(&f["updated"]));
                assert!(ms(&f["created"]) <= s && s <= u && ms(&w["created"]) <= u);
            }
            with_work += usize::from(spent > 0);
        }
        assert!(with_work > 200 && long_runs > 10, "{with_work} {long_runs}");
    }

    #[test]
    fn dates_sit_between_created_and_updated() {
        let d = ds(500);
        for i in 0..500 {
            let f = d.issue_fields(i);
            let (c, u) = (ms(&f["created"]), ms(&f["updated"]));
            let s = ms(&f["statuscategorychangedate"]);
            assert!(c <= s && s <= u, "{i}: {c} {s} {u}");
            if f["status"]["statusCategory"]["key"] == "done" {
                assert_eq!(f["statuscategorychangedate"], f["resolutiondate"]);
                assert_eq!(f["resolution"]["name"], "Done");
            } else {
                assert!(f["resolution"].is_null());
            }
            if let Some(v) = f["lastViewed"].as_str() {
                assert!(ms(&json!(v)) <= u);
            }
        }
    }

    #[test]
    fn edits_move_the_status_category_change_forward() {
        let d = ds(100);
        for i in 0..100 {
            let base = d.status_category_changed_ms(i, 0, d.updated_ms(i));
            let later = d.updated_ms(99) + 1_000_000;
            for v in 1..6 {
                let t = d.status_category_changed_ms(i, v, later);
                assert!(t >= base && t <= later, "{i} v{v}");
            }
        }
    }

    #[test]
    fn subtasks_and_links_point_both_ways() {
        let d = ds(500);
        let (mut subtasks, mut links) = (0, 0);
        for i in 0..500 {
            let f = d.issue_fields(i);
            for s in f["subtasks"].as_array().unwrap() {
                let c = d.index_of_id(s["id"].as_str().unwrap().parse().unwrap()).unwrap();
                assert_eq!(d.issue_fields(c)["parent"]["key"], json!(d.issue_key(i)));
                assert_eq!(s["fields"]["issuetype"]["subtask"], true);
                subtasks += 1;
            }
            for l in f["issuelinks"].as_array().unwrap() {
                let (dir, back) = if l.get("outwardIssue").is_some() {
                    ("outwardIssue", "inwardIssue")
                } else {
                    ("inwardIssue", "outwardIssue")
                };
                let other = d.index_of_id(l[dir]["id"].as_str().unwrap().parse().unwrap()).unwrap();
                let theirs = d.issue_fields(other);
                let mirror = theirs["issuelinks"].as_array().unwrap().iter().find(|m| m["id"] == l["id"]).unwrap();
                assert_eq!(mirror[back]["key"], json!(d.issue_key(i)));
                assert_eq!(mirror["type"], l["type"]);
                links += 1;
            }
        }
        assert!(subtasks > 20 && links > 50, "{subtasks} {links}");
    }

    #[test]
    fn some_values_are_null_or_empty_like_on_a_real_site() {
        let d = ds(400);
        let all: Vec<_> = (0..400).map(|i| d.issue_fields(i)).collect();
        for id in ["environment", "security", "lastViewed", "timespent", "resolution"] {
            assert!(all.iter().any(|f| f[id].is_null()), "{id} never null");
            assert!(all.iter().any(|f| !f[id].is_null()), "{id} always null");
        }
        for id in ["attachment", "issuelinks", "subtasks", "versions"] {
            assert!(all.iter().any(|f| f[id].as_array().unwrap().is_empty()), "{id}");
            assert!(all.iter().any(|f| !f[id].as_array().unwrap().is_empty()), "{id}");
        }
        assert!(all.iter().any(|f| f["creator"].get("emailAddress").is_none()));
        assert!(all.iter().all(|f| f["environment"].is_null() || f["environment"]["type"] == "doc"));
        assert!(all.iter().any(|f| f["timetracking"] == json!({})));
    }
}
