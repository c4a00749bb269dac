//! Scenario tests of the tailer through its pass API: identity rules, checkpoints across restarts,
//! partial lines, expiry and fairness. (The model-based property test is `tests/tail_model.rs`;
//! the binary's behaviour is tested in `tests/tail_rotation.rs`.)

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver};

use super::checkpoint::{CheckpointEntry, CheckpointStore};
use super::{ReadFrom, TailSettings, Tailer};
use crate::source::{DeliveryTracker, LineBatch, SourceContext, SourceSettings};

struct Harness {
    _tmp: tempfile::TempDir,
    logs: PathBuf,
    settings: TailSettings,
    tailer: Option<Tailer>,
    ctx: SourceContext,
    batches: Receiver<LineBatch>,
}

fn context() -> (SourceContext, Receiver<LineBatch>) {
    let (sender, batches) = unbounded();
    let ctx = SourceContext::new(
        "files",
        SourceSettings {
            batch_lines: 4,
            batch_bytes: 1 << 20,
            max_line_bytes: 64,
        },
        Arc::new(DeliveryTracker::default()),
        sender,
        Arc::new(AtomicBool::new(false)),
    );
    (ctx, batches)
}

impl Harness {
    fn new(fingerprint_bytes: usize) -> Harness {
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("logs");
        fs::create_dir(&logs).unwrap();
        let mut settings = TailSettings::new(
            vec![format!("{}/*.log", logs.display())],
            tmp.path().join("data"),
        );
        settings.poll_interval = Duration::ZERO;
        settings.rescan_interval = Duration::ZERO;
        settings.rotate_wait = Duration::ZERO;
        settings.checkpoint_interval = Duration::from_secs(3600);
        settings.fingerprint_bytes = fingerprint_bytes;
        settings.notify = false;
        let (ctx, batches) = context();
        Harness {
            tailer: Some(Tailer::open(settings.clone(), None).unwrap()),
            _tmp: tmp,
            logs,
            settings,
            ctx,
            batches,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.logs.join(name)
    }

    fn tailer(&mut self) -> &mut Tailer {
        self.tailer.as_mut().unwrap()
    }

    /// One pass; returns the lines sent, acknowledging them when `ack`.
    fn pass(&mut self, ack: bool) -> Vec<String> {
        let ctx = self.ctx.clone();
        self.tailer().poll_once(&ctx).unwrap();
        let mut lines = Vec::new();
        for batch in self.batches.try_iter() {
            lines.extend(
                batch
                    .lines()
                    .map(|l| String::from_utf8_lossy(l).into_owned()),
            );
            if ack {
                batch.into_ack().acknowledge();
            }
        }
        lines
    }

    /// Passes until nothing new is read, acknowledging everything.
    fn read(&mut self) -> Vec<String> {
        let mut all = Vec::new();
        for _ in 0..100 {
            let lines = self.pass(true);
            if lines.is_empty() {
                break;
            }
            all.extend(lines);
        }
        all
    }

    /// Graceful restart: final checkpoint, then a new tailer on the same data directory.
    fn restart(&mut self) {
        let tailer = self.tailer.take().unwrap();
        tailer.finish(&self.ctx, Duration::ZERO).unwrap();
        let (ctx, batches) = context();
        self.ctx = ctx;
        self.batches = batches;
        self.tailer = Some(Tailer::open(self.settings.clone(), None).unwrap());
    }

    fn stop(&mut self) {
        let tailer = self.tailer.take().unwrap();
        tailer.finish(&self.ctx, Duration::ZERO).unwrap();
    }

    fn checkpoint_entries(&self) -> Vec<CheckpointEntry> {
        let loaded = CheckpointStore::open(&self.settings.data_dir).unwrap();
        loaded.entries
    }
}

fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn an_unterminated_line_waits_and_is_not_checkpointed() {
    let mut h = Harness::new(64);
    let log = h.path("a.log");
    append(&log, "one\ntw");
    assert_eq!(h.read(), strings(&["one"]));
    append(&log, "o\nthree");
    assert_eq!(h.read(), strings(&["two"]));
    h.stop();
    // Only complete lines are delivered: the checkpoint stops before "three".
    let entries = h.checkpoint_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries.first().map(|e| e.offset), Some(8));
}

#[test]
fn a_restart_resumes_at_the_delivered_offset_only() {
    let mut h = Harness::new(64);
    let log = h.path("a.log");
    append(&log, "l1\nl2\nl3\nl4\n");
    assert_eq!(h.pass(true).len(), 4);
    // Read, but not acknowledged.
    append(&log, "l5\nl6\n");
    assert_eq!(h.pass(false), strings(&["l5", "l6"]));
    h.restart();
    // The unacknowledged lines come again, and only they.
    assert_eq!(h.read(), strings(&["l5", "l6"]));
    h.restart();
    assert!(h.read().is_empty());
}

#[test]
fn a_short_file_keeps_its_identity_as_it_grows_and_when_renamed_while_stopped() {
    // The file stays shorter than the fingerprint for a while.
    let mut h = Harness::new(64);
    let log = h.path("a.log");
    append(&log, "x1\n");
    assert_eq!(h.read(), strings(&["x1"]));
    h.restart();
    append(&log, "x2\n");
    assert_eq!(h.read(), strings(&["x2"]));
    h.stop();
    // Rotated by rename while stopped (and grown past the fingerprint length), then a new file.
    append(&log, &"y".repeat(70));
    append(&log, "\n");
    fs::rename(&log, h.path("b.log")).unwrap();
    append(&log, "new\n");
    h.tailer = Some(Tailer::open(h.settings.clone(), None).unwrap());
    let mut lines = h.read();
    lines.sort();
    assert_eq!(lines, vec!["new".to_owned(), "y".repeat(64)]);
}

#[test]
fn a_reused_inode_with_other_content_is_read_from_the_start() {
    let mut h = Harness::new(8);
    let log = h.path("a.log");
    append(&log, "first-content-1\nfirst-content-2\n");
    assert_eq!(h.read().len(), 2);
    h.stop();
    // Deleted and recreated while stopped (often on the same inode), longer than before.
    fs::remove_file(&log).unwrap();
    append(&log, "other-content-1\nother-content-2\nother-content-3\n");
    h.tailer = Some(Tailer::open(h.settings.clone(), None).unwrap());
    assert_eq!(
        h.read(),
        strings(&["other-content-1", "other-content-2", "other-content-3"])
    );
}

#[test]
fn a_stored_offset_beyond_the_end_of_the_file_is_not_trusted() {
    let mut h = Harness::new(8);
    let log = h.path("a.log");
    append(&log, "same-head-1\nsame-head-2\nsame-head-3\n");
    assert_eq!(h.read().len(), 3);
    h.stop();
    // Rewritten while stopped with the same first bytes but shorter than the checkpoint offset.
    fs::write(&log, "same-head-9\n").unwrap();
    h.tailer = Some(Tailer::open(h.settings.clone(), None).unwrap());
    assert_eq!(h.read(), strings(&["same-head-9"]));
}

#[test]
fn a_copy_of_a_file_being_read_is_not_read() {
    let mut h = Harness::new(8);
    let log = h.path("a.log");
    append(&log, "original-1\noriginal-2\n");
    assert_eq!(h.read().len(), 2);
    fs::copy(&log, h.path("copy.log")).unwrap();
    append(&log, "original-3\n");
    assert_eq!(h.read(), strings(&["original-3"]));
    assert_eq!(h.tailer().counters().copies_skipped, 1);
}

/// A harness (16-byte fingerprints) that has read the three lines of `a.log`, and that path.
fn three_lines_read() -> (Harness, PathBuf) {
    let mut h = Harness::new(16);
    let log = h.path("a.log");
    append(&log, "original-1\noriginal-2\noriginal-3\n");
    assert_eq!(h.read().len(), 3);
    (h, log)
}

/// Truncates the file at `path` to zero bytes, as logrotate's copytruncate does.
fn truncate(path: &Path) {
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
}

/// copytruncate: the copy is created, filled, then the original is truncated. A scan that sees
/// the copy half written must not take it for a new file (that would read the whole copy again).
#[test]
fn a_copy_seen_half_written_is_not_read_again() {
    let (mut h, log) = three_lines_read();
    let copy = h.path("a.1.log");
    let content = fs::read(&log).unwrap();
    fs::write(&copy, &content[..5]).unwrap();
    assert!(h.read().is_empty());
    fs::write(&copy, &content).unwrap();
    truncate(&log);
    append(&log, "after-1\n");
    assert_eq!(h.read(), strings(&["after-1"]));
}

/// The same with the copy seen while still empty: it is followed, but identified again once it
/// has bytes, before any is read: first as a copy of the file being read, then (after the
/// truncation) as the continuation of the truncated content.
#[test]
fn a_copy_seen_empty_is_not_read_again() {
    let (mut h, log) = three_lines_read();
    let copy = h.path("a.1.log");
    fs::write(&copy, "").unwrap();
    assert!(h.read().is_empty());
    assert_eq!(h.tailer().open_files(), 2, "the empty copy is followed");
    let content = fs::read(&log).unwrap();
    fs::write(&copy, &content).unwrap();
    append(&log, "original-4\n");
    assert_eq!(h.read(), strings(&["original-4"]));
    assert_eq!(h.tailer().counters().copies_skipped, 1);
    // logrotate then truncates; the copy lacks original-4, which was read already.
    truncate(&log);
    append(&log, "after-1\n");
    assert_eq!(h.read(), strings(&["after-1"]));
}

/// A harness whose scan has found `a.log` empty.
fn an_empty_file_seen() -> (Harness, PathBuf) {
    let mut h = Harness::new(8);
    let log = h.path("a.log");
    fs::write(&log, "").unwrap();
    assert!(h.read().is_empty());
    (h, log)
}

/// A file found empty that gets lines and is deleted before the next scan is still read (it is
/// followed while empty, through its open descriptor).
#[test]
fn an_empty_file_written_then_deleted_is_read() {
    let (mut h, log) = an_empty_file_seen();
    append(&log, "only-1\nonly-2\n");
    fs::remove_file(&log).unwrap();
    assert_eq!(h.read(), strings(&["only-1", "only-2"]));
}

#[test]
fn entries_of_vanished_files_expire_even_across_restarts() {
    let mut h = Harness::new(8);
    append(&h.path("gone.log"), "gone-line\n");
    append(&h.path("kept.log"), "kept-line\n");
    assert_eq!(h.read().len(), 2);
    h.stop();
    assert_eq!(h.checkpoint_entries().len(), 2);
    // Deleted while stopped; the entry was last seen long ago (as if stopped for days).
    fs::remove_file(h.path("gone.log")).unwrap();
    let mut entries = h.checkpoint_entries();
    for entry in &mut entries {
        entry.last_seen = 1;
    }
    CheckpointStore::open(&h.settings.data_dir)
        .unwrap()
        .store
        .write(entries)
        .unwrap();
    h.tailer = Some(Tailer::open(h.settings.clone(), None).unwrap());
    // The file still present is matched (and refreshed) by the first scan, not expired.
    assert!(h.read().is_empty());
    assert_eq!(h.tailer().counters().entries_expired, 1);
    h.stop();
    let entries = h.checkpoint_entries();
    assert_eq!(entries.len(), 1);
    assert!(entries.iter().all(|e| e.path.ends_with("kept.log")));
}

#[test]
fn files_are_read_round_robin_within_the_budget() {
    let mut h = Harness::new(8);
    h.settings.read_budget_bytes = 16;
    h.restart();
    append(&h.path("a.log"), &"aaaaaaa\n".repeat(10));
    append(&h.path("b.log"), &"bbbbbbb\n".repeat(10));
    // One pass reads at most 16 bytes (two lines) of each file.
    let first = h.pass(true);
    assert_eq!(first.len(), 4, "{first:?}");
    assert_eq!(first.iter().filter(|l| l.starts_with('a')).count(), 2);
    assert_eq!(first.iter().filter(|l| l.starts_with('b')).count(), 2);
    assert_eq!(h.read().len(), 16);
}

#[test]
fn read_from_end_applies_to_the_first_start_only() {
    let mut h = Harness::new(8);
    h.settings.read_from = ReadFrom::End;
    // The first start (no checkpoint file yet) skips existing content.
    h.stop();
    fs::remove_dir_all(&h.settings.data_dir).unwrap();
    append(&h.path("a.log"), "old-1\nold-2\n");
    h.tailer = Some(Tailer::open(h.settings.clone(), None).unwrap());
    assert!(h.read().is_empty());
    append(&h.path("a.log"), "new-1\n");
    assert_eq!(h.read(), strings(&["new-1"]));
    h.stop();
    // Later starts read what was written while stopped, and new files from their beginning.
    append(&h.path("a.log"), "new-2\n");
    append(&h.path("b.log"), "b-1\n");
    h.tailer = Some(Tailer::open(h.settings.clone(), None).unwrap());
    let mut lines = h.read();
    lines.sort();
    assert_eq!(lines, strings(&["b-1", "new-2"]));
}

#[test]
fn an_overlong_line_is_cut_and_still_delivered_once() {
    let mut h = Harness::new(8);
    let long = "z".repeat(200);
    append(&h.path("a.log"), &format!("short\n{long}\nafter\n"));
    let lines = h.read();
    assert_eq!(
        lines,
        vec!["short".to_owned(), "z".repeat(64), "after".to_owned()]
    );
}

#[test]
fn an_empty_file_is_followed_until_it_has_lines() {
    let (mut h, log) = an_empty_file_seen();
    h.restart();
    append(&log, "finally\n");
    assert_eq!(h.read(), strings(&["finally"]));
}
