//! The HTTP intake (`input.type: http`): EventGate's `POST /v1/events` as a source of the same
//! pipeline as files and Kafka. Each request's events become one batch (marked with the
//! request's facts, see [`crate::intake_request`]) that the workers enrich, validate and route
//! like any Event Platform event and the sink delivers; the request is answered only once the
//! batch is acknowledged (every accepted event and every error event delivered), with
//! EventGate's status, reason phrase and body. `?hasty=<value>` answers 202 at once.
//!
//! Bounds (see `docs/SECURITY.md`): connections at once, header and body read times, body size,
//! decoded size, events per request, time to delivery. There is no way to read events back.

mod answer;
mod batcher;
mod beacon_line;
mod body;
mod client_address;
mod rate_limit;
mod request_ack;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::ack::AckReceiver;
use crate::clock::Clock;
use crate::http::bounded_server::{self, ConnectionLimits};
use crate::intake_request::IntakeRequest;
use crate::stats::Stats;

use super::batch::BatchBuilder;
use super::{SourceContext, SourceError};
use answer::Answer;
use beacon_line::{BeaconLines, BeaconRequest};
use body::BodyLimits;
use rate_limit::RateLimit;
use request_ack::RequestAck;

/// Settings of the HTTP intake.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpIntakeSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Connections at once, header read time, drain time at stop.
    pub connections: ConnectionLimits,
    /// Request body bytes at most (413 beyond).
    pub max_body_bytes: usize,
    /// Bytes a gzip body may decode to.
    pub max_decoded_bytes: usize,
    /// Events per request at most (413 beyond).
    pub max_events: usize,
    /// Time for the whole body to arrive (408 beyond).
    pub body_timeout: Duration,
    /// Time from the body to delivery before answering 503 (the events may still be delivered).
    pub delivery_timeout: Duration,
    /// Peers whose `X-Client-IP` / `X-Forwarded-For` headers are believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// `Access-Control-Allow-Origin` of every answer (`None`: no CORS headers).
    pub cors_origin: Option<String>,
    /// The line format `GET /beacon/event` requests are rendered in (the configured `format`).
    pub line_format: String,
    /// Events `GET /v1/_test/events` posts (that route exists only when they are set).
    pub test_events: Option<Vec<serde_json::Value>>,
    /// Requests per second and burst per client address (`None`: no limit).
    pub rate_limit: Option<(f64, u32)>,
    /// Threads of the intake's runtime.
    pub threads: usize,
}

impl HttpIntakeSettings {
    /// Defaults listening on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        HttpIntakeSettings {
            listen,
            connections: ConnectionLimits::default(),
            max_body_bytes: 4 * 1024 * 1024,
            max_decoded_bytes: 16 * 1024 * 1024,
            max_events: 5000,
            body_timeout: Duration::from_secs(30),
            delivery_timeout: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
            cors_origin: Some("*".to_owned()),
            line_format: crate::config::DEFAULT_FORMAT.to_owned(),
            test_events: None,
            rate_limit: None,
            threads: 1,
        }
    }
}

struct Intake {
    ctx: SourceContext,
    batcher: Arc<batcher::Batcher>,
    rate_limit: Option<RateLimit>,
    beacons: BeaconLines,
    settings: HttpIntakeSettings,
    cors: Option<HeaderValue>,
    stats: Option<Arc<Stats>>,
}

impl Intake {
    /// The client address of `request`: its socket peer, or what a trusted proxy says.
    fn client_of<B>(&self, request: &Request<B>) -> String {
        client_address::client_address(
            bounded_server::peer_of(request),
            request.headers(),
            &self.settings.trusted_proxies,
        )
    }
}

/// Serves the intake until `ctx` says stop, then lets open requests finish (their events are
/// delivered by the still running pipeline) and returns the number of events received.
pub fn serve(ctx: &SourceContext, settings: &HttpIntakeSettings) -> Result<u64, SourceError> {
    let error = |e: std::io::Error| SourceError::Read {
        name: format!("the HTTP intake on {}", settings.listen),
        error: e,
    };
    let listener = std::net::TcpListener::bind(settings.listen).map_err(error)?;
    listener.set_nonblocking(true).map_err(error)?;
    let address = listener.local_addr().map_err(error)?;
    // A multi-thread runtime even with one thread: a full pipeline is waited for with
    // `block_in_place`, which needs one (src/source/http/batcher.rs).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.threads.max(1))
        .thread_name("http-intake")
        .enable_io()
        .enable_time()
        .build()
        .map_err(error)?;
    let cors = settings
        .cors_origin
        .as_deref()
        .and_then(|origin| HeaderValue::from_str(origin).ok());
    let batcher = batcher::Batcher::new(ctx.clone(), ctx.settings.batch_lines);
    let intake = Arc::new(Intake {
        ctx: ctx.clone(),
        batcher,
        rate_limit: settings
            .rate_limit
            .map(|(per_second, burst)| RateLimit::new(per_second, burst)),
        beacons: BeaconLines::new(
            &settings.line_format,
            gethostname::gethostname().to_string_lossy().into_owned(),
        ),
        settings: settings.clone(),
        cors,
        stats: ctx.stats.clone(),
    });
    let events = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let router = router(Arc::clone(&intake), Arc::clone(&events));
    tracing::info!(%address, "HTTP intake listening (POST /v1/events)");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(error)?;
        let stop_ctx = ctx.clone();
        let stop = async move {
            while !stop_ctx.stopping() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        bounded_server::serve(listener, router, settings.connections, stop).await;
        Ok::<(), SourceError>(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    intake.batcher.flush_remaining();
    drop(intake);
    Ok(events.load(std::sync::atomic::Ordering::Relaxed))
}

fn router(intake: Arc<Intake>, events: Arc<std::sync::atomic::AtomicU64>) -> Router {
    Router::new()
        .route(
            "/v1/events",
            post(post_events).options(preflight).fallback(not_found),
        )
        .route("/v1/_test/events", get(test_events))
        .route("/v1/stream-configs", get(stream_configs))
        .route("/v1/stream-configs/{streams}", get(stream_configs))
        .route("/beacon/event", get(beacon).options(preflight))
        .route("/event.gif", get(beacon).options(preflight))
        .fallback(not_found)
        .with_state((intake, events))
}

type IntakeState = State<(Arc<Intake>, Arc<std::sync::atomic::AtomicU64>)>;

async fn preflight(State((intake, _)): IntakeState) -> Response {
    Answer::plain(StatusCode::OK, "OK").into_response(intake.cors.as_ref())
}

async fn not_found(State((intake, _)): IntakeState) -> Response {
    Answer::problem(StatusCode::NOT_FOUND, "Not found", "no such resource")
        .into_response(intake.cors.as_ref())
}

async fn post_events(State((intake, events)): IntakeState, request: Request<Body>) -> Response {
    let started = Instant::now();
    let stats = intake.stats.clone();
    if let Some(stats) = &stats {
        stats.metrics.http_in_flight.inc();
    }
    let answer = handle(&intake, &events, request).await;
    if let Some(stats) = &stats {
        stats.metrics.http_in_flight.dec();
    }
    count_answer(&intake, &answer, started);
    answer.into_response(intake.cors.as_ref())
}

async fn handle(
    intake: &Intake,
    counted: &std::sync::atomic::AtomicU64,
    request: Request<Body>,
) -> Answer {
    let received = Clock::now();
    let hasty = is_hasty(&request);
    let settings = &intake.settings;
    let client = intake.client_of(&request);
    if let Err(answer) = within_rate(intake, &client) {
        return answer;
    }
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(
        settings.body_timeout,
        axum::body::to_bytes(body, settings.max_body_bytes),
    )
    .await
    {
        Err(_) => {
            return Answer::problem(
                StatusCode::REQUEST_TIMEOUT,
                "Request timeout",
                format!(
                    "the body did not arrive within {} s",
                    settings.body_timeout.as_secs()
                ),
            )
        }
        Ok(Err(_)) => {
            return Answer::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Body too large",
                format!("the body is larger than {} bytes", settings.max_body_bytes),
            )
        }
        Ok(Ok(bytes)) => bytes,
    };
    let limits = BodyLimits {
        max_decoded_bytes: settings.max_decoded_bytes,
        max_events: settings.max_events,
    };
    let events = match body::events_of(&parts.headers, &bytes, limits) {
        Ok(events) => events,
        Err(answer) => return answer,
    };
    accept_events(
        intake,
        counted,
        events,
        &parts.headers,
        client,
        received,
        hasty,
    )
    .await
}

/// `?hasty=<any non-empty value>`: answered 202 before processing, as EventGate does.
fn is_hasty<B>(request: &Request<B>) -> bool {
    request.uri().query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.strip_prefix("hasty=").is_some_and(|v| !v.is_empty()))
    })
}

/// Sends `events` (compact JSON each) into the pipeline as one batch and answers once it is
/// delivered (or at once when `hasty`).
async fn accept_events(
    intake: &Intake,
    counted: &std::sync::atomic::AtomicU64,
    events: BatchBuilder,
    headers: &HeaderMap,
    client: String,
    received: Clock,
    hasty: bool,
) -> Answer {
    let settings = &intake.settings;
    let count = events.len() as u64;
    counted.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
    let facts = Arc::new(IntakeRequest::new(
        client,
        header_text(headers, "user-agent"),
        header_text(headers, "x-request-id")
            .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string()),
        received,
    ));
    let (receiver, delivered): (Arc<dyn AckReceiver>, _) = if hasty {
        let lost = intake
            .stats
            .as_ref()
            .map(|s| s.metrics.http_hasty_lost.clone())
            .unwrap_or_default();
        (Arc::new(RequestAck::hasty(count, lost)), None)
    } else {
        let (ack, rx) = RequestAck::new();
        (Arc::new(ack), Some(rx))
    };
    let pending = batcher::Pending {
        lines: events,
        request: Some(Arc::clone(&facts)),
        ack: receiver,
    };
    if !intake.batcher.submit(pending) {
        return Answer::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Shutting down",
            "the service is stopping and took no event of this request",
        );
    }
    let Some(delivered) = delivered else {
        return Answer::plain(
            StatusCode::ACCEPTED,
            format!("{count} events hastily received."),
        );
    };
    match tokio::time::timeout(settings.delivery_timeout, delivered).await {
        Ok(Ok(())) => Answer::for_verdicts(facts.take_verdicts()),
        Ok(Err(_)) => Answer::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not delivered",
            "the events could not be delivered (the output failed or the service is stopping); \
             send them again",
        ),
        Err(_) => Answer::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Delivery timeout",
            format!(
                "the events were not delivered within {} s; they may still be: sending them \
                 again may duplicate them",
                settings.delivery_timeout.as_secs()
            ),
        ),
    }
}

/// `GET /v1/_test/events` (only with `input.test_events`): the configured test events through
/// the same path as a POST of them.
async fn test_events(State((intake, events)): IntakeState, request: Request<Body>) -> Response {
    let started = Instant::now();
    let answer = match &intake.settings.test_events {
        None => Answer::problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "no test events are configured",
        ),
        Some(test) => {
            let mut batch = BatchBuilder::default();
            for event in test {
                batch.push_line(&serde_json::to_vec(event).unwrap_or_default(), None);
            }
            let client = intake.client_of(&request);
            let hasty = is_hasty(&request);
            accept_events(
                &intake,
                &events,
                batch,
                request.headers(),
                client,
                Clock::now(),
                hasty,
            )
            .await
        }
    };
    count_answer(&intake, &answer, started);
    answer.into_response(intake.cors.as_ref())
}

/// `GET /v1/stream-configs` (optionally `?streams=a|b`, or `/v1/stream-configs/a|b`): the
/// loaded stream configuration for clients (sampling and other settings).
async fn stream_configs(State((intake, _)): IntakeState, request: Request<Body>) -> Response {
    let from_path = request
        .uri()
        .path()
        .strip_prefix("/v1/stream-configs/")
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        });
    let from_query = request.uri().query().and_then(|q| {
        q.split('&').find_map(|pair| {
            pair.strip_prefix("streams=").map(|v| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    });
    let wanted = from_path.or(from_query).filter(|s| !s.is_empty());
    let names: Option<Vec<&str>> = wanted.as_deref().map(|s| s.split('|').collect());
    let snapshot = intake.ctx.catalog.as_ref().map(|c| c.snapshot());
    let streams = snapshot.as_ref().and_then(|s| s.streams.as_ref());
    if let (Some(streams), None) = (streams, &names) {
        return answer::json_response(
            StatusCode::OK,
            streams.served_json().to_vec(),
            intake.cors.as_ref(),
        );
    }
    let body = match streams {
        Some(streams) => streams.to_json(names.as_deref()),
        None => serde_json::json!({"streams": {}}),
    };
    let answer = Answer {
        status: StatusCode::OK,
        reason: "OK".into(),
        body: Some(body),
        retry_after: None,
    };
    answer.into_response(intake.cors.as_ref())
}

/// The rate limit of `client` (the request's client address): `Err` is the 429 answer.
fn within_rate(intake: &Intake, client: &str) -> Result<(), Answer> {
    let Some(limit) = &intake.rate_limit else {
        return Ok(());
    };
    limit.check(client, Instant::now()).map_err(|wait| {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut answer = Answer::problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!("too many requests from {client}; retry after {seconds} s"),
        );
        answer.retry_after = Some(seconds.max(1));
        answer
    })
}

fn count_answer(intake: &Intake, answer: &Answer, started: Instant) {
    if let Some(stats) = &intake.stats {
        stats.record_http_answer(answer.status.as_u16(), started.elapsed().as_secs_f64());
    }
}

/// `GET /beacon/event?<percent-encoded JSON>;`: the line the CDN would have logged, into the
/// pipeline; 204 with no body whatever the event (EventLogging clients were never told).
async fn beacon(State((intake, events)): IntakeState, request: Request<Body>) -> Response {
    let started = Instant::now();
    let received = Clock::now();
    let client_ip = intake.client_of(&request);
    if let Err(answer) = within_rate(&intake, &client_ip) {
        count_answer(&intake, &answer, started);
        return answer.into_response(intake.cors.as_ref());
    }
    let user_agent = header_text(request.headers(), "user-agent");
    let at = received.iso();
    let line = intake.beacons.render(&BeaconRequest {
        query: request.uri().query().unwrap_or(""),
        client_ip: &client_ip,
        user_agent: user_agent.as_deref(),
        received: at.get(..19).unwrap_or(&at),
    });
    let lost = intake
        .stats
        .as_ref()
        .map(|s| s.metrics.http_hasty_lost.clone())
        .unwrap_or_default();
    let mut lines = BatchBuilder::with_capacity(1, line.len());
    lines.push_line(line.as_bytes(), None);
    let pending = batcher::Pending {
        lines,
        request: None,
        ack: Arc::new(RequestAck::hasty(1, lost)),
    };
    let answer = if intake.batcher.submit(pending) {
        events.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Answer::plain(StatusCode::NO_CONTENT, "No Content")
    } else {
        Answer::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Shutting down",
            "the service is stopping and took no event of this request",
        )
    };
    count_answer(&intake, &answer, started);
    answer.into_response(intake.cors.as_ref())
}

/// A header's value as text, cut to 400 characters like EventGate's.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(400).collect())
}
