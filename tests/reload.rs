//! SIGHUP reloads the stream configuration and schemas of a running `run`: a good new
//! configuration takes effect, a broken one is rejected with a log line and the old one keeps
//! serving.

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use beacon_processor::generate::encode_uri_component;

mod common;
use common::daemon::Daemon;
use common::{append, poll};

fn line(stream: &str, seq: u64) -> String {
    let event = json!({"$schema": "/test/event/1.0.0", "meta": {"stream": stream}, "test": format!("n{seq}")});
    format!(
        "?{};\tcp1.example\t{seq}\t2020-01-01T00:00:00\t192.0.2.1\t\"curl/8.0\"\n",
        encode_uri_component(&event.to_string())
    )
}

fn records(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_for(path: &Path, count: usize) -> Vec<Value> {
    poll(
        Duration::from_secs(30),
        Duration::from_millis(50),
        || records(path),
        |found| found.len() >= count,
    )
}

#[test]
fn sighup_applies_a_good_config_and_rejects_a_broken_one() {
    let tmp = tempfile::tempdir().unwrap();
    let streams = tmp.path().join("streams.yaml");
    fs::write(&streams, "test.event:\n  schema_title: test/event\n").unwrap();
    let config = tmp.path().join("config.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: files\n  include: [\"in/*.log\"]\n  poll_interval_ms: 20\n  rescan_interval_ms: 50\n  data_dir: data\noutput:\n  type: directory\n  path: out\nschemas:\n  event_repositories: [\"{}\"]\nstreams:\n  config: streams.yaml\npipeline:\n  workers: 1\n  batch_lines: 1\n",
            common::event_schemas().display()
        ),
    )
    .unwrap();
    fs::create_dir(tmp.path().join("in")).unwrap();
    let input = tmp.path().join("in/a.log");
    let out = tmp.path().join("out");
    let errors = out.join("beacon-processor.error.validation.jsonl");
    let other = out.join("other.stream.jsonl");

    let daemon = Daemon::start(&config, tmp.path().join("daemon.log"));

    // other.stream is not configured yet.
    append(&input, &line("other.stream", 1));
    let found = wait_for(&errors, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["error_type"], "UnauthorizedSchemaForStreamError");

    // A good new stream configuration, applied on SIGHUP.
    fs::write(
        &streams,
        "test.event:\n  schema_title: test/event\nother.stream:\n  schema_title: test/event\n",
    )
    .unwrap();
    daemon.signal("HUP");
    std::thread::sleep(Duration::from_millis(800));
    append(&input, &line("other.stream", 2));
    let found = wait_for(&other, 1);
    assert_eq!(
        found.len(),
        1,
        "the reloaded stream configuration was not applied"
    );
    assert_eq!(found[0]["test"], "n2");

    // A broken one is rejected; the previous one keeps serving.
    fs::write(
        &streams,
        "other.stream:\n  schema_title: [not, a, string]\n",
    )
    .unwrap();
    daemon.signal("HUP");
    std::thread::sleep(Duration::from_millis(800));
    append(&input, &line("other.stream", 3));
    let found = wait_for(&other, 2);
    assert_eq!(
        found.len(),
        2,
        "the broken configuration replaced the good one"
    );
    assert_eq!(records(&errors).len(), 1);

    let output = daemon.terminate(Duration::from_secs(20));
    assert!(output.status.success());
    let stderr = output.log;
    assert!(
        stderr.contains("reloaded schemas and stream configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("reload rejected"), "{stderr}");
    assert!(
        stderr.contains("schema_title: expected a string"),
        "{stderr}"
    );
}
