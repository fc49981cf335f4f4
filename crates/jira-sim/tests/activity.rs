//! Comments, worklogs and links over real HTTP: embedded pages and their caps, the paged
//! endpoints, the worklog feed's one-minute rule and `until`, and changes made while running
//! (index lag included).

use std::collections::BTreeSet;
use std::time::Duration;

use jira_sim::{Behaviour, DatasetConfig, Flavor, RunningSim, SimConfig};
use serde_json::{Value, json};

struct Site {
    rt: tokio::runtime::Runtime,
    sim: RunningSim,
    http: reqwest::Client,
    cloud: bool,
}

/// A site whose data ends a day ago, so every generated worklog is older than the feed's
/// quiet minute whatever the machine's clock says.
fn site(flavor: Flavor, issues: u64) -> Site {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data =
        DatasetConfig { issues, updated_until: chrono::Utc::now() - chrono::Duration::days(1), ..Default::default() };
    let sim = rt.block_on(RunningSim::start(SimConfig { data, flavor, ..Default::default() })).unwrap();
    Site { rt, sim, http: reqwest::Client::new(), cloud: flavor == Flavor::Cloud }
}

impl Site {
    fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let req = match self.cloud {
            true => req.basic_auth(self.sim.email(), Some(self.sim.api_token())),
            false => req.bearer_auth("sim-pat"),
        };
        self.rt.block_on(async {
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        })
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.sim.base_url())))
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.sim.base_url())).json(&body))
    }

    /// The issue as Cloud search shows it (`fields`).
    fn searched(&self, id: u64, fields: &str) -> Value {
        let (status, body) = self.get(&format!("/rest/api/3/search/jql?jql=id%3D{id}&fields={fields}"));
        assert_eq!(status, 200, "{body}");
        body["issues"][0]["fields"].clone()
    }

    /// Every item of a worklog feed from `since`, following `nextPage`; and the last page.
    fn feed(&self, what: &str, since: i64) -> (Vec<(u64, i64)>, Value) {
        let mut url = format!("/rest/api/3/worklog/{what}?since={since}");
        let mut items = Vec::new();
        loop {
            let (status, body) = self.get(&url);
            assert_eq!(status, 200, "{body}");
            let values = body["values"].as_array().unwrap();
            assert!(values.len() <= 1000);
            items.extend(values.iter().map(|v| (v["worklogId"].as_u64().unwrap(), v["updatedTime"].as_i64().unwrap())));
            if body["lastPage"] == true {
                return (items, body);
            }
            assert_eq!(values.len(), 1000, "only the last page is short");
            assert_eq!(body["until"], values.last().unwrap()["updatedTime"]);
            let next = body["nextPage"].as_str().unwrap();
            url = next[self.sim.base_url().len()..].to_string();
        }
    }
}

fn id_of(v: &Value) -> u64 {
    v["id"].as_str().unwrap().parse().unwrap()
}

fn ids(v: &Value, list: &str) -> Vec<String> {
    v[list].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn cloud_embeds_100_comments_and_the_endpoint_pages_the_rest() {
    let s = site(Flavor::Cloud, 400);
    let long = s.sim.issues_with_long_comment_threads();
    assert!(!long.is_empty(), "a default site has long threads");
    let id = long[0];
    let truth: Vec<String> = s.sim.comments(id).iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    assert!(truth.len() > 100);
    let embedded = &s.searched(id, "comment")["comment"];
    assert_eq!(
        (embedded["total"].as_u64(), embedded["comments"].as_array().unwrap().len()),
        (Some(truth.len() as u64), 100)
    );
    assert_eq!(ids(embedded, "comments"), truth[..100]);

    let (status, page) = s.get(&format!("/rest/api/3/issue/{id}/comment?maxResults=500"));
    assert_eq!(status, 200);
    assert_eq!((page["maxResults"].as_u64(), page["total"].as_u64()), (Some(100), Some(truth.len() as u64)));
    let mut paged = Vec::new();
    while paged.len() < truth.len() {
        let (_, page) = s.get(&format!("/rest/api/3/issue/{id}/comment?startAt={}&maxResults=40", paged.len()));
        assert_eq!(page["startAt"].as_u64(), Some(paged.len() as u64));
        paged.extend(ids(&page, "comments"));
    }
    assert_eq!(paged, truth);
    let (_, newest) = s.get(&format!("/rest/api/3/issue/{id}/comment?orderBy=-created&maxResults=1"));
    assert_eq!(ids(&newest, "comments"), [truth.last().unwrap().clone()]);
    assert_eq!(s.get(&format!("/rest/api/3/issue/{id}/comment?orderBy=updated")).0, 400);
    let (status, v2) = s.get(&format!("/rest/api/2/issue/{id}/comment?maxResults=1"));
    assert!(status == 200 && v2["comments"][0]["body"].is_string(), "{v2}");
    // Some comments are restricted to a role; Cloud marks every comment jsdPublic.
    let all = s.sim.comments(id);
    assert!(all.iter().all(|c| c["jsdPublic"] == true));
    let restricted = (10_000..10_400).flat_map(|i| s.sim.comments(i)).filter(|c| c.get("visibility").is_some()).count();
    assert!(restricted > 0);

    let (status, body) = s.get("/rest/api/3/issue/99999/comment");
    assert_eq!(
        (status, body["errorMessages"][0].as_str()),
        (404, Some("Issue does not exist or you do not have permission to see it."))
    );
    s.sim.delete_issues(&[id]);
    assert_eq!(s.get(&format!("/rest/api/3/issue/{id}/comment")).0, 404);
}

#[test]
fn newest_comments_are_embedded_when_switched() {
    let s = site(Flavor::Cloud, 400);
    s.sim.set_behaviour(Behaviour { embedded_comments_newest: true, ..Default::default() });
    let id = s.sim.issues_with_long_comment_threads()[0];
    let truth: Vec<String> = s.sim.comments(id).iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    let embedded = &s.searched(id, "comment")["comment"];
    assert_eq!(ids(embedded, "comments"), truth[truth.len() - 100..]);
    assert_eq!(embedded["startAt"].as_u64(), Some(truth.len() as u64 - 100));
}

#[test]
fn data_center_embeds_every_comment_and_pages_50_by_default() {
    let s = site(Flavor::DataCenter, 400);
    let id = s.sim.issues_with_long_comment_threads()[0];
    let n = s.sim.comments(id).len();
    let (status, body) = s.get(&format!("/rest/api/2/search?jql=id%3D{id}&fields=comment"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issues"][0]["fields"]["comment"]["comments"].as_array().unwrap().len(), n);
    let (_, page) = s.get(&format!("/rest/api/2/issue/{id}/comment"));
    assert_eq!((page["maxResults"].as_u64(), page["comments"].as_array().unwrap().len()), (Some(50), 50));
    assert!(page["comments"][0].get("jsdPublic").is_none());
    let (status, feed) = s.get("/rest/api/2/worklog/updated?since=0");
    assert_eq!((status, feed["isLastPage"].clone()), (200, feed["lastPage"].clone()));
}

#[test]
fn worklogs_beyond_the_20_embedded_page_by_start_and_started() {
    let s = site(Flavor::Cloud, 400);
    let id = (10_000..10_400).find(|i| s.sim.worklogs(*i).len() > 20).expect("some issue logs more than 20");
    let truth = s.sim.worklogs(id);
    let f = s.searched(id, "worklog,timespent");
    assert_eq!(f["worklog"]["total"].as_u64(), Some(truth.len() as u64));
    assert_eq!(f["worklog"]["worklogs"].as_array().unwrap().len(), 20);
    let spent: i64 = truth.iter().map(|w| w["timeSpentSeconds"].as_i64().unwrap()).sum();
    assert_eq!(f["timespent"].as_i64(), Some(spent));
    let (_, all) = s.get(&format!("/rest/api/3/issue/{id}/worklog"));
    assert_eq!((all["maxResults"].as_u64(), all["worklogs"].as_array().unwrap().len()), (Some(5000), truth.len()));
    let (_, page) = s.get(&format!("/rest/api/3/issue/{id}/worklog?startAt=20&maxResults=5"));
    assert_eq!(
        ids(&page, "worklogs"),
        truth[20..25].iter().map(|w| w["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    );
    let started = |w: &Value| {
        chrono::DateTime::parse_from_str(w["started"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.3f%z")
            .unwrap()
            .timestamp_millis()
    };
    let mid = started(&truth[10]);
    let (_, after) = s.get(&format!("/rest/api/3/issue/{id}/worklog?startedAfter={mid}"));
    assert_eq!(after["total"].as_u64(), Some(truth.len() as u64 - 10));
    let (_, before) = s.get(&format!("/rest/api/3/issue/{id}/worklog?startedBefore={mid}"));
    assert_eq!(before["total"].as_u64(), Some(10));
}

#[test]
fn the_worklog_feed_lists_every_worklog_and_hides_the_last_minute() {
    let s = site(Flavor::Cloud, 3000);
    let (items, last) = s.feed("updated", 0);
    let listed: BTreeSet<u64> = items.iter().map(|(w, _)| *w).collect();
    assert_eq!(listed, s.sim.worklog_ids().into_iter().collect(), "every worklog, once each");
    assert!(items.len() > 1000, "several pages");
    assert!(items.windows(2).all(|p| p[0].1 <= p[1].1), "oldest first");
    assert_eq!(last["until"].as_i64(), Some(items.last().unwrap().1));
    assert!(last.get("nextPage").is_none());
    // `since` is inclusive: the page starting at an item's time starts with it.
    let (from, _) = s.feed("updated", items[500].1);
    assert_eq!(from[0], items[500]);

    let issue = 10_000 + 7;
    let added = s.sim.add_worklog(issue).unwrap();
    let since = items.last().unwrap().1 + 1;
    assert!(s.feed("updated", since).0.is_empty(), "changed in the last minute: not yet listed");
    s.sim.advance_clock(Duration::from_secs(61));
    let (fresh, page) = s.feed("updated", since);
    assert_eq!(fresh.iter().map(|(w, _)| *w).collect::<Vec<_>>(), [added]);
    assert_eq!(page["until"].as_i64(), Some(fresh[0].1));

    let gone = items[3].0;
    assert!(s.sim.delete_worklog(gone));
    assert_eq!(s.sim.deleted_worklog_ids(), [gone]);
    assert!(s.feed("deleted", 0).0.is_empty());
    s.sim.advance_clock(Duration::from_secs(61));
    let (deleted, _) = s.feed("deleted", 0);
    assert_eq!(deleted.iter().map(|(w, _)| *w).collect::<Vec<_>>(), [gone]);
    assert!(!s.feed("updated", 0).0.iter().any(|(w, _)| *w == gone));

    let (status, list) = s.post("/rest/api/3/worklog/list", json!({"ids": [added, gone, items[4].0]}));
    assert_eq!(status, 200);
    let got: Vec<&str> = list.as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap()).collect();
    assert_eq!(got.len(), 2, "the deleted one is left out");
    assert!(list.as_array().unwrap().iter().all(|w| w["issueId"].is_string()));
    let too_many: Vec<u64> = (0..1001).collect();
    assert_eq!(s.post("/rest/api/3/worklog/list", json!({"ids": too_many})).0, 400);
    assert_eq!(s.post("/rest/api/3/worklog/list", json!({"ids": []})).0, 400);
}

#[test]
fn changes_show_in_search_after_the_index_lag_and_bump_updated() {
    let s = site(Flavor::Cloud, 200);
    s.sim.set_behaviour(Behaviour { index_lag: Duration::from_millis(400), ..Default::default() });
    let id = (10_000..10_200).find(|i| s.sim.comments(*i).len() < 4).unwrap();
    let before = s.searched(id, "comment,updated");
    let cid = s.sim.add_comment(id).unwrap();
    let wid = s.sim.add_worklog(id).unwrap();
    // Search still shows the indexed issue; the issue endpoint reads the stored one.
    assert!(s.searched(id, "comment,updated") == before, "search shows the indexed version");
    let (_, stored) = s.get(&format!("/rest/api/3/issue/{id}?fields=comment,updated,worklog"));
    let total = stored["fields"]["comment"]["total"].as_u64().unwrap();
    assert_eq!(total, before["comment"]["total"].as_u64().unwrap() + 1);
    assert_ne!(stored["fields"]["updated"], before["updated"]);
    std::thread::sleep(Duration::from_millis(500));
    let after = s.searched(id, "comment,updated");
    assert_eq!(after["updated"], stored["fields"]["updated"]);
    assert!(after["comment"]["comments"].as_array().unwrap().iter().any(|c| id_of(c) == cid));
    // The touched issue is now last in `updated` order.
    let newest = s.sim.visible_issues().into_iter().max_by_key(|(_, _, u)| *u).unwrap();
    assert_eq!(newest.0, id);
    // Logging work wrote a history (Jira's WorklogId item); a comment did not.
    let items: Vec<String> = s
        .sim
        .histories(id)
        .iter()
        .flat_map(|h| h["items"].as_array().unwrap().clone())
        .map(|i| i["field"].as_str().unwrap().to_string())
        .collect();
    assert!(items.contains(&"WorklogId".to_string()) && items.contains(&"timespent".to_string()), "{items:?}");

    assert!(s.sim.edit_comment(cid));
    assert!(s.sim.comments(id).iter().any(|c| id_of(c) == cid && c["created"] != c["updated"]));
    assert!(s.sim.delete_comment(cid) && !s.sim.delete_comment(cid));
    assert!(!s.sim.comments(id).iter().any(|c| id_of(c) == cid));
    assert!(s.sim.edit_worklog(wid));
    assert!(s.sim.delete_worklog(wid) && !s.sim.edit_worklog(wid));
    assert!(!s.sim.worklog_ids().contains(&wid));
    assert_eq!(s.sim.add_comment(99_999), None);
}

#[test]
fn links_change_both_issues() {
    let s = site(Flavor::Cloud, 200);
    let (a, b) = (10_000 + 20, 10_000 + 21);
    let (ua, ub) =
        (s.sim.issue_fields(a).unwrap()["updated"].clone(), s.sim.issue_fields(b).unwrap()["updated"].clone());
    let link = s.sim.add_link(a, b).unwrap();
    let find = |issue: u64| s.sim.links(issue).into_iter().find(|l| id_of(l) == link);
    assert_eq!(find(a).unwrap()["outwardIssue"]["id"], b.to_string());
    assert_eq!(find(b).unwrap()["inwardIssue"]["id"], a.to_string());
    assert_ne!(s.sim.issue_fields(a).unwrap()["updated"], ua);
    assert_ne!(s.sim.issue_fields(b).unwrap()["updated"], ub);
    assert!(s.sim.histories(b).iter().any(|h| h["items"][0]["field"] == "Link"));
    assert!(s.sim.delete_link(link) && !s.sim.delete_link(link));
    assert!(find(a).is_none() && find(b).is_none());
    // A generated link goes from both ends too.
    let (issue, generated) = (10_000..10_200)
        .find_map(|i| s.sim.links(i).first().map(|l| (i, l["id"].as_str().unwrap().parse::<u64>().unwrap())))
        .unwrap();
    assert!(s.sim.delete_link(generated));
    assert!(s.sim.links(issue).iter().all(|l| id_of(l) != generated));
}
