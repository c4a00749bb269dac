//! Sinks: where output records go. Each sink acknowledges a batch only once every record of it
//! is written durably enough for that sink (directory and stdout: flushed to the OS).

mod directory;
pub mod kafka;
mod kafka_transactional;
mod stdout;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::ack::BatchAck;
use crate::kafka::TransactionLink;
use crate::record::{ProcessedBatch, Tally};
use crate::stats::Stats;

pub use directory::DirectorySink;
pub use kafka::{FailedRecordRouter, KafkaSink, KafkaSinkSettings, RefusedRecord, PRODUCE_REASON};
pub use kafka_transactional::{TransactionSettings, TransactionalKafkaSink};
pub use stdout::StdoutSink;

/// Which sink to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum SinkSpec {
    /// One JSON-lines file per topic in a directory: `<dir>/<topic>.jsonl`.
    Directory {
        /// The directory (created if missing).
        path: PathBuf,
        /// Topics written to these files instead of `<dir>/<topic>.jsonl`.
        named: Vec<(String, PathBuf)>,
        /// Also `fsync` the files before acknowledging (survives power loss, not just crashes).
        fsync: bool,
    },
    /// Every event as one JSON line on standard output.
    Stdout,
    /// Every event to its Kafka topic; acknowledged on delivery reports.
    Kafka(KafkaSinkSettings),
}

/// Why a sink failed. A failed sink stops the pipeline; unacknowledged input is not counted as
/// delivered.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {error}")]
pub struct SinkError {
    /// What the sink was doing.
    pub context: String,
    /// The I/O error.
    pub error: std::io::Error,
}

/// A destination for processed batches.
pub trait Sink: Send {
    /// Takes one batch. The sink must eventually acknowledge it (after a later [`flush`](Self::flush)
    /// at the latest) once every record is written.
    fn accept(&mut self, batch: ProcessedBatch) -> Result<(), SinkError>;
    /// Makes everything accepted so far durable and acknowledges it. Called whenever no further
    /// batch is immediately waiting, and before shutdown.
    fn flush(&mut self) -> Result<(), SinkError>;
    /// Delivers everything accepted (bounded by the sink's own timeout) before the run ends.
    fn finish(&mut self) -> Result<(), SinkError> {
        self.flush()
    }

    /// Called when no batch has arrived for a while (about 100 ms), for sinks that act on time
    /// (the transactional Kafka sink commits its open transaction).
    fn tick(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Whether batches must arrive in the order their source sent them (the pipeline then
    /// restores that order after the workers).
    fn wants_input_order(&self) -> bool {
        false
    }
}

/// Opens the sink described by `spec`; a transactional Kafka sink commits the input offsets of
/// a Kafka source through `transactions`.
pub fn open_sink(
    spec: &SinkSpec,
    stats: Arc<Stats>,
    router: Arc<dyn FailedRecordRouter>,
    stop: Arc<AtomicBool>,
    transactions: Option<Arc<TransactionLink>>,
) -> Result<Box<dyn Sink>, SinkError> {
    match spec {
        SinkSpec::Directory { path, named, fsync } => Ok(Box::new(DirectorySink::open(
            path.clone(),
            named.iter().cloned().collect(),
            *fsync,
            stats,
        )?)),
        SinkSpec::Stdout => Ok(Box::new(StdoutSink::new(stats))),
        SinkSpec::Kafka(settings) if settings.transactions.is_some() => Ok(Box::new(
            TransactionalKafkaSink::open(settings, router, stats, stop, transactions)?,
        )),
        SinkSpec::Kafka(settings) => Ok(Box::new(KafkaSink::open(settings, router, stats, stop)?)),
    }
}

/// Batches written but not yet flushed: acknowledged and counted together at the next flush.
#[derive(Debug, Default)]
pub struct PendingAcks {
    pending: Vec<(Tally, BatchAck)>,
}

impl PendingAcks {
    /// Remembers a written batch.
    pub fn push(&mut self, tally: Tally, ack: BatchAck) {
        self.pending.push((tally, ack));
    }

    /// Counts and acknowledges every remembered batch (call after a successful flush).
    pub fn acknowledge_all(&mut self, stats: &Stats) {
        for (tally, ack) in self.pending.drain(..) {
            stats.record_delivered(&tally, Some(ack.read_at()));
            ack.acknowledge();
        }
    }

    /// Number of batches waiting for a flush.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits for a flush.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
