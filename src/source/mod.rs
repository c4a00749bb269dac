//! Sources: where raw lines come from (stdin, files read once, files followed by the tailer, a
//! Kafka raw topic) or events (the HTTP intake).
//!
//! Each source runs on its own thread, cuts its input into [`LineBatch`]es and sends them into a
//! bounded channel: when the pipeline is full, `send` blocks and reading pauses (backpressure).
//! Acknowledgements come back through the source's [`DeliveryTracker`].

mod batch;
mod delivery;
mod file_once;
pub mod http;
pub mod kafka;
mod line_assembler;
mod stream_reader;
pub mod tail;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::stats::Stats;

pub use batch::{BatchBuilder, LineBatch, OverlongLine};
pub use delivery::{DeliveryTracker, StreamDelivery};
pub use kafka::{KafkaSourceSettings, StartFrom};
pub use line_assembler::LineAssembler;
pub use tail::{ReadFrom, TailSettings};

/// Batch and line limits shared by all sources.
#[derive(Debug, Clone, Copy)]
pub struct SourceSettings {
    /// A batch is sent once it holds this many lines...
    pub batch_lines: usize,
    /// ...or this many bytes of line data.
    pub batch_bytes: usize,
    /// Lines longer than this are cut to this length and turned into error records.
    pub max_line_bytes: usize,
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings {
            batch_lines: 1024,
            batch_bytes: 1024 * 1024,
            max_line_bytes: 64 * 1024,
        }
    }
}

/// What to read.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// Standard input, to its end.
    Stdin,
    /// These files, each to its end, in order.
    FilesOnce(Vec<PathBuf>),
    /// Files matching glob patterns, followed as they grow (until stopped), with checkpoints.
    FilesTail(TailSettings),
    /// Raw topics consumed in a consumer group; offsets are committed only after delivery.
    Kafka(KafkaSourceSettings),
    /// The HTTP intake: events posted to `/v1/events`, answered after delivery.
    Http(http::HttpIntakeSettings),
}

impl SourceSpec {
    /// Short name used in counters and logs.
    pub fn name(&self) -> &'static str {
        match self {
            SourceSpec::Stdin => "stdin",
            SourceSpec::FilesOnce(_) => "files",
            SourceSpec::FilesTail(_) => "files",
            SourceSpec::Kafka(_) => "kafka",
            SourceSpec::Http(_) => "http",
        }
    }
}

/// Why a source stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading failed.
    #[error("reading {name} failed: {error}")]
    Read {
        /// What was being read.
        name: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A file could not be opened.
    #[error("cannot open {path}: {error}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The pipeline is gone (its workers stopped), so nothing more can be sent.
    #[error("the pipeline stopped accepting input")]
    PipelineClosed,
    /// The tailer's checkpoint store cannot be opened or written.
    #[error("checkpoints: {0}")]
    Checkpoint(#[source] tail::CheckpointError),
    /// The Kafka consumer cannot be created or used.
    #[error("kafka: {0}")]
    Kafka(String),
}

/// Everything a running source needs: where to send batches, whom to tell about acks, when to stop.
#[derive(Clone)]
pub struct SourceContext {
    /// Source name for counters.
    pub name: Arc<str>,
    /// Batch and line limits.
    pub settings: SourceSettings,
    /// Receives the acknowledgements of this source's batches.
    pub tracker: Arc<DeliveryTracker>,
    sender: Sender<LineBatch>,
    stop: Arc<AtomicBool>,
    /// Telemetry of the run, if any.
    pub stats: Option<Arc<Stats>>,
    /// The next batch's sequence number ([`crate::ack::BatchAck::sequence`]), shared by clones.
    next_sequence: Arc<std::sync::atomic::AtomicU64>,
    /// Set when the sink commits the input offsets in its transactions (exactly-once delivery).
    pub transactions: Option<Arc<crate::kafka::TransactionLink>>,
    /// The schemas and streams in use (the HTTP intake serves the stream configuration).
    pub catalog: Option<Arc<crate::catalog::Catalog>>,
}

impl SourceContext {
    /// A context sending into `sender` and watching `stop`.
    pub fn new(
        name: &str,
        settings: SourceSettings,
        tracker: Arc<DeliveryTracker>,
        sender: Sender<LineBatch>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        SourceContext {
            name: Arc::from(name),
            settings,
            tracker,
            sender,
            stop,
            stats: None,
            next_sequence: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            transactions: None,
            catalog: None,
        }
    }

    /// Gives the source the catalog in use.
    pub fn with_catalog(mut self, catalog: Arc<crate::catalog::Catalog>) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// Lets the source's offsets be committed by the sink's transactions through `link`.
    pub fn with_transactions(mut self, link: Arc<crate::kafka::TransactionLink>) -> Self {
        self.transactions = Some(link);
        self
    }

    /// Reports lines read, queue depth and source details into `stats`.
    pub fn with_stats(mut self, stats: Arc<Stats>) -> Self {
        self.stats = Some(stats);
        self
    }

    /// Whether the source was asked to stop reading.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// A fresh batch builder sized for the settings.
    pub fn new_builder(&self) -> BatchBuilder {
        BatchBuilder::with_capacity(
            self.settings.batch_lines,
            self.settings.batch_bytes.min(4 * 1024 * 1024),
        )
    }

    /// Whether `builder` should be sent now.
    pub fn batch_full(&self, builder: &BatchBuilder) -> bool {
        builder.len() >= self.settings.batch_lines || builder.bytes() >= self.settings.batch_bytes
    }

    /// Sends a batch, blocking while the pipeline is full.
    pub fn send(&self, batch: LineBatch) -> Result<(), SourceError> {
        self.send_or_wait(batch, |batch| self.send_blocking(batch))
    }

    /// The blocking send of [`send_or_wait`](Self::send_or_wait) (the batch already numbered).
    pub fn send_blocking(&self, batch: LineBatch) -> Result<(), SourceError> {
        self.sender
            .send(batch)
            .map_err(|_| SourceError::PipelineClosed)
    }

    /// Sends a batch; when the pipeline is full, `wait(send)` is called with the blocking send
    /// (an async caller wraps it so that its runtime keeps running other tasks meanwhile).
    pub fn send_or_wait(
        &self,
        mut batch: LineBatch,
        wait: impl FnOnce(LineBatch) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let lines = batch.len() as u64;
        let bytes = batch.input_bytes();
        batch
            .ack_mut()
            .set_sequence(self.next_sequence.fetch_add(1, Ordering::Relaxed));
        match self.sender.try_send(batch) {
            Ok(()) => {}
            Err(crossbeam_channel::TrySendError::Full(batch)) => {
                wait(batch)?;
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                return Err(SourceError::PipelineClosed)
            }
        }
        if let Some(stats) = &self.stats {
            stats.record_read(&self.name, lines);
            stats.record_bytes_read(bytes);
            stats.set_queue("lines", self.sender.len());
        }
        Ok(())
    }
}

/// Runs the source described by `spec` until its input ends or `ctx` says stop. Returns the
/// number of lines read.
pub fn run_source(spec: &SourceSpec, ctx: &SourceContext) -> Result<u64, SourceError> {
    match spec {
        SourceSpec::Stdin => {
            let stdin = std::io::stdin();
            let lock = stdin.lock();
            stream_reader::read_to_end(ctx, 0, "stdin", lock)
        }
        SourceSpec::FilesOnce(paths) => file_once::read_files(ctx, paths),
        SourceSpec::FilesTail(settings) => tail::follow(ctx, settings),
        SourceSpec::Kafka(settings) => kafka::consume(ctx, settings),
        SourceSpec::Http(settings) => http::serve(ctx, settings),
    }
}
