//! Serving an axum router over HTTP/1.1 with bounds a public listener needs: at most
//! `max_connections` connections at once (further clients wait in the kernel's accept queue
//! rather than costing a file descriptor each), a time limit for a request's headers to arrive
//! (slowloris; it also closes keep-alive connections that stay idle that long), and accept
//! errors (e.g. "too many open files") logged by name and retried after a pause instead of
//! spinning. Stopping closes the listener, lets every connection finish the request it is
//! serving, and waits for them up to a drain time.
//!
//! axum's own `serve` has no connection cap nor header timeout; hyper's connection builder
//! does, so connections are driven here with it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// Bounds of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time for a request's headers to arrive (and for an idle keep-alive connection).
    pub header_timeout: Duration,
    /// How long stopping waits for open connections to finish their requests.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `stop` completes, then drains.
/// `ConnectInfo<SocketAddr>` is set on every request.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stopping, stopped) = watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    let mut last_error_log: Option<tokio::time::Instant> = None;
    loop {
        let permit = tokio::select! {
            () = &mut stop => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE, ENFILE, ENOBUFS...: the next accept would fail the same way at
                    // once. Say so (at most every 10 s) and give the process time to recover.
                    let now = tokio::time::Instant::now();
                    if last_error_log.is_none_or(|at| now - at >= Duration::from_secs(10)) {
                        last_error_log = Some(now);
                        tracing::error!(%error, address = ?listener.local_addr().ok(), "accepting an HTTP connection failed; retrying");
                    }
                    drop(permit);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stopped = stopped.clone();
        stopped.mark_unchanged();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                let router = router.clone();
                async move { router.oneshot(request).await }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let stop_asked = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let finished = tokio::select! {
                _ = connection.as_mut() => true,
                () = stop_asked => false,
            };
            if !finished {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.drain_timeout, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "HTTP connections still open after {} s; closing them",
            limits.drain_timeout.as_secs()
        );
    }
}

/// The address a request came from (set by [`serve`]).
pub fn peer_of<B>(request: &axum::http::Request<B>) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}
