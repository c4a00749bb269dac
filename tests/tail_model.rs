//! Model-based property test of the file tailer (after Vector's file-watcher experiments).
//!
//! Random sequences of actions run against a real temporary directory and the tailer, driven
//! through its library API (`Tailer::poll_once`), with the test acting as the sink: it records
//! every line it receives and acknowledges batches in order (some of them, or all). A model of the
//! files tracks what was written where. The checks:
//!
//! - every line received was written, and no line is received twice within one run;
//! - a line received again in a later run was not covered by a checkpoint written after it was
//!   acknowledged (duplicates only come from lines not yet durably acknowledged);
//! - at the end, every written line has been received, except lines that were destroyed (plain
//!   truncation, deletion of a file the tailer never had open) before any read could see them.
//!   Without plain truncation and deletion that exception is empty: exactly the written lines.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use beacon_processor::ack::BatchAck;
use beacon_processor::source::tail::{ReadFrom, TailSettings, Tailer};
use beacon_processor::source::{DeliveryTracker, LineBatch, SourceContext, SourceSettings};
use crossbeam_channel::{unbounded, Receiver};
use proptest::prelude::*;

/// Files the actions write to: `f0.log` and `f1.log`.
const FILES: u8 = 2;

#[derive(Debug, Clone)]
enum Action {
    /// Append `count` whole lines to `f{file}.log` (creating it).
    Write { file: u8, count: u8, pad: u8 },
    /// `mv f.log f.log.N` (the next write creates a new `f.log`).
    RotateCreate { file: u8 },
    /// `cp f.log f.log.N && truncate f.log` (logrotate's copytruncate).
    RotateCopyTruncate { file: u8 },
    /// `truncate -s 0 f.log`.
    Truncate { file: u8 },
    /// `rm f.log`.
    Delete { file: u8 },
    /// `rm` the oldest rotated file.
    DeleteOldestRotated,
    /// Poll until nothing new is read, then acknowledge this share (percent) of the batches
    /// received and not yet acknowledged, oldest first.
    Read { deliver_percent: u8 },
    /// Write a checkpoint now.
    Checkpoint,
    /// Stop and start again: gracefully (acknowledge everything, final checkpoint) or by crashing
    /// (nothing more acknowledged, no final checkpoint).
    Restart { graceful: bool },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => (0..FILES, 1u8..6, 0u8..24).prop_map(|(file, count, pad)| Action::Write { file, count, pad }),
        2 => (0..FILES).prop_map(|file| Action::RotateCreate { file }),
        2 => (0..FILES).prop_map(|file| Action::RotateCopyTruncate { file }),
        1 => (0..FILES).prop_map(|file| Action::Truncate { file }),
        1 => (0..FILES).prop_map(|file| Action::Delete { file }),
        1 => Just(Action::DeleteOldestRotated),
        6 => prop_oneof![Just(0u8), Just(50), Just(100), Just(100)]
            .prop_map(|deliver_percent| Action::Read { deliver_percent }),
        2 => Just(Action::Checkpoint),
        2 => any::<bool>().prop_map(|graceful| Action::Restart { graceful }),
    ]
}

/// One file on disk as the model sees it: the lines it holds.
#[derive(Debug, Clone, Default)]
struct ModelFile {
    lines: Vec<u64>,
    /// The current run's tailer has had it open (a read happened while it existed).
    held: bool,
}

/// The system under test plus its sink.
struct Run {
    tailer: Tailer,
    ctx: SourceContext,
    batches: Receiver<LineBatch>,
    unacked: VecDeque<(BatchAck, Vec<u64>)>,
}

impl Run {
    fn start(settings: &TailSettings) -> Run {
        let (sender, batches) = unbounded();
        let ctx = SourceContext::new(
            "files",
            SourceSettings {
                batch_lines: 3,
                batch_bytes: 1 << 20,
                max_line_bytes: 1024,
            },
            Arc::new(DeliveryTracker::default()),
            sender,
            Arc::new(AtomicBool::new(false)),
        );
        let tailer = Tailer::open(settings.clone(), None).expect("tailer opens");
        Run {
            tailer,
            ctx,
            batches,
            unacked: VecDeque::new(),
        }
    }
}

struct Harness {
    dir: PathBuf,
    settings: TailSettings,
    run: Option<Run>,
    files: BTreeMap<String, ModelFile>,
    next_line: u64,
    next_rotation: u64,
    written: HashSet<u64>,
    /// Lines destroyed before any read could see them: allowed to be missing at the end.
    may_be_lost: HashSet<u64>,
    read_ever: HashSet<u64>,
    read_this_run: HashSet<u64>,
    acked_this_run: HashSet<u64>,
    /// Acknowledged lines covered by a written checkpoint.
    durable: HashSet<u64>,
    /// Lines of files deleted while the tailer had them open: read at the next read, unless the
    /// run stops first (the open file is gone with the process).
    deleted_while_open: Vec<u64>,
    duplicates: u64,
}

fn line_text(id: u64, pad: u8) -> String {
    // Unique first bytes (longer than the 16-byte fingerprint) so contents never collide.
    format!("L{id:010}-{}", "x".repeat(usize::from(pad) + 6))
}

fn parse_id(line: &[u8]) -> u64 {
    let text = std::str::from_utf8(line).expect("utf-8 line");
    text.get(1..11)
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {text:?}"))
}

impl Harness {
    fn new(dir: &Path) -> Harness {
        let logs = dir.join("logs");
        fs::create_dir_all(&logs).unwrap();
        let base = logs.display().to_string();
        let mut settings = TailSettings::new(
            vec![format!("{base}/*.log"), format!("{base}/*.log.*")],
            dir.join("data"),
        );
        settings.poll_interval = Duration::ZERO;
        settings.rescan_interval = Duration::ZERO;
        settings.read_from = ReadFrom::Beginning;
        settings.fingerprint_bytes = 16;
        settings.read_budget_bytes = 100;
        settings.rotate_wait = Duration::ZERO;
        settings.checkpoint_interval = Duration::from_secs(3600);
        settings.checkpoint_retention = Duration::from_secs(3600);
        settings.notify = false;
        let run = Some(Run::start(&settings));
        Harness {
            dir: logs,
            settings,
            run,
            files: BTreeMap::new(),
            next_line: 0,
            next_rotation: 0,
            written: HashSet::new(),
            may_be_lost: HashSet::new(),
            read_ever: HashSet::new(),
            read_this_run: HashSet::new(),
            acked_this_run: HashSet::new(),
            durable: HashSet::new(),
            deleted_while_open: Vec::new(),
            duplicates: 0,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn run(&mut self) -> &mut Run {
        self.run.as_mut().expect("a run is active")
    }

    /// Lines of `file` that no read has seen: lost if the file's content is destroyed now.
    fn destroy(&mut self, name: &str) {
        if let Some(file) = self.files.get(name) {
            for id in &file.lines {
                if !self.read_ever.contains(id) {
                    self.may_be_lost.insert(*id);
                }
            }
        }
    }

    fn apply(&mut self, action: &Action) -> Result<(), TestCaseError> {
        match *action {
            Action::Write { file, count, pad } => {
                let name = format!("f{file}.log");
                let mut out = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.path(&name))
                    .unwrap();
                let entry = self.files.entry(name).or_default();
                for _ in 0..count {
                    let id = self.next_line;
                    self.next_line += 1;
                    writeln!(out, "{}", line_text(id, pad)).unwrap();
                    entry.lines.push(id);
                    self.written.insert(id);
                }
            }
            Action::RotateCreate { file } => {
                let name = format!("f{file}.log");
                if let Some(model) = self.files.remove(&name) {
                    let rotated = format!("{name}.{}", self.next_rotation);
                    self.next_rotation += 1;
                    fs::rename(self.path(&name), self.path(&rotated)).unwrap();
                    self.files.insert(rotated, model);
                }
            }
            Action::RotateCopyTruncate { file } => {
                let name = format!("f{file}.log");
                if let Some(model) = self.files.get_mut(&name) {
                    let rotated = format!("{name}.{}", self.next_rotation);
                    self.next_rotation += 1;
                    let lines = std::mem::take(&mut model.lines);
                    fs::copy(self.path(&name), self.path(&rotated)).unwrap();
                    OpenOptions::new()
                        .write(true)
                        .truncate(true)
                        .open(self.path(&name))
                        .unwrap();
                    self.files.insert(rotated, ModelFile { lines, held: false });
                }
            }
            Action::Truncate { file } => {
                let name = format!("f{file}.log");
                if self.files.contains_key(&name) {
                    self.destroy(&name);
                    OpenOptions::new()
                        .write(true)
                        .truncate(true)
                        .open(self.path(&name))
                        .unwrap();
                    if let Some(model) = self.files.get_mut(&name) {
                        model.lines.clear();
                    }
                }
            }
            Action::Delete { file } => {
                let name = format!("f{file}.log");
                self.delete(&name);
            }
            Action::DeleteOldestRotated => {
                let oldest = self
                    .files
                    .keys()
                    .filter(|n| !n.ends_with(".log"))
                    .min_by_key(|n| n.rsplit('.').next().and_then(|s| s.parse::<u64>().ok()))
                    .cloned();
                if let Some(name) = oldest {
                    self.delete(&name);
                }
            }
            Action::Read { deliver_percent } => {
                self.read_until_quiet()?;
                let run = self.run();
                let count = run.unacked.len() * usize::from(deliver_percent) / 100;
                self.acknowledge(count);
            }
            Action::Checkpoint => {
                let run = self.run();
                run.tailer.write_checkpoint(&run.ctx, true).unwrap();
                let acked: Vec<u64> = self.acked_this_run.iter().copied().collect();
                self.durable.extend(acked);
            }
            Action::Restart { graceful } => {
                let run = self.run.take().expect("a run is active");
                if graceful {
                    self.run = Some(run);
                    self.collect()?;
                    let pending = self.run().unacked.len();
                    self.acknowledge(pending);
                    let run = self.run.take().expect("a run is active");
                    let all = run.tailer.finish(&run.ctx, Duration::ZERO).unwrap();
                    prop_assert!(all, "everything was acknowledged before finishing");
                    let acked: Vec<u64> = self.acked_this_run.iter().copied().collect();
                    self.durable.extend(acked);
                } else {
                    drop(run);
                }
                for file in self.files.values_mut() {
                    file.held = false;
                }
                for id in std::mem::take(&mut self.deleted_while_open) {
                    if !self.read_ever.contains(&id) {
                        self.may_be_lost.insert(id);
                    }
                }
                self.read_this_run.clear();
                self.acked_this_run.clear();
                self.run = Some(Run::start(&self.settings));
            }
        }
        Ok(())
    }

    fn delete(&mut self, name: &str) {
        let Some(model) = self.files.get(name) else {
            return;
        };
        // A file the tailer has open is still read to its end after it is deleted.
        if model.held {
            let lines = model.lines.clone();
            self.deleted_while_open.extend(lines);
        } else {
            self.destroy(name);
        }
        fs::remove_file(self.path(name)).unwrap();
        self.files.remove(name);
    }

    /// Takes the batches sent so far, checking every line.
    fn collect(&mut self) -> Result<(), TestCaseError> {
        let batches: Vec<LineBatch> = self.run().batches.try_iter().collect();
        for batch in batches {
            let ids: Vec<u64> = batch.lines().map(parse_id).collect();
            for &id in &ids {
                prop_assert!(self.written.contains(&id), "line {id} was never written");
                prop_assert!(
                    self.read_this_run.insert(id),
                    "line {id} read twice in one run"
                );
                if !self.read_ever.insert(id) {
                    prop_assert!(
                        !self.durable.contains(&id),
                        "line {id} read again although its delivery was checkpointed"
                    );
                    self.duplicates += 1;
                }
            }
            self.run().unacked.push_back((batch.into_ack(), ids));
        }
        Ok(())
    }

    fn read_until_quiet(&mut self) -> Result<(), TestCaseError> {
        for file in self.files.values_mut() {
            file.held = true;
        }
        for _ in 0..10_000 {
            let run = self.run();
            let report = run.tailer.poll_once(&run.ctx).unwrap();
            self.collect()?;
            if report.bytes == 0 {
                self.deleted_while_open.clear();
                return Ok(());
            }
        }
        Err(TestCaseError::fail("the tailer never went quiet"))
    }

    fn acknowledge(&mut self, count: usize) {
        for _ in 0..count {
            let Some((ack, ids)) = self.run().unacked.pop_front() else {
                break;
            };
            ack.acknowledge();
            self.acked_this_run.extend(ids);
        }
    }

    fn check_end(&mut self, destructive: bool) -> Result<(), TestCaseError> {
        self.read_until_quiet()?;
        let pending = self.run().unacked.len();
        self.acknowledge(pending);
        self.read_until_quiet()?;
        let mut missing: Vec<u64> = self
            .written
            .iter()
            .filter(|id| !self.read_ever.contains(id) && !self.may_be_lost.contains(id))
            .copied()
            .collect();
        missing.sort_unstable();
        prop_assert!(missing.is_empty(), "lines never read: {missing:?}");
        if !destructive {
            prop_assert!(self.may_be_lost.is_empty());
            prop_assert_eq!(&self.read_ever, &self.written);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn tailer_reads_every_line_once_per_run_and_repeats_only_undelivered_ones(
        actions in prop::collection::vec(action(), 1..40)
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut harness = Harness::new(tmp.path());
        for action in &actions {
            harness.apply(action)?;
        }
        let destructive = actions
            .iter()
            .any(|a| matches!(a, Action::Truncate { .. } | Action::Delete { .. } | Action::DeleteOldestRotated));
        harness.check_end(destructive)?;
    }

    #[test]
    fn without_truncation_deletion_or_restart_exactly_the_written_lines_are_read(
        actions in prop::collection::vec(action().prop_filter("no truncation, deletion or restart", |a| {
            !matches!(a, Action::Truncate { .. } | Action::Delete { .. } | Action::DeleteOldestRotated | Action::Restart { .. })
        }), 1..40)
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut harness = Harness::new(tmp.path());
        for action in &actions {
            harness.apply(action)?;
        }
        harness.check_end(false)?;
        prop_assert_eq!(harness.duplicates, 0);
    }
}
