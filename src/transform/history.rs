//! How work moved, rebuilt from an issue's changelog: each stay in a status, and each value a
//! field held (SCD type 2). Pure functions of the histories, so the same input always gives
//! the same rows, and a test can check them against durations worked out by hand.

use serde_json::Value;

use super::columns::parse_jira_instant;

/// One item of a history, the parts the rebuilds need.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Epoch microseconds.
    pub at: i64,
    pub history_id: String,
    pub field_id: String,
    pub field: String,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

/// The changes in `histories` (Jira's `Changelog` objects), oldest first; items of one history
/// keep their order. A history whose `created` cannot be read (in any of Jira's forms: text or
/// epoch numbers) is an error naming it: left out, it would silently shorten every stay and
/// version rebuilt from the rest.
pub fn changes(histories: &[Value]) -> Result<Vec<Change>, String> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let mut out: Vec<Change> = Vec::new();
    for h in histories {
        let Some(at) = parse_jira_instant(&h["created"]) else {
            let id = h["id"].as_str().unwrap_or("?");
            let raw: String = h["created"].to_string().chars().take(60).collect();
            return Err(format!("history {id} has no readable `created` (got {raw})"));
        };
        out.extend(h["items"].as_array().into_iter().flatten().map(|i| Change {
            at,
            history_id: h["id"].as_str().unwrap_or_default().to_string(),
            field_id: text(&i["fieldId"]).unwrap_or_else(|| text(&i["field"]).unwrap_or_default()),
            field: text(&i["field"]).unwrap_or_default(),
            from: text(&i["from"]),
            from_string: text(&i["fromString"]),
            to: text(&i["to"]),
            to_string: text(&i["toString"]),
        }));
    }
    // Stable: items of one history (same instant) keep their order.
    out.sort_by_key(|c| c.at);
    Ok(out)
}

/// One stay of an issue in a status.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub status_id: Option<String>,
    pub status_name: Option<String>,
    /// Epoch microseconds.
    pub entered_at: i64,
    /// `None` while the issue is still in it.
    pub left_at: Option<i64>,
}

/// Each stay in a status, from `created` (epoch µs) on: the status before the first status
/// change is that change's `from`; without any change, the issue has been in `current` since it
/// was created.
pub fn status_intervals(created: i64, current: (Option<String>, Option<String>), changes: &[Change]) -> Vec<Interval> {
    let moves: Vec<&Change> = changes.iter().filter(|c| c.field_id == "status").collect();
    let Some(first) = moves.first() else {
        return vec![Interval { status_id: current.0, status_name: current.1, entered_at: created, left_at: None }];
    };
    let mut out = vec![Interval {
        status_id: first.from.clone(),
        status_name: first.from_string.clone(),
        entered_at: created,
        left_at: None,
    }];
    for m in moves {
        if let Some(last) = out.last_mut() {
            last.left_at = Some(m.at);
        }
        out.push(Interval {
            status_id: m.to.clone(),
            status_name: m.to_string.clone(),
            entered_at: m.at,
            left_at: None,
        });
    }
    out
}

/// One value a field held.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub field_id: String,
    pub field: String,
    /// The value's id (`from`/`to`: an account id, an option id) and its text.
    pub value_id: Option<String>,
    pub value: Option<String>,
    pub valid_from: i64,
    /// `None` while current.
    pub valid_to: Option<i64>,
    /// The history that set it; `None` for the value it had when the issue was created.
    pub history_id: Option<String>,
}

/// Each value of each field the changelog mentions, from `created` on: the value before a
/// field's first change is that change's `from`, held since the issue was created.
pub fn field_versions(created: i64, changes: &[Change]) -> Vec<Version> {
    let mut out: Vec<Version> = Vec::new();
    let mut fields: Vec<&str> = Vec::new();
    for c in changes {
        if !fields.contains(&c.field_id.as_str()) {
            fields.push(&c.field_id);
        }
    }
    for field in fields {
        let mut versions: Vec<Version> = Vec::new();
        for c in changes.iter().filter(|c| c.field_id == field) {
            match versions.last_mut() {
                Some(last) => last.valid_to = Some(c.at),
                None => versions.push(Version {
                    field_id: c.field_id.clone(),
                    field: c.field.clone(),
                    value_id: c.from.clone(),
                    value: c.from_string.clone(),
                    valid_from: created,
                    valid_to: Some(c.at),
                    history_id: None,
                }),
            }
            versions.push(Version {
                field_id: c.field_id.clone(),
                field: c.field.clone(),
                value_id: c.to.clone(),
                value: c.to_string.clone(),
                valid_from: c.at,
                valid_to: None,
                history_id: Some(c.history_id.clone()),
            });
        }
        out.extend(versions);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::columns::parse_jira_datetime;
    use serde_json::json;

    /// One issue created at 08:00 UTC on 1 March and moved five times, worked out by hand.
    #[test]
    fn five_transitions_give_the_durations_worked_out_by_hand() {
        let h = |id: &str, at: &str, from: (&str, &str), to: (&str, &str)| {
            json!({"id": id, "created": at, "items": [{
                "field": "status", "fieldId": "status", "fieldtype": "jira",
                "from": from.0, "fromString": from.1, "to": to.0, "toString": to.1,
            }]})
        };
        let (todo, doing, review, done) = (("1", "To Do"), ("3", "In Progress"), ("4", "In Review"), ("5", "Done"));
        // Newest first, as search's expansion lists them; one in another offset (09:00 UTC).
        let histories = vec![
            h("105", "2024-03-04T09:00:00.000+0000", review, done),
            h("104", "2024-03-02T15:30:00.000+0000", doing, review),
            h("103", "2024-03-02T09:00:00.000+0000", review, doing),
            h("102", "2024-03-01T17:00:00.000+0000", doing, review),
            h("101", "2024-03-01T10:00:00.000+0100", todo, doing),
        ];
        let created = parse_jira_datetime("2024-03-01T08:00:00.000+0000").unwrap();
        let intervals = status_intervals(created, (None, None), &changes(&histories).unwrap());
        let hours = |i: &Interval| i.left_at.map(|l| (l - i.entered_at) as f64 / 3_600_000_000.0);
        let got: Vec<(&str, Option<f64>)> =
            intervals.iter().map(|i| (i.status_name.as_deref().unwrap(), hours(i))).collect();
        assert_eq!(
            got,
            [
                ("To Do", Some(1.0)),       // 08:00 → 09:00 on the 1st
                ("In Progress", Some(8.0)), // 09:00 → 17:00
                ("In Review", Some(16.0)),  // 17:00 → 09:00 on the 2nd
                ("In Progress", Some(6.5)), // 09:00 → 15:30
                ("In Review", Some(41.5)),  // 15:30 on the 2nd → 09:00 on the 4th
                ("Done", None),             // still there
            ]
        );
        assert_eq!(intervals[0].status_id.as_deref(), Some("1"));
    }

    #[test]
    fn an_issue_never_moved_has_been_in_its_status_since_created() {
        let i = status_intervals(5, (Some("1".into()), Some("To Do".into())), &[]);
        assert_eq!(
            i,
            [Interval { status_id: Some("1".into()), status_name: Some("To Do".into()), entered_at: 5, left_at: None }]
        );
    }

    #[test]
    fn field_versions_start_with_the_first_changes_from_value() {
        let histories = vec![
            json!({"id": "2", "created": "2024-03-02T00:00:00.000+0000", "items": [
                {"field": "assignee", "fieldId": "assignee",
                 "from": "a1", "fromString": "Ann", "to": "b2", "toString": "Bob"},
            ]}),
            json!({"id": "3", "created": "2024-03-03T00:00:00.000+0000", "items": [
                {"field": "assignee", "fieldId": "assignee",
                 "from": "b2", "fromString": "Bob", "to": null, "toString": null},
            ]}),
        ];
        let created = parse_jira_datetime("2024-03-01T00:00:00.000+0000").unwrap();
        let v = field_versions(created, &changes(&histories).unwrap());
        let values: Vec<(Option<&str>, Option<&str>)> =
            v.iter().map(|v| (v.value.as_deref(), v.history_id.as_deref())).collect();
        assert_eq!(values, [(Some("Ann"), None), (Some("Bob"), Some("2")), (None, Some("3"))]);
        assert_eq!(v[0].valid_from, created);
        assert_eq!(v[0].valid_to, Some(v[1].valid_from));
        assert_eq!(v[2].valid_to, None, "the last value is current");
    }

    /// Cloud's changelog bulk fetch sends `created` as epoch milliseconds (the spec's example:
    /// seconds): the same changes as from text, and an unreadable one is an error, not a gap.
    #[test]
    fn epoch_created_gives_the_same_changes_and_unreadable_ones_fail() {
        let item = json!([{"field": "status", "fieldId": "status", "from": "1", "to": "3"}]);
        let text = vec![json!({"id": "7", "created": "2024-03-01T10:00:00.000+0100", "items": item})];
        let millis = vec![json!({"id": "7", "created": 1_709_283_600_000u64, "items": item})];
        let seconds = vec![json!({"id": "7", "created": 1_709_283_600u64, "items": item})];
        let want = changes(&text).unwrap();
        assert_eq!(want[0].at, 1_709_283_600_000_000);
        assert_eq!(changes(&millis).unwrap(), want);
        assert_eq!(changes(&seconds).unwrap(), want);
        let bad = vec![text[0].clone(), json!({"id": "8", "created": "yesterday", "items": item})];
        assert!(changes(&bad).unwrap_err().contains("history 8"));
    }
}
