//! The stdout sink: every record as one JSON line on standard output.

use std::io::{BufWriter, Stdout, Write};
use std::sync::Arc;

use crate::record::{ProcessedBatch, Tally};
use crate::stats::Stats;

use super::{PendingAcks, Sink, SinkError};

/// Writes every record, valid or error, to standard output.
pub struct StdoutSink {
    out: BufWriter<Stdout>,
    pending: PendingAcks,
    stats: Arc<Stats>,
}

impl StdoutSink {
    /// A sink on this process's standard output.
    pub fn new(stats: Arc<Stats>) -> Self {
        StdoutSink {
            out: BufWriter::with_capacity(256 * 1024, std::io::stdout()),
            pending: PendingAcks::default(),
            stats,
        }
    }
}

fn stdout_error(error: std::io::Error) -> SinkError {
    SinkError {
        context: "writing to standard output".to_owned(),
        error,
    }
}

impl Sink for StdoutSink {
    fn accept(&mut self, batch: ProcessedBatch) -> Result<(), SinkError> {
        let tally = Tally::of(&batch);
        for record in batch.records.iter() {
            self.out.write_all(record.payload).map_err(stdout_error)?;
            self.out.write_all(b"\n").map_err(stdout_error)?;
        }
        self.pending.push(tally, batch.ack);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.out.flush().map_err(stdout_error)?;
        self.pending.acknowledge_all(&self.stats);
        Ok(())
    }
}
