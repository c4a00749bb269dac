//! Integration tests of the schema registry: remote sources against a loopback HTTP server
//! (hit, miss and negative cache, timeout, allowlist, single flight, legacy API, reload
//! sharing), local Event Platform repositories, the Event Platform validator on EventGate's
//! test vectors (eventgate.md TV-1, TV-2, TV-4, TV-7) and the sample repository
//! `config/event-schemas`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

use beacon_processor::schema::{
    CapsuleValidationError, SchemaLookupError, SchemaPoll, SchemaRegistry, SchemaRegistrySettings,
    SchemaSourceSettings,
};
use serde_json::{json, Value};

// ------------------------------------------------------------------------ test HTTP server

/// What the test server answers on one path (path and query, as requested).
#[derive(Clone)]
struct Route {
    status: u16,
    body: String,
    delay: Duration,
}

#[derive(Default)]
struct ServerState {
    routes: HashMap<String, Route>,
    requests: HashMap<String, usize>,
}

/// A tiny HTTP/1.1 server on `127.0.0.1:0`: one thread per connection, `Connection: close`,
/// answers by path from a route table (404 otherwise) and counts requests per path.
struct TestServer {
    port: u16,
    state: Arc<Mutex<ServerState>>,
}

impl TestServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Self { port, state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn route(&self, path: &str, status: u16, body: &str, delay: Duration) {
        self.lock().routes.insert(
            path.to_owned(),
            Route {
                status,
                body: body.to_owned(),
                delay,
            },
        );
    }

    fn ok(&self, path: &str, body: &Value) {
        self.route(path, 200, &body.to_string(), Duration::ZERO);
    }

    fn requests(&self, path: &str) -> usize {
        self.lock().requests.get(path).copied().unwrap_or(0)
    }

    fn total_requests(&self) -> usize {
        self.lock().requests.values().sum()
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn serve(stream: TcpStream, state: &Mutex<ServerState>) {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let route = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        *state.requests.entry(path.clone()).or_default() += 1;
        state.routes.get(&path).cloned()
    };
    let route = route.unwrap_or(Route {
        status: 404,
        body: "not found".to_owned(),
        delay: Duration::ZERO,
    });
    std::thread::sleep(route.delay);
    let response = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        route.status,
        route.body.len(),
        route.body
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
}

// ------------------------------------------------------------------------ helpers

fn manifest_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn sample_repository() -> PathBuf {
    manifest_path("config/event-schemas")
}

fn settings(sources: Vec<SchemaSourceSettings>) -> SchemaRegistrySettings {
    SchemaRegistrySettings {
        sources,
        use_environment_proxy: false,
        fetch_timeout: Duration::from_secs(5),
        ..SchemaRegistrySettings::default()
    }
}

fn remote_settings(server: &TestServer) -> SchemaRegistrySettings {
    settings(vec![SchemaSourceSettings::EventPlatformHttp {
        base_uri: format!("{}/jsonschema", server.base()),
    }])
}

fn registry(settings: &SchemaRegistrySettings) -> SchemaRegistry {
    SchemaRegistry::from_settings(settings).expect("valid settings")
}

fn sample_registry() -> SchemaRegistry {
    registry(&settings(vec![
        SchemaSourceSettings::EventPlatformRepository(sample_repository()),
    ]))
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

fn reason<T>(result: Result<T, SchemaLookupError>) -> Result<T, &'static str> {
    result.map_err(|error| error.reason())
}

/// TV-1's `/test/0.0.1`, as JSON.
fn tv1_schema() -> Value {
    json!({
        "title": "test",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "/test/0.0.1",
        "type": "object",
        "properties": {
            "$schema": {"type": "string"},
            "meta": {"type": "object", "properties": {
                "stream": {"type": "string"},
                "id": {"type": "string", "pattern": "^[a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$", "maxLength": 36},
                "dt": {"type": "string", "format": "date-time", "maxLength": 26}
            }, "required": ["stream", "id"]},
            "test": {"type": "string"},
            "test_default": {"type": "string", "default": "default_value"}
        }
    })
}

fn write(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create test dirs");
    }
    std::fs::write(path, contents).expect("write test file");
}

// ------------------------------------------------------------------------ remote sources

#[test]
fn remote_hit_is_fetched_once_then_cached() {
    let server = TestServer::start();
    server.ok("/jsonschema/test/0.0.1", &tv1_schema());
    let registry = registry(&remote_settings(&server));
    assert_eq!(
        registry.fetch_threads_started(),
        0,
        "building starts no thread"
    );

    let schema = registry.event_schema("/test/0.0.1").expect("fetched");
    assert_eq!(schema.title(), Some("test"));
    assert_eq!(
        schema.origin(),
        format!("{}/jsonschema/test/0.0.1", server.base())
    );
    for _ in 0..100 {
        let again = registry.event_schema("/test/0.0.1").expect("cached");
        assert!(Arc::ptr_eq(&schema, &again));
        assert!(matches!(
            registry.poll_event_schema("/test/0.0.1"),
            SchemaPoll::Ready(_)
        ));
    }
    assert_eq!(server.requests("/jsonschema/test/0.0.1"), 1);
    // Without the leading slash the same URL is built: the document comes from the URL cache,
    // and the compiled schema from the cache by `$id` (AJV caches by URI and by `$id`).
    let relative = registry.event_schema("test/0.0.1").expect("same URL");
    assert!(Arc::ptr_eq(&schema, &relative), "shared through the $id");
    assert_eq!(server.total_requests(), 1);
    // A query or fragment names the same schema (EventGate resolved them too): no request,
    // no new cache entry, however many spellings come.
    let entries = registry.event_schema_cache_len();
    for n in 0..50 {
        for uri in [format!("/test/0.0.1?x={n}"), format!("/test/0.0.1#f{n}")] {
            let same = registry.event_schema(&uri).expect("query ignored");
            assert!(Arc::ptr_eq(&schema, &same), "{uri}");
        }
    }
    assert_eq!(registry.event_schema_cache_len(), entries);
    assert_eq!(server.total_requests(), 1);
    // A refused URI is named as the event spelled it, query included.
    let refused = registry
        .event_schema("/a/../b?q=1")
        .unwrap_err()
        .to_string();
    assert!(refused.contains("\"/a/../b?q=1\""), "{refused}");
}

#[test]
fn remote_miss_is_unknown_and_negatively_cached_for_the_ttl() {
    let server = TestServer::start();
    let settings = SchemaRegistrySettings {
        negative_cache_ttl: Duration::from_millis(400),
        ..remote_settings(&server)
    };
    let registry = registry(&settings);
    let error = registry
        .event_schema("/test/9.9.9")
        .expect_err("404 everywhere");
    assert_eq!(error.reason(), "schema_unknown");
    assert_eq!(
        error.to_string(),
        format!(
            "Schema at /test/9.9.9 not found (searched: {}/jsonschema/test/9.9.9 (HTTP 404))",
            server.base()
        )
    );
    assert_eq!(server.requests("/jsonschema/test/9.9.9"), 1);
    for _ in 0..50 {
        assert_eq!(
            reason(registry.event_schema("/test/9.9.9").map(|_| ())),
            Err("schema_unknown")
        );
        assert!(matches!(
            registry.poll_event_schema("/test/9.9.9"),
            SchemaPoll::Failed(_)
        ));
    }
    assert_eq!(
        server.requests("/jsonschema/test/9.9.9"),
        1,
        "no request within the TTL"
    );
    assert_eq!(registry.negative_cache_len(), 1);

    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        reason(registry.event_schema("/test/9.9.9").map(|_| ())),
        Err("schema_unknown")
    );
    assert_eq!(
        reason(registry.event_schema("/test/9.9.9").map(|_| ())),
        Err("schema_unknown")
    );
    assert_eq!(
        server.requests("/jsonschema/test/9.9.9"),
        2,
        "one new request after the TTL"
    );
}

#[test]
fn remote_server_errors_are_fetch_failures_and_later_bases_are_tried() {
    let primary = TestServer::start();
    let secondary = TestServer::start();
    primary.route("/jsonschema/test/0.0.1", 500, "oops", Duration::ZERO);
    secondary.ok("/jsonschema/test/0.0.1", &tv1_schema());
    let registry = registry(&settings(vec![
        SchemaSourceSettings::EventPlatformHttp {
            base_uri: format!("{}/jsonschema", primary.base()),
        },
        SchemaSourceSettings::EventPlatformHttp {
            base_uri: format!("{}/jsonschema/", secondary.base()),
        },
    ]));
    let schema = registry.event_schema("/test/0.0.1").expect("second base");
    assert_eq!(
        schema.origin(),
        format!("{}/jsonschema/test/0.0.1", secondary.base())
    );

    let error = registry.event_schema("/other/1.0.0").expect_err("nowhere");
    assert_eq!(error.reason(), "schema_unknown");
    primary.route("/jsonschema/broken/1.0.0", 503, "", Duration::ZERO);
    let error = registry
        .event_schema("/broken/1.0.0")
        .expect_err("server error");
    assert_eq!(error.reason(), "schema_fetch");
    assert_eq!(
        error.to_string(),
        format!(
            "Schema at /broken/1.0.0: schema base {p}/jsonschema: Schema fetch from \
             {p}/jsonschema/broken/1.0.0 failed: HTTP 503 (also searched: \
             {s}/jsonschema/broken/1.0.0 (HTTP 404))",
            p = primary.base(),
            s = secondary.base()
        )
    );
    primary.route("/jsonschema/garbage/1.0.0", 200, "[1, 2]", Duration::ZERO);
    assert_eq!(
        reason(registry.event_schema("/garbage/1.0.0").map(|_| ())),
        Err("schema_invalid")
    );
    primary.ok("/jsonschema/uncompilable/1.0.0", &json!({"type": "float"}));
    assert_eq!(
        reason(registry.event_schema("/uncompilable/1.0.0").map(|_| ())),
        Err("schema_invalid")
    );
}

#[test]
fn remote_timeout_fails_fast_and_does_not_delay_other_lookups() {
    let server = TestServer::start();
    server.route(
        "/jsonschema/slow/1.0.0",
        200,
        &tv1_schema().to_string(),
        Duration::from_secs(3),
    );
    server.ok("/jsonschema/test/0.0.1", &tv1_schema());
    let settings = SchemaRegistrySettings {
        fetch_timeout: Duration::from_millis(300),
        ..remote_settings(&server)
    };
    let registry = registry(&settings);

    // Non-blocking: the slow lookup is pending, an unrelated one completes meanwhile.
    let started = Instant::now();
    let ticket = match registry.poll_event_schema("/slow/1.0.0") {
        SchemaPoll::Pending(ticket) => ticket,
        other => panic!("expected a pending lookup, got {other:?}"),
    };
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "poll does not wait"
    );
    let fast = registry.event_schema("/test/0.0.1").expect("fast schema");
    assert_eq!(fast.title(), Some("test"));
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "the unrelated lookup was not delayed: {:?}",
        started.elapsed()
    );
    assert!(!ticket.is_finished());

    assert!(ticket.wait(Duration::from_secs(5)), "the fetch times out");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "finished after about the timeout: {waited:?}"
    );
    let error = match registry.poll_event_schema("/slow/1.0.0") {
        SchemaPoll::Failed(error) => error,
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(error.reason(), "schema_fetch");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "Schema fetch from {}/jsonschema/slow/1.0.0 failed: ",
            server.base()
        )),
        "{message}"
    );

    // Blocking: returns within about the timeout too.
    let started = Instant::now();
    assert_eq!(
        reason(registry.event_schema("/slow/2.0.0").map(|_| ())),
        Err("schema_unknown")
    );
    server.route("/jsonschema/slow/3.0.0", 200, "{}", Duration::from_secs(3));
    assert_eq!(
        reason(registry.event_schema("/slow/3.0.0").map(|_| ())),
        Err("schema_fetch")
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn absolute_uris_need_an_allowed_host() {
    let server = TestServer::start();
    server.ok("/jsonschema/test/0.0.1", &tv1_schema());
    let absolute = format!("{}/jsonschema/test/0.0.1", server.base());

    let closed = registry(&settings(Vec::new()));
    let error = closed
        .event_schema(&absolute)
        .expect_err("host not allowed");
    assert_eq!(error.reason(), "schema_uri_refused");
    assert_eq!(
        error.to_string(),
        format!(
            "Schema URI {absolute:?} refused: absolute schema URIs are only allowed for the \
             configured hosts, and 127.0.0.1:{} is not one of them",
            server.port
        )
    );
    for refused in [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "/test/../../etc/passwd",
        "gopher://127.0.0.1/x",
    ] {
        assert_eq!(
            reason(closed.event_schema(refused).map(|_| ())),
            Err("schema_uri_refused"),
            "{refused}"
        );
    }
    assert_eq!(server.total_requests(), 0, "refused URIs make no request");

    let open = registry(&SchemaRegistrySettings {
        allowed_schema_hosts: vec![format!("127.0.0.1:{}", server.port)],
        ..settings(Vec::new())
    });
    let schema = open.event_schema(&absolute).expect("allowed host");
    assert_eq!(schema.id(), Some("/test/0.0.1"));
    assert_eq!(server.requests("/jsonschema/test/0.0.1"), 1);
    let other_port = format!("http://127.0.0.1:{}/x/1.0.0", server.port.wrapping_add(1));
    assert_eq!(
        reason(open.event_schema(&other_port).map(|_| ())),
        Err("schema_uri_refused")
    );
    assert_eq!(
        reason(open.event_schema("file:///etc/passwd").map(|_| ())),
        Err("schema_uri_refused"),
        "file:// is refused even with an allowlist"
    );
}

#[test]
fn concurrent_lookups_share_one_fetch() {
    let server = TestServer::start();
    server.route(
        "/jsonschema/test/0.0.1",
        200,
        &tv1_schema().to_string(),
        Duration::from_millis(200),
    );
    let registry = Arc::new(registry(&remote_settings(&server)));
    let barrier = Arc::new(Barrier::new(10));
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let registry = Arc::clone(&registry);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                registry
                    .event_schema("/test/0.0.1")
                    .map(|schema| schema.title().map(str::to_owned))
            })
        })
        .collect();
    for thread in threads {
        let result = thread.join().expect("thread");
        assert_eq!(result, Ok(Some("test".to_owned())));
    }
    assert_eq!(server.requests("/jsonschema/test/0.0.1"), 1);
    assert_eq!(registry.lookups_in_flight(), 0);

    // Tickets of concurrent polls are for the same fetch.
    server.route(
        "/jsonschema/test/0.0.2",
        200,
        &tv1_schema().to_string(),
        Duration::from_millis(200),
    );
    let first = match registry.poll_event_schema("/test/0.0.2") {
        SchemaPoll::Pending(ticket) => ticket,
        other => panic!("expected pending, got {other:?}"),
    };
    let second = match registry.poll_event_schema("/test/0.0.2") {
        SchemaPoll::Pending(ticket) => ticket,
        other => panic!("expected pending, got {other:?}"),
    };
    assert!(first.same_fetch(&second));
    assert!(second.wait(Duration::from_secs(5)));
    match registry.poll_event_schema("/test/0.0.2") {
        SchemaPoll::Ready(schema) => {
            assert_eq!(
                schema.id(),
                Some("/test/0.0.1"),
                "the served document's $id"
            )
        }
        other => panic!("expected ready, got {other:?}"),
    }
    assert_eq!(server.requests("/jsonschema/test/0.0.2"), 1);
}

#[test]
fn a_full_fetch_queue_fails_fast() {
    let server = TestServer::start();
    for version in ["1", "2", "3"] {
        server.route(
            &format!("/jsonschema/slow/{version}"),
            404,
            "",
            Duration::from_millis(500),
        );
    }
    let registry = registry(&SchemaRegistrySettings {
        fetch_threads: 1,
        fetch_queue: 1,
        ..remote_settings(&server)
    });
    let first = registry.poll_event_schema("/slow/1");
    assert!(first.is_pending());
    // Give the only thread time to take the first job off the queue.
    std::thread::sleep(Duration::from_millis(100));
    let second = registry.poll_event_schema("/slow/2");
    assert!(second.is_pending());
    match registry.poll_event_schema("/slow/3") {
        SchemaPoll::Failed(error) => {
            assert_eq!(error.reason(), "schema_fetch");
            assert!(
                error
                    .to_string()
                    .contains("too many schema fetches queued (1)"),
                "{error}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    if let SchemaPoll::Pending(ticket) = second {
        assert!(ticket.wait(Duration::from_secs(5)));
    }
    // The refusal is not negatively cached: the lookup can be retried.
    assert_eq!(
        reason(registry.event_schema("/slow/3").map(|_| ())),
        Err("schema_unknown")
    );
}

#[test]
fn legacy_schemas_from_a_remote_api() {
    let server = TestServer::start();
    let template = format!(
        "{}/w/api.php?action=jsonschema&title={{name}}&revid={{revision}}&formatversion=2&format=json",
        server.base()
    );
    let echo_path =
        "/w/api.php?action=jsonschema&title=RemoteEcho&revid=7731316&formatversion=2&format=json";
    let mut echo: Value = serde_json::from_str(
        &std::fs::read_to_string(manifest_path("config/schemas/Echo/7731316.json"))
            .expect("sample Echo schema"),
    )
    .expect("JSON");
    if let Value::Object(map) = &mut echo {
        map.insert("title".to_owned(), json!("RemoteEcho"));
    }
    server.ok(echo_path, &echo);
    server.route(
        "/w/api.php?action=jsonschema&title=Echo&revid=1&formatversion=2&format=json",
        400,
        r#"{"error":{"code":"badrevid","info":"No such revision"}}"#,
        Duration::ZERO,
    );
    server.ok(
        "/w/api.php?action=jsonschema&title=Echo&revid=2&formatversion=2&format=json",
        &json!({"error": {"code": "badrevid", "info": "No such revision"}}),
    );
    let registry = registry(&settings(vec![
        SchemaSourceSettings::LegacyDirectory(manifest_path("config/schemas")),
        SchemaSourceSettings::LegacyHttp {
            url_template: template,
        },
    ]));

    // Local first: no request for a schema of the legacy directory.
    assert!(registry.legacy_validator("Echo", 7731316).is_ok());
    assert_eq!(server.total_requests(), 0);

    let pending = registry.poll_legacy_validator("RemoteEcho", 7731316);
    let ticket = match pending {
        SchemaPoll::Pending(ticket) => ticket,
        other => panic!("a remote lookup is pending at first, got {other:?}"),
    };
    assert!(ticket.wait(Duration::from_secs(5)));
    let validator = match registry.poll_legacy_validator("RemoteEcho", 7731316) {
        SchemaPoll::Ready(validator) => validator,
        other => panic!("expected ready, got {other:?}"),
    };
    assert_eq!(validator.name(), "RemoteEcho");
    let capsule = json!({
        "event": {"deliveryMethod": "web", "eventId": 5, "notificationGroup": "interactive",
                  "notificationType": "edit-user-talk", "recipientUserId": 42, "sender": "123",
                  "version": "1.1"},
        "recvFrom": "cp3030.esams.wmnet", "revision": 7731316, "schema": "RemoteEcho",
        "uuid": "c30e6e3cd2785ebe8f7933b22114e742", "wiki": "enwiki"
    });
    assert_eq!(registry.validate_capsule_value(&capsule), Ok(()));
    assert_eq!(server.requests(echo_path), 1);

    let error = registry.legacy_validator("Echo", 1).expect_err("HTTP 400");
    assert_eq!(error.reason(), "schema_unknown");
    let error = registry
        .legacy_validator("Echo", 2)
        .expect_err("API error body");
    assert_eq!(error.reason(), "schema_unknown");
    assert!(
        error
            .to_string()
            .ends_with("(API error badrevid: No such revision))"),
        "{error}"
    );
    // The capsule entry point reports the same as a processor error.
    let mut unknown = capsule.clone();
    unknown["schema"] = json!("Echo");
    unknown["revision"] = json!(1);
    match registry.validate_capsule_value(&unknown) {
        Err(CapsuleValidationError::SchemaUnavailable {
            name,
            revision,
            message,
        }) => {
            assert_eq!((name.as_str(), revision), ("Echo", 1));
            assert!(
                message.starts_with(
                    "Schema Echo revision 1 not found (searched: legacy schema directory "
                ),
                "{message}"
            );
            assert!(
                message.contains("title=Echo&revid=1&formatversion=2&format=json (HTTP 400)"),
                "{message}"
            );
        }
        other => panic!("expected an unavailable schema, got {other:?}"),
    }
}

#[test]
fn a_reloaded_registry_shares_the_fetched_documents() {
    let server = TestServer::start();
    server.ok("/jsonschema/test/0.0.1", &tv1_schema());
    let settings = remote_settings(&server);
    let old = registry(&settings);
    assert!(old.event_schema("/test/0.0.1").is_ok());
    assert_eq!(old.remote_document_count(), 1);

    let new = SchemaRegistry::from_settings_sharing(&settings, &old).expect("reload");
    assert_eq!(
        new.event_schema_cache_len(),
        0,
        "compiled schemas are per registry"
    );
    assert!(new.event_schema("/test/0.0.1").is_ok());
    assert_eq!(
        server.requests("/jsonschema/test/0.0.1"),
        1,
        "no new request"
    );

    let changed = SchemaRegistrySettings {
        fetch_timeout: Duration::from_secs(7),
        ..settings.clone()
    };
    let fresh = SchemaRegistry::from_settings_sharing(&changed, &old).expect("reload");
    assert_eq!(
        fresh.remote_document_count(),
        0,
        "other HTTP settings: a new fetcher"
    );
}

// ------------------------------------------------------------------------ local repositories

#[test]
fn local_repository_resolution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let yaml = "title: t\n$id: /t/1.0.0\ntype: object\nproperties:\n  a: {type: string}\n";
    write(root, "jsonschema/t/1.0.0.yaml", yaml);
    write(
        root,
        "jsonschema/t/1.1.0.json",
        r#"{"title": "t", "$id": "/t/1.1.0", "type": "object", "properties": {"a": {"type": "integer"}}}"#,
    );
    write(
        root,
        "jsonschema/t/latest",
        &yaml.replace("1.0.0", "1.0.0-latest"),
    );
    write(root, "jsonschema/broken/1.0.0.yaml", "title: [unclosed\n");
    write(root, "secret/1.0.0.yaml", "title: secret\n");
    let registry = registry(&settings(vec![
        SchemaSourceSettings::EventPlatformRepository(root.to_path_buf()),
    ]));

    let with_slash = registry.event_schema("/t/1.0.0").expect("yaml");
    let without = registry.event_schema("t/1.0.0").expect("yaml");
    assert!(Arc::ptr_eq(&with_slash, &without));
    assert_eq!(
        with_slash.origin(),
        root.join("jsonschema/t/1.0.0.yaml").display().to_string()
    );
    let json = registry.event_schema("/t/1.1.0").expect("json");
    assert_eq!(json.id(), Some("/t/1.1.0"));
    assert_eq!(json.validate(&json!({"a": 1})), Ok(()));
    assert!(with_slash.validate(&json!({"a": 1})).is_err());
    assert_eq!(
        registry
            .event_schema("/t/1.1.0.json")
            .map(|s| s.id().map(str::to_owned)),
        Ok(Some("/t/1.1.0".to_owned()))
    );
    assert_eq!(
        registry
            .event_schema("/t/latest")
            .map(|s| s.id().map(str::to_owned)),
        Ok(Some("/t/1.0.0-latest".to_owned()))
    );

    let error = registry.event_schema("/t/2.0.0").expect_err("missing");
    assert_eq!(error.reason(), "schema_unknown");
    assert_eq!(
        error.to_string(),
        format!(
            "Schema at /t/2.0.0 not found (searched: schema repository {})",
            root.display()
        )
    );
    for escaping in [
        "/t/../../secret/1.0.0",
        "../secret/1.0.0",
        "/t/./1.0.0",
        "//t/1.0.0",
    ] {
        assert_eq!(
            reason(registry.event_schema(escaping).map(|_| ())),
            Err("schema_uri_refused"),
            "{escaping}"
        );
    }
    let error = registry
        .event_schema("/broken/1.0.0")
        .expect_err("broken file");
    assert_eq!(error.reason(), "schema_invalid");
    let message = error.to_string();
    assert!(
        message.contains(
            &root
                .join("jsonschema/broken/1.0.0.yaml")
                .display()
                .to_string()
        ) && message.contains("invalid YAML"),
        "{message}"
    );
    // A local answer never needs a background thread.
    assert_eq!(registry.fetch_threads_started(), 0);
}

#[test]
fn sources_are_consulted_in_order_local_then_remote() {
    let server = TestServer::start();
    server.ok(
        "/jsonschema/t/1.0.0",
        &json!({"title": "remote", "$id": "/t/1.0.0"}),
    );
    server.ok(
        "/jsonschema/only/remote/1.0.0",
        &json!({"title": "only/remote", "$id": "/only/remote/1.0.0"}),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "jsonschema/t/1.0.0.yaml",
        "title: local\n$id: /t/1.0.0\n",
    );
    let registry = registry(&settings(vec![
        SchemaSourceSettings::EventPlatformRepository(dir.path().to_path_buf()),
        SchemaSourceSettings::EventPlatformHttp {
            base_uri: format!("{}/jsonschema", server.base()),
        },
    ]));
    assert!(matches!(
        registry.poll_event_schema("/t/1.0.0"),
        SchemaPoll::Ready(schema) if schema.title() == Some("local")
    ));
    assert_eq!(server.total_requests(), 0);
    assert_eq!(
        registry
            .event_schema("/only/remote/1.0.0")
            .map(|s| s.title().map(str::to_owned)),
        Ok(Some("only/remote".to_owned()))
    );
    assert_eq!(server.total_requests(), 1);
}

#[test]
fn refs_to_other_repository_schemas_resolve_through_the_sources() {
    let server = TestServer::start();
    server.ok(
        "/jsonschema/fragment/remote/1.0.0",
        &json!({"$id": "/fragment/remote/1.0.0", "type": "object",
                "properties": {"r": {"type": "integer"}}}),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "jsonschema/fragment/common/1.0.0.yaml",
        "$id: /fragment/common/1.0.0\ntype: object\nproperties:\n  meta:\n    type: object\n    required: [stream]\n    properties:\n      stream: {type: string}\n",
    );
    write(
        dir.path(),
        "jsonschema/composed/1.0.0.yaml",
        "title: composed\n$id: /composed/1.0.0\nallOf:\n  - $ref: /fragment/common/1.0.0\n  - $ref: /fragment/remote/1.0.0\n  - properties:\n      own: {type: string, default: x}\n",
    );
    write(
        dir.path(),
        "jsonschema/dangling/1.0.0.yaml",
        "title: dangling\n$id: /dangling/1.0.0\nallOf:\n  - $ref: /fragment/missing/1.0.0\n",
    );
    write(
        dir.path(),
        "jsonschema/sneaky/1.0.0.yaml",
        "title: sneaky\n$id: /sneaky/1.0.0\nallOf:\n  - $ref: file:///etc/passwd\n",
    );
    let registry = registry(&settings(vec![
        SchemaSourceSettings::EventPlatformRepository(dir.path().to_path_buf()),
        SchemaSourceSettings::EventPlatformHttp {
            base_uri: format!("{}/jsonschema", server.base()),
        },
    ]));
    let composed = registry
        .event_schema("/composed/1.0.0")
        .expect("refs resolve");
    assert_eq!(
        composed.validate(&json!({"meta": {"stream": "s"}, "r": 1})),
        Ok(())
    );
    assert_eq!(
        composed.validate(&json!({"meta": {}})),
        Err("/meta: \"stream\" is a required property".to_owned())
    );
    assert_eq!(
        composed.validate(&json!({"r": "1"})),
        Err("/r: \"1\" is not of type \"integer\"".to_owned())
    );
    assert!(composed.declares("/own"));
    let mut event = json!({});
    composed.apply_defaults(&mut event);
    assert_eq!(event, json!({"own": "x"}));
    assert_eq!(server.requests("/jsonschema/fragment/remote/1.0.0"), 1);

    for broken in ["/dangling/1.0.0", "/sneaky/1.0.0"] {
        assert_eq!(
            reason(registry.event_schema(broken).map(|_| ())),
            Err("schema_invalid"),
            "{broken}"
        );
    }
}

#[test]
fn settings_problems_are_all_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = SchemaRegistrySettings {
        sources: vec![
            SchemaSourceSettings::EventPlatformRepository(dir.path().join("nope")),
            SchemaSourceSettings::EventPlatformHttp {
                base_uri: "file:///srv/schemas".to_owned(),
            },
            SchemaSourceSettings::LegacyHttp {
                url_template: "https://meta.example.org/w/api.php?title={name}".to_owned(),
            },
            SchemaSourceSettings::LegacyDirectory(manifest_path("tests/fixtures/schemas/broken")),
            SchemaSourceSettings::EventPlatformRepository(sample_repository()),
        ],
        allowed_schema_hosts: vec!["https://x".to_owned()],
        schema_file_extension: Some("yaml".to_owned()),
        fetch_timeout: Duration::ZERO,
        ..SchemaRegistrySettings::default()
    };
    let error = SchemaRegistry::from_settings(&bad).expect_err("broken settings");
    let settings: Vec<&str> = error.problems.iter().map(|p| p.setting.as_str()).collect();
    assert_eq!(
        settings,
        [
            "sources[0]",
            "sources[1]",
            "sources[2]",
            "sources[3]",
            "allowed_schema_hosts",
            "schema_file_extension",
            "fetch_timeout"
        ]
    );
    let text = error.to_string();
    assert!(text.contains("is not a schema repository"), "{text}");
    assert!(
        text.contains("must start with http:// or https://"),
        "{text}"
    );
    assert!(text.contains("needs {revision}"), "{text}");
    assert!(text.contains("legacy schema directory"), "{text}");
}

// ------------------------------------------------------------------------ EventGate vectors

#[test]
fn tv1_event_platform_cases() {
    let registry = sample_registry();
    let schema = registry.event_schema("test/0.0.1").expect("TV-1 schema");
    assert_eq!(schema.title(), Some("test"));
    assert_eq!(schema.id(), Some("/test/0.0.1"));
    // Case 1: valid (relative `$schema` without a leading `/` resolves too).
    let valid = parse(
        r#"{"$schema":"test/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1287"},"test":"test_value"}"#,
    );
    assert_eq!(schema.validate(&valid), Ok(()));
    // Case 2: `"test": 0.01` is invalid, the message names `/test`.
    let invalid = parse(
        r#"{"$schema":"/test/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1287"},"test":0.01}"#,
    );
    let by_id = registry.event_schema("/test/0.0.1").expect("same schema");
    assert!(Arc::ptr_eq(&schema, &by_id));
    assert_eq!(
        by_id.validate(&invalid),
        Err("/test: 0.01 is not of type \"string\"".to_owned())
    );
    // Case 3: a bad `$schema` fails to load.
    let error = registry
        .event_schema("bad/uri/right/here@@@")
        .expect_err("no such schema");
    assert_eq!(error.reason(), "schema_unknown");
    // Case 5: `test_default` of the wrong type is invalid, not overwritten.
    let mut wrong_default = parse(
        r#"{"$schema":"/test/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1281"},"test":"test_value1","test_default":67890}"#,
    );
    schema.apply_defaults(&mut wrong_default);
    assert_eq!(
        schema.validate(&wrong_default),
        Err("/test_default: 67890 is not of type \"string\"".to_owned())
    );
    // Case 8: defaults are filled.
    let mut defaulted = valid.clone();
    schema.apply_defaults(&mut defaulted);
    assert_eq!(defaulted["test_default"], json!("default_value"));
    assert_eq!(schema.validate(&defaulted), Ok(()));
    // A bad meta.id pattern.
    let mut bad_id = valid;
    bad_id["meta"]["id"] = json!("not-a-uuid");
    assert_eq!(
        schema.validate(&bad_id),
        Err("/meta/id: \"not-a-uuid\" does not match \"^[a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$\"".to_owned())
    );
}

#[test]
fn tv2_test_event_schema() {
    let registry = sample_registry();
    let schema = registry
        .event_schema("/test/event/1.0.0")
        .expect("TV-2 schema");
    assert_eq!(schema.title(), Some("test/event"));
    let example = parse(
        r#"{"$schema":"/test/event/1.0.0","meta":{"dt":"2019-01-01T00:00:00Z","stream":"test.event.example"},"test":"specific test value","test_map":{"key1":"val1","key2":"val2"}}"#,
    );
    assert_eq!(schema.validate(&example), Ok(()));
    assert_eq!(
        schema.schema()["examples"][0],
        example,
        "the schema's own example"
    );

    let mut no_zone = example.clone();
    no_zone["meta"]["dt"] = json!("2019-01-01T00:00:00");
    assert_eq!(
        schema.validate(&no_zone),
        Err("/meta/dt: \"2019-01-01T00:00:00\" is not a \"date-time\"".to_owned())
    );
    let mut map_value = example.clone();
    map_value["test_map"] = json!({"k": 1});
    assert_eq!(
        schema.validate(&map_value),
        Err("/test_map/k: 1 is not of type \"string\"".to_owned())
    );
    // Valid only after enrichment: meta.dt is required; `test` gets its default.
    let mut bare = parse(
        r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"eventgate-analytics-external.test.event"}}"#,
    );
    assert_eq!(
        schema.validate(&bare),
        Err("/meta: \"dt\" is a required property".to_owned())
    );
    assert!(schema.declares("/meta/dt"));
    assert!(schema.declares("/meta/id"));
    assert!(schema.declares("/meta/request_id"));
    assert!(!schema.declares("/dt"));
    assert!(!schema.declares("/http/request_headers/user-agent"));
    assert!(
        schema.declares("/test_map/anything"),
        "map values are declared"
    );
    bare["meta"]["dt"] = json!("2020-04-02T19:11:20.942Z");
    schema.apply_defaults(&mut bare);
    assert_eq!(bare["test"], json!("default value"));
    assert_eq!(schema.validate(&bare), Ok(()));
}

/// TV-7's migrated legacy test event.
fn tv7_event() -> Value {
    parse(
        r#"{"event":{"OtherMessage":"Test Message"},"schema":"Test","$schema":"/analytics/legacy/test/1.3.0","meta":{"dt":"2020-04-02T19:11:20.942Z","stream":"eventlogging_Test","id":"b0caf18d-6c7f-4403-947d-2712bbe28610","request_id":"bd54dd80-7515-11ea-98e5-fd72443e8b45"},"dt":"2020-04-02T19:11:20.942Z","client_dt":"2020-04-02T19:11:20.942Z","http":{"client_ip":"10.0.2.2","request_headers":{"user-agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.149 Safari/537.36"}}}"#,
    )
}

#[test]
fn tv7_migrated_legacy_schema() {
    let registry = sample_registry();
    let schema = registry
        .event_schema("/analytics/legacy/test/1.3.0")
        .expect("TV-7 schema");
    assert_eq!(schema.title(), Some("analytics/legacy/test"));
    assert_eq!(schema.validate(&tv7_event()), Ok(()));

    let with = |edit: &dyn Fn(&mut Value)| {
        let mut event = tv7_event();
        edit(&mut event);
        schema.validate(&event)
    };
    assert_eq!(
        with(&|e| e["userAgent"] = json!("x")),
        Err("Additional properties are not allowed ('userAgent' was unexpected)".to_owned())
    );
    assert_eq!(
        with(&|e| e["event"] = json!({})),
        Err("/event: \"OtherMessage\" is a required property".to_owned())
    );
    assert_eq!(
        with(&|e| e["revision"] = json!("13")),
        Err("/revision: \"13\" is not of type \"integer\"".to_owned())
    );
    assert_eq!(
        with(&|e| e["meta"]["dt"] = json!("2020-04-02 19:11:20")),
        Err("/meta/dt: \"2020-04-02 19:11:20\" is not a \"date-time\"".to_owned())
    );
    assert_eq!(
        with(&|e| {
            if let Value::Object(map) = e {
                map.remove("meta");
            }
        }),
        Err("\"meta\" is a required property".to_owned())
    );

    // What the enrichment step asks (eventgate.md §5).
    for declared in [
        "/meta/id",
        "/meta/dt",
        "/meta/request_id",
        "/meta/domain",
        "/dt",
        "/client_dt",
        "/http/request_headers/user-agent",
        "/http/request_headers/x-anything",
        "/useragent/browser_family",
        "/uuid",
        "/event/OtherMessage",
    ] {
        assert!(schema.declares(declared), "{declared}");
    }
    for undeclared in [
        "/http/client_ip",
        "/userAgent",
        "/meta/nope",
        "/event/Other",
    ] {
        assert!(!schema.declares(undeclared), "{undeclared}");
    }
    // The migrated sample legacy schemas keep http.client_ip.
    let echo = registry
        .event_schema("/analytics/legacy/echo/1.0.0")
        .expect("echo");
    assert!(echo.declares("/http/client_ip"));
}

#[test]
fn error_schema_tv4() {
    let registry = sample_registry();
    let schema = registry.event_schema("/error/2.1.0").expect("error schema");
    assert_eq!(schema.title(), Some("error"));
    let tv4 = parse(
        r#"{"$schema":"/error/2.1.0","dt":"2020-07-01T00:00:00Z","emitter_id":"example_emitter_id","errored_schema_uri":"/original/schema/1.0.0","errored_stream_name":"original.stream.name","message":"example error message","meta":{"dt":"2020-07-01T00:00:00Z","stream":"error.example"},"raw_event":"{\"$schema\": \"/original/schema/1.0.0\", \"meta\": {\"stream\": \"original.stream.name\", \"dt\": \"2020-07-01T00:00:00Z\"}, \"myproperty\": \"invalid_value\"}"}"#,
    );
    assert_eq!(schema.validate(&tv4), Ok(()));
    assert_eq!(
        schema.schema()["examples"][0],
        tv4,
        "the folded YAML example"
    );
    let mut missing = tv4.clone();
    if let Value::Object(map) = &mut missing {
        map.remove("emitter_id");
    }
    assert_eq!(
        schema.validate(&missing),
        Err("\"emitter_id\" is a required property".to_owned())
    );
    let mut extra = tv4;
    extra["http"] = json!({});
    assert_eq!(
        schema.validate(&extra),
        Err("Additional properties are not allowed ('http' was unexpected)".to_owned())
    );
}

#[test]
fn draft4_event_schemas_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "jsonschema/test_draft4/1.0.0.json",
        r#"{"$schema": "http://json-schema.org/draft-04/schema#", "id": "/test_draft4/1.0.0",
            "title": "test_draft4", "type": "object", "required": ["n"],
            "properties": {"n": {"type": "integer", "minimum": 0, "exclusiveMinimum": true},
                           "d": {"type": "string", "default": "x"}}}"#,
    );
    let registry = registry(&settings(vec![
        SchemaSourceSettings::EventPlatformRepository(dir.path().to_path_buf()),
    ]));
    let schema = registry
        .event_schema("/test_draft4/1.0.0")
        .expect("draft-04");
    assert_eq!(schema.id(), Some("/test_draft4/1.0.0"));
    assert_eq!(schema.title(), Some("test_draft4"));
    assert_eq!(schema.validate(&json!({"n": 1})), Ok(()));
    assert!(schema.validate(&json!({"n": 0})).is_err());
    assert_eq!(
        schema.validate(&json!({"n": 1.5})),
        Err("/n: 1.5 is not of type \"integer\"".to_owned())
    );
    let mut event = json!({"n": 1});
    schema.apply_defaults(&mut event);
    assert_eq!(event, json!({"n": 1, "d": "x"}));
}

#[test]
fn every_sample_schema_compiles_and_its_examples_validate() {
    let registry = sample_registry();
    let titles = [
        ("test", "0.0.1"),
        ("test/event", "1.0.0"),
        ("error", "2.1.0"),
        ("analytics/legacy/test", "1.3.0"),
        ("analytics/legacy/echo", "1.0.0"),
        ("analytics/legacy/navigationtiming", "1.0.0"),
        ("analytics/legacy/searchsatisfaction", "1.0.0"),
        ("analytics/legacy/editattemptstep", "1.0.0"),
        ("analytics/legacy/generic", "1.0.0"),
    ];
    for (title, version) in titles {
        let uri = format!("/{title}/{version}");
        let schema = registry
            .event_schema(&uri)
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(schema.title(), Some(title));
        assert_eq!(schema.id(), Some(uri.as_str()));
        for link in ["latest", version] {
            let linked = registry
                .event_schema(&format!("/{title}/{link}"))
                .unwrap_or_else(|e| panic!("{title}/{link}: {e}"));
            assert!(Arc::ptr_eq(&schema, &linked), "{title}/{link}");
        }
        if let Some(Value::Array(examples)) = schema.schema().get("examples") {
            for example in examples {
                assert_eq!(schema.validate(example), Ok(()), "{uri} example");
            }
        }
        if title.starts_with("analytics/legacy/") {
            for pointer in [
                "/meta/id",
                "/meta/dt",
                "/dt",
                "/client_dt",
                "/http/request_headers/user-agent",
            ] {
                assert!(schema.declares(pointer), "{uri} {pointer}");
            }
            let schema_doc = schema.schema();
            assert_eq!(schema_doc["additionalProperties"], json!(false), "{uri}");
            assert_eq!(
                schema_doc["required"],
                json!(["$schema", "event", "meta"]),
                "{uri}"
            );
        }
    }
}

#[test]
fn migrated_legacy_sample_schemas_keep_the_legacy_event_rules() {
    let registry = sample_registry();
    let echo = registry
        .event_schema("/analytics/legacy/echo/1.0.0")
        .expect("echo");
    let event = json!({
        "$schema": "/analytics/legacy/echo/1.0.0",
        "meta": {"stream": "eventlogging_Echo", "dt": "2019-12-20T10:11:12Z"},
        "client_dt": "2019-12-20T10:11:12Z",
        "dt": "2019-12-20T10:11:12Z",
        "schema": "Echo", "wiki": "enwiki", "webHost": "en.wikipedia.org",
        "recvFrom": "cp3030.esams.wmnet", "seqId": 12345678,
        "uuid": "c30e6e3cd2785ebe8f7933b22114e742",
        "http": {"client_ip": "192.0.2.1", "request_headers": {"user-agent": "Mozilla/5.0"}},
        "event": {"deliveryMethod": "web", "eventId": 5, "notificationGroup": "interactive",
                  "notificationType": "edit-user-talk", "recipientUserId": 42, "sender": "123",
                  "version": "1.1"}
    });
    assert_eq!(echo.validate(&event), Ok(()));
    let mut extra = event.clone();
    extra["event"]["bogus"] = json!(1);
    assert_eq!(
        echo.validate(&extra),
        Err("/event: Additional properties are not allowed ('bogus' was unexpected)".to_owned())
    );
    let mut missing = event.clone();
    if let Some(Value::Object(inner)) = missing.get_mut("event") {
        inner.remove("sender");
    }
    assert_eq!(
        echo.validate(&missing),
        Err("/event: \"sender\" is a required property".to_owned())
    );
    let mut wrong = event;
    wrong["event"]["recipientUserId"] = json!("12");
    assert_eq!(
        echo.validate(&wrong),
        Err("/event/recipientUserId: \"12\" is not of type \"integer\"".to_owned())
    );
}

#[test]
fn one_registry_serves_both_generations() {
    let registry = registry(&settings(vec![
        SchemaSourceSettings::LegacyDirectory(manifest_path("config/schemas")),
        SchemaSourceSettings::EventPlatformRepository(sample_repository()),
    ]));
    assert_eq!(
        registry.source_descriptions(),
        [
            format!(
                "legacy schema directory {}",
                manifest_path("config/schemas").display()
            ),
            format!("schema repository {}", sample_repository().display()),
        ]
    );
    assert!(registry.legacy_validator("Echo", 7731316).is_ok());
    assert!(registry
        .event_schema("/analytics/legacy/echo/1.0.0")
        .is_ok());
    // Legacy lookups do not search Event Platform sources and vice versa.
    let error = registry
        .legacy_validator("analytics/legacy/echo", 1)
        .expect_err("legacy only");
    assert_eq!(
        error.to_string(),
        format!(
            "Schema analytics/legacy/echo revision 1 not found (searched: legacy schema directory {})",
            manifest_path("config/schemas").display()
        )
    );
    let error = registry.event_schema("/Echo/7731316").expect_err("EP only");
    assert_eq!(
        error.to_string(),
        format!(
            "Schema at /Echo/7731316 not found (searched: schema repository {})",
            sample_repository().display()
        )
    );
    let (compiled, failures) = registry.precompile_known();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(compiled, 5);
}
