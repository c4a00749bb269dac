//! The directory sink: one JSON-lines file per topic, `<dir>/<topic>.jsonl`, appended to.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::record::{ProcessedBatch, Tally};
use crate::stats::Stats;
use crate::topic::check_topic_name;

use super::{PendingAcks, Sink, SinkError};

const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Writes each topic's records to its own file in one directory.
pub struct DirectorySink {
    dir: PathBuf,
    fsync: bool,
    files: HashMap<String, BufWriter<File>>,
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
            pending: PendingAcks::default(),
            stats,
        })
    }

    fn writer(&mut self, topic: &str) -> Result<&mut BufWriter<File>, SinkError> {
        if !self.files.contains_key(topic) {
            // Topics are checked when routed; check again because the name becomes a path.
            check_topic_name(topic).map_err(|e| SinkError {
                context: format!("refusing to create a file for topic {topic:?}"),
                error: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            })?;
            let path = self.dir.join(format!("{topic}.jsonl"));
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|error| SinkError {
                    context: format!("cannot open {}", path.display()),
                    error,
                })?;
            self.files.insert(
                topic.to_owned(),
                BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            );
        }
        self.files.get_mut(topic).ok_or_else(|| SinkError {
            context: format!("no writer for topic {topic}"),
            error: std::io::Error::other("writer vanished"),
        })
    }
}

impl Sink for DirectorySink {
    fn accept(&mut self, batch: ProcessedBatch) -> Result<(), SinkError> {
        let tally = Tally::of(&batch);
        for record in &batch.records {
            let dir = self.dir.display().to_string();
            let writer = self.writer(&record.topic)?;
            writer
                .write_all(&record.payload)
                .and_then(|()| writer.write_all(b"\n"))
                .map_err(|error| SinkError {
                    context: format!("writing topic {} in {dir}", record.topic),
                    error,
                })?;
        }
        self.pending.push(tally, batch.ack);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        for (topic, writer) in self.files.iter_mut() {
            writer.flush().map_err(|error| SinkError {
                context: format!("flushing topic {topic}"),
                error,
            })?;
            if self.fsync {
                writer.get_ref().sync_data().map_err(|error| SinkError {
                    context: format!("syncing topic {topic}"),
                    error,
                })?;
            }
        }
        self.pending.acknowledge_all(&self.stats);
        Ok(())
    }
}
