//! Wires a source, the worker threads and a sink together:
//!
//! ```text
//! source thread --LineBatch--> N worker threads --ProcessedBatch--> sink thread
//!      ^                                                                |
//!      +------------------- acknowledgements (BatchAck) ----------------+
//! ```
//!
//! Every channel is bounded, so a slow sink slows the workers, which slow the source: memory
//! stays bounded whatever the backlog. Stopping (a signal, or the end of finite input) closes the
//! source; the workers and the sink then drain what is in flight, the sink flushes, and every
//! delivered batch is acknowledged before [`run`] returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::input_order::InputOrder;
use crate::kafka::TransactionLink;

use crate::clock::Clock;
use crate::processor::{Processor, Worker};
use crate::record::batch::RecordBatch;
use crate::record::{ProcessedBatch, Tally};
use crate::sink::{open_sink, FailedRecordRouter, Sink, SinkError, SinkSpec};
use crate::source::{
    run_source, DeliveryTracker, LineBatch, SourceContext, SourceError, SourceSettings, SourceSpec,
};
use crate::stats::Stats;

/// Threading and queueing.
#[derive(Debug, Clone, Copy)]
pub struct PipelineSettings {
    /// Worker threads (0: one per available core).
    pub workers: usize,
    /// Batches that may wait in each queue.
    pub queue_batches: usize,
    /// Batches the sink takes in before it flushes, when more are waiting.
    pub max_batches_per_flush: usize,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            workers: 0,
            queue_batches: 8,
            max_batches_per_flush: 32,
        }
    }
}

impl PipelineSettings {
    /// The number of worker threads to start.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            thread::available_parallelism().map_or(2, usize::from)
        }
    }
}

/// Why a run ended badly.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The source failed.
    #[error("source failed: {0}")]
    Source(#[from] SourceError),
    /// The sink failed.
    #[error("sink failed: {0}")]
    Sink(#[from] SinkError),
    /// A pipeline thread could not be started or died.
    #[error("pipeline thread failure: {0}")]
    Thread(String),
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Lines the source read.
    pub lines_read: u64,
    /// Counts of delivered records.
    pub totals: Tally,
    /// Lines acknowledged back to the source.
    pub lines_acknowledged: u64,
    /// When the first line reached a worker, after the start (none if no line came): start-up
    /// costs (schemas, consumer group join) come before it.
    pub first_line_after: Option<Duration>,
}

/// Runs the pipeline until the source ends or `stop` is set, then drains and returns.
pub fn run(
    source: &SourceSpec,
    source_settings: SourceSettings,
    processor: Arc<Processor>,
    sink: &SinkSpec,
    settings: PipelineSettings,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
) -> Result<RunReport, PipelineError> {
    let kinds = (source.name(), sink_kind(sink));
    let router: Arc<dyn FailedRecordRouter> = Arc::clone(&processor) as _;
    // Exactly-once: the transactional sink commits the Kafka source's offsets, or the file
    // source's checkpoints.
    let transactions = match (source, sink) {
        (SourceSpec::Kafka(input), SinkSpec::Kafka(output))
            if input.offsets_in_transactions && output.transactions.is_some() =>
        {
            Some(Arc::new(TransactionLink::default()))
        }
        (SourceSpec::FilesTail(_), SinkSpec::Kafka(output))
            if output
                .transactions
                .as_ref()
                .is_some_and(|t| t.checkpoint_topic.is_some()) =>
        {
            Some(Arc::new(TransactionLink::default()))
        }
        _ => None,
    };
    let mut sink = open_sink(
        sink,
        Arc::clone(&stats),
        router,
        Arc::clone(&stop),
        transactions.clone(),
    )?;
    let queue = settings.queue_batches.max(1);
    let (line_tx, line_rx) = bounded::<LineBatch>(queue);
    let (out_tx, out_rx) = bounded::<ProcessedBatch>(queue);
    let tracker = Arc::new(DeliveryTracker::default());
    let started = Instant::now();
    let first_line = OnceLock::new();
    let ctx = SourceContext::new(
        source.name(),
        source_settings,
        Arc::clone(&tracker),
        line_tx,
        Arc::clone(&stop),
    )
    .with_stats(Arc::clone(&stats))
    .with_catalog(Arc::clone(processor.catalog()));
    let ctx = match transactions {
        Some(link) => ctx.with_transactions(link),
        None => ctx,
    };
    stats.set_running(true, kinds.0, kinds.1);

    let result = thread::scope(|scope| {
        let source_handle = thread::Builder::new()
            .name("source".into())
            .spawn_scoped(scope, move || {
                let result = run_source(source, &ctx);
                drop(ctx);
                result
            })
            .map_err(|e| PipelineError::Thread(e.to_string()))?;

        let mut workers = Vec::new();
        for index in 0..settings.worker_count() {
            let rx = line_rx.clone();
            let tx = out_tx.clone();
            let processor = Arc::clone(&processor);
            let first_line = &first_line;
            let stats = &stats;
            let handle = thread::Builder::new()
                .name(format!("worker-{index}"))
                .spawn_scoped(scope, move || work(&processor, &rx, &tx, first_line, stats))
                .map_err(|e| PipelineError::Thread(e.to_string()))?;
            workers.push(handle);
        }
        drop(line_rx);
        drop(out_tx);

        let sink_result = drain_into_sink(sink.as_mut(), &out_rx, settings.max_batches_per_flush);
        if sink_result.is_err() {
            stats.set_failed();
            // Nothing more can be delivered: stop reading. Workers exit when their sends fail.
            stop.store(true, Ordering::Relaxed);
            drop(out_rx);
        }
        let source_result = source_handle
            .join()
            .map_err(|_| PipelineError::Thread("the source thread panicked".into()))?;
        for worker in workers {
            worker
                .join()
                .map_err(|_| PipelineError::Thread("a worker thread panicked".into()))?;
        }
        sink_result?;
        let lines_read = source_result?;
        Ok::<u64, PipelineError>(lines_read)
    })?;

    stats.set_running(false, kinds.0, kinds.1);
    Ok(RunReport {
        lines_read: result,
        totals: stats.snapshot(),
        lines_acknowledged: tracker.delivered_lines(),
        first_line_after: first_line
            .get()
            .map(|at: &Instant| at.saturating_duration_since(started)),
    })
}

fn work(
    processor: &Processor,
    rx: &Receiver<LineBatch>,
    tx: &Sender<ProcessedBatch>,
    first_line: &OnceLock<Instant>,
    stats: &Stats,
) {
    let mut worker = processor.worker();
    for batch in rx.iter() {
        if first_line.get().is_none() {
            let _ = first_line.set(Instant::now());
        }
        let clock = Clock::now();
        let records = if batch.requests().is_empty() {
            process_lines(&mut worker, &batch, clock)
        } else {
            process_requests(&mut worker, &batch, clock)
        };
        let (records, skipped) = processor.settings().routes.apply(records);
        let source = Arc::clone(&batch.source);
        let processed = ProcessedBatch {
            source,
            records,
            skipped,
            ack: batch.into_ack(),
        };
        if tx.send(processed).is_err() {
            return;
        }
        stats.set_queue("records", tx.len());
    }
}

/// A batch of raw lines: one record per line, lines cut at the maximum length marked.
fn process_lines(worker: &mut Worker<'_>, batch: &LineBatch, clock: Clock) -> RecordBatch {
    let mut overlong = batch.overlong().iter().peekable();
    let lines = batch.lines().enumerate().map(|(index, line)| {
        let cut = match overlong.peek() {
            Some(o) if o.index == index => {
                let bytes = o.original_bytes;
                overlong.next();
                Some(bytes)
            }
            _ => None,
        };
        (line, cut)
    });
    worker.process_batch(lines, clock)
}

/// A batch of HTTP intake requests' events: one record per event, each request's verdicts
/// recorded in it.
fn process_requests(worker: &mut Worker<'_>, batch: &LineBatch, clock: Clock) -> RecordBatch {
    let requests = batch
        .requests()
        .iter()
        .map(|(request, count)| (request, *count));
    worker.process_requests(requests, batch.lines(), clock)
}

/// How long the sink thread waits for a batch before it calls [`Sink::tick`].
const SINK_TICK: Duration = Duration::from_millis(100);

fn drain_into_sink(
    sink: &mut dyn Sink,
    rx: &Receiver<ProcessedBatch>,
    max_batches_per_flush: usize,
) -> Result<(), SinkError> {
    let mut order = sink.wants_input_order().then(InputOrder::default);
    let mut accept = |sink: &mut dyn Sink, batch: ProcessedBatch| match order.as_mut() {
        Some(order) => {
            for batch in order.release(batch) {
                sink.accept(batch)?;
            }
            Ok(())
        }
        None => sink.accept(batch),
    };
    loop {
        let first = match rx.recv_timeout(SINK_TICK) {
            Ok(batch) => batch,
            Err(RecvTimeoutError::Timeout) => {
                sink.tick()?;
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        accept(sink, first)?;
        let mut taken = 1;
        while taken < max_batches_per_flush {
            match rx.try_recv() {
                Ok(batch) => {
                    accept(sink, batch)?;
                    taken += 1;
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        sink.flush()?;
    }
    sink.finish()
}

/// Short name of a sink kind, for the status page.
fn sink_kind(sink: &SinkSpec) -> &'static str {
    match sink {
        SinkSpec::Directory { .. } => "directory",
        SinkSpec::Stdout => "stdout",
        SinkSpec::Kafka(_) => "kafka",
    }
}
