//! The HTTP intake end to end, with the real binary and a real HTTP client: EventGate's
//! statuses, reason phrases and bodies for `POST /v1/events`, the deliberate improvements
//! (malformed JSON 400, too large 413), content types, gzip, hasty requests, CORS, enrichment
//! from the request, and that a 201 comes only once the events are written.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

mod common;
use common::daemon::Daemon;
use common::http::{get, request, try_request, Response};

/// The records of every file of the directory sink's output.
fn outputs(dir: &Path) -> Vec<(String, Value)> {
    let mut records = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return records;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let topic = path.file_stem().unwrap().to_string_lossy().into_owned();
        // A line without its newline is being written (or was cut by a kill -9, which a
        // restart of the sink truncates): not a record yet.
        let text = fs::read_to_string(&path).unwrap();
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            records.push((topic.clone(), serde_json::from_str(line).unwrap()));
        }
    }
    records
}

fn post(address: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    request(address, "POST", "/v1/events", headers, body)
}

fn post_json(address: &str, body: &Value) -> Response {
    post(
        address,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn event(test: Value) -> Value {
    json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "test.event", "domain": "en.wikipedia.org"}, "test": test})
}

struct Intake {
    daemon: Daemon,
    address: String,
    status: String,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn start() -> Intake {
    start_with("")
}

/// [`start`] with `extra` appended to the `input:` section.
fn start_with(extra: &str) -> Intake {
    start_with_schemas(extra, "")
}

/// [`start_with`], with `schemas_extra` added to the `schemas:` section.
fn start_with_schemas(extra: &str, schemas_extra: &str) -> Intake {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("intake.yaml");
    fs::write(
        &config,
        format!(
            r#"
input:
  type: http
  listen: 127.0.0.1:0
  max_body_bytes: 20000
  trusted_proxies: ["127.0.0.1"]
  test_events:
    - {{"$schema": "/test/event/1.0.0", "meta": {{"stream": "test.event"}}, "test": "canary"}}
{extra}output:
  type: directory
  path: "{out}"
http:
  listen: 127.0.0.1:0
  max_connections: 4
  header_timeout_ms: 500
{schemas}"#,
            out = out.display(),
            schemas = common::repo_schemas_yaml().replacen(
                "schemas:\n",
                &format!("schemas:\n{schemas_extra}"),
                1
            ),
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start(&config, dir.path().join("intake.log"));
    const LINE: &str = "HTTP intake listening (POST /v1/events) address=";
    let address = daemon.wait_for_log(
        "the intake's address",
        Duration::from_secs(30),
        Duration::from_millis(50),
        |log| {
            let rest = &log[log.find(LINE)? + LINE.len()..];
            Some(rest.split_whitespace().next()?.to_owned())
        },
    );
    let status = daemon.status_address();
    Intake {
        daemon,
        address,
        status,
        out,
        _dir: dir,
    }
}

#[test]
fn eventgate_statuses_reasons_and_bodies() {
    let intake = start();
    let address = intake.address.as_str();

    // One event, as navigator.sendBeacon sends it: 201 once written, enriched from the request.
    let answer = post(
        address,
        &[
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("X-Request-ID", "req-42"),
            ("User-Agent", "IntakeTest/1.0"),
        ],
        event(json!("one")).to_string().as_bytes(),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.reason, "All 1 out of 1 events were accepted.");
    assert!(answer.body.is_empty());
    assert!(answer.headers.contains("access-control-allow-origin: *"));
    assert!(answer.headers.contains("content-security-policy:"));
    let written = outputs(&intake.out);
    let (topic, record) = written
        .iter()
        .find(|(_, r)| r["test"] == "one")
        .expect("the accepted event is written before the 201");
    assert_eq!(topic, "test.event");
    assert_eq!(record["meta"]["request_id"], "req-42");
    assert_eq!(record["meta"]["id"].as_str().map(str::len), Some(36));
    assert!(record["meta"]["dt"].as_str().unwrap().ends_with('Z'));

    // `$schema` spellings EventGate resolved: a query or fragment, `.yaml`, `latest`; and one
    // it did not (no leading `/`), resolved here.
    for uri in [
        "/test/event/1.0.0?x=1",
        "/test/event/1.0.0#f",
        "/test/event/1.0.0.yaml",
        "/test/event/latest",
        "test/event/1.0.0",
    ] {
        let mut spelled = event(json!(uri));
        spelled["$schema"] = json!(uri);
        let answer = post_json(address, &json!([spelled]));
        assert_eq!(answer.status, 201, "{uri}: {}", answer.body);
    }

    // Mixed: accepted, invalid (test must be a string), errored (no $schema): 207.
    let answer = post_json(
        address,
        &json!([event(json!("two")), event(json!(5)), {"meta": {"stream": "test.event"}}]),
    );
    assert_eq!(answer.status, 207, "{}", answer.body);
    assert_eq!(
        answer.reason,
        "1 out of 3 events were accepted, but 2 failed (1 invalid and 1 errored)."
    );
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["invalid"].as_array().unwrap().len(), 1);
    assert_eq!(body["invalid"][0]["status"], "invalid");
    assert_eq!(body["invalid"][0]["event"]["test"], 5);
    assert!(body["invalid"][0]["context"]["errorsText"]
        .as_str()
        .unwrap()
        .contains("test"));
    assert_eq!(body["error"].as_array().unwrap().len(), 1);
    assert!(body["error"][0]["context"]["message"]
        .as_str()
        .unwrap()
        .contains("$schema"));

    // Every event invalid: 400 with the invalid ones listed.
    let answer = post_json(address, &json!([event(json!(1)), event(json!(2))]));
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.reason,
        "2 out of 2 events were invalid and not accepted."
    );
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["invalid"].as_array().unwrap().len(), 2);

    // Every event failed, by the events' own fault (unknown stream; $schema not a string):
    // 400 (EventGate: 500, which tells clients to send them again).
    let answer = post_json(
        address,
        &json!([
            {"$schema": "/test/event/1.0.0", "meta": {"stream": "no.such.stream"}},
            {"$schema": 123, "meta": {"stream": "test.event"}},
        ]),
    );
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.reason,
        "2 out of 2 events had failures and were not accepted. (0 invalid and 2 errored)."
    );
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert!(body["error"][0]["context"]["message"]
        .as_str()
        .unwrap()
        .contains("no.such.stream is not configured"));
    assert!(body["error"][1]["context"]["message"]
        .as_str()
        .unwrap()
        .contains("$schema must be a string"));

    // Every failure became an error event, valid or not, written before the answer.
    let errors: Vec<Value> = outputs(&intake.out)
        .into_iter()
        .filter(|(_, r)| r["$schema"] == "/error/2.1.0")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(errors.len(), 6);

    // Values EventGate's fast formats (AJV v6) accepted and RFC 3339 / RFC 3986 do not: a
    // space in a date-time, an offset without a colon, `[]` and `|` in a URI. A date-time
    // without a zone failed there too.
    for (field, value, status) in [
        ("dt", "2026-11-01 00:00:00Z", 201),
        ("dt", "2026-11-01T00:00:00+0100", 201),
        ("uri", "https://en.wikipedia.org/w/index.php?a[]=1&b=|", 201),
        ("dt", "2026-11-01T00:00:00", 400),
    ] {
        let mut lenient = event(json!(field));
        lenient["meta"][field] = json!(value);
        let answer = post_json(address, &json!([lenient]));
        assert_eq!(answer.status, status, "{field} {value}: {}", answer.body);
    }

    // Bodies without events.
    for empty in [&b""[..], b"[]", b"{}"] {
        let answer = post(address, &[("Content-Type", "application/json")], empty);
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.reason,
            "Request body was empty. Must provide JSON encoded events."
        );
    }
    let answer = post(
        address,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        event(json!("x")).to_string().as_bytes(),
    );
    assert_eq!(answer.status, 400);

    // Deliberate improvements: malformed JSON 400 (EventGate: 500), too large 413 (500).
    let answer = post(
        address,
        &[("Content-Type", "application/json")],
        b"[{\"a\":",
    );
    assert_eq!(answer.status, 400);
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["title"], "Malformed JSON");
    let big = json!([event(json!("x".repeat(30_000)))]).to_string();
    let answer = post(
        address,
        &[("Content-Type", "application/json")],
        big.as_bytes(),
    );
    assert_eq!(answer.status, 413);

    // gzip bodies.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json!([event(json!("zipped"))]).to_string().as_bytes())
        .unwrap();
    let answer = post(
        address,
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &gz.finish().unwrap(),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);

    // Hasty: 202 at once; the event is still delivered.
    let answer = request(
        address,
        "POST",
        "/v1/events?hasty=true",
        &[("Content-Type", "application/json")],
        event(json!("hasty")).to_string().as_bytes(),
    );
    assert_eq!(answer.status, 202);
    assert_eq!(answer.reason, "1 events hastily received.");
    common::wait_until(
        "the hasty event to be written",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            outputs(&intake.out)
                .iter()
                .any(|(_, r)| r["test"] == "hasty")
        },
    );

    // CORS preflight; no other method or path.
    let answer = request(address, "OPTIONS", "/v1/events", &[], b"");
    assert_eq!(answer.status, 200);
    assert!(answer
        .headers
        .contains("access-control-allow-methods: post"));
    assert_eq!(get(address, "/v1/events").status, 404);
    assert_eq!(get(address, "/metrics").status, 404);

    // The operators' view.
    let metrics = get(&intake.status, "/metrics").body;
    for status in ["201", "207", "400", "413", "202"] {
        assert!(
            metrics.contains(&format!(
                "beacon_http_requests_total{{status=\"{status}\"}}"
            )),
            "{status} missing from\n{metrics}"
        );
    }
    assert!(metrics.contains("beacon_http_request_duration_seconds_count"));
    let stopped = intake
        .daemon
        .terminate(Duration::from_secs(30))
        .assert_success();
    // Every event (and error event) delivered is counted as acknowledged at the stop.
    let line = stopped
        .log
        .lines()
        .find(|l| l.contains("stopped after draining"))
        .expect("the stop is logged");
    let field = |name: &str| -> u64 {
        let at = line
            .find(&format!(" {name}="))
            .expect("the field is logged")
            + name.len()
            + 2;
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a number")
    };
    assert!(field("lines") > 0, "{line}");
    assert_eq!(field("acknowledged"), field("lines"), "{line}");
}

#[test]
fn the_client_address_comes_from_a_trusted_proxy_or_the_socket() {
    let intake = start();
    let generic = |title: &str| {
        json!({"$schema": "/analytics/legacy/generic/1.0.0", "meta": {"stream": "eventlogging_Generic"}, "event": {"articleId": 1, "articleTitle": title}})
            .to_string()
    };
    // 127.0.0.1 is a trusted proxy in this configuration: its X-Forwarded-For is believed.
    let answer = post(
        &intake.address,
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", "198.51.100.7, 10.0.0.1"),
            ("User-Agent", "IntakeTest/2.0"),
        ],
        generic("forwarded").as_bytes(),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    let answer = post(
        &intake.address,
        &[("Content-Type", "application/json")],
        generic("direct").as_bytes(),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    let written = outputs(&intake.out);
    let find = |title: &str| {
        written
            .iter()
            .find(|(_, r)| r["event"]["articleTitle"] == title)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{title} not written"))
    };
    let forwarded = find("forwarded");
    assert_eq!(forwarded["http"]["client_ip"], "198.51.100.7");
    assert_eq!(
        forwarded["http"]["request_headers"]["user-agent"],
        "IntakeTest/2.0"
    );
    // analytics/legacy/* events get `dt`, the receive time.
    assert!(forwarded["dt"].as_str().is_some_and(|dt| dt.ends_with('Z')));
    assert_eq!(find("direct")["http"]["client_ip"], "127.0.0.1");
    intake
        .daemon
        .terminate(Duration::from_secs(30))
        .assert_success();
}

#[test]
fn kill_9_under_load_loses_no_event_answered_201() {
    let mut intake = start();
    let address = intake.address.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (address, stop) = (address.clone(), std::sync::Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let ids: Vec<String> = (0..10).map(|i| format!("c{client}-{n}-{i}")).collect();
                    n += 1;
                    let body = Value::Array(ids.iter().map(|id| event(json!(id))).collect());
                    // A connection refused or cut by the kill is no answer: not acknowledged.
                    let answered = try_request(
                        &address,
                        "POST",
                        "/v1/events",
                        &[("Content-Type", "application/json")],
                        body.to_string().as_bytes(),
                    );
                    match answered {
                        Ok(answer) if answer.status == 201 => acknowledged.extend(ids),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Let load build up, then kill the daemon mid-stream.
    common::wait_until(
        "some events to be written",
        Duration::from_secs(20),
        Duration::from_millis(20),
        || outputs(&intake.out).len() > 200,
    );
    intake.daemon.assert_running();
    intake.daemon.kill_9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let written: std::collections::HashSet<String> = outputs(&intake.out)
        .into_iter()
        .filter_map(|(_, r)| r["test"].as_str().map(str::to_owned))
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !written.contains(*id))
        .collect();
    assert!(
        acknowledged.len() > 100,
        "too few answers before the kill: nothing was tested"
    );
    assert!(
        lost.is_empty(),
        "{} events answered 201 were lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    eprintln!(
        "kill -9 under load: {} events answered 201, {} written, none lost",
        acknowledged.len(),
        written.len()
    );
}

#[test]
fn the_legacy_beacon_endpoint_answers_204_and_processes_the_line_the_cdn_would_have_logged() {
    let intake = start();
    let query = "%7B%22event%22%3A%7B%22deliveryMethod%22%3A%22email%22%2C%22eventId%22%3A73967%2C%22eventSource%22%3A%22default%22%2C%22notificationGroup%22%3A%22positive%22%2C%22notificationType%22%3A%22main%22%2C%22recipientEditCount%22%3A9142%2C%22recipientUserId%22%3A64392%2C%22sender%22%3A%22search%22%2C%22version%22%3A%22search%22%7D%2C%22revision%22%3A7731316%2C%22schema%22%3A%22Echo%22%2C%22webHost%22%3A%22fr.m.wikipedia.org%22%2C%22wiki%22%3A%22frwiki%22%7D;";
    let answer = request(
        &intake.address,
        "GET",
        &format!("/beacon/event?{query}"),
        &[(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        )],
        b"",
    );
    assert_eq!(answer.status, 204);
    assert!(answer.body.is_empty());
    // Not an event at all: still 204, and an error event.
    let answer = request(&intake.address, "GET", "/event.gif?not-json;", &[], b"");
    assert_eq!(answer.status, 204);
    common::wait_until(
        "both beacons to be written",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || outputs(&intake.out).len() >= 2,
    );
    let written = outputs(&intake.out);
    let (_, echo) = written
        .iter()
        .find(|(topic, _)| topic == "eventlogging_Echo")
        .unwrap_or_else(|| panic!("no Echo event in {written:?}"));
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    assert_eq!(echo["recvFrom"], host.as_str());
    assert_eq!(echo["seqId"], 1);
    assert_eq!(echo["event"]["eventId"], 73967);
    assert_eq!(echo["userAgent"]["browser_family"], "Firefox");
    assert!(echo["dt"].as_str().is_some_and(|dt| dt.starts_with("20")));
    assert!(
        written
            .iter()
            .any(|(topic, _)| topic == "eventlogging_EventError"),
        "{written:?}"
    );
    intake
        .daemon
        .terminate(Duration::from_secs(30))
        .assert_success();
}

#[test]
fn stream_configs_and_test_events_for_clients() {
    let intake = start();
    let all: Value =
        serde_json::from_str(&get(&intake.address, "/v1/stream-configs").body).unwrap();
    assert_eq!(all["streams"]["test.event"]["schema_title"], "test/event");
    assert_eq!(
        all["streams"]["eventlogging_Echo"]["topic_prefixes"],
        Value::Null
    );
    assert!(
        all["streams"]["/^beacon-processor\\.error\\..+/"].is_object(),
        "{all}"
    );
    // Served again from the serialised copy: the same body and headers.
    let again = get(&intake.address, "/v1/stream-configs");
    assert_eq!(serde_json::from_str::<Value>(&again.body).unwrap(), all);
    assert!(again
        .headers
        .contains("content-type: application/json; charset=utf-8"));
    assert!(again.headers.contains("access-control-allow-origin: *"));
    let some: Value = serde_json::from_str(
        &get(
            &intake.address,
            "/v1/stream-configs?streams=test.event|beacon-processor.error.x|nope",
        )
        .body,
    )
    .unwrap();
    let names: Vec<&String> = some["streams"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["beacon-processor.error.x", "test.event"]);
    assert_eq!(
        some["streams"]["beacon-processor.error.x"]["schema_title"],
        "error"
    );

    let answer = get(&intake.address, "/v1/_test/events");
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.reason, "All 1 out of 1 events were accepted.");
    assert!(outputs(&intake.out)
        .iter()
        .any(|(_, r)| r["test"] == "canary"));
    intake
        .daemon
        .terminate(Duration::from_secs(30))
        .assert_success();
}

#[test]
fn idle_connections_cannot_take_the_status_server_down() {
    use std::io::Read;
    let intake = start();
    // Five times the status server's connection cap, each sending nothing.
    let idle: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(&intake.status).unwrap())
        .collect();
    let health = get(&intake.status, "/healthz");
    assert_eq!(health.status, 200);
    // The ones it served were closed after the header timeout, not held open.
    let mut first = &idle[0];
    first
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(
        matches!(first.read(&mut buf), Ok(0)),
        "an idle connection stayed open"
    );
    intake
        .daemon
        .terminate(Duration::from_secs(30))
        .assert_success();
}

#[test]
fn a_client_over_its_rate_is_answered_429_with_retry_after() {
    let intake = start_with("  rate_limit_per_second: 0.5\n  rate_limit_burst: 2\n");
    let body = event(json!("limited")).to_string();
    let statuses: Vec<Response> = (0..3)
        .map(|_| {
            post(
                &intake.address,
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            )
        })
        .collect();
    assert_eq!(statuses[0].status, 201);
    assert_eq!(statuses[1].status, 201);
    assert_eq!(statuses[2].status, 429);
    assert!(
        statuses[2].headers.contains("retry-after: 2"),
        "{}",
        statuses[2].headers
    );
    // The legacy endpoint counts against the same budget.
    let beacon = request(&intake.address, "GET", "/beacon/event?x;", &[], b"");
    assert_eq!(beacon.status, 429);
    intake
        .daemon
        .terminate(Duration::from_secs(30))
        .assert_success();
}

/// A fault of the service, not of the events: the schema repository cannot be reached (a
/// version that is not in the local repository, and the remote base URI refuses connections).
/// Every event errored by the service's fault: 500 with EventGate's reason phrase and body, and
/// the error events are still written; beside an accepted event: 207.
#[test]
fn a_schema_repository_that_cannot_be_reached_is_a_500() {
    let intake = start_with_schemas(
        "",
        "  schema_base_uris: [\"http://127.0.0.1:9/jsonschema\"]\n  allowed_hosts: [\"127.0.0.1\"]\n  fetch_timeout_ms: 1000\n",
    );
    let address = intake.address.as_str();
    let unreachable = json!({
        "$schema": "/test/event/9.9.9",
        "meta": {"stream": "test.event"},
        "test": "needs a remote schema",
    });
    let answer = post_json(address, &json!([unreachable.clone()]));
    assert_eq!(answer.status, 500, "{}", answer.body);
    assert_eq!(
        answer.reason,
        "1 out of 1 events had failures and were not accepted. (0 invalid and 1 errored)."
    );
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["invalid"], json!([]));
    assert_eq!(body["error"][0]["status"], "error");
    assert_eq!(body["error"][0]["event"]["test"], "needs a remote schema");
    let message = body["error"][0]["context"]["message"].as_str().unwrap();
    assert!(message.contains("127.0.0.1:9"), "{message}");

    // With an event that is accepted: 207, the fetch failure in `error`.
    let answer = post_json(address, &json!([event(json!("fine")), unreachable]));
    assert_eq!(answer.status, 207, "{}", answer.body);
    assert_eq!(
        answer.reason,
        "1 out of 2 events were accepted, but 1 failed (0 invalid and 1 errored)."
    );
    let written = outputs(&intake.out);
    assert!(written.iter().any(|(_, r)| r["test"] == "fine"));
    let errors: Vec<&Value> = written
        .iter()
        .filter(|(_, r)| r["error_type"].is_string() || r["message"].is_string())
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        errors.len(),
        2,
        "both failures were written as error events: {written:?}"
    );
}
