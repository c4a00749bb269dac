//! Deciding what a newly found file is: the continuation of a known content, a copy of a file
//! being read, or a new file. The rules, in order:
//!
//! 1. A *detached* content (its file was just truncated) continues in a file whose head matches
//!    and whose bytes before the old read position match what was read: the copy made by a
//!    copytruncate rotation. Reading resumes there, unterminated line included.
//! 2. A file whose head matches a file being read, and whose bytes match that file's at the same
//!    offsets (at the read position, or at its own end if it is shorter), is a copy of it: it is
//!    not read (it would only repeat lines). So is a non-empty file shorter than that head whose
//!    bytes are the original's first bytes: a copy still being written.
//! 3. A draining or dormant content (rotated away, deleted, or known from the checkpoint) continues
//!    in a file whose head matches, that is at least as long as the resume position, and whose
//!    bytes before that position match: a rename, a rotation while stopped, a restart. A stored
//!    offset beyond the end of the file is never used. Among candidates, the furthest resume
//!    position wins (they all hold the same bytes up to it), then the same device and inode, the
//!    same path, the most recently seen. A content of zero bytes only matches its own inode, and
//!    only when nothing else does.
//! 4. Anything else is a new file.

use super::fingerprint::Fingerprint;
use super::identity::FileProbe;
use super::lineage::{Lineage, Phase};

/// What a found file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identified {
    /// It continues the detached lineage at this index (rule 1).
    ContinuesDetached(usize),
    /// It is a copy of the lineage being read at this index (rule 2).
    CopyOf(usize),
    /// It continues the draining or dormant lineage at this index (rule 3).
    Continues(usize),
    /// A new content (rule 4).
    New,
}

/// How good a rule-3 candidate is, compared lexicographically: content evidence, resume offset,
/// same device and inode, same path, last seen.
type Rank = (bool, u64, bool, bool, u64);

/// Applies the rules to `probe`. `window_bytes` is the fingerprint length.
pub fn identify(probe: &mut FileProbe, lineages: &[Lineage], window_bytes: u64) -> Identified {
    for (index, lineage) in lineages.iter().enumerate() {
        if let Phase::Detached(reader) = &lineage.phase {
            if lineage.head.len == 0 || reader.read_offset == 0 {
                continue;
            }
            if let Some(at) = reader.read_position() {
                if probe.continues(&lineage.head, &at) {
                    return Identified::ContinuesDetached(index);
                }
            }
        }
    }
    for (index, lineage) in lineages.iter().enumerate() {
        if let Phase::Reading(reader) = &lineage.phase {
            if lineage.head.len == 0 || lineage.file_id == probe.id {
                continue;
            }
            if probe.len > 0 && probe.len < lineage.head.len {
                // Shorter than the original's head: a copy still being written holds a prefix
                // of it. Taking it for a new file would read it again from the start.
                let mine = Fingerprint::read(&probe.file, 0, probe.len).ok().flatten();
                let theirs = reader
                    .file
                    .as_ref()
                    .and_then(|file| Fingerprint::read(file, 0, probe.len).ok().flatten());
                if mine.is_some() && mine == theirs {
                    return Identified::CopyOf(index);
                }
                continue;
            }
            if probe.head(lineage.head.len) != Some(lineage.head) {
                continue;
            }
            let copy = if probe.len >= reader.read_offset {
                reader
                    .read_position()
                    .is_some_and(|at| probe.continues(&lineage.head, &at))
            } else {
                // Shorter than what was read: compare its last bytes with the original's.
                let len = probe.len.min(window_bytes);
                let start = probe.len - len;
                let mine = Fingerprint::read(&probe.file, start, len).ok().flatten();
                let theirs = reader
                    .file
                    .as_ref()
                    .and_then(|file| Fingerprint::read(file, start, len).ok().flatten());
                mine.is_some() && mine == theirs
            };
            if copy {
                return Identified::CopyOf(index);
            }
        }
    }
    let mut best: Option<(usize, Rank)> = None;
    for (index, lineage) in lineages.iter().enumerate() {
        if !matches!(lineage.phase, Phase::Draining | Phase::Dormant) {
            continue;
        }
        let same_file = lineage.file_id == probe.id;
        if lineage.head.len == 0 && !same_file {
            continue;
        }
        let Some(at) = lineage.resume_position() else {
            continue;
        };
        if !probe.continues(&lineage.head, &at) {
            continue;
        }
        // Content evidence first (an empty content matches anything), then the furthest resume
        // position (every candidate holds the same bytes up to its position), then the file.
        let evidence = lineage.head.len > 0 || at.offset > 0;
        let rank = (
            evidence,
            at.offset,
            same_file,
            lineage.path == probe.path,
            lineage.last_seen,
        );
        if best.as_ref().is_none_or(|(_, b)| rank > *b) {
            best = Some((index, rank));
        }
    }
    match best {
        Some((index, _)) => Identified::Continues(index),
        None => Identified::New,
    }
}
