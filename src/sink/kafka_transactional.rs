//! Kafka sink with transactions: exactly-once delivery (`delivery: exactly_once`).
//!
//! Records are produced inside a Kafka transaction, with the input offsets they derive from
//! (each batch's partition and end offset, from its acknowledgement handle) sent into the same
//! transaction with the consumer group's metadata. Every `interval` the transaction is
//! committed: its records become visible to `read_committed` readers and its input offsets
//! become the group's committed offsets in one atomic step. Batches are acknowledged only then,
//! so the source's drain on a revoke waits for the commit. A crash at any point leaves either
//! the whole transaction (records and offsets) or none of it: the next owner of a partition
//! starts after the last committed batch and no `read_committed` reader sees a line twice.
//!
//! File input (`delivery: exactly_once` with a tailed `files` input) works the same way with
//! the tailer's checkpoint in place of the input offsets: every batch carries the checkpoint its
//! delivery makes true, and the last one of a transaction is produced into it, to the compacted
//! checkpoint topic (`crate::kafka::checkpoint_topic`), from which the tailer resumes.
//!
//! Batches reach this sink in the order their source sent them (the pipeline restores it), so
//! the batches of a transaction always continue each partition's committed offset without a
//! gap. What a failure does:
//! - a record Kafka refuses for good at `send` (too large for the producer): replaced by its
//!   error event, as in the at-least-once sink;
//! - any failed delivery report (the broker refused a record, its timestamp, or a retry budget
//!   ran out), a failed flush, or an error that requires it: the transaction is aborted and
//!   every record of it produced again in a new one, refused records replaced by their error
//!   events and refused timestamps by the produce time;
//! - retriable errors of the transactional calls: the call is made again;
//! - fatal errors (another producer took this `transactional.id`, ...), or the source gave up
//!   partitions without their offsets committed: the sink fails, the run stops, and nothing of
//!   the open transaction is ever visible (the broker aborts it).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaError};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::ack::BatchAck;
use crate::kafka::{
    classify_produce_error, describe_problems, LoggingContext, ProduceFailure, TransactionLink,
};
use crate::record::batch::RecordBatch;
use crate::record::{ProcessedBatch, Tally};
use crate::stats::Stats;

use super::kafka::{
    kafka_error, FailedRecordRouter, KafkaSinkSettings, RefusedRecord, PRODUCE_REASON,
};
use super::{Sink, SinkError};

/// Transaction settings of a Kafka sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSettings {
    /// `transactional.id`: unique among the producers running at the same time.
    pub transactional_id: String,
    /// How often the open transaction is committed (the latency `read_committed` readers see).
    pub interval: Duration,
    /// `transaction.timeout.ms`: how long the broker keeps a transaction of a vanished producer
    /// open (`read_committed` readers of its partitions wait that long).
    pub timeout: Duration,
    /// File input: the compacted topic the tailer's checkpoint is committed to with the records
    /// (keyed by the `transactional.id`), and read back from at start.
    pub checkpoint_topic: Option<String>,
}

/// Bits of a delivery tag: attempt (16) | batch index (24) | record index (24).
const INDEX_BITS: u32 = 24;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// The batch index in the delivery tag of a transaction's checkpoint record (file input); no
/// batch has it, as a transaction is committed before it holds that many.
const CHECKPOINT_BATCH: usize = INDEX_MASK;

fn tag(attempt: u16, batch: usize, record: usize) -> usize {
    (usize::from(attempt) << (2 * INDEX_BITS))
        | ((batch & INDEX_MASK) << INDEX_BITS)
        | (record & INDEX_MASK)
}

fn untag(tag: usize) -> (u16, usize, usize) {
    (
        u16::try_from(tag >> (2 * INDEX_BITS)).unwrap_or(u16::MAX),
        (tag >> INDEX_BITS) & INDEX_MASK,
        tag & INDEX_MASK,
    )
}

/// A failed delivery report.
struct Failure {
    tag: usize,
    kind: ProduceFailure,
    reason: String,
}

struct TxnContext {
    failures: Mutex<Vec<Failure>>,
    logging: LoggingContext,
    stats: Arc<Stats>,
}

impl ClientContext for TxnContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.logging.report_log(level, fac, log_message);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        if let Some(up) = crate::kafka::brokers_up(statistics) {
            self.stats.set_kafka_brokers_up("sink", up);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.logging.report_error(&error, reason);
    }
}

impl ProducerContext for TxnContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, tag: usize) {
        if let Err((error, message)) = result {
            use rdkafka::message::Message;
            let failure = Failure {
                tag,
                kind: classify_produce_error(error),
                reason: format!(
                    "Kafka refused the event for topic {}: {error}",
                    message.topic()
                ),
            };
            self.failures
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(failure);
        }
    }
}

type TxnProducer = BaseProducer<TxnContext>;

/// One batch in the open transaction.
struct TxnBatch {
    records: RecordBatch,
    tally: Tally,
    ack: BatchAck,
    /// Records produced with the produce time as their timestamp (the broker refused theirs).
    plain_timestamps: HashSet<usize>,
}

/// How a transactional call failed.
enum TxnFailure {
    Retry(String),
    Abort(String),
    Fatal(String),
}

fn classify_txn(error: &KafkaError) -> TxnFailure {
    let text = error.to_string();
    match error {
        KafkaError::Transaction(e) => classify_rd(e, text),
        KafkaError::Flush(_) => TxnFailure::Abort(text),
        _ => TxnFailure::Fatal(text),
    }
}

fn classify_rd(error: &RDKafkaError, text: String) -> TxnFailure {
    if error.is_fatal() {
        TxnFailure::Fatal(text)
    } else if error.txn_requires_abort() {
        TxnFailure::Abort(text)
    } else if error.is_retriable() {
        TxnFailure::Retry(text)
    } else {
        TxnFailure::Fatal(text)
    }
}

/// The transactional Kafka sink.
pub struct TransactionalKafkaSink {
    producer: TxnProducer,
    context: Arc<TxnContext>,
    router: Arc<dyn FailedRecordRouter>,
    stats: Arc<Stats>,
    link: Option<Arc<TransactionLink>>,
    stop: Arc<AtomicBool>,
    settings: TransactionSettings,
    /// Time limit of one transactional call (and of a flush).
    call_timeout: Duration,
    /// How long `finish` may try to commit.
    flush_timeout: Duration,
    event_timestamps: bool,
    batches: Vec<TxnBatch>,
    /// When the first batch of the open transaction was produced.
    opened_at: Option<Instant>,
    attempt: u16,
    /// The attempt in which the open transaction's checkpoint record was produced.
    checkpoint_produced: Option<u16>,
    failed: Option<String>,
}

impl TransactionalKafkaSink {
    /// Connects, registers the `transactional.id` (fencing any older producer with it) and
    /// opens the first transaction.
    pub fn open(
        settings: &KafkaSinkSettings,
        router: Arc<dyn FailedRecordRouter>,
        stats: Arc<Stats>,
        stop: Arc<AtomicBool>,
        link: Option<Arc<TransactionLink>>,
    ) -> Result<Self, SinkError> {
        let Some(transactions) = settings.transactions.clone() else {
            return Err(kafka_error(
                "configuring the producer",
                "no transaction settings".into(),
            ));
        };
        let config = settings.client_config().map_err(|problems| {
            kafka_error("configuring the producer", describe_problems(&problems))
        })?;
        stats.expect_kafka_client("sink");
        let context = TxnContext {
            failures: Mutex::new(Vec::new()),
            logging: LoggingContext::new("sink"),
            stats: Arc::clone(&stats),
        };
        let producer: TxnProducer = config
            .create_with_context(context)
            .map_err(|e| kafka_error("creating the producer", e.to_string()))?;
        let call_timeout = settings.flush_timeout.max(Duration::from_secs(10));
        // A killed predecessor's open transaction must be aborted by the broker first; until
        // then the call fails with a retriable error (CONCURRENT_TRANSACTIONS, a timeout).
        let deadline = Instant::now() + transactions.timeout * 2 + Duration::from_secs(10);
        loop {
            match producer.init_transactions(call_timeout) {
                Ok(()) => break,
                Err(e) => {
                    let retriable = matches!(classify_txn(&e), TxnFailure::Retry(_));
                    if !retriable || Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
                        return Err(kafka_error(
                            "starting transactions",
                            format!("{e} (transactional.id {})", transactions.transactional_id),
                        ));
                    }
                    tracing::warn!(error = %e, "starting transactions: trying again");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        if let Some(topic) = &transactions.checkpoint_topic {
            // After init_transactions: an earlier instance's open transaction is aborted, so
            // what is read is the last checkpoint committed with records.
            let Some(link) = &link else {
                return Err(kafka_error(
                    "reading the checkpoint",
                    "no source to give it to".into(),
                ));
            };
            let reader = crate::kafka::connection_config(&settings.brokers, &settings.options);
            crate::kafka::ensure_topic(&reader, topic, call_timeout)
                .map_err(|e| kafka_error("preparing the checkpoint topic", e))?;
            let wait = transactions.timeout * 2 + Duration::from_secs(30);
            let committed =
                crate::kafka::read_last(&reader, topic, &transactions.transactional_id, wait)
                    .map_err(|e| kafka_error("reading the checkpoint", e))?;
            tracing::info!(
                topic = %topic,
                key = %transactions.transactional_id,
                found = committed.is_some(),
                "read the file checkpoint committed with the records"
            );
            link.set_committed_checkpoint(committed);
        }
        producer
            .begin_transaction()
            .map_err(|e| kafka_error("beginning a transaction", e.to_string()))?;
        tracing::info!(
            brokers = %settings.brokers,
            transactional_id = %transactions.transactional_id,
            interval_ms = transactions.interval.as_millis() as u64,
            "producing to Kafka in transactions (exactly-once)"
        );
        let context = Arc::clone(producer.context());
        Ok(TransactionalKafkaSink {
            producer,
            context,
            router,
            stats,
            link,
            stop,
            settings: transactions,
            call_timeout,
            flush_timeout: settings.flush_timeout,
            event_timestamps: settings.event_timestamps,
            batches: Vec::new(),
            opened_at: None,
            attempt: 0,
            checkpoint_produced: None,
            failed: None,
        })
    }

    fn check(&self) -> Result<(), SinkError> {
        match &self.failed {
            Some(message) => Err(kafka_error("producing", message.clone())),
            None => Ok(()),
        }
    }

    fn fail(&mut self, message: String) -> SinkError {
        tracing::error!("kafka sink stopped: {message}");
        self.stats
            .metrics
            .delivery_errors
            .get_or_create(&vec![("kind", "fatal".to_owned())])
            .inc();
        self.stop.store(true, Ordering::Relaxed);
        self.failed = Some(message.clone());
        kafka_error("producing", message)
    }

    /// Produces every record of the open transaction's batch `index`; records the producer
    /// refuses for good are replaced by their error events first.
    fn produce_batch(&mut self, index: usize) -> Result<(), SinkError> {
        let attempt = self.attempt;
        let mut record = 0;
        loop {
            let Some(batch) = self.batches.get(index) else {
                return Ok(());
            };
            let Some(entry) = batch.records.get(record) else {
                return Ok(());
            };
            let timestamp = entry
                .timestamp_ms
                .filter(|_| self.event_timestamps && !batch.plain_timestamps.contains(&record));
            let mut base = BaseRecord::with_opaque_to(entry.topic, tag(attempt, index, record))
                .payload(entry.payload);
            if let Some(key) = entry.key {
                base = base.key(key);
            }
            if let Some(timestamp) = timestamp {
                base = base.timestamp(timestamp);
            }
            let failed = match self.producer.send(base) {
                Ok(()) => None,
                Err((e, _)) => Some(e),
            };
            let Some(e) = failed else {
                record += 1;
                continue;
            };
            match classify_produce_error(&e) {
                ProduceFailure::QueueFull | ProduceFailure::Transient => {
                    // Deliveries make room; nothing is dropped.
                    self.producer.poll(Duration::from_millis(10));
                }
                ProduceFailure::InvalidTimestamp => {
                    if let Some(batch) = self.batches.get_mut(index) {
                        batch.plain_timestamps.insert(record);
                    }
                }
                ProduceFailure::Permanent => {
                    let reason = format!("Kafka refused the event for topic {}: {e}", entry.topic);
                    self.replace_by_error_event(index, record, &reason)?;
                }
                ProduceFailure::Fatal => {
                    return Err(self.fail(format!("producing failed fatally: {e}")));
                }
            }
        }
    }

    /// Replaces record `record` of batch `index` by its error event (counted as `produce`).
    fn replace_by_error_event(
        &mut self,
        index: usize,
        record: usize,
        reason: &str,
    ) -> Result<(), SinkError> {
        let Some(batch) = self.batches.get_mut(index) else {
            return Ok(());
        };
        let Some(entry) = batch.records.get(record) else {
            return Ok(());
        };
        if self.router.is_error_topic(entry.topic) {
            let message = format!(
                "the error topic {} refused an error event ({reason}); stopping without \
                 committing its input",
                entry.topic
            );
            return Err(self.fail(message));
        }
        let replacement = self.router.error_record(&RefusedRecord {
            topic: entry.topic,
            payload: entry.payload,
            reason,
        });
        let from = entry.topic.to_owned();
        batch.tally.reroute(
            replacement.schema.as_deref(),
            PRODUCE_REASON,
            &from,
            &replacement.topic,
        );
        batch.records.replace(record, &replacement);
        self.stats
            .metrics
            .delivery_errors
            .get_or_create(&vec![("kind", "rerouted".to_owned())])
            .inc();
        tracing::warn!(topic = %from, error_topic = %replacement.topic, "{reason}; sent as an error event instead");
        Ok(())
    }

    fn take_failures(&self) -> Vec<Failure> {
        let attempt = self.attempt;
        let mut failures = self
            .context
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Reports of an aborted attempt's purged records are stale.
        failures
            .drain(..)
            .filter(|f| untag(f.tag).0 == attempt)
            .collect()
    }

    /// The input offsets the open transaction commits: each partition's last batch end.
    fn offsets(&self) -> Result<TopicPartitionList, SinkError> {
        let mut ends: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for batch in &self.batches {
            if let Some(origin) = batch.ack.origin() {
                let end = i64::try_from(batch.ack.position().end).unwrap_or(i64::MAX);
                let slot = ends
                    .entry((origin.topic.as_str(), origin.partition))
                    .or_insert(end);
                *slot = (*slot).max(end);
            }
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), end) in ends {
            list.add_partition_offset(topic, partition, Offset::Offset(end))
                .map_err(|e| kafka_error("listing offsets", e.to_string()))?;
        }
        Ok(list)
    }

    /// Aborts the open transaction and produces its records again in a new one, after
    /// applying what the failed deliveries say.
    fn abort_and_redo(&mut self, failures: Vec<Failure>, why: &str) -> Result<(), SinkError> {
        self.stats
            .metrics
            .delivery_errors
            .get_or_create(&vec![("kind", "transaction_aborted".to_owned())])
            .inc();
        tracing::warn!(
            records = self.batches.iter().map(|b| b.records.len()).sum::<usize>(),
            "aborting the transaction and producing its records again: {why}"
        );
        for failure in &failures {
            let (_, index, record) = untag(failure.tag);
            if index == CHECKPOINT_BATCH
                && matches!(
                    failure.kind,
                    ProduceFailure::Permanent | ProduceFailure::InvalidTimestamp
                )
            {
                return Err(self.fail(format!(
                    "the file checkpoint could not be committed: {}",
                    failure.reason
                )));
            }
            match failure.kind {
                ProduceFailure::Permanent => {
                    self.replace_by_error_event(index, record, &failure.reason)?
                }
                ProduceFailure::InvalidTimestamp => {
                    if let Some(batch) = self.batches.get_mut(index) {
                        batch.plain_timestamps.insert(record);
                    }
                    self.stats
                        .metrics
                        .delivery_errors
                        .get_or_create(&vec![("kind", "timestamp_replaced".to_owned())])
                        .inc();
                }
                ProduceFailure::Fatal => {
                    return Err(self.fail(format!("delivery failed fatally: {}", failure.reason)))
                }
                ProduceFailure::QueueFull | ProduceFailure::Transient => {}
            }
        }
        loop {
            match self.producer.abort_transaction(self.call_timeout) {
                Ok(()) => break,
                Err(e) => match classify_txn(&e) {
                    TxnFailure::Retry(text) | TxnFailure::Abort(text) => {
                        self.wait_or_give_up(&format!("aborting the transaction: {text}"))?
                    }
                    TxnFailure::Fatal(text) => {
                        return Err(self.fail(format!("aborting the transaction: {text}")))
                    }
                },
            }
        }
        self.attempt = self.attempt.wrapping_add(1);
        self.producer
            .begin_transaction()
            .map_err(|e| self.fail(format!("beginning a transaction: {e}")))?;
        self.opened_at = Some(Instant::now());
        for index in 0..self.batches.len() {
            self.produce_batch(index)?;
        }
        Ok(())
    }

    /// Between attempts of a failing call: waits a little, unless the run is stopping, in
    /// which case the sink gives up (nothing of the transaction becomes visible).
    fn wait_or_give_up(&mut self, what: &str) -> Result<(), SinkError> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(self.fail(format!(
                "{what}; giving up as the run stops: the transaction's lines are read again"
            )));
        }
        tracing::warn!("{what}; trying again");
        std::thread::sleep(Duration::from_millis(200));
        Ok(())
    }

    /// Commits the open transaction (records and input offsets), acknowledges its batches and
    /// opens the next one.
    fn commit(&mut self, deadline: Option<Instant>) -> Result<(), SinkError> {
        if self.batches.is_empty() {
            return Ok(());
        }
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(self.fail(
                    "the transaction could not be committed in time; its lines are read again"
                        .to_owned(),
                ));
            }
            if let Some(why) = self.link.as_ref().and_then(|l| l.abandoned()) {
                return Err(self.fail(why));
            }
            self.produce_checkpoint()?;
            let flushed = self.producer.flush(self.call_timeout);
            let failures = self.take_failures();
            if let Err(e) = flushed {
                self.abort_and_redo(failures, &format!("flushing: {e}"))?;
                continue;
            }
            if !failures.is_empty() {
                let why = failures
                    .first()
                    .map(|f| f.reason.clone())
                    .unwrap_or_default();
                self.abort_and_redo(failures, &why)?;
                continue;
            }
            let offsets = self.offsets()?;
            if offsets.count() > 0 {
                let Some(link) = self.link.clone() else {
                    return Err(self.fail(
                        "batches from Kafka but no consumer group to commit their offsets to"
                            .to_owned(),
                    ));
                };
                let sent = link.with_group_metadata(|group| {
                    self.producer
                        .send_offsets_to_transaction(&offsets, group, self.call_timeout)
                });
                let sent = match sent {
                    Ok(sent) => sent,
                    Err(why) => return Err(self.fail(why)),
                };
                if let Err(e) = sent {
                    match classify_txn(&e) {
                        TxnFailure::Retry(text) => {
                            self.wait_or_give_up(&format!("sending the offsets: {text}"))?;
                            continue;
                        }
                        TxnFailure::Abort(text) => {
                            self.abort_and_redo(
                                Vec::new(),
                                &format!("sending the offsets: {text}"),
                            )?;
                            continue;
                        }
                        TxnFailure::Fatal(text) => {
                            return Err(self.fail(format!("sending the offsets: {text}")))
                        }
                    }
                }
            }
            match self.producer.commit_transaction(self.call_timeout) {
                Ok(()) => break,
                Err(e) => match classify_txn(&e) {
                    TxnFailure::Retry(text) => {
                        self.wait_or_give_up(&format!("committing: {text}"))?;
                    }
                    TxnFailure::Abort(text) => {
                        let failures = self.take_failures();
                        self.abort_and_redo(failures, &format!("committing: {text}"))?;
                    }
                    TxnFailure::Fatal(text) => return Err(self.fail(format!("committing: {text}"))),
                },
            }
        }
        for batch in self.batches.drain(..) {
            self.stats
                .record_delivered(&batch.tally, Some(batch.ack.read_at()));
            batch.ack.acknowledge();
        }
        self.opened_at = None;
        self.checkpoint_produced = None;
        self.producer
            .begin_transaction()
            .map_err(|e| self.fail(format!("beginning a transaction: {e}")))?;
        Ok(())
    }

    /// File input: produces, into the open transaction, the checkpoint of its last batch (what
    /// is true once every batch up to it is delivered), once per attempt.
    fn produce_checkpoint(&mut self) -> Result<(), SinkError> {
        let Some(topic) = self.settings.checkpoint_topic.as_deref() else {
            return Ok(());
        };
        if self.checkpoint_produced == Some(self.attempt) {
            return Ok(());
        }
        let Some(checkpoint) = self.batches.iter().rev().find_map(|b| b.ack.checkpoint()) else {
            return Ok(());
        };
        let checkpoint = Arc::clone(checkpoint);
        loop {
            let record = BaseRecord::with_opaque_to(topic, tag(self.attempt, CHECKPOINT_BATCH, 0))
                .key(self.settings.transactional_id.as_str())
                .payload(&checkpoint[..]);
            match self.producer.send(record) {
                Ok(()) => break,
                Err((e, _)) => match classify_produce_error(&e) {
                    ProduceFailure::QueueFull | ProduceFailure::Transient => {
                        self.producer.poll(Duration::from_millis(10));
                    }
                    _ => {
                        return Err(self.fail(format!(
                            "the checkpoint topic {topic} refused the file checkpoint: {e}"
                        )))
                    }
                },
            }
        }
        self.checkpoint_produced = Some(self.attempt);
        Ok(())
    }

    /// Commits if the open transaction is older than the interval.
    fn commit_if_due(&mut self) -> Result<(), SinkError> {
        if self
            .opened_at
            .is_some_and(|at| at.elapsed() >= self.settings.interval)
        {
            self.commit(None)?;
        }
        Ok(())
    }
}

impl Sink for TransactionalKafkaSink {
    fn accept(&mut self, batch: ProcessedBatch) -> Result<(), SinkError> {
        self.check()?;
        if self.batches.len() >= INDEX_MASK || batch.records.len() >= INDEX_MASK {
            self.commit(None)?;
        }
        let tally = Tally::of(&batch);
        let ProcessedBatch { records, ack, .. } = batch;
        self.batches.push(TxnBatch {
            records,
            tally,
            ack,
            plain_timestamps: HashSet::new(),
        });
        if self.opened_at.is_none() {
            self.opened_at = Some(Instant::now());
        }
        self.produce_batch(self.batches.len() - 1)?;
        self.producer.poll(Duration::ZERO);
        self.commit_if_due()
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.check()?;
        self.commit_if_due()
    }

    fn tick(&mut self) -> Result<(), SinkError> {
        self.check()?;
        self.producer.poll(Duration::ZERO);
        self.commit_if_due()
    }

    fn wants_input_order(&self) -> bool {
        true
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.check()?;
        let deadline = Instant::now() + self.flush_timeout;
        self.commit(Some(deadline))
    }
}

impl Drop for TransactionalKafkaSink {
    fn drop(&mut self) {
        if !self.batches.is_empty() {
            // Not committed: make it invisible now rather than when the broker times it out.
            let _ = self.producer.abort_transaction(Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_tags_round_trip() {
        for (attempt, batch, record) in [(0, 0, 0), (7, 3, 250), (u16::MAX, INDEX_MASK, INDEX_MASK)]
        {
            assert_eq!(untag(tag(attempt, batch, record)), (attempt, batch, record));
        }
    }
}
