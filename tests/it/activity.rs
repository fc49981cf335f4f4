//! The `comments`, `worklogs` and `issue_links` tables against the simulator's truth, read back
//! by the Python reader, on Cloud and Data Center: after a first load (threads longer than the
//! page Jira embeds included) and after incremental runs with additions, edits and deletions.

use std::collections::BTreeMap;
use std::time::Duration;

use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
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
        let thread: Vec<u64> =
            sim.comments(long[0]).iter().map(|c| c["id"].as_str().unwrap().parse().unwrap()).collect();
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
        let gone = [("comments", deleted_comment), ("worklogs", deleted_worklog), ("issue_links", deleted_link)];
        assert_tables(&sim, dir.path(), &format!("{deployment} after changes"), &gone);

        // Nothing changed: nothing new is marked, the tables stay equal, and the worklog
        // cursor does not slide back although its feed is quiet.
        sim.advance_clock(Duration::from_secs(120));
        let report = common::run(&p, retry()).await;
        assert_eq!(object(&report, "comments").rows_deleted, 0, "{deployment}");
        let w = object(&report, "worklogs");
        assert!(w.cursor_after >= w.cursor_before, "{deployment}: {w:?}");
        assert_tables(&sim, dir.path(), &format!("{deployment} quiet run"), &gone);
        sim.shutdown().await;
    }
}

/// Ids of a list's records.
fn ids(records: &[Value]) -> Vec<u64> {
    records.iter().map(|r| r["id"].as_str().unwrap().parse().unwrap()).collect()
}

async fn cloud(behaviour: Behaviour) -> RunningSim {
    let data = DatasetConfig { issues: 160, ..Default::default() };
    RunningSim::start(SimConfig { data, behaviour, ..Default::default() }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn comment_deletes_jira_does_not_mark_as_updates_are_found_by_the_full_sweep() {
    // The site embeds the newest 100 comments of a long thread, and editing or deleting a
    // comment leaves its issue's `updated` alone: both possible on Cloud.
    let behaviour =
        Behaviour { embedded_comments_newest: true, comment_edit_delete_keep_updated: true, ..Behaviour::default() };
    let sim = cloud(behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let load = |every: &str| {
        PipelineYaml::new("s", &format!("  comments: {{reconcile_every: {every}}}")).load(dir.path(), &sim_vars(&sim))
    };
    let report = common::run(&load("1h"), retry()).await;
    assert!(object(&report, "comments").error.is_none(), "{report:?}");
    let [comments, ..] = truth(&sim);
    let (live, _) = table(dir.path(), "comments", &COMMENT_COLUMNS);
    assert_eq!(live, comments, "the oldest comments of a thread are read past the newest embedded page");

    let long = sim.issues_with_long_comment_threads()[0];
    let short = sim.visible_issues().iter().map(|v| v.0).find(|id| sim.comments(*id).len() == 1).unwrap();
    let (in_long, in_short) = (ids(&sim.comments(long))[3], ids(&sim.comments(short))[0]);
    assert!(sim.delete_comment(in_long) && sim.delete_comment(in_short));
    assert!(sim.edit_comment(ids(&sim.comments(long))[5]));

    // A run that reads only the issues updated since the cursor cannot see them.
    let report = common::run(&load("1h"), retry()).await;
    assert_eq!(object(&report, "comments").rows_deleted, 0);
    let (live, _) = table(dir.path(), "comments", &COMMENT_COLUMNS);
    assert!(live.contains_key(&in_short.to_string()), "not seen before the sweep is due");

    // When the sweep is due, every issue's comments are read: both deletes and the edit land.
    let report = common::run(&load("0s"), retry()).await;
    assert_eq!(object(&report, "comments").rows_deleted, 2, "{report:?}");
    assert_tables_of(&sim, dir.path(), "comments", &[in_long, in_short]);
}

/// `comments` equals the truth, and `gone` is marked deleted.
fn assert_tables_of(sim: &RunningSim, dir: &std::path::Path, name: &str, gone: &[u64]) {
    let [comments, ..] = truth(sim);
    let (live, deleted) = table(dir, name, &COMMENT_COLUMNS);
    assert_eq!(live, comments);
    for id in gone {
        assert!(deleted.contains(&id.to_string()), "{id} marked deleted");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hard_deletes_remove_the_rows_of_deleted_comments() {
    let sim = cloud(Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = PipelineYaml::new("h", "  comments: {deletes: hard}").load(dir.path(), &sim_vars(&sim));
    common::run(&p, retry()).await;
    let issue = sim.visible_issues().iter().map(|v| v.0).find(|id| sim.comments(*id).len() >= 2).unwrap();
    let gone = ids(&sim.comments(issue))[0];
    assert!(sim.delete_comment(gone));
    let report = common::run(&p, retry()).await;
    assert_eq!(object(&report, "comments").rows_deleted, 1);
    let (_, rows) = python_rows(dir.path(), "comments");
    let gone_id = gone.to_string();
    assert!(rows.iter().all(|r| r["id"].as_str() != Some(gone_id.as_str())), "the row is gone");
    let (live, deleted) = table(dir.path(), "comments", &COMMENT_COLUMNS);
    assert!(deleted.is_empty());
    assert_eq!(live, truth(&sim)[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn worklogs_follow_the_jql_and_a_site_without_the_feed_is_read_per_issue() {
    for no_feed in [false, true] {
        let sim = cloud(Behaviour { no_worklog_feed: no_feed, ..Behaviour::default() }).await;
        let dir = tempfile::tempdir().unwrap();
        let project = sim.visible_issues()[0].1.split('-').next().unwrap().to_string();
        let objects = format!("  worklogs: {{jql: \"project = {project}\"}}");
        let p = PipelineYaml::new("w", &objects).load(dir.path(), &sim_vars(&sim));
        let in_project: Vec<u64> = sim
            .visible_issues()
            .iter()
            .filter(|(_, key, _)| key.starts_with(&format!("{project}-")))
            .map(|v| v.0)
            .collect();
        let want = |sim: &RunningSim| -> Rows {
            in_project
                .iter()
                .flat_map(|id| sim.worklogs(*id).iter().map(|w| worklog_truth(*id, w)).collect::<Vec<_>>())
                .collect()
        };
        let report = common::run(&p, retry()).await;
        assert!(object(&report, "worklogs").error.is_none(), "{report:?}");
        let (live, _) = table(dir.path(), "worklogs", &WORKLOG_COLUMNS);
        assert!(!live.is_empty(), "no_feed {no_feed}");
        assert_eq!(live, want(&sim), "no_feed {no_feed}: only the project's worklogs");

        let issue = *in_project.iter().find(|id| !sim.worklogs(**id).is_empty()).unwrap();
        let gone = ids(&sim.worklogs(issue))[0];
        assert!(sim.delete_worklog(gone));
        sim.add_worklog(issue).unwrap();
        sim.advance_clock(Duration::from_secs(180));
        let report = common::run(&p, retry()).await;
        assert_eq!(object(&report, "worklogs").rows_deleted, 1, "no_feed {no_feed}: {report:?}");
        let (live, deleted) = table(dir.path(), "worklogs", &WORKLOG_COLUMNS);
        assert_eq!(live, want(&sim), "no_feed {no_feed}: after changes");
        assert_eq!(deleted, [gone.to_string()], "no_feed {no_feed}");
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_comment_column_of_issues_says_when_its_page_is_incomplete() {
    let sim = cloud(Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = PipelineYaml::new("i", "  issues: {fields: {include: [comment]}}\n  comments: {}")
        .load(dir.path(), &sim_vars(&sim));
    common::run(&p, retry()).await;
    let (_, issues) = python_rows(dir.path(), "issues");
    let long = sim.issues_with_long_comment_threads()[0];
    let long_id = long.to_string();
    let row = issues.iter().find(|r| r["id"].as_str() == Some(long_id.as_str())).unwrap();
    let page: Value = serde_json::from_str(row["comment"].as_str().unwrap()).unwrap();
    let (held, total) = (page["comments"].as_array().unwrap().len(), page["total"].as_u64().unwrap());
    assert_eq!(total as usize, sim.comments(long).len(), "`total` counts the whole thread");
    assert!(held < total as usize, "the embedded page holds {held} of {total}");
    let (comments, _) = table(dir.path(), "comments", &COMMENT_COLUMNS);
    let whole = comments.values().filter(|r| r["issue_id"] == Some(long.to_string())).count();
    assert_eq!(whole, total as usize, "the comments table has them all");
}

/// Requests that asked Jira for issue links alone: what `issue_links` sends when it reads Jira.
fn link_requests(sim: &RunningSim) -> usize {
    sim.recorded_requests()
        .iter()
        .filter(|r| r.body.as_ref().is_some_and(|b| b["fields"] == serde_json::json!(["issuelinks"])))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn issue_links_read_with_issues_cost_no_request() {
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let data = DatasetConfig { issues: 160, ..Default::default() };
        let sim = RunningSim::start(SimConfig { flavor, data, ..Default::default() }).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let objects = "  issues: {fields: {include: [summary, issuelinks]}}\n  issue_links: {}";
        let p = PipelineYaml::new("l", objects).deployment(deployment).auth(auth).load(dir.path(), &sim_vars(&sim));
        sim.record_requests();
        let report = common::run(&p, retry()).await;
        assert!(object(&report, "issue_links").error.is_none(), "{deployment}: {report:?}");
        let [.., links] = truth(&sim);
        let (live, _) = table(dir.path(), "issue_links", &LINK_COLUMNS);
        assert!(!live.is_empty(), "{deployment}");
        assert_eq!(live, links, "{deployment}: first load, read back from the issues table");

        let linked = sim.visible_issues().iter().map(|v| v.0).find(|id| !sim.links(*id).is_empty()).unwrap();
        let gone: u64 = sim.links(linked)[0]["id"].as_str().unwrap().parse().unwrap();
        assert!(sim.delete_link(gone));
        sim.add_link(10_011, 10_120).unwrap();
        let report = common::run(&p, retry()).await;
        assert_eq!(object(&report, "issue_links").rows_deleted, 1, "{deployment}: {report:?}");
        let [.., links] = truth(&sim);
        let (live, deleted) = table(dir.path(), "issue_links", &LINK_COLUMNS);
        assert_eq!(live, links, "{deployment}: after a link was removed and one added");
        assert_eq!(deleted, [gone.to_string()], "{deployment}");
        assert_eq!(link_requests(&sim), 0, "{deployment}: no request asked for links alone");

        // Read on its own (another JQL than the issues'), it asks Jira.
        let dir = tempfile::tempdir().unwrap();
        let objects = "  issues: {fields: {include: [summary, issuelinks]}}\n  issue_links: {jql: \"updated >= 0\"}";
        let p = PipelineYaml::new("l", objects).deployment(deployment).auth(auth).load(dir.path(), &sim_vars(&sim));
        common::run(&p, retry()).await;
        assert!(link_requests(&sim) > 0, "{deployment}");
        assert_eq!(table(dir.path(), "issue_links", &LINK_COLUMNS).0, links, "{deployment}: the same rows");
        sim.shutdown().await;
    }
}

/// The marks of deletes found while reading changes are a commit of their own, after the data,
/// and the cursor moves with them: a run that dies between the two reads the same issues again
/// and marks what it found (with no lookback to hide a cursor that moved too early).
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_the_data_and_the_marks_loses_no_delete() {
    let sim = cloud(Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = PipelineYaml::new("x", "  comments: {lookback: 0s}").write(dir.path(), "x.yaml");
    let run = |failpoint: Option<&'static str>| {
        let mut cmd = common::jirapipe_for(&sim);
        cmd.arg("run").arg(&file).env("JIRAPIPE_LEASE_TTL", "1s");
        if let Some(f) = failpoint {
            cmd.env("JIRAPIPE_FAILPOINT", f);
        }
        async move { tokio::task::spawn_blocking(move || common::output(&mut cmd)).await.unwrap() }
    };
    assert_eq!(run(None).await.code, Some(0));
    let issue = sim.visible_issues().iter().map(|v| v.0).find(|id| sim.comments(*id).len() >= 2).unwrap();
    let gone = ids(&sim.comments(issue))[0];
    assert!(sim.delete_comment(gone));
    sim.add_comment(issue).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let crashed = run(Some("after-data-commit")).await;
    assert_ne!(crashed.code, Some(0), "the run died after its data commit");
    let (live, _) = table(dir.path(), "comments", &COMMENT_COLUMNS);
    assert!(live.contains_key(&gone.to_string()), "not marked yet");

    // The dead run's lease frees itself after its TTL.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = run(None).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_tables_of(&sim, dir.path(), "comments", &[gone]);
}
