//! The `comments`, `worklogs` and `issue_links` tables against the simulator's truth, read back
//! by the Python reader, on Cloud and Data Center: after a first load (threads longer than the
//! page Jira embeds included) and after incremental runs with additions, edits and deletions.

use std::collections::BTreeMap;
use std::time::Duration;

use jira_sim::{DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::jira::RetryConfig;
use serde_json::Value;

use crate::common::pipeline::{API_TOKEN, PAT, PipelineYaml, sim_vars};
use crate::common::{self, object, python_rows};

fn retry() -> RetryConfig {
    RetryConfig { max_attempts: 4, base_backoff: Duration::from_millis(10), ..RetryConfig::default() }
}

/// A row as compared: every column that carries Jira's data, as text.
type Rows = BTreeMap<String, BTreeMap<&'static str, Option<String>>>;

/// Plain text of an ADF document (paragraphs of text and mentions, as the simulator writes
/// them), or a Data Center body as it is.
fn text(v: &Value) -> Option<String> {
    fn walk(v: &Value, out: &mut String) {
        match v["type"].as_str() {
            Some("text") => out.push_str(v["text"].as_str().unwrap_or_default()),
            Some("mention") => out.push_str(v["attrs"]["text"].as_str().unwrap_or_default()),
            _ => {}
        }
        for (n, c) in v["content"].as_array().into_iter().flatten().enumerate() {
            if n > 0 && v["type"] == "doc" {
                out.push('\n');
            }
            walk(c, out);
        }
    }
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        doc => {
            let mut out = String::new();
            walk(doc, &mut out);
            Some(out)
        }
    }
}

/// Jira's `2024-05-01T10:00:00.000+0000` as epoch microseconds, in text.
fn micros(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let t = chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%z").unwrap();
    Some(t.timestamp_micros().to_string())
}

fn plain(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.as_f64().unwrap().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

fn comment_truth(issue_id: u64, c: &Value) -> (String, BTreeMap<&'static str, Option<String>>) {
    let row = BTreeMap::from([
        ("issue_id", Some(issue_id.to_string())),
        ("author", plain(&c["author"]["displayName"])),
        ("update_author", plain(&c["updateAuthor"]["displayName"])),
        ("body", text(&c["body"])),
        ("created", micros(&c["created"])),
        ("updated", micros(&c["updated"])),
        ("visibility_value", plain(&c["visibility"]["value"])),
    ]);
    (c["id"].as_str().unwrap().to_string(), row)
}

fn worklog_truth(issue_id: u64, w: &Value) -> (String, BTreeMap<&'static str, Option<String>>) {
    let row = BTreeMap::from([
        ("issue_id", Some(issue_id.to_string())),
        ("author", plain(&w["author"]["displayName"])),
        ("comment", text(&w["comment"])),
        ("started", micros(&w["started"])),
        ("updated", micros(&w["updated"])),
        ("time_spent_seconds", plain(&w["timeSpentSeconds"])),
    ]);
    (w["id"].as_str().unwrap().to_string(), row)
}

/// Each link once, as "source outward target", from the issue that holds its outward side.
fn link_truth(issue_id: u64, l: &Value) -> Option<(String, BTreeMap<&'static str, Option<String>>)> {
    let target = l["outwardIssue"].as_object()?;
    let row = BTreeMap::from([
        ("type_name", plain(&l["type"]["name"])),
        ("outward", plain(&l["type"]["outward"])),
        ("source_issue_id", Some(issue_id.to_string())),
        ("target_issue_id", plain(&target["id"])),
        ("target_issue_key", plain(&target["key"])),
    ]);
    Some((l["id"].as_str().unwrap().to_string(), row))
}

/// What the simulator holds now, per table.
fn truth(sim: &RunningSim) -> [Rows; 3] {
    let (mut comments, mut worklogs, mut links) = (Rows::new(), Rows::new(), Rows::new());
    for (id, ..) in sim.visible_issues() {
        comments.extend(sim.comments(id).iter().map(|c| comment_truth(id, c)));
        worklogs.extend(sim.worklogs(id).iter().map(|w| worklog_truth(id, w)));
        links.extend(sim.links(id).iter().filter_map(|l| link_truth(id, l)));
    }
    [comments, worklogs, links]
}

/// A table's live rows (not marked deleted) in the truth's columns, as Python reads them, and
/// the ids of its rows marked deleted.
fn table(dir: &std::path::Path, table: &str, columns: &[&'static str]) -> (Rows, Vec<String>) {
    let (schema, rows) = python_rows(dir, table);
    assert_eq!(schema["types"]["_deleted_at"], "timestamp[us, tz=UTC]", "{table}: {schema}");
    let mut live = Rows::new();
    let mut deleted = Vec::new();
    for r in rows {
        let id = r["id"].as_str().unwrap().to_string();
        if !r["_deleted_at"].is_null() {
            assert_eq!(r["_deleted_reason"], "deleted", "{table} {id}");
            deleted.push(id);
            continue;
        }
        let cell = |c: &str| match &r[c] {
            Value::Object(o) => plain(&o["displayName"]),
            Value::Number(n) if c == "time_spent_seconds" => Some(n.as_f64().unwrap().to_string()),
            v => plain(v),
        };
        live.insert(id, columns.iter().map(|c| (*c, cell(c))).collect());
    }
    (live, deleted)
}

const COMMENT_COLUMNS: [&str; 7] =
    ["issue_id", "author", "update_author", "body", "created", "updated", "visibility_value"];
const WORKLOG_COLUMNS: [&str; 6] = ["issue_id", "author", "comment", "started", "updated", "time_spent_seconds"];
const LINK_COLUMNS: [&str; 5] = ["type_name", "outward", "source_issue_id", "target_issue_id", "target_issue_key"];

/// Every table equals the truth: live rows value by value, and `gone` marked deleted.
fn assert_tables(sim: &RunningSim, dir: &std::path::Path, case: &str, gone: &[(&str, u64)]) {
    let [comments, worklogs, links] = truth(sim);
    for (name, columns, want) in [
        ("comments", &COMMENT_COLUMNS[..], comments),
        ("worklogs", &WORKLOG_COLUMNS[..], worklogs),
        ("issue_links", &LINK_COLUMNS[..], links),
    ] {
        let (live, deleted) = table(dir, name, columns);
        let missing: Vec<&String> = want.keys().filter(|k| !live.contains_key(*k)).collect();
        let extra: Vec<&String> = live.keys().filter(|k| !want.contains_key(*k)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{case} {name}: missing {missing:?}, extra {extra:?}");
        for (id, row) in &want {
            assert_eq!(&live[id], row, "{case} {name} {id}");
        }
        for (table, id) in gone.iter().filter(|(t, _)| *t == name) {
            assert!(deleted.contains(&id.to_string()), "{case} {table}: {id} not marked deleted ({deleted:?})");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_worklogs_and_links_equal_the_truth_through_additions_edits_and_deletions() {
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let data = DatasetConfig { issues: 160, ..Default::default() };
        let sim = RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = PipelineYaml::new("a", "  comments: {}\n  worklogs: {}\n  issue_links: {}")
            .deployment(deployment)
            .auth(auth)
            .load(dir.path(), &sim_vars(&sim));
        let long = sim.issues_with_long_comment_threads();
        assert!(!long.is_empty(), "{deployment}: the default site has threads longer than search embeds");

        let report = common::run(&p, retry()).await;
        for o in ["comments", "worklogs", "issue_links"] {
            assert!(object(&report, o).error.is_none(), "{deployment}: {:?}", object(&report, o));
        }
        assert_tables(&sim, dir.path(), &format!("{deployment} first load"), &[]);
        let (comments, _) = table(dir.path(), "comments", &COMMENT_COLUMNS);
        let thread = comments.values().filter(|r| r["issue_id"] == Some(long[0].to_string())).count();
        assert!(thread > 100, "{deployment}: the long thread of {} is whole ({thread} comments)", long[0]);

        // Additions, edits and deletions, on a long thread past its embedded page too.
        let thread: Vec<u64> = sim.comments(long[0]).iter().map(|c| c["id"].as_str().unwrap().parse().unwrap()).collect();
        sim.add_comment(long[0]).unwrap();
        assert!(sim.edit_comment(thread[thread.len() - 3]));
        let deleted_comment = thread[thread.len() - 2];
        assert!(sim.delete_comment(deleted_comment));
        let worklog_issue = sim.visible_issues().iter().map(|v| v.0).find(|id| !sim.worklogs(*id).is_empty()).unwrap();
        let worklogs: Vec<u64> =
            sim.worklogs(worklog_issue).iter().map(|w| w["id"].as_str().unwrap().parse().unwrap()).collect();
        sim.add_worklog(worklog_issue + 1).unwrap();
        assert!(sim.edit_worklog(worklogs[0]));
        let deleted_worklog = *worklogs.last().unwrap();
        assert!(sim.delete_worklog(deleted_worklog));
        let linked = sim.visible_issues().iter().map(|v| v.0).find(|id| !sim.links(*id).is_empty()).unwrap();
        let deleted_link: u64 = sim.links(linked)[0]["id"].as_str().unwrap().parse().unwrap();
        assert!(sim.delete_link(deleted_link));
        sim.add_link(10_005, 10_150).unwrap();
        // The worklog feed leaves out the last minute.
        sim.advance_clock(Duration::from_secs(120));

        let report = common::run(&p, retry()).await;
        for o in ["comments", "worklogs", "issue_links"] {
            assert!(object(&report, o).error.is_none(), "{deployment}: {:?}", object(&report, o));
        }
        assert_eq!(object(&report, "comments").rows_deleted, 1, "{deployment}");
        let gone =
            [("comments", deleted_comment), ("worklogs", deleted_worklog), ("issue_links", deleted_link)];
        assert_tables(&sim, dir.path(), &format!("{deployment} after changes"), &gone);

        // Nothing changed: nothing new is marked, the tables stay equal.
        sim.advance_clock(Duration::from_secs(120));
        let report = common::run(&p, retry()).await;
        assert_eq!(object(&report, "comments").rows_deleted, 0, "{deployment}");
        assert_tables(&sim, dir.path(), &format!("{deployment} quiet run"), &gone);
        sim.shutdown().await;
    }
}
