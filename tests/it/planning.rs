//! Sprints, versions and components against jira-sim on Cloud and Data Center: every row and
//! every column read back with Python deltalake and compared with what the site serves, the
//! objects the issues point at among them; a hashed component lead; a version added between
//! runs; `check`'s probes and `discover`'s columns.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use jirapipe::config::{ObjectKind, Pipeline};
use jirapipe::jira::RetryConfig;
use jirapipe::transform::mask::Masker;
use serde_json::{Value, json};

use crate::common::{self, PAT, PipelineYaml, object, python_rows, sim_vars};

const KEY: &str = "a-long-random-masking-key";
const OBJECTS: &str = "  sprints: {}\n  versions: {}\n  components: {hash: [lead.emailAddress]}";

async fn sim(flavor: Flavor, behaviour: Behaviour) -> RunningSim {
    let data = DatasetConfig { issues: 250, boards: 8, ..Default::default() };
    RunningSim::start(SimConfig { flavor, data, behaviour, ..Default::default() }).await.unwrap()
}

fn pipeline(sim: &RunningSim, flavor: Flavor, dir: &Path, objects: &str) -> Pipeline {
    let mut p = PipelineYaml::new("plan", objects)
        .source("requests_per_second", "500")
        .section("masking", "  key: ${JIRA_MASK_KEY}");
    if flavor == Flavor::DataCenter {
        p = p.deployment("data_center").auth(PAT);
    }
    p.load(dir, &sim_vars(sim).with("JIRA_MASK_KEY", KEY))
}

/// A Jira datetime as the table holds it: epoch microseconds; absent stays null.
fn micros(v: &Value) -> Value {
    match v.as_str() {
        Some(s) => json!(chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()),
        None => Value::Null,
    }
}

/// A JSON number or string id as the tables' text.
fn text(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

/// `rows` by their `id`.
fn by_id(rows: Vec<Value>) -> HashMap<String, Value> {
    rows.into_iter().map(|r| (r["id"].as_str().unwrap().to_string(), r)).collect()
}

fn or_null(v: &Value) -> Value {
    v.clone()
}

async fn tables_match(flavor: Flavor) {
    let dc = flavor == Flavor::DataCenter;
    let sim = sim(flavor, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let report = common::run(&pipeline(&sim, flavor, dir.path(), OBJECTS), RetryConfig::default()).await;

    // Sprints: one row per sprint, although boards list some twice.
    let truth = sim.sprints();
    let rows = by_id(python_rows(dir.path(), "sprints").1);
    assert_eq!(rows.len(), truth.len(), "{rows:?}");
    let listed: usize = (0..8).filter_map(|b| sim.dataset().board_sprints(b, dc)).map(|s| s.len()).sum();
    assert!(listed > truth.len(), "some sprints are listed by two boards ({listed} listings)");
    for s in &truth {
        let row = &rows[&text(&s["id"]).as_str().unwrap().to_string()];
        assert_eq!(row["name"], s["name"]);
        assert_eq!(row["state"], s["state"]);
        assert_eq!(row["start_date"], micros(&s["startDate"]), "{s}");
        assert_eq!(row["end_date"], micros(&s["endDate"]), "{s}");
        assert_eq!(row["complete_date"], micros(&s["completeDate"]), "{s}");
        assert_eq!(row["created_date"], micros(&s["createdDate"]), "{s}");
        assert_eq!(row["goal"], or_null(&s["goal"]));
        assert_eq!(row["origin_board_id"], text(&s["originBoardId"]));
    }
    let future: Vec<&Value> = rows.values().filter(|r| r["state"] == "future").collect();
    assert!(!future.is_empty() && future.iter().all(|r| r["start_date"].is_null() && r["end_date"].is_null()));
    assert_eq!(rows.values().filter(|r| r["state"] == "active").count(), 1);
    if dc {
        assert!(rows.values().all(|r| r["created_date"].is_null()), "Data Center sends no createdDate");
    } else {
        assert!(rows.values().all(|r| !r["created_date"].is_null()));
    }
    // Kanban boards (even ids) answer 400 and are passed over; board 7's filter is not shared.
    for kanban in [2, 4, 6, 8] {
        assert_eq!(sim.requests_with_status(&format!("/rest/agile/1.0/board/{kanban}/sprint"), 400), 1);
    }
    let sprints = object(&report, "sprints");
    assert_eq!((sprints.rows_written, sprints.skipped), (truth.len(), 1), "{sprints:?}");
    assert!(sprints.warnings.iter().any(|w| w.message.contains(": 7")), "{:?}", sprints.warnings);

    // Versions.
    let truth = sim.versions();
    let rows = by_id(python_rows(dir.path(), "versions").1);
    assert_eq!(rows.len(), truth.len());
    for v in &truth {
        let row = &rows[v["id"].as_str().unwrap()];
        assert_eq!(row["project_id"], text(&v["projectId"]));
        for (col, key) in [("name", "name"), ("description", "description"), ("archived", "archived")] {
            assert_eq!(row[col], v[key], "{col} of {v}");
        }
        assert_eq!(row["released"], v["released"]);
        assert_eq!(row["start_date"], or_null(&v["startDate"]), "{v}");
        assert_eq!(row["release_date"], or_null(&v["releaseDate"]), "{v}");
        assert_eq!(row["overdue"], or_null(&v["overdue"]), "{v}");
    }
    assert!(rows.values().any(|r| r["archived"] == true) && rows.values().any(|r| r["overdue"] == true));

    // Components, the lead's email hashed.
    let masker = Masker::new(KEY);
    let truth = sim.components();
    let rows = by_id(python_rows(dir.path(), "components").1);
    assert_eq!(rows.len(), truth.len());
    for c in &truth {
        let row = &rows[c["id"].as_str().unwrap()];
        assert_eq!(row["project_id"], text(&c["projectId"]));
        assert_eq!(row["name"], c["name"]);
        assert_eq!(row["description"], c["description"]);
        assert_eq!(row["assignee_type"], c["assigneeType"]);
        assert_eq!(row["real_assignee_type"], c["realAssigneeType"]);
        match c["issueCount"].as_u64() {
            Some(n) => assert_eq!(row["issue_count"].as_f64(), Some(n as f64), "{c}"),
            None => assert!(dc && row["issue_count"].is_null(), "{row}"),
        }
        match c.get("lead") {
            None => assert!(row["lead"].is_null(), "{row}"),
            Some(lead) => {
                for k in ["accountId", "displayName", "active", "name", "key", "accountType", "timeZone"] {
                    assert_eq!(row["lead"][k], or_null(&lead[k]), "lead.{k} of {c}");
                }
                let email = lead["emailAddress"].as_str().unwrap();
                assert_eq!(row["lead"]["emailAddress"], json!(masker.hash(email)), "hashed");
            }
        }
    }
    assert!(rows.values().any(|r| r["lead"].is_null()) && rows.values().any(|r| !r["lead"].is_null()));

    // What the issues point at is there, and more: an empty sprint, an archived version and a
    // component no issue is in.
    let (sprint_ids, version_ids, component_ids) = referenced(&sim);
    let table_ids = |t: &str| -> HashSet<String> { by_id(python_rows(dir.path(), t).1).into_keys().collect() };
    for (table, used) in [("sprints", &sprint_ids), ("versions", &version_ids), ("components", &component_ids)] {
        let all = table_ids(table);
        assert!(used.is_subset(&all), "{table}: issues name {:?}, not in the table", used.difference(&all));
        assert!(all.len() > used.len(), "{table}: the site has some no issue uses");
    }
}

/// The sprint, version and component ids the site's issues name.
fn referenced(sim: &RunningSim) -> (HashSet<String>, HashSet<String>, HashSet<String>) {
    let (mut s, mut v, mut c) = (HashSet::new(), HashSet::new(), HashSet::new());
    for i in 0..250 {
        let f = sim.dataset().issue_fields(i);
        let ids = |field: &str| -> Vec<String> {
            f[field].as_array().into_iter().flatten().map(|x| text(&x["id"]).as_str().unwrap().to_string()).collect()
        };
        s.extend(ids("customfield_10020"));
        v.extend(ids("fixVersions"));
        v.extend(ids("versions"));
        c.extend(ids("components"));
    }
    assert!(!s.is_empty() && !v.is_empty() && !c.is_empty());
    (s, v, c)
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_tables_match_the_site_value_by_value() {
    tables_match(Flavor::Cloud).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_tables_match_the_site_value_by_value() {
    tables_match(Flavor::DataCenter).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_added_between_runs_is_in_the_next_run() {
    let sim = sim(Flavor::Cloud, Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&sim, Flavor::Cloud, dir.path(), "  versions: {}");
    common::run(&p, RetryConfig::default()).await;
    let before = python_rows(dir.path(), "versions").1.len();
    let added = sim.add_version(1);
    let report = common::run(&p, RetryConfig::default()).await;
    assert_eq!(object(&report, "versions").rows_written, before + 1);
    let rows = by_id(python_rows(dir.path(), "versions").1);
    assert_eq!(rows.len(), before + 1, "a full refresh, not an append");
    let row = &rows[added["id"].as_str().unwrap()];
    assert_eq!(row["name"], added["name"]);
    assert_eq!(row["project_id"], json!("10001"));
    assert!(row["release_date"].is_null() && row["overdue"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn sprints_on_a_site_without_jira_software_are_skipped_with_a_warning() {
    let sim = sim(Flavor::Cloud, Behaviour { jira_software: false, ..Behaviour::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let report = common::run(&pipeline(&sim, Flavor::Cloud, dir.path(), "  sprints: {}"), RetryConfig::default()).await;
    let sprints = object(&report, "sprints");
    assert_eq!((sprints.rows_written, sprints.skipped), (0, 1), "{sprints:?}");
    assert!(sprints.warnings.iter().any(|w| w.fix.contains("Jira Software")), "{:?}", sprints.warnings);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_probes_them_and_warns_without_jira_software() {
    use jirapipe::check::{self, Status};
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(flavor, Behaviour::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let r = check::check(&pipeline(&sim, flavor, dir.path(), OBJECTS), check::probe_retry()).await;
        assert!(r.passed, "{r:#?}");
        for t in ["sprints", "versions", "components"] {
            let probe = r.probes.iter().find(|p| p.target == t).unwrap_or_else(|| panic!("no {t}: {r:#?}"));
            assert_eq!(probe.status, Status::Ok, "{probe:#?}");
            assert!(probe.records.as_deref().is_some_and(|n| n != "0+"), "{probe:#?}");
        }
    }
    let sim = sim(Flavor::Cloud, Behaviour { jira_software: false, ..Behaviour::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let r = check::check(&pipeline(&sim, Flavor::Cloud, dir.path(), OBJECTS), check::probe_retry()).await;
    let probe = r.probes.iter().find(|p| p.target == "sprints").unwrap();
    let f =
        probe.findings.iter().find(|f| f.diagnosis.code == "sprints-unavailable").unwrap_or_else(|| panic!("{r:#?}"));
    assert_eq!(f.status, Status::Warn);
    assert!(f.diagnosis.fix.contains("remove `sprints`"), "{:?}", f.diagnosis);
}

#[test]
fn discover_lists_their_columns_and_flags_the_component_lead() {
    let names = |k| jirapipe::discover::fields_of(k, &[]).into_iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        names(ObjectKind::Sprints),
        ["id", "name", "state", "start_date", "end_date", "complete_date", "created_date", "goal", "origin_board_id"]
    );
    assert_eq!(
        names(ObjectKind::Versions),
        ["id", "project_id", "name", "description", "archived", "released", "start_date", "release_date", "overdue"]
    );
    let components = jirapipe::discover::fields_of(ObjectKind::Components, &[]);
    let lead = components.iter().find(|f| f.id == "lead").unwrap();
    assert_eq!(lead.pii, ["lead"]);
    assert!(lead.column_type.contains("emailAddress"), "{}", lead.column_type);
    assert!(components.iter().filter(|f| f.id != "lead").all(|f| f.pii.is_empty()));
}

/// A site that answers every request with `body`, whatever `startAt` asks for.
async fn stuck_site(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(body.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_does_not_move_start_at_ends_with_an_error_naming_the_endpoint() {
    let pages = [
        // Echoes `startAt=0` whatever was asked.
        r#"{"startAt":0,"maxResults":50,"isLast":false,"values":[{"id":"1"}]}"#,
        // Echoes nothing, and sends the same page again.
        r#"{"maxResults":50,"isLast":false,"values":[{"id":"1"}]}"#,
    ];
    for (body, says) in pages.into_iter().zip(["asked for startAt=1", "repeats the previous one"]) {
        let site = stuck_site(body).await;
        let dir = tempfile::tempdir().unwrap();
        let p = PipelineYaml::new("stuck", "  versions: {}").site(&site).load(
            dir.path(),
            &jirapipe::config::Vars::only(vec![("JIRA_EMAIL", "e".to_string()), ("JIRA_API_TOKEN", "t".to_string())]),
        );
        let client = jirapipe::jira::JiraClient::connect(&p.source, RetryConfig::default()).await.unwrap();
        let mut pager = client.project_versions("ENG");
        assert_eq!(pager.next().await.unwrap().unwrap().len(), 1);
        let e = tokio::time::timeout(std::time::Duration::from_secs(30), pager.next()).await.unwrap().unwrap_err();
        assert!(e.to_string().contains("rest/api/3/project/ENG/version") && e.to_string().contains(says), "{e}");
    }
}
