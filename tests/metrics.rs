//! Operators' view end to end: after a known input, `/metrics`, `/api/status`, `/healthz` and
//! `/ready` agree with what the sink wrote (lines in = valid + invalid), and SIGTERM mid-run
//! loses nothing (the checkpoint covers exactly what was delivered).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

mod common;
use common::daemon::Daemon;
use common::http::{get, Response};
use common::{binary, wait_until};

/// How long a daemon may take to drain and stop after SIGTERM.
const STOP: Duration = Duration::from_secs(60);

/// Generated input with 10 % Event Platform events.
fn generate(lines: u64, seed: u64, path: &Path) {
    let schemas = common::legacy_schemas().display().to_string();
    common::generate(
        binary(),
        lines,
        seed,
        path,
        &["--event-platform-percent", "10", "--schemas", &schemas],
    );
}

fn config(dir: &Path, include: &Path, http: bool) -> PathBuf {
    let path = dir.join("config.yaml");
    let http = if http {
        "http:\n  listen: 127.0.0.1:0\n"
    } else {
        ""
    };
    fs::write(
        &path,
        format!(
            r#"input:
  type: files
  include: ["{include}"]
  data_dir: "{data}"
  checkpoint_interval_ms: 100
  poll_interval_ms: 50
output:
  type: directory
  path: "{out}"
{schemas}pipeline:
  batch_lines: 128
{http}"#,
            include = include.display(),
            data = dir.join("data").display(),
            out = dir.join("out").display(),
            schemas = common::repo_schemas_yaml(),
        ),
    )
    .unwrap();
    path
}

/// Samples of one metric family: labels text -> value.
fn samples(metrics: &str, name: &str) -> BTreeMap<String, f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, labels) = match series.find('{') {
                Some(at) => (&series[..at], &series[at..]),
                None => (series, ""),
            };
            (metric == name).then(|| (labels.to_owned(), value.parse().unwrap()))
        })
        .collect()
}

fn total(metrics: &str, name: &str) -> f64 {
    samples(metrics, name).values().sum()
}

/// Output records per topic file, and (schema, valid) / (schema, reason) counts.
fn outputs(dir: &Path) -> BTreeMap<String, u64> {
    let mut topics = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let topic = path.file_stem().unwrap().to_string_lossy().into_owned();
        topics.insert(
            topic,
            // Complete lines only: a record being written is not counted yet.
            fs::read(&path)
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64,
        );
    }
    topics
}

fn wait_for_lines(dir: &Path, expected: u64) {
    wait_until(
        &format!("the outputs to reach {expected} lines"),
        Duration::from_secs(60),
        Duration::from_millis(100),
        || dir.exists() && outputs(dir).values().sum::<u64>() >= expected,
    );
}

#[test]
fn metrics_and_status_add_up_to_the_processed_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.log");
    generate(4000, 21, &input);
    let config = config(dir.path(), &input, true);
    let mut daemon = Daemon::start(&config, dir.path().join("log"));
    let address = daemon.status_address();
    let out = dir.path().join("out");
    wait_for_lines(&out, 4000);
    // The counters are updated right after the sink's flush; give the last batch a moment.
    std::thread::sleep(Duration::from_millis(500));

    let Response {
        status: code, body, ..
    } = get(&address, "/healthz");
    assert_eq!((code, body.trim()), (200, "ok"));
    let Response { status: code, .. } = get(&address, "/ready");
    assert_eq!(code, 200);

    let Response {
        status: code,
        body: metrics,
        ..
    } = get(&address, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    let files = outputs(&out);
    assert_eq!(
        samples(&metrics, "beacon_lines_read_total"),
        BTreeMap::from([("{source=\"files\"}".to_owned(), 4000.0)])
    );
    let valid = total(&metrics, "beacon_events_valid_total");
    let invalid = total(&metrics, "beacon_events_invalid_total");
    assert_eq!(valid + invalid, 4000.0, "lines in = valid + invalid");
    assert_eq!(total(&metrics, "beacon_errors_total"), invalid);
    let errors_in_files = files.get("eventlogging_EventError").copied().unwrap_or(0)
        + files
            .get("beacon-processor.error.validation")
            .copied()
            .unwrap_or(0);
    assert_eq!(invalid, errors_in_files as f64);
    for (topic, count) in &files {
        let labels = format!("{{topic=\"{topic}\"}}");
        assert_eq!(
            samples(&metrics, "beacon_events_delivered_total").get(&labels),
            Some(&(*count as f64)),
            "{topic}"
        );
    }
    let echo_valid = samples(&metrics, "beacon_events_valid_total")["{schema=\"Echo\"}"];
    assert_eq!(echo_valid, files["eventlogging_Echo"] as f64);
    assert!(total(&metrics, "beacon_processing_latency_seconds_count") > 0.0);
    assert_eq!(samples(&metrics, "beacon_ready")[""], 1.0);
    assert!(samples(&metrics, "beacon_files_watched")[""] >= 1.0);
    let cache = samples(&metrics, "beacon_schema_cache_requests_total");
    let lookups = cache.values().sum::<f64>();
    assert!(lookups > 0.0 && lookups <= 4000.0, "{cache:?}");
    assert!(
        cache["{result=\"hit\"}"] > cache["{result=\"miss\"}"],
        "{cache:?}"
    );

    let Response {
        status: code,
        body: status,
        ..
    } = get(&address, "/api/status");
    assert_eq!(code, 200);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["totals"]["lines"], 4000);
    assert_eq!(status["totals"]["valid"].as_f64(), Some(valid));
    assert_eq!(status["totals"]["invalid"].as_f64(), Some(invalid));
    assert_eq!(status["source"], "files");
    assert_eq!(status["sink"], "directory");
    let reasons: f64 = status["error_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_f64().unwrap())
        .sum();
    assert_eq!(reasons, invalid);
    assert!(!status["recent_errors"].as_array().unwrap().is_empty());
    let Response {
        status: code,
        body: page,
        ..
    } = get(&address, "/");
    assert_eq!(code, 200);
    assert!(page.contains("<html"), "the status page is served");

    assert!(daemon.terminate(STOP).status.success());
}

#[test]
fn sigterm_mid_run_loses_nothing_and_the_checkpoint_matches_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.log");
    generate(60_000, 22, &input);
    let config = config(dir.path(), &input, false);
    let daemon = Daemon::start(&config, dir.path().join("log"));
    let out = dir.path().join("out");
    wait_for_lines(&out, 2000);
    let stopped = daemon.terminate(STOP);
    assert!(stopped.status.success(), "{}", stopped.log);
    let delivered: u64 = outputs(&out).values().sum();
    assert!(
        delivered < 60_000,
        "SIGTERM came after the end: test proves nothing"
    );

    // The checkpoint's offset is the end of exactly the delivered lines.
    let checkpoint: Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join("data/checkpoints.json")).unwrap(),
    )
    .unwrap();
    let offset = checkpoint["files"][0]["offset"].as_u64().unwrap() as usize;
    let text = fs::read_to_string(&input).unwrap();
    let covered = text[..offset].matches('\n').count() as u64;
    assert_eq!(
        covered, delivered,
        "checkpoint covers {covered} lines, {delivered} delivered"
    );

    // A restart continues from there: every line exactly once in the end.
    let daemon = Daemon::start(&config, dir.path().join("log2"));
    wait_for_lines(&out, 60_000);
    assert!(daemon.terminate(STOP).status.success());
    assert_eq!(outputs(&out).values().sum::<u64>(), 60_000);
}
