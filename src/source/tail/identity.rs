//! File identity: which content a file holds, whatever its name.
//!
//! A file is recognised by its *head* fingerprint (checksum of its first `fingerprint_bytes`
//! bytes, or of all of it while it is shorter) together with a *resume position*: an offset at a
//! line boundary and the fingerprint of the bytes just before it. A file continues a known content
//! only if its head matches, it is at least as long as the resume offset, and the bytes before that
//! offset match too. Device and inode only break ties between candidates (and identify files that
//! are open): an inode number can be reused by unrelated content, and a copy has a new inode but
//! the same content.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::fingerprint::Fingerprint;

/// Device and inode of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// A point in a content where reading can continue: a line boundary and the bytes before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset (just after a line terminator, or 0).
    pub offset: u64,
    /// Fingerprint of the `min(offset, fingerprint_bytes)` bytes ending at `offset`.
    pub window: Fingerprint,
}

impl Position {
    /// The start of a content.
    pub const START: Position = Position {
        offset: 0,
        window: Fingerprint::EMPTY,
    };
}

/// A file found by discovery, opened to be identified. Head checksums are computed at most once
/// per length.
#[derive(Debug)]
pub struct FileProbe {
    /// The path it was found at.
    pub path: PathBuf,
    /// The open file.
    pub file: File,
    /// Device and inode.
    pub id: FileId,
    /// Its length when opened.
    pub len: u64,
    heads: HashMap<u64, Option<Fingerprint>>,
}

impl FileProbe {
    /// Opens `path` and reads its metadata from the open file.
    pub fn open(path: PathBuf) -> std::io::Result<FileProbe> {
        let file = File::open(&path)?;
        FileProbe::of_open(path, file)
    }

    /// A probe of a file already open (found at `path`), with its current metadata.
    pub fn of_open(path: PathBuf, file: File) -> std::io::Result<FileProbe> {
        let meta = file.metadata()?;
        Ok(FileProbe {
            path,
            id: FileId::of(&meta),
            len: meta.len(),
            file,
            heads: HashMap::new(),
        })
    }

    /// The checksum of the first `len` bytes, `None` if the file is shorter.
    pub fn head(&mut self, len: u64) -> Option<Fingerprint> {
        if len > self.len {
            return None;
        }
        if let Some(known) = self.heads.get(&len) {
            return *known;
        }
        let head = Fingerprint::read(&self.file, 0, len).ok().flatten();
        self.heads.insert(len, head);
        head
    }

    /// Whether this file holds the content identified by `head` at least up to `at`.
    pub fn continues(&mut self, head: &Fingerprint, at: &Position) -> bool {
        if self.len < at.offset || self.head(head.len) != Some(*head) {
            return false;
        }
        if at.offset == 0 {
            return true;
        }
        let Some(start) = at.offset.checked_sub(at.window.len) else {
            return false;
        };
        Fingerprint::read(&self.file, start, at.window.len)
            .ok()
            .flatten()
            == Some(at.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_continues_a_content_only_with_matching_head_and_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"first line\nsecond line\n")
            .unwrap();
        let mut probe = FileProbe::open(path).unwrap();
        assert_eq!(probe.len, 23);
        let head = Fingerprint::of(b"first");
        let at = Position {
            offset: 11,
            window: Fingerprint::of(b"line\n"),
        };
        assert!(probe.continues(&head, &at));
        assert!(probe.continues(&head, &Position::START));
        // Another head, another window, or an offset past the end: not this content.
        assert!(!probe.continues(&Fingerprint::of(b"First"), &at));
        let moved = Position { offset: 12, ..at };
        assert!(!probe.continues(&head, &moved));
        let beyond = Position {
            offset: 24,
            window: Fingerprint::of(b"line\n"),
        };
        assert!(!probe.continues(&head, &beyond));
        // A head longer than the file cannot match.
        assert_eq!(probe.head(24), None);
    }
}
