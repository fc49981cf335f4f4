//! The simulated site over real HTTP: routing, auth and request accounting.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::data::{Dataset, DatasetConfig};
use crate::search;

/// Credentials the simulator accepts unless told otherwise.
pub const DEFAULT_EMAIL: &str = "sim@example.com";
pub const DEFAULT_API_TOKEN: &str = "sim-api-token";

/// How to start a simulated site.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub data: DatasetConfig,
    pub email: String,
    pub api_token: String,
    /// `127.0.0.1:0` picks a free port.
    pub addr: SocketAddr,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            data: DatasetConfig::default(),
            email: DEFAULT_EMAIL.into(),
            api_token: DEFAULT_API_TOKEN.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

pub(crate) struct Site {
    pub data: Dataset,
    email: String,
    api_token: String,
    /// Requests served, by (path, status): tests assert on these.
    counters: Mutex<BTreeMap<(String, u16), u64>>,
}

/// A simulated site serving on a loopback port until dropped or shut down.
pub struct RunningSim {
    base_url: String,
    site: Arc<Site>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSim {
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let site = Arc::new(Site {
            data: Dataset::new(config.data, base_url.clone()),
            email: config.email,
            api_token: config.api_token,
            counters: Mutex::default(),
        });
        let app = router(site.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self { base_url, site, shutdown: Some(tx), task: Some(task) })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn dataset(&self) -> &Dataset {
        &self.site.data
    }

    pub fn email(&self) -> &str {
        &self.site.email
    }

    pub fn api_token(&self) -> &str {
        &self.site.api_token
    }

    /// Requests served for `path`, all statuses together.
    pub fn requests(&self, path: &str) -> u64 {
        let c = self.site.counters.lock().expect("counters");
        c.iter().filter(|((p, _), _)| p == path).map(|(_, n)| n).sum()
    }

    /// Requests served for `path` that answered `status`.
    pub fn requests_with_status(&self, path: &str, status: u16) -> u64 {
        let c = self.site.counters.lock().expect("counters");
        c.get(&(path.to_string(), status)).copied().unwrap_or(0)
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

fn router(site: Arc<Site>) -> Router {
    let api = Router::new()
        .route("/rest/api/3/search/jql", get(search::get).post(search::post))
        .route("/rest/api/3/search", get(search::removed).post(search::removed))
        .route("/rest/api/3/field", get(fields))
        .route("/rest/api/3/myself", get(myself))
        .route_layer(middleware::from_fn_with_state(site.clone(), basic_auth));
    api.fallback(not_found).layer(middleware::from_fn_with_state(site.clone(), count)).with_state(site)
}

async fn count(State(site): State<Arc<Site>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let mut c = site.counters.lock().expect("counters");
    *c.entry((path, resp.status().as_u16())).or_default() += 1;
    resp
}

/// Jira's error envelope.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"errorMessages": [message], "errors": {}}))).into_response()
}

async fn basic_auth(State(site): State<Arc<Site>>, headers: HeaderMap, req: Request, next: Next) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let ok = given.as_deref().and_then(|s| s.split_once(':')) == Some((site.email.as_str(), site.api_token.as_str()));
    if ok {
        return next.run(req).await;
    }
    let mut resp = error(StatusCode::UNAUTHORIZED, "Client must be authenticated to access this resource.");
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, "Basic realm=\"protected-area\"".parse().expect("static"));
    resp
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "No resource found for this path in the Jira simulator.")
}

async fn fields(State(site): State<Arc<Site>>) -> Response {
    axum::Json(site.data.fields()).into_response()
}

async fn myself(State(site): State<Arc<Site>>) -> Response {
    let d = &site.data;
    axum::Json(json!({
        "self": format!("{}/rest/api/3/user?accountId=sim-api-user", d.base_url()),
        "accountId": "5b10ac8d82e05b22cc7d4ef5",
        "accountType": "atlassian",
        "emailAddress": site.email,
        "displayName": "Jira API user",
        "active": true,
        "timeZone": d.config.time_zone.name(),
        "locale": "en_US",
        "avatarUrls": {},
    }))
    .into_response()
}
