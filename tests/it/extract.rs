//! The Jira client end to end against jira-sim over HTTP: every auth method, all five objects
//! on Cloud and Data Center, incremental cursors (edits between and during runs, another time
//! zone), Data Center's 10,000-result window, a storm of faults, and what gets skipped.
//! Every table is read back and compared with what the simulator holds.

use std::path::Path;
use std::time::Duration;

use deltalake::arrow::array::{Array, AsArray, RecordBatch};
use deltalake::arrow::datatypes::TimestampMicrosecondType;
use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::config::Pipeline;
use jirapipe::jira::RetryConfig;
use jirapipe::runner::{self, RunReport};

use crate::common::{self, API_TOKEN, PAT, PipelineYaml, object, sim_vars};

const SEARCH: &str = "/rest/api/3/search/jql";
const BULK: &str = "/rest/api/3/issue/bulkfetch";

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

/// A pipeline for `sim` writing under `dir/lake`, with `auth` and `objects` blocks as YAML.
fn pipeline(sim: &RunningSim, dir: &Path, deployment: &str, auth: &str, objects: &str) -> Pipeline {
    PipelineYaml::new("t", objects)
        .deployment(deployment)
        .source("concurrency", "4")
        .source("requests_per_second", "500")
        .auth(auth)
        .load(dir, &sim_vars(sim))
}

const ALL_OBJECTS: &str = "  issues: {sync: incremental, fields: {include: [summary, updated, status]}}\
    \n  projects: {}\n  users: {}\n  boards: {}\n  fields: {}";

async fn run(p: &Pipeline) -> RunReport {
    common::run(p, fast_retry()).await
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
    let (_, rows) = common::python_rows(dir.path(), "issues");
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
            // Once the fetch is under way, edit issues of the first batches (already read) and
            // of the last ones (not read yet).
            while sim.requests(BULK) < 4 {
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
async fn data_center_pat_pages_past_its_result_window_and_reads_dates_in_another_time_zone() {
    // The site's result window (10,000 by default) set to 2,000 by its admin.
    let data = DatasetConfig { issues: 2_100, time_zone: chrono_tz::Asia::Kolkata, ..Default::default() };
    let sim = sim(Flavor::DataCenter, data, Behaviour { search_result_window: 2_000, ..Behaviour::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let objects = "  issues: {sync: incremental, fields: {include: [summary, updated]}}\
        \n  projects: {}\n  users: {}\n  fields: {}";
    let p = pipeline(&sim, dir.path(), "data_center", PAT, objects);
    let first = run(&p).await;
    let issues = object(&first, "issues");
    assert_eq!((issues.rows_written, issues.expected), (2_100, Some(2_100)));
    // Datetimes rendered as +0530 land as the same instants in UTC.
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    assert_eq!(table(dir.path(), "projects").await.num_rows(), 5);
    let users = table(dir.path(), "users").await;
    assert!(strings(&users, "id").iter().all(|k| k.starts_with("JIRAUSER")), "Data Center users are keyed by key");

    sim.edit_issues(100, 197, 9);
    let second = run(&p).await;
    assert_eq!(object(&second, "issues").rows_written, 9);
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    assert_eq!(sim.requests_with_status("/rest/api/2/search", 500), 0, "no page past the result window");
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_basic_auth_and_wrong_credentials() {
    let sim = sim(Flavor::DataCenter, DatasetConfig { issues: 60, ..Default::default() }, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let basic = "    type: basic\n    username: sim\n    password: ${JIRA_PASSWORD}";
    let p = pipeline(&sim, dir.path(), "data_center", basic, "  issues: {sync: full_refresh}\n  boards: {}");
    run(&p).await;
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));

    let wrong = "    type: pat\n    token: ${JIRA_EMAIL}";
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
    assert!(sim.requests_with_status(SEARCH, 429) + sim.requests_with_status(BULK, 429) > 0);
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
    // The site allows 3 requests a second; jirapipe is told 40, with the default retries. (At 5
    // or 10 a second, a 2-core machine loaded by other builds fetched too slowly to reach the
    // limit at all; 8 requests in flight at once exceed 3 a second however slow the machine.)
    let behaviour = Behaviour { rate_limit_per_sec: Some(3), ..Behaviour::default() };
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 3000, ..Default::default() }, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let mut p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, "  issues: {fields: {include: [summary, updated]}}");
    p.source.requests_per_second = 40.0;
    p.source.concurrency = 8;
    let report = runner::run(&p, RetryConfig::default()).await.expect("the run adapts to the site's limit");
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    let r = report.requests;
    assert!(r.throttled > 0, "the cap was above the limit: {r:?}");
    // Each 429 is a wasted request; adapting keeps them well under half of the run. (Cutting a
    // fifth per 429 from 40 a second down to 3 takes about twelve of them by design.)
    assert!(r.throttled * 2 < r.requests, "{r:?}");
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

// ---------------------------------------------------------------------------------------------
// Real Jira semantics on multi-project sites (issue 18): ids interleave across projects, `id`
// comparisons are key comparisons within a project, Data Center's 10,000-result limit.

/// `(id, key, updated µs, summary, status name)` of the issues table, in id order.
async fn issue_values(dir: &Path) -> Vec<(u64, String, i64, String, String)> {
    let b = table(dir, "issues").await;
    let status = b.column_by_name("status").unwrap().as_struct();
    let status_name = status.column_by_name("name").unwrap().as_string::<i32>().clone();
    let summary = strings(&b, "summary");
    let base = issue_rows(dir).await;
    let ids = strings(&b, "id");
    let mut extra: Vec<(u64, String, String)> = (0..b.num_rows())
        .map(|r| (ids[r].parse().unwrap(), summary[r].clone(), status_name.value(r).to_string()))
        .collect();
    extra.sort();
    assert_eq!(base.len(), extra.len());
    base.into_iter().zip(extra).map(|((id, key, u), (_, s, st))| (id, key, u, s, st)).collect()
}

/// The same values from the simulator, for every issue search can show now.
fn truth_values(sim: &RunningSim) -> Vec<(u64, String, i64, String, String)> {
    truth(sim)
        .into_iter()
        .map(|(id, key, u)| {
            let f = sim.issue_fields(id).unwrap();
            (id, key, u, f["summary"].as_str().unwrap().to_string(), f["status"]["name"].as_str().unwrap().to_string())
        })
        .collect()
}

#[track_caller]
fn assert_values(got: &[(u64, String, i64, String, String)], want: &[(u64, String, i64, String, String)]) {
    if got != want {
        let first = got.iter().zip(want).position(|(g, w)| g != w);
        panic!(
            "table has {} issues, simulator {}; first difference at {first:?}: {:?} vs {:?}",
            got.len(),
            want.len(),
            first.and_then(|i| got.get(i)),
            first.and_then(|i| want.get(i))
        );
    }
}

/// Edits and creates issues once `path` has been asked `after` times (the run is fetching).
fn edit_during_run(sim: &std::sync::Arc<RunningSim>, path: &'static str, after: u64) -> tokio::task::JoinHandle<()> {
    let sim = sim.clone();
    tokio::spawn(async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while sim.requests(path) < after && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sim.edit_issues(1, 7, 20);
        sim.create_issues(3);
    })
}

async fn multi_project_site(flavor: Flavor, issues: u64, deployment: &str, auth: &str, fetch_path: &'static str) {
    // 429s on every 9th request, search pages that take a while, 4 fetch workers; on Data
    // Center a result window of one page (10,000 by default; an admin may set it lower): the
    // listing must never page past it, whatever its size.
    let behaviour = Behaviour {
        throttle_every: Some(9),
        search_latency: Duration::from_millis(5),
        search_result_window: 1_000,
        ..Behaviour::default()
    };
    let data = DatasetConfig { issues, projects: 3, ..Default::default() };
    let sim = std::sync::Arc::new(sim(flavor, data, behaviour).await);
    let objects = "  issues: {sync: SYNC, fields: {include: [summary, status, updated]}}";
    for sync in ["full_refresh", "incremental"] {
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(&sim, dir.path(), deployment, auth, &objects.replace("SYNC", sync));
        let editor = edit_during_run(&sim, fetch_path, sim.requests(fetch_path) + 3);
        let first = run(&p).await;
        editor.await.unwrap();
        assert_eq!(object(&first, "issues").rows_rejected, 0);
        assert!(first.requests.throttled > 0, "the site throttled: {:?}", first.requests);
        // The next run picks up what changed during the first: every issue exactly once, each
        // value the simulator's.
        run(&p).await;
        assert_values(&issue_values(dir.path()).await, &truth_values(&sim));
    }
    assert_eq!(sim.requests_with_status("/rest/api/2/search", 500), 0, "no page past the result window");
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_multi_project_site_reads_every_issue_exactly_once() {
    multi_project_site(Flavor::Cloud, 3_000, "cloud", API_TOKEN, BULK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_multi_project_site_past_its_result_window_reads_every_issue_exactly_once() {
    multi_project_site(Flavor::DataCenter, 3_000, "data_center", PAT, "/rest/api/2/search").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn issues_deleted_between_listing_and_fetch_are_reported_not_failed() {
    let behaviour = Behaviour { search_latency: Duration::from_millis(30), ..Behaviour::default() };
    let sim =
        std::sync::Arc::new(sim(Flavor::Cloud, DatasetConfig { issues: 2_000, ..Default::default() }, behaviour).await);
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        &sim,
        dir.path(),
        "cloud",
        API_TOKEN,
        "  issues: {sync: full_refresh, fields: {include: [summary, updated]}}",
    );
    let deleted: Vec<u64> = (11_990..11_995).collect();
    let deleter = {
        let (sim, deleted) = (sim.clone(), deleted.clone());
        tokio::spawn(async move {
            // The listing is done once the first batch is being fetched; the last batches are
            // fetched much later.
            while sim.requests(BULK) < 1 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            sim.delete_issues(&deleted)
        })
    };
    let report = run(&p).await;
    assert_eq!(deleter.await.unwrap(), 5);
    let issues = object(&report, "issues");
    assert_eq!(issues.rows_written, 1_995);
    let warning = issues.warnings.iter().find(|w| w.message.contains("deleted or hidden")).expect("reported");
    assert!(warning.message.contains("5 issue(s)") && warning.message.contains("11990"), "{warning:?}");
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    // Each was looked up once on its own to tell deleted from dropped.
    assert_eq!(sim.requests_with_status("/rest/api/3/issue/11990", 404), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_that_silently_drops_fetched_issues_fails_and_leaves_the_table() {
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let sim = sim(flavor, DatasetConfig { issues: 600, ..Default::default() }, Behaviour::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(
            &sim,
            dir.path(),
            deployment,
            auth,
            "  issues: {sync: incremental, fields: {include: [summary, updated]}}",
        );
        run(&p).await;
        let before = issue_rows(dir.path()).await;
        let commits = common::versions(dir.path(), "issues");
        // Every 50th issue now vanishes from fetches while listings and GET still show it.
        sim.set_behaviour(Behaviour { drop_from_fetch_every: Some(50), ..Behaviour::default() });
        sim.edit_issues(0, 1, 200);
        let e = runner::run(&p, fast_retry()).await.unwrap_err().to_string();
        assert!(e.contains("4 of the 200 issues listed did not come back") && e.contains("10049"), "{deployment}: {e}");
        assert_eq!(common::versions(dir.path(), "issues"), commits, "{deployment}: no commit");
        assert_eq!(issue_rows(dir.path()).await, before, "{deployment}: table unchanged");
        // Once the site behaves, the next run catches up.
        sim.set_behaviour(Behaviour::default());
        run(&p).await;
        assert_same(&issue_rows(dir.path()).await, &truth(&sim));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_selected_fields_are_asked_for_and_no_jql_compares_ids() {
    let sim = sim(Flavor::Cloud, DatasetConfig { issues: 250, ..Default::default() }, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "cloud", API_TOKEN, "  issues: {fields: {include: [summary, status]}}");
    sim.record_requests();
    run(&p).await;
    let recorded = sim.recorded_requests();
    let bulk: Vec<_> = recorded.iter().filter(|r| r.path == BULK).collect();
    assert_eq!(bulk.len(), 3, "250 issues in batches of 100");
    for r in &bulk {
        let body = r.body.as_ref().unwrap();
        let mut fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        fields.sort();
        // `project` feeds `_project_id`, which delete reconciliation needs.
        assert_eq!(fields, ["key", "project", "status", "summary", "updated"]);
        assert!(body["issueIdsOrKeys"].as_array().unwrap().len() <= 100);
    }
    let listing: Vec<_> = recorded.iter().filter(|r| r.path == SEARCH).collect();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].param("fields").as_deref(), Some("id"));
    assert_no_id_comparisons(&recorded);
}

/// No JQL sent compares an issue id or key with `<`, `<=`, `>`, `>=`.
fn assert_no_id_comparisons(recorded: &[jira_sim::RecordedRequest]) {
    let re_like = |jql: &str| {
        let j = jql.to_ascii_lowercase().replace(' ', "");
        ["id>", "id<", "key>", "key<", "issuekey>", "issuekey<", "issue>", "issue<"].iter().any(|p| j.contains(p))
    };
    for r in recorded {
        let jql = r.param("jql").or_else(|| r.body.as_ref().and_then(|b| b["jql"].as_str().map(String::from)));
        if let Some(jql) = jql {
            assert!(!re_like(&jql), "{} sent `{jql}`", r.path);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_field_list_goes_in_post_bodies_on_data_center() {
    // 300 custom fields: the field list is far longer than a URL should carry.
    let data = DatasetConfig { issues: 120, extra_custom_fields: 287, ..Default::default() };
    let sim = sim(Flavor::DataCenter, data, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "data_center", PAT, "  issues: {sync: full_refresh}");
    sim.record_requests();
    let report = run(&p).await;
    assert_eq!(object(&report, "issues").rows_rejected, 0);
    let recorded = sim.recorded_requests();
    let searches: Vec<_> = recorded.iter().filter(|r| r.path == "/rest/api/2/search").collect();
    let fetches: Vec<_> = searches.iter().filter(|r| r.method == "POST").collect();
    assert!(!fetches.is_empty());
    for r in &fetches {
        let fields = r.body.as_ref().unwrap()["fields"].as_array().unwrap().len();
        assert!(fields > 300, "{fields} fields");
        assert_eq!(r.body.as_ref().unwrap()["validateQuery"], false);
    }
    for r in searches.iter().filter(|r| r.method == "GET") {
        assert!(r.query.len() < 2_000, "GET with a long query: {}", r.query.len());
    }
    assert_no_id_comparisons(&recorded);
    assert_eq!(table(dir.path(), "issues").await.num_rows(), 120);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_system_field_lands_typed_or_as_json_and_rich_text_as_plain_text() {
    for (flavor, deployment, auth) in [(Flavor::Cloud, "cloud", API_TOKEN), (Flavor::DataCenter, "data_center", PAT)] {
        let sim = sim(flavor, DatasetConfig { issues: 300, ..Default::default() }, Behaviour::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(&sim, dir.path(), deployment, auth, "  issues: {sync: full_refresh}");
        let report = run(&p).await;
        let issues = object(&report, "issues");
        assert_eq!((issues.rows_written, issues.rows_rejected), (300, 0), "{deployment}: {issues:?}");
        let b = table(dir.path(), "issues").await;
        // Every system field the site lists with a schema is a column.
        let fields: Vec<serde_json::Value> = sim.dataset().fields();
        for f in fields.iter().filter(|f| f["custom"] == false && f.get("schema").is_some()) {
            let id = f["id"].as_str().unwrap();
            assert!(b.column_by_name(id).is_some(), "{deployment}: no column {id}");
        }
        // `environment` is rich text: ADF on Cloud, wiki markup on Data Center; plain text here.
        let env = b.column_by_name("environment").unwrap().as_string::<i32>().clone();
        let ids = strings(&b, "id");
        let mut seen = 0;
        for (r, id) in ids.iter().enumerate() {
            let want = sim.issue_fields(id.parse().unwrap()).unwrap()["environment"].clone();
            if want.is_null() {
                assert!(env.is_null(r));
                continue;
            }
            seen += 1;
            let text = env.value(r);
            assert!(!text.is_empty() && !text.contains("\"type\"") && !text.contains("{code"), "{deployment}: {text}");
            assert_eq!(text, jirapipe::transform::adf::to_text(&want), "{deployment}");
        }
        assert!(seen > 10, "{deployment}: environments seen {seen}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_projects_have_description_and_lead_and_a_missing_board_config_keeps_its_row() {
    let mut behaviour = Behaviour::default();
    behaviour.board_configs_missing.insert(3);
    let sim = sim(Flavor::DataCenter, DatasetConfig { issues: 20, ..Default::default() }, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, dir.path(), "data_center", PAT, "  projects: {}\n  boards: {}");
    let report = run(&p).await;
    let projects = table(dir.path(), "projects").await;
    for col in ["description", "lead"] {
        let c = projects.column_by_name(col).unwrap();
        assert_eq!(c.null_count(), 0, "Data Center projects are asked for `{col}`");
    }
    let boards = table(dir.path(), "boards").await;
    assert_eq!(boards.num_rows(), 8);
    let filter = boards.column_by_name("filter_id").unwrap();
    for (r, id) in strings(&boards, "id").iter().enumerate() {
        assert_eq!(filter.is_null(r), id == "3" || id == "7", "board {id}");
    }
    let b = object(&report, "boards");
    assert_eq!(b.skipped, 2);
    assert!(b.warnings.iter().any(|w| w.message.contains("not found (HTTP 404): 3")), "{:?}", b.warnings);
}

/// A full refresh of every issue on a Data Center `sim`, which must write `expected` rows equal
/// to the truth; returns the listing's search requests.
async fn listed_whole_on_dc(sim: &RunningSim, expected: usize) -> Vec<jira_sim::RecordedRequest> {
    let dir = tempfile::tempdir().unwrap();
    let objects = "  issues: {sync: full_refresh, fields: {include: [summary, updated]}}";
    let p = pipeline(sim, dir.path(), "data_center", PAT, objects);
    sim.record_requests();
    let report = run(&p).await;
    assert_eq!(object(&report, "issues").rows_written, expected);
    assert_same(&issue_rows(dir.path()).await, &truth(sim));
    sim.recorded_requests().into_iter().filter(|r| r.method == "GET" && r.path == "/rest/api/2/search").collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_listing_pages_through_crowded_minutes_at_either_created_resolution() {
    for minute_index in [false, true] {
        let behaviour = Behaviour { created_indexed_to_minute: minute_index, ..Behaviour::default() };
        let sim = sim(Flavor::DataCenter, DatasetConfig { issues: 700, ..Default::default() }, behaviour).await;
        // A bulk import: 2,600 issues created within a second, more than two pages of one minute.
        sim.create_issues(2_600);
        let listing = listed_whole_on_dc(&sim, 3_300).await;
        // The crowded minute was paged with `startAt` inside its window, never past 10,000.
        assert!(listing.iter().any(|r| r.param("startAt").is_some_and(|s| s != "0")), "minute index: {minute_index}");
        assert!(listing.iter().all(|r| r.param("startAt").unwrap().parse::<u64>().unwrap() < 9_000));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_center_site_whose_first_issues_share_one_minute_is_listed_whole() {
    for minute_index in [false, true] {
        let behaviour = Behaviour { created_indexed_to_minute: minute_index, ..Behaviour::default() };
        // A site seeded by a CSV import: its first 2,500 issues were created within one minute,
        // so the first page ends in the minute it starts in and the next window starts there.
        let data = DatasetConfig { issues: 3_100, imported_at_start: 2_500, ..Default::default() };
        let sim = sim(Flavor::DataCenter, data, behaviour).await;
        // The imported minute was paged with `startAt` inside its own window.
        let deeper = listed_whole_on_dc(&sim, 3_100)
            .await
            .into_iter()
            .filter(|r| {
                r.param("startAt").is_some_and(|s| s != "0") && r.param("jql").is_some_and(|j| j.contains("created >="))
            })
            .count();
        assert!(deeper >= 2, "minute index: {minute_index}: {deeper} deeper pages");
    }
    // A site that ignores `startAt` is still caught inside that minute, not read forever.
    let hostile = Behaviour { hostile: Some(jira_sim::Hostile::IgnoreStartAt), ..Behaviour::default() };
    let data = DatasetConfig { issues: 3_100, imported_at_start: 2_500, ..Default::default() };
    let sim = sim(Flavor::DataCenter, data, hostile).await;
    let dir = tempfile::tempdir().unwrap();
    let p =
        pipeline(&sim, dir.path(), "data_center", PAT, "  issues: {sync: full_refresh, fields: {include: [updated]}}");
    let e = runner::run(&p, fast_retry()).await.unwrap_err().to_string();
    assert!(e.contains("ignores `startAt`") && e.contains("startAt=1000"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_center_minute_past_the_result_limit_fails_naming_the_minute_and_the_way_out() {
    // A minute holding more issues than one window may page through.
    let data = DatasetConfig { issues: 10_600, imported_at_start: 10_500, ..Default::default() };
    let sim = sim(Flavor::DataCenter, data, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let p =
        pipeline(&sim, dir.path(), "data_center", PAT, "  issues: {sync: full_refresh, fields: {include: [updated]}}");
    let e = runner::run(&p, fast_retry()).await.unwrap_err().to_string();
    let minute = sim.issue_fields(10_000).unwrap()["created"].as_str().unwrap().to_string();
    let utc = chrono::DateTime::parse_from_str(&minute, "%Y-%m-%dT%H:%M:%S%.3f%z").unwrap().with_timezone(&chrono::Utc);
    let at = utc.format("%Y-%m-%dT%H:%M:00").to_string();
    assert!(e.contains("more than 10000 issues") && e.contains("within one minute") && e.contains(&at), "{at}: {e}");
    assert!(e.contains("project ="), "the way out: {e}");
    assert!(!std::fs::exists(dir.path().join("lake").join("issues").join("_delta_log")).unwrap(), "no table");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloud_listing_survives_deletes_when_page_tokens_are_offsets() {
    let behaviour = Behaviour {
        cloud_tokens_are_offsets: true,
        search_latency: Duration::from_millis(150),
        ..Behaviour::default()
    };
    let sim = std::sync::Arc::new(
        sim(Flavor::Cloud, DatasetConfig { issues: 11_000, ..Default::default() }, behaviour).await,
    );
    let dir = tempfile::tempdir().unwrap();
    let p =
        pipeline(&sim, dir.path(), "cloud", API_TOKEN, "  issues: {sync: full_refresh, fields: {include: [updated]}}");
    let deleter = {
        let sim = sim.clone();
        tokio::spawn(async move {
            // After the first listing page: 40 issues it returned disappear, so with offsets the
            // next page starts 40 issues too late.
            while sim.requests(SEARCH) < 1 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            sim.delete_issues(&(10_100..10_140).collect::<Vec<u64>>())
        })
    };
    let report = run(&p).await;
    assert_eq!(deleter.await.unwrap(), 40);
    assert_eq!(object(&report, "issues").rows_written, 10_960);
    assert_same(&issue_rows(dir.path()).await, &truth(&sim));
}

/// The sprint column of the issues table, as Python reads it: issue id → the list of sprints,
/// each `(id, name, state, boardId, goal, startDate, endDate, completeDate)`.
type Sprints = Vec<(String, String, String, String, Option<String>, Option<i64>, Option<i64>, Option<i64>)>;

fn sprint_tuple(s: &serde_json::Value, time: impl Fn(&serde_json::Value) -> Option<i64>) -> Sprints {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.to_string(),
        v => v.as_str().unwrap_or_else(|| panic!("text in {s}")).to_string(),
    };
    s.as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            let (start, end, complete) = (time(&x["startDate"]), time(&x["endDate"]), time(&x["completeDate"]));
            (
                text(&x["id"]),
                text(&x["name"]),
                text(&x["state"]),
                text(&x["boardId"]),
                x["goal"].as_str().map(str::to_string),
                start,
                end,
                complete,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_sprint_strings_land_as_the_sprints_cloud_sends() {
    for objects in [false, true] {
        let behaviour = Behaviour { data_center_sprint_objects: objects, ..Behaviour::default() };
        let sim = sim(Flavor::DataCenter, DatasetConfig { issues: 300, ..Default::default() }, behaviour).await;
        // The site sends strings (or, switched, objects) for the Sprint field.
        let sent = sim.issue_fields(10_299).unwrap()["customfield_10020"].clone();
        assert_eq!(sent[0].is_string(), !objects, "{sent}");
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(
            &sim,
            dir.path(),
            "data_center",
            PAT,
            "  issues: {sync: full_refresh, fields: {include: [summary, customfield_10020]}}",
        );
        let report = run(&p).await;
        let issues = object(&report, "issues");
        assert_eq!((issues.rows_written, issues.rows_rejected), (300, 0), "objects: {objects}");
        assert!(!dir.path().join("lake").join("_rejects").join("_delta_log").exists(), "no rejects");
        let (schema, rows) = common::python_rows(dir.path(), "issues");
        assert!(schema["types"]["customfield_10020"].as_str().unwrap().starts_with("list<"), "{schema}");
        let iso = |v: &serde_json::Value| {
            v.as_str().map(|d| chrono::DateTime::parse_from_rfc3339(d).unwrap().timestamp_micros())
        };
        let (mut with_goal_comma, mut sprints) = (0, 0);
        for r in &rows {
            let id: u64 = r["id"].as_str().unwrap().parse().unwrap();
            let want = sprint_tuple(&sim.sprint_objects(id).unwrap(), iso);
            let got = sprint_tuple(&r["customfield_10020"], |v| v.as_i64());
            assert_eq!(got, want, "issue {id}, objects: {objects}");
            sprints += want.len();
            with_goal_comma += want.iter().filter(|s| s.4.as_deref().is_some_and(|g| g.contains(", "))).count();
        }
        assert!(sprints > 100 && with_goal_comma > 10, "{sprints} sprints, {with_goal_comma} goals with commas");
    }
}
