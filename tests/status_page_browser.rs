//! The operators' status page, end to end in a real browser: the binary runs as a daemon
//! (`run --http 127.0.0.1:0`) on a generated input, and Debian's headless chromium loads the
//! page, lets its JavaScript poll `/api/status`, and dumps the resulting DOM. The numbers the page
//! shows must be the ones the directory sink wrote and the ones `/api/status` reports, and
//! untrusted text from events must show up as text, never as markup.
//!
//! Needs `/usr/bin/chromium` (`apt-get install -y chromium`); set `BEACON_SKIP_BROWSER_TESTS=1`
//! to skip the browser test on a machine without it.
//!
//! A second test checks the page's source for the rules the page must follow (self-contained,
//! no `innerHTML`, the element ids scrapers rely on); it needs no browser.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::Value;

mod common;
use common::daemon::Daemon;
use common::http::{self, dechunk};

const CHROMIUM: &str = "/usr/bin/chromium";
const SKIP_VARIABLE: &str = "BEACON_SKIP_BROWSER_TESTS";
/// Generated lines written before the daemon starts.
const GENERATED_LINES: u64 = 3_000;
/// A schema name that is HTML: if the page inserted it as markup, a `<b id="pwned">` element
/// would appear in the DOM.
const HOSTILE_SCHEMA_LINE: &str = "?%7B%22event%22%3A%7B%22articleId%22%3A1%7D%2C%22revision%22%3A13%2C%22schema%22%3A%22%3Cb%20id%3Dpwned%3Ex%3C%2Fb%3E%22%2C%22wiki%22%3A%22testwiki%22%7D;\tcp1.example\t1\t2020-01-01T00:00:00\t192.0.2.1\t\"curl/7.64.0\"";
/// A line that does not parse and is HTML: it comes back as a recent error's raw event.
const HOSTILE_RAW_LINE: &str = "<b id=pwned3>garbage</b>";
/// Everything the processor has to wait for, on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(120);
/// How often the test looks again while it waits for the daemon.
const POLL: Duration = Duration::from_millis(100);

/// The binary with a plain-text log: no `RUST_LOG` from the caller, no colours.
fn binary() -> Command {
    let mut command = common::binary();
    command.env_remove("RUST_LOG").env("NO_COLOR", "1");
    command
}

fn append_lines(path: &Path, lines: &[&str]) {
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .expect("input file exists");
    for line in lines {
        writeln!(file, "{line}").expect("append to input");
    }
}

/// What the directory sink wrote: valid events per schema and error events per errored schema.
#[derive(Debug, Default, PartialEq)]
struct SinkCounts {
    valid: u64,
    invalid: u64,
    per_schema: BTreeMap<String, SchemaCounts>,
}

/// Valid and invalid events of one schema.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct SchemaCounts {
    valid: u64,
    invalid: u64,
}

/// A schema name as the page shows it: strings as they are, missing or null as `unknown`,
/// anything else as its JSON text.
fn schema_label(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "unknown".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn sink_counts(dir: &Path) -> SinkCounts {
    let mut counts = SinkCounts::default();
    let Ok(entries) = fs::read_dir(dir) else {
        return counts;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let topic = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        // A line being written has no newline yet: count complete lines only.
        let complete = text
            .rfind('\n')
            .and_then(|end| text.get(..end))
            .unwrap_or("");
        for line in complete.lines() {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: {e}: {line}", path.display()));
            if topic == "eventlogging_EventError" {
                let schema = schema_label(record.get("event").and_then(|e| e.get("schema")));
                counts.invalid += 1;
                counts.per_schema.entry(schema).or_default().invalid += 1;
            } else {
                let schema = schema_label(record.get("schema"));
                counts.valid += 1;
                counts.per_schema.entry(schema).or_default().valid += 1;
            }
        }
    }
    counts
}

/// Waits until the sink holds `lines` records, and checks there is not one more.
fn wait_delivered(daemon: &mut Daemon, out: &Path, lines: u64) -> SinkCounts {
    let counts = daemon.wait_for(
        &format!("{lines} lines to be delivered"),
        PATIENCE,
        POLL,
        || {
            let counts = sink_counts(out);
            (counts.valid + counts.invalid >= lines).then_some(counts)
        },
    );
    assert_eq!(counts.valid + counts.invalid, lines, "one record per line");
    counts
}

/// Starts the daemon on `config` with its status page on a free port, its log in `log`.
fn start_daemon(config: &Path, log: PathBuf) -> Daemon {
    Daemon::spawn(
        binary().args([
            "--log-format",
            "text",
            "run",
            "--config",
            config.to_str().expect("utf-8 temp path"),
            "--http",
            "127.0.0.1:0",
        ]),
        log,
    )
}

/// The page's URL, from the `status page at http://127.0.0.1:PORT/` log line.
fn status_page_url(daemon: &mut Daemon) -> String {
    let pattern =
        Regex::new(r"status page at (http://127\.0\.0\.1:([0-9]+)/)").expect("valid regex");
    daemon.wait_for_log("the `status page at` log line", PATIENCE, POLL, |log| {
        let log = strip_ansi(log);
        let captures = pattern.captures(&log)?;
        let port: u16 = captures.get(2)?.as_str().parse().ok()?;
        assert_ne!(port, 0, "the log names port 0 instead of the real port");
        Some(captures.get(1)?.as_str().to_string())
    })
}

fn strip_ansi(text: &str) -> String {
    let escapes = Regex::new(r"\x1b\[[0-9;]*[A-Za-z]").expect("valid regex");
    escapes.replace_all(text, "").into_owned()
}

/// `host:port` of an `http://host:port/` URL.
fn authority(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    rest.split('/').next().unwrap_or(rest)
}

fn api_status(authority: &str) -> Value {
    let response = http::get(authority, "/api/status");
    assert_eq!(
        response.status, 200,
        "GET /api/status: {}",
        response.headers
    );
    serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("/api/status is not JSON ({e}): {}", response.body))
}

fn u64_at(value: &Value, pointer: &str) -> u64 {
    value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no integer at {pointer} in {value}"))
}

/// Per-schema counts from `/api/status`, rows without a schema merged as `unknown`.
fn api_schemas(status: &Value) -> BTreeMap<String, SchemaCounts> {
    let mut schemas = BTreeMap::<String, SchemaCounts>::new();
    for row in status["schemas"].as_array().expect("schemas is an array") {
        let counts = schemas.entry(schema_label(row.get("schema"))).or_default();
        counts.valid += row["valid"].as_u64().expect("schemas[].valid");
        counts.invalid += row["invalid"].as_u64().expect("schemas[].invalid");
    }
    schemas
}

fn api_reasons(status: &Value) -> BTreeMap<String, u64> {
    let reasons = status["error_reasons"]
        .as_array()
        .expect("error_reasons is an array");
    let counts: Vec<u64> = reasons
        .iter()
        .map(|r| r["count"].as_u64().expect("error_reasons[].count"))
        .collect();
    assert!(
        counts.windows(2).all(|w| w.first() >= w.get(1)),
        "error_reasons not sorted by count, descending: {reasons:?}"
    );
    reasons
        .iter()
        .map(|r| {
            (
                r["reason"]
                    .as_str()
                    .expect("error_reasons[].reason")
                    .to_string(),
                r["count"].as_u64().expect("error_reasons[].count"),
            )
        })
        .collect()
}

/// Runs headless chromium on `url` and returns the DOM after the page's scripts ran.
fn dump_dom(url: &str, profile: &Path) -> String {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=8000", "--dump-dom", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut dom = String::new();
        let _ = stdout.read_to_string(&mut dom);
        dom
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait on chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = out_reader.join().unwrap_or_default();
    let errors = err_reader.join().unwrap_or_default();
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium failed ({status}); stderr:\n{errors}\nstdout:\n{dom}"
    );
    dom
}

/// Undoes the escaping of HTML serialisation.
fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The text of the element with this id (an element holding text only).
fn text_by_id(dom: &str, id: &str) -> String {
    let pattern =
        Regex::new(&format!(r#"<[a-z]+\b[^>]*\bid="{id}"[^>]*>([^<]*)<"#)).expect("valid regex");
    pattern
        .captures(dom)
        .and_then(|c| c.get(1))
        .map(|m| unescape_html(m.as_str()))
        .unwrap_or_else(|| panic!("no element id={id:?} in the DOM:\n{dom}"))
}

/// An attribute of the element with this id.
fn attribute_by_id(dom: &str, id: &str, attribute: &str) -> String {
    let tag = Regex::new(&format!(r#"<[a-z]+\b[^>]*\bid="{id}"[^>]*>"#)).expect("valid regex");
    let found = tag
        .find(dom)
        .unwrap_or_else(|| panic!("no element id={id:?} in the DOM:\n{dom}"));
    let value = Regex::new(&format!(r#"\b{attribute}="([^"]*)""#)).expect("valid regex");
    value
        .captures(found.as_str())
        .and_then(|c| c.get(1))
        .map(|m| unescape_html(m.as_str()))
        .unwrap_or_else(|| panic!("no {attribute} on {}", found.as_str()))
}

fn integer_by_id(dom: &str, id: &str) -> u64 {
    let text = text_by_id(dom, id);
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("#{id} is {text:?}, not a plain integer ({e})"))
}

/// The rows of `<table id="TABLE">`: the row's `data-KEY` attribute, then its cells'
/// `data-field` -> text.
fn table_rows(dom: &str, table: &str, key: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let table_pattern = Regex::new(&format!(
        r#"(?s)<table\b[^>]*\bid="{table}"[^>]*>.*?</table>"#
    ))
    .expect("valid regex");
    let table_html = table_pattern
        .find(dom)
        .unwrap_or_else(|| panic!("no table id={table:?} in the DOM:\n{dom}"))
        .as_str();
    let row_pattern = Regex::new(r#"(?s)<tr\b([^>]*)>(.*?)</tr>"#).expect("valid regex");
    let key_pattern = Regex::new(&format!(r#"\bdata-{key}="([^"]*)""#)).expect("valid regex");
    let cell_pattern =
        Regex::new(r#"<td\b[^>]*\bdata-field="([^"]*)"[^>]*>([^<]*)<"#).expect("valid regex");
    let mut rows = BTreeMap::new();
    for row in row_pattern.captures_iter(table_html) {
        let attributes = row.get(1).map_or("", |m| m.as_str());
        let Some(name) = key_pattern.captures(attributes).and_then(|c| c.get(1)) else {
            continue; // the header row
        };
        let cells: BTreeMap<String, String> = cell_pattern
            .captures_iter(row.get(2).map_or("", |m| m.as_str()))
            .filter_map(|c| {
                Some((
                    c.get(1)?.as_str().to_string(),
                    unescape_html(c.get(2)?.as_str()),
                ))
            })
            .collect();
        let name = unescape_html(name.as_str());
        assert!(
            rows.insert(name.clone(), cells).is_none(),
            "two rows for {name:?} in table {table}"
        );
    }
    rows
}

fn cell_integer(cells: &BTreeMap<String, String>, field: &str, row: &str) -> u64 {
    let text = cells
        .get(field)
        .unwrap_or_else(|| panic!("row {row:?} has no data-field={field:?} cell: {cells:?}"));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("row {row:?} {field} is {text:?}, not an integer ({e})"))
}

fn dom_schemas(dom: &str) -> BTreeMap<String, SchemaCounts> {
    table_rows(dom, "schemas", "schema")
        .iter()
        .map(|(name, cells)| {
            (
                name.clone(),
                SchemaCounts {
                    valid: cell_integer(cells, "valid", name),
                    invalid: cell_integer(cells, "invalid", name),
                },
            )
        })
        .collect()
}

fn dom_reasons(dom: &str) -> BTreeMap<String, u64> {
    table_rows(dom, "reasons", "reason")
        .iter()
        .map(|(name, cells)| (name.clone(), cell_integer(cells, "count", name)))
        .collect()
}

/// Whether the browser test must be skipped (explicitly); panics if chromium is missing.
fn browser_available() -> bool {
    if std::env::var(SKIP_VARIABLE).is_ok_and(|v| v == "1") {
        eprintln!("{SKIP_VARIABLE}=1: skipping the status page browser test");
        return false;
    }
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install it (`apt-get install -y chromium`, as CI does) or set \
         {SKIP_VARIABLE}=1 to skip this test"
    );
    true
}

#[test]
fn status_page_in_chromium_shows_what_the_sink_wrote() {
    if !browser_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).expect("create logs dir");
    let out = tmp.path().join("out");
    let input = logs.join("beacon.log");
    common::generate(binary(), GENERATED_LINES, 7, &input, &[]);
    let config = tmp.path().join("config.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: files\n  include: [\"logs/*.log\"]\n  follow: true\n  poll_interval_ms: 20\n  rescan_interval_ms: 50\n  data_dir: data\noutput:\n  type: directory\n  path: out\nschemas:\n  legacy_dirs: [\"{}\"]\npipeline:\n  workers: 2\n  batch_lines: 64\n",
            common::legacy_schemas().display()
        ),
    )
    .expect("write config");

    let mut daemon = start_daemon(&config, tmp.path().join("daemon.log"));
    let url = status_page_url(&mut daemon);
    let server = authority(&url).to_string();

    // Every generated line delivered, then the two hostile lines one at a time: the status keeps
    // one error sample per delivered batch, so each must be a batch of its own to be sampled, and
    // the raw one, last, is then the newest recent error.
    wait_delivered(&mut daemon, &out, GENERATED_LINES);
    append_lines(&input, &[HOSTILE_SCHEMA_LINE]);
    wait_delivered(&mut daemon, &out, GENERATED_LINES + 1);
    append_lines(&input, &[HOSTILE_RAW_LINE]);
    let lines = GENERATED_LINES + 2;
    let expected = wait_delivered(&mut daemon, &out, lines);
    // The status totals are updated when the sink acknowledges: wait for them to catch up.
    let status = daemon.wait_for("/api/status to count every line", PATIENCE, POLL, || {
        let status = api_status(&server);
        (u64_at(&status, "/totals/lines") >= lines).then_some(status)
    });

    // /api/status agrees with the sink.
    assert_eq!(u64_at(&status, "/totals/lines"), lines);
    assert_eq!(u64_at(&status, "/totals/valid"), expected.valid);
    assert_eq!(u64_at(&status, "/totals/invalid"), expected.invalid);
    assert_eq!(status["ready"], true, "{status}");
    assert_eq!(status["source"], "files");
    assert_eq!(status["sink"], "directory");
    assert_eq!(api_schemas(&status), expected.per_schema, "{status}");
    let reasons = api_reasons(&status);
    assert_eq!(
        reasons.values().sum::<u64>(),
        expected.invalid,
        "{reasons:?}"
    );
    assert!(
        reasons.get("parse").is_some_and(|&n| n >= 1),
        "the garbage line is a parse error: {reasons:?}"
    );

    // The page itself is served as HTML.
    let page = http::get(&server, "/");
    assert_eq!(page.status, 200);
    assert!(
        page.headers
            .contains("content-type: text/html; charset=utf-8"),
        "{}",
        page.headers
    );
    assert!(page.body.contains(r#"id="total-lines""#));

    // What the browser shows after the page's scripts ran.
    let profile = tmp.path().join("chromium-profile");
    fs::create_dir(&profile).expect("create chromium profile dir");
    let dom = dump_dom(&url, &profile);

    assert_eq!(integer_by_id(&dom, "total-lines"), lines, "DOM:\n{dom}");
    let valid = integer_by_id(&dom, "total-valid");
    let invalid = integer_by_id(&dom, "total-invalid");
    assert_eq!(valid + invalid, lines);
    assert_eq!(valid, expected.valid);
    assert_eq!(invalid, expected.invalid);
    let error_rate: f64 = attribute_by_id(&dom, "error-rate", "data-value")
        .parse()
        .expect("#error-rate data-value is a number");
    let expected_rate = expected.invalid as f64 / lines as f64;
    assert!(
        (error_rate - expected_rate).abs() < 1e-9,
        "error rate {error_rate}, expected {expected_rate}"
    );
    assert!(text_by_id(&dom, "error-rate").ends_with('%'));

    assert_eq!(dom_schemas(&dom), expected.per_schema);
    let shown_reasons = dom_reasons(&dom);
    assert_eq!(shown_reasons, reasons);
    assert!(
        shown_reasons.len() >= 2,
        "generated input has several error reasons: {shown_reasons:?}"
    );

    let uptime: f64 = attribute_by_id(&dom, "uptime", "data-seconds")
        .parse()
        .expect("#uptime data-seconds is a number");
    assert!(uptime > 0.0, "uptime {uptime}");
    assert!(!text_by_id(&dom, "uptime").is_empty());
    assert_eq!(attribute_by_id(&dom, "ready", "data-ready"), "true");
    assert_eq!(
        text_by_id(&dom, "version"),
        status["version"].as_str().expect("version is a string")
    );

    // Untrusted text is text: shown escaped, never turned into elements.
    assert!(
        !dom.contains("<b id=\"pwned"),
        "event text was inserted as HTML:\n{dom}"
    );
    assert!(
        dom.contains("&lt;b id=pwned&gt;x&lt;/b&gt;"),
        "the HTML-like schema name is not shown as text:\n{dom}"
    );
    assert!(
        dom.contains("&lt;b id=pwned3&gt;garbage&lt;/b&gt;"),
        "the newest error's raw event is not shown as text:\n{dom}"
    );

    // The operational panels: server-side history, followed files, latency and queues, the
    // decoded raw event of a recent error, one clock (UTC).
    let history_lines: u64 = status["history"]["lines"]
        .as_array()
        .expect("history.lines is an array")
        .iter()
        .map(|v| v.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        history_lines, lines,
        "the hour of history holds every delivered line"
    );
    assert_eq!(attribute_by_id(&dom, "chart", "data-seconds"), "3600");
    assert!(
        text_by_id(&dom, "chart-span").ends_with("UTC"),
        "{}",
        text_by_id(&dom, "chart-span")
    );
    let files = table_rows(&dom, "files", "path");
    let followed = files
        .get(&input.display().to_string())
        .unwrap_or_else(|| panic!("the input file is listed: {files:?}"));
    let size = fs::metadata(&input).expect("input metadata").len();
    assert_eq!(cell_integer(followed, "delivered", "input"), size);
    assert_eq!(cell_integer(followed, "read", "input"), size);
    assert!(
        text_by_id(&dom, "files-detail").starts_with("1 matched"),
        "{}",
        text_by_id(&dom, "files-detail")
    );
    assert_ne!(text_by_id(&dom, "latency-p50"), "–");
    assert_ne!(text_by_id(&dom, "latency-p99"), "–");
    let queues = table_rows(&dom, "queues", "queue");
    assert!(
        queues.contains_key("lines") && queues.contains_key("records"),
        "{queues:?}"
    );
    // A recent error whose raw event is a logged line is also shown percent-decoded (the
    // generated input has malformed capsules among its last lines).
    let decoded = status["recent_errors"]
        .as_array()
        .expect("recent_errors is an array")
        .iter()
        .find_map(|e| e["decoded_event"].as_str())
        .expect("a recent error with a decoded raw event");
    let escaped = decoded
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert!(
        dom.contains(&format!("class=\"decoded\">{escaped}<")),
        "the decoded raw event {decoded:?} is shown, as text:\n{dom}"
    );
    assert!(text_by_id(&dom, "connection").ends_with(" UTC"));
    assert!(
        dom.contains("id=\"warnings\"></ul>"),
        "no warning while files are read:\n{dom}"
    );

    let stopped = daemon.terminate(Duration::from_secs(30));
    assert!(
        stopped.status.success(),
        "daemon exit {}; log:\n{}",
        stopped.status,
        stopped.log
    );
}

/// An include pattern that matches no file: the daemon runs and waits (ready: files may come
/// later), and says so on the page, in /api/status and in `beacon_files_matched`, which the
/// `BeaconProcessorNoInputFiles` alert watches.
#[test]
fn a_glob_matching_nothing_is_a_warning_on_the_page() {
    if !browser_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = tmp.path().join("config.yaml");
    fs::write(
        &config,
        "input:\n  type: files\n  include: [\"nowhere/*.log\"]\n  rescan_interval_ms: 50\n  data_dir: data\noutput:\n  type: directory\n  path: out\n",
    )
    .expect("write config");
    let mut daemon = start_daemon(&config, tmp.path().join("daemon.log"));
    let url = status_page_url(&mut daemon);
    let server = authority(&url).to_string();
    let status = daemon.wait_for("the first scan", PATIENCE, POLL, || {
        let status = api_status(&server);
        status["files"]["matched"].is_number().then_some(status)
    });
    assert_eq!(status["files"]["matched"], 0, "{status}");
    assert!(
        status["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("match no file")),
        "{status}"
    );
    let metrics = http::get(&server, "/metrics").body;
    assert!(
        metrics.contains("beacon_files_matched{source=\"files\"} 0"),
        "{metrics}"
    );
    let profile = tmp.path().join("chromium-profile");
    fs::create_dir(&profile).expect("create chromium profile dir");
    let dom = dump_dom(&url, &profile);
    assert!(
        dom.contains("id=\"warnings\"><li>the include patterns match no file"),
        "DOM:\n{dom}"
    );
    assert_eq!(
        text_by_id(&dom, "files-empty"),
        "no file matches the include patterns"
    );
    assert!(daemon.terminate(Duration::from_secs(30)).status.success());
}

/// With Kafka input (librdkafka's mock cluster from `dev-kafka`: the browser tests need no
/// Java): the consumer lag summed per group and topic, on the page.
#[test]
fn kafka_lag_per_group_and_topic_on_the_page() {
    if !browser_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let address_file = tmp.path().join("brokers");
    let mut cluster = Daemon::spawn(
        binary().args([
            "dev-kafka",
            "--topic",
            "raw:2",
            "--topic",
            "quiet:1",
            "--address-file",
            address_file.to_str().expect("utf-8 temp path"),
        ]),
        tmp.path().join("dev-kafka.log"),
    );
    let brokers = cluster.wait_for("the mock cluster's address", PATIENCE, POLL, || {
        fs::read_to_string(&address_file)
            .ok()
            .map(|text| {
                text.trim()
                    .trim_start_matches("bootstrap.servers=")
                    .to_owned()
            })
            .filter(|text| !text.is_empty())
    });
    let lines: u64 = 500;
    let generated = binary()
        .args([
            "generate",
            "-n",
            &lines.to_string(),
            "--kafka",
            &brokers,
            "--topic",
            "raw",
        ])
        .args([
            "--schemas",
            common::legacy_schemas().to_str().expect("utf-8"),
        ])
        .output()
        .expect("generate runs");
    assert!(generated.status.success(), "{generated:?}");

    let out = tmp.path().join("out");
    let config = tmp.path().join("config.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: kafka\n  brokers: \"{brokers}\"\n  topics: [raw, quiet]\n  group_id: page-group\n  start_from: earliest\noutput:\n  type: directory\n  path: out\nschemas:\n  legacy_dirs: [\"{}\"]\n",
            common::legacy_schemas().display()
        ),
    )
    .expect("write config");
    let mut daemon = start_daemon(&config, tmp.path().join("daemon.log"));
    let url = status_page_url(&mut daemon);
    let server = authority(&url).to_string();
    wait_delivered(&mut daemon, &out, lines);
    // Every assigned partition is counted once librdkafka has fetched from it, even one that
    // never held a record (nothing to consume: lag 0): `quiet` gets none, and `generate`'s
    // sticky partitioner may leave one of `raw`'s empty too.
    daemon.wait_for("every partition with lag 0", PATIENCE, POLL, || {
        let status = api_status(&server);
        let totals = status["lag_totals"].as_array()?;
        let known = |topic: &str| {
            totals
                .iter()
                .find(|total| total["topic"] == topic)
                .map(|total| (total["partitions"].clone(), total["lag"].clone()))
        };
        let expected =
            |partitions: u64| Some((serde_json::json!(partitions), serde_json::json!(0)));
        (known("raw") == expected(2) && known("quiet") == expected(1)).then_some(())
    });
    let profile = tmp.path().join("chromium-profile");
    fs::create_dir(&profile).expect("create chromium profile dir");
    let dom = dump_dom(&url, &profile);
    let rows = table_rows(&dom, "lag-totals", "topic");
    let raw = rows
        .get("raw")
        .unwrap_or_else(|| panic!("no lag row for the raw topic: {rows:?}\n{dom}"));
    assert_eq!(
        raw.get("group").map(String::as_str),
        Some("page-group"),
        "{raw:?}"
    );
    assert_eq!(cell_integer(raw, "partitions", "raw"), 2, "{raw:?}");
    assert_eq!(cell_integer(raw, "lag", "raw"), 0);
    let quiet = rows
        .get("quiet")
        .unwrap_or_else(|| panic!("no lag row for the empty topic: {rows:?}\n{dom}"));
    assert_eq!(cell_integer(quiet, "partitions", "quiet"), 1, "{quiet:?}");
    assert_eq!(cell_integer(quiet, "lag", "quiet"), 0);
    assert!(daemon.terminate(Duration::from_secs(30)).status.success());
    cluster.terminate(Duration::from_secs(30));
}

/// The page as it is served, checked without a browser.
const STATUS_PAGE: &str = include_str!("../src/http/status_page.html");

#[test]
fn status_page_is_self_contained_and_inserts_text_only() {
    // No external resource: no absolute or protocol-relative URL in src/href/url()/@import.
    let external = Regex::new(
        r#"(?i)(\b(src|href|action)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?)\s*(https?:)?//"#,
    )
    .expect("valid regex");
    assert!(
        external.find(STATUS_PAGE).is_none(),
        "external resource: {:?}",
        external.find(STATUS_PAGE).map(|m| m.as_str())
    );
    assert!(!STATUS_PAGE.contains("<link"), "no linked style sheets");
    let script_src = Regex::new(r"(?i)<script\b[^>]*\bsrc=").expect("valid regex");
    assert!(!script_src.is_match(STATUS_PAGE), "inline scripts only");
    // The only request the page makes is to its own status endpoint.
    let fetches: Vec<&str> = Regex::new(r#"fetch\(\s*"([^"]*)""#)
        .expect("valid regex")
        .captures_iter(STATUS_PAGE)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    assert_eq!(fetches, ["/api/status"]);
    assert!(!STATUS_PAGE.contains("XMLHttpRequest"));
    assert!(!STATUS_PAGE.contains("WebSocket"));
    // Untrusted text only through textContent.
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ] {
        assert!(!STATUS_PAGE.contains(sink), "the page uses {sink}");
    }
    assert!(STATUS_PAGE.contains("textContent"));
    // The hooks that tests and scrapers rely on.
    for id in [
        "total-lines",
        "total-valid",
        "total-invalid",
        "error-rate",
        "uptime",
        "schemas",
        "reasons",
    ] {
        assert!(
            STATUS_PAGE.contains(&format!("id=\"{id}\"")),
            "no element id={id:?}"
        );
    }
    for hook in [
        "\"data-schema\"",
        "\"data-reason\"",
        "\"valid\"",
        "\"invalid\"",
        "\"count\"",
        "data-field",
    ] {
        assert!(STATUS_PAGE.contains(hook), "no {hook} in the page");
    }
    // Refreshed every 2 s.
    assert!(STATUS_PAGE.contains("REFRESH_MS = 2000"));
}

/// The DOM helpers, on a serialisation shaped like chromium's.
#[test]
fn dom_helpers_read_ids_tables_and_escapes() {
    let dom = r#"<html><body><div class="value" id="total-lines">3002</div>
<span id="error-rate" class="value bad" data-value="0.05">5.00 %</span>
<table id="schemas"><thead><tr><th>schema</th></tr></thead><tbody>
<tr data-schema="Echo" class="hot"><td class="name">Echo</td><td class="num" data-field="valid">12</td><td class="num" data-field="invalid">3</td></tr>
<tr data-schema="&lt;b&gt;x&amp;y"><td class="name">&lt;b&gt;x&amp;y</td><td data-field="valid">0</td><td data-field="invalid">1</td></tr>
</tbody></table>
<table id="reasons"><tbody><tr data-reason="parse"><td data-field="count">4</td></tr></tbody></table>
</body></html>"#;
    assert_eq!(integer_by_id(dom, "total-lines"), 3002);
    assert_eq!(attribute_by_id(dom, "error-rate", "data-value"), "0.05");
    assert_eq!(text_by_id(dom, "error-rate"), "5.00 %");
    let schemas = dom_schemas(dom);
    assert_eq!(
        schemas.get("Echo"),
        Some(&SchemaCounts {
            valid: 12,
            invalid: 3
        })
    );
    assert_eq!(
        schemas.get("<b>x&y"),
        Some(&SchemaCounts {
            valid: 0,
            invalid: 1
        })
    );
    assert_eq!(schemas.len(), 2);
    assert_eq!(dom_reasons(dom), BTreeMap::from([("parse".to_string(), 4)]));
    assert_eq!(dechunk("4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n"), "abcdefg");
    assert_eq!(authority("http://127.0.0.1:9102/"), "127.0.0.1:9102");
    assert_eq!(
        strip_ansi("\u{1b}[32m INFO\u{1b}[0m status page at http://127.0.0.1:1/"),
        " INFO status page at http://127.0.0.1:1/"
    );
}

#[test]
fn status_page_in_chromium_shows_the_http_intake_answers() {
    if !browser_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = tmp.path().join("intake.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: http\n  listen: 127.0.0.1:0\noutput:\n  type: directory\n  path: \"{out}\"\n{schemas}",
            out = tmp.path().join("out").display(),
            schemas = common::repo_schemas_yaml(),
        ),
    )
    .expect("write the config");
    let mut daemon = start_daemon(&config, tmp.path().join("daemon.log"));
    let url = status_page_url(&mut daemon);
    let pattern = Regex::new(r"HTTP intake listening \(POST /v1/events\) address=([0-9.:]+)")
        .expect("valid regex");
    let intake = daemon.wait_for_log("the intake's address", PATIENCE, POLL, |log| {
        Some(
            pattern
                .captures(&strip_ansi(log))?
                .get(1)?
                .as_str()
                .to_string(),
        )
    });
    let valid = r#"{"$schema": "/test/event/1.0.0", "meta": {"stream": "test.event"}}"#;
    let json = [("Content-Type", "application/json")];
    for _ in 0..3 {
        let answer = http::request(&intake, "POST", "/v1/events", &json, valid.as_bytes());
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    let answer = http::request(&intake, "POST", "/v1/events", &json, b"[]");
    assert_eq!(answer.status, 400);
    let status = api_status(authority(&url));
    assert_eq!(status["http"]["answers"]["201"], 3, "{status}");
    assert_eq!(status["http"]["answers"]["400"], 1, "{status}");

    let dom = dump_dom(&url, &tmp.path().join("profile"));
    let rows = table_rows(&dom, "http-answers", "status");
    assert_eq!(cell_integer(&rows["201"], "requests", "201"), 3, "{rows:?}");
    assert_eq!(cell_integer(&rows["400"], "requests", "400"), 1, "{rows:?}");
    assert!(
        text_by_id(&dom, "http-detail").contains("in flight 0"),
        "{dom}"
    );
    daemon.terminate(Duration::from_secs(30)).assert_success();
}
