//! The directory sink: one JSON-lines file per topic, `<dir>/<topic>.jsonl`, appended to.
//!
//! Records are buffered per topic and written whole: a buffer is handed to the file only at a
//! record boundary, so a crash cannot leave half a record followed by the next run's output. A
//! file whose last line was torn anyway (a crash inside a write) gets a newline before anything
//! is appended, so the torn line stays a line of its own; its batch was never acknowledged, so
//! its record is written again after the restart.

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
        let torn = ends_without_newline(&mut file).map_err(|error| SinkError {
            context: format!("cannot read the end of {}", path.display()),
            error,
        })?;
        let mut buffer = Vec::with_capacity(WRITE_BUFFER_BYTES);
        if torn {
            tracing::warn!(path = %path.display(), "output file ends with an unterminated line (torn by a crash); terminating it");
            buffer.push(b'\n');
        }
        Ok(TopicFile { path, file, buffer })
    }

    fn write_out(&mut self) -> Result<(), SinkError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.buffer)
            .map_err(|error| SinkError {
                context: format!("writing {}", self.path.display()),
                error,
            })?;
        self.buffer.clear();
        Ok(())
    }
}

fn ends_without_newline(file: &mut File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// Writes each topic's records to its own file in one directory.
pub struct DirectorySink {
    dir: PathBuf,
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
    /// Creates the directory if needed.
    pub fn open(dir: PathBuf, fsync: bool, stats: Arc<Stats>) -> Result<Self, SinkError> {
        std::fs::create_dir_all(&dir).map_err(|error| SinkError {
            context: format!("cannot create output directory {}", dir.display()),
            error,
        })?;
        Ok(DirectorySink {
            dir,
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
        let file = TopicFile::open(file_path(&self.dir, topic))?;
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
    fn a_torn_last_line_is_terminated_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"tor").unwrap();
        let mut file = TopicFile::open(path.clone()).unwrap();
        file.buffer.extend_from_slice(b"{\"b\":2}\n");
        file.write_out().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"tor\n{\"b\":2}\n"
        );

        let mut again = TopicFile::open(path.clone()).unwrap();
        assert!(again.buffer.is_empty(), "a complete file needs no repair");
        again.write_out().unwrap();
    }
}
