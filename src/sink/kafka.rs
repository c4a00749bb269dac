//! Kafka sink: every record is produced to its topic with an idempotent producer, without
//! waiting per message; delivery reports drive the acknowledgements.
//!
//! A batch is acknowledged (and counted) once every one of its records has a successful
//! delivery report, so the source only moves its offsets or checkpoints past lines whose
//! outputs are all in Kafka. What a failure does:
//! - the local queue is full: the sink waits, which stops the workers and then the source
//!   (backpressure); nothing is dropped;
//! - a record Kafka can never take (too large, invalid or forbidden topic): it is replaced by
//!   an error event (reason `produce`) on the error topic, and its batch waits for that one;
//! - the broker refuses the record's timestamp (an event dated too far ahead): it is produced
//!   again stamped with the produce time (counted as `timestamp_replaced`);
//! - a transient failure reported after librdkafka's own retries (`message.timeout.ms`): the
//!   record is produced again;
//! - the error topic itself refuses a record, or the producer fails fatally: the sink reports
//!   the failure, the pipeline stops reading, and the affected input is never acknowledged.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use crate::ack::BatchAck;
use crate::kafka::{
    classify_produce_error, client_config, describe_problems, LoggingContext, OptionProblem,
    ProduceFailure,
};
use crate::record::{OutputRecord, ProcessedBatch, Tally};
use crate::stats::Stats;

use super::{Sink, SinkError};

/// Producer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSinkSettings {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// `compression.codec`: none, gzip, snappy, lz4 or zstd.
    pub compression: String,
    /// `linger.ms`: how long records wait to fill a batch.
    pub linger: Duration,
    /// `batch.num.messages`.
    pub batch_num_messages: u64,
    /// `batch.size` in bytes.
    pub batch_bytes: u64,
    /// `queue.buffering.max.messages`: records waiting in the producer before the sink blocks.
    pub queue_max_messages: u64,
    /// `queue.buffering.max.kbytes`: the same bound in kilobytes.
    pub queue_max_kbytes: u64,
    /// `message.timeout.ms`: how long librdkafka retries a record before reporting a failure
    /// (the sink then produces it again).
    pub message_timeout: Duration,
    /// How long the final flush at shutdown may take.
    pub flush_timeout: Duration,
    /// Records carry the event's time as their Kafka timestamp (otherwise the produce time).
    pub event_timestamps: bool,
    /// Exactly-once delivery: produce in transactions (see `TransactionalKafkaSink`).
    pub transactions: Option<super::TransactionSettings>,
    /// librdkafka producer properties, set after ours.
    pub options: Vec<(String, String)>,
}

impl KafkaSinkSettings {
    /// The producer configuration, or the pass-through options that cannot be used.
    pub fn client_config(&self) -> Result<ClientConfig, Vec<OptionProblem>> {
        let ours = [
            ("bootstrap.servers", self.brokers.clone()),
            ("client.id", "beacon-processor".to_owned()),
            ("enable.idempotence", "true".to_owned()),
            ("compression.codec", self.compression.clone()),
            ("linger.ms", self.linger.as_millis().to_string()),
            ("batch.num.messages", self.batch_num_messages.to_string()),
            ("batch.size", self.batch_bytes.to_string()),
            (
                "queue.buffering.max.messages",
                self.queue_max_messages.to_string(),
            ),
            (
                "queue.buffering.max.kbytes",
                self.queue_max_kbytes.to_string(),
            ),
            (
                "message.timeout.ms",
                self.message_timeout.as_millis().to_string(),
            ),
            // Connected brokers, for readiness.
            ("statistics.interval.ms", "1000".to_owned()),
        ];
        let transactional = self.transactions.as_ref().map(|t| {
            [
                ("transactional.id", t.transactional_id.clone()),
                ("transaction.timeout.ms", t.timeout.as_millis().to_string()),
                // A transactional producer's retry budget must end before its transaction's.
                (
                    "message.timeout.ms",
                    self.message_timeout.min(t.timeout).as_millis().to_string(),
                ),
            ]
        });
        let ours: Vec<(&str, String)> = ours
            .iter()
            .chain(transactional.iter().flatten())
            .cloned()
            .collect();
        const MANAGED: &str = "is managed by beacon-processor; use the output settings instead";
        let protected = [
            ("bootstrap.servers", MANAGED),
            (
                "enable.idempotence",
                "must stay true: retries must neither duplicate nor reorder records",
            ),
            ("compression.codec", MANAGED),
            ("compression.type", MANAGED),
            ("linger.ms", MANAGED),
            ("queue.buffering.max.ms", MANAGED),
            ("message.timeout.ms", MANAGED),
            ("transactional.id", MANAGED),
        ];
        client_config(&ours, &self.options, &protected)
    }
}

/// A record Kafka refused for good.
#[derive(Debug, Clone, Copy)]
pub struct RefusedRecord<'a> {
    /// Where it was going.
    pub topic: &'a str,
    /// The record as produced.
    pub payload: &'a [u8],
    /// Why Kafka refused it.
    pub reason: &'a str,
}

/// Knows the error topics and how to turn a refused record into an error event.
pub trait FailedRecordRouter: Send + Sync {
    /// Whether `topic` receives error events (a refusal there cannot be rerouted).
    fn is_error_topic(&self, topic: &str) -> bool;
    /// The error event replacing `refused`.
    fn error_record(&self, refused: &RefusedRecord<'_>) -> OutputRecord;
}

/// A batch whose records are in Kafka's hands: acknowledged when the last one is delivered.
struct InFlightBatch {
    /// Records not yet delivered, plus one while the batch is still being produced.
    remaining: AtomicUsize,
    done: Mutex<Option<(Tally, BatchAck)>>,
}

impl InFlightBatch {
    fn lock(&self) -> MutexGuard<'_, Option<(Tally, BatchAck)>> {
        self.done.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn finish_one(&self, stats: &Stats) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some((tally, ack)) = self.lock().take() {
                stats.record_delivered(&tally, Some(ack.read_at()));
                ack.acknowledge();
            }
        }
    }

    /// Counts a valid record for `from` as an error record for `to`.
    fn count_rerouted(&self, schema: Option<&str>, from: &str, to: &str) {
        if let Some((tally, _)) = self.lock().as_mut() {
            tally.reroute(schema, PRODUCE_REASON, from, to);
        }
    }
}

/// The reason counted for records replaced because Kafka refused them.
pub const PRODUCE_REASON: &str = "produce";

/// The delivery opaque of one record: its batch (no allocation of its own per record).
type Delivery = Arc<InFlightBatch>;

/// A record to produce again, from the polling thread.
struct Redo {
    topic: String,
    payload: Vec<u8>,
    key: Option<Vec<u8>>,
    timestamp: Option<i64>,
    delivery: Delivery,
    /// `Some(reason)`: replace it by an error event first.
    refused: Option<String>,
}

struct SinkShared {
    stats: Arc<Stats>,
    router: Arc<dyn FailedRecordRouter>,
    redo: Mutex<Vec<Redo>>,
    fatal: Mutex<Option<String>>,
    stop: Arc<AtomicBool>,
    /// Records produced and not yet delivered (or given up by a fatal error).
    outstanding: AtomicU64,
    retried: AtomicU64,
    rerouted: AtomicU64,
    logging: LoggingContext,
    /// [`KafkaSinkSettings::event_timestamps`].
    event_timestamps: bool,
}

impl SinkShared {
    fn count_error(&self, kind: &str) {
        self.stats
            .metrics
            .delivery_errors
            .get_or_create(&vec![("kind", kind.to_owned())])
            .inc();
    }

    fn fail(&self, message: String) {
        tracing::error!("kafka sink stopped: {message}");
        self.count_error("fatal");
        let mut fatal = self.fatal.lock().unwrap_or_else(PoisonError::into_inner);
        if fatal.is_none() {
            *fatal = Some(message);
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    fn fatal(&self) -> Option<String> {
        self.fatal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push_redo(&self, redo: Redo) {
        self.redo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(redo);
    }

    fn take_redo(&self) -> Vec<Redo> {
        std::mem::take(&mut *self.redo.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn redo_waiting(&self) -> bool {
        !self
            .redo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

struct SinkProducerContext {
    shared: Arc<SinkShared>,
}

impl ClientContext for SinkProducerContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.shared.logging.report_log(level, fac, log_message);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        if let Some(up) = crate::kafka::brokers_up(statistics) {
            self.shared.stats.set_kafka_brokers_up("sink", up);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if let KafkaError::Global(rdkafka::error::RDKafkaErrorCode::Fatal) = error {
            self.shared.fail(format!("fatal producer error: {reason}"));
        }
        self.shared.logging.report_error(&error, reason);
    }
}

impl ProducerContext for SinkProducerContext {
    type DeliveryOpaque = Delivery;

    fn delivery(&self, result: &DeliveryResult<'_>, delivery: Delivery) {
        let shared = &self.shared;
        let (error, message) = match result {
            Ok(_) => {
                shared.outstanding.fetch_sub(1, Ordering::AcqRel);
                delivery.finish_one(&shared.stats);
                return;
            }
            Err((error, message)) => (error, message),
        };
        let topic = message.topic().to_owned();
        let redo = |refused: Option<String>| Redo {
            topic: topic.clone(),
            payload: message.payload().unwrap_or_default().to_vec(),
            key: message.key().map(<[u8]>::to_vec),
            timestamp: message.timestamp().to_millis(),
            delivery,
            refused,
        };
        match classify_produce_error(error) {
            ProduceFailure::Permanent if shared.router.is_error_topic(&topic) => {
                shared.fail(format!(
                    "the error topic {topic} refused an error event: {error}; stopping without \
                     acknowledging its input"
                ));
            }
            ProduceFailure::Permanent => {
                shared.push_redo(redo(Some(format!(
                    "Kafka refused the event for topic {topic}: {error}"
                ))));
            }
            ProduceFailure::Fatal => {
                shared.fail(format!("delivery to {topic} failed fatally: {error}"));
            }
            ProduceFailure::InvalidTimestamp => {
                shared.count_error("timestamp_replaced");
                shared.logging.report_error(
                    error,
                    &format!(
                        "{topic} refused the record's event time as its timestamp (the broker \
                         limits how far it may be from its clock); producing it again stamped \
                         with the produce time"
                    ),
                );
                let mut again = redo(None);
                again.timestamp = None;
                shared.push_redo(again);
            }
            ProduceFailure::QueueFull | ProduceFailure::Transient => {
                shared.retried.fetch_add(1, Ordering::Relaxed);
                shared.count_error("retried");
                shared.logging.report_error(
                    error,
                    &format!("delivery to {topic} failed; producing it again"),
                );
                shared.push_redo(redo(None));
            }
        }
    }
}

type KafkaProducer = BaseProducer<SinkProducerContext>;

/// Why `produce` gave up on a record.
enum NotProduced {
    /// Kafka will never take it (reason given).
    Refused(String, Delivery),
    /// The sink has failed.
    Failed,
}

/// Enqueues one record, waiting while the producer's queue is full.
fn produce(
    producer: &KafkaProducer,
    shared: &SinkShared,
    record: (&str, &[u8], Option<&[u8]>, Option<i64>),
    mut delivery: Delivery,
    on_poller: bool,
) -> Result<(), NotProduced> {
    let (topic, payload, key, timestamp) = record;
    loop {
        let mut base = BaseRecord::with_opaque_to(topic, delivery).payload(payload);
        if let Some(key) = key {
            base = base.key(key);
        }
        if let Some(timestamp) = timestamp {
            base = base.timestamp(timestamp);
        }
        let (error, base) = match producer.send(base) {
            Ok(()) => return Ok(()),
            Err(failed) => failed,
        };
        delivery = base.delivery_opaque;
        if shared.fatal().is_some() {
            return Err(NotProduced::Failed);
        }
        match classify_produce_error(&error) {
            ProduceFailure::QueueFull => {
                // Backpressure: wait for deliveries to make room.
                if on_poller {
                    producer.poll(Duration::from_millis(10));
                } else {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            ProduceFailure::Permanent => {
                return Err(NotProduced::Refused(
                    format!("Kafka refused the event for topic {topic}: {error}"),
                    delivery,
                ))
            }
            ProduceFailure::Fatal => {
                shared.fail(format!("producing to {topic} failed fatally: {error}"));
                return Err(NotProduced::Failed);
            }
            ProduceFailure::InvalidTimestamp | ProduceFailure::Transient => {
                shared
                    .logging
                    .report_error(&error, &format!("producing to {topic}; retrying"));
                if on_poller {
                    producer.poll(Duration::from_millis(100));
                } else {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

/// Replaces a refused record by its error event and produces that.
fn reroute(
    producer: &KafkaProducer,
    shared: &SinkShared,
    topic: &str,
    payload: &[u8],
    reason: &str,
    delivery: Delivery,
    on_poller: bool,
) {
    if shared.router.is_error_topic(topic) {
        shared.fail(format!(
            "the error topic {topic} refused an error event ({reason}); stopping without \
             acknowledging its input"
        ));
        return;
    }
    let error = shared.router.error_record(&RefusedRecord {
        topic,
        payload,
        reason,
    });
    if shared.logging_allowed(topic) {
        tracing::warn!(topic, error_topic = %error.topic, "{reason}; sent as an error event instead");
    }
    shared.rerouted.fetch_add(1, Ordering::Relaxed);
    shared.count_error("rerouted");
    delivery.count_rerouted(error.schema.as_deref(), topic, &error.topic);
    let record = (
        error.topic.as_str(),
        error.payload.as_slice(),
        error.key.as_deref(),
        shared.timestamp(error.timestamp_ms),
    );
    match produce(producer, shared, record, delivery, on_poller) {
        Ok(()) => {}
        Err(NotProduced::Refused(why, _)) => shared.fail(format!(
            "the error topic {} refused an error event: {why}; stopping without acknowledging \
             its input",
            error.topic
        )),
        Err(NotProduced::Failed) => {}
    }
}

impl SinkShared {
    /// The Kafka timestamp of a record whose event time is `event_ms`: that, or none (librdkafka
    /// then stamps the produce time).
    fn timestamp(&self, event_ms: Option<i64>) -> Option<i64> {
        event_ms.filter(|_| self.event_timestamps)
    }

    fn logging_allowed(&self, topic: &str) -> bool {
        self.logging.allow(&format!("reroute:{topic}"))
    }
}

/// How long one call of the delivery thread's `poll` lasts. rdkafka's `BaseProducer::poll` keeps
/// polling until its deadline, each time with the remaining time in whole milliseconds, so its
/// last sub-millisecond is a busy loop of non-blocking polls and clock reads. With 20 ms that loop
/// was most of the delivery thread's CPU (about a tenth of all samples of Kafka -> Kafka); with
/// 100 ms it is a fifth of that. The cost: redone records and the queue gauge wait up to 100 ms
/// (shutdown does not wait for the window: see `finish`).
const DELIVERY_POLL: Duration = Duration::from_millis(100);

/// Polls for delivery reports and produces again what must be.
fn poll_loop(producer: &KafkaProducer, shared: &SinkShared, shutdown: &AtomicBool) {
    while !shutdown.load(Ordering::Acquire) {
        producer.poll(DELIVERY_POLL);
        shared
            .stats
            .metrics
            .producer_queue
            .set(i64::from(producer.in_flight_count()));
        for redo in shared.take_redo() {
            let Redo {
                topic,
                payload,
                key,
                timestamp,
                delivery,
                refused,
            } = redo;
            match refused {
                Some(reason) => {
                    reroute(producer, shared, &topic, &payload, &reason, delivery, true)
                }
                None => {
                    let record = (
                        topic.as_str(),
                        payload.as_slice(),
                        key.as_deref(),
                        timestamp,
                    );
                    match produce(producer, shared, record, delivery, true) {
                        Ok(()) | Err(NotProduced::Failed) => {}
                        Err(NotProduced::Refused(reason, delivery)) => {
                            reroute(producer, shared, &topic, &payload, &reason, delivery, true)
                        }
                    }
                }
            }
        }
    }
}

/// The Kafka sink.
pub struct KafkaSink {
    producer: Arc<KafkaProducer>,
    shared: Arc<SinkShared>,
    shutdown: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
    flush_timeout: Duration,
}

impl KafkaSink {
    /// Connects the producer and starts its polling thread.
    pub fn open(
        settings: &KafkaSinkSettings,
        router: Arc<dyn FailedRecordRouter>,
        stats: Arc<Stats>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, SinkError> {
        let config = settings.client_config().map_err(|problems| {
            kafka_error("configuring the producer", describe_problems(&problems))
        })?;
        stats.expect_kafka_client("sink");
        let shared = Arc::new(SinkShared {
            stats,
            router,
            redo: Mutex::new(Vec::new()),
            fatal: Mutex::new(None),
            stop,
            outstanding: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            rerouted: AtomicU64::new(0),
            logging: LoggingContext::new("sink"),
            event_timestamps: settings.event_timestamps,
        });
        let producer: KafkaProducer = config
            .create_with_context(SinkProducerContext {
                shared: Arc::clone(&shared),
            })
            .map_err(|e| kafka_error("creating the producer", e.to_string()))?;
        let producer = Arc::new(producer);
        let shutdown = Arc::new(AtomicBool::new(false));
        let poller = {
            let producer = Arc::clone(&producer);
            let shared = Arc::clone(&shared);
            let shutdown = Arc::clone(&shutdown);
            std::thread::Builder::new()
                .name("kafka-delivery".into())
                .spawn(move || poll_loop(&producer, &shared, &shutdown))
                .map_err(|e| kafka_error("starting the delivery thread", e.to_string()))?
        };
        tracing::info!(brokers = %settings.brokers, "producing to Kafka");
        Ok(KafkaSink {
            producer,
            shared,
            shutdown,
            poller: Some(poller),
            flush_timeout: settings.flush_timeout,
        })
    }

    fn check(&self) -> Result<(), SinkError> {
        match self.shared.fatal() {
            Some(message) => Err(kafka_error("producing", message)),
            None => Ok(()),
        }
    }

    /// Records produced again after a transient failure, and records replaced by error events.
    pub fn retried_and_rerouted(&self) -> (u64, u64) {
        (
            self.shared.retried.load(Ordering::Relaxed),
            self.shared.rerouted.load(Ordering::Relaxed),
        )
    }

    fn stop_poller(&mut self) {
        self.shutdown.store(true, Ordering::Release);
        if let Some(poller) = self.poller.take() {
            if poller.join().is_err() {
                tracing::error!("the Kafka delivery thread panicked");
            }
        }
    }
}

/// A sink error of the Kafka sinks: `kafka: {context}: {message}`.
pub(super) fn kafka_error(context: &str, message: String) -> SinkError {
    SinkError {
        context: format!("kafka: {context}"),
        error: std::io::Error::other(message),
    }
}

impl Sink for KafkaSink {
    fn accept(&mut self, batch: ProcessedBatch) -> Result<(), SinkError> {
        self.check()?;
        let tally = Tally::of(&batch);
        let ProcessedBatch { records, ack, .. } = batch;
        let in_flight = Arc::new(InFlightBatch {
            remaining: AtomicUsize::new(records.len() + 1),
            done: Mutex::new(Some((tally, ack))),
        });
        for record in records.iter() {
            self.shared.outstanding.fetch_add(1, Ordering::AcqRel);
            let delivery = Arc::clone(&in_flight);
            let timestamp = self.shared.timestamp(record.timestamp_ms);
            let kafka_record = (record.topic, record.payload, record.key, timestamp);
            match produce(&self.producer, &self.shared, kafka_record, delivery, false) {
                Ok(()) => {}
                Err(NotProduced::Refused(reason, delivery)) => {
                    reroute(
                        &self.producer,
                        &self.shared,
                        record.topic,
                        record.payload,
                        &reason,
                        delivery,
                        false,
                    );
                }
                Err(NotProduced::Failed) => break,
            }
        }
        in_flight.finish_one(&self.shared.stats);
        self.check()
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        // Deliveries are acknowledged asynchronously by the delivery thread.
        self.check()
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        let deadline = Instant::now() + self.flush_timeout;
        loop {
            self.check()?;
            let outstanding = self.shared.outstanding.load(Ordering::Acquire);
            if outstanding == 0 && !self.shared.redo_waiting() {
                break;
            }
            if Instant::now() >= deadline {
                let message = format!(
                    "{outstanding} records were not delivered within {} ms; their input is not \
                     acknowledged and will be read again",
                    self.flush_timeout.as_millis()
                );
                self.stop_poller();
                return Err(kafka_error("flushing", message));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Everything is delivered and nothing waits to be produced again: the delivery thread
        // has no work left. It is told to stop but not waited for, since it only notices at the
        // end of its current `poll` (up to `DELIVERY_POLL`), which would add that much to every
        // shutdown. It ends on its own; at process exit nothing of it is left to lose.
        self.shutdown.store(true, Ordering::Release);
        drop(self.poller.take());
        Ok(())
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        self.stop_poller();
    }
}
