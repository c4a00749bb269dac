//! Helpers shared by the integration tests (each test file has `mod common;`): the binary and
//! the repository's configuration files, generated input, appending to watched files, polling
//! with a deadline, one line through an in-process processor, a `run` daemon ([`daemon`]), a
//! plain HTTP client ([`http`]) and Apache Kafka ([`kafka`]).

// Each test binary compiles its own copy of this module and uses only some of the helpers.
#![allow(dead_code)]

pub mod daemon;
pub mod http;
pub mod kafka;

use std::fs::OpenOptions;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use beacon_processor::clock::Clock;
use beacon_processor::processor::Processor;
use beacon_processor::record::Outcome;
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_beacon-processor");

/// A command for the binary under test, with nothing set yet.
pub fn binary() -> Command {
    Command::new(BIN)
}

/// The repository root (where `config/` is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's legacy (EventLogging) schema directory, `config/schemas`.
pub fn legacy_schemas() -> PathBuf {
    repo().join("config/schemas")
}

/// The repository's Event Platform schema repository, `config/event-schemas`.
pub fn event_schemas() -> PathBuf {
    repo().join("config/event-schemas")
}

/// The repository's stream configuration, `config/stream-config.yaml`.
pub fn stream_config() -> PathBuf {
    repo().join("config/stream-config.yaml")
}

/// The `schemas:` and `streams:` sections of a configuration that uses all three of the
/// repository's schema sources ([`legacy_schemas`], [`event_schemas`], [`stream_config`]),
/// ending with a newline.
pub fn repo_schemas_yaml() -> String {
    format!(
        r#"schemas:
  legacy_dirs: ["{legacy}"]
  event_repositories: ["{event}"]
streams:
  config: "{streams}"
"#,
        legacy = legacy_schemas().display(),
        event = event_schemas().display(),
        streams = stream_config().display(),
    )
}

/// Runs `cmd` to its end and returns its output; panics with the command, its exit status,
/// standard output and standard error if it cannot start or does not succeed.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the binary starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes `lines` generated input lines (seed `seed`) to `path`: runs `generate -n LINES
/// --seed SEED -o PATH` followed by `extra` arguments with `command` (the binary from
/// [`binary`], or a test's own variant of it), from the repository root. Panics if it fails.
#[track_caller]
pub fn generate(mut command: Command, lines: u64, seed: u64, path: &Path, extra: &[&str]) {
    run_ok(
        command
            .current_dir(repo())
            .args([
                "generate",
                "-n",
                &lines.to_string(),
                "--seed",
                &seed.to_string(),
                "-o",
                path.to_str().expect("utf-8 temp path"),
            ])
            .args(extra),
    );
}

/// Appends `text` to the file at `path`, creating it if needed.
pub fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// One valid `Generic` input line per number of `range`, each ending in a newline: the number
/// is both the line's `seqId` and its event's `articleId`.
pub fn numbered_lines(range: Range<u64>) -> String {
    range
        .map(|seq| format!("?%7B%22event%22%3A%7B%22articleId%22%3A{seq}%7D%2C%22revision%22%3A13%2C%22schema%22%3A%22Generic%22%2C%22wiki%22%3A%22testwiki%22%7D;\tcp1.example\t{seq}\t2020-01-01T00:00:00\t192.0.2.1\t\"curl/7.64.0\"\n"))
        .collect()
}

/// Appends the [`numbered_lines`] of `range` to `path`, creating the file if needed.
pub fn append_numbered(path: &Path, range: Range<u64>) {
    append(path, &numbered_lines(range));
}

/// Calls `probe` every `interval` until `done` accepts what it returned or `timeout` has
/// passed, and returns the last result either way (the caller asserts on it).
pub fn poll<T>(
    timeout: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let value = probe();
        if done(&value) || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(interval);
    }
}

/// Calls `done` every `interval` until it returns true; panics with "timed out waiting for
/// `what`" if that has not happened within `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, interval: Duration, done: impl FnMut() -> bool) {
    let finished = poll(timeout, interval, done, |finished| *finished);
    assert!(finished, "timed out waiting for {what}");
}

/// Processes one input line with a worker of `processor`, at the given time (microseconds
/// since the Unix epoch); returns the outcome, the topic and the output event.
pub fn process_line(
    processor: &Processor,
    line: &str,
    unix_micros: i64,
) -> (Outcome, String, Value) {
    let mut worker = processor.worker();
    let record = worker.process_line(line.as_bytes(), None, Clock { unix_micros });
    let value: Value = serde_json::from_slice(&record.payload).expect("payload is JSON");
    (record.outcome, record.topic, value)
}
