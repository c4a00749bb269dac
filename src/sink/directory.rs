//! The directory sink: one JSON-lines file per topic, `<dir>/<topic>.jsonl` (or a file named
//! for the topic), appended to.
//!
//! Records are buffered per topic and written whole: a buffer is handed to the file only at a
//! record boundary. A write that fails part-way (a full disk) is cut back off the file at once;
//! and a file whose last line is torn anyway (a crash inside a write, or the cut failed too) is
//! cut back to its last complete line when it is opened again, before anything is appended. No
//! partial record survives: the batches of those bytes were never acknowledged, so their records
//! are written again once the input is read again.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::record::{ProcessedBatch, Tally};
use crate::stats::Stats;
use crate::topic::check_topic_name;

use super::{PendingAcks, Sink, SinkError};

/// A topic's buffer is written out once it holds this many bytes (of whole records).
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

struct TopicFile {
    path: PathBuf,
    file: File,
    buffer: Vec<u8>,
    /// The file's length after the last complete write.
    len: u64,
}

impl TopicFile {
    fn open(path: PathBuf) -> Result<Self, SinkError> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|error| SinkError {
                context: format!("cannot open {}", path.display()),
                error,
            })?;
        let len = cut_torn_tail(&mut file, &path).map_err(|error| SinkError {
            context: format!("cannot repair the end of {}", path.display()),
            error,
        })?;
        Ok(TopicFile {
            path,
            file,
            buffer: Vec::with_capacity(WRITE_BUFFER_BYTES),
            len,
        })
    }

    fn write_out(&mut self) -> Result<(), SinkError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.file.write_all(&self.buffer) {
            // Part of the buffer may be in the file: cut it off now (if that fails too, the
            // next open does it).
            if let Err(cut) = self.file.set_len(self.len) {
                tracing::warn!(path = %self.path.display(), error = %cut, "cannot cut a partly written record off; it is cut when the file is opened again");
            }
            return Err(SinkError {
                context: format!("writing {}", self.path.display()),
                error,
            });
        }
        self.len += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }
}

/// Cuts a torn last line (bytes after the last newline) off `file`; returns the length left.
fn cut_torn_tail(file: &mut File, path: &Path) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    // Back from the end to the last newline.
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let piece = chunk
            .get_mut(..usize::try_from(end - start).unwrap_or(0))
            .unwrap_or_default();
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(piece)?;
        if let Some(at) = memchr::memrchr(b'\n', piece) {
            end = start + at as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        tracing::warn!(path = %path.display(), bytes = len - end, "output file ends with a partial record (a crash or a failed write); cutting it off: its records are written again");
        file.set_len(end)?;
    }
    Ok(end)
}

/// Writes each topic's records to its own file in one directory.
pub struct DirectorySink {
    dir: PathBuf,
    /// Topics written to a file of their own instead of `<dir>/<topic>.jsonl` (the
    /// `file://` outputs of `eventlogging-processor`).
    named: HashMap<String, PathBuf>,
    fsync: bool,
    /// Topic -> index in `topic_files`.
    files: HashMap<String, usize>,
    topic_files: Vec<TopicFile>,
    /// Per name id of the batch being accepted: its topic file, once looked up.
    batch_files: Vec<Option<usize>>,
    pending: PendingAcks,
    stats: Arc<Stats>,
}

impl DirectorySink {
    /// Creates the directory if needed. The topics of `named` go to the files given there.
    pub fn open(
        dir: PathBuf,
        named: HashMap<String, PathBuf>,
        fsync: bool,
        stats: Arc<Stats>,
    ) -> Result<Self, SinkError> {
        std::fs::create_dir_all(&dir).map_err(|error| SinkError {
            context: format!("cannot create output directory {}", dir.display()),
            error,
        })?;
        for path in named.values() {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|error| SinkError {
                    context: format!("cannot create output directory {}", parent.display()),
                    error,
                })?;
            }
        }
        Ok(DirectorySink {
            dir,
            named,
            fsync,
            files: HashMap::new(),
            topic_files: Vec::new(),
            batch_files: Vec::new(),
            pending: PendingAcks::default(),
            stats,
        })
    }

    /// The index in `topic_files` of `topic`'s file, opened on first use.
    fn topic_file(&mut self, topic: &str) -> Result<usize, SinkError> {
        if let Some(&index) = self.files.get(topic) {
            return Ok(index);
        }
        // Topics are checked when routed; check again because the name becomes a path.
        check_topic_name(topic).map_err(|e| SinkError {
            context: format!("refusing to create a file for topic {topic:?}"),
            error: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        })?;
        let path = match self.named.get(topic) {
            Some(path) => path.clone(),
            None => file_path(&self.dir, topic),
        };
        let file = TopicFile::open(path)?;
        let index = self.topic_files.len();
        self.topic_files.push(file);
        self.files.insert(topic.to_owned(), index);
        Ok(index)
    }
}

fn file_path(dir: &Path, topic: &str) -> PathBuf {
    dir.join(format!("{topic}.jsonl"))
}

impl Sink for DirectorySink {
    fn accept(&mut self, batch: ProcessedBatch) -> Result<(), SinkError> {
        let tally = Tally::of(&batch);
        // Each topic of the batch is looked up once, by its name id.
        self.batch_files.clear();
        self.batch_files.resize(batch.records.name_count(), None);
        for record in batch.records.iter() {
            let slot = record.topic_id as usize;
            let index = match self.batch_files.get(slot).copied().flatten() {
                Some(index) => index,
                None => {
                    let index = self.topic_file(record.topic)?;
                    if let Some(known) = self.batch_files.get_mut(slot) {
                        *known = Some(index);
                    }
                    index
                }
            };
            let file = self.topic_files.get_mut(index).ok_or_else(|| SinkError {
                context: format!("no file for topic {}", record.topic),
                error: std::io::Error::other("file vanished"),
            })?;
            if file.buffer.len() + record.payload.len() + 1 > WRITE_BUFFER_BYTES {
                file.write_out()?;
            }
            file.buffer.extend_from_slice(record.payload);
            file.buffer.push(b'\n');
        }
        self.pending.push(tally, batch.ack);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        for file in &mut self.topic_files {
            file.write_out()?;
            if self.fsync {
                file.file.sync_data().map_err(|error| SinkError {
                    context: format!("syncing {}", file.path.display()),
                    error,
                })?;
            }
        }
        self.pending.acknowledge_all(&self.stats);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_off_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"tor").unwrap();
        let mut file = TopicFile::open(path.clone()).unwrap();
        file.buffer.extend_from_slice(b"{\"b\":2}\n");
        file.write_out().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );

        let mut again = TopicFile::open(path.clone()).unwrap();
        assert_eq!(again.len, 16, "a complete file is left as it is");
        again.write_out().unwrap();

        // Only a partial record: nothing is left.
        std::fs::write(&path, "{\"partial").unwrap();
        assert_eq!(TopicFile::open(path.clone()).unwrap().len, 0);
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }
}
