//! The HTTP server (axum, on its own thread and single-threaded tokio runtime): the status page
//! at `/`, its data at `/api/status`, Prometheus metrics at `/metrics`, `/healthz` and `/ready`.
//! It binds to loopback unless configured otherwise, and serves a bounded number of connections
//! with a header timeout ([`bounded_server`]): idle clients cannot exhaust the process's file
//! descriptors.

pub mod bounded_server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::stats::Stats;

/// The status page (self-contained HTML, CSS and JS).
const STATUS_PAGE: &str = include_str!("status_page.html");

/// A running server; stops when dropped.
pub struct HttpServer {
    address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `listen` and serves `stats` until dropped.
    pub fn start(
        listen: SocketAddr,
        limits: bounded_server::ConnectionLimits,
        stats: Arc<Stats>,
    ) -> Result<Self, String> {
        let listener = std::net::TcpListener::bind(listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        if !address.ip().is_loopback() {
            tracing::warn!(%address, "the HTTP server listens on a non-loopback address, as configured");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(stats);
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            tracing::error!("HTTP server failed: {e}");
                            return;
                        }
                    };
                    let stop = async {
                        let _ = stopped.await;
                    };
                    bounded_server::serve(listener, app, limits, stop).await;
                });
            })
            .map_err(|e| format!("cannot start the HTTP thread: {e}"))?;
        tracing::info!(%address, "status page at http://{address}/ (metrics at /metrics)");
        Ok(HttpServer {
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn router(stats: Arc<Stats>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(STATUS_PAGE) }))
        .route("/api/status", get(status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .with_state(stats)
}

async fn status(State(stats): State<Arc<Stats>>) -> Json<serde_json::Value> {
    Json(stats.status_json())
}

async fn metrics(State(stats): State<Arc<Stats>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        stats.encode_metrics(),
    )
        .into_response()
}

async fn ready(State(stats): State<Arc<Stats>>) -> Response {
    if stats.ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}
