//! Sprints, versions and components: the planning objects issues point at (the Sprint field,
//! `fixVersions`/`versions`, `components`). Issues and the agile and project endpoints both
//! build them here, so every reference names an object the endpoints serve, with the same id
//! and name.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::issues::NOUNS;
use super::{DAY_MS, Dataset, tag};

/// Sprints last two weeks, back to back.
const SPRINT_MS: i64 = 14 * DAY_MS;
/// Versions a generated project has: three that issues use, and an archived one no issue does.
pub const BASE_VERSIONS: u64 = 4;
/// Components a generated project has: `{KEY} core` (on issues) and `{KEY} docs` (on none).
pub const COMPONENTS: u64 = 2;

impl Dataset {
    /// The boards sprints start on: scrum boards whose filter the API user can read.
    fn sprint_boards(&self) -> Vec<u64> {
        (0..self.config.boards).filter(|b| self.board_is_scrum(*b) && Self::board_filter_shared(*b)).collect()
    }

    pub(crate) fn board_is_scrum(&self, b: u64) -> bool {
        b.is_multiple_of(2)
    }

    /// The two-week window issue `i` was last worked in (issues created at run time: the last).
    fn sprint_window(&self, i: u64) -> i64 {
        let last = self.config.issues.saturating_sub(1);
        self.updated_ms(i.min(last)).div_euclid(SPRINT_MS)
    }

    fn sprint_id(w: i64) -> u64 {
        1 + w.rem_euclid(500) as u64
    }

    /// The scrum board sprint window `w` belongs to, `None` when the site has none.
    fn sprint_origin(&self, w: i64) -> Option<u64> {
        let boards = self.sprint_boards();
        (!boards.is_empty()).then(|| boards[w.rem_euclid(boards.len() as i64) as usize])
    }

    fn sprint_state(&self, w: i64) -> &'static str {
        if w == self.sprint_window(u64::MAX) { "active" } else { "closed" }
    }

    /// Every other goal has a comma and an `=` in it, as real goals do, so that readers of Data
    /// Center's sprint strings (which do not escape them) meet them.
    fn sprint_goal(w: i64) -> String {
        let noun = NOUNS[w.rem_euclid(NOUNS.len() as i64) as usize];
        if w % 2 == 0 { format!("Finish the {noun}") } else { format!("Finish the {noun}, then ship=done") }
    }

    /// Agile datetimes: ISO 8601 with milliseconds and a colon in the offset, in the user's zone.
    fn agile_datetime(&self, ms: i64) -> String {
        let utc = Utc.timestamp_millis_opt(ms).single().expect("in range");
        utc.with_timezone(&self.config.time_zone).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
    }

    /// The Sprint field's value on issue `i` (as Jira Cloud renders `gh-sprint`), `None` when
    /// the site has no scrum board to plan on.
    pub(crate) fn issue_sprint(&self, i: u64) -> Option<Value> {
        let w = self.sprint_window(i);
        let board = self.sprint_origin(w)?;
        let mut s = json!({
            "id": Self::sprint_id(w), "name": format!("Sprint {}", Self::sprint_id(w)), "state": self.sprint_state(w),
            "boardId": Self::board_id(board), "goal": Self::sprint_goal(w),
            "startDate": self.agile_datetime(w * SPRINT_MS), "endDate": self.agile_datetime((w + 1) * SPRINT_MS),
        });
        if self.sprint_state(w) == "closed" {
            s["completeDate"] = json!(self.agile_datetime((w + 1) * SPRINT_MS));
        }
        Some(json!([s]))
    }

    /// The sprint issue `i` was first planned into and then moved out of while that sprint ran,
    /// with the window it ran in ([start, end) in epoch ms): one in five sprint issues, from
    /// the sprint before its own. Without these, no sprint ever loses an issue, and a sprint
    /// report's "removed" would be checked against nothing.
    pub(crate) fn sprint_moved_from(&self, i: u64) -> Option<(Value, i64, i64)> {
        let w = self.sprint_window(i);
        let previous = w - 1;
        if i >= self.config.issues || previous < self.sprint_window(0) || !self.p(tag::SPRINT_MOVE, i).is_multiple_of(5)
        {
            return None;
        }
        self.sprint_origin(previous)?;
        Some((self.sprint(previous, self.data_center), previous * SPRINT_MS, w * SPRINT_MS))
    }

    /// A sprint of the Sprint field as Jira Software on Data Center writes it: the `toString()`
    /// of its Java object, in the layout of the newest recorded strings (lhh/jirate's fixtures
    /// from issues.redhat.com, 2024: `id` first, `activatedDate`, `goal` after `sequence`, then
    /// `synced`, `autoStartStop`, `incompleteIssuesDestinationId`), dates in UTC, nulls as
    /// `<null>`, upper-case states, names and goals unescaped.
    pub(crate) fn sprint_string(&self, sprint: &Value) -> String {
        let utc = |k: &str| match sprint[k].as_str().and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok()) {
            Some(d) => d.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            None => "<null>".to_string(),
        };
        let id = sprint["id"].as_u64().unwrap_or_default();
        let hash = crate::rng::pick(self.config.seed, 0x5F1A, id) & 0xfff_ffff;
        let state = sprint["state"].as_str().unwrap_or_default().to_ascii_uppercase();
        let name = sprint["name"].as_str().unwrap_or_default();
        let goal = sprint["goal"].as_str().unwrap_or("<null>");
        format!(
            "com.atlassian.greenhopper.service.sprint.Sprint@{hash:x}[id={id},rapidViewId={},state={state},name={name},\
             startDate={},endDate={},completeDate={},activatedDate={},sequence={id},goal={goal},synced=false,\
             autoStartStop=false,incompleteIssuesDestinationId=<null>]",
            sprint["boardId"],
            utc("startDate"),
            utc("endDate"),
            utc("completeDate"),
            utc("startDate"),
        )
    }

    /// Sprint window `w` as the agile API returns it (`SprintBean`). Data Center leaves out
    /// `createdDate`.
    fn sprint(&self, w: i64, data_center: bool) -> Value {
        let id = Self::sprint_id(w);
        let board = self.sprint_origin(w).unwrap_or(0);
        let mut s = json!({
            "id": id, "self": format!("{}/rest/agile/1.0/sprint/{id}", self.base_url), "state": self.sprint_state(w),
            "name": format!("Sprint {id}"), "startDate": self.agile_datetime(w * SPRINT_MS),
            "endDate": self.agile_datetime((w + 1) * SPRINT_MS), "originBoardId": Self::board_id(board),
            "goal": Self::sprint_goal(w),
        });
        if self.sprint_state(w) == "closed" {
            s["completeDate"] = json!(self.agile_datetime((w + 1) * SPRINT_MS));
        }
        if !data_center {
            s["createdDate"] = json!(self.agile_datetime(w * SPRINT_MS - 3 * DAY_MS));
        }
        s
    }

    /// Board `b`'s next sprint: planned, empty, without dates (Cloud records when it was made).
    fn future_sprint(&self, b: u64, data_center: bool) -> Value {
        let id = 1000 + Self::board_id(b);
        let mut s = json!({
            "id": id, "self": format!("{}/rest/agile/1.0/sprint/{id}", self.base_url), "state": "future",
            "name": format!("Board {} next sprint", Self::board_id(b)), "originBoardId": Self::board_id(b),
            "goal": "Plan the next release",
        });
        if !data_center {
            let last = self.sprint_window(u64::MAX);
            s["createdDate"] = json!(self.agile_datetime(last * SPRINT_MS + DAY_MS));
        }
        s
    }

    /// What `GET /board/{id}/sprint` lists for board `b`, closed, then active, then future
    /// (the spec's order); `None` for a kanban board. A scrum board lists its own sprints, and
    /// every odd-numbered sprint of the previous scrum board too (its filter matches that
    /// sprint's issues), so those are listed twice across the site.
    pub fn board_sprints(&self, b: u64, data_center: bool) -> Option<Vec<Value>> {
        if !self.board_is_scrum(b) {
            return None;
        }
        let boards = self.sprint_boards();
        let previous = boards.iter().position(|x| *x == b).filter(|_| boards.len() > 1).map(|k| {
            let n = boards.len();
            boards[(k + n - 1) % n]
        });
        let (first, last) = (self.sprint_window(0), self.sprint_window(u64::MAX));
        let mut listed: Vec<Value> = (first..=last)
            .filter(|w| {
                let origin = self.sprint_origin(*w);
                origin == Some(b) || (origin == previous && previous.is_some() && Self::sprint_id(*w) % 2 == 1)
            })
            .map(|w| self.sprint(w, data_center))
            .collect();
        listed.sort_by_key(|s| (s["state"] != "closed", s["state"] == "future"));
        if boards.contains(&b) {
            listed.push(self.future_sprint(b, data_center));
        }
        Some(listed)
    }

    /// Every sprint of the site, each once, by id: the truth for a sprints table.
    pub fn sprints(&self, data_center: bool) -> Vec<Value> {
        let (first, last) = (self.sprint_window(0), self.sprint_window(u64::MAX));
        let mut all: Vec<Value> = if self.sprint_boards().is_empty() {
            Vec::new()
        } else {
            (first..=last).map(|w| self.sprint(w, data_center)).collect()
        };
        all.extend(self.sprint_boards().into_iter().map(|b| self.future_sprint(b, data_center)));
        all.sort_by_key(|s| s["id"].as_u64());
        all
    }

    pub(crate) fn version_id(p: u64, k: u64) -> u64 {
        10_000 + p * 10 + k
    }

    /// Version `k` of project `p` as `GET /project/{p}/version` returns it: `1.p` released,
    /// `2.p` overdue, `3.p` without dates, and `0.p` archived (no issue uses it).
    pub fn version(&self, p: u64, k: u64) -> Value {
        let id = Self::version_id(p, k);
        let end = self.config.updated_until.timestamp_millis();
        let (name, description, archived, released, dates) = match k {
            0 => (format!("1.{p}"), "", false, true, Some((end - 120 * DAY_MS, end - 90 * DAY_MS))),
            1 => (format!("2.{p}"), "", false, false, Some((end - 60 * DAY_MS, end - 10 * DAY_MS))),
            2 => (format!("3.{p}"), "", false, false, None),
            _ => (format!("0.{p}"), "Retired release", true, true, Some((end - 400 * DAY_MS, end - 380 * DAY_MS))),
        };
        let mut v = json!({
            "self": format!("{}/rest/api/3/version/{id}", self.base_url), "id": id.to_string(),
            "description": description, "name": name, "archived": archived, "released": released,
            "projectId": Self::project_id(p),
        });
        if let Some((start, release)) = dates {
            let user = |ms: i64| {
                let utc = Utc.timestamp_millis_opt(ms).single().expect("in range");
                utc.with_timezone(&self.config.time_zone).format("%-d/%b/%Y").to_string()
            };
            v["startDate"] = json!(self.format_date(start));
            v["releaseDate"] = json!(self.format_date(release));
            // Jira computes `overdue` only for versions with a release date.
            v["overdue"] = json!(!released && release < end);
            v["userStartDate"] = json!(user(start));
            v["userReleaseDate"] = json!(user(release));
        }
        v
    }

    /// A version as issues embed it in `fixVersions`/`versions` (no project or user dates).
    pub(crate) fn version_ref(&self, p: u64, k: u64) -> Value {
        let mut v = self.version(p, k);
        if let Some(o) = v.as_object_mut() {
            for key in ["projectId", "userStartDate", "userReleaseDate", "overdue", "startDate"] {
                o.remove(key);
            }
        }
        v
    }

    pub(crate) fn component_id(p: u64, k: u64) -> u64 {
        10_000 + p + 100 * k
    }

    /// Component `k` of project `p` as issues embed it.
    pub(crate) fn component_ref(&self, p: u64, k: u64) -> Value {
        let id = Self::component_id(p, k);
        let name = if k == 0 { "core" } else { "docs" };
        json!({"self": format!("{}/rest/api/3/component/{id}", self.base_url), "id": id.to_string(),
               "name": format!("{} {name}", self.project_key(p))})
    }

    /// Component `k` of project `p` as the project's component list returns it (no count): the
    /// core one led by a user, the docs one without lead, assigned to the project's default.
    pub fn component(&self, p: u64, k: u64) -> Value {
        let mut c = self.component_ref(p, k);
        c["description"] = json!(if k == 0 { "The core services" } else { "User documentation" });
        if k == 0 {
            let lead = self.user_ref((p + 3) % self.config.users.max(1));
            c["lead"] = lead.clone();
            c["assigneeType"] = json!("COMPONENT_LEAD");
            c["assignee"] = lead.clone();
            c["realAssigneeType"] = json!("COMPONENT_LEAD");
            c["realAssignee"] = lead;
        } else {
            c["assigneeType"] = json!("PROJECT_DEFAULT");
            c["realAssigneeType"] = json!("PROJECT_DEFAULT");
        }
        c["isAssigneeTypeValid"] = json!(k == 0);
        c["project"] = json!(self.project_key(p));
        c["projectId"] = json!(Self::project_id(p));
        c
    }

    /// Whether issue `i` is in its project's core component.
    pub(crate) fn has_component(&self, i: u64) -> bool {
        self.p(tag::PRESENT, i) >> 1 & 1 == 1
    }
}
