//! The Jira client end to end against jira-sim over HTTP: every auth method, all five objects
//! on Cloud and Data Center, incremental cursors (edits between and during runs, another time
//! zone), Data Center's 10,000-result window, a storm of faults, and what gets skipped.
//! Every table is read back and compared with what the simulator holds.

mod common;

use std::path::Path;
use std::time::Duration;

use deltalake::arrow::array::{Array, AsArray, RecordBatch};
use deltalake::arrow::datatypes::TimestampMicrosecondType;
use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::config::{Pipeline, Vars, load_str};
use jirapipe::jira::RetryConfig;
use jirapipe::runner::{self, RunReport};

const SEARCH: &str = "/rest/api/3/search/jql";

async fn sim(flavor: Flavor, data: DatasetConfig, behaviour: Behaviour) -> RunningSim {
    RunningSim::start(SimConfig { flavor, data, behaviour, ..Default::default() }).await.unwrap()
}

fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 10,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..RetryConfig::default()
    }
}

/// A pipeline for `sim` writing under `dir`, with `auth` and `objects` blocks as YAML.
fn pipeline(sim: &RunningSim, dir: &Path, deployment: &str, auth: &str, objects: &str) -> Pipeline {
    let site_key = if deployment == "cloud" { "site" } else { "base_url" };
    let yaml = format!(
        "version: 1\nname: t\nsource:\n  deployment: {deployment}\n  {site_key}: ${{SITE}}\n  concurrency: 4\n  requests_per_second: 500\n  auth:\n{auth}\ndestination:\n  url: ${{DIR}}\nobjects:\n{objects}\n"
    );
    let vars = Vars::default()
        .with("SITE", sim.base_url())
        .with("DIR", dir.join("lake").display().to_string())
        .with("EMAIL", sim.email())
        .with("TOKEN", sim.api_token())
        .with("PAT", sim.credentials().pat.clone())
        .with("PASSWORD", sim.credentials().password.clone());
    load_str(&yaml, "test.yaml", dir, &vars).unwrap_or_else(|e| panic!("{e:?}"))
}

const API_TOKEN: &str = "    type: api_token\n    email: ${EMAIL}\n    token: ${TOKEN}";
const PAT: &str = "    type: pat\n    token: ${PAT}";
const ALL_OBJECTS: &str = "  issues: {sync: incremental, fields: {include: [summary, updated, status]}}\n  projects: {}\n  users: {}\n  boards: {}\n  fields: {}";

async fn run(p: &Pipeline) -> RunReport {
    runner::run(p, fast_retry()).await.unwrap_or_else(|e| panic!("run failed: {e}"))
}

async fn table(dir: &Path, object: &str) -> RecordBatch {
    let url = url::Url::from_directory_path(dir.join("lake").join(object)).unwrap();
    let batches = common::read_with_rust(&url).await;
    deltalake::arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn strings(b: &RecordBatch, col: &str) -> Vec<String> {
    let c = b.column_by_name(col).unwrap_or_else(|| panic!("no column {col}"));
    (0..b.num_rows()).map(|r| c.as_string::<i32>().value(r).to_string()).collect()
}

/// `(id, key, updated µs)` of the issues table, in id order.
async fn issue_rows(dir: &Path) -> Vec<(u64, String, i64)> {
    let b = table(dir, "issues").await;
    let updated = b.column_by_name("updated").unwrap().as_primitive::<TimestampMicrosecondType>().clone();
    let ids = strings(&b, "id");
    let keys = strings(&b, "key");
    let mut rows: Vec<_> =
        (0..b.num_rows()).map(|r| (ids[r].parse().unwrap(), keys[r].clone(), updated.value(r))).collect();
    rows.sort();
    rows
}

/// What the simulator holds right now, in the table's units.
fn truth(sim: &RunningSim) -> Vec<(u64, String, i64)> {
    sim.visible_issues().into_iter().map(|(id, key, ms)| (id, key, ms * 1000)).collect()
}

/// Equality with a readable failure: counts and the first differing rows, not 10,000 tuples.
#[track_caller]
fn assert_same(got: &[(u64, String, i64)], want: &[(u64, String, i64)]) {
    if got == want {
        return;
    }
    let first = got.iter().zip(want).position(|(g, w)| g != w);
    let show = |v: &[(u64, String, i64)], i: Option<usize>| {
        i.and_then(|i| v.get(i..(i + 3).min(v.len()))).map(|s| format!("{s:?}"))
    };
    panic!(
        "table has {} issues, simulator {}; first difference at {first:?}: table {:?} vs simulator {:?}",
        got.len(),
        want.len(),
        show(got, first),
        show(want, first)
    );
}

fn object<'r>(r: &'r RunReport, name: &str) -> &'r jirapipe::runner::ObjectReport {
    r.objects.iter().find(|o| o.object == name).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_api_token_all_objects_full_then_incremental() {
    let data = DatasetConfig { issues: 1200, boards: 8, ..Default::default() };
    let sim = sim(Flavor::Cloud, data.clone(), Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, ALL_OBJECTS);

    let first = run(&p).await;
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    let issues = object(&first, "issues");
    assert_eq!((issues.rows_written, issues.expected), (1200, Some(1200)));
    assert!(issues.cursor_after.is_some() && issues.cursor_before.is_none());
    // The other objects equal the simulator's.
    assert_eq!(strings(&table(dir.path(), "projects").await, "key"), ["ENG", "OPS", "WEB", "DATA", "MOB"]);
    let users = table(dir.path(), "users").await;
    assert_eq!(users.num_rows() as u64, data.users);
    let want_ids: Vec<String> =
        (0..data.users).map(|u| sim.dataset().user(u)["accountId"].as_str().unwrap().into()).collect();
    let mut got_ids = strings(&users, "id");
    got_ids.sort();
    let mut want_sorted = want_ids.clone();
    want_sorted.sort();
    assert_eq!(got_ids, want_sorted);
    let boards = table(dir.path(), "boards").await;
    assert_eq!(boards.num_rows(), 8);
    // Board 7 (index 6) has a filter not shared with the API user: kept, without config, counted.
    let filter = boards.column_by_name("filter_id").unwrap();
    let ids = strings(&boards, "id");
    for (r, id) in ids.iter().enumerate() {
        assert_eq!(filter.is_null(r), id == "7", "board {id}");
    }
    let b = object(&first, "boards");
    assert_eq!(b.skipped, 1);
    assert!(b.warnings[0].fix.contains("share"), "{:?}", b.warnings);
    let fields = table(dir.path(), "fields").await;
    assert!(strings(&fields, "id").contains(&"customfield_10016".to_string()));

    // Seven edits, then an incremental run: only they are fetched, with a handful of requests.
    let edited = sim.edit_issues(3, 101, 7);
    let before = sim.requests(SEARCH);
    let second = run(&p).await;
    let issues = object(&second, "issues");
    assert_eq!(issues.rows_written, 7, "{issues:?}");
    assert_eq!(issues.cursor_before, object(&first, "issues").cursor_after);
    // The window's ids pass, one page of the seven, and the first (daily) delete
    // reconciliation: one ids-only page for all 1200 issues.
    assert!(sim.requests(SEARCH) - before <= 3, "got {}", sim.requests(SEARCH) - before);
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    let edited_updated: Vec<i64> =
        truth(&sim).iter().filter(|(id, ..)| edited.contains(id)).map(|(_, _, u)| *u).collect();
    assert_eq!(edited_updated.len(), 7);

    // No change since: only the lookback overlap (the seven edits, minutes old) is re-read,
    // in two requests; the table does not change.
    let before = sim.requests(SEARCH);
    let third = run(&p).await;
    assert!(sim.requests(SEARCH) - before <= 2);
    assert_eq!(object(&third, "issues").rows_written, 7);
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));

    // An independent reader sees the same issues.
    let (_, rows) = common::read_with_python(&dir.path().join("lake/issues"));
    let py: Vec<u64> = rows.iter().map(|r| r["id"].as_str().unwrap().parse().unwrap()).collect();
    assert_eq!(py, truth(&sim).iter().map(|t| t.0).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_catches_edits_made_during_the_previous_run() {
    let behaviour = Behaviour { search_latency: Duration::from_millis(40), ..Behaviour::default() };
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 1500, ..Default::default() }, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, "  issues: {fields: {include: [summary, updated]}}");
    let sim = std::sync::Arc::new(sim);
    let editor = {
        let sim = sim.clone();
        tokio::spawn(async move {
            // Once the partitions are paging, edit issues at the start of the first one (already
            // read) and at the end of the last one (not read yet).
            while sim.requests(SEARCH) < 4 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let mut ids = sim.edit_issues(0, 1, 5);
            ids.extend(sim.edit_issues(1490, 1, 5));
            ids
        })
    };
    run(&p).await;
    let edited = editor.await.unwrap();
    assert_eq!(edited.len(), 10);
    let second = run(&p).await;
    assert!(object(&second, "issues").rows_written >= 5, "{:?}", object(&second, "issues"));
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_pat_pages_past_10000_and_reads_dates_in_another_time_zone() {
    let data = DatasetConfig { issues: 10_500, time_zone: chrono_tz::Asia::Kolkata, ..Default::default() };
    let sim = sim(Flavor::DataCenter, data, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let objects = "  issues: {sync: incremental, fields: {include: [summary, updated]}}\n  projects: {}\n  users: {}\n  fields: {}";
    let p = pipeline(&sim, dir.path(), "data_center", PAT, objects);
    let first = run(&p).await;
    let issues = object(&first, "issues");
    assert_eq!((issues.rows_written, issues.expected), (10_500, Some(10_500)));
    // Datetimes rendered as +0530 land as the same instants in UTC.
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    assert_eq!(table(dir.path(), "projects").await.num_rows(), 5);
    let users = table(dir.path(), "users").await;
    assert!(strings(&users, "id").iter().all(|k| k.starts_with("JIRAUSER")), "Data Center users are keyed by key");

    sim.edit_issues(100, 997, 9);
    let second = run(&p).await;
    assert_eq!(object(&second, "issues").rows_written, 9);
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_basic_auth_and_wrong_credentials() {
    let sim = sim(Flavor::DataCenter, DatasetConfig { issues: 60, ..Default::default() }, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let basic = "    type: basic\n    username: sim\n    password: ${PASSWORD}";
    let p = pipeline(&sim, dir.path(), "data_center", basic, "  issues: {sync: full_refresh}\n  boards: {}");
    run(&p).await;
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));

    let wrong = "    type: pat\n    token: ${EMAIL}";
    let p = pipeline(&sim, dir.path(), "data_center", wrong, "  issues: {sync: full_refresh}");
    let e = runner::run(&p, fast_retry()).await.unwrap_err().to_string();
    assert!(e.contains("401") && e.contains("PAT"), "{e}");
    assert!(!e.contains(sim.email()), "no credential in errors: {e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storm_of_429s_5xx_and_drops_still_yields_the_truth() {
    let behaviour = Behaviour { throttle_every: Some(5), error_rate: 0.05, drop_rate: 0.02, ..Behaviour::default() };
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 1100, ..Default::default() }, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, ALL_OBJECTS);
    let report = run(&p).await;
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    assert_eq!(table(dir.path(), "users").await.num_rows(), 40);
    assert!(
        report.requests.throttled > 0 && report.requests.retries >= report.requests.throttled,
        "{:?}",
        report.requests
    );
    assert!(sim.requests_with_status(SEARCH, 429) > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_without_email_are_reported_once_with_the_fix() {
    let behaviour = Behaviour { user_emails_visible: false, ..Behaviour::default() };
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 10, ..Default::default() }, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, "  users: {}");
    let report = run(&p).await;
    let users = object(&report, "users");
    assert_eq!(users.warnings.len(), 1, "{:?}", users.warnings);
    assert!(users.warnings[0].fix.contains("read:jira-user"));
    assert!(table(dir.path(), "users").await.column_by_name("emailAddress").unwrap().null_count() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lookback_catches_edits_the_search_index_showed_late() {
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 300, ..Default::default() }, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, "  issues: {lookback: 1m}");
    run(&p).await;
    // Two edits the index shows at once, then four it shows only 1.5 s later.
    sim.edit_issues(0, 1, 2);
    sim.set_behaviour(Behaviour { index_lag: Duration::from_millis(1500), ..Behaviour::default() });
    let late = sim.edit_issues(10, 7, 4);
    // This run sees the first two and commits a cursor later than the four hidden edits.
    let blind = run(&p).await;
    assert_eq!(object(&blind, "issues").rows_written, 2);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    // The next window starts a minute before that cursor, so the late edits are found.
    let caught = run(&p).await;
    assert!(object(&caught, "issues").rows_written >= 4, "{:?}", object(&caught, "issues"));
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    assert_eq!(late.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_rate_cap_keeps_under_the_sites_limit() {
    // The site answers 429 above 20 requests a second; jirapipe is capped at 20.
    let behaviour = Behaviour { rate_limit_per_sec: Some(20), ..Behaviour::default() };
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 1500, ..Default::default() }, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let mut p = pipeline(
        &sim,
        dir.path(),
        "cloud",
        API_TOKEN,
        "  issues: {fields: {include: [summary, updated]}}\n  users: {}",
    );
    p.source.requests_per_second = 20.0;
    let started = std::time::Instant::now();
    let report = run(&p).await;
    let elapsed = started.elapsed().as_secs_f64();
    let requests = report.requests.requests as f64;
    assert_eq!(report.requests.throttled, 0, "{:?}", report.requests);
    assert!(requests / elapsed <= 21.0, "{requests} requests in {elapsed:.2}s exceed the cap");
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cap_above_the_sites_limit_slows_down_instead_of_failing() {
    // The site allows 10 requests a second; jirapipe is told 40, with the default retries.
    let behaviour = Behaviour { rate_limit_per_sec: Some(10), ..Behaviour::default() };
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 3000, ..Default::default() }, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let mut p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, "  issues: {fields: {include: [summary, updated]}}");
    p.source.requests_per_second = 40.0;
    p.source.concurrency = 8;
    let report = runner::run(&p, RetryConfig::default()).await.expect("the run adapts to the site's limit");
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    let r = report.requests;
    assert!(r.throttled > 0, "the cap was above the limit: {r:?}");
    // Each 429 is a wasted request; adapting keeps them a small share of the run.
    assert!(r.throttled * 3 < r.requests, "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_select_columns_of_every_object_and_skip_board_configurations() {
    let data = DatasetConfig { issues: 20, boards: 5, ..Default::default() };
    let sim = sim(Flavor::Cloud, data, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let objects = "  boards: {fields: {exclude: [filter_id, columns]}}\n  users: {fields: {include: [displayName]}}";
    let p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, objects);
    run(&p).await;
    let boards = table(dir.path(), "boards").await;
    assert_eq!(boards.num_rows(), 5);
    assert!(boards.column_by_name("filter_id").is_none() && boards.column_by_name("name").is_some());
    let configs = sim.request_log().iter().filter(|(p, _, _)| p.ends_with("/configuration")).count();
    assert_eq!(configs, 0, "no configuration request when its columns are left out");
    let users = table(dir.path(), "users").await;
    let names: Vec<String> = users.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["id", "displayName", "_extracted_at", "_run_id"]);

    let typo = pipeline(&sim, dir.path(), "cloud", API_TOKEN, "  users: {fields: {include: [email]}}");
    let e = runner::run(&typo, fast_retry()).await.unwrap_err();
    assert!(e.to_string().contains("`email`") && e.to_string().contains("emailAddress"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_without_jira_software_skips_boards_and_the_run_goes_on() {
    let behaviour = Behaviour { jira_software: false, ..Behaviour::default() };
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 30, ..Default::default() }, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        &sim,
        dir.path(),
        "cloud",
        API_TOKEN,
        "  issues: {fields: {include: [summary, updated]}}\n  boards: {}",
    );
    let report = run(&p).await;
    let boards = object(&report, "boards");
    assert_eq!((boards.rows_written, boards.skipped), (0, 1), "{boards:?}");
    assert!(boards.warnings[0].fix.contains("Jira Software"), "{:?}", boards.warnings);
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
}

/// Rich text reads the same from Cloud's ADF and Data Center's wiki markup: the simulator sends
/// every 7th described issue a description with a heading, marks, a link, lists, code, an
/// image, a mention and a table, as ADF on v3 and as wiki markup on v2.
#[tokio::test(flavor = "multi_thread")]
async fn rich_text_reads_the_same_from_cloud_adf_and_data_center_wiki_markup() {
    let data = DatasetConfig { issues: 60, ..Default::default() };
    let d = jira_sim::Dataset::new(data.clone(), "http://unused");
    let objects = "  issues: {sync: full_refresh, fields: {include: [summary, description]}}";
    let mut texts = Vec::new();
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let sim = sim(flavor, data.clone(), Behaviour::default()).await;
        let dir = tempfile::tempdir().unwrap();
        run(&pipeline(&sim, dir.path(), deployment, auth, objects)).await;
        let b = table(dir.path(), "issues").await;
        let (keys, description) = (strings(&b, "key"), b.column_by_name("description").unwrap().as_string::<i32>());
        let got: std::collections::BTreeMap<String, Option<String>> = (0..b.num_rows())
            .map(|r| (keys[r].clone(), description.is_valid(r).then(|| description.value(r).into())))
            .collect();
        for i in 0..60 {
            let want = common::description_text(&d, i, flavor == Flavor::DataCenter);
            assert_eq!(got[&d.issue_key(i)], want, "{deployment}: description of {}", d.issue_key(i));
        }
        for text in got.values().flatten() {
            for markup in ["{code", "h2.", "[~", "||", "|Summary", "*", "!screenshot", "{{"] {
                assert!(!text.contains(markup), "{deployment}: {markup} left in {text:?}");
            }
        }
        texts.push(got);
    }
    let rich: Vec<&String> =
        texts[0].iter().filter(|(_, t)| t.as_ref().is_some_and(|t| t.contains('\t'))).map(|(k, _)| k).collect();
    assert!(rich.len() >= 3, "the data set has rich descriptions: {rich:?}");
    for key in rich {
        // Word for word the same but for the mention: ADF shows the display name, wiki markup
        // only the username.
        let (cloud, dc) = (texts[0][key].as_deref().unwrap(), texts[1][key].as_deref().unwrap());
        let without_mention =
            |t: &str| t.lines().filter(|l| !l.starts_with("Assigned to @")).collect::<Vec<_>>().join("\n");
        assert_eq!(without_mention(cloud), without_mention(dc), "{key}");
        assert_ne!(cloud, dc, "{key}: the mention differs");
    }
}
