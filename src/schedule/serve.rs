//! `schedule --listen`: `/metrics` (Prometheus text format), `/healthz` (the process answers)
//! and `/readyz` (pipelines loaded, none overdue: [`Health`]). Three read-only routes on axum,
//! which the build already has (the simulator serves on it).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::clock::Clock;
use super::health::Health;
use crate::metrics::{CONTENT_TYPE, Metrics};

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen on {addr}: {source}. Fix: pick a free port, or an address of this machine (`--listen 0.0.0.0:9464` for every interface)"
)]
pub struct ListenError {
    addr: String,
    source: std::io::Error,
}

#[derive(Clone, Debug)]
struct Service {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    clock: Arc<dyn Clock>,
}

/// Listens on `addr` and returns the address bound (a port 0 becomes the one given) and the
/// server, to be spawned.
pub async fn bind(
    addr: &str,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    clock: Arc<dyn Clock>,
) -> Result<(SocketAddr, impl Future<Output = ()> + Send + 'static), ListenError> {
    let err = |source| ListenError { addr: addr.to_string(), source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(err)?;
    let bound = listener.local_addr().map_err(err)?;
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(Service { metrics, health, clock });
    let serve = async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    };
    Ok((bound, serve))
}

async fn metrics_text(State(s): State<Service>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], s.metrics.render(s.clock.now()))
}

async fn readyz(State(s): State<Service>) -> impl IntoResponse {
    let r = s.health.readiness(s.clock.now());
    let status = if r.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let head = if r.ready { "ready" } else { "not ready" };
    (status, format!("{head}\n{}\n", r.lines.join("\n")))
}
