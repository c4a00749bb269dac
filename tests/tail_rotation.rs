//! The binary's file tailer end to end (`run` with `output: directory`): every rotation style,
//! truncation, deletion and re-creation, rotation while stopped, and `kill -9` followed by a
//! restart. Lines carry their number as `seqId`; the checks are that none is lost and that
//! duplicates only come from lines not yet acknowledged in a checkpoint.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::daemon::Daemon;
use common::{append_numbered, numbered_lines, poll, wait_until};

/// How long a daemon may take to drain and stop after SIGTERM.
const STOP: Duration = Duration::from_secs(30);

/// A temporary directory with `logs/`, `out/`, `data/` and a configuration tailing `patterns`.
struct Setup {
    tmp: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn new(patterns: &[&str], extra_input: &str) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("logs")).unwrap();
        let include: Vec<String> = patterns.iter().map(|p| format!("\"logs/{p}\"")).collect();
        let config = tmp.path().join("config.yaml");
        fs::write(
            &config,
            format!(
                "input:\n  type: files\n  include: [{}]\n  data_dir: data\n  poll_interval_ms: 20\n  rescan_interval_ms: 50\n  rotate_wait_ms: 300\n  checkpoint_interval_ms: 100\n{extra_input}output:\n  type: directory\n  path: out\nschemas:\n  legacy_dirs: [\"{}\"]\npipeline:\n  workers: 2\n  batch_lines: 16\n",
                include.join(", "),
                common::legacy_schemas().display()
            ),
        )
        .unwrap();
        Setup { tmp, config }
    }

    fn log(&self, name: &str) -> PathBuf {
        self.tmp.path().join("logs").join(name)
    }

    fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }

    /// The checkpoint a restart will use: `checkpoints.json`, or the temporary file of an
    /// interrupted write when it is complete and newer.
    fn checkpoint(&self) -> Value {
        let read = |name: &str| -> Option<Value> {
            let text = fs::read_to_string(self.tmp.path().join("data").join(name)).ok()?;
            serde_json::from_str(&text).ok()
        };
        let main = read("checkpoints.json").expect("a checkpoint file");
        match read("checkpoints.json.tmp") {
            Some(temp) if temp["sequence"].as_u64() > main["sequence"].as_u64() => temp,
            _ => main,
        }
    }

    /// Waits until the tailer has written its first checkpoint (after its first scan).
    fn wait_for_checkpoint(&self) {
        let path = self.tmp.path().join("data/checkpoints.json");
        wait_until(
            "a checkpoint to be written",
            Duration::from_secs(60),
            Duration::from_millis(10),
            || path.exists(),
        );
    }

    /// Starts the daemon, its log in `daemon.log` beside the configuration.
    fn start(&self) -> Daemon {
        Daemon::start(&self.config, self.tmp.path().join("daemon.log"))
    }

    fn seq_ids(&self) -> Vec<u64> {
        seq_ids(&self.out())
    }
}

/// Every record's `seqId` in the directory sink's files, sorted (duplicates kept). A record left
/// without its newline by a killed process is followed directly by the next one: parse the
/// lines as streams of JSON values.
fn seq_ids(dir: &Path) -> Vec<u64> {
    let mut ids = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return ids;
    };
    for entry in entries.flatten() {
        let text = fs::read_to_string(entry.path()).unwrap();
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        // The last line may be in the middle of being written: count it only if it is whole.
        let unfinished = lines.pop_if(|l| !l.ends_with('\n'));
        for line in lines {
            for value in serde_json::Deserializer::from_str(line).into_iter::<Value>() {
                let value = value.unwrap_or_else(|e| panic!("{:?}: {e}: {line}", entry.path()));
                ids.push(seq_id(&value));
            }
        }
        if let Some(line) = unfinished {
            let values: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(line)
                .into_iter()
                .collect();
            ids.extend(values.iter().flatten().map(seq_id));
        }
    }
    ids.sort_unstable();
    ids
}

fn seq_id(record: &Value) -> u64 {
    assert_eq!(record["schema"], "Generic", "{record}");
    record["seqId"].as_u64().unwrap()
}

/// Waits until the output holds at least `count` records, then a little longer (to catch late
/// duplicates). Returns the sorted seqIds.
fn wait_for(setup: &Setup, count: usize) -> Vec<u64> {
    let ids = poll(
        Duration::from_secs(60),
        Duration::from_millis(25),
        || setup.seq_ids(),
        |ids| ids.len() >= count,
    );
    assert!(
        ids.len() >= count,
        "only {} of {count} records arrived",
        ids.len()
    );
    std::thread::sleep(Duration::from_millis(300));
    setup.seq_ids()
}

fn all(range: std::ops::Range<u64>) -> Vec<u64> {
    range.collect()
}

/// Compares sorted ids with the expected ones, reporting missing and repeated ids compactly.
#[track_caller]
fn assert_ids(actual: &[u64], expected: &[u64]) {
    if actual == expected {
        return;
    }
    let (unique, duplicates) = distinct(actual);
    let repeated: Vec<u64> = actual
        .windows(2)
        .filter(|w| w.first() == w.get(1))
        .filter_map(|w| w.first().copied())
        .collect();
    let missing: Vec<u64> = expected
        .iter()
        .filter(|id| unique.binary_search(id).is_err())
        .copied()
        .collect();
    let unexpected: Vec<u64> = unique
        .iter()
        .filter(|id| expected.binary_search(id).is_err())
        .copied()
        .collect();
    panic!(
        "{} records for {} expected: missing {} {:?}, {duplicates} duplicates {:?}, unexpected {:?}",
        actual.len(),
        expected.len(),
        missing.len(),
        ranges(&missing),
        ranges(&repeated),
        ranges(&unexpected)
    );
}

/// `[3, 4, 5, 9]` as `["3..=5", "9..=9"]`.
fn ranges(ids: &[u64]) -> Vec<String> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == id || *end == id => *end = id,
            _ => out.push((id, id)),
        }
    }
    out.iter().map(|(a, b)| format!("{a}..={b}")).collect()
}

/// (distinct ids, duplicate count)
fn distinct(ids: &[u64]) -> (Vec<u64>, usize) {
    let mut unique = ids.to_vec();
    unique.dedup();
    let duplicates = ids.len() - unique.len();
    (unique, duplicates)
}

#[test]
fn create_rotation_reads_the_old_file_to_its_end_and_the_new_one_from_its_start() {
    let setup = Setup::new(&["*.log"], "");
    let log = setup.log("beacon.log");
    append_numbered(&log, 0..100);
    let daemon = setup.start();
    assert_ids(&wait_for(&setup, 100), &all(0..100));
    // logrotate `create`: rename, the writer keeps writing to the old file for a moment, then a
    // new file appears. The rotated name is not matched by the pattern.
    fs::rename(&log, setup.log("beacon.log.1")).unwrap();
    append_numbered(&setup.log("beacon.log.1"), 100..150);
    append_numbered(&log, 150..200);
    std::thread::sleep(Duration::from_millis(100));
    append_numbered(&setup.log("beacon.log.1"), 200..210);
    append_numbered(&log, 210..260);
    assert_ids(&wait_for(&setup, 260), &all(0..260));
    daemon.terminate(STOP).assert_success();
    assert_ids(&setup.seq_ids(), &all(0..260));
}

#[test]
fn copytruncate_rotation_continues_in_the_copy_without_loss_or_duplicates() {
    // The rotated copies are matched too, as copytruncate requires (otherwise lines written
    // between the last read and the truncation would be lost).
    let setup = Setup::new(&["*.log", "*.log.*"], "");
    let log = setup.log("beacon.log");
    append_numbered(&log, 0..100);
    let daemon = setup.start();
    assert_ids(&wait_for(&setup, 100), &all(0..100));
    for round in 0..3u64 {
        let base = 100 + round * 300;
        // Lines the tailer may or may not have read when the copy is taken.
        append_numbered(&log, base..base + 200);
        fs::copy(&log, setup.log(&format!("beacon.log.{round}"))).unwrap();
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&log)
            .unwrap();
        append_numbered(&log, base + 200..base + 300);
        let expected = usize::try_from(base + 300).unwrap();
        assert_ids(&wait_for(&setup, expected), &all(0..base + 300));
    }
    daemon.terminate(STOP).assert_success();
    assert_ids(&setup.seq_ids(), &all(0..1000));
}

#[test]
fn plain_truncation_restarts_at_the_beginning() {
    let setup = Setup::new(&["*.log"], "");
    let log = setup.log("beacon.log");
    append_numbered(&log, 0..100);
    let daemon = setup.start();
    assert_ids(&wait_for(&setup, 100), &all(0..100));
    // Emptied, then rewritten longer than before: both are noticed.
    fs::write(&log, "").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    append_numbered(&log, 100..150);
    assert_ids(&wait_for(&setup, 150), &all(0..150));
    fs::write(&log, numbered_lines(150..400)).unwrap();
    assert_ids(&wait_for(&setup, 400), &all(0..400));
    daemon.terminate(STOP).assert_success();
    assert_ids(&setup.seq_ids(), &all(0..400));
}

#[test]
fn deleted_and_recreated_files_are_new_files_even_on_a_reused_inode() {
    let setup = Setup::new(&["*.log"], "");
    let log = setup.log("beacon.log");
    let daemon = setup.start();
    let mut next = 0;
    for _ in 0..5 {
        append_numbered(&log, next..next + 60);
        next += 60;
        let expected = usize::try_from(next).unwrap();
        assert_ids(&wait_for(&setup, expected), &all(0..next));
        // Delete and immediately recreate: the filesystem often hands out the same inode.
        fs::remove_file(&log).unwrap();
        append_numbered(&log, next..next + 40);
        next += 40;
    }
    let expected = usize::try_from(next).unwrap();
    assert_ids(&wait_for(&setup, expected), &all(0..next));
    daemon.terminate(STOP).assert_success();
    assert_ids(&setup.seq_ids(), &all(0..next));
}

#[test]
fn files_rotated_while_stopped_are_resumed_from_the_checkpoint() {
    let setup = Setup::new(&["*.log", "*.log.*"], "");
    let log = setup.log("beacon.log");
    let other = setup.log("other.log");
    append_numbered(&log, 0..100);
    append_numbered(&other, 1000..1100);
    let daemon = setup.start();
    assert_eq!(wait_for(&setup, 200).len(), 200);
    daemon.terminate(STOP).assert_success();

    // While stopped: beacon.log grows and is rotated by rename (a new beacon.log appears);
    // other.log grows and is rotated by copytruncate.
    append_numbered(&log, 100..150);
    fs::rename(&log, setup.log("beacon.log.1")).unwrap();
    append_numbered(&log, 150..200);
    append_numbered(&other, 1100..1150);
    fs::copy(&other, setup.log("other.log.1")).unwrap();
    fs::write(&other, numbered_lines(1150..1160)).unwrap();

    let daemon = setup.start();
    let ids = wait_for(&setup, 360);
    let expected: Vec<u64> = (0..200).chain(1000..1160).collect();
    // Graceful stop and restart: no loss, no duplicate.
    assert_ids(&ids, &expected);
    daemon.terminate(STOP).assert_success();
}

#[test]
fn an_unterminated_last_line_waits_for_its_newline() {
    let setup = Setup::new(&["*.log"], "");
    let log = setup.log("beacon.log");
    append_numbered(&log, 0..10);
    let line = numbered_lines(10..11);
    let (first, rest) = line.split_at(40);
    OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(first.as_bytes())
        .unwrap();
    let daemon = setup.start();
    assert_ids(&wait_for(&setup, 10), &all(0..10));
    std::thread::sleep(Duration::from_millis(300));
    // Half a line is not a line.
    assert_ids(&setup.seq_ids(), &all(0..10));
    OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(rest.as_bytes())
        .unwrap();
    assert_ids(&wait_for(&setup, 11), &all(0..11));
    // Rotated away with an unterminated line: emitted once the rotate wait has passed.
    let tail = numbered_lines(11..12);
    OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(tail.trim_end().as_bytes())
        .unwrap();
    fs::rename(&log, setup.log("beacon.old")).unwrap();
    assert_ids(&wait_for(&setup, 12), &all(0..12));
    daemon.terminate(STOP).assert_success();
}

#[test]
fn read_from_end_skips_what_exists_at_the_first_start_only() {
    let setup = Setup::new(&["*.log"], "  read_from: end\n");
    let log = setup.log("beacon.log");
    append_numbered(&log, 0..50);
    let daemon = setup.start();
    // The first checkpoint is written after the first scan: from then on appends are read.
    setup.wait_for_checkpoint();
    append_numbered(&log, 50..80);
    assert_ids(&wait_for(&setup, 30), &all(50..80));
    daemon.terminate(STOP).assert_success();
    // A checkpoint now exists: what was appended while stopped, and new files, are read.
    append_numbered(&log, 80..90);
    append_numbered(&setup.log("new.log"), 90..95);
    let daemon = setup.start();
    assert_ids(&wait_for(&setup, 45), &all(50..95));
    daemon.terminate(STOP).assert_success();
}

#[test]
fn kill_9_then_restart_loses_nothing_and_repeats_only_unacknowledged_lines() {
    let setup = Setup::new(&["*.log"], "");
    let log = setup.log("beacon.log");
    let total = 40_000;
    append_numbered(&log, 0..total);
    let daemon = setup.start();
    // Kill it mid-stream, once a checkpoint covers part of the file.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let records = setup.seq_ids().len();
        let checkpointed = fs::metadata(setup.tmp.path().join("data/checkpoints.json")).is_ok();
        if checkpointed && records >= 5_000 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress before the kill");
        std::thread::sleep(Duration::from_millis(10));
    }
    daemon.kill_9();
    let before_kill = setup.seq_ids().len();
    let checkpoint = setup.checkpoint();
    let files = checkpoint["files"].as_array().unwrap();
    let entry = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("beacon.log"))
        .expect("a checkpoint entry for beacon.log");
    let offset = usize::try_from(entry["offset"].as_u64().unwrap()).unwrap();
    let content = fs::read(&log).unwrap();
    let checkpointed_lines = content
        .get(..offset)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    assert!(
        before_kill >= checkpointed_lines,
        "the checkpoint ({checkpointed_lines} lines) never runs ahead of delivery ({before_kill} records)"
    );

    let daemon = setup.start();
    let deadline = Instant::now() + Duration::from_secs(90);
    let ids = loop {
        let ids = setup.seq_ids();
        if distinct(&ids).0.len() >= total as usize {
            std::thread::sleep(Duration::from_millis(300));
            break setup.seq_ids();
        }
        assert!(Instant::now() < deadline, "restart did not catch up");
        std::thread::sleep(Duration::from_millis(50));
    };
    daemon.terminate(STOP).assert_success();
    let (unique, duplicates) = distinct(&ids);
    // No line lost.
    assert_ids(&unique, &all(0..total));
    let unacknowledged = before_kill - checkpointed_lines;
    println!(
        "kill -9: {before_kill} records delivered before the kill, checkpoint covered \
         {checkpointed_lines} lines, {duplicates} duplicates after the restart \
         (bound: {unacknowledged} delivered but not checkpointed)"
    );
    assert!(
        duplicates <= unacknowledged,
        "{duplicates} duplicates, but only {unacknowledged} lines were delivered without being checkpointed"
    );
}
