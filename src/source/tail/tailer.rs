//! The tailer: one pass at a time, it checks the open files for truncation, re-scans the glob
//! patterns when due, reads every followed file up to a byte budget (round robin), finishes
//! rotated files, folds acknowledgements into durable positions and writes checkpoints.
//!
//! [`Tailer::poll_once`] is the whole pass, without waiting; [`super::follow`] loops over it. Tests
//! drive it directly.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::source::{SourceContext, SourceError};

use super::checkpoint::{
    parse_checkpoints, unix_now, CheckpointEntry, CheckpointError, CheckpointStore,
    PendingCheckpoint,
};
use super::discovery::{Discovery, Found};
use super::fingerprint::Fingerprint;
use super::identify::{identify, Identified};
use super::identity::{FileId, FileProbe, Position};
use super::lineage::{Lineage, Phase};
use super::reader::{Reader, Stream};
use super::recent_bytes::RecentBytes;
use super::settings::{ReadFrom, TailSettings};
use super::wakeup::Wakeup;

/// Size of one read from a file.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Checkpoints are rewritten at least this often even when no position changed (to refresh the
/// last-seen times that expiry is based on).
const CHECKPOINT_REFRESH: Duration = Duration::from_secs(60);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Bytes read.
    pub bytes: u64,
    /// Lines sent.
    pub lines: u64,
    /// Whether some file still had unread bytes when its budget ran out.
    pub more_pending: bool,
}

/// Counters of notable events since the tailer started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailCounters {
    /// Files seen for the first time (no matching checkpoint or known content).
    pub files_added: u64,
    /// Files that continue a known content (checkpoint, rename, copy of a truncated file).
    pub files_resumed: u64,
    /// Files recognised as copies of a file being read, and not read.
    pub copies_skipped: u64,
    /// Truncations (or rewrites) detected.
    pub truncations: u64,
    /// Files finished after being rotated away or deleted.
    pub files_finished: u64,
    /// Checkpoint entries dropped after the retention time.
    pub entries_expired: u64,
    /// Checkpoint files written.
    pub checkpoints_written: u64,
}

/// The state of one known file content, for status and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailedFile {
    /// Path it was last seen at.
    pub path: PathBuf,
    /// `reading`, `detached`, `draining` or `dormant`.
    pub phase: &'static str,
    /// Bytes read so far (for files being read), else the delivered offset.
    pub read_offset: u64,
    /// Offset up to which every line is delivered.
    pub delivered_offset: u64,
}

/// Follows the files matching a set of glob patterns, with checkpoints.
#[derive(Debug)]
pub struct Tailer {
    settings: TailSettings,
    discovery: Discovery,
    wakeup: Wakeup,
    store: CheckpointStore,
    lineages: Vec<Lineage>,
    next_stream: u64,
    scanned_once: bool,
    /// Files the include patterns matched at the last successful scan.
    matched_files: usize,
    last_scan: Option<Instant>,
    rescan_requested: bool,
    last_checkpoint_at: Instant,
    last_checkpoint: Option<Vec<CheckpointEntry>>,
    last_written_at: Option<Instant>,
    round_robin: usize,
    chunk: Vec<u8>,
    lines_read: u64,
    counters: TailCounters,
    unreadable: HashSet<PathBuf>,
    skipped_copies: HashMap<FileId, u64>,
    /// Batches carry the checkpoint their delivery makes true (exactly-once file input).
    exactly_once: bool,
    /// The last scan failure, reported once until scanning works again.
    scan_error: Option<String>,
}

impl Tailer {
    /// Opens the data directory (creating it, locking it, loading its checkpoint) and prepares
    /// the notifications. Nothing is read until the first [`poll_once`](Self::poll_once).
    ///
    /// `committed`: exactly-once file input. The checkpoint committed in Kafka together with the
    /// records (`None` when nothing was committed yet, then the data directory's checkpoint is
    /// used); it takes the place of the data directory's, which lags behind it. Every batch
    /// then carries the checkpoint its delivery makes true ([`crate::ack::BatchAck::checkpoint`]).
    pub fn open(
        settings: TailSettings,
        committed: Option<Option<Vec<u8>>>,
    ) -> Result<Tailer, CheckpointError> {
        let mut loaded = CheckpointStore::open(&settings.data_dir)?;
        let exactly_once = committed.is_some();
        if let Some(Some(bytes)) = committed {
            let origin = "the checkpoint topic";
            match parse_checkpoints(std::path::Path::new(origin), &bytes)? {
                Ok((_, entries)) => {
                    tracing::info!(
                        entries = entries.len(),
                        "resuming from the checkpoint committed in Kafka with the records \
                         (exactly-once); the data directory's is not used"
                    );
                    loaded.entries = entries;
                }
                Err(problem) => {
                    return Err(CheckpointError::Committed {
                        origin: origin.to_owned(),
                        problem,
                    })
                }
            }
        }
        let discovery = Discovery::new(&settings.include, &settings.exclude);
        let wakeup = if settings.notify {
            Wakeup::start(discovery.watch_roots())
        } else {
            Wakeup::disabled()
        };
        tracing::info!(
            checkpoint = %loaded.store.path().display(),
            entries = loaded.entries.len(),
            "file tailer starting"
        );
        let lineages = loaded
            .entries
            .into_iter()
            .map(Lineage::from_checkpoint)
            .collect();
        Ok(Tailer {
            chunk: vec![0u8; READ_CHUNK_BYTES.min(settings.read_budget_bytes.max(1) as usize)],
            settings,
            discovery,
            wakeup,
            store: loaded.store,
            lineages,
            next_stream: 0,
            scanned_once: false,
            matched_files: 0,
            last_scan: None,
            rescan_requested: false,
            last_checkpoint_at: Instant::now(),
            last_checkpoint: None,
            last_written_at: None,
            round_robin: 0,
            lines_read: 0,
            counters: TailCounters::default(),
            unreadable: HashSet::new(),
            skipped_copies: HashMap::new(),
            exactly_once,
            scan_error: None,
        })
    }

    /// With exactly-once delivery, the checkpoint batches of lineage `index` carry: the other
    /// lineages at their last sent positions and this one's entry (its position set per batch).
    fn pending_checkpoint(&self, index: usize) -> Option<PendingCheckpoint> {
        if !self.exactly_once {
            return None;
        }
        let now = unix_now();
        let mut others = Vec::with_capacity(self.lineages.len());
        let mut own = None;
        for (i, lineage) in self.lineages.iter().enumerate() {
            if i == index {
                own = Some(lineage.to_checkpoint(now));
            } else {
                others.push(lineage.sent_checkpoint(now));
            }
        }
        Some(PendingCheckpoint { others, own: own? })
    }

    /// Lines sent so far.
    pub fn lines_read(&self) -> u64 {
        self.lines_read
    }

    /// Counters of notable events.
    pub fn counters(&self) -> TailCounters {
        self.counters
    }

    /// Files open for reading (being read, or rotated away and read to their end).
    pub fn open_files(&self) -> usize {
        self.lineages
            .iter()
            .filter(|l| matches!(l.phase, Phase::Reading(_) | Phase::Detached(_)))
            .count()
    }

    /// The files open for reading, for the status page: path, phase, bytes read, bytes
    /// delivered and the file's length at the last check.
    pub fn file_statuses(&self) -> Vec<crate::stats::FileStatus> {
        self.lineages
            .iter()
            .filter_map(|l| {
                let reader = match &l.phase {
                    Phase::Reading(reader) | Phase::Detached(reader) => reader,
                    _ => return None,
                };
                Some(crate::stats::FileStatus {
                    path: l.path.display().to_string(),
                    phase: l.phase.name(),
                    read_offset: reader.read_offset,
                    delivered_offset: l.durable.offset,
                    size: reader.last_stat.map(|(len, _)| len),
                })
            })
            .collect()
    }

    /// Files the include patterns matched at the last successful scan.
    pub fn matched_files(&self) -> usize {
        self.matched_files
    }

    /// Time since the checkpoint was last written (or since start).
    pub fn checkpoint_age(&self) -> std::time::Duration {
        self.last_checkpoint_at.elapsed()
    }

    /// Every known content, sorted by path.
    pub fn files(&self) -> Vec<TailedFile> {
        let mut files: Vec<TailedFile> = self
            .lineages
            .iter()
            .map(|l| TailedFile {
                path: l.path.clone(),
                phase: l.phase.name(),
                read_offset: match &l.phase {
                    Phase::Reading(r) | Phase::Detached(r) => r.read_offset,
                    _ => l.durable.offset,
                },
                delivered_offset: l.durable.offset,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path).then(a.phase.cmp(b.phase)));
        files
    }

    /// One pass: truncation checks, a re-scan when due, reading, finishing rotated files,
    /// delivery bookkeeping and expiry. Sends batches through `ctx` (blocking while the pipeline
    /// is full). Writes a checkpoint whenever the checkpoint interval has passed, also between
    /// files (a pass can be long when the pipeline is slow); a failed write is logged and retried
    /// at the next interval.
    pub fn poll_once(&mut self, ctx: &SourceContext) -> Result<PassReport, SourceError> {
        let truncated = self.check_truncations(ctx);
        let now = Instant::now();
        let scan_due = self
            .last_scan
            .is_none_or(|at| now.duration_since(at) >= self.settings.rescan_interval);
        let early_scan = self.rescan_requested
            && self
                .last_scan
                .is_none_or(|at| now.duration_since(at) >= self.settings.poll_interval);
        if truncated || scan_due || early_scan {
            self.rescan(ctx);
        }
        self.confirm_grown(ctx);
        let report = self.read_all(ctx)?;
        if !ctx.stopping() {
            self.finish_rotated(ctx)?;
        }
        self.settle(ctx);
        self.checkpoint_when_due(ctx);
        Ok(report)
    }

    /// Waits for the next pass: the poll interval, or less when a notification arrives.
    pub fn wait(&mut self) {
        let woken = self.wakeup.wait(self.settings.poll_interval);
        if woken.names_changed {
            self.rescan_requested = true;
        }
    }

    /// Writes a checkpoint if the interval has passed since the last one and something changed.
    fn checkpoint_when_due(&mut self, ctx: &SourceContext) {
        if self.last_checkpoint_at.elapsed() < self.settings.checkpoint_interval {
            return;
        }
        if let Err(e) = self.write_checkpoint(ctx, false) {
            tracing::error!(error = %e, "writing the checkpoint failed; retrying at the next interval");
        }
    }

    /// Writes a checkpoint now if anything changed since the last one (`force`: even if not).
    /// Returns whether one was written.
    pub fn write_checkpoint(
        &mut self,
        ctx: &SourceContext,
        force: bool,
    ) -> Result<bool, CheckpointError> {
        self.record_deliveries(ctx);
        let now = unix_now();
        let entries: Vec<CheckpointEntry> =
            self.lineages.iter().map(|l| l.to_checkpoint(now)).collect();
        let unchanged = self.last_checkpoint.as_ref().is_some_and(|last| {
            last.len() == entries.len()
                && last.iter().zip(&entries).all(|(a, b)| {
                    CheckpointEntry {
                        last_seen: b.last_seen,
                        ..a.clone()
                    } == *b
                })
        });
        self.last_checkpoint_at = Instant::now();
        if unchanged && !force && self.store_age() < CHECKPOINT_REFRESH {
            return Ok(false);
        }
        self.store.write(entries.clone())?;
        self.last_checkpoint = Some(entries);
        self.last_written_at = Some(Instant::now());
        self.counters.checkpoints_written += 1;
        Ok(true)
    }

    /// Stops: waits (up to the shutdown timeout) for every batch sent to be acknowledged, then
    /// writes the final checkpoint. Unterminated lines are not emitted: they are read again after
    /// a restart. Returns whether everything sent was acknowledged.
    pub fn finish(
        mut self,
        ctx: &SourceContext,
        timeout: Duration,
    ) -> Result<bool, CheckpointError> {
        let targets: Vec<(u64, u64)> = self
            .lineages
            .iter()
            .filter_map(|l| l.stream.as_ref().map(|s| (s.id, s.sent.offset)))
            .collect();
        let delivered = ctx.tracker.wait_until_delivered(&targets, timeout);
        if !delivered {
            tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "stopping with unacknowledged lines; they will be read again after a restart"
            );
        }
        self.write_checkpoint(ctx, true)?;
        tracing::info!(path = %self.store.path().display(), "final checkpoint written");
        Ok(delivered)
    }

    fn store_age(&self) -> Duration {
        self.last_written_at
            .map_or(Duration::MAX, |at| at.elapsed())
    }

    fn new_stream(
        &mut self,
        ctx: &SourceContext,
        path: &std::path::Path,
        start: Position,
    ) -> Stream {
        let id = self.next_stream;
        self.next_stream += 1;
        ctx.tracker
            .register_stream(id, path.display().to_string(), start.offset);
        Stream::new(id, start)
    }

    /// Checks every open file for truncation or rewriting; detaches the old content and starts a
    /// new one from offset 0 in the same file. Returns whether any was found.
    fn check_truncations(&mut self, ctx: &SourceContext) -> bool {
        let window_bytes = self.settings.fingerprint_bytes as u64;
        let mut replaced = Vec::new();
        for (index, lineage) in self.lineages.iter_mut().enumerate() {
            let Phase::Reading(reader) = &mut lineage.phase else {
                continue;
            };
            let Some(file) = reader.file.as_ref() else {
                continue;
            };
            let Ok(meta) = file.metadata() else {
                continue;
            };
            let len = meta.len();
            let stat = (len, meta.modified().ok());
            let changed = reader.last_stat != Some(stat);
            reader.last_stat = Some(stat);
            let mut truncated = len < reader.read_offset || len < lineage.head.len;
            // Changed in size or modification time: check that the bytes already read are still
            // there (a truncation followed by new writes can leave the size unchanged or larger).
            if !truncated && changed {
                if len > reader.read_offset {
                    reader.last_growth = Instant::now();
                }
                truncated = !reader.still_holds(file, &lineage.head);
            }
            if !truncated && lineage.head.len < window_bytes && len > lineage.head.len {
                // A short head (the file was shorter than the fingerprint length) grows with it.
                if let Ok(Some(longer)) = Fingerprint::head(file, len, window_bytes) {
                    if reader.still_holds(file, &longer) {
                        lineage.head = longer;
                    }
                }
            }
            if truncated {
                replaced.push((index, len));
            }
        }
        let found = !replaced.is_empty();
        for (index, len) in replaced {
            self.detach(ctx, index, len);
        }
        found
    }

    fn detach(&mut self, ctx: &SourceContext, index: usize, len: u64) {
        let Some(lineage) = self.lineages.get_mut(index) else {
            return;
        };
        let phase = std::mem::replace(&mut lineage.phase, Phase::Dormant);
        let Phase::Reading(mut reader) = phase else {
            lineage.phase = phase;
            return;
        };
        let Some(file) = reader.file.take() else {
            lineage.phase = Phase::Reading(reader);
            return;
        };
        tracing::warn!(
            path = %lineage.path.display(),
            read_offset = reader.read_offset,
            size = len,
            "file truncated or rewritten; reading its new content from the start"
        );
        lineage.phase = Phase::Detached(reader);
        lineage.last_seen = unix_now();
        let path = lineage.path.clone();
        let file_id = lineage.file_id;
        self.counters.truncations += 1;
        let head = Fingerprint::head(&file, len, self.settings.fingerprint_bytes as u64)
            .ok()
            .flatten()
            .unwrap_or(Fingerprint::EMPTY);
        let stream = self.new_stream(ctx, &path, Position::START);
        let recent = RecentBytes::new(self.settings.fingerprint_bytes, 0);
        self.lineages.push(Lineage {
            head,
            file_id,
            path,
            durable: Position::START,
            last_seen: unix_now(),
            rotated_at: None,
            stream: Some(stream),
            phase: Phase::Reading(Reader::new(file, 0, recent, ctx.settings.max_line_bytes)),
            // The new content of the same file: not a copy of anything.
            unconfirmed: false,
        });
    }

    /// Re-evaluates the patterns: renames, rotations away, new files.
    fn rescan(&mut self, ctx: &SourceContext) {
        let found = match self.discovery.scan() {
            Ok(found) => found,
            Err(error) => {
                // Judging rotations on an incomplete list would take followed files for gone.
                if self.scan_error.as_deref() != Some(error.as_str()) {
                    tracing::error!(%error, "scanning for input files failed; the files being read are kept, new ones are found once scanning works again");
                    self.scan_error = Some(error);
                }
                self.last_scan = Some(Instant::now());
                return;
            }
        };
        if self.scan_error.take().is_some() {
            tracing::info!("scanning for input files works again");
        }
        self.matched_files = found.len();
        if !self.scanned_once && found.is_empty() {
            tracing::warn!(include = ?self.settings.include, "no file matches the include patterns yet; waiting for files to appear");
        }
        self.wakeup.retry();
        let now = unix_now();
        let reading: HashSet<FileId> = self
            .lineages
            .iter()
            .filter(|l| matches!(l.phase, Phase::Reading(_)))
            .map(|l| l.file_id)
            .collect();
        let by_id: HashMap<FileId, &Found> = found.iter().map(|f| (f.id, f)).collect();
        for lineage in &mut self.lineages {
            if !matches!(lineage.phase, Phase::Reading(_)) {
                continue;
            }
            match by_id.get(&lineage.file_id) {
                Some(f) => {
                    if f.path != lineage.path {
                        tracing::info!(from = %lineage.path.display(), to = %f.path.display(), "followed file renamed");
                        lineage.path = f.path.clone();
                    }
                    if lineage.rotated_at.take().is_some() {
                        tracing::info!(path = %lineage.path.display(), "rotated file matched again");
                    }
                    lineage.last_seen = now;
                }
                None => {
                    if lineage.rotated_at.is_none() {
                        tracing::info!(path = %lineage.path.display(), "file rotated away or deleted; reading it to its end");
                        lineage.rotated_at = Some(Instant::now());
                        lineage.last_seen = now;
                    }
                }
            }
        }
        let start_at_end =
            !self.scanned_once && self.settings.read_from == ReadFrom::End && !self.store.existed();
        self.skipped_copies.retain(|id, _| by_id.contains_key(id));
        for f in found {
            if reading.contains(&f.id) {
                continue;
            }
            self.consider(ctx, f, start_at_end, now);
        }
        self.unreadable.retain(|p| p.exists());
        self.scanned_once = true;
        self.last_scan = Some(Instant::now());
        self.rescan_requested = false;
    }

    /// Identifies a found file that is not being read, and starts reading it unless it is a copy.
    fn consider(&mut self, ctx: &SourceContext, found: Found, start_at_end: bool, now: u64) {
        let mut probe = match FileProbe::open(found.path.clone()) {
            Ok(probe) => probe,
            Err(e) => {
                if self.unreadable.insert(found.path.clone()) {
                    tracing::warn!(path = %found.path.display(), error = %e, "cannot open matched file; will retry");
                }
                return;
            }
        };
        if probe.id != found.id {
            // Replaced between the scan and the open: the next scan sees the new file.
            return;
        }
        let identified = identify(
            &mut probe,
            &self.lineages,
            self.settings.fingerprint_bytes as u64,
        );
        if identified == Identified::New
            && self
                .skipped_copies
                .get(&probe.id)
                .is_some_and(|&len| probe.len >= len)
        {
            // Recognised as a copy while its original was there, and nothing says otherwise
            // now. After a copytruncate, lines appended between the copy and the truncation
            // leave the copy shorter than what was read, so it no longer continues the
            // truncated content; it holds nothing unread all the same.
            return;
        }
        self.place(ctx, probe, identified, start_at_end, now);
    }

    /// Files found empty (see [`Lineage::unconfirmed`]) are identified again once they have
    /// bytes, before any is read. `cp` and logrotate's copytruncate create the copy empty and
    /// fill it afterwards: a copy found in that instant would otherwise be taken for a new file
    /// and read again from the start. Still empty: left for the next pass. A new file after all:
    /// read from now on. A copy, or a known content: handed over like a file just found.
    fn confirm_grown(&mut self, ctx: &SourceContext) {
        let window_bytes = self.settings.fingerprint_bytes as u64;
        let now = unix_now();
        let mut index = 0;
        while let Some(lineage) = self.lineages.get_mut(index) {
            let Lineage {
                unconfirmed,
                phase,
                path,
                ..
            } = lineage;
            let Phase::Reading(reader) = phase else {
                *unconfirmed = false;
                index += 1;
                continue;
            };
            if !*unconfirmed {
                index += 1;
                continue;
            }
            // `check_truncations` has just taken its size, unless this pass's scan found it.
            let known_empty = reader.last_stat.is_some_and(|(len, _)| len == 0);
            let probe = if known_empty {
                None
            } else {
                reader
                    .file
                    .as_ref()
                    .and_then(|file| file.try_clone().ok())
                    .and_then(|file| FileProbe::of_open(path.clone(), file).ok())
            };
            if known_empty || probe.as_ref().is_some_and(|probe| probe.len == 0) {
                // Nothing to read: at its end (so that it can be finished once rotated away).
                reader.at_eof = true;
            }
            let Some(mut probe) = probe.filter(|probe| probe.len > 0) else {
                index += 1;
                continue;
            };
            // The lineage itself (the same file, being read) matches no rule.
            let identified = identify(&mut probe, &self.lineages, window_bytes);
            if identified == Identified::New {
                if let Some(lineage) = self.lineages.get_mut(index) {
                    lineage.unconfirmed = false;
                }
                index += 1;
                continue;
            }
            let removed = self.lineages.remove(index);
            if let Some(stream) = removed.stream {
                ctx.tracker.forget_stream(stream.id);
            }
            self.counters.files_added = self.counters.files_added.saturating_sub(1);
            let shift = |other: usize| if other > index { other - 1 } else { other };
            let identified = match identified {
                Identified::CopyOf(other) => Identified::CopyOf(shift(other)),
                Identified::ContinuesDetached(other) => Identified::ContinuesDetached(shift(other)),
                Identified::Continues(other) => Identified::Continues(shift(other)),
                Identified::New => Identified::New,
            };
            tracing::info!(path = %probe.path.display(), "file found empty turns out to hold a known content");
            self.place(ctx, probe, identified, false, now);
        }
    }

    /// Acts on what a found file was identified as: skips a copy, resumes a known content in
    /// it, or follows it as a new file.
    fn place(
        &mut self,
        ctx: &SourceContext,
        mut probe: FileProbe,
        identified: Identified,
        start_at_end: bool,
        now: u64,
    ) {
        let window_bytes = self.settings.fingerprint_bytes as u64;
        let max_line = ctx.settings.max_line_bytes;
        match identified {
            Identified::CopyOf(index) => {
                if self.skipped_copies.insert(probe.id, probe.len).is_none() {
                    self.counters.copies_skipped += 1;
                    let original = self.lineages.get(index).map(|l| l.path.clone());
                    tracing::info!(path = %probe.path.display(), original = ?original, "file is a copy of a file being read; not reading it");
                }
            }
            Identified::ContinuesDetached(index) => {
                let head = self.extended_head(&mut probe);
                let Some(lineage) = self.lineages.get_mut(index) else {
                    return;
                };
                let phase = std::mem::replace(&mut lineage.phase, Phase::Dormant);
                let Phase::Detached(mut reader) = phase else {
                    lineage.phase = phase;
                    return;
                };
                tracing::info!(path = %probe.path.display(), from = %lineage.path.display(), offset = reader.read_offset, "truncated file continues in its copy");
                reader.file = Some(probe.file);
                lineage.phase = Phase::Reading(reader);
                Self::adopt(lineage, probe.id, probe.path, head, now);
                self.counters.files_resumed += 1;
            }
            Identified::Continues(index) => {
                let head = self.extended_head(&mut probe);
                let next_stream = self.next_stream;
                let Some(lineage) = self.lineages.get_mut(index) else {
                    return;
                };
                let Some(at) = lineage.resume_position() else {
                    return;
                };
                tracing::info!(path = %probe.path.display(), offset = at.offset, "resuming known file");
                if lineage.stream.is_none() {
                    ctx.tracker.register_stream(
                        next_stream,
                        probe.path.display().to_string(),
                        at.offset,
                    );
                    lineage.stream = Some(Stream::new(next_stream, at));
                    self.next_stream += 1;
                }
                let reader = Reader::resume(probe.file, at.offset, window_bytes as usize, max_line);
                lineage.phase = Phase::Reading(reader);
                Self::adopt(lineage, probe.id, probe.path, head, now);
                self.counters.files_resumed += 1;
            }
            Identified::New => {
                let head = probe
                    .head(probe.len.min(window_bytes))
                    .unwrap_or(Fingerprint::EMPTY);
                let reader = if start_at_end {
                    Reader::resume(probe.file, probe.len, window_bytes as usize, max_line)
                } else {
                    Reader::new(
                        probe.file,
                        0,
                        RecentBytes::new(window_bytes as usize, 0),
                        max_line,
                    )
                };
                let start = reader.read_position().unwrap_or(Position::START);
                tracing::info!(path = %probe.path.display(), offset = start.offset, "following new file");
                let stream = self.new_stream(ctx, &probe.path, start);
                self.lineages.push(Lineage {
                    head,
                    file_id: probe.id,
                    path: probe.path,
                    durable: start,
                    last_seen: now,
                    rotated_at: None,
                    stream: Some(stream),
                    phase: Phase::Reading(reader),
                    unconfirmed: probe.len == 0,
                });
                self.counters.files_added += 1;
            }
        }
    }

    /// The probe's head over `fingerprint_bytes` (or its whole length if shorter).
    fn extended_head(&self, probe: &mut FileProbe) -> Option<Fingerprint> {
        probe.head(probe.len.min(self.settings.fingerprint_bytes as u64))
    }

    fn adopt(
        lineage: &mut Lineage,
        id: FileId,
        path: PathBuf,
        head: Option<Fingerprint>,
        now: u64,
    ) {
        if let Some(head) = head {
            if head.len > lineage.head.len {
                lineage.head = head;
            }
        }
        lineage.file_id = id;
        lineage.path = path;
        lineage.last_seen = now;
        lineage.rotated_at = None;
    }

    /// Reads every followed file up to the budget, starting with a different file each pass.
    fn read_all(&mut self, ctx: &SourceContext) -> Result<PassReport, SourceError> {
        let mut report = PassReport::default();
        let count = self.lineages.len();
        if count == 0 {
            return Ok(report);
        }
        let first = self.round_robin % count;
        self.round_robin = self.round_robin.wrapping_add(1);
        let budget = self.settings.read_budget_bytes.max(1);
        for index in (first..count).chain(0..first) {
            if ctx.stopping() {
                break;
            }
            let Some(lineage) = self.lineages.get_mut(index) else {
                continue;
            };
            if lineage.unconfirmed || !matches!(lineage.phase, Phase::Reading(_)) {
                continue;
            }
            let pending = self.pending_checkpoint(index);
            let Some(lineage) = self.lineages.get_mut(index) else {
                continue;
            };
            let (Phase::Reading(reader), Some(stream)) =
                (&mut lineage.phase, lineage.stream.as_mut())
            else {
                continue;
            };
            let outcome = reader.read(
                ctx,
                stream,
                &mut lineage.head,
                &mut self.chunk,
                budget,
                pending.as_ref(),
            )?;
            report.bytes += outcome.bytes;
            report.lines += outcome.lines;
            report.more_pending |= outcome.bytes >= budget;
            self.checkpoint_when_due(ctx);
        }
        self.lines_read += report.lines;
        Ok(report)
    }

    /// Finishes files rotated away (or deleted) that were read to their end and stayed quiet for
    /// the rotate wait: an unterminated last line is emitted, the file closed.
    fn finish_rotated(&mut self, ctx: &SourceContext) -> Result<(), SourceError> {
        let wait = self.settings.rotate_wait;
        for index in 0..self.lineages.len() {
            let pending = self.pending_checkpoint(index);
            let Some(lineage) = self.lineages.get_mut(index) else {
                continue;
            };
            let Some(rotated_at) = lineage.rotated_at else {
                continue;
            };
            let (Phase::Reading(reader), Some(stream)) =
                (&mut lineage.phase, lineage.stream.as_mut())
            else {
                continue;
            };
            let quiet_since = reader.last_growth.max(rotated_at);
            if !reader.at_eof || quiet_since.elapsed() < wait {
                continue;
            }
            if lineage.unconfirmed && reader.last_stat.is_some_and(|(len, _)| len > 0) {
                // Found empty and has bytes now: identified (and read) first.
                continue;
            }
            let partial = reader.has_partial();
            let head = lineage.head;
            self.lines_read +=
                reader.finish_partial(ctx, stream, pending.as_ref().map(|p| (p, head)))?;
            tracing::info!(path = %lineage.path.display(), bytes = reader.read_offset, unterminated_last_line = partial, "finished rotated file");
            lineage.phase = Phase::Draining;
            lineage.last_seen = unix_now();
            self.counters.files_finished += 1;
        }
        Ok(())
    }

    fn record_deliveries(&mut self, ctx: &SourceContext) {
        for lineage in &mut self.lineages {
            let Some(stream) = lineage.stream.as_ref() else {
                continue;
            };
            if let Some(delivered) = ctx.tracker.delivered(stream.id) {
                lineage.record_delivery(delivered);
            }
        }
    }

    /// Delivery bookkeeping: detached and draining contents whose batches are all delivered go
    /// dormant; dormant ones past the retention time are dropped.
    fn settle(&mut self, ctx: &SourceContext) {
        self.record_deliveries(ctx);
        let now = unix_now();
        let retention = self.settings.checkpoint_retention.as_secs();
        for lineage in &mut self.lineages {
            let finished = matches!(lineage.phase, Phase::Detached(_) | Phase::Draining);
            if finished && lineage.fully_delivered() {
                if let Some(stream) = lineage.stream.take() {
                    ctx.tracker.forget_stream(stream.id);
                }
                lineage.phase = Phase::Dormant;
            }
        }
        // Expire only after a first scan had the chance to match entries loaded at start-up.
        if !self.scanned_once {
            return;
        }
        let before = self.lineages.len();
        self.lineages.retain(|l| {
            !(matches!(l.phase, Phase::Dormant) && now.saturating_sub(l.last_seen) > retention)
        });
        let expired = before - self.lineages.len();
        if expired > 0 {
            tracing::info!(expired, "checkpoint entries of vanished files expired");
            self.counters.entries_expired += expired as u64;
        }
    }
}
