//! The checkpoint store: one JSON file, `checkpoints.json`, in the data directory, holding for
//! every known file content the position up to which all its lines have been delivered.
//!
//! Writes are atomic: the new content goes to `checkpoints.json.tmp`, which is fsynced and renamed
//! over `checkpoints.json`, and the directory is fsynced. Loading prefers the temporary file when
//! it is complete and newer (a crash between its fsync and the rename), ignores it when it is
//! incomplete (a crash mid-write), and moves an unreadable main file aside rather than failing.
//! A lock file (`tailer.lock`, advisory `flock`) keeps two processes from sharing a data directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;

/// The format version written; files with a higher version are refused.
pub const CHECKPOINT_VERSION: u32 = 1;

const FILE_NAME: &str = "checkpoints.json";
const TEMP_NAME: &str = "checkpoints.json.tmp";
const CORRUPT_NAME: &str = "checkpoints.json.corrupt";
const LOCK_NAME: &str = "tailer.lock";

/// The delivered position of one file content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointEntry {
    /// Where the file was last seen (informative; identity is the content).
    pub path: String,
    /// Device of the file it was last read from.
    pub dev: u64,
    /// Inode of the file it was last read from.
    pub ino: u64,
    /// Fingerprint of the first bytes of the content.
    pub head: Fingerprint,
    /// Every line before this byte offset has been delivered.
    pub offset: u64,
    /// Fingerprint of the bytes just before `offset`.
    pub window: Fingerprint,
    /// When the file was last seen, in seconds since the Unix epoch.
    pub last_seen: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointFile {
    version: u32,
    /// Increases with every write: tells which of the main and temporary files is newer.
    sequence: u64,
    /// When it was written, in seconds since the Unix epoch (for people).
    written_at: u64,
    files: Vec<CheckpointEntry>,
}

/// Why the checkpoint store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The data directory or one of its files cannot be created, read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Another process holds the data directory's lock.
    #[error("{path} is locked: another process is tailing with the same data directory")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The checkpoint committed with the output (exactly-once file input) cannot be used.
    #[error("the checkpoint committed in Kafka ({origin}) is unreadable: {problem}")]
    Committed {
        /// Where it was read from.
        origin: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The checkpoint file was written by a newer version.
    #[error("{path} has checkpoint format version {found}, newer than the supported {CHECKPOINT_VERSION}")]
    NewerVersion {
        /// The checkpoint file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
}

/// The open checkpoint store of a data directory.
#[derive(Debug)]
pub struct CheckpointStore {
    dir: PathBuf,
    sequence: u64,
    existed: bool,
    /// Held open (and locked) for as long as the store lives.
    _lock: File,
}

/// What loading found.
#[derive(Debug)]
pub struct Loaded {
    /// The store, ready for writes.
    pub store: CheckpointStore,
    /// The entries of the last complete write.
    pub entries: Vec<CheckpointEntry>,
}

impl CheckpointStore {
    /// Creates `dir` if needed, locks it and loads the last complete checkpoint.
    pub fn open(dir: &Path) -> Result<Loaded, CheckpointError> {
        std::fs::create_dir_all(dir).map_err(|error| CheckpointError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
        let lock_path = dir.join(LOCK_NAME);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|error| CheckpointError::Io {
                path: lock_path.clone(),
                error,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(CheckpointError::Locked { path: lock_path })
            }
            Err(TryLockError::Error(error)) => {
                return Err(CheckpointError::Io {
                    path: lock_path,
                    error,
                })
            }
        }

        let main_path = dir.join(FILE_NAME);
        let temp_path = dir.join(TEMP_NAME);
        let main = read_checkpoint(&main_path)?;
        let temp = read_checkpoint(&temp_path)?;
        let main_exists = main_path.exists();
        let (chosen, existed) = match (main, temp) {
            (Ok(Some(main)), Ok(Some(temp))) if temp.sequence > main.sequence => {
                tracing::warn!(path = %temp_path.display(), "recovered the checkpoint of an interrupted write");
                (Some(temp), true)
            }
            (Ok(Some(main)), _) => (Some(main), true),
            (main, Ok(Some(temp))) => {
                if let Err(problem) = main {
                    set_aside(&main_path, dir, &problem);
                }
                tracing::warn!(path = %temp_path.display(), "recovered the checkpoint of an interrupted write");
                (Some(temp), true)
            }
            (Err(problem), _) => {
                set_aside(&main_path, dir, &problem);
                (None, true)
            }
            (Ok(None), _) => (None, main_exists),
        };
        if temp_path.exists() {
            // Incomplete, older, or already recovered: the next write replaces it anyway.
            let _ = std::fs::remove_file(&temp_path);
        }
        let (sequence, entries) = match chosen {
            Some(file) => (file.sequence, file.files),
            None => (0, Vec::new()),
        };
        Ok(Loaded {
            store: CheckpointStore {
                dir: dir.to_path_buf(),
                sequence,
                existed,
                _lock: lock,
            },
            entries,
        })
    }

    /// Whether a checkpoint file existed when the store was opened (even an unreadable one).
    pub fn existed(&self) -> bool {
        self.existed
    }

    /// The path of the checkpoint file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Replaces the checkpoint with `entries`, atomically and durably.
    pub fn write(&mut self, entries: Vec<CheckpointEntry>) -> Result<(), CheckpointError> {
        let sequence = self.sequence + 1;
        let content = CheckpointFile {
            version: CHECKPOINT_VERSION,
            sequence,
            written_at: unix_now(),
            files: entries,
        };
        let temp_path = self.dir.join(TEMP_NAME);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |error| CheckpointError::Io { path, error }
        };
        let bytes = render(&content).map_err(|e| CheckpointError::Io {
            path: temp_path.clone(),
            error: std::io::Error::other(e),
        })?;
        let mut file = File::create(&temp_path).map_err(io(&temp_path))?;
        file.write_all(&bytes).map_err(io(&temp_path))?;
        file.sync_all().map_err(io(&temp_path))?;
        drop(file);
        let main_path = self.dir.join(FILE_NAME);
        std::fs::rename(&temp_path, &main_path).map_err(io(&main_path))?;
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io(&self.dir))?;
        self.sequence = sequence;
        self.existed = true;
        Ok(())
    }
}

/// Encodes `entries` in the checkpoint file's format (for a checkpoint committed elsewhere than
/// in the data directory: exactly-once file input commits it in Kafka transactions).
pub fn encode_checkpoints(entries: Vec<CheckpointEntry>) -> Vec<u8> {
    let content = CheckpointFile {
        version: CHECKPOINT_VERSION,
        sequence: 0,
        written_at: unix_now(),
        files: entries,
    };
    // Serialising plain strings and integers cannot fail; an empty set is the safe fallback.
    render(&content).unwrap_or_default()
}

/// The checkpoint as it will be once the batches about to be sent from one file are delivered,
/// with everything sent before them: every other file at its last sent position, and this one
/// at the position each batch ends at (see [`PendingCheckpoint::at`]).
#[derive(Debug, Clone)]
pub struct PendingCheckpoint {
    /// The other files' entries.
    pub others: Vec<CheckpointEntry>,
    /// This file's entry (its offset, window and head are replaced per batch).
    pub own: CheckpointEntry,
}

impl PendingCheckpoint {
    /// The encoded checkpoint with this file's content `head` delivered up to `at`.
    pub fn at(&self, head: Fingerprint, at: super::identity::Position) -> Vec<u8> {
        let mut entries = Vec::with_capacity(self.others.len() + 1);
        entries.extend(self.others.iter().cloned());
        entries.push(CheckpointEntry {
            head,
            offset: at.offset,
            window: at.window,
            ..self.own.clone()
        });
        encode_checkpoints(entries)
    }
}

/// The file's JSON, one entry per line (readable, and a third of the pretty-printed size).
fn render(content: &CheckpointFile) -> serde_json::Result<Vec<u8>> {
    let mut out = format!(
        "{{\"version\":{},\"sequence\":{},\"written_at\":{},\"files\":[",
        content.version, content.sequence, content.written_at
    )
    .into_bytes();
    for (index, entry) in content.files.iter().enumerate() {
        out.extend_from_slice(if index == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut out, entry)?;
    }
    out.extend_from_slice(b"\n]}\n");
    Ok(out)
}

/// `Ok(None)`: no such file; `Err(message)`: present but unusable.
fn read_checkpoint(path: &Path) -> Result<Result<Option<CheckpointFile>, String>, CheckpointError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(None)),
        Err(error) => {
            return Err(CheckpointError::Io {
                path: path.to_path_buf(),
                error,
            })
        }
    };
    Ok(parse_checkpoints(path, &bytes)?.map(|(sequence, files)| {
        Some(CheckpointFile {
            version: CHECKPOINT_VERSION,
            sequence,
            written_at: 0,
            files,
        })
    }))
}

/// Parses the content of a checkpoint file (`path` only names it in errors), without any I/O:
/// the write sequence and the entries of a usable file, `Ok(Err(problem))` for a file that is
/// not (torn by a crash, corrupt: the loader sets it aside), and
/// [`CheckpointError::NewerVersion`] for a file written by a newer format. Never panics.
pub fn parse_checkpoints(
    path: &Path,
    bytes: &[u8],
) -> Result<Result<(u64, Vec<CheckpointEntry>), String>, CheckpointError> {
    // Look at the version alone first: a newer format may have fields this version rejects.
    if let Ok(probe) = serde_json::from_slice::<VersionProbe>(bytes) {
        if probe.version > CHECKPOINT_VERSION {
            return Err(CheckpointError::NewerVersion {
                path: path.to_path_buf(),
                found: probe.version,
            });
        }
    }
    Ok(serde_json::from_slice::<CheckpointFile>(bytes)
        .map(|file| (file.sequence, file.files))
        .map_err(|e| e.to_string()))
}

#[derive(Deserialize)]
struct VersionProbe {
    version: u32,
}

fn set_aside(main_path: &Path, dir: &Path, problem: &str) {
    let aside = dir.join(CORRUPT_NAME);
    tracing::error!(path = %main_path.display(), moved_to = %aside.display(), problem, "unreadable checkpoint file set aside; files without a usable checkpoint are read from their beginning");
    let _ = std::fs::rename(main_path, aside);
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_checkpoint_encodes_every_file_with_this_one_at_the_batch_end() {
        let other = CheckpointEntry {
            path: "/logs/b.log".into(),
            ..entry(700)
        };
        let pending = PendingCheckpoint {
            others: vec![other.clone()],
            own: entry(10),
        };
        let head = Fingerprint::of(b"a longer head");
        let at = super::super::identity::Position {
            offset: 4096,
            window: Fingerprint::of(b"before 4096"),
        };
        let bytes = pending.at(head, at);
        let (_, entries) = parse_checkpoints(Path::new("topic"), &bytes)
            .unwrap()
            .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], other);
        assert_eq!(entries[1].offset, 4096);
        assert_eq!(entries[1].window, at.window);
        assert_eq!(entries[1].head, head);
        assert_eq!(entries[1].path, pending.own.path);
    }

    fn entry(offset: u64) -> CheckpointEntry {
        CheckpointEntry {
            path: "/logs/a.log".into(),
            dev: 1,
            ino: 2,
            head: Fingerprint::of(b"head"),
            offset,
            window: Fingerprint::of(b"window"),
            last_seen: 1_700_000_000,
        }
    }

    #[test]
    fn writes_then_loads_the_same_entries() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = CheckpointStore::open(dir.path()).unwrap();
        assert!(!loaded.store.existed());
        assert!(loaded.entries.is_empty());
        let mut store = loaded.store;
        store.write(vec![entry(10)]).unwrap();
        store.write(vec![entry(20)]).unwrap();
        drop(store);
        let again = CheckpointStore::open(dir.path()).unwrap();
        assert!(again.store.existed());
        assert_eq!(again.entries, vec![entry(20)]);
        assert!(!dir.path().join(TEMP_NAME).exists());
    }

    #[test]
    fn a_second_process_cannot_share_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = CheckpointStore::open(dir.path()).unwrap();
        assert!(matches!(
            CheckpointStore::open(dir.path()),
            Err(CheckpointError::Locked { .. })
        ));
        drop(first);
        assert!(CheckpointStore::open(dir.path()).is_ok());
    }

    #[test]
    fn a_torn_temporary_file_is_ignored_and_a_complete_newer_one_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CheckpointStore::open(dir.path()).unwrap().store;
        store.write(vec![entry(10)]).unwrap();
        drop(store);
        // Crash mid-write: the temporary file holds half a document.
        let complete = serde_json::to_vec(&CheckpointFile {
            version: CHECKPOINT_VERSION,
            sequence: 2,
            written_at: 0,
            files: vec![entry(30)],
        })
        .unwrap();
        let half = complete.get(..complete.len() / 2).unwrap();
        std::fs::write(dir.path().join(TEMP_NAME), half).unwrap();
        let loaded = CheckpointStore::open(dir.path()).unwrap();
        assert_eq!(loaded.entries, vec![entry(10)]);
        drop(loaded);
        // Crash after the temporary file was synced, before the rename: it is newer and whole.
        std::fs::write(dir.path().join(TEMP_NAME), &complete).unwrap();
        let loaded = CheckpointStore::open(dir.path()).unwrap();
        assert_eq!(loaded.entries, vec![entry(30)]);
        // The next write continues the sequence past the recovered one.
        let mut store = loaded.store;
        store.write(vec![entry(40)]).unwrap();
        drop(store);
        assert_eq!(
            CheckpointStore::open(dir.path()).unwrap().entries,
            vec![entry(40)]
        );
    }

    #[test]
    fn an_unreadable_file_is_set_aside_and_counts_as_existing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"{ not json").unwrap();
        let loaded = CheckpointStore::open(dir.path()).unwrap();
        assert!(loaded.entries.is_empty());
        assert!(loaded.store.existed());
        assert!(dir.path().join(CORRUPT_NAME).exists());
    }

    #[test]
    fn a_newer_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            br#"{"version": 99, "sequence": 1, "files": [], "new_field": true}"#,
        )
        .unwrap();
        assert!(matches!(
            CheckpointStore::open(dir.path()),
            Err(CheckpointError::NewerVersion { found: 99, .. })
        ));
    }
}
