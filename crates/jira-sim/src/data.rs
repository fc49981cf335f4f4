//! The simulated site's content, generated from indices.
//!
//! Nothing here is stored: `Dataset::issue(i)` recomputes issue `i` from the seed, so memory does
//! not grow with `--issues`. Base issues are laid out so that index order *is* `updated` order
//! (issue `i+1` was updated after issue `i`), which lets search page through a million issues
//! ordered by `updated, id` without sorting them.

use std::borrow::Cow;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::rng::pick;
use crate::system_fields::{EXTRA_SYSTEM_FIELDS, IssueContext, SystemField};

/// Size and identity of a simulated site.
#[derive(Debug, Clone)]
pub struct DatasetConfig {
    pub seed: u64,
    pub issues: u64,
    pub projects: u64,
    pub users: u64,
    pub boards: u64,
    /// IANA time zone of the API user; Jira renders datetimes and evaluates JQL dates in it.
    pub time_zone: Tz,
    /// `updated` of the newest base issue; the rest spread over the year before it.
    pub updated_until: DateTime<Utc>,
    /// Custom fields beyond the built-in 13, cycling through their types (wider issues for
    /// benchmarks). Ids start at 10500, clear of fields added at run time.
    pub extra_custom_fields: u64,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            issues: 250,
            projects: 5,
            users: 40,
            boards: 8,
            time_zone: chrono_tz::America::New_York,
            updated_until: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            extra_custom_fields: 0,
        }
    }
}

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
const FIRST: [&str; 10] =
    ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Linus"];
const LAST: [&str; 10] =
    ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Torvalds"];
const VERBS: [&str; 8] = ["Fix", "Add", "Remove", "Refactor", "Document", "Speed up", "Investigate", "Migrate"];
const NOUNS: [&str; 8] = [
    "login flow",
    "export job",
    "billing report",
    "search index",
    "API rate limiter",
    "onboarding email",
    "audit log",
    "dashboard",
];
/// (id, name, statusCategory id, key, colorName, category name)
pub(crate) const STATUSES: [(&str, &str, u64, &str, &str, &str); 4] = [
    ("10000", "To Do", 2, "new", "blue-gray", "To Do"),
    ("3", "In Progress", 4, "indeterminate", "yellow", "In Progress"),
    ("10001", "In Review", 4, "indeterminate", "yellow", "In Progress"),
    ("10002", "Done", 3, "done", "green", "Done"),
];
const PRIORITIES: [(&str, &str); 5] = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")];
/// (id, name, subtask, hierarchyLevel)
const ISSUE_TYPES: [(&str, &str, bool, i64); 4] = [
    ("10001", "Story", false, 0),
    ("10002", "Bug", false, 0),
    ("10003", "Task", false, 0),
    ("10004", "Sub-task", true, -1),
];
const LABELS: [&str; 6] = ["backend", "frontend", "tech-debt", "customer", "urgent", "q4"];
const SEVERITIES: [(&str, &str); 4] =
    [("10100", "S1 - Critical"), ("10101", "S2 - Major"), ("10102", "S3 - Minor"), ("10103", "S4 - Trivial")];
/// (id, value) of a select option.
type Opt = (&'static str, &'static str);
/// Cascading select: parent options with their children.
const REGIONS: [(&str, &str, [Opt; 2]); 2] = [
    ("10200", "EMEA", [("10201", "Germany"), ("10202", "France")]),
    ("10210", "AMER", [("10211", "USA"), ("10212", "Brazil")]),
];

/// One custom field of the simulated site: its id, display name and Jira schema.
pub struct CustomField {
    pub id: u64,
    pub name: &'static str,
    pub schema_type: &'static str,
    pub items: Option<&'static str>,
    pub custom: &'static str,
}

/// Jira's type key for the built-in custom field types.
macro_rules! builtin {
    ($short:literal) => {
        concat!("com.atlassian.jira.plugin.system.customfieldtypes:", $short)
    };
}

const fn cf(
    id: u64,
    name: &'static str,
    schema_type: &'static str,
    items: Option<&'static str>,
    custom: &'static str,
) -> CustomField {
    CustomField { id, name, schema_type, items, custom }
}

/// Custom fields of every common type, with the ids and type keys Jira Cloud uses.
pub const CUSTOM_FIELDS: [CustomField; 13] = [
    cf(10016, "Story Points", "number", None, builtin!("float")),
    cf(10020, "Sprint", "array", Some("json"), "com.pyxis.greenhopper.jira:gh-sprint"),
    cf(10030, "Team", "string", None, builtin!("textfield")),
    cf(10031, "Review Date", "date", None, builtin!("datepicker")),
    cf(10032, "Approved At", "datetime", None, builtin!("datetime")),
    cf(10033, "Severity", "option", None, builtin!("select")),
    cf(10034, "Release Notes", "string", None, builtin!("textarea")),
    cf(10035, "Affected Areas", "array", Some("option"), builtin!("multiselect")),
    cf(10036, "Reviewer", "user", None, builtin!("userpicker")),
    cf(10037, "Spec URL", "string", None, builtin!("url")),
    cf(10038, "Region", "option-with-child", None, builtin!("cascadingselect")),
    cf(10039, "Watch Team", "array", Some("user"), builtin!("multiuserpicker")),
    cf(10040, "Tags", "array", Some("string"), builtin!("labels")),
];

/// (id, name, Jira schema type, items)
const SYSTEM_FIELDS: [(&str, &str, &str, Option<&str>); 17] = [
    ("summary", "Summary", "string", None),
    ("description", "Description", "string", None),
    ("status", "Status", "status", None),
    ("priority", "Priority", "priority", None),
    ("issuetype", "Issue Type", "issuetype", None),
    ("project", "Project", "project", None),
    ("assignee", "Assignee", "user", None),
    ("reporter", "Reporter", "user", None),
    ("labels", "Labels", "array", Some("string")),
    ("components", "Components", "array", Some("component")),
    ("fixVersions", "Fix versions", "array", Some("version")),
    ("created", "Created", "datetime", None),
    ("updated", "Updated", "datetime", None),
    ("resolutiondate", "Resolved", "datetime", None),
    ("duedate", "Due date", "date", None),
    ("parent", "Parent", "issuelink", None),
    ("comment", "Comment", "comments-page", None),
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

/// Newest histories a search returns per issue with `expand=changelog` (`total` counts all).
const CHANGELOG_PAGE: usize = 100;

const DAY_MS: i64 = 86_400_000;
/// Tags that keep independent attributes of one issue uncorrelated.
mod tag {
    pub const JITTER: u64 = 1;
    pub const AGE: u64 = 2;
    pub const STATUS: u64 = 3;
    pub const PRIORITY: u64 = 4;
    pub const TYPE: u64 = 5;
    pub const ASSIGNEE: u64 = 6;
    pub const REPORTER: u64 = 7;
    pub const LABELS: u64 = 8;
    pub const SUMMARY: u64 = 9;
    pub const CUSTOM: u64 = 10;
    pub const USER: u64 = 11;
    pub const PRESENT: u64 = 12;
    pub const COMMENTS: u64 = 13;
}

/// The generated content of one simulated site.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub config: DatasetConfig,
    base_url: String,
    /// Serve Data Center's field list (REST v2 only) instead of Jira Cloud's.
    pub(crate) data_center: bool,
}

impl Dataset {
    pub fn new(config: DatasetConfig, base_url: impl Into<String>) -> Self {
        Self { config, base_url: base_url.into(), data_center: false }
    }

    /// The same site as Data Center lists it: its `/field` differs a little from Cloud's (no
    /// `statuscategorychangedate`, `statusCategory` or `issuerestriction`; `archiveddate` and
    /// `archivedby` instead).
    pub fn for_data_center(mut self, data_center: bool) -> Self {
        self.data_center = data_center;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn p(&self, tag: u64, i: u64) -> u64 {
        pick(self.config.seed, tag, i)
    }

    /// Issue ids start at 10000 as on a fresh Jira site.
    pub fn issue_id(i: u64) -> u64 {
        10_000 + i
    }

    pub fn index_of_id(&self, id: u64) -> Option<u64> {
        id.checked_sub(10_000).filter(|i| *i < self.config.issues)
    }

    pub fn project_of(&self, i: u64) -> u64 {
        i % self.config.projects
    }

    pub fn project_key(&self, p: u64) -> String {
        match PROJECT_KEYS.get(p as usize) {
            Some(k) => (*k).to_string(),
            None => format!("P{p}"),
        }
    }

    pub fn project_id(p: u64) -> u64 {
        10_000 + p
    }

    pub fn issue_key(&self, i: u64) -> String {
        format!("{}-{}", self.project_key(self.project_of(i)), self.key_num(i))
    }

    /// The number part of issue `i`'s key: issues are spread round-robin over the projects in
    /// creation order, so ids interleave across projects as on a real multi-project site.
    pub fn key_num(&self, i: u64) -> u64 {
        i / self.config.projects.max(1) + 1
    }

    /// Spacing of `updated` between consecutive base issues: the site's issues span one year.
    fn step_ms(&self) -> i64 {
        (365 * DAY_MS / self.config.issues.max(1) as i64).max(2)
    }

    /// `updated` of base issue `i`, strictly increasing in `i`.
    pub fn updated_ms(&self, i: u64) -> i64 {
        let step = self.step_ms();
        let end = self.config.updated_until.timestamp_millis();
        let start = end - step * self.config.issues as i64;
        start + step * i as i64 + (self.p(tag::JITTER, i) % (step as u64 - 1)) as i64
    }

    /// `created` of base issue `i`, strictly increasing in `i` as on Jira, where ids are handed
    /// out in creation order. It spans 1.4 times the year of `updated`, starting 180 days
    /// before it, so early issues are about half a year old when last updated and recent ones a
    /// few weeks (always `created < updated`).
    pub fn created_ms(&self, i: u64) -> i64 {
        let step = self.step_ms() * 7 / 5;
        let end = self.config.updated_until.timestamp_millis();
        let start = end - self.step_ms() * self.config.issues as i64 - 180 * DAY_MS;
        start + step * i as i64 + (self.p(tag::AGE, i) % (step as u64 - 1)) as i64
    }

    /// Renders an instant the way Jira does: user's time zone, millis, offset without colon.
    pub fn format_datetime(&self, ms: i64) -> String {
        let utc = Utc.timestamp_millis_opt(ms).single().expect("in range");
        utc.with_timezone(&self.config.time_zone).format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
    }

    pub fn user_account_id(&self, u: u64) -> String {
        format!("{:012x}{:012x}", 0x5b10_a284_4c20u64 + u, self.p(tag::USER, u) & 0xffff_ffff_ffff)
    }

    pub fn user(&self, u: u64) -> Value {
        let app = u % 25 == 24;
        let first = FIRST[(u % 10) as usize];
        let last = LAST[((u / 10) % 10) as usize];
        let mut user = json!({
            "self": format!("{}/rest/api/3/user?accountId={}", self.base_url, self.user_account_id(u)),
            "accountId": self.user_account_id(u),
            "accountType": if app { "app" } else { "atlassian" },
            "avatarUrls": avatar_urls(&self.base_url, "user", u),
            "displayName": if app { format!("Automation bot {u}") } else { format!("{first} {last} {u}") },
            "active": Self::user_active(u),
            "timeZone": self.config.time_zone.name(),
            "locale": "en_US",
        });
        if !app {
            user["emailAddress"] = json!(format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), u));
        }
        user
    }

    /// Every 10th user is inactive.
    pub fn user_active(u: u64) -> bool {
        u % 10 != 9
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

    /// `GET /rest/api/3/field`: system fields then custom fields.
    pub fn fields(&self) -> Vec<Value> {
        let mut out: Vec<Value> = SYSTEM_FIELDS
            .iter()
            .map(|(id, name, ty, items)| {
                let mut schema = json!({"type": ty, "system": id});
                if let Some(items) = items {
                    schema["items"] = json!(items);
                }
                json!({
                    "id": id, "key": id, "name": name, "custom": false, "orderable": true,
                    // As on Jira: comments are not a navigable (issue navigator) column.
                    "navigable": *id != "comment", "searchable": true, "clauseNames": [id], "schema": schema,
                })
            })
            .collect();
        out.extend(self.extra_system_fields().map(|f| f.definition(self.data_center)));
        out.extend(self.custom_fields().map(|(id, name, f)| {
            let mut schema = json!({"type": f.schema_type, "custom": f.custom, "customId": id});
            if let Some(items) = f.items {
                schema["items"] = json!(items);
            }
            json!({
                "id": format!("customfield_{id}"),
                "key": format!("customfield_{id}"),
                "name": name, "custom": true, "orderable": true, "navigable": true,
                "searchable": true,
                "clauseNames": [format!("cf[{id}]"), name],
                "schema": schema,
            })
        }));
        out
    }

    /// Every field id an issue can carry, in `/field` order.
    pub fn field_ids(&self) -> Vec<String> {
        SYSTEM_FIELDS
            .iter()
            .map(|f| f.0.to_string())
            .chain(self.extra_system_fields().filter(|f| f.on_issues).map(|f| f.id.to_string()))
            .chain(self.custom_fields().map(|(id, _, _)| format!("customfield_{id}")))
            .collect()
    }

    /// The system fields past the first 17 that this site's deployment lists.
    fn extra_system_fields(&self) -> impl Iterator<Item = &'static SystemField> + '_ {
        EXTRA_SYSTEM_FIELDS.iter().filter(|f| f.listed_on(self.data_center))
    }

    /// The built-in custom fields, then the extra ones as `(id, name, type template)`.
    fn custom_fields(&self) -> impl Iterator<Item = (u64, Cow<'static, str>, &'static CustomField)> + '_ {
        let builtin = CUSTOM_FIELDS.iter().map(|f| (f.id, Cow::Borrowed(f.name), f));
        let extra = (0..self.config.extra_custom_fields).map(|n| {
            let t = &CUSTOM_FIELDS[(n % CUSTOM_FIELDS.len() as u64) as usize];
            (10_500 + n, Cow::Owned(format!("{} {}", t.name, n / CUSTOM_FIELDS.len() as u64 + 2)), t)
        });
        builtin.chain(extra)
    }

    pub(crate) fn user_ref(&self, u: u64) -> Value {
        let mut user = self.user(u);
        if let Some(obj) = user.as_object_mut() {
            obj.remove("locale");
        }
        user
    }

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
        let mut proj = self.project(project);
        if let Some(o) = proj.as_object_mut() {
            o.remove("style");
            o.remove("isPrivate");
        }
        f.insert("project".into(), proj);
        // A fifth of the draws land past the user list: those issues are unassigned.
        f.insert("assignee".into(), if assignee < users { self.user_ref(assignee) } else { Value::Null });
        f.insert("reporter".into(), self.user_ref(reporter));
        f.insert("labels".into(), json!(labels));
        f.insert(
            "components".into(),
            if has(1) {
                json!([{"self": format!("{base}/rest/api/3/component/{}", 10_000 + project),
                        "id": (10_000 + project).to_string(), "name": format!("{} core", self.project_key(project))}])
            } else {
                json!([])
            },
        );
        f.insert(
            "fixVersions".into(),
            if has(2) {
                let v = 10_000 + project * 10 + (i % 3);
                json!([{"self": format!("{base}/rest/api/3/version/{v}"), "id": v.to_string(),
                        "name": format!("{}.{}", 1 + i % 3, project), "archived": false,
                        "released": i.is_multiple_of(3), "description": ""}])
            } else {
                json!([])
            },
        );
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
        f.insert("comment".into(), self.comments(i, Some((created, updated))));
        let span = (i < c.issues).then_some((created, updated));
        let cx = IssueContext { i, status: self.status_index(i, version), reporter, span };
        self.insert_system_field_values(&cx, &mut f);
        f
    }

    fn priority_json(&self, i: u64) -> Value {
        let priority = PRIORITIES[(self.p(tag::PRIORITY, i) % 5) as usize];
        let base = &self.base_url;
        json!({
            "self": format!("{base}/rest/api/3/priority/{}", priority.0),
            "iconUrl": format!("{base}/images/icons/priorities/{}.svg", priority.1.to_lowercase()),
            "name": priority.1, "id": priority.0,
        })
    }

    fn issuetype_json(&self, i: u64) -> Value {
        let itype = ISSUE_TYPES[(self.p(tag::TYPE, i) % 4) as usize];
        let base = &self.base_url;
        json!({
            "self": format!("{base}/rest/api/3/issuetype/{}", itype.0),
            "id": itype.0, "description": "", "name": itype.1, "subtask": itype.2,
            "hierarchyLevel": itype.3,
            "iconUrl": format!("{base}/images/icons/issuetypes/{}.svg", itype.1.to_lowercase()),
        })
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

    /// Index into `STATUSES` of issue `i` after `version` edits (one workflow step each).
    pub(crate) fn status_index(&self, i: u64, version: u32) -> usize {
        ((self.p(tag::STATUS, i) + u64::from(version)) % 4) as usize
    }

    fn summary(&self, i: u64, version: u32) -> String {
        let r = self.p(tag::SUMMARY, i);
        let mut summary =
            format!("{} {} ({})", VERBS[(r % 8) as usize], NOUNS[((r >> 8) % 8) as usize], self.issue_key(i));
        if version > 0 {
            summary.push_str(&format!(" [edit {version}]"));
        }
        summary
    }

    fn status_json(&self, idx: usize) -> Value {
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

    /// The `comment` field (`PageOfComments`): none, one or two comments between `created` and
    /// `updated` (`span`), by the issue's index. `None`: no comments (issues created at run time).
    pub(crate) fn comments(&self, i: u64, span: Option<(i64, i64)>) -> Value {
        let base = &self.base_url;
        let id = Self::issue_id(i);
        let r = self.p(tag::COMMENTS, i);
        let n = match (span, r % 6) {
            (None, _) => 0,
            (_, 0..=2) => 0,
            (_, 3 | 4) => 1,
            _ => 2,
        };
        let (created, updated) = span.unwrap_or_default();
        let users = self.config.users.max(1);
        let key = self.issue_key(i);
        let comments: Vec<Value> = (0..n)
            .map(|k| {
                let cid = 10_000 + i * 2 + k;
                let at = self.format_datetime(created + (updated - created) * (k as i64 + 1) / (n as i64 + 1));
                let author = self.user_ref(((r >> 8) + k) % users);
                json!({
                    "self": format!("{base}/rest/api/3/issue/{id}/comment/{cid}"),
                    "id": cid.to_string(),
                    "author": author, "updateAuthor": author,
                    "body": adf(&format!("Comment {} on {}: {}", k + 1, key, NOUNS[((r >> 16) + k) as usize % 8])),
                    "created": at, "updated": at, "jsdPublic": true,
                })
            })
            .collect();
        json!({
            "comments": comments, "self": format!("{base}/rest/api/3/issue/{id}/comment"),
            "maxResults": n, "total": n, "startAt": 0,
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
            let item = |field: &str, from: String, to: String| json!({"field": field, "fieldtype": "jira", "fieldId": field, "fromString": from, "toString": to});
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

    fn format_date(&self, ms: i64) -> String {
        let utc = Utc.timestamp_millis_opt(ms).single().expect("in range");
        utc.with_timezone(&self.config.time_zone).format("%Y-%m-%d").to_string()
    }

    fn custom_value(&self, cf: &CustomField, r: u64, i: u64) -> Value {
        let base = &self.base_url;
        let users = self.config.users.max(1);
        let option = |id: &str, value: &str| json!({"self": format!("{base}/rest/api/3/customFieldOption/{id}"), "value": value, "id": id});
        match cf.id {
            10016 => json!([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 0.5][(r % 7) as usize]),
            10020 => {
                let sprint = 1 + (self.updated_ms(i) / (14 * DAY_MS)) % 500;
                json!([{"id": sprint, "name": format!("Sprint {sprint}"), "state": "closed",
                        "boardId": 1 + self.project_of(i), "goal": ""}])
            }
            10030 => json!(["Platform", "Growth", "Core", "Mobile"][(r % 4) as usize]),
            10031 => json!(self.format_date(self.created_ms(i) + (r % 60) as i64 * DAY_MS)),
            10032 => json!(self.format_datetime(self.updated_ms(i) - (r % 1000) as i64 * 60_000)),
            10033 => {
                let s = SEVERITIES[(r % 4) as usize];
                option(s.0, s.1)
            }
            10034 => adf(&format!("Release note for {}: {}", self.issue_key(i), r % 997)),
            10035 => json!(
                (0..3)
                    .filter(|b| r >> (8 + b) & 1 == 1)
                    .map(|b| option(&(10_300 + b).to_string(), ["API", "UI", "Database"][b as usize]))
                    .collect::<Vec<_>>()
            ),
            10036 => self.user_ref(r % users),
            10037 => json!(format!("https://wiki.example.com/spec/{}", self.issue_key(i))),
            10038 => {
                let (id, value, children) = REGIONS[(r % 2) as usize];
                let child = children[((r >> 4) % 2) as usize];
                let mut v = option(id, value);
                v["child"] = option(child.0, child.1);
                v
            }
            10039 => json!([self.user_ref(r % users), self.user_ref((r >> 16) % users)]),
            _ => json!(["alpha", "beta", "gamma"][..(1 + r % 3) as usize]),
        }
    }
}

impl Dataset {
    /// Cloud id of the site (what `/_edge/tenant_info` and accessible-resources report).
    pub fn cloud_id(&self) -> String {
        let r = pick(self.config.seed, 0xC10D, 0);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            r >> 32,
            (r >> 16) & 0xffff,
            r & 0xfff,
            (r >> 4) & 0xfff,
            r & 0xffff_ffff_ffff
        )
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
                "displayName": format!("{} ({})", project["name"].as_str().unwrap_or_default(), project["key"].as_str().unwrap_or_default()),
                "projectTypeKey": "software", "name": project["name"],
                "avatarURI": format!("{}/secure/projectavatar?size=small&pid={}", self.base_url, Self::project_id(p)),
            },
            "isPrivate": false,
        })
    }
}

/// A v3 value as REST v2 renders it (Cloud v2 and Data Center): every ADF document, however
/// deep (descriptions, textarea fields, comment bodies), becomes wiki markup text, and links into
/// the site's v3 API point at v2.
pub fn to_v2(v: Value, base_url: &str) -> Value {
    let v3 = format!("{base_url}/rest/api/3/");
    fn walk(v: Value, v3: &str) -> Value {
        match v {
            Value::Object(_) if v.get("type").and_then(Value::as_str) == Some("doc") => adf_to_wiki(v),
            Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, walk(v, v3))).collect()),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| walk(v, v3)).collect()),
            Value::String(s) if s.starts_with(v3) => {
                Value::String(format!("{}/rest/api/2/{}", &v3[..v3.len() - "/rest/api/3/".len()], &s[v3.len()..]))
            }
            other => other,
        }
    }
    walk(v, &v3)
}

/// Data Center's v2 API returns rich text as wiki markup strings, not ADF documents.
pub use crate::wiki::adf_to_wiki;

/// Atlassian Document Format with one paragraph, as v3 returns rich text.
pub fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    ]})
}

fn avatar_urls(base: &str, kind: &str, n: u64) -> Value {
    let url = |s: u32| format!("{base}/secure/{kind}avatar?size={s}&id={n}");
    json!({"48x48": url(48), "24x24": url(24), "16x16": url(16), "32x32": url(32)})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(issues: u64) -> Dataset {
        Dataset::new(DatasetConfig { issues, ..Default::default() }, "http://sim")
    }

    #[test]
    fn updated_is_strictly_increasing_in_index() {
        for n in [1, 7, 250, 1_000_000] {
            let d = ds(n);
            let last = n.min(2000);
            for i in 1..last {
                assert!(d.updated_ms(i) > d.updated_ms(i - 1), "n={n} i={i}");
            }
        }
    }

    #[test]
    fn the_same_issue_is_generated_identically() {
        assert_eq!(ds(100).issue_fields(17), ds(100).issue_fields(17));
        assert_ne!(ds(100).issue_fields(17), ds(100).issue_fields(18));
    }

    #[test]
    fn datetimes_use_jira_offset_format() {
        let d = ds(10);
        let s = d.format_datetime(1_700_000_000_000);
        assert_eq!(s, "2023-11-14T17:13:20.000-0500");
    }

    #[test]
    fn every_field_listed_in_field_endpoint_is_on_issues() {
        let d = ds(50);
        let fields = d.issue_fields(5);
        for id in d.field_ids() {
            if id != "parent" {
                assert!(fields.contains_key(&id), "{id}");
            }
        }
    }
}
