//! A lineage: one file *content* the tailer knows, followed across renames, copies and restarts,
//! from first sight until its checkpoint entry expires.
//!
//! Phases:
//! - `Reading`: the file is open and followed.
//! - `Detached`: the file it was read from was truncated (or rewritten); the reading state
//!   (position, unterminated line) is kept so that a copy of the old content (copytruncate
//!   rotation) can take over where reading stopped.
//! - `Draining`: the file is finished (rotated away or deleted, read to its end) and closed; some
//!   of its batches are not acknowledged yet.
//! - `Dormant`: everything sent is delivered. Kept (and checkpointed) so the content is recognised
//!   if it turns up again, until the retention time passes.

use std::path::PathBuf;
use std::time::Instant;

use super::checkpoint::CheckpointEntry;
use super::fingerprint::Fingerprint;
use super::identity::{FileId, Position};
use super::reader::{Reader, Stream};

/// Where a lineage is in its life.
#[derive(Debug)]
pub enum Phase {
    /// Open and followed.
    Reading(Reader),
    /// Truncated away from its file; waiting for a copy to continue in.
    Detached(Reader),
    /// Closed; acknowledgements outstanding.
    Draining,
    /// Fully delivered and closed.
    Dormant,
}

impl Phase {
    /// A short name for logs and status.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Reading(_) => "reading",
            Phase::Detached(_) => "detached",
            Phase::Draining => "draining",
            Phase::Dormant => "dormant",
        }
    }
}

/// One known file content.
#[derive(Debug)]
pub struct Lineage {
    /// Fingerprint of its first bytes (up to `fingerprint_bytes`; fewer while the file is shorter,
    /// extended as it grows).
    pub head: Fingerprint,
    /// The file it was last read from.
    pub file_id: FileId,
    /// The path it was last seen at.
    pub path: PathBuf,
    /// Every line before this position has been delivered.
    pub durable: Position,
    /// When it was last seen by a scan (seconds since the Unix epoch).
    pub last_seen: u64,
    /// Set when its path no longer names it (rotated away, deleted).
    pub rotated_at: Option<Instant>,
    /// Its delivery stream, while batches may be outstanding.
    pub stream: Option<Stream>,
    /// What is happening to it.
    pub phase: Phase,
    /// Found empty and nothing read yet: it is identified again once it has bytes, before any
    /// is read (see `Tailer::confirm_grown`).
    pub unconfirmed: bool,
}

impl Lineage {
    /// A lineage restored from a checkpoint entry (dormant until a file matches it).
    pub fn from_checkpoint(entry: CheckpointEntry) -> Lineage {
        Lineage {
            head: entry.head,
            file_id: FileId {
                dev: entry.dev,
                ino: entry.ino,
            },
            path: PathBuf::from(entry.path),
            durable: Position {
                offset: entry.offset,
                window: entry.window,
            },
            last_seen: entry.last_seen,
            rotated_at: None,
            stream: None,
            phase: Phase::Dormant,
            unconfirmed: false,
        }
    }

    /// Its checkpoint entry; `now` stands for the last-seen time of files being read.
    pub fn to_checkpoint(&self, now: u64) -> CheckpointEntry {
        let last_seen = match self.phase {
            Phase::Reading(_) if self.rotated_at.is_none() => now,
            _ => self.last_seen,
        };
        CheckpointEntry {
            path: self.path.to_string_lossy().into_owned(),
            dev: self.file_id.dev,
            ino: self.file_id.ino,
            head: self.head,
            offset: self.durable.offset,
            window: self.durable.window,
            last_seen,
        }
    }

    /// Its checkpoint entry as it will be once everything sent from it is delivered (the last
    /// sent position while it has a stream, the delivered one otherwise).
    pub fn sent_checkpoint(&self, now: u64) -> CheckpointEntry {
        let mut entry = self.to_checkpoint(now);
        if let Some(stream) = &self.stream {
            if stream.sent.offset >= entry.offset {
                entry.offset = stream.sent.offset;
                entry.window = stream.sent.window;
            }
        }
        entry
    }

    /// Where a file holding this content would continue: the read position for a detached
    /// lineage (its unterminated line is kept), the end of what was sent for a draining one, the
    /// delivered position for a dormant one. `None` while it is being read.
    pub fn resume_position(&self) -> Option<Position> {
        match &self.phase {
            Phase::Reading(_) => None,
            Phase::Detached(reader) => reader.read_position(),
            Phase::Draining => self.stream.as_ref().map(|s| s.sent),
            Phase::Dormant => Some(self.durable),
        }
    }

    /// Folds the acknowledgements received so far into the durable position. `delivered` is the
    /// stream's contiguous delivered offset.
    pub fn record_delivery(&mut self, delivered: u64) {
        if let Some(stream) = self.stream.as_mut() {
            if let Some(position) = stream.take_delivered(delivered) {
                if position.offset > self.durable.offset {
                    self.durable = position;
                }
            }
        }
    }

    /// Whether everything sent on its stream is delivered (or it has no stream).
    pub fn fully_delivered(&self) -> bool {
        self.stream.as_ref().is_none_or(|s| s.in_flight.is_empty())
    }
}
