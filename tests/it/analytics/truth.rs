//! What each dbt model should hold, computed from the simulator's own data (its issues,
//! histories, comments, worklogs, links, sprints and statuses), with none of jirapipe's
//! tables or code: status stays and field values are rebuilt here from the raw changelog.
//! Instants are epoch milliseconds, dates ISO strings, as `tests/dbt_models.py` prints them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use jira_sim::RunningSim;
use serde_json::{Map, Value, json};

const DAY_MS: i64 = 86_400_000;

/// The fields issue_daily_history follows by default on this site.
pub const DAILY_FIELDS: [&str; 5] = ["status", "assignee", "priority", "customfield_10020", "customfield_10016"];
const SPRINT_FIELD: &str = "customfield_10020";

/// An instant as Jira or the agile API writes it.
pub fn ms(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.timestamp_millis())
}

fn day_of(ms: i64) -> NaiveDate {
    Utc.timestamp_millis_opt(ms).unwrap().date_naive()
}

fn start_of(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis()
}

fn seconds(from: i64, to: i64) -> f64 {
    (to - from) as f64 / 1000.0
}

/// One stay of an issue in a status.
#[derive(Debug, Clone)]
struct Stay {
    status_id: String,
    category: String,
    entered: i64,
    left: Option<i64>,
}

/// One value a field held: [from, to).
#[derive(Debug, Clone)]
struct Held {
    from: i64,
    to: Option<i64>,
    value_id: Value,
    value: Value,
    field_name: String,
}

struct Issue {
    id: String,
    key: String,
    fields: Map<String, Value>,
    created: i64,
    stays: Vec<Stay>,
    /// Field id → the values it held, for fields the changelog changed.
    held: BTreeMap<String, Vec<Held>>,
    comments: usize,
    worklogs: Vec<Value>,
    links: usize,
}

pub struct Truth {
    as_of: i64,
    issues: Vec<Issue>,
    sprints: Vec<Value>,
    status_names: HashMap<String, String>,
}

/// Each change of `field_id` in `histories`, oldest first: (when, item).
fn changes<'h>(histories: &'h [Value], field_id: &str) -> Vec<(i64, &'h Value)> {
    let mut out: Vec<(i64, &Value)> = histories
        .iter()
        .flat_map(|h| {
            let at = ms(&h["created"]).unwrap();
            h["items"].as_array().into_iter().flatten().filter(move |i| i["fieldId"] == field_id).map(move |i| (at, i))
        })
        .collect();
    out.sort_by_key(|(at, _)| *at);
    out
}

/// A changelog value (`from`, `to`) as the table keeps it: absent is null.
fn item_value(item: &Value, key: &str) -> Value {
    item.get(key).cloned().unwrap_or(Value::Null)
}

impl Truth {
    pub fn read(sim: &RunningSim, as_of: i64) -> Self {
        let statuses = sim.dataset().listed_statuses(false);
        let category: HashMap<String, String> = statuses
            .iter()
            .map(|s| (s["id"].as_str().unwrap().to_string(), s["statusCategory"]["key"].as_str().unwrap().to_string()))
            .collect();
        let status_names = statuses
            .iter()
            .map(|s| (s["id"].as_str().unwrap().to_string(), s["name"].as_str().unwrap().to_string()))
            .collect();
        let issues = sim
            .visible_issues()
            .into_iter()
            .map(|(id, key, _)| {
                let fields = sim.issue_fields(id).unwrap();
                let histories = sim.histories(id);
                let created = ms(&fields["created"]).unwrap();
                let status_changes = changes(&histories, "status");
                let first = status_changes.first().map_or(fields["status"]["id"].clone(), |(_, i)| i["from"].clone());
                let mut stays = Vec::new();
                let (mut status, mut since) = (first.as_str().unwrap().to_string(), created);
                for (at, item) in &status_changes {
                    stays.push(Stay {
                        category: category[&status].clone(),
                        status_id: status,
                        entered: since,
                        left: Some(*at),
                    });
                    (status, since) = (item["to"].as_str().unwrap().to_string(), *at);
                }
                stays.push(Stay { category: category[&status].clone(), status_id: status, entered: since, left: None });
                let mut held = BTreeMap::new();
                for field in DAILY_FIELDS {
                    let c = changes(&histories, field);
                    let Some((_, first)) = c.first() else { continue };
                    let name = first["field"].as_str().unwrap().to_string();
                    let mut values = vec![Held {
                        from: created,
                        to: None,
                        value_id: item_value(first, "from"),
                        value: item_value(first, "fromString"),
                        field_name: name.clone(),
                    }];
                    for (at, item) in &c {
                        values.last_mut().unwrap().to = Some(*at);
                        values.push(Held {
                            from: *at,
                            to: None,
                            value_id: item_value(item, "to"),
                            value: item_value(item, "toString"),
                            field_name: name.clone(),
                        });
                    }
                    held.insert(field.to_string(), values);
                }
                Issue {
                    id: id.to_string(),
                    key,
                    created,
                    stays,
                    held,
                    comments: sim.comments(id).len(),
                    worklogs: sim.worklogs(id),
                    links: sim.links(id).len(),
                    fields,
                }
            })
            .collect();
        Truth { as_of, issues, sprints: sim.sprints(), status_names }
    }

    /// Seconds of a stay, its end clipped to `as_of`.
    fn stay_seconds(&self, s: &Stay) -> f64 {
        let until = s.left.map_or(self.as_of, |l| l.min(self.as_of));
        seconds(s.entered, until)
    }

    /// The stay in force just before `t`.
    fn stay_before(issue: &Issue, t: i64) -> Option<&Stay> {
        issue.stays.iter().find(|s| s.entered < t && s.left.is_none_or(|l| l >= t))
    }

    pub fn issue_enhanced(&self) -> Vec<Value> {
        self.issues
            .iter()
            .map(|i| {
                let f = &i.fields;
                let in_category =
                    |c: &str| -> f64 { i.stays.iter().filter(|s| s.category == c).map(|s| self.stay_seconds(s)).sum() };
                let sprint = f[SPRINT_FIELD].as_array().and_then(|a| a.last()).cloned().unwrap_or(Value::Null);
                let worklog_seconds: i64 = i.worklogs.iter().map(|w| w["timeSpentSeconds"].as_i64().unwrap()).sum();
                let user = |u: &Value, k: &str| u.get(k).cloned().unwrap_or(Value::Null);
                json!({
                    "issue_id": i.id, "issue_key": i.key, "summary": f["summary"],
                    "project_id": f["project"]["id"], "project_key": f["project"]["key"],
                    "issue_type_id": f["issuetype"]["id"], "issue_type": f["issuetype"]["name"],
                    "is_subtask": f["issuetype"]["subtask"],
                    "status_id": f["status"]["id"], "status": f["status"]["name"],
                    "status_category_key": f["status"]["statusCategory"]["key"],
                    "priority": f["priority"]["name"],
                    "assignee_id": user(&f["assignee"], "accountId"),
                    "assignee_name": user(&f["assignee"], "displayName"),
                    "reporter_id": user(&f["reporter"], "accountId"),
                    "reporter_name": user(&f["reporter"], "displayName"),
                    "parent_id": f.get("parent").map_or(Value::Null, |p| p["id"].clone()),
                    "parent_key": f.get("parent").map_or(Value::Null, |p| p["key"].clone()),
                    "sprint_id": if sprint.is_null() { Value::Null } else { json!(sprint["id"].to_string()) },
                    "sprint_name": sprint.get("name").cloned().unwrap_or(Value::Null),
                    "story_points": f[ "customfield_10016"],
                    "created_at": i.created, "updated_at": ms(&f["updated"]),
                    "resolved_at": ms(&f["resolutiondate"]),
                    "seconds_in_to_do": in_category("new"),
                    "seconds_in_progress": in_category("indeterminate"),
                    "seconds_in_done": in_category("done"),
                    "comment_count": i.comments, "worklog_count": i.worklogs.len(),
                    "worklog_seconds": worklog_seconds, "link_count": i.links,
                })
            })
            .collect()
    }

    pub fn issue_status_time(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for i in &self.issues {
            let mut by_status: BTreeMap<&str, Vec<&Stay>> = BTreeMap::new();
            for s in &i.stays {
                by_status.entry(&s.status_id).or_default().push(s);
            }
            for (status, stays) in by_status {
                out.push(json!({
                    "issue_id": i.id, "status_id": status, "status_name": self.status_names[status],
                    "status_category_key": stays[0].category, "stays": stays.len(),
                    "seconds_in_status": stays.iter().map(|s| self.stay_seconds(s)).sum::<f64>(),
                    "first_entered_at": stays.iter().map(|s| s.entered).min(),
                    "is_current": stays.iter().any(|s| s.left.is_none_or(|l| l > self.as_of)),
                }));
            }
        }
        out
    }

    pub fn issue_cycle_time(&self) -> Vec<Value> {
        self.issues
            .iter()
            .map(|i| {
                let first = |c: &str| i.stays.iter().filter(|s| s.category == c).map(|s| s.entered).min();
                let (progress, done) = (first("indeterminate"), first("done"));
                let done_after = progress.and_then(|p| {
                    i.stays.iter().filter(|s| s.category == "done" && s.entered >= p).map(|s| s.entered).min()
                });
                let reopens = i.stays.windows(2).filter(|w| w[0].category == "done" && w[1].category != "done").count();
                json!({
                    "issue_id": i.id, "issue_key": i.key, "project_key": i.fields["project"]["key"],
                    "issue_type": i.fields["issuetype"]["name"], "created_at": i.created,
                    "first_in_progress_at": progress, "first_done_at": done, "done_after_progress_at": done_after,
                    "cycle_time_seconds": done_after.map(|d| seconds(progress.unwrap(), d)),
                    "lead_time_seconds": done.map(|d| seconds(i.created, d)),
                    "reopen_count": reopens,
                })
            })
            .collect()
    }

    pub fn issue_daily_history(&self) -> Vec<Value> {
        let last = day_of(self.as_of);
        let mut out = Vec::new();
        for i in &self.issues {
            for (field, values) in &i.held {
                let mut day = day_of(values[0].from);
                while day <= last {
                    let end = (start_of(day) + DAY_MS).min(self.as_of);
                    let v = values.iter().find(|v| v.from < end && v.to.is_none_or(|t| t >= end)).unwrap();
                    out.push(json!({
                        "issue_id": i.id, "field_id": field, "field_name": v.field_name,
                        "date_day": day.to_string(), "value_id": v.value_id, "value": v.value,
                    }));
                    day += Duration::days(1);
                }
            }
        }
        out
    }

    /// When issue `i` was in each sprint: [from, to) per sprint id.
    fn memberships(i: &Issue) -> Vec<(String, i64, Option<i64>)> {
        match i.held.get(SPRINT_FIELD) {
            Some(values) => values
                .iter()
                .flat_map(|v| {
                    let ids: Vec<String> = v
                        .value_id
                        .as_str()
                        .unwrap_or_default()
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    ids.into_iter().map(move |id| (id, v.from, v.to))
                })
                .collect(),
            None => i.fields[SPRINT_FIELD]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| (s["id"].to_string(), i.created, None))
                .collect(),
        }
    }

    pub fn sprint_report(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for s in &self.sprints {
            let Some(start) = ms(&s["startDate"]).filter(|t| *t <= self.as_of) else { continue };
            let end = match (ms(&s["completeDate"]), s["state"].as_str()) {
                (Some(c), _) => c,
                (None, Some("closed")) => ms(&s["endDate"]).unwrap(),
                _ => self.as_of,
            };
            let id = s["id"].to_string();
            let mut counts = [(0usize, 0f64); 5];
            for i in &self.issues {
                let m: Vec<(i64, Option<i64>)> =
                    Self::memberships(i).into_iter().filter(|(sid, _, _)| *sid == id).map(|(_, f, t)| (f, t)).collect();
                if m.is_empty() {
                    continue;
                }
                let at_start = m.iter().any(|(f, t)| *f <= start && t.is_none_or(|t| t > start));
                let at_end = m.iter().any(|(f, t)| *f < end && t.is_none_or(|t| t >= end));
                let during = m.iter().any(|(f, t)| *f < end && t.is_none_or(|t| t > start));
                let done = Self::stay_before(i, end).is_some_and(|st| st.category == "done");
                let points = i.fields["customfield_10016"].as_f64().unwrap_or(0.0);
                for (k, yes) in [at_start, during && !at_start, during && !at_end, at_end && done, at_end && !done]
                    .into_iter()
                    .enumerate()
                {
                    if yes {
                        counts[k].0 += 1;
                        counts[k].1 += points;
                    }
                }
            }
            let [committed, added, removed, completed, carried] = counts;
            out.push(json!({
                "sprint_id": id, "sprint_name": s["name"], "state": s["state"],
                "board_id": s["originBoardId"].to_string(), "start_date": start, "end_date": ms(&s["endDate"]),
                "complete_date": ms(&s["completeDate"]), "report_end_at": end,
                "committed_issues": committed.0, "committed_points": committed.1,
                "added_issues": added.0, "added_points": added.1,
                "removed_issues": removed.0, "removed_points": removed.1,
                "completed_issues": completed.0, "completed_points": completed.1,
                "carried_over_issues": carried.0, "carried_over_points": carried.1,
            }));
        }
        out
    }

    pub fn worklog_daily(&self) -> Vec<Value> {
        let mut by: BTreeMap<(String, String, String), (String, usize, i64)> = BTreeMap::new();
        for i in &self.issues {
            for w in &i.worklogs {
                let author = w["author"]["accountId"].as_str().unwrap().to_string();
                let day = day_of(ms(&w["started"]).unwrap()).to_string();
                let e = by.entry((author, i.id.clone(), day)).or_insert((String::new(), 0, 0));
                e.0 = w["author"]["displayName"].as_str().unwrap().to_string();
                e.1 += 1;
                e.2 += w["timeSpentSeconds"].as_i64().unwrap();
            }
        }
        by.into_iter()
            .map(|((author, issue, day), (name, n, secs))| {
                json!({"author_id": author, "author_name": name, "issue_id": issue, "work_date": day,
                       "worklogs": n, "time_spent_seconds": secs})
            })
            .collect()
    }

    pub fn project_health(&self) -> Vec<Value> {
        let monday = |d: NaiveDate| d - Duration::days(d.weekday().num_days_from_monday() as i64);
        let last_week = monday(day_of(self.as_of));
        let mut projects: BTreeMap<String, Vec<&Issue>> = BTreeMap::new();
        for i in &self.issues {
            projects.entry(i.fields["project"]["id"].as_str().unwrap().to_string()).or_default().push(i);
        }
        let mut out = Vec::new();
        for (project, issues) in projects {
            let mut week = monday(day_of(issues.iter().map(|i| i.created).min().unwrap()));
            while week <= last_week {
                let from = start_of(week);
                let to = (from + 7 * DAY_MS).min(self.as_of);
                let created = issues.iter().filter(|i| i.created >= from && i.created < to).count();
                let resolved = issues
                    .iter()
                    .filter(|i| i.stays.iter().any(|s| s.category == "done" && s.entered >= from && s.entered < to))
                    .count();
                let mut ages: Vec<f64> = issues
                    .iter()
                    .filter(|i| Self::stay_before(i, to).is_some_and(|s| s.category != "done"))
                    .map(|i| seconds(i.created, to) / 86_400.0)
                    .collect();
                ages.sort_by(f64::total_cmp);
                let median = match ages.len() {
                    0 => None,
                    n if n % 2 == 1 => Some(ages[n / 2]),
                    n => Some((ages[n / 2 - 1] + ages[n / 2]) / 2.0),
                };
                out.push(json!({
                    "project_id": project, "project_key": issues[0].fields["project"]["key"],
                    "week_start": week.to_string(), "week_end_at": to,
                    "created_issues": created, "resolved_issues": resolved, "open_issues": ages.len(),
                    "median_open_age_days": median,
                }));
                week += Duration::days(7);
            }
        }
        out
    }
}
