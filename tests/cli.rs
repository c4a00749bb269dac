//! The binary, end to end: `process`, `run` (follow, rotation, truncation, SIGTERM drain) and
//! `check-config`, on temporary directories. Every input line must come out as exactly one
//! output record.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::daemon::Daemon;
use common::{append_numbered, binary, generate, poll, repo, run_ok};

/// Every output record in a directory sink's files: (topic, event).
fn read_outputs(dir: &Path) -> Vec<(String, Value)> {
    let mut records = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return records;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let topic = path.file_stem().unwrap().to_string_lossy().into_owned();
        // A last line without its newline is still being written: not a record yet.
        let text = fs::read_to_string(&path).unwrap();
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let event: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{path:?}: {e}: {line}"));
            records.push((topic.clone(), event));
        }
    }
    records
}

fn summary_number(summary: &str, label: &str) -> u64 {
    summary
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in summary:\n{summary}"))
}

#[test]
fn process_counts_add_up_and_every_line_is_one_record() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.log");
    generate(binary(), 5_000, 11, &input, &[]);
    // Add lines that cannot parse at all, an empty line and invalid UTF-8.
    let mut f = OpenOptions::new().append(true).open(&input).unwrap();
    f.write_all(
        b"garbage\n\n?%7B%7D;\t\xff\xfe\t1\t2019-12-20T10:11:12\t-\t\"-\"\nno newline at the end",
    )
    .unwrap();
    drop(f);
    let out_dir = tmp.path().join("out");
    let out = run_ok(binary().current_dir(repo()).args([
        "process",
        "--out",
        out_dir.to_str().unwrap(),
        input.to_str().unwrap(),
    ]));
    let summary = String::from_utf8_lossy(&out.stderr);
    let lines = summary_number(&summary, "lines read");
    let valid = summary_number(&summary, "valid events");
    let errors = summary_number(&summary, "error events");
    assert_eq!(lines, 5_004);
    assert_eq!(valid + errors, lines);
    // Roughly the generator's 5 % of broken lines, and a few valid events per schema.
    assert!(errors > 100 && errors < 500, "{summary}");
    let records = read_outputs(&out_dir);
    assert_eq!(records.len() as u64, lines);
    let error_records = records
        .iter()
        .filter(|(t, _)| t == "eventlogging_EventError")
        .count();
    assert_eq!(error_records as u64, errors);
    // Valid uuids are unique; every record has one.
    let mut uuids: Vec<&str> = records
        .iter()
        .filter(|(t, _)| t != "eventlogging_EventError")
        .map(|(_, e)| e["uuid"].as_str().unwrap())
        .collect();
    let n = uuids.len();
    uuids.sort_unstable();
    uuids.dedup();
    assert_eq!(uuids.len(), n);
    for topic in [
        "eventlogging_Echo",
        "eventlogging_NavigationTiming",
        "eventlogging_SearchSatisfaction",
    ] {
        assert!(records.iter().any(|(t, _)| t == topic), "no {topic}");
    }
    // The last line, without a newline, is still a line; invalid UTF-8 became U+FFFD.
    assert!(records
        .iter()
        .any(|(_, e)| e["event"]["rawEvent"] == "no newline at the end"));
    assert!(records.iter().any(|(_, e)| e["event"]["rawEvent"]
        .as_str()
        .is_some_and(|r| r.contains('\u{FFFD}'))));
}

#[test]
fn process_refuses_a_used_output_directory_unless_appending() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.log");
    generate(binary(), 300, 5, &input, &[]);
    let out_dir = tmp.path().join("out");
    let process = |extra: &[&str]| {
        binary()
            .current_dir(repo())
            .args(["process", "--out", out_dir.to_str().unwrap()])
            .args(extra)
            .arg(&input)
            .output()
            .unwrap()
    };
    assert!(process(&[]).status.success());
    let again = process(&[]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("the directory is not empty"), "{stderr}");
    assert!(stderr.contains("--append"), "{stderr}");
    assert_eq!(
        read_outputs(&out_dir).len(),
        300,
        "the refused run wrote nothing"
    );
    assert!(process(&["--append"]).status.success());
    assert_eq!(read_outputs(&out_dir).len(), 600);
}

#[test]
fn closed_pipes_stop_cleanly_and_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.log");
    generate(binary(), 20_000, 6, &input, &[]);
    // Standard error closed: the run goes on and delivers everything.
    let out_dir = tmp.path().join("out");
    let mut child = binary()
        .current_dir(repo())
        .args(["process", "--out", out_dir.to_str().unwrap()])
        .arg(&input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(read_outputs(&out_dir).len(), 20_000);
    // Standard output (the sink) closed by its reader: a clean stop, said once.
    let mut child = binary()
        .current_dir(repo())
        .args(["process", "--stdout"])
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("standard output was closed by its reader"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn process_reads_stdin_and_writes_stdout() {
    let line = "?%7B%22event%22%3A%7B%22articleId%22%3A1%7D%2C%22revision%22%3A13%2C%22schema%22%3A%22Generic%22%2C%22wiki%22%3A%22testwiki%22%7D;\tcp1.example\t7\t2020-01-01T00:00:00\t192.0.2.1\t\"curl/7.64.0\"\n";
    let mut child = binary()
        .current_dir(repo())
        .args(["process", "--stdout", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.repeat(3).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["schema"], "Generic");
    assert_eq!(events[0]["userAgent"]["is_bot"], true);
    assert_eq!(events[0]["seqId"], 7);
}

/// Ctrl-C on `process`: what was read is delivered, the summary says the run was interrupted,
/// and the exit status is 130 (not 0, which would claim the input was all processed).
#[test]
fn process_interrupted_says_so_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.log");
    generate(binary(), 1_000, 9, &input, &[]);
    let out_dir = tmp.path().join("out");
    // Standard input stays open after the lines: the input has no end, only the interrupt.
    let mut child = binary()
        .current_dir(repo())
        .args([
            "process",
            "--quiet",
            "--out",
            out_dir.to_str().unwrap(),
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&fs::read(&input).unwrap()).unwrap();
    stdin.flush().unwrap();
    // Complete lines written so far (a record being written is not counted).
    let written = || -> usize {
        fs::read_dir(&out_dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| fs::read(e.path()).unwrap_or_default())
                    .map(|bytes| bytes.iter().filter(|&&b| b == b'\n').count())
                    .sum()
            })
            .unwrap_or(0)
    };
    common::wait_until(
        "the lines written so far to be delivered",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || written() == 1_000,
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // It stops with standard input still open: a read blocked on it does not hold it.
    let stopped = poll(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || child.try_wait().unwrap().is_some(),
        |stopped| *stopped,
    );
    if !stopped {
        let _ = child.kill();
        panic!("process did not stop within 20 s of the interrupt while its input stayed open");
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(
            "interrupted before the end of the input: 1000 lines read were all delivered"
        ),
        "{stderr}"
    );
    assert_eq!(read_outputs(&out_dir).len(), 1_000);
}

fn wait_for_records(dir: &Path, expected: usize) -> Vec<(String, Value)> {
    poll(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || read_outputs(dir),
        |records| records.len() >= expected,
    )
}

fn seq_ids(records: &[(String, Value)]) -> Vec<u64> {
    let mut ids: Vec<u64> = records
        .iter()
        .filter_map(|(_, e)| e["seqId"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn run_follows_growth_rotation_and_truncation_then_drains_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let out = tmp.path().join("out");
    let config = tmp.path().join("config.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: files\n  include: [\"logs/*.log\"]\n  poll_interval_ms: 20\n  rescan_interval_ms: 50\noutput:\n  type: directory\n  path: out\nschemas:\n  legacy_dirs: [\"{}\"]\npipeline:\n  workers: 2\n  batch_lines: 16\n",
            common::legacy_schemas().display()
        ),
    )
    .unwrap();
    let log = logs.join("beacon.log");
    append_numbered(&log, 0..100);
    let daemon = Daemon::start(&config, tmp.path().join("daemon.log"));
    assert_eq!(wait_for_records(&out, 100).len(), 100);

    // Growth.
    append_numbered(&log, 100..200);
    assert_eq!(wait_for_records(&out, 200).len(), 200);

    // Create-style rotation: rename, keep writing the old file briefly, then a new file.
    fs::rename(&log, logs.join("beacon.log.1")).unwrap();
    append_numbered(&logs.join("beacon.log.1"), 200..250);
    append_numbered(&log, 250..300);
    assert_eq!(wait_for_records(&out, 300).len(), 300);

    // Plain truncation: the file is emptied and rewritten.
    fs::write(&log, "").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    append_numbered(&log, 300..320);
    assert_eq!(wait_for_records(&out, 320).len(), 320);

    let output = daemon.terminate(Duration::from_secs(20));
    assert!(output.status.success(), "{}", output.log);
    let records = read_outputs(&out);
    // Rotated files stay matched by the glob only if named *.log; beacon.log.1 is not, but it was
    // followed by identity until its end.
    assert_eq!(seq_ids(&records), (0..320).collect::<Vec<u64>>());
    assert!(records.iter().all(|(t, _)| t == "eventlogging_Generic"));
    let stderr = &output.log;
    assert!(stderr.contains("stopped after draining"), "{stderr}");
}

#[test]
fn check_config_reports_every_problem_with_file_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("broken.yaml");
    fs::write(
        &config,
        "format: \"%q %{seqId}d %x\"\nrouting:\n  valid_topic: \"no placeholder\"\n  error_topic: \"bad topic!\"\nschemas:\n  legacy_dirs: [does-not-exist]\npipeline:\n  batch_lines: 0\n",
    )
    .unwrap();
    let out = binary()
        .args(["check-config", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = config.display().to_string();
    for (line, key) in [
        (1, "format"),
        (3, "routing.valid_topic"),
        (4, "routing.error_topic"),
        (6, "schemas.legacy_dirs[0]"),
        (8, "pipeline.batch_lines"),
    ] {
        assert!(
            stderr.contains(&format!("{name}:{line}: key `{key}`")),
            "missing {key} at line {line}:\n{stderr}"
        );
    }
    assert!(stderr.contains("5 configuration problems"), "{stderr}");

    fs::write(&config, "inptu:\n  type: stdin\n").unwrap();
    let out = binary()
        .args(["check-config", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&name) && stderr.contains("inptu"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `input`?"), "{stderr}");

    // The file as an argument (like `promtool check`), and a summary of what was loaded.
    fs::write(
        &config,
        "input:\n  type: stdin\noutput:\n  type: directory\n  path: out\n",
    )
    .unwrap();
    let out = run_ok(binary().args(["check-config", config.to_str().unwrap()]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    assert!(stdout.contains("input:   standard input"), "{stdout}");
    assert!(stdout.contains("output:  directory"), "{stdout}");
    assert!(stdout.contains("schemas: none"), "{stdout}");

    // An empty file is refused; --schemas problems name the flag.
    fs::write(&config, "\n# nothing yet\n").unwrap();
    let out = binary()
        .args(["check-config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the configuration file is empty"));
    let out = binary()
        .current_dir(tmp.path())
        .args(["process", "--stdout", "--schemas", "/nope"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--schemas /nope:"), "{stderr}");
    assert!(!stderr.contains("legacy_dirs"), "{stderr}");

    let good = repo().join("config/beacon-processor.yaml");
    let out = run_ok(binary().args(["check-config", "--config", good.to_str().unwrap()]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration is valid"));
}

#[test]
fn silent_mistakes_are_said() {
    let tmp = tempfile::tempdir().unwrap();
    // A followed glob that matches nothing: valid, with a warning.
    let config = tmp.path().join("nomatch.yaml");
    fs::write(
        &config,
        "input:\n  type: files\n  include: [\"nothing-here/*.log\"]\noutput:\n  type: directory\n  path: out\n",
    )
    .unwrap();
    let out = run_ok(binary().args(["check-config", "--config", config.to_str().unwrap()]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("warning: input.include matches no file now"),
        "{stdout}"
    );
    // `process` away from the repository, without configuration or schemas.
    let mut child = binary()
        .current_dir(tmp.path())
        .args(["process", "--stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no schema is loaded"), "{stderr}");
    // `generate` away from the repository says where it looked.
    let out = binary()
        .current_dir(tmp.path())
        .args(["generate", "-n", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("run from the repository root or pass --schemas"),
        "{stderr}"
    );
}

/// `process`'s progress line in a terminal (a pseudo-terminal from util-linux `script`): the
/// share of the input read, the time left and whole-number rates, and no per-reason warning in
/// between; without a terminal the warnings are logged as before; `--quiet` prints nothing but
/// problems.
#[test]
fn process_shows_progress_in_a_terminal_and_is_quiet_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    generate(binary(), 60_000, 3, &input, &[]);
    let schemas = common::legacy_schemas();
    let schemas = schemas.to_str().unwrap();

    // In a terminal.
    let script = Path::new("/usr/bin/script");
    assert!(
        script.exists(),
        "util-linux `script` (a pseudo-terminal for this test) is missing"
    );
    let command = format!(
        "{} process --schemas {schemas} --out {} {}",
        common::BIN,
        dir.path().join("tty-out").display(),
        input.display()
    );
    let out = std::process::Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let screen = String::from_utf8_lossy(&out.stdout);
    let progress = regex::Regex::new(
        r"\[[=> ]+\] +[0-9]{1,3}% [0-9,]+ lines delivered, [0-9,]+/s, [0-9]+[smh] left",
    )
    .unwrap();
    assert!(
        progress.is_match(&screen),
        "no progress line with a percentage, whole-number rates and the time left:\n{screen}"
    );
    let decimals = regex::Regex::new(r"[0-9]\.[0-9]+/s").unwrap();
    assert!(
        !decimals.is_match(&screen),
        "rates with decimals:\n{screen}"
    );
    assert!(
        !screen.contains("event delivered as an error event"),
        "per-reason warnings break the progress line:\n{screen}"
    );
    assert!(
        screen.contains("valid events"),
        "the summary follows:\n{screen}"
    );

    // Not a terminal: no progress line, the warnings as before.
    let out = binary()
        .args(["process", "--schemas", schemas, "--out"])
        .arg(dir.path().join("plain-out"))
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("event delivered as an error event"),
        "{stderr}"
    );
    assert!(!stderr.contains(" left"), "{stderr}");

    // --quiet: nothing on stderr but problems, every record written.
    let quiet_out = dir.path().join("quiet-out");
    let out = binary()
        .args(["process", "--quiet", "--schemas", schemas, "--out"])
        .arg(&quiet_out)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("valid events"), "no summary: {stderr}");
    assert!(
        !stderr.contains("event delivered as an error event"),
        "{stderr}"
    );
    assert_eq!(read_outputs(&quiet_out).len(), 60_000);
}

/// `top --once ADDR` shows a running instance's numbers (its `/api/status`), and says clearly
/// when nothing answers at the address.
#[test]
fn top_shows_a_running_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let out = tmp.path().join("out");
    let config = tmp.path().join("config.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: files\n  include: [\"logs/*.log\"]\n  poll_interval_ms: 20\n  rescan_interval_ms: 50\noutput:\n  type: directory\n  path: out\nschemas:\n  legacy_dirs: [\"{}\"]\nhttp:\n  listen: 127.0.0.1:0\n",
            common::legacy_schemas().display()
        ),
    )
    .unwrap();
    let log = logs.join("beacon.log");
    append_numbered(&log, 0..150);
    let mut daemon = Daemon::start(&config, tmp.path().join("daemon.log"));
    assert_eq!(wait_for_records(&out, 150).len(), 150);
    let address = daemon.status_address();
    let view = poll(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            let out = binary().args(["top", "--once", &address]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        },
        |view| view.contains("lines                      150"),
    );
    assert!(view.contains("lines                      150"), "{view}");
    assert!(view.contains(&format!("at {address}: ready")), "{view}");
    assert!(view.contains("\nGeneric "), "the schema's row: {view}");
    assert!(view.contains("files: 1 matched"), "{view}");
    assert!(daemon.terminate(Duration::from_secs(20)).status.success());

    let out = binary().args(["top", "--once", &address]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is beacon-processor running"),
        "{out:?}"
    );
}
