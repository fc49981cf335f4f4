//! The simulated site over real HTTP: routing, misbehaviour, request accounting, and the
//! control surface tests and benchmarks use to change the site while it runs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::accounts::{Credentials, Flavor};
use crate::app::{AppState, error};
use crate::auth;
use crate::behaviour::{Behaviour, Fault};
use crate::data::{Dataset, DatasetConfig};
use crate::site::{RecordedRequest, Site};
use crate::tls::{TlsIdentity, TlsListener};
use crate::{activity_http, changelog, dimensions, endpoints, fetch, field_options, permissions, planning, search};

/// How to start a simulated site.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub data: DatasetConfig,
    pub flavor: Flavor,
    pub credentials: Credentials,
    pub behaviour: Behaviour,
    /// `127.0.0.1:0` picks a free port.
    pub addr: SocketAddr,
    /// Serve https with this identity instead of plain http.
    pub tls: Option<TlsIdentity>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            data: DatasetConfig::default(),
            flavor: Flavor::Cloud,
            credentials: Credentials::default(),
            behaviour: Behaviour::default(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
        }
    }
}

/// A simulated site serving on a loopback port until dropped or shut down.
pub struct RunningSim {
    base_url: String,
    app: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSim {
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.addr).await?;
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{}", listener.local_addr()?);
        let app = Arc::new(AppState {
            site: Site::new(
                Dataset::new(config.data, base_url.clone()).for_data_center(config.flavor == Flavor::DataCenter),
                config.behaviour,
            ),
            flavor: config.flavor,
            credentials: config.credentials,
            oauth: Mutex::default(),
        });
        let router = router(app.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let stop = async {
            let _ = rx.await;
        };
        let task = match &config.tls {
            None => tokio::spawn(serve(listener, router, stop)),
            Some(identity) => tokio::spawn(serve(TlsListener::new(listener, identity)?, router, stop)),
        };
        Ok(Self { base_url, app, shutdown: Some(tx), task: Some(task) })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Base URL of the OAuth gateway for this site: `{base}/ex/jira/{cloudId}`.
    pub fn gateway_url(&self) -> String {
        format!("{}/ex/jira/{}", self.base_url, self.app.site.data.cloud_id())
    }

    pub fn dataset(&self) -> &Dataset {
        &self.app.site.data
    }

    pub fn credentials(&self) -> &Credentials {
        &self.app.credentials
    }

    pub fn email(&self) -> &str {
        &self.app.credentials.email
    }

    pub fn api_token(&self) -> &str {
        &self.app.credentials.api_token
    }

    /// Successful token requests of one grant: `refresh_token`, `client_credentials` (Cloud),
    /// `dc_authorization_code`, `dc_refresh_token` (Data Center).
    pub fn token_grants(&self, grant: &str) -> u64 {
        self.app.oauth.lock().unwrap_or_else(|e| e.into_inner()).grants.get(grant).copied().unwrap_or(0)
    }

    /// Requests served for `path`, all statuses together.
    pub fn requests(&self, path: &str) -> u64 {
        let st = self.app.site.lock();
        st.counters.iter().filter(|((p, _), _)| p == path).map(|(_, n)| n).sum()
    }

    /// Requests served for `path` that answered `status`.
    pub fn requests_with_status(&self, path: &str, status: u16) -> u64 {
        self.app.site.lock().counters.get(&(path.to_string(), status)).copied().unwrap_or(0)
    }

    /// Every (path, status) → count served so far.
    pub fn request_log(&self) -> Vec<(String, u16, u64)> {
        self.app.site.lock().counters.iter().map(|((p, s), n)| (p.clone(), *s, *n)).collect()
    }

    /// Starts (or restarts) recording every API request with its query and JSON body.
    pub fn record_requests(&self) {
        self.app.site.lock().recorded = Some(Vec::new());
    }

    /// The requests recorded since `record_requests`, in arrival order.
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        self.app.site.lock().recorded.clone().unwrap_or_default()
    }

    pub fn behaviour(&self) -> Behaviour {
        self.app.site.lock().behaviour.clone()
    }

    /// Changes how the site misbehaves from the next request on.
    pub fn set_behaviour(&self, b: Behaviour) {
        self.app.site.lock().behaviour = b;
    }

    /// Edits `count` issues now (every `stride`-th from index `first`); returns their ids.
    pub fn edit_issues(&self, first: u64, stride: u64, count: u64) -> Vec<u64> {
        let mut st = self.app.site.lock();
        let lag = st.behaviour.index_lag;
        st.edit(&self.app.site.data, first, stride, count, lag)
    }

    /// Creates `count` issues now; returns their ids.
    pub fn create_issues(&self, count: u64) -> Vec<u64> {
        let mut st = self.app.site.lock();
        let lag = st.behaviour.index_lag;
        st.create(&self.app.site.data, count, lag)
    }

    /// Deletes issues by id; returns how many existed.
    pub fn delete_issues(&self, ids: &[u64]) -> usize {
        self.app.site.lock().delete(&self.app.site.data, ids)
    }

    /// Every history of issue `id` as stored, oldest first (the truth for changelog tables);
    /// empty when the issue is gone.
    pub fn histories(&self, id: u64) -> Vec<serde_json::Value> {
        let d = &self.app.site.data;
        let st = self.app.site.lock();
        let later = std::time::Instant::now() + Duration::from_secs(365 * 86_400);
        match id.checked_sub(Dataset::issue_id(0)).and_then(|i| st.stored(d, i, later)) {
            Some(s) => st.histories(d, &s, true),
            None => Vec::new(),
        }
    }

    /// The Sprint field of issue `id` as Cloud's objects, whichever shape the site sends (the
    /// truth Data Center's sprint strings must read back as); `None` for an unknown issue.
    pub fn sprint_objects(&self, id: u64) -> Option<serde_json::Value> {
        let d = &self.app.site.data;
        let i = d.index_of_id(id)?;
        d.issue_fields_at(i, 0).remove("customfield_10020")
    }

    /// Archives issues by id (they leave search and stay on the site); returns how many.
    pub fn archive_issues(&self, ids: &[u64]) -> usize {
        self.app.site.lock().archive(&self.app.site.data, ids)
    }

    /// Moves the issue `id` to the project at index `project`: a new key, the same id, updated
    /// now. Returns the new key.
    pub fn move_issue(&self, id: u64, project: u64) -> Option<String> {
        self.app.site.lock().move_issue(&self.app.site.data, id, project)
    }

    /// The status name of issue `id` as stored (archived included), `None` if it is gone.
    pub fn issue_status(&self, id: u64) -> Option<String> {
        let d = &self.app.site.data;
        let st = self.app.site.lock();
        let later = std::time::Instant::now() + Duration::from_secs(365 * 86_400);
        let s = st.stored(d, id.checked_sub(Dataset::issue_id(0))?, later)?;
        st.issue_fields(d, &s, true)["status"]["name"].as_str().map(str::to_string)
    }

    /// Adds a custom field (`number` or `string`) with values on every issue; returns its id.
    pub fn add_custom_field(&self, name: &str, kind: &'static str) -> String {
        self.app.site.lock().add_field(name, kind)
    }

    /// Changes the type of a field added with `add_custom_field` (`number` or `string`).
    pub fn retype_field(&self, id: &str, kind: &'static str) {
        self.app.site.lock().retype_field(id, kind);
    }

    pub fn rename_field(&self, id: &str, name: &str) {
        self.app.site.lock().rename_field(id, name);
    }

    /// The truth tests compare against: every issue search can show the API user right now,
    /// as `(id, key, updated in epoch milliseconds)` in id order.
    pub fn visible_issues(&self) -> Vec<(u64, String, i64)> {
        let d = &self.app.site.data;
        let st = self.app.site.lock();
        let now = std::time::Instant::now();
        (0..st.index_count(d))
            .filter_map(|i| st.snapshot(d, i, now))
            .map(|s| (Dataset::issue_id(s.index), st.issue_key(d, s.index), s.updated_ms))
            .collect()
    }

    /// The current `fields` of a visible issue as v3 renders them (ADF rich text), or `None`
    /// when search cannot show it: the truth for value-by-value comparisons.
    pub fn issue_fields(&self, id: u64) -> Option<serde_json::Map<String, serde_json::Value>> {
        let d = &self.app.site.data;
        let st = self.app.site.lock();
        let s = st.snapshot(d, id.checked_sub(Dataset::issue_id(0))?, std::time::Instant::now())?;
        Some(st.issue_fields(d, &s, true))
    }

    /// Every sprint the site's boards list, each once, by id, as the agile API renders it
    /// (Data Center: without `createdDate`): the truth for the sprints table.
    pub fn sprints(&self) -> Vec<serde_json::Value> {
        self.app.site.data.sprints(self.app.flavor == Flavor::DataCenter)
    }

    /// Every version of every visible project, as `GET /project/{id}/version` serves it
    /// (v3 on Cloud, v2 on Data Center), project by project.
    pub fn versions(&self) -> Vec<serde_json::Value> {
        let api = if self.app.flavor == Flavor::DataCenter { "2" } else { "3" };
        let projects = endpoints::visible_projects(&self.app);
        projects.into_iter().flat_map(|p| planning::versions_of(&self.app, p, api)).collect()
    }

    /// Every component of every visible project, as the project's component list serves it.
    pub fn components(&self) -> Vec<serde_json::Value> {
        let projects = endpoints::visible_projects(&self.app);
        projects.into_iter().flat_map(|p| planning::components_of(&self.app, p, true)).collect()
    }

    /// Adds an unreleased version without dates to the project at index `project`; returns it.
    pub fn add_version(&self, project: u64) -> serde_json::Value {
        let d = &self.app.site.data;
        let mut st = self.app.site.lock();
        let n = st.added_versions.len() as u64;
        let id = 20_000 + n;
        let v = serde_json::json!({
            "self": format!("{}/rest/api/3/version/{id}", d.base_url()), "id": id.to_string(),
            "description": "Added while the site runs", "name": format!("{}.{project}", 4 + n),
            "archived": false, "released": false, "projectId": Dataset::project_id(project),
        });
        st.added_versions.push((project, v.clone()));
        v
    }

    /// Adds a comment to issue `issue_id` now (bumping the issue's `updated`, seen by search
    /// after the index lag); returns the comment id, `None` for a missing or deleted issue.
    pub fn add_comment(&self, issue_id: u64) -> Option<u64> {
        self.app.site.lock().add_comment(&self.app.site.data, issue_id)
    }

    /// Edits a comment now (new `updated`, `updateAuthor`, body); false if it does not exist.
    pub fn edit_comment(&self, comment_id: u64) -> bool {
        self.app.site.lock().edit_comment(&self.app.site.data, comment_id)
    }

    /// Deletes a comment now; false if it does not exist.
    pub fn delete_comment(&self, comment_id: u64) -> bool {
        self.app.site.lock().delete_comment(&self.app.site.data, comment_id)
    }

    /// Logs an hour of work on issue `issue_id` now; returns the worklog id.
    pub fn add_worklog(&self, issue_id: u64) -> Option<u64> {
        self.app.site.lock().add_worklog(&self.app.site.data, issue_id)
    }

    /// Edits a worklog now (a quarter hour more); false if it does not exist.
    pub fn edit_worklog(&self, worklog_id: u64) -> bool {
        self.app.site.lock().edit_worklog(&self.app.site.data, worklog_id)
    }

    /// Deletes a worklog now (it then shows in `/worklog/deleted`); false if it does not exist.
    pub fn delete_worklog(&self, worklog_id: u64) -> bool {
        self.app.site.lock().delete_worklog(&self.app.site.data, worklog_id)
    }

    /// Links `from_issue_id` (outward) to `to_issue_id` now; both issues are updated. Returns
    /// the link id.
    pub fn add_link(&self, from_issue_id: u64, to_issue_id: u64) -> Option<u64> {
        self.app.site.lock().add_link(&self.app.site.data, from_issue_id, to_issue_id)
    }

    /// Deletes a link (generated or added) now; both issues are updated.
    pub fn delete_link(&self, link_id: u64) -> bool {
        self.app.site.lock().delete_link(&self.app.site.data, link_id)
    }

    /// Every current comment of an issue as stored, oldest first, as v3 renders it; empty when
    /// the issue is gone.
    pub fn comments(&self, issue_id: u64) -> Vec<serde_json::Value> {
        let d = &self.app.site.data;
        let st = self.app.site.lock();
        match self.stored_index(&st, issue_id) {
            Some(i) => {
                st.comments_of(d, i, crate::activity::stored_view()).iter().map(|c| d.render_comment(c)).collect()
            }
            None => Vec::new(),
        }
    }

    /// Every current worklog of an issue as stored, in `created` order, as v3 renders it.
    pub fn worklogs(&self, issue_id: u64) -> Vec<serde_json::Value> {
        let d = &self.app.site.data;
        let st = self.app.site.lock();
        match self.stored_index(&st, issue_id) {
            Some(i) => {
                st.worklogs_of(d, i, crate::activity::stored_view()).iter().map(|w| d.render_worklog(w)).collect()
            }
            None => Vec::new(),
        }
    }

    /// The issue's current `issuelinks` as v3 renders them.
    pub fn links(&self, issue_id: u64) -> Vec<serde_json::Value> {
        let d = &self.app.site.data;
        let st = self.app.site.lock();
        let later = crate::activity::stored_view();
        match self.stored_index(&st, issue_id).and_then(|i| st.stored(d, i, later)) {
            Some(s) => st.issue_fields(d, &s, true)["issuelinks"].as_array().cloned().unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// Every live worklog id (of issues not deleted), ascending.
    pub fn worklog_ids(&self) -> Vec<u64> {
        self.app.site.lock().live_worklog_ids(&self.app.site.data)
    }

    /// Every worklog deleted while the site ran, in deletion order.
    pub fn deleted_worklog_ids(&self) -> Vec<u64> {
        self.app.site.lock().activity.worklog_deletes.iter().map(|(_, w)| *w).collect()
    }

    /// Issues whose comments outnumber what Cloud embeds in the `comment` field (100), by id.
    pub fn issues_with_long_comment_threads(&self) -> Vec<u64> {
        self.app.site.lock().long_comment_threads(&self.app.site.data)
    }

    fn stored_index(&self, st: &crate::site::State, issue_id: u64) -> Option<u64> {
        let d = &self.app.site.data;
        let i = issue_id.checked_sub(Dataset::issue_id(0))?;
        st.stored(d, i, crate::activity::stored_view()).map(|s| s.index)
    }

    /// Moves the site's clock (used for edit times) forward.
    pub fn advance_clock(&self, by: Duration) {
        self.app.site.lock().advance_clock(by.as_millis() as i64);
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve<L>(listener: L, router: Router, stop: impl Future<Output = ()> + Send + 'static)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let _ = axum::serve(listener, router).with_graceful_shutdown(stop).await;
}

/// The REST API of one flavor, mounted on the site URL (and on the OAuth gateway for Cloud).
fn api(flavor: Flavor) -> Router<Arc<AppState>> {
    let agile = Router::new()
        .route("/rest/agile/1.0/board", get(endpoints::boards))
        .route("/rest/agile/1.0/board/{id}/configuration", get(endpoints::board_configuration))
        .route("/rest/agile/1.0/board/{id}/sprint", get(planning::board_sprints));
    match flavor {
        // Cloud serves REST v2 next to v3: the same resources, rich text as wiki markup.
        Flavor::Cloud => agile
            .route("/rest/api/3/search/jql", get(search::cloud_get).post(search::cloud_post))
            .route("/rest/api/2/search/jql", get(search::cloud_v2_get).post(search::cloud_v2_post))
            .route("/rest/api/3/search/approximate-count", post(search::approximate_count))
            .route("/rest/api/3/issue/bulkfetch", post(fetch::bulkfetch_v3))
            .route("/rest/api/3/changelog/bulkfetch", post(changelog::bulkfetch))
            .route("/rest/api/2/issue/bulkfetch", post(fetch::bulkfetch_v2))
            .route("/rest/api/3/issue/{id}", get(fetch::get_v3))
            .route("/rest/api/2/issue/{id}", get(fetch::get_v2))
            .route("/rest/api/3/issue/{id}/comment", get(activity_http::comments))
            .route("/rest/api/2/issue/{id}/comment", get(activity_http::comments))
            .route("/rest/api/3/issue/{id}/worklog", get(activity_http::worklogs))
            .route("/rest/api/2/issue/{id}/worklog", get(activity_http::worklogs))
            .route("/rest/api/3/worklog/updated", get(activity_http::updated))
            .route("/rest/api/2/worklog/updated", get(activity_http::updated))
            .route("/rest/api/3/worklog/deleted", get(activity_http::deleted))
            .route("/rest/api/2/worklog/deleted", get(activity_http::deleted))
            .route("/rest/api/3/worklog/list", post(activity_http::list))
            .route("/rest/api/2/worklog/list", post(activity_http::list))
            .route("/rest/api/3/search", get(search::legacy_get).post(search::legacy_post))
            .route("/rest/api/2/search", get(search::removed).post(search::removed))
            .route("/rest/api/3/serverInfo", get(endpoints::server_info))
            .route("/rest/api/2/serverInfo", get(endpoints::server_info))
            .route("/rest/api/3/field", get(endpoints::fields))
            .route("/rest/api/3/status", get(endpoints::statuses))
            .route("/rest/api/2/status", get(endpoints::statuses))
            .route("/rest/api/3/priority/search", get(dimensions::priority_search))
            .route("/rest/api/3/priority", get(dimensions::priorities))
            .route("/rest/api/3/resolution/search", get(dimensions::resolution_search))
            .route("/rest/api/3/label", get(dimensions::labels))
            .route("/rest/api/3/issuetype", get(dimensions::issue_types))
            .route("/rest/api/3/projectCategory", get(dimensions::project_categories))
            .route("/rest/api/3/field/{field}/context", get(field_options::contexts_of_field))
            .route("/rest/api/3/field/{field}/context/{context}/option", get(field_options::options_of_context))
            .route("/rest/api/2/field", get(endpoints::fields))
            .route("/rest/api/3/myself", get(endpoints::myself))
            .route("/rest/api/3/mypermissions", get(permissions::my_permissions))
            .route("/rest/api/2/mypermissions", get(permissions::my_permissions))
            .route("/rest/api/2/myself", get(endpoints::myself))
            .route("/rest/api/3/project/search", get(endpoints::project_search))
            .route("/rest/api/2/project/search", get(endpoints::project_search))
            .route("/rest/api/3/users/search", get(endpoints::users_search))
            .route("/rest/api/3/group/member", get(endpoints::group_member))
            .route("/rest/api/2/group/member", get(endpoints::group_member))
            .route("/rest/api/3/project/{project}/version", get(planning::project_versions))
            .route("/rest/api/2/project/{project}/version", get(planning::project_versions))
            .route("/rest/api/3/project/{project}/component", get(planning::project_components_paged)),
        Flavor::DataCenter => agile
            .route("/rest/api/2/search", get(search::dc_get).post(search::dc_post))
            .route("/rest/api/2/issue/{id}", get(fetch::get_v2))
            .route("/rest/api/2/issue/{id}/comment", get(activity_http::comments))
            .route("/rest/api/2/issue/{id}/worklog", get(activity_http::worklogs))
            .route("/rest/api/2/worklog/updated", get(activity_http::updated))
            .route("/rest/api/2/worklog/deleted", get(activity_http::deleted))
            .route("/rest/api/2/worklog/list", post(activity_http::list))
            .route("/rest/api/2/serverInfo", get(endpoints::server_info))
            .route("/rest/api/2/field", get(endpoints::fields))
            .route("/rest/api/2/myself", get(endpoints::myself))
            .route("/rest/api/2/project", get(endpoints::project_list))
            .route("/rest/api/2/status", get(endpoints::statuses))
            .route("/rest/api/2/priority", get(dimensions::priorities))
            .route("/rest/api/2/resolution", get(dimensions::resolutions))
            .route("/rest/api/2/issuetype", get(dimensions::issue_types))
            .route("/rest/api/2/projectCategory", get(dimensions::project_categories))
            .route("/rest/api/2/customFields/{field}/options", get(field_options::data_center_options))
            .route("/rest/api/2/mypermissions", get(permissions::my_permissions))
            .route("/rest/api/2/user/search", get(endpoints::dc_user_search))
            .route("/rest/api/2/group/member", get(endpoints::group_member))
            .route("/rest/api/2/project/{project}/version", get(planning::project_versions))
            .route("/rest/api/2/project/{project}/components", get(planning::project_components)),
    }
}

fn router(app: Arc<AppState>) -> Router {
    let misbehave = middleware::from_fn_with_state(app.clone(), misbehave);
    let site_api = api(app.flavor)
        .route_layer(middleware::from_fn_with_state(app.clone(), auth::site_auth))
        .layer(misbehave.clone());
    let mut router = Router::new().merge(site_api);
    if app.flavor == Flavor::Cloud {
        let gateway = api(Flavor::Cloud)
            .route_layer(middleware::from_fn_with_state(app.clone(), auth::gateway_auth))
            .layer(misbehave);
        router = router
            .nest("/ex/jira/{cloud_id}", gateway)
            .route("/_edge/tenant_info", get(auth::tenant_info))
            .route("/oauth/token", post(auth::token))
            .route("/oauth/token/accessible-resources", get(auth::accessible_resources));
    } else {
        router = router
            .route("/rest/oauth2/latest/authorize", get(auth::dc_authorize))
            .route("/rest/oauth2/latest/token", post(auth::dc_token));
    }
    router
        .route("/_sim/stats", get(stats))
        .route("/_sim/totals", get(totals))
        .route("/_sim/edit", post(admin_edit))
        .route("/_sim/create", post(admin_create))
        .route("/_sim/delete", post(admin_delete))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), count))
        .with_state(app)
}

async fn count(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let recording = app.site.lock().recorded.is_some();
    let req = if recording && !path.starts_with("/_sim") {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
        let rec = RecordedRequest {
            method: parts.method.to_string(),
            path: path.clone(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            body: serde_json::from_slice(&bytes).ok(),
        };
        if let Some(r) = app.site.lock().recorded.as_mut() {
            r.push(rec);
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    let resp = next.run(req).await;
    let mut st = app.site.lock();
    *st.counters.entry((path, resp.status().as_u16())).or_default() += 1;
    resp
}

/// Rate limit, latency and faults, in that order, as a real site's edge applies them.
async fn misbehave(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let (n, hostile) = {
        let st = app.site.lock();
        (st.requests + 1, st.behaviour.hostile)
    };
    match hostile {
        None => faults(app, req, next).await,
        Some(h) if h.resets(n) => {
            app.site.lock().requests += 1;
            broken_body(Vec::new(), 0)
        }
        Some(h) => {
            let (mut parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
            let (uri, json) = h.request(&parts.uri, serde_json::from_slice(&bytes).ok());
            if let Some(uri) = uri {
                parts.uri = uri;
            }
            let bytes = json.map_or(bytes, |j| j.to_string().into());
            let path = parts.uri.path().to_string();
            let resp = faults(app.clone(), Request::from_parts(parts, Body::from(bytes)), next).await;
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap_or_default();
            let stall = app.site.lock().behaviour.slow_by;
            h.response(&path, status, body.to_vec(), n, stall)
        }
    }
}

/// Rate limit, latency and the random faults.
async fn faults(app: Arc<AppState>, req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let endpoint = crate::behaviour::endpoint_of(req.method().as_str(), req.uri().path());
    let (fault, latency, slow_by, limited, allowance) = {
        let mut st = app.site.lock();
        st.requests += 1;
        let n = st.requests;
        let b = st.behaviour.clone();
        let now = chrono::Utc::now().timestamp_millis() as u64;
        // The hour's points, for OAuth apps on Cloud only ("API token-based traffic is not
        // affected").
        let mut limited = match &b.quota {
            Some(q) if bearer && app.flavor == Flavor::Cloud => st.quota.spend(q, now).err().map(|wait| Limited {
                limit: q.points,
                wait_ms: wait,
                reason: Some(q.reason()),
            }),
            _ => None,
        };
        let mut allowance = None;
        if let Some(burst) = b.burst.as_ref().filter(|l| limited.is_none() && l.applies_to(&endpoint)) {
            let limit = burst.per_second.ceil() as u64;
            match st.buckets.entry(endpoint).or_default().admit(burst, now) {
                Ok(left) => allowance = Some((limit, left)),
                Err(wait) => limited = Some(Limited { limit, wait_ms: wait, reason: Some("jira-burst-based") }),
            }
        }
        if let (None, Some(limit)) = (&limited, b.rate_limit_per_sec) {
            limited = st.rate.admit(limit, now).err().map(|wait| Limited {
                limit: limit.into(),
                wait_ms: wait,
                reason: None,
            });
        }
        if limited.is_none() && b.throttle_every.is_some_and(|e| e > 0 && n.is_multiple_of(e)) {
            let limit = b.rate_limit_per_sec.unwrap_or(100).into();
            limited = Some(Limited { limit, wait_ms: 1000, reason: Some("jira-burst-based") });
        }
        (b.fault(app.site.data.config.seed, n), b.latency, b.slow_by, limited, allowance)
    };
    if let Some(l) = limited {
        return rate_limited(l);
    }
    let resp = answer(req, next, fault, latency, slow_by).await;
    with_allowance(resp, allowance)
}

/// Which limit turned a request away, for the 429's headers.
struct Limited {
    limit: u64,
    wait_ms: u64,
    /// `RateLimit-Reason`; none for a limit Jira Cloud's page does not name (the site-wide one).
    reason: Option<&'static str>,
}

/// An admitted request of a burst-limited endpoint carries the limit and what is left of it:
/// Atlassian's table restricts only `Retry-After`, `X-RateLimit-Reset` and `RateLimit-Reason`
/// to 429s.
fn with_allowance(mut resp: Response, allowance: Option<(u64, u32)>) -> Response {
    if let Some((limit, left)) = allowance {
        let h = resp.headers_mut();
        h.insert("X-RateLimit-Limit", HeaderValue::from(limit));
        h.insert("X-RateLimit-Remaining", HeaderValue::from(left));
    }
    resp
}

/// Latency and the random faults of an admitted request.
async fn answer(req: Request, next: Next, fault: Fault, latency: Duration, slow_by: Duration) -> Response {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::None => next.run(req).await,
        Fault::Slow => {
            tokio::time::sleep(slow_by).await;
            next.run(req).await
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).expect("valid status");
            let mut resp = error(status, "Internal server error (simulated).");
            if code == 503 {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            resp
        }
        Fault::Drop => broken_body(Vec::new(), 0),
        Fault::Truncate => {
            let resp = next.run(req).await;
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let mut cut = broken_body(bytes[..bytes.len() / 2].to_vec(), bytes.len());
            *cut.status_mut() = parts.status;
            cut
        }
    }
}

/// A response that promises `declared` bytes, sends `sent`, then breaks the connection.
fn broken_body(sent: Vec<u8>, declared: usize) -> Response {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(sent), Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated connection drop"))];
    let mut resp = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if declared > 0 {
        resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(declared));
    }
    resp
}

/// Jira Cloud's 429: `Retry-After` in seconds plus the `X-RateLimit-*` headers and, for the
/// limits Atlassian's page names, `RateLimit-Reason` ("Rate limiting", the 429 examples).
fn rate_limited(l: Limited) -> Response {
    let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
    let h = resp.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(l.wait_ms.div_ceil(1000).max(1)));
    h.insert("X-RateLimit-Limit", HeaderValue::from(l.limit));
    h.insert("X-RateLimit-Remaining", HeaderValue::from(0));
    let reset = chrono::Utc::now() + chrono::Duration::milliseconds(l.wait_ms as i64);
    h.insert(
        "X-RateLimit-Reset",
        HeaderValue::from_str(&reset.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).expect("ascii"),
    );
    if let Some(reason) = l.reason {
        h.insert("RateLimit-Reason", HeaderValue::from_static(reason));
    }
    resp
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "No resource found for this path in the Jira simulator.")
}

/// `GET /_sim/stats`: request counters, for benchmarks that run the simulator as a process.
async fn stats(State(app): State<Arc<AppState>>) -> Response {
    let st = app.site.lock();
    let by_path: Vec<_> = st.counters.iter().map(|((p, s), n)| json!({"path": p, "status": s, "count": n})).collect();
    axum::Json(json!({"requests": st.requests, "by_path": by_path})).into_response()
}

/// What `GET /_sim/totals` answers: the truth a benchmark checks each tool's rows against, from
/// the site's own state rather than from another client's reading of the API.
#[derive(Debug, Default, serde::Serialize)]
struct Totals {
    /// Issues search shows now.
    issues: usize,
    /// Their comments, worklogs, histories and history items, as stored.
    comments: usize,
    worklogs: usize,
    histories: usize,
    history_items: usize,
    /// What a client gets that reads only the 100 comments Cloud embeds in an issue, or the 100
    /// histories search's `expand=changelog` returns.
    comments_first_100: usize,
    histories_newest_100: usize,
}

/// `GET /_sim/totals`: see [`Totals`].
async fn totals(State(app): State<Arc<AppState>>) -> Response {
    let d = &app.site.data;
    let st = app.site.lock();
    let (now, stored) = (std::time::Instant::now(), crate::activity::stored_view());
    let mut t = Totals::default();
    for i in 0..st.index_count(d) {
        let Some(s) = st.snapshot(d, i, now).and_then(|_| st.stored(d, i, stored)) else { continue };
        let comments = st.comments_of(d, i, stored).len();
        let histories = st.histories(d, &s, true);
        t.issues += 1;
        t.comments += comments;
        t.comments_first_100 += comments.min(100);
        t.worklogs += st.worklogs_of(d, i, stored).len();
        t.histories += histories.len();
        t.histories_newest_100 += histories.len().min(100);
        t.history_items += histories.iter().map(|h| h["items"].as_array().map_or(0, Vec::len)).sum::<usize>();
    }
    axum::Json(t).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct EditParams {
    count: u64,
    #[serde(default)]
    first: u64,
    #[serde(default = "one")]
    stride: u64,
}

fn one() -> u64 {
    1
}

/// `POST /_sim/edit?count=N[&first=I&stride=S]`: edit issues now (for benchmarks that run the
/// simulator as a separate process). Answers the edited ids.
async fn admin_edit(
    State(app): State<Arc<AppState>>,
    axum::extract::Query(p): axum::extract::Query<EditParams>,
) -> Response {
    let mut st = app.site.lock();
    let lag = st.behaviour.index_lag;
    axum::Json(st.edit(&app.site.data, p.first, p.stride, p.count, lag)).into_response()
}

/// `POST /_sim/create?count=N`: create issues now. Answers their ids.
async fn admin_create(
    State(app): State<Arc<AppState>>,
    axum::extract::Query(p): axum::extract::Query<EditParams>,
) -> Response {
    let mut st = app.site.lock();
    let lag = st.behaviour.index_lag;
    axum::Json(st.create(&app.site.data, p.count, lag)).into_response()
}

/// `POST /_sim/delete` with a JSON array of issue ids. Answers how many existed.
async fn admin_delete(State(app): State<Arc<AppState>>, axum::Json(ids): axum::Json<Vec<u64>>) -> Response {
    axum::Json(app.site.lock().delete(&app.site.data, &ids)).into_response()
}
