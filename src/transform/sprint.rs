//! Jira Software on Data Center sends the Sprint field (`gh-sprint`) as the `toString()` of its
//! Java sprint object — `com.atlassian.greenhopper.service.sprint.Sprint@1a2b3c[id=12,
//! rapidViewId=3,state=CLOSED,name=Sprint 4,startDate=…,completeDate=<null>,sequence=12,goal=]`
//! — where Cloud sends an object. Read into Cloud's object, the sprint column holds the same
//! thing on both deployments.
//!
//! The string is not an encoding: names and goals are written unescaped, so a comma or `=` in
//! them looks like a separator, and the order of the keys changed between releases (recorded
//! strings list them alphabetically, or `id` first, or `rapidViewId` first; newer releases add
//! `activatedDate`, `autoStartStop`, `synced`, `incompleteIssuesDestinationId`). So the parser
//! splits at `,key=`, each key at most once, and checks every value that has a form (numbers,
//! states, dates, booleans): a split that leaves a malformed value took part of a name or goal
//! for a key. Of the readings that fit, it keeps the one with the most keys Jira writes and the
//! fewest it does not (a later release's key is read past; a `,word=` in a name stays in it).

use serde_json::{Map, Value, json};

use super::columns::parse_jira_datetime;

/// How every sprint string starts (the hexadecimal hash after `@` varies).
pub const PREFIX: &str = "com.atlassian.greenhopper.service.sprint.Sprint@";

/// Whether `s` is a Data Center sprint string.
pub fn is_sprint(s: &str) -> bool {
    s.starts_with(PREFIX)
}

/// Why a sprint string became a reject rather than a row.
pub fn unreadable(s: &str) -> String {
    format!("a Data Center sprint string with no reading that fits its keys: {s}")
}

/// The keys Jira writes, and the form of their values.
const KEYS: [(&str, Form); 13] = [
    ("id", Form::Number),
    ("rapidViewId", Form::Number),
    ("state", Form::State),
    ("name", Form::Free),
    ("startDate", Form::Date),
    ("endDate", Form::Date),
    ("completeDate", Form::Date),
    ("activatedDate", Form::Date),
    ("sequence", Form::Number),
    ("goal", Form::Free),
    ("autoStartStop", Form::Bool),
    ("synced", Form::Bool),
    ("incompleteIssuesDestinationId", Form::Number),
];

#[derive(Clone, Copy, PartialEq)]
enum Form {
    Number,
    State,
    Date,
    Bool,
    Free,
}

/// Jira's spelling of a null field.
const NULL: &str = "<null>";

impl Form {
    fn fits(self, v: &str) -> bool {
        match self {
            Form::Free => true,
            _ if v == NULL => true,
            // An empty date as well (`completeDate=,` in a 2015 recording).
            Form::Date if v.is_empty() => true,
            Form::Number => !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
            Form::State => ["ACTIVE", "CLOSED", "FUTURE"].iter().any(|s| s.eq_ignore_ascii_case(v)),
            Form::Date => parse_jira_datetime(v).is_some(),
            Form::Bool => v == "true" || v == "false",
        }
    }
}

fn form(key: &str) -> Option<Form> {
    KEYS.iter().find(|(k, _)| *k == key).map(|(_, f)| *f)
}

/// The sprint `s` describes, as Cloud's object: `id` and `boardId` (from `rapidViewId`) as
/// numbers, `state` lower-case, `name`, `goal` (an empty goal stays `""`, as Jira stored it;
/// `null` when the string has no goal), and the three dates as Jira wrote them (`null` for
/// `<null>`). `None` when `s` is not a sprint string or no reading of it fits.
pub fn parse(s: &str) -> Option<Value> {
    let rest = s.strip_prefix(PREFIX)?;
    let body = &rest[rest.find('[')? + 1..rest.rfind(']')?];
    let pairs = split(body)?;
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).filter(|v| *v != NULL);
    let date = |k: &str| get(k).filter(|v| !v.is_empty()).map_or(Value::Null, |v| json!(v));
    let number = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok()).map_or(Value::Null, |n| json!(n));
    let text = |k: &str| get(k).map_or(Value::Null, |v| json!(v));
    let mut out = Map::new();
    out.insert("id".into(), number("id"));
    out.insert("name".into(), text("name"));
    out.insert("state".into(), get("state").map_or(Value::Null, |v| json!(v.to_ascii_lowercase())));
    out.insert("boardId".into(), number("rapidViewId"));
    out.insert("goal".into(), text("goal"));
    for k in ["startDate", "endDate", "completeDate"] {
        out.insert(k.into(), date(k));
    }
    Some(Value::Object(out))
}

/// `body` (`k=v,k=v,…`) as pairs: of the readings in which every key appears once and every
/// value fits its form, the one with the most known keys, then the fewest unknown ones (a
/// `,word=` inside a name is more likely than a key no release writes), then the first found
/// splitting left to right.
fn split(body: &str) -> Option<Vec<(String, String)>> {
    // Where a key may start: 0, and after every comma followed by `identifier=`.
    let starts: Vec<(usize, &str)> = std::iter::once(0)
        .chain(body.match_indices(',').map(|(i, _)| i + 1))
        .filter_map(|at| {
            let (key, _) = body[at..].split_once('=')?;
            let identifier = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric());
            identifier.then_some((at, key))
        })
        .collect();
    if starts.first().map(|(at, _)| *at) != Some(0) {
        return None;
    }
    let mut best = None;
    let mut budget = SEARCH_BUDGET;
    search(body, &starts, &mut vec![0], &mut best, &mut budget);
    let (_, chosen) = best?;
    Some(
        chosen
            .iter()
            .enumerate()
            .map(|(n, &s)| {
                let (at, key) = starts[s];
                let end = chosen.get(n + 1).map_or(body.len(), |&next| starts[next].0 - 1);
                (key.to_string(), body[at + key.len() + 1..end].to_string())
            })
            .collect(),
    )
}

/// Readings tried at most: a goal of many `,word=` pairs has exponentially many, and the first
/// ones tried (known keys, split left to right) are the likely ones.
const SEARCH_BUDGET: usize = 20_000;

/// A reading's rank: known keys, then fewer unknown ones.
type Score = (usize, std::cmp::Reverse<usize>);

/// Depth-first over which of `starts` after the last chosen one begins the next key, keeping
/// in `best` the highest-ranked reading that fits to the end of `body`.
fn search(
    body: &str,
    starts: &[(usize, &str)],
    chosen: &mut Vec<usize>,
    best: &mut Option<(Score, Vec<usize>)>,
    budget: &mut usize,
) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let last = *chosen.last().expect("starts with the first key");
    let (at, key) = starts[last];
    let value_from = at + key.len() + 1;
    let fits = |end: usize| form(key).is_none_or(|f| f.fits(&body[value_from..end]));
    // This value ends where the next key starts, or at the end of the body.
    for next in last + 1..starts.len() {
        let (n_at, n_key) = starts[next];
        if n_at <= value_from || chosen.iter().any(|&c| starts[c].1 == n_key) || !fits(n_at - 1) {
            continue;
        }
        chosen.push(next);
        search(body, starts, chosen, best, budget);
        chosen.pop();
    }
    if fits(body.len()) {
        let known = chosen.iter().filter(|&&c| form(starts[c].1).is_some()).count();
        let score = (known, std::cmp::Reverse(chosen.len() - known));
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            *best = Some((score, chosen.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sprint(s: &str) -> Value {
        parse(s).unwrap_or_else(|| panic!("no reading of {s}"))
    }

    /// Jira 8's order, as in the brief of issue 30 and several recordings: `id` first, `goal`
    /// last, `<null>` dates.
    #[test]
    fn a_closed_sprint_reads_as_cloud_s_object() {
        let s = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@1a2b3c[id=12,rapidViewId=3,state=CLOSED,name=Sprint 4,\
             startDate=2024-01-08T09:00:00.000Z,endDate=2024-01-22T09:00:00.000Z,completeDate=<null>,sequence=12,\
             goal=]",
        );
        assert_eq!(
            s,
            json!({"id": 12, "name": "Sprint 4", "state": "closed", "boardId": 3, "goal": "",
                   "startDate": "2024-01-08T09:00:00.000Z", "endDate": "2024-01-22T09:00:00.000Z",
                   "completeDate": null})
        );
    }

    /// Recorded strings, as public test fixtures and code comments quote them.
    #[test]
    fn recorded_strings_in_every_key_order() {
        // A Java client's test (`SprintFormatter`): offsets, a goal with `%!`.
        let a = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@57910277[id=29200,rapidViewId=8070,state=CLOSED,\
             name=SPrUCE - Sprint 15,startDate=2018-04-19T10:45:31.067-04:00,endDate=2018-05-02T14:04:00.000-04:00,\
             completeDate=2018-05-03T11:08:13.295-04:00,sequence=29200,goal=Spruce 100%!]",
        );
        assert_eq!((&a["id"], &a["boardId"], &a["name"]), (&json!(29200), &json!(8070), &json!("SPrUCE - Sprint 15")));
        assert_eq!((&a["goal"], &a["completeDate"]), (&json!("Spruce 100%!"), &json!("2018-05-03T11:08:13.295-04:00")));
        // Alphabetical keys, a Cyrillic goal and name (a Java client's comment, 2020).
        let b = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@428da144[completeDate=<null>,\
             endDate=2020-05-10T12:57:00.000Z,\
             goal=Создать базу данных Проекта,id=3,name=Релиз 1,rapidViewId=4,sequence=3,\
             startDate=2020-04-26T12:57:31.205Z,state=ACTIVE]",
        );
        assert_eq!((&b["id"], &b["state"], &b["name"]), (&json!(3), &json!("active"), &json!("Релиз 1")));
        assert_eq!((&b["goal"], &b["completeDate"]), (&json!("Создать базу данных Проекта"), &Value::Null));
        // `rapidViewId` first, `id` last, no goal (an R package's test, 2016).
        let c = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@50eaa052[rapidViewId=11,state=CLOSED,\
             name=ARCADE Sprint 113,\
             startDate=2016-10-06T14:40:52.687+01:00,endDate=2016-10-20T14:40:00.000+01:00,\
             completeDate=2016-10-21T06:32:06.424+01:00,sequence=3713,id=3713]",
        );
        assert_eq!((&c["id"], &c["boardId"], &c["goal"]), (&json!(3713), &json!(11), &Value::Null));
        // An empty goal in the middle (a Go client's comment, 2019).
        let d = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@6f00eb7b[id=47,rapidViewId=12,state=ACTIVE,name=Sprint 46,\
             goal=,startDate=2019-02-20T04:19:23.907Z,endDate=2019-02-25T04:19:00.000Z,completeDate=<null>,\
             sequence=47]",
        );
        assert_eq!(
            (&d["name"], &d["goal"], &d["startDate"]),
            (&json!("Sprint 46"), &json!(""), &json!("2019-02-20T04:19:23.907Z"))
        );
    }

    /// lhh/jirate's fixture (issues.redhat.com, 2024), a goal with a trailing comma
    /// (CognizantOneDevOps/Insights #114, 2018), `id` last with a null board (Atlassian
    /// Community, 2013), an empty `completeDate` (rudiedirkx/jira #52, 2015).
    #[test]
    fn more_recorded_layouts() {
        let a = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@49e59daf[id=13133,rapidViewId=21164,state=CLOSED,\
             name=Porky Sprint 5 - Sept,startDate=2024-09-01T06:22:00.000Z,endDate=2024-09-29T06:22:00.000Z,\
             completeDate=2024-10-02T06:38:15.491Z,activatedDate=2024-09-03T02:47:34.778Z,sequence=13133,goal=,\
             synced=false,autoStartStop=false,incompleteIssuesDestinationId=<null>]",
        );
        assert_eq!(
            (&a["name"], &a["goal"], &a["boardId"]),
            (&json!("Porky Sprint 5 - Sept"), &json!(""), &json!(21164))
        );
        let b = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@1[id=318,rapidViewId=5,state=CLOSED,name=S 12,\
             startDate=2018-04-30T15:55:48.913-07:00,endDate=2018-05-14T15:55:48.913-07:00,\
             completeDate=2018-05-14T15:55:48.913-07:00,sequence=318,\
             goal=Define Scope for Accordion, Complete Icon Link,]",
        );
        assert_eq!(b["goal"], "Define Scope for Accordion, Complete Icon Link,");
        let c = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@a29f07[rapidViewId=<null>,state=CLOSED,\
             name=NORD - Sprint 42,\
             startDate=2013-07-29T06:47:00.000+02:00,endDate=2013-08-12T06:47:00.000+02:00,\
             completeDate=2013-08-14T15:31:33.157+02:00,id=107]",
        );
        assert_eq!((&c["id"], &c["boardId"], &c["name"]), (&json!(107), &Value::Null, &json!("NORD - Sprint 42")));
        let d = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@2[id=209,rapidViewId=4,state=ACTIVE,name=Sprint 9,\
             startDate=2015-03-02T10:00:00.000+01:00,endDate=2015-03-16T10:00:00.000+01:00,completeDate=,sequence=209]",
        );
        assert_eq!((&d["completeDate"], &d["state"]), (&Value::Null, &json!("active")));
    }

    #[test]
    fn newer_keys_are_read_past() {
        let s = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@9f[id=5,rapidViewId=2,state=FUTURE,name=Next,\
             startDate=<null>,\
             endDate=<null>,completeDate=<null>,activatedDate=<null>,sequence=5,goal=Plan,autoStartStop=false,\
             synced=false,incompleteIssuesDestinationId=<null>]",
        );
        assert_eq!((&s["state"], &s["goal"], &s["startDate"]), (&json!("future"), &json!("Plan"), &Value::Null));
    }

    #[test]
    fn commas_equals_and_key_names_inside_names_and_goals_stay_in_them() {
        let s = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@1[id=7,rapidViewId=2,state=ACTIVE,\
             name=Q1, week 2,goal=ship,startDate=x],startDate=2024-01-08T09:00:00.000Z,endDate=<null>,\
             completeDate=<null>,sequence=7,goal=a=b, id=9,state=done]",
        );
        assert_eq!(s["name"], "Q1, week 2,goal=ship,startDate=x]");
        assert_eq!(s["goal"], "a=b, id=9,state=done");
        assert_eq!((&s["id"], &s["startDate"]), (&json!(7), &json!("2024-01-08T09:00:00.000Z")));
    }

    #[test]
    fn an_unknown_key_of_a_later_release_is_read_past() {
        let s = sprint(
            "com.atlassian.greenhopper.service.sprint.Sprint@1[id=7,rapidViewId=2,state=CLOSED,name=S,\
             startDate=<null>,endDate=<null>,completeDate=<null>,sequence=7,plannedCapacity=40]",
        );
        assert_eq!((&s["id"], &s["name"]), (&json!(7), &json!("S")));
    }

    #[test]
    fn a_goal_of_many_pairs_is_read_in_bounded_time() {
        let goal: Vec<String> = (0..40).map(|n| format!("k{n}=v{n}")).collect();
        let s = format!(
            "com.atlassian.greenhopper.service.sprint.Sprint@1[id=7,rapidViewId=2,state=CLOSED,name=S,\
             startDate=<null>,endDate=<null>,completeDate=<null>,sequence=7,goal={}]",
            goal.join(",")
        );
        let started = std::time::Instant::now();
        let v = sprint(&s);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!((&v["id"], &v["goal"]), (&json!(7), &json!(goal.join(","))));
    }

    /// The hook in both decoders: a sprint string in the Sprint column becomes the cell its
    /// object would, and one that fits no reading is an error (a reject), not a null.
    #[test]
    fn both_decoders_read_a_sprint_string_as_its_object() {
        use serde::de::DeserializeSeed;

        use crate::jira::fields::FieldSchema;
        use crate::transform::batch::Cell;
        use crate::transform::columns::ColumnType;
        use crate::transform::decode::CellSeed;

        let ty = ColumnType::of(Some(&FieldSchema {
            kind: "array".into(),
            items: Some("json".into()),
            custom: Some("com.pyxis.greenhopper.jira:gh-sprint".into()),
            system: None,
        }));
        let decode = |v: &Value| {
            let text = v.to_string();
            CellSeed(&ty).deserialize(&mut serde_json::Deserializer::from_str(&text)).map(Cell::into_owned)
        };
        let s = "com.atlassian.greenhopper.service.sprint.Sprint@638afb2[id=18234,rapidViewId=21064,state=ACTIVE,\
                 name=Homies Sprint 6,startDate=2025-01-27T03:00:00.000Z,endDate=2025-02-15T03:00:00.000Z,\
                 completeDate=<null>,activatedDate=2025-01-27T03:00:31.194Z,sequence=18234,goal=<null>,synced=false,\
                 autoStartStop=true,incompleteIssuesDestinationId=40133]";
        let (strings, objects) = (json!([s]), json!([sprint(s)]));
        let want = Cell::from_value(&ty, &objects).unwrap();
        assert_eq!(Cell::from_value(&ty, &strings).unwrap(), want);
        assert_eq!(decode(&strings).unwrap(), want);
        let bad = json!(["com.atlassian.greenhopper.service.sprint.Sprint@1[id=x]"]);
        assert!(Cell::from_value(&ty, &bad).is_err() && decode(&bad).is_err());
    }

    #[test]
    fn other_strings_are_not_sprints() {
        assert_eq!(parse("Sprint 4"), None);
        assert_eq!(parse("com.atlassian.greenhopper.service.sprint.Sprint@1[state=CLOSED"), None);
        assert!(!is_sprint("com.example.Sprint@1[id=1]"));
    }
}
