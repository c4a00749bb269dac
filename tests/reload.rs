//! SIGHUP reloads the stream configuration and schemas of a running `run`: a good new
//! configuration takes effect, a broken one is rejected with a log line and the old one keeps
//! serving.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use beacon_processor::generate::encode_uri_component;

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn line(stream: &str, seq: u64) -> String {
    let event = json!({"$schema": "/test/event/1.0.0", "meta": {"stream": stream}, "test": format!("n{seq}")});
    format!(
        "?{};\tcp1.example\t{seq}\t2020-01-01T00:00:00\t192.0.2.1\t\"curl/8.0\"\n",
        encode_uri_component(&event.to_string())
    )
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn records(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_for(path: &Path, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = records(path);
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_applies_a_good_config_and_rejects_a_broken_one() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let streams = tmp.path().join("streams.yaml");
    fs::write(&streams, "test.event:\n  schema_title: test/event\n").unwrap();
    let config = tmp.path().join("config.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: files\n  include: [\"in/*.log\"]\n  poll_interval_ms: 20\n  rescan_interval_ms: 50\n  data_dir: data\noutput:\n  type: directory\n  path: out\nschemas:\n  event_repositories: [\"{}\"]\nstreams:\n  config: streams.yaml\npipeline:\n  workers: 1\n  batch_lines: 1\n",
            repo.join("config/event-schemas").display()
        ),
    )
    .unwrap();
    fs::create_dir(tmp.path().join("in")).unwrap();
    let input = tmp.path().join("in/a.log");
    let out = tmp.path().join("out");
    let errors = out.join("beacon-processor.error.validation.jsonl");
    let other = out.join("other.stream.jsonl");

    let child = Command::new(env!("CARGO_BIN_EXE_beacon-processor"))
        .args(["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);

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
    signal(&daemon.0, "HUP");
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
    signal(&daemon.0, "HUP");
    std::thread::sleep(Duration::from_millis(800));
    append(&input, &line("other.stream", 3));
    let found = wait_for(&other, 2);
    assert_eq!(
        found.len(),
        2,
        "the broken configuration replaced the good one"
    );
    assert_eq!(records(&errors).len(), 1);

    signal(&daemon.0, "TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    while daemon.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let child = std::mem::replace(&mut daemon.0, Command::new("true").spawn().unwrap());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
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
