//! The simulator over real HTTP, checked against Atlassian's OpenAPI specs and against the
//! behaviours jirapipe depends on: paging, limits, JQL time zones, auth, faults, permissions
//! and change between runs.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use jira_sim::{Behaviour, BurstLimit, Dataset, DatasetConfig, Flavor, PointsQuota, RunningSim, SimConfig};
use serde_json::{Value, json};

fn spec(name: &str) -> &'static Value {
    static PLATFORM: OnceLock<Value> = OnceLock::new();
    static AGILE: OnceLock<Value> = OnceLock::new();
    let cell = if name == "platform" { &PLATFORM } else { &AGILE };
    cell.get_or_init(|| {
        let file = if name == "platform" { "jira-cloud-platform-v3.json" } else { "jira-software-agile-v3.json" };
        // Looked up when the test runs, not baked in when it was built: a build directory shared
        // between clones must not point a test at another clone's files.
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR");
        let path = format!("{dir}/openapi/{file}");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
    })
}

/// Jira renders datetimes with an offset without a colon (`2026-03-01T09:15:00.000-0500`, as in
/// Atlassian's own examples), which the specs' `date-time` format (RFC 3339) does not accept:
/// such strings are validated as the RFC 3339 instant they denote.
fn rfc3339_offsets(v: &Value) -> Value {
    match v {
        Value::String(s) => match chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%z") {
            Ok(t) if s.len() == 28 => json!(t.to_rfc3339()),
            _ => v.clone(),
        },
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), rfc3339_offsets(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(rfc3339_offsets).collect()),
        other => other.clone(),
    }
}

/// Validates `body` against a schema of the spec, resolving `#/components/...` references.
#[track_caller]
fn assert_schema(spec_name: &str, schema: Value, body: &Value) {
    let body = &rfc3339_offsets(body);
    let spec = spec(spec_name);
    let mut root = schema;
    root["components"] = spec["components"].clone();
    let validator = jsonschema::options().with_draft(jsonschema::Draft::Draft4).build(&root).expect("schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).take(5).collect();
    assert!(
        errors.is_empty(),
        "response does not match the spec:\n{}\nbody: {}",
        errors.join("\n"),
        &body.to_string()[..body.to_string().len().min(600)]
    );
}

fn response_schema(spec_name: &str, path: &str, method: &str) -> Value {
    spec(spec_name)["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"].clone()
}

fn component(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

struct Site {
    _rt: tokio::runtime::Runtime,
    sim: RunningSim,
    http: reqwest::Client,
}

fn site(config: SimConfig) -> Site {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(RunningSim::start(config)).unwrap();
    Site { _rt: rt, sim, http: reqwest::Client::new() }
}

fn cloud(issues: u64) -> Site {
    site(SimConfig { data: DatasetConfig { issues, ..Default::default() }, ..Default::default() })
}

impl Site {
    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self._rt.block_on(f)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// GET with the site's Basic credentials; (status, JSON body or Null).
    fn get(&self, path: &str) -> (u16, Value) {
        let req = self.http.get(self.url(path)).basic_auth(self.sim.email(), Some(self.sim.api_token()));
        self.send(req)
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let req = self.http.post(self.url(path)).basic_auth(self.sim.email(), Some(self.sim.api_token())).json(&body);
        self.send(req)
    }

    fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        self.block(async {
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        })
    }

    /// Every issue id of a Cloud search, following `nextPageToken`, and the number of pages.
    fn all_ids(&self, jql: &str, fields: &str, max: u32) -> (Vec<String>, usize) {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut q = format!("/rest/api/3/search/jql?jql={}&fields={fields}&maxResults={max}", urlencode(jql));
            if let Some(t) = &token {
                q.push_str(&format!("&nextPageToken={t}"));
            }
            let (status, body) = self.get(&q);
            assert_eq!(status, 200, "{body}");
            pages += 1;
            ids.extend(body["issues"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()));
            match body["nextPageToken"].as_str() {
                Some(t) => {
                    assert_eq!(body["isLast"], false);
                    token = Some(t.to_string());
                }
                None => {
                    assert_eq!(body["isLast"], true);
                    return (ids, pages);
                }
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Responses match Atlassian's OpenAPI specs.

#[test]
fn cloud_endpoints_match_the_openapi_specs() {
    let s = cloud(60);
    let (st, body) = s.get("/rest/api/3/search/jql?jql=project%20%3D%20ENG&fields=*all&maxResults=5");
    assert_eq!(st, 200);
    assert_schema("platform", response_schema("platform", "/rest/api/3/search/jql", "get"), &body);
    let (st, body) = s.post(
        "/rest/api/3/search/jql",
        json!({"jql": "updated >= 0", "fields": ["summary", "assignee"], "maxResults": 3}),
    );
    assert_eq!(st, 200);
    assert_schema("platform", response_schema("platform", "/rest/api/3/search/jql", "post"), &body);
    for (path, api) in [
        ("/rest/api/3/field", "/rest/api/3/field"),
        ("/rest/api/3/myself", "/rest/api/3/myself"),
        ("/rest/api/3/project/search?maxResults=2", "/rest/api/3/project/search"),
        ("/rest/api/3/users/search?maxResults=30", "/rest/api/3/users/search"),
        ("/rest/api/3/status", "/rest/api/3/status"),
        ("/rest/api/3/priority/search?maxResults=2", "/rest/api/3/priority/search"),
        ("/rest/api/3/resolution/search", "/rest/api/3/resolution/search"),
        ("/rest/api/3/label?maxResults=3", "/rest/api/3/label"),
        ("/rest/api/3/issuetype", "/rest/api/3/issuetype"),
        ("/rest/api/3/projectCategory", "/rest/api/3/projectCategory"),
    ] {
        let (st, body) = s.get(path);
        assert_eq!(st, 200, "{path}");
        assert_schema("platform", response_schema("platform", api, "get"), &body);
    }
    let (st, body) = s.post("/rest/api/3/search/approximate-count", json!({"jql": "project = ENG"}));
    assert_eq!(st, 200);
    assert_schema("platform", response_schema("platform", "/rest/api/3/search/approximate-count", "post"), &body);
    let (st, body) = s.get("/rest/agile/1.0/board?maxResults=3");
    assert_eq!(st, 200);
    assert_schema("agile", response_schema("agile", "/rest/agile/1.0/board", "get"), &body);
    // Error bodies are Jira's ErrorCollection.
    let (st, body) = s.get("/rest/api/3/search?jql=project%3DENG");
    assert_eq!(st, 410);
    assert_schema("platform", component("ErrorCollection"), &body);
    let (st, body) = s.get("/rest/api/3/search/jql?jql=nonsense%20%3D%201");
    assert_eq!(st, 400);
    assert_schema("platform", component("ErrorCollection"), &body);
}

/// Cloud's custom field contexts and their options: the spec's schemas, administrators only
/// (403 with the spec's message otherwise), every option of a context paged once, cascading
/// options after their parents; a field without options answers 400.
#[test]
fn cloud_field_contexts_and_options_match_the_spec_for_administrators_only() {
    let s = cloud(10);
    let (st, body) = s.get("/rest/api/3/field/customfield_10033/context");
    assert_eq!(st, 403, "{body}");
    assert_eq!(body["errorMessages"][0], "Only Jira administrators can access custom field contexts.");
    let s = site(SimConfig {
        data: DatasetConfig { issues: 10, ..Default::default() },
        behaviour: Behaviour { api_user_is_admin: true, ..Default::default() },
        ..Default::default()
    });
    let path = "/rest/api/3/field/{fieldId}/context";
    let (st, body) = s.get("/rest/api/3/field/customfield_10033/context?maxResults=1");
    assert_eq!(st, 200, "{body}");
    assert_schema("platform", response_schema("platform", path, "get"), &body);
    assert_eq!((body["total"].clone(), body["isLast"].clone()), (json!(2), json!(false)), "{body}");
    let (_, second) = s.get("/rest/api/3/field/customfield_10033/context?startAt=1&maxResults=1");
    assert_eq!(second["values"][0]["isGlobalContext"], false, "{second}");
    let global = body["values"][0]["id"].as_str().unwrap().to_string();
    let option_path = "/rest/api/3/field/{fieldId}/context/{contextId}/option";
    let mut seen = Vec::new();
    loop {
        let url =
            format!("/rest/api/3/field/customfield_10038/context/10138/option?startAt={}&maxResults=4", seen.len());
        let (st, body) = s.get(&url);
        assert_eq!(st, 200, "{body}");
        assert_schema("platform", response_schema("platform", option_path, "get"), &body);
        seen.extend(body["values"].as_array().unwrap().iter().cloned());
        if body["isLast"] == true {
            break;
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    let parents = seen.iter().take_while(|o| o.get("optionId").is_none()).count();
    assert_eq!(parents, 2, "parents first: {seen:?}");
    assert!(seen[parents..].iter().all(|o| o["optionId"].is_string()), "{seen:?}");
    let (st, _) = s.get(&format!("/rest/api/3/field/customfield_10033/context/{global}/option"));
    assert_eq!(st, 200);
    let (st, _) = s.get("/rest/api/3/field/customfield_10033/context/10138/option");
    assert_eq!(st, 404, "a context of another field");
    let (st, body) = s.get("/rest/api/3/field/customfield_10016/context/10116/option");
    assert_eq!((st, body["errorMessages"][0].clone()), (400, json!("The custom field doesn't support options.")));
    let (st, _) = s.get("/rest/api/3/field/customfield_99999/context");
    assert_eq!(st, 404);
}

/// Data Center's `customFields/{id}/options`: `{options, total}`, numeric ids, a parent's
/// `childrenIds`, pages counted from 1 (or from 0 when told), every context's options with
/// `useAllContexts=true`.
#[test]
fn data_center_field_options_page_through_every_option() {
    for from_zero in [false, true] {
        let s = site(SimConfig {
            flavor: Flavor::DataCenter,
            data: DatasetConfig { issues: 10, ..Default::default() },
            behaviour: Behaviour { data_center_option_pages_from_zero: from_zero, ..Default::default() },
            ..Default::default()
        });
        let pat = s.sim.credentials().pat.clone();
        let get = |path: &str| s.send(s.http.get(s.url(path)).bearer_auth(&pat));
        let first = usize::from(!from_zero);
        let mut seen: Vec<Value> = Vec::new();
        for page in first..first + 3 {
            let path = format!("/rest/api/2/customFields/10033/options?useAllContexts=true&maxResults=4&page={page}");
            let (st, body) = get(&path);
            assert_eq!(st, 200, "{body}");
            assert_eq!(body["total"], 6, "{body}");
            seen.extend(body["options"].as_array().unwrap().iter().cloned());
        }
        assert_eq!(seen.len(), 6, "{seen:?}");
        assert!(seen.iter().all(|o| o["id"].is_u64() && o["self"].is_string()), "{seen:?}");
        let (_, global) = get("/rest/api/2/customFields/10033/options");
        assert_eq!(global["total"], 4, "{global}");
        let (_, region) = get("/rest/api/2/customFields/10038/options?maxResults=100");
        let emea = &region["options"][0];
        assert_eq!((emea["value"].clone(), emea["childrenIds"].clone()), (json!("EMEA"), json!([10201, 10202])));
        let (st, _) = get("/rest/api/2/customFields/10016/options");
        assert_eq!(st, 400);
        let (st, _) = get("/rest/api/2/customFields/customfield_10033/options");
        assert_eq!(st, 404);
    }
}

/// Cloud's dimension lists page as `PageBean`s: `startAt` moves through every record once, and
/// every page but the last links the next.
#[test]
fn cloud_dimension_lists_page_through_every_record() {
    let s = cloud(10);
    for (path, total) in [("priority/search", 5), ("resolution/search", 4), ("label", 6)] {
        let mut seen = Vec::new();
        loop {
            let (st, body) = s.get(&format!("/rest/api/3/{path}?startAt={}&maxResults=2", seen.len()));
            assert_eq!(st, 200, "{path}");
            assert_eq!(body["total"], total, "{body}");
            seen.extend(body["values"].as_array().unwrap().iter().cloned());
            assert_eq!(body["isLast"], seen.len() == total, "{body}");
            assert_eq!(body.get("nextPage").is_some(), seen.len() < total, "{body}");
            if seen.len() >= total {
                break;
            }
        }
        let distinct: std::collections::HashSet<String> = seen.iter().map(Value::to_string).collect();
        assert_eq!(distinct.len(), total, "{path}: {seen:?}");
    }
}

#[test]
fn data_center_search_matches_the_search_results_schema() {
    let s = site(SimConfig {
        flavor: Flavor::DataCenter,
        data: DatasetConfig { issues: 30, ..Default::default() },
        ..Default::default()
    });
    let pat = s.sim.credentials().pat.clone();
    let (st, body) = s.send(s.http.get(s.url("/rest/api/2/search?jql=project%3DENG&maxResults=4")).bearer_auth(&pat));
    assert_eq!(st, 200, "{body}");
    assert_schema("platform", component("SearchResults"), &body);
    assert_eq!(body["total"], 6);
    // Rich text is wiki markup on v2, not ADF.
    let (_, all) =
        s.send(s.http.get(s.url("/rest/api/2/search?jql=updated%3E%3D0&fields=description")).bearer_auth(&pat));
    let descriptions: Vec<&Value> =
        all["issues"].as_array().unwrap().iter().map(|i| &i["fields"]["description"]).collect();
    assert!(descriptions.iter().all(|d| d.is_null() || d.is_string()), "{descriptions:?}");
    assert!(descriptions.iter().any(|d| d.as_str().is_some_and(|t| t.starts_with("Steps to reproduce"))));
}

#[test]
fn system_fields_are_listed_per_deployment_and_their_values_match_the_spec() {
    let s = cloud(120);
    let (_, fields) = s.get("/rest/api/3/field");
    let system: Vec<&str> =
        fields.as_array().unwrap().iter().filter(|f| f["custom"] == false).map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(system.len(), 44, "{system:?}");
    for id in ["statuscategorychangedate", "issuerestriction", "statusCategory", "worklog", "issuekey"] {
        assert!(system.contains(&id), "{id}");
    }
    assert!(!system.contains(&"archiveddate"));
    let worklog = fields.as_array().unwrap().iter().find(|f| f["id"] == "worklog").unwrap();
    assert_eq!(worklog["schema"], json!({"type": "array", "items": "worklog", "system": "worklog"}));
    assert_eq!(worklog["navigable"], false);

    // Every issue value of the new fields, on both REST versions, against the spec's schemas.
    let array_of = |name: &str| json!({"type": "array", "items": component(name)});
    let (mut worklogs, mut attachments, mut links) = (0, 0, 0);
    for api in ["3", "2"] {
        let mut token = String::new();
        loop {
            let (st, body) =
                s.get(&format!("/rest/api/{api}/search/jql?jql=updated%3E%3D0&fields=*all&maxResults=100{token}"));
            assert_eq!(st, 200);
            for issue in body["issues"].as_array().unwrap() {
                let f = &issue["fields"];
                assert_schema("platform", component("PageOfWorklogs"), &f["worklog"]);
                assert_schema("platform", array_of("Attachment"), &f["attachment"]);
                assert_schema("platform", component("TimeTrackingDetails"), &f["timetracking"]);
                assert_schema("platform", component("Votes"), &f["votes"]);
                assert_schema("platform", component("Watchers"), &f["watches"]);
                assert_schema("platform", array_of("Version"), &f["versions"]);
                assert_schema("platform", component("UserDetails"), &f["creator"]);
                for (id, schema) in [("resolution", "Resolution"), ("security", "SecurityLevel")] {
                    if !f[id].is_null() {
                        assert_schema("platform", component(schema), &f[id]);
                    }
                }
                // The spec's IssueLink requires both ends; Jira sends one. Check the rest.
                for l in f["issuelinks"].as_array().unwrap() {
                    assert_schema("platform", component("IssueLinkType"), &l["type"]);
                    let other = l.get("outwardIssue").or(l.get("inwardIssue")).unwrap();
                    assert_schema("platform", component("LinkedIssue"), other);
                }
                assert_schema("platform", array_of("LinkedIssue"), &f["subtasks"]);
                let env = &f["environment"];
                if api == "3" {
                    assert!(env.is_null() || env["type"] == "doc", "{env}");
                } else {
                    assert!(env.is_null() || env.is_string(), "{env}");
                    for w in f["worklog"]["worklogs"].as_array().unwrap() {
                        assert!(w["comment"].is_string() && w["self"].as_str().unwrap().contains("/rest/api/2/"));
                    }
                }
                worklogs += f["worklog"]["worklogs"].as_array().unwrap().len();
                attachments += f["attachment"].as_array().unwrap().len();
                links += f["issuelinks"].as_array().unwrap().len();
            }
            match body["nextPageToken"].as_str() {
                Some(t) => token = format!("&nextPageToken={t}"),
                None => break,
            }
        }
    }
    assert!(worklogs > 0 && attachments > 0 && links > 0, "{worklogs} {attachments} {links}");

    // Data Center lists its own set, and issues carry no Cloud-only values.
    let dc = site(SimConfig {
        flavor: Flavor::DataCenter,
        data: DatasetConfig { issues: 30, ..Default::default() },
        ..Default::default()
    });
    let pat = dc.sim.credentials().pat.clone();
    let (_, fields) = dc.send(dc.http.get(dc.url("/rest/api/2/field")).bearer_auth(&pat));
    let ids: Vec<&str> = fields.as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"archiveddate") && ids.contains(&"archivedby") && ids.contains(&"worklog"));
    assert!(!ids.contains(&"statuscategorychangedate") && !ids.contains(&"issuerestriction"));
    let (_, page) =
        dc.send(dc.http.get(dc.url("/rest/api/2/search?jql=updated%3E%3D0&maxResults=5")).bearer_auth(&pat));
    let f = &page["issues"][0]["fields"];
    assert!(f.get("worklog").is_some() && f.get("timetracking").is_some());
    assert!(f.get("statuscategorychangedate").is_none() && f.get("issuerestriction").is_none());
}

#[test]
fn the_removed_cloud_search_can_be_switched_back_on_for_benchmark_peers() {
    let s = site(SimConfig {
        data: DatasetConfig { issues: 250, ..Default::default() },
        behaviour: Behaviour { legacy_search: true, ..Behaviour::default() },
        ..Default::default()
    });
    let mut ids = Vec::new();
    let mut start = 0;
    loop {
        let (st, body) =
            s.get(&format!("/rest/api/3/search?jql=updated%3E%3D0&fields=summary&startAt={start}&maxResults=500"));
        assert_eq!(st, 200, "{body}");
        assert_schema("platform", component("SearchResults"), &body);
        assert_eq!((body["total"].as_u64(), body["maxResults"].as_u64()), (Some(250), Some(100)), "capped at 100");
        let page = body["issues"].as_array().unwrap();
        ids.extend(page.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        start += page.len();
        if page.is_empty() || start >= 250 {
            break;
        }
    }
    assert_eq!(ids.len(), 250);
    ids.dedup();
    assert_eq!(ids.len(), 250, "no repeats");

    // Unlike Data Center, Cloud's old search had no 10,000-result window.
    let deep = site(SimConfig {
        data: DatasetConfig { issues: 10_050, ..Default::default() },
        behaviour: Behaviour { legacy_search: true, ..Behaviour::default() },
        ..Default::default()
    });
    let (st, body) = deep.get("/rest/api/3/search?jql=updated%3E%3D0&fields=summary&startAt=10000&maxResults=100");
    assert_eq!(st, 200, "{body}");
    assert_eq!((body["total"].as_u64(), body["issues"].as_array().map(Vec::len)), (Some(10_050), Some(50)));
}

// ---------------------------------------------------------------------------------------------
// Paging.

#[test]
fn cloud_paging_crosses_page_boundaries_without_gaps_or_repeats() {
    let s = cloud(103);
    let d = s.sim.dataset();
    let want: Vec<String> =
        (0..103).filter(|i| d.project_of(*i) == 0).map(|i| Dataset::issue_id(i).to_string()).collect();
    for page in [1, 7, 21, 50] {
        let (ids, pages) = s.all_ids("project = ENG", "summary", page);
        assert_eq!(ids, want, "page size {page}");
        assert_eq!(pages, want.len().div_ceil(page as usize), "page size {page}");
    }
}

#[test]
fn cloud_page_size_caps_depend_on_the_fields_requested() {
    let s = cloud(6000);
    let (_, body) = s.get("/rest/api/3/search/jql?jql=updated%3E%3D0&fields=id&maxResults=9999");
    assert_eq!(body["issues"].as_array().unwrap().len(), 5000);
    assert_eq!(body["issues"][0], json!({"id": "10000"}));
    let (_, body) = s.get("/rest/api/3/search/jql?jql=updated%3E%3D0&fields=summary&maxResults=9999");
    assert_eq!(body["issues"].as_array().unwrap().len(), 100);
    let (_, body) = s.get("/rest/api/3/search/jql?jql=updated%3E%3D0");
    assert_eq!(body["issues"].as_array().unwrap().len(), 50, "default page size");
    // Unbounded queries are refused on Cloud.
    let (st, body) = s.get("/rest/api/3/search/jql?jql=order%20by%20key");
    assert_eq!(st, 400);
    assert!(body["errorMessages"][0].as_str().unwrap().contains("Unbounded"));
    // A token from another query is refused.
    let (_, first) = s.get("/rest/api/3/search/jql?jql=project%3DENG&maxResults=1");
    let token = first["nextPageToken"].as_str().unwrap();
    let (st, _) = s.get(&format!("/rest/api/3/search/jql?jql=project%3DOPS&nextPageToken={token}"));
    assert_eq!(st, 400);
}

#[test]
fn other_endpoints_page_with_their_own_caps() {
    let s = site(SimConfig {
        data: DatasetConfig { issues: 10, projects: 130, users: 1200, boards: 60, ..Default::default() },
        ..Default::default()
    });
    let (_, p) = s.get("/rest/api/3/project/search?maxResults=500");
    assert_eq!(
        (p["values"].as_array().unwrap().len(), p["total"].as_u64(), p["isLast"].as_bool()),
        (100, Some(130), Some(false))
    );
    assert!(p["nextPage"].is_string());
    let (_, p) = s.get("/rest/api/3/project/search?startAt=100&maxResults=100");
    assert_eq!((p["values"].as_array().unwrap().len(), p["isLast"].as_bool()), (30, Some(true)));
    let (_, u) = s.get("/rest/api/3/users/search?maxResults=5000");
    assert_eq!(u.as_array().unwrap().len(), 1000);
    let (_, u) = s.get("/rest/api/3/users/search?startAt=1000&maxResults=1000");
    assert_eq!(u.as_array().unwrap().len(), 200);
    let (_, b) = s.get("/rest/agile/1.0/board?maxResults=100");
    assert_eq!((b["values"].as_array().unwrap().len(), b["isLast"].as_bool()), (50, Some(false)));
}

#[test]
fn data_center_caps_pages_at_1000_and_the_window_at_10000() {
    let s = site(SimConfig {
        flavor: Flavor::DataCenter,
        data: DatasetConfig { issues: 12_000, ..Default::default() },
        ..Default::default()
    });
    let c = s.sim.credentials().clone();
    let get = |q: &str| s.send(s.http.get(s.url(q)).basic_auth(&c.username, Some(&c.password)));
    let (st, body) = get("/rest/api/2/search?jql=updated%3E%3D0&fields=id&maxResults=5000");
    assert_eq!(st, 200);
    assert_eq!((body["maxResults"].as_u64(), body["total"].as_u64()), (Some(1000), Some(12_000)));
    assert_eq!(body["issues"].as_array().unwrap().len(), 1000);
    let (st, _) = get("/rest/api/2/search?jql=updated%3E%3D0&fields=id&startAt=9000&maxResults=1000");
    assert_eq!(st, 200);
    // Past the window: OpenSearch's max_result_window, as Atlassian's KB reports it (HTTP 500).
    let (st, body) = get("/rest/api/2/search?jql=updated%3E%3D0&fields=id&startAt=10000&maxResults=100");
    assert_eq!(st, 500, "{body}");
    let message = body["errorMessages"][0].as_str().unwrap();
    assert!(
        message.contains("requests 10,100 results which exceeded the search platform limit of 10,000"),
        "{message}"
    );
    // Cloud-only paths do not exist on Data Center; Cloud credentials do not work there.
    assert_eq!(get("/rest/api/3/search/jql?jql=updated%3E%3D0").0, 404);
    assert_eq!(s.get("/rest/api/2/search?jql=updated%3E%3D0").0, 401);
}

// ---------------------------------------------------------------------------------------------
// JQL.

#[test]
fn jql_dates_are_read_in_the_api_users_time_zone() {
    // Dense enough (about 26 minutes apart) that a 4-5 hour error changes the answer.
    let n = 20_000;
    let s = cloud(n);
    let d = s.sim.dataset();
    let (_, me) = s.get("/rest/api/3/myself");
    assert_eq!(me["timeZone"], "America/New_York");
    // Pick an issue, write its `updated` minute as the user's wall clock, and search from there.
    let i = 19_900;
    let ms = d.updated_ms(i);
    let local = chrono::DateTime::from_timestamp_millis(ms).unwrap().with_timezone(&chrono_tz::America::New_York);
    let minute = local.format("%Y/%m/%d %H:%M").to_string();
    let minute_start = ms - ms.rem_euclid(60_000);
    let want: Vec<String> =
        (0..n).filter(|j| d.updated_ms(*j) >= minute_start).map(|j| Dataset::issue_id(j).to_string()).collect();
    let (ids, _) = s.all_ids(&format!("updated >= \"{minute}\""), "id", 5000);
    assert_eq!(ids, want);
    // The same wall-clock text read as UTC would be 4-5 hours off: the result must differ.
    let utc_start =
        chrono::NaiveDateTime::parse_from_str(&minute, "%Y/%m/%d %H:%M").unwrap().and_utc().timestamp_millis();
    let wrong: Vec<String> =
        (0..n).filter(|j| d.updated_ms(*j) >= utc_start).map(|j| Dataset::issue_id(j).to_string()).collect();
    assert_ne!(ids, wrong);
    // Epoch milliseconds are exact.
    let (ids, _) = s.all_ids(&format!("updated >= {ms}"), "id", 5000);
    assert_eq!(ids.first().map(String::as_str), Some(Dataset::issue_id(i).to_string().as_str()));
}

#[test]
fn jql_order_and_combinations() {
    let s = cloud(50);
    // `key >= ENG-5` stays in ENG: OPS keys are not "greater" than an ENG key.
    let (ids, _) = s.all_ids("project in (ENG, OPS) AND key >= ENG-5 ORDER BY key DESC", "id", 100);
    let d = s.sim.dataset();
    let mut want: Vec<(String, String)> = (0..50)
        .filter(|i| d.project_of(*i) == 0 && d.key_num(*i) >= 5)
        .map(|i| (d.issue_key(i), Dataset::issue_id(i).to_string()))
        .collect();
    want.sort_by(|a, b| jira_sim::jql::key_cmp(&b.0, &a.0));
    assert_eq!(ids, want.into_iter().map(|(_, id)| id).collect::<Vec<_>>());
}

/// Ids of a Cloud search in the order Jira returns them, as numbers.
fn numeric(ids: Vec<String>) -> Vec<u64> {
    ids.iter().map(|i| i.parse().unwrap()).collect()
}

#[test]
fn id_comparisons_stay_in_the_literals_project_and_order_by_id_is_key_order() {
    // 5 projects, ids interleaved: 10000 is ENG-1, 10001 OPS-1, …, 10005 ENG-2.
    let s = cloud(60);
    let d = s.sim.dataset();
    let id = |i: u64| Dataset::issue_id(i);
    // `id > 10010` (ENG-3) is the ENG issues after ENG-3, not every larger id.
    let (ids, _) = s.all_ids(&format!("id > {}", id(10)), "id", 100);
    let mut want: Vec<u64> = (0..60).filter(|i| d.project_of(*i) == 0 && d.key_num(*i) > 3).map(id).collect();
    let mut got = numeric(ids);
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(!got.contains(&id(11)), "OPS-3 has a larger id but is in another project");
    // A range whose bounds are in different projects is empty.
    let (ids, _) = s.all_ids(&format!("id >= {} AND id <= {}", id(10), id(21)), "id", 100);
    assert!(ids.is_empty(), "{ids:?}");
    // `ORDER BY id` is key order: project key, then key number (ENG-1, ENG-2, …, OPS-1, …).
    let (ids, _) = s.all_ids("updated >= 0 ORDER BY id ASC", "id", 100);
    let mut by_key: Vec<u64> = (0..60).collect();
    by_key.sort_by(|a, b| jira_sim::jql::key_cmp(&d.issue_key(*a), &d.issue_key(*b)));
    assert_eq!(numeric(ids), by_key.into_iter().map(id).collect::<Vec<_>>());
    // Cloud: a literal that names no issue matches nothing, without an error.
    let (ids, _) = s.all_ids("id > 99999999", "id", 100);
    assert!(ids.is_empty());
    s.sim.delete_issues(&[id(10)]);
    let (ids, _) = s.all_ids(&format!("id > {}", id(10)), "id", 100);
    assert!(ids.is_empty(), "a deleted issue as a bound matches nothing: {ids:?}");
    let (ids, _) = s.all_ids(&format!("id in ({}, {}, 99999999)", id(10), id(11)), "id", 100);
    assert_eq!(numeric(ids), vec![id(11)]);
}

#[test]
fn data_center_rejects_unknown_issue_literals_unless_validation_is_off() {
    let s = site(SimConfig {
        flavor: Flavor::DataCenter,
        data: DatasetConfig { issues: 30, ..Default::default() },
        ..Default::default()
    });
    let c = s.sim.credentials().clone();
    let get = |q: &str| s.send(s.http.get(s.url(q)).basic_auth(&c.username, Some(&c.password)));
    let (st, body) = get(&format!("/rest/api/2/search?jql={}", urlencode("id > 99999")));
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["errorMessages"][0], "A value with ID '99999' does not exist for the field 'id'.");
    let (st, body) = get(&format!("/rest/api/2/search?jql={}", urlencode("key in (ENG-1, NOPE-7)")));
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["errorMessages"][0], "An issue with key 'NOPE-7' does not exist for field 'key'.");
    let (st, body) =
        get(&format!("/rest/api/2/search?validateQuery=false&fields=id&jql={}", urlencode("key in (ENG-1, NOPE-7)")));
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["issues"][0]["id"], "10000");
    assert_eq!(body["total"], 1);
    // The POST form takes `validateQuery: false` as well.
    let body = json!({"jql": "id in (10000, 99999)", "fields": ["id"], "validateQuery": false});
    let (st, body) =
        s.send(s.http.post(s.url("/rest/api/2/search")).basic_auth(&c.username, Some(&c.password)).json(&body));
    assert_eq!((st, body["total"].as_u64()), (200, Some(1)), "{body}");
    // `id > N` stays in N's project on Data Center too (Jira's IssueIdClauseQueryFactory).
    let (st, body) = get(&format!("/rest/api/2/search?fields=id&jql={}", urlencode("id >= 10020")));
    assert_eq!(st, 200);
    let ids: Vec<&str> = body["issues"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["10025", "10020"], "ENG-5 and ENG-6, key descending (no ORDER BY)");
}

#[test]
fn bulk_fetch_returns_known_ids_in_id_order_and_leaves_the_rest_out() {
    let s = cloud(300);
    let (st, body) = s.post(
        "/rest/api/3/issue/bulkfetch",
        json!({"issueIdsOrKeys": ["10007", "ops-1", "10002", "99999"], "fields": ["summary", "updated"]}),
    );
    assert_eq!(st, 200, "{body}");
    assert_schema("platform", response_schema("platform", "/rest/api/3/issue/bulkfetch", "post"), &body);
    let ids: Vec<&str> = body["issues"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["10001", "10002", "10007"], "ascending id order; keys match case-insensitively");
    assert_eq!(body["issues"][0]["fields"].as_object().unwrap().len(), 2);
    assert_eq!(body["issueErrors"], json!([]), "unknown ids are simply absent (v3 spec)");
    // The other plausible behaviour: unknown ids listed under issueErrors.
    s.sim.set_behaviour(Behaviour { bulkfetch_unknown_as_errors: true, ..Behaviour::default() });
    let (_, body) = s.post("/rest/api/3/issue/bulkfetch", json!({"issueIdsOrKeys": ["10001", "99999"]}));
    assert_eq!(body["issueErrors"][0]["id"], "99999");
    // A site that silently loses issues from fetches still lists them and serves them alone.
    s.sim.set_behaviour(Behaviour { drop_from_fetch_every: Some(3), ..Behaviour::default() });
    let (_, body) = s.post("/rest/api/3/issue/bulkfetch", json!({"issueIdsOrKeys": ["10001", "10002"]}));
    assert_eq!(body["issues"].as_array().unwrap().len(), 1);
    assert_eq!(s.get("/rest/api/3/issue/10002?fields=id").0, 200);
    s.sim.set_behaviour(Behaviour::default());
    let many: Vec<String> = (10_000..10_101).map(|i| i.to_string()).collect();
    let (st, _) = s.post("/rest/api/3/issue/bulkfetch", json!({"issueIdsOrKeys": many}));
    assert_eq!(st, 400, "at most 100 ids");
    // One issue by id or key; 404 with Jira's message once deleted.
    let (st, body) = s.get("/rest/api/3/issue/ENG-2?fields=summary");
    assert_eq!((st, body["id"].as_str()), (200, Some("10005")));
    s.sim.delete_issues(&[10005]);
    let (st, body) = s.get("/rest/api/3/issue/10005");
    assert_eq!(st, 404);
    assert_eq!(body["errorMessages"][0], "Issue does not exist or you do not have permission to see it.");
}

#[test]
fn requests_can_be_recorded_with_their_query_and_body() {
    let s = cloud(10);
    s.sim.record_requests();
    s.get("/rest/api/3/search/jql?jql=updated%3E%3D0&fields=summary,updated");
    s.post("/rest/api/3/issue/bulkfetch", json!({"issueIdsOrKeys": ["10001"], "fields": ["summary"]}));
    let r = s.sim.recorded_requests();
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].method.as_str(), r[0].param("fields").as_deref()), ("GET", Some("summary,updated")));
    assert_eq!(r[1].body.as_ref().unwrap()["fields"], json!(["summary"]));
}

// ---------------------------------------------------------------------------------------------
// Auth: Basic, PAT, OAuth 2.0 with rotating refresh tokens.

/// (status, `X-Seraph-LoginReason`, `X-AUSERNAME`, body) of one request.
fn login_view(s: &Site, req: reqwest::RequestBuilder) -> (u16, Option<String>, Option<String>, Value) {
    s.block(async {
        let resp = req.send().await.unwrap();
        let header = |n: &str| resp.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        let (seraph, user) = (header("X-Seraph-LoginReason"), header("X-AUSERNAME"));
        let status = resp.status().as_u16();
        (status, seraph, user, resp.json().await.unwrap_or(Value::Null))
    })
}

#[test]
fn a_request_that_does_not_log_in_is_answered_anonymously() {
    let s = cloud(5);
    let failed = Some("AUTHENTICATED_FAILED".to_string());
    // No credentials: /myself needs a login; Cloud's 401 body is {"message", "status-code"}.
    let (st, seraph, _, body) = login_view(&s, s.http.get(s.url("/rest/api/3/myself")));
    assert_eq!((st, seraph), (401, None));
    assert_eq!(body, json!({"message": "Client must be authenticated to access this resource.", "status-code": 401}));
    // A wrong token: the same 401, marked as a failed login.
    let wrong = |p: &str| s.http.get(s.url(p)).basic_auth(s.sim.email(), Some("wrong"));
    let (st, seraph, _, _) = login_view(&s, wrong("/rest/api/3/myself"));
    assert_eq!((st, seraph.clone()), (401, failed.clone()));
    // Search answers 200 with nothing (the KB), an issue 404, users 401 — each marked.
    let (st, seraph, user, body) = login_view(&s, wrong("/rest/api/3/search/jql?jql=updated%3E%3D0"));
    assert_eq!((st, seraph, user.as_deref()), (200, failed.clone(), Some("anonymous")));
    assert_eq!(body["issues"], json!([]));
    let (st, seraph, _, _) = login_view(&s, wrong("/rest/api/3/issue/10000"));
    assert_eq!((st, seraph), (404, failed.clone()));
    assert_eq!(login_view(&s, wrong("/rest/api/3/users/search")).0, 401);
    // A Data Center PAT sent to Cloud is not a credential there.
    let (st, seraph, _, _) = login_view(&s, s.http.get(s.url("/rest/api/3/myself")).bearer_auth("sim-pat"));
    assert_eq!((st, seraph), (401, failed.clone()));
    // A service account's scoped token at the site URL is refused the same way (it works
    // through the gateway).
    let sa = s.sim.credentials().service_account.clone();
    let scoped = |url: String| s.http.get(url).basic_auth(&sa.email, Some(&sa.scoped_token));
    let (st, seraph, _, body) = login_view(&s, scoped(s.url("/rest/api/3/search/jql?jql=updated%3E%3D0")));
    assert_eq!((st, seraph, body["issues"].as_array().map(Vec::len)), (200, failed.clone(), Some(0)));
    assert_eq!(login_view(&s, scoped(format!("{}/rest/api/3/myself", s.sim.gateway_url()))).0, 200);
}

#[test]
fn revoked_credentials_and_a_proxy_dropping_authorization_switch_mid_run() {
    let s = cloud(5);
    let search = "/rest/api/3/search/jql?jql=updated%3E%3D0";
    let good = || s.http.get(s.url(search)).basic_auth(s.sim.email(), Some(s.sim.api_token()));
    let (st, seraph, _, body) = login_view(&s, good());
    assert_eq!((st, seraph, body["issues"].as_array().map(Vec::len)), (200, None, Some(5)));
    s.sim.set_behaviour(Behaviour { credentials_revoked: true, ..Default::default() });
    let (st, seraph, _, body) = login_view(&s, good());
    assert_eq!(
        (st, seraph.as_deref(), body["issues"].as_array().map(Vec::len)),
        (200, Some("AUTHENTICATED_FAILED"), Some(0))
    );
    s.sim.set_behaviour(Behaviour { proxy_drops_authorization: true, ..Default::default() });
    let (st, seraph, user, body) = login_view(&s, good());
    assert_eq!((st, seraph, user.as_deref()), (200, None, Some("anonymous")));
    assert_eq!(body["issues"], json!([]));
    s.sim.set_behaviour(Behaviour::default());
    assert_eq!(login_view(&s, good()).3["issues"].as_array().map(Vec::len), Some(5));

    // Data Center: a revoked PAT is anonymous (search 200 with nothing, `X-AUSERNAME:
    // anonymous`); a logged-in answer names the user; a wrong password gets the 401 page.
    let dc = site(SimConfig { flavor: Flavor::DataCenter, ..Default::default() });
    let pat = || dc.http.get(dc.url("/rest/api/2/search?jql=updated%3E%3D0")).bearer_auth("sim-pat");
    let (st, _, user, _) = login_view(&dc, pat());
    assert_eq!((st, user.as_deref()), (200, Some("sim")));
    dc.sim.set_behaviour(Behaviour { credentials_revoked: true, ..Default::default() });
    let (st, seraph, user, body) = login_view(&dc, pat());
    assert_eq!((st, seraph, user.as_deref(), body["total"].as_u64()), (200, None, Some("anonymous"), Some(0)));
    let me = dc.http.get(dc.url("/rest/api/2/myself")).bearer_auth("sim-pat");
    assert_eq!(login_view(&dc, me).0, 401);
    let basic = dc.http.get(dc.url("/rest/api/2/myself")).basic_auth("sim", Some("wrong"));
    let (st, seraph, _, _) = login_view(&dc, basic);
    assert_eq!((st, seraph.as_deref()), (401, Some("AUTHENTICATED_FAILED")));
}

fn refresh(s: &Site, refresh_token: &str) -> (u16, Value) {
    let o = &s.sim.credentials().oauth;
    s.send(s.http.post(s.url("/oauth/token")).json(&json!({
        "grant_type": "refresh_token", "client_id": o.client_id, "client_secret": o.client_secret,
        "refresh_token": refresh_token,
    })))
}

#[test]
fn oauth_refresh_tokens_rotate_and_access_tokens_expire() {
    let mut config = SimConfig::default();
    config.credentials.oauth.access_token_ttl = Duration::from_secs(2);
    let s = site(config);
    let first = s.sim.credentials().oauth.refresh_token.clone();
    let (st, t1) = refresh(&s, &first);
    assert_eq!(st, 200, "{t1}");
    assert_eq!(t1["token_type"], "Bearer");
    let rotated = t1["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rotated, first);
    // The used refresh token is dead; the rotated one works once.
    let (st, body) = refresh(&s, &first);
    assert_eq!((st, body["error"].as_str()), (403, Some("invalid_grant")));
    let (st, t2) = refresh(&s, &rotated);
    assert_eq!(st, 200);
    let access = t2["access_token"].as_str().unwrap().to_string();

    // Cloud id from tenant_info and accessible-resources, then the gateway prefix.
    let (_, tenant) = s.send(s.http.get(s.url("/_edge/tenant_info")));
    let (_, resources) = s.send(s.http.get(s.url("/oauth/token/accessible-resources")).bearer_auth(&access));
    assert_eq!(tenant["cloudId"], resources[0]["id"]);
    let gw = s.sim.gateway_url();
    let (st, me) = s.send(s.http.get(format!("{gw}/rest/api/3/myself")).bearer_auth(&access));
    assert_eq!(st, 200, "{me}");
    let (st, _) = s.send(
        s.http.get(format!("{}/ex/jira/not-the-cloud-id/rest/api/3/myself", s.sim.base_url())).bearer_auth(&access),
    );
    assert_eq!(st, 404);
    std::thread::sleep(Duration::from_millis(2100));
    let (st, body) = s.send(s.http.get(format!("{gw}/rest/api/3/myself")).bearer_auth(&access));
    assert_eq!(st, 401, "{body}");
}

#[test]
fn oauth_scopes_and_audience_are_enforced() {
    let mut config = SimConfig::default();
    config.credentials.oauth.scopes = vec!["read:jira-work".into(), "offline_access".into()];
    let s = site(config);
    let (_, t) = refresh(&s, "sim-refresh-0");
    let access = t["access_token"].as_str().unwrap();
    let gw = s.sim.gateway_url();
    // Without read:jira-user: user endpoints refuse, issues come back with users redacted.
    let (st, body) = s.send(s.http.get(format!("{gw}/rest/api/3/users/search")).bearer_auth(access));
    assert_eq!((st, body["message"].as_str()), (401, Some("Unauthorized; scope does not match")));
    let (st, body) = s
        .send(s.http.get(format!("{gw}/rest/api/3/search/jql?jql=updated%3E%3D0&fields=reporter")).bearer_auth(access));
    assert_eq!(st, 200);
    let reporter = &body["issues"][0]["fields"]["reporter"];
    assert!(reporter["accountId"].is_string() && reporter.get("emailAddress").is_none(), "{reporter}");

    let mut config = SimConfig::default();
    config.credentials.oauth.audience = "jira.atlassian.com".into();
    let s = site(config);
    let (_, t) = refresh(&s, "sim-refresh-0");
    let (st, body) = s.send(
        s.http
            .get(format!("{}/rest/api/3/myself", s.sim.gateway_url()))
            .bearer_auth(t["access_token"].as_str().unwrap()),
    );
    assert_eq!(st, 401);
    assert!(body["message"].as_str().unwrap().contains("audience"));
}

// ---------------------------------------------------------------------------------------------
// Faults.

#[test]
fn rate_limit_answers_429_with_retry_after_and_headers() {
    let s = site(SimConfig {
        behaviour: Behaviour { rate_limit_per_sec: Some(3), ..Default::default() },
        ..Default::default()
    });
    let statuses: Vec<(u16, Option<String>, Option<String>)> = s.block(async {
        let mut out = Vec::new();
        for _ in 0..8 {
            let r = s
                .http
                .get(s.url("/rest/api/3/field"))
                .basic_auth(s.sim.email(), Some(s.sim.api_token()))
                .send()
                .await
                .unwrap();
            let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
            out.push((r.status().as_u16(), h("retry-after"), h("x-ratelimit-limit")));
        }
        out
    });
    let limited: Vec<_> = statuses.iter().filter(|(st, _, _)| *st == 429).collect();
    assert!(limited.len() >= 4, "{statuses:?}");
    for (_, retry, limit) in limited {
        assert!(retry.as_deref().is_some_and(|r| r.parse::<u64>().unwrap() >= 1));
        assert_eq!(limit.as_deref(), Some("3"));
    }
    assert_eq!(
        s.sim.requests_with_status("/rest/api/3/field", 429) as usize,
        statuses.iter().filter(|x| x.0 == 429).count()
    );
}

/// Status and the rate-limit headers of one response.
type Limited = (u16, Option<String>, Option<String>, Option<String>, Option<String>);

fn limited(s: &Site, request: reqwest::RequestBuilder) -> Limited {
    s.block(async {
        let r = request.send().await.unwrap();
        let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        (
            r.status().as_u16(),
            h("retry-after"),
            h("x-ratelimit-remaining"),
            h("x-ratelimit-reset"),
            h("ratelimit-reason"),
        )
    })
}

#[test]
fn the_burst_limit_is_a_bucket_per_endpoint() {
    let burst = BurstLimit { per_second: 0.5, buffer: 3, only: vec!["/search".into()], others_per_second: 0.0 };
    let s = site(SimConfig { behaviour: Behaviour { burst: Some(burst), ..Default::default() }, ..Default::default() });
    let get = |path: &str| limited(&s, s.http.get(s.url(path)).basic_auth(s.sim.email(), Some(s.sim.api_token())));
    let search = "/rest/api/3/search/jql?jql=updated%3E%3D0";
    let answers: Vec<Limited> = (0..4).map(|_| get(search)).collect();
    // The buffer lets three through, counting down; the fourth is turned away until a token is back.
    let left: Vec<_> = answers[..3].iter().map(|a| (a.0, a.2.clone())).collect();
    assert_eq!(left, [(200, Some("2".into())), (200, Some("1".into())), (200, Some("0".into()))]);
    let (status, retry, remaining, reset, reason) = answers[3].clone();
    assert_eq!((status, remaining.as_deref(), reason.as_deref()), (429, Some("0"), Some("jira-burst-based")));
    assert_eq!(retry.as_deref(), Some("2"), "one token at half a token a second");
    assert!(reset.is_some_and(|r| chrono::DateTime::parse_from_rfc3339(&r).is_ok()));
    // Another endpoint has its own limit (here none).
    assert!((0..5).all(|_| get("/rest/api/3/field").0 == 200));
}

#[test]
fn the_points_quota_counts_oauth_requests_until_its_window_resets() {
    let quota = PointsQuota { points: 2, window: Duration::from_secs(3600), global: false };
    let s = site(SimConfig { behaviour: Behaviour { quota: Some(quota), ..Default::default() }, ..Default::default() });
    let (_, t) = refresh(&s, "sim-refresh-0");
    let access = t["access_token"].as_str().unwrap().to_string();
    let me = format!("{}/rest/api/3/myself", s.sim.gateway_url());
    let answers: Vec<Limited> = (0..3).map(|_| limited(&s, s.http.get(&me).bearer_auth(&access))).collect();
    assert_eq!(answers.iter().map(|a| a.0).collect::<Vec<_>>(), [200, 200, 429]);
    let (_, retry, _, reset, reason) = answers[2].clone();
    assert_eq!(reason.as_deref(), Some("jira-quota-tenant-based"));
    let reset = chrono::DateTime::parse_from_rfc3339(&reset.unwrap()).unwrap();
    assert_eq!(reset.timestamp() % 3600, 0, "on the hour");
    let retry: i64 = retry.unwrap().parse().unwrap();
    assert!((reset.timestamp() - chrono::Utc::now().timestamp() - retry).abs() <= 1, "Retry-After is the time to it");
    // API-token traffic is not subject to it.
    let basic = limited(&s, s.http.get(s.url("/rest/api/3/myself")).basic_auth(s.sim.email(), Some(s.sim.api_token())));
    assert_eq!(basic.0, 200);
}

#[test]
fn injected_errors_drops_and_truncations() {
    let s = cloud(5);
    s.sim.set_behaviour(Behaviour { error_rate: 1.0, ..Default::default() });
    let (st, _) = s.get("/rest/api/3/field");
    assert!(matches!(st, 500 | 502 | 503), "{st}");
    s.sim.set_behaviour(Behaviour { drop_rate: 1.0, ..Default::default() });
    let dropped = s.block(async {
        let r = s.http.get(s.url("/rest/api/3/field")).basic_auth(s.sim.email(), Some(s.sim.api_token())).send().await;
        match r {
            Err(_) => true,
            Ok(resp) => resp.bytes().await.is_err(),
        }
    });
    assert!(dropped, "a dropped connection must surface as an error");
    s.sim.set_behaviour(Behaviour { truncate_rate: 1.0, ..Default::default() });
    let truncated = s.block(async {
        match s.http.get(s.url("/rest/api/3/field")).basic_auth(s.sim.email(), Some(s.sim.api_token())).send().await {
            Err(_) => true,
            Ok(resp) => resp.bytes().await.is_err(),
        }
    });
    assert!(truncated, "a truncated body must surface as an error");
    s.sim.set_behaviour(Behaviour { slow_rate: 1.0, slow_by: Duration::from_millis(400), ..Default::default() });
    let start = std::time::Instant::now();
    assert_eq!(s.get("/rest/api/3/field").0, 200);
    assert!(start.elapsed() >= Duration::from_millis(400));
    s.sim.set_behaviour(Behaviour::default());
    assert_eq!(s.get("/rest/api/3/field").0, 200);
}

#[test]
fn latency_is_added_to_search_pages() {
    let s = site(SimConfig {
        behaviour: Behaviour { search_latency: Duration::from_millis(300), ..Default::default() },
        ..Default::default()
    });
    let start = std::time::Instant::now();
    s.get("/rest/api/3/search/jql?jql=updated%3E%3D0");
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = std::time::Instant::now();
    s.get("/rest/api/3/field");
    assert!(start.elapsed() < Duration::from_millis(300));
}

// ---------------------------------------------------------------------------------------------
// Permissions.

#[test]
fn permission_gaps_look_like_real_jira() {
    let s = cloud(100);
    let d = s.sim.dataset().clone();
    let mut hidden = BTreeSet::new();
    hidden.insert(1); // OPS
    s.sim.set_behaviour(Behaviour {
        hidden_issue_every: Some(10),
        hidden_projects: hidden,
        user_emails_visible: false,
        ..Default::default()
    });
    let (ids, _) = s.all_ids("updated >= 0", "id", 5000);
    let want: Vec<String> =
        (0..100).filter(|i| i % 10 != 9 && d.project_of(*i) != 1).map(|i| Dataset::issue_id(i).to_string()).collect();
    assert_eq!(ids, want);
    let (_, count) = s.post("/rest/api/3/search/approximate-count", json!({"jql": "updated >= 0"}));
    assert_eq!(count["count"].as_u64(), Some(want.len() as u64));
    let (_, projects) = s.get("/rest/api/3/project/search");
    assert!(projects["values"].as_array().unwrap().iter().all(|p| p["key"] != "OPS"));
    let (_, users) = s.get("/rest/api/3/users/search");
    assert!(users.as_array().unwrap().iter().all(|u| u.get("emailAddress").is_none()));
    // A board whose filter is not shared cannot be read.
    let (st, body) = s.get("/rest/agile/1.0/board/7/configuration");
    assert_eq!(st, 403, "{body}");
    assert!(body["errorMessages"][0].as_str().unwrap().contains("not shared"));
    assert_eq!(s.get("/rest/agile/1.0/board/1/configuration").0, 200);
}

#[test]
fn mypermissions_tells_lost_browse_apart_for_normal_and_admin_users() {
    let s = cloud(50);
    let ops = Dataset::project_id(1);
    let url = |p: &str| format!("/rest/api/3/mypermissions?projectId={p}&permissions=BROWSE_PROJECTS");
    let (st, body) = s.get(&url(&ops.to_string()));
    assert_eq!(st, 200, "{body}");
    assert_schema("platform", response_schema("platform", "/rest/api/3/mypermissions", "get"), &body);
    assert_eq!(body["permissions"]["BROWSE_PROJECTS"]["havePermission"], true);
    assert_eq!(s.get("/rest/api/3/mypermissions?projectId=1").0, 400, "`permissions` is required");
    assert_eq!(s.get(&url("99999")).0, 404, "an unknown project");
    let mut b = Behaviour::default();
    b.hidden_projects.insert(1);
    s.sim.set_behaviour(b.clone());
    assert_eq!(s.get(&url(&ops.to_string())).0, 404, "a normal user cannot view the project");
    let (_, projects) = s.get("/rest/api/3/project/search");
    assert!(projects["values"].as_array().unwrap().iter().all(|p| p["key"] != "OPS"));
    s.sim.set_behaviour(Behaviour { api_user_is_admin: true, ..b });
    let (st, body) = s.get(&url(&ops.to_string()));
    assert_eq!(st, 200);
    assert_eq!(body["permissions"]["BROWSE_PROJECTS"]["havePermission"], false);
    let (_, projects) = s.get("/rest/api/3/project/search");
    assert!(projects["values"].as_array().unwrap().iter().any(|p| p["key"] == "OPS"), "an admin still lists it");
    let (ids, _) = s.all_ids("project = OPS", "id", 5000);
    assert!(ids.is_empty(), "but cannot search its issues");
}

#[test]
fn archived_and_moved_issues_are_found_by_id_not_by_search() {
    let s = cloud(50);
    let (archived, moved) = (Dataset::issue_id(7), Dataset::issue_id(8));
    assert_eq!(s.sim.archive_issues(&[archived]), 1);
    let old_key = s.sim.visible_issues().into_iter().find(|(id, ..)| *id == moved).unwrap().1;
    let new_key = s.sim.move_issue(moved, 0).unwrap();
    assert!(new_key.starts_with("ENG-") && new_key != old_key, "{new_key}");
    let (ids, _) = s.all_ids(&format!("id in ({archived}, {moved})"), "id", 100);
    assert_eq!(ids, [moved.to_string()], "search leaves the archived issue out");
    let (_, bulk) = s.post("/rest/api/3/issue/bulkfetch", json!({"issueIdsOrKeys": [archived.to_string(), old_key]}));
    let keys: Vec<&str> = bulk["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 2, "{bulk}");
    assert!(keys.contains(&new_key.as_str()), "the old key finds the moved issue under its new key: {keys:?}");
    let (_, page) = s.get(&format!("/rest/api/3/search/jql?jql=key%3D{new_key}&fields=project"));
    assert_eq!(page["issues"][0]["fields"]["project"]["key"], "ENG");
    // The move is in the issue's history: its key and its project.
    let last = s.sim.histories(moved).pop().unwrap();
    let items = last["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["field"] == "Key" && i["fromString"] == old_key.as_str() && i["toString"] == new_key.as_str()),
        "{last}"
    );
    assert!(items.iter().any(|i| i["fieldId"] == "project" && i["toString"] == "ENG"), "{last}");
    // The other possible answer for archived issues: like deleted ones.
    s.sim.set_behaviour(Behaviour { archived_issues_fetchable: false, ..Behaviour::default() });
    assert_eq!(s.get(&format!("/rest/api/3/issue/{archived}")).0, 404);
}

#[test]
fn status_is_a_jql_clause() {
    let s = cloud(40);
    let (not_done, _) = s.all_ids("status != Done", "id", 100);
    let done: Vec<String> = (0..40)
        .map(Dataset::issue_id)
        .filter(|id| s.sim.issue_status(*id).as_deref() == Some("Done"))
        .map(|id| id.to_string())
        .collect();
    assert!(!done.is_empty() && not_done.len() + done.len() == 40);
    assert!(done.iter().all(|id| !not_done.contains(id)));
    assert_eq!(s.get("/rest/api/3/search/jql?jql=status%3E1").0, 400);
}

// ---------------------------------------------------------------------------------------------
// Change between and during runs.

#[test]
fn edits_deletes_and_new_fields_show_up_like_on_a_live_site() {
    let s = cloud(40);
    let d = s.sim.dataset().clone();
    let high_water = d.updated_ms(39);
    let edited = s.sim.edit_issues(3, 10, 3);
    let created = s.sim.create_issues(2);
    assert_eq!(s.sim.delete_issues(&[Dataset::issue_id(5)]), 1);
    // An incremental window from the old high-water mark sees exactly the changes, in order.
    let (ids, _) = s.all_ids(&format!("updated > {high_water} ORDER BY updated ASC, id ASC"), "id", 100);
    let want: Vec<String> = edited.iter().chain(&created).map(|id| id.to_string()).collect();
    assert_eq!(ids, want);
    let (all, _) = s.all_ids("updated >= 0", "id", 5000);
    assert_eq!(all.len(), 40 - 1 + 2);
    assert!(!all.contains(&Dataset::issue_id(5).to_string()));
    let (_, before) = s.get(&format!("/rest/api/3/search/jql?jql=id%3D{}&fields=status", Dataset::issue_id(14)));
    let (_, page) = s.get(&format!("/rest/api/3/search/jql?jql=id%3D{}&fields=summary,updated,status", edited[0]));
    let f = &page["issues"][0]["fields"];
    assert!(f["summary"].as_str().unwrap().ends_with("[edit 1]"));
    assert_ne!(f["status"]["name"], d.issue_fields(3)["status"]["name"], "an edit moves the status on");
    assert_eq!(before["issues"][0]["fields"]["status"]["name"], d.issue_fields(14)["status"]["name"]);
    // Moving the clock forward dates later changes accordingly.
    s.sim.advance_clock(Duration::from_secs(86_400));
    let later = s.sim.edit_issues(20, 1, 1);
    let (_, page) = s.get(&format!("/rest/api/3/search/jql?jql=id%3D{}&fields=updated", later[0]));
    let updated = page["issues"][0]["fields"]["updated"].as_str().unwrap();
    let t = chrono::DateTime::parse_from_str(updated, "%Y-%m-%dT%H:%M:%S%.3f%z").unwrap();
    assert!(t.timestamp_millis() > chrono::Utc::now().timestamp_millis() + 86_000_000, "{updated}");
    // New and renamed custom fields.
    let id = s.sim.add_custom_field("Risk Score", "number");
    s.sim.rename_field("customfield_10016", "Effort");
    let (_, fields) = s.get("/rest/api/3/field");
    assert!(fields.as_array().unwrap().iter().any(|f| f["id"] == id.as_str() && f["name"] == "Risk Score"));
    assert!(fields.as_array().unwrap().iter().any(|f| f["id"] == "customfield_10016" && f["name"] == "Effort"));
    let (_, page) = s.get(&format!("/rest/api/3/search/jql?jql=updated%3E%3D0&fields={id}&maxResults=1"));
    assert!(page["issues"][0]["fields"][&id].is_number());
}

#[test]
fn index_lag_hides_fresh_edits_from_search_for_a_while() {
    let s = site(SimConfig {
        behaviour: Behaviour { index_lag: Duration::from_millis(700), ..Default::default() },
        ..Default::default()
    });
    let high_water = s.sim.dataset().updated_ms(249);
    let edited = s.sim.edit_issues(0, 1, 1);
    let jql = format!("updated > {high_water}");
    assert!(s.all_ids(&jql, "id", 10).0.is_empty(), "search must lag the edit");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(s.all_ids(&jql, "id", 10).0, [edited[0].to_string()]);
}

#[test]
fn the_request_log_counts_by_path_and_status() {
    let s = cloud(5);
    s.get("/rest/api/3/field");
    s.get("/rest/api/3/field");
    s.get("/rest/api/3/nope");
    assert_eq!(s.sim.requests("/rest/api/3/field"), 2);
    assert_eq!(s.sim.requests_with_status("/rest/api/3/field", 200), 2);
    let (_, edited) = s.send(s.http.post(s.url("/_sim/edit?count=2&first=1")));
    assert_eq!(edited, json!([10_001, 10_002]));
    let (_, stats) = s.send(s.http.get(s.url("/_sim/stats")));
    assert!(stats["requests"].as_u64().unwrap() >= 2);
    assert!(s.sim.request_log().iter().any(|(p, st, _)| p == "/rest/api/3/nope" && *st == 404));
}

#[test]
fn totals_count_what_the_site_holds_for_the_issues_search_shows() {
    let s = cloud(200);
    // Three more histories on one issue, none on the hidden one.
    (0..3).for_each(|_| _ = s.send(s.http.post(s.url("/_sim/edit?count=1&first=3"))));
    s.sim.set_behaviour(Behaviour { hidden_issue_every: Some(50), ..Default::default() });
    let (status, t) = s.send(s.http.get(s.url("/_sim/totals")));
    assert_eq!(status, 200, "{t}");
    let ids: Vec<u64> = s.sim.visible_issues().into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids.len(), 196);
    let histories: Vec<Value> = ids.iter().flat_map(|id| s.sim.histories(*id)).collect();
    let comments: Vec<usize> = ids.iter().map(|id| s.sim.comments(*id).len()).collect();
    assert_eq!(t["issues"], 196);
    assert_eq!(t["comments"], comments.iter().sum::<usize>());
    assert_eq!(t["comments_first_100"], comments.iter().map(|n| (*n).min(100)).sum::<usize>());
    assert!(t["comments"].as_u64() > t["comments_first_100"].as_u64(), "no thread longer than 100: {t}");
    assert_eq!(t["worklogs"], ids.iter().map(|id| s.sim.worklogs(*id).len()).sum::<usize>());
    assert_eq!(t["histories"], histories.len());
    assert_eq!(t["history_items"], histories.iter().map(|h| h["items"].as_array().unwrap().len()).sum::<usize>());
    assert!(t["histories"].as_u64() > t["issues"].as_u64(), "{t}");
}

#[test]
fn tls_serves_https_to_clients_that_trust_the_generated_ca() {
    let identity = jira_sim::TlsIdentity::generate().unwrap();
    let ca = reqwest::Certificate::from_pem(identity.ca_pem().as_bytes()).unwrap();
    let mut s = site(SimConfig { tls: Some(identity), ..Default::default() });
    assert!(s.sim.base_url().starts_with("https://127.0.0.1:"), "{}", s.sim.base_url());

    // A client that does not know the CA refuses the site.
    let untrusted = s.block(reqwest::Client::new().get(s.url("/rest/api/3/myself")).send());
    assert!(untrusted.is_err(), "a certificate from an unknown CA was accepted");

    s.http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let (status, me) = s.get("/rest/api/3/myself");
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["emailAddress"], s.sim.email());
    let (ids, pages) = s.all_ids("project = ENG", "summary", 20);
    assert_eq!((ids.len(), pages), (50, 3));
}

#[test]
fn extra_custom_fields_widen_the_field_list_and_every_issue() {
    let s = site(SimConfig {
        data: DatasetConfig { issues: 40, extra_custom_fields: 17, ..Default::default() },
        ..Default::default()
    });
    let (_, fields) = s.get("/rest/api/3/field");
    let custom: Vec<&Value> = fields.as_array().unwrap().iter().filter(|f| f["custom"] == true).collect();
    assert_eq!(custom.len(), 30);
    let names: BTreeSet<&str> = custom.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 30, "custom field names must stay unique: {names:?}");
    assert!(names.contains("Story Points 2") && names.contains("Severity 2"), "{names:?}");

    let (status, page) = s.get("/rest/api/3/search/jql?jql=project%20%3D%20ENG&fields=*all&maxResults=8");
    assert_eq!(status, 200);
    for issue in page["issues"].as_array().unwrap() {
        let keys = issue["fields"].as_object().unwrap().keys().filter(|k| k.starts_with("customfield_")).count();
        assert_eq!(keys, 30, "{}", issue["key"]);
    }
    // An extra field carries values of the type it copies (Story Points → number).
    let values: Vec<&Value> =
        page["issues"].as_array().unwrap().iter().map(|i| &i["fields"]["customfield_10500"]).collect();
    assert!(values.iter().all(|v| v.is_null() || v.is_f64()), "{values:?}");
    assert!(values.iter().any(|v| v.is_f64()), "{values:?}");
}

// ---------------------------------------------------------------------------------------------
// REST v2 on Cloud, as tap-jira uses it: serverInfo, myself, project/search, group/member and
// enhanced search with `expand=changelog,transitions`.

/// True if an ADF document is anywhere in `v`.
fn has_adf(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.get("type").and_then(Value::as_str) == Some("doc") || o.values().any(has_adf),
        Value::Array(a) => a.iter().any(has_adf),
        _ => false,
    }
}

/// Every string in `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[test]
fn cloud_v2_and_the_new_endpoints_match_the_openapi_specs() {
    let s = cloud(60);
    for api in ["2", "3"] {
        let (st, info) = s.get(&format!("/rest/api/{api}/serverInfo"));
        assert_eq!(st, 200);
        assert_schema("platform", component("ServerInformation"), &info);
        assert_eq!(
            (info["deploymentType"].as_str(), info["baseUrl"].as_str()),
            (Some("Cloud"), Some(s.sim.base_url()))
        );
        let (st, page) = s.get(&format!("/rest/api/{api}/group/member?groupname=jira-users&maxResults=7"));
        assert_eq!(st, 200);
        assert_schema("platform", response_schema("platform", "/rest/api/3/group/member", "get"), &page);
        let (st, page) =
            s.get(&format!("/rest/api/{api}/project/search?expand=description,lead,url,projectKeys&maxResults=2"));
        assert_eq!(st, 200);
        assert_schema("platform", response_schema("platform", "/rest/api/3/project/search", "get"), &page);
        assert_eq!(page["values"][0]["key"], "ENG");
        assert!(page["values"][0]["lead"]["accountId"].is_string() && page["values"][0]["description"].is_string());
        assert!(page["nextPage"].as_str().unwrap().contains(&format!("/rest/api/{api}/project/search?startAt=2")));
        let q = format!(
            "/rest/api/{api}/search/jql?jql={}&fields=*all&expand=changelog,transitions&validateQuery=strict&maxResults=5",
            urlencode("updated >= '1999-12-31 19:00' order by updated asc")
        );
        let (st, body) = s.get(&q);
        assert_eq!(st, 200, "{body}");
        assert_schema("platform", response_schema("platform", "/rest/api/3/search/jql", "get"), &body);
        let (st, body) = s.post(
            &format!("/rest/api/{api}/search/jql"),
            json!({"jql": "project = ENG", "fields": ["*all"], "expand": "changelog,transitions", "maxResults": 5}),
        );
        assert_eq!(st, 200, "{body}");
        assert_schema("platform", response_schema("platform", "/rest/api/3/search/jql", "post"), &body);
        let (mut comments, mut histories) = (0, 0);
        for issue in body["issues"].as_array().unwrap() {
            assert_schema("platform", component("PageOfChangelogs"), &issue["changelog"]);
            assert_schema("platform", component("PageOfComments"), &issue["fields"]["comment"]);
            let transitions = json!({"type": "array", "items": component("IssueTransition")});
            assert_schema("platform", transitions, &issue["transitions"]);
            comments += issue["fields"]["comment"]["comments"].as_array().unwrap().len();
            histories += issue["changelog"]["histories"].as_array().unwrap().len();
        }
        assert!(comments > 0 && histories > 0, "validated real comments and histories");
    }
    let (st, me) = s.get("/rest/api/2/myself");
    assert_eq!(st, 200);
    assert_schema("platform", response_schema("platform", "/rest/api/3/myself", "get"), &me);
    assert!(me["self"].as_str().unwrap().contains("/rest/api/2/user"), "{me}");
    let (st, body) = s.get("/rest/api/2/group/member?groupname=jira-core-users");
    assert_eq!(st, 404);
    assert_schema("platform", component("ErrorCollection"), &body);
}

#[test]
fn cloud_v2_search_pages_tap_jiras_query_with_wiki_text_and_comments() {
    let s = cloud(230);
    let jql = urlencode("updated >= '1999-12-31 19:00' order by updated asc");
    let base =
        format!("/rest/api/2/search/jql?fields=*all&expand=changelog,transitions&validateQuery=strict&jql={jql}");
    // First a one-issue probe, then pages of the default size by token until `isLast`.
    let (st, probe) = s.get(&format!("{base}&maxResults=1"));
    assert_eq!((st, probe["issues"].as_array().unwrap().len(), probe["isLast"].as_bool()), (200, 1, Some(false)));
    let mut issues = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let q = match &token {
            Some(t) => format!("{base}&nextPageToken={t}"),
            None => base.clone(),
        };
        let (st, page) = s.get(&q);
        assert_eq!(st, 200, "{page}");
        let n = page["issues"].as_array().unwrap().len();
        issues.extend(page["issues"].as_array().unwrap().iter().cloned());
        match page["nextPageToken"].as_str() {
            Some(t) => {
                assert_eq!((n, &page["isLast"]), (50, &json!(false)));
                token = Some(t.to_string());
            }
            None => {
                assert_eq!(page["isLast"], true);
                break;
            }
        }
    }
    let ids: Vec<String> = issues.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    let want: Vec<String> = s.sim.visible_issues().into_iter().map(|(id, ..)| id.to_string()).collect();
    assert_eq!(ids, want, "every issue once, in updated order");

    let mut with_comments = 0;
    for issue in &issues {
        let f = &issue["fields"];
        assert!(!has_adf(issue), "v2 renders rich text as wiki markup: {issue}");
        let mut links = Vec::new();
        strings(issue, &mut links);
        assert!(!links.iter().any(|l| l.contains("/rest/api/3/")), "v2 links point at v2: {}", issue["key"]);
        assert!(
            issue["self"].as_str().unwrap().ends_with(&format!("/rest/api/2/issue/{}", issue["id"].as_str().unwrap()))
        );
        let comments = f["comment"]["comments"].as_array().expect("fields.comment is a page of comments");
        // Cloud embeds at most 100 comments; `total` counts all.
        let total = f["comment"]["total"].as_u64().unwrap();
        assert_eq!((comments.len() as u64, f["comment"]["startAt"].as_u64()), (total.min(100), Some(0)));
        for c in comments {
            assert!(c["body"].as_str().unwrap().starts_with("Comment "), "{c}");
            assert!(c["author"]["accountId"].is_string() && c["created"].is_string());
        }
        with_comments += usize::from(!comments.is_empty());
        assert!(issue["changelog"]["histories"].is_array() && issue["transitions"].is_array(), "{}", issue["key"]);
        assert!(f["description"].is_null() || f["description"].is_string());
    }
    assert!(with_comments > 30 && with_comments < 200, "some issues have comments: {with_comments}");
    // v3 renders the same comments as ADF.
    let (_, v3) = s.get("/rest/api/3/search/jql?jql=updated%3E%3D0&fields=comment&maxResults=100");
    let body = v3["issues"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["fields"]["comment"]["comments"].as_array().unwrap().clone())
        .next()
        .unwrap()["body"]
        .clone();
    assert_eq!(body["type"], "doc", "{body}");
}

#[test]
fn expand_adds_changelog_and_transitions_that_follow_edits() {
    let s = cloud(40);
    let d = s.sim.dataset().clone();
    let id = Dataset::issue_id(7);
    let get = |expand: &str| {
        let (st, body) = s.get(&format!("/rest/api/3/search/jql?jql=id%3D{id}&fields=status,updated{expand}"));
        assert_eq!(st, 200, "{body}");
        body["issues"][0].clone()
    };
    let plain = get("");
    assert!(plain.get("changelog").is_none() && plain.get("transitions").is_none(), "{plain}");
    let before = get("&expand=changelog,transitions");
    let total_before = before["changelog"]["total"].as_u64().unwrap();
    assert_eq!(before["changelog"]["histories"].as_array().unwrap().len() as u64, total_before);
    if let Some(newest) = before["changelog"]["histories"].as_array().unwrap().first() {
        assert_eq!(newest["items"][0]["toString"], before["fields"]["status"]["name"], "{newest}");
    }
    let status = before["fields"]["status"]["name"].as_str().unwrap().to_string();
    let targets: Vec<&str> =
        before["transitions"].as_array().unwrap().iter().map(|t| t["to"]["name"].as_str().unwrap()).collect();
    assert!(!targets.is_empty() && !targets.contains(&status.as_str()), "{status}: {targets:?}");

    // An edit moves the status along the first transition and adds a history at `updated`.
    s.sim.edit_issues(7, 1, 1);
    let after = get("&expand=changelog");
    assert!(after.get("transitions").is_none());
    let histories = after["changelog"]["histories"].as_array().unwrap();
    assert_eq!(after["changelog"]["total"].as_u64(), Some(total_before + 1));
    assert_eq!(histories[0]["created"], after["fields"]["updated"], "newest first, at the edit");
    assert_eq!(histories[0]["items"][0]["fromString"], status.as_str());
    assert_eq!(histories[0]["items"][0]["toString"], after["fields"]["status"]["name"]);
    assert_eq!(after["fields"]["status"]["name"], before["transitions"][0]["to"]["name"]);
    assert_ne!(after["fields"]["status"]["name"], d.issue_fields(7)["status"]["name"]);

    // POST takes `expand` as a string; `fields=id` issues carry the expansions too.
    let (_, body) = s.post(
        "/rest/api/3/search/jql",
        json!({"jql": format!("id = {id}"), "fields": ["id"], "expand": "transitions"}),
    );
    let issue = &body["issues"][0];
    assert_eq!(issue["id"], id.to_string());
    assert!(issue["transitions"].is_array() && issue.get("changelog").is_none(), "{issue}");
    // Redacted users stay redacted in changelogs.
    s.sim.set_behaviour(Behaviour { user_emails_visible: false, ..Default::default() });
    let redacted = get("&expand=changelog");
    assert!(redacted["changelog"]["histories"][0]["author"].get("emailAddress").is_none());
    assert!(redacted["changelog"]["histories"][0]["author"]["accountId"].is_string());
}

#[test]
fn group_members_page_by_50_and_leave_out_inactive_users_unless_asked() {
    let s =
        site(SimConfig { data: DatasetConfig { issues: 5, users: 120, ..Default::default() }, ..Default::default() });
    let all_members = |group: &str, inactive: &str, max: u32| {
        let mut users = Vec::new();
        let mut next = Some(format!(
            "/rest/api/2/group/member?groupname={group}&maxResults={max}&includeInactiveUsers={inactive}&startAt=0"
        ));
        let mut pages = 0;
        while let Some(path) = next.take() {
            let (st, page) = s.get(&path);
            assert_eq!(st, 200, "{page}");
            pages += 1;
            assert!(page["maxResults"].as_u64().unwrap() <= 50);
            users.extend(
                page["values"].as_array().unwrap().iter().map(|u| u["accountId"].as_str().unwrap().to_string()),
            );
            if page["isLast"] == false {
                next = Some(page["nextPage"].as_str().unwrap().trim_start_matches(s.sim.base_url()).to_string());
            } else {
                assert!(page.get("nextPage").is_none());
            }
        }
        (users, pages)
    };
    let d = s.sim.dataset();
    let everyone: Vec<String> = (0..120).map(|u| d.user_account_id(u)).collect();
    let active: Vec<String> = (0..120).filter(|u| Dataset::user_active(*u)).map(|u| d.user_account_id(u)).collect();
    // tap-jira sends Python's `True`.
    assert_eq!(all_members("jira-users", "True", 500), (everyone.clone(), 3), "capped at 50 a page");
    assert_eq!(all_members("users", "true", 50).0, everyone);
    assert_eq!(all_members("jira-users", "false", 50).0, active, "inactive users only when asked");
    assert_eq!(all_members("jira-software-users", "true", 7), (active.clone(), active.len().div_ceil(7)));
    assert_eq!(all_members("jira-administrators", "true", 2).0, everyone[..2]);
    let (_, page) = s.get("/rest/api/2/group/member?groupname=jira-users");
    assert_eq!((page["total"].as_u64(), page["maxResults"].as_u64()), (Some(active.len() as u64), Some(50)));
    assert!(page["values"][0].get("locale").is_none(), "UserDetails has no locale");

    let (st, body) = s.get("/rest/api/2/group/member?groupname=no-such-group");
    assert_eq!(st, 404);
    assert!(body["errorMessages"][0].as_str().unwrap().contains("no-such-group"), "{body}");
    let (st, _) = s.get("/rest/api/3/group/member");
    assert_eq!(st, 400);
}

#[test]
fn data_center_serves_server_info_and_group_members_too() {
    let s = site(SimConfig { flavor: Flavor::DataCenter, ..Default::default() });
    let c = s.sim.credentials().clone();
    let get = |q: &str| s.send(s.http.get(s.url(q)).bearer_auth(&c.pat));
    let (st, info) = get("/rest/api/2/serverInfo");
    assert_eq!(st, 200);
    assert_eq!(info["deploymentType"], "Server");
    assert!(info["versionNumbers"][0].as_u64().unwrap() < 1000);
    let (st, page) = get("/rest/api/2/group/member?groupname=jira-administrators");
    assert_eq!(st, 200);
    assert_eq!(page["total"], 2);
    assert!(page["values"][0]["name"].is_string() && page["values"][0]["key"].is_string());
    let (_, projects) = get("/rest/api/2/project?expand=description,lead,projectKeys");
    assert!(projects[0]["lead"]["displayName"].is_string(), "{}", projects[0]);
    assert_eq!(projects[0]["projectKeys"], json!(["ENG"]));
    assert!(projects[0]["self"].as_str().unwrap().contains("/rest/api/2/project/"));
    // DC search honours `expand` too, as an array in POST bodies.
    let (_, body) = s.send(
        s.http
            .post(s.url("/rest/api/2/search"))
            .bearer_auth(&c.pat)
            .json(&json!({"jql": "updated >= 0", "maxResults": 2, "expand": ["changelog"]})),
    );
    assert!(body["issues"][0]["changelog"]["histories"].is_array(), "{body}");
    assert!(body["issues"][0]["fields"]["comment"]["comments"].is_array());
    assert_eq!(get("/rest/api/2/search/jql?jql=updated%3E%3D0").0, 404, "enhanced search is Cloud only");
}

#[test]
fn comment_worklog_and_feed_responses_match_the_spec() {
    let s = cloud(300);
    let id = s.sim.issues_with_long_comment_threads()[0];
    let (status, body) = s.get(&format!("/rest/api/3/issue/{id}/comment?maxResults=30"));
    assert_eq!(status, 200);
    assert_schema("platform", response_schema("platform", "/rest/api/3/issue/{issueIdOrKey}/comment", "get"), &body);
    let wl = (10_000..10_300).find(|i| !s.sim.worklogs(*i).is_empty()).unwrap();
    let (status, body) = s.get(&format!("/rest/api/3/issue/{wl}/worklog"));
    assert_eq!(status, 200);
    assert_schema("platform", response_schema("platform", "/rest/api/3/issue/{issueIdOrKey}/worklog", "get"), &body);
    for what in ["updated", "deleted"] {
        let (status, body) = s.get(&format!("/rest/api/3/worklog/{what}?since=0"));
        assert_eq!(status, 200);
        assert_schema("platform", response_schema("platform", &format!("/rest/api/3/worklog/{what}"), "get"), &body);
    }
    let ids: Vec<u64> = s.sim.worklog_ids().into_iter().take(5).collect();
    let (status, body) = s.post("/rest/api/3/worklog/list", json!({ "ids": ids }));
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(5)));
    assert_schema("platform", response_schema("platform", "/rest/api/3/worklog/list", "post"), &body);
    // Behind the OAuth gateway the issue id is read by name too (the path also has the cloud id).
    let (_, t) = refresh(&s, "sim-refresh-0");
    let access = t["access_token"].as_str().unwrap();
    let gw = s.sim.gateway_url();
    for path in [format!("/rest/api/3/issue/{id}/comment"), format!("/rest/api/3/issue/{id}")] {
        let (status, body) = s.send(s.http.get(format!("{gw}{path}")).bearer_auth(access));
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[test]
fn the_field_list_has_comment_as_a_system_field() {
    let s = cloud(5);
    for api in ["2", "3"] {
        let (st, fields) = s.get(&format!("/rest/api/{api}/field"));
        assert_eq!(st, 200);
        let system: Vec<&Value> = fields.as_array().unwrap().iter().filter(|f| f["custom"] == false).collect();
        // The first 17, then the 27 more a Jira Cloud site lists (see `system_fields.rs`).
        assert_eq!(system.len(), 44);
        assert_eq!(system[16]["id"], "comment");
        let comment = system.iter().find(|f| f["id"] == "comment").expect("comment field");
        assert_eq!(
            (&comment["schema"]["type"], &comment["schema"]["system"]),
            (&json!("comments-page"), &json!("comment"))
        );
        assert_eq!(comment["navigable"], false);
    }
    // `-comment` leaves it out, as on Jira.
    let (_, page) = s.get("/rest/api/3/search/jql?jql=updated%3E%3D0&fields=*all,-comment&maxResults=1");
    assert!(page["issues"][0]["fields"].get("comment").is_none());
    assert!(page["issues"][0]["fields"].get("summary").is_some());
}

#[test]
fn the_gateway_serves_v2_and_checks_each_endpoints_scope() {
    let s = cloud(20);
    let (_, t) = refresh(&s, "sim-refresh-0");
    let access = t["access_token"].as_str().unwrap().to_string();
    let gw = s.sim.gateway_url();
    let get = |path: &str, token: &str| s.send(s.http.get(format!("{gw}{path}")).bearer_auth(token));
    let (st, body) = get("/rest/api/2/search/jql?jql=updated%3E%3D0&fields=*all&expand=changelog,transitions", &access);
    assert_eq!(st, 200, "{body}");
    assert!(!has_adf(&body) && body["issues"][0]["transitions"].is_array());
    assert_eq!(get("/rest/api/2/serverInfo", &access).0, 200, "serverInfo needs no scope");
    assert_eq!(get("/rest/api/2/myself", &access).0, 200);
    assert_eq!(get("/rest/api/2/project/search", &access).0, 200);
    // Group members need manage:jira-configuration, which the default grant does not have.
    let (st, body) = get("/rest/api/2/group/member?groupname=jira-users", &access);
    assert_eq!((st, body["message"].as_str()), (401, Some("Unauthorized; scope does not match")));

    let mut config = SimConfig::default();
    config.credentials.oauth.scopes.push("manage:jira-configuration".into());
    let s = site(config);
    let (_, t) = refresh(&s, "sim-refresh-0");
    let (st, body) = s.send(
        s.http
            .get(format!("{}/rest/api/3/group/member?groupname=jira-administrators", s.sim.gateway_url()))
            .bearer_auth(t["access_token"].as_str().unwrap()),
    );
    assert_eq!((st, body["total"].as_u64()), (200, Some(2)), "{body}");
}
