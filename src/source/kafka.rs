//! Kafka source: raw lines from one or more topics, consumed in a consumer group, at least once.
//!
//! Every message is one raw line. Messages are cut into one [`LineBatch`](super::LineBatch) per partition whose
//! position is the partition's offset range, so the source's [`DeliveryTracker`] keeps one
//! contiguous watermark per partition. Offsets are stored (`enable.auto.offset.store=false`) only
//! up to that watermark, i.e. only once every output record derived from them has been
//! delivered; librdkafka's auto-commit then commits what was stored. On a partition revoke and
//! at shutdown, in-flight batches are drained (bounded by `drain_timeout`) and the delivered
//! offsets are stored and committed before the partition is given up; lines not delivered in
//! time are read again by the next owner (duplicates, never loss).
//!
//! With exactly-once delivery the source commits nothing itself: the transactional sink commits
//! each batch's offsets in the transaction holding its records (through the
//! [`TransactionLink`], which carries the group metadata), and acknowledges the batch once that
//! transaction is committed. A revoke then waits for that commit; if it cannot happen within
//! `drain_timeout`, the link is abandoned and the run stops with an error rather than let two
//! instances write the same lines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::ack::{AckReceiver, BatchPosition, InputPartition};
use crate::kafka::{
    brokers_up, client_config, consumer_lags, describe_problems, LoggingContext, OptionProblem,
    TransactionLink,
};
use crate::stats::Stats;

use super::{BatchBuilder, DeliveryTracker, SourceContext, SourceError};

/// Where a consumer group without committed offsets starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The oldest message still in the topic.
    Earliest,
    /// Only messages produced from now on.
    Latest,
}

/// How to consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSourceSettings {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Raw topics.
    pub topics: Vec<String>,
    /// Consumer group: instances sharing it share the partitions.
    pub group_id: String,
    /// Start position without committed offsets.
    pub start_from: StartFrom,
    /// How often stored offsets are committed.
    pub commit_interval: Duration,
    /// How long a revoke or a shutdown waits for in-flight lines to be delivered.
    pub drain_timeout: Duration,
    /// The longest a partial batch waits for more messages before it is sent.
    pub linger: Duration,
    /// Stop once every assigned partition is read to its end (`process`); otherwise run until
    /// stopped.
    pub stop_at_end: bool,
    /// librdkafka consumer properties, set after ours.
    pub options: Vec<(String, String)>,
    /// Offsets are committed by the sink's transactions, never by the consumer (exactly-once).
    pub offsets_in_transactions: bool,
}

impl KafkaSourceSettings {
    /// The consumer configuration, or the pass-through options that cannot be used.
    pub fn client_config(&self) -> Result<ClientConfig, Vec<OptionProblem>> {
        let ours = [
            ("bootstrap.servers", self.brokers.clone()),
            ("group.id", self.group_id.clone()),
            ("client.id", "beacon-processor".to_owned()),
            (
                "enable.auto.commit",
                (!self.offsets_in_transactions).to_string(),
            ),
            // Only committed records of transactional producers (librdkafka's default too).
            ("isolation.level", "read_committed".to_owned()),
            ("enable.auto.offset.store", "false".to_owned()),
            (
                "auto.commit.interval.ms",
                self.commit_interval.as_millis().to_string(),
            ),
            (
                "auto.offset.reset",
                match self.start_from {
                    StartFrom::Earliest => "earliest".to_owned(),
                    StartFrom::Latest => "latest".to_owned(),
                },
            ),
            // End-of-partition events tell `stop_at_end` runs when they are done.
            ("enable.partition.eof", self.stop_at_end.to_string()),
            // Pre-fetched messages are bounded (librdkafka's default is 64 MB; 16 MB gave an 18 MB
            // higher peak RSS than 8 MB for the same throughput on a 48-partition backlog).
            ("queued.max.messages.kbytes", "8192".to_owned()),
            // When that bound is reached, librdkafka postpones the next fetch of every partition
            // by this long (default 1000 ms): with many partitions the queue fills at once, is
            // drained in a fraction of a second, then nothing is fetched for the rest of it.
            // 10 ms tripled Kafka -> directory throughput on 48 partitions (docs/BENCHMARKS.md).
            ("fetch.queue.backoff.ms", "10".to_owned()),
            // Consumer lag per partition for the metrics.
            ("statistics.interval.ms", "1000".to_owned()),
        ];
        // Incremental rebalancing: when an instance joins or leaves, only the partitions that
        // move are revoked (and drained and committed); the others keep flowing. Not with the
        // KIP-848 protocol (`group.protocol: consumer`), where the broker assigns and the
        // property is refused.
        let broker_assigns = self
            .options
            .iter()
            .any(|(k, v)| k == "group.protocol" && v.eq_ignore_ascii_case("consumer"));
        let strategy = [(
            "partition.assignment.strategy",
            "cooperative-sticky".to_owned(),
        )];
        let ours: Vec<(&str, String)> = if broker_assigns {
            ours.to_vec()
        } else {
            ours.iter().chain(&strategy).cloned().collect()
        };
        const MANAGED: &str = "is managed by beacon-processor; use the input settings instead";
        const AT_LEAST_ONCE: &str =
            "must stay as set: offsets are stored only after delivery (at-least-once)";
        let protected = [
            ("bootstrap.servers", MANAGED),
            ("group.id", MANAGED),
            ("auto.offset.reset", MANAGED),
            ("auto.commit.interval.ms", MANAGED),
            ("enable.partition.eof", MANAGED),
            ("enable.auto.commit", AT_LEAST_ONCE),
            ("enable.auto.offset.store", AT_LEAST_ONCE),
        ];
        client_config(&ours, &self.options, &protected)
    }
}

/// One assigned partition's reading state.
struct PartitionState {
    stream: u64,
    /// Offset where the next batch starts (the end of the previous one).
    next_start: i64,
    /// Offset of the next message expected (last seen + 1).
    next_offset: i64,
    /// End (exclusive) of everything sent into the pipeline.
    sent_end: i64,
    /// Last offset stored for commit.
    stored: i64,
    builder: BatchBuilder,
    oldest_line: Option<Instant>,
    /// The partition, as batches carry it to the sink.
    origin: Arc<InputPartition>,
}

type PartitionKey = (String, i32);

/// State shared by the consume loop and the rebalance callback (both run on the source thread,
/// inside `poll`, but the callback only gets `&self`).
struct Shared {
    partitions: Mutex<HashMap<PartitionKey, PartitionState>>,
    /// Partitions whose end was reached with nothing read since (`stop_at_end` runs).
    at_end: Mutex<std::collections::HashSet<PartitionKey>>,
    tracker: Arc<DeliveryTracker>,
    drain_timeout: Duration,
    /// Exactly-once: the sink commits the offsets; the source only keeps the group metadata
    /// current.
    transactions: Option<Arc<TransactionLink>>,
}

impl Shared {
    fn lock_at_end(&self) -> MutexGuard<'_, std::collections::HashSet<PartitionKey>> {
        self.at_end.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<PartitionKey, PartitionState>> {
        self.partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Consumer context: rate-limited logging, and draining of revoked partitions.
struct SourceConsumerContext {
    logging: LoggingContext,
    shared: Arc<Shared>,
    stats: Option<Arc<Stats>>,
    /// The group, and whether partitions without committed offsets start at the earliest
    /// record (then a warning says the whole retention is read).
    group: String,
    from_earliest: bool,
    warned_no_offsets: std::sync::atomic::AtomicBool,
}

impl ClientContext for SourceConsumerContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.logging.report_log(level, fac, log_message);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        if let Some(stats) = &self.stats {
            for (topic, partition, lag) in consumer_lags(statistics) {
                stats.set_kafka_lag(&topic, partition, Some(lag));
            }
            if let Some(up) = brokers_up(statistics) {
                stats.set_kafka_brokers_up("source", up);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // End-of-partition is reported through this callback too; it is not a problem.
        if let KafkaError::Global(RDKafkaErrorCode::PartitionEOF) = error {
            return;
        }
        self.logging.report_error(&error, reason);
    }
}

impl ConsumerContext for SourceConsumerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(list) => {
                let keys: Vec<PartitionKey> = list
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                tracing::info!(partitions = keys.len(), "partitions revoked; draining them");
                if let Some(link) = &self.shared.transactions {
                    // The generation this revoke belongs to: the draining commits use it.
                    link.set_group_metadata(consumer.group_metadata());
                }
                if let Some(stats) = &self.stats {
                    for (topic, partition) in &keys {
                        stats.set_kafka_lag(topic, *partition, None);
                    }
                }
                let revoked: Vec<(PartitionKey, PartitionState)> = {
                    let mut partitions = self.shared.lock();
                    keys.into_iter()
                        .filter_map(|key| partitions.remove(&key).map(|state| (key, state)))
                        .collect()
                };
                drain_and_store(consumer, &self.shared, revoked);
            }
            Rebalance::Assign(list) => {
                tracing::info!(partitions = list.count(), "partitions assigned");
                self.warn_without_offsets(consumer, list);
                if let Some(link) = &self.shared.transactions {
                    link.set_group_metadata(consumer.group_metadata());
                }
                let mut at_end = self
                    .shared
                    .at_end
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                for element in list.elements() {
                    at_end.remove(&(element.topic().to_owned(), element.partition()));
                }
            }
            Rebalance::Error(error) => {
                tracing::warn!("consumer group rebalance failed: {error}");
            }
        }
    }
}

impl SourceConsumerContext {
    /// Once per run: when assigned partitions have no committed offset in the group and reading
    /// starts at the earliest record, says that the topic's whole retention will be read (the
    /// usual surprise when a new group replaces eventlogging-processor's).
    fn warn_without_offsets(
        &self,
        consumer: &BaseConsumer<SourceConsumerContext>,
        list: &TopicPartitionList,
    ) {
        if !self.from_earliest
            || list.count() == 0
            || self
                .warned_no_offsets
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let Ok(committed) = consumer.committed_offsets(list.clone(), Duration::from_secs(5)) else {
            return;
        };
        let missing: Vec<String> = committed
            .elements()
            .iter()
            .filter(|e| !matches!(e.offset(), Offset::Offset(_)))
            .map(|e| format!("{}[{}]", e.topic(), e.partition()))
            .collect();
        if let Some(first) = missing.first() {
            self.warned_no_offsets
                .store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                group = %self.group,
                partitions = missing.len(),
                example = %first,
                "the group has no committed offsets for these partitions: they are read from the \
                 earliest retained record, i.e. the topic's whole retention (use the old \
                 consumer group's name, or input.start_from: latest, to start elsewhere)"
            );
        }
    }
}

/// Waits (bounded) until what was sent from `partitions` is delivered, stores the delivered
/// offsets and commits them. Lines still buffered in a partition's builder were never sent: the
/// next owner reads them again.
fn drain_and_store(
    consumer: &BaseConsumer<SourceConsumerContext>,
    shared: &Shared,
    mut partitions: Vec<(PartitionKey, PartitionState)>,
) {
    if partitions.is_empty() {
        return;
    }
    let targets: Vec<(u64, u64)> = partitions
        .iter()
        .map(|(_, state)| (state.stream, offset_to_position(state.sent_end)))
        .collect();
    let delivered = shared
        .tracker
        .wait_until_delivered(&targets, shared.drain_timeout);
    if let Some(link) = &shared.transactions {
        // The sink's transactions committed the offsets of everything delivered.
        if !delivered {
            let why = format!(
                "partitions were given up before the transaction holding their lines was \
                 committed (drain_timeout_ms {}); stopping so that no two instances write the \
                 same lines: uncommitted lines are read again from the last committed offsets",
                shared.drain_timeout.as_millis()
            );
            tracing::error!("{why}");
            link.abandon(why);
        }
        for (_, state) in partitions {
            shared.tracker.forget_stream(state.stream);
        }
        return;
    }
    if !delivered {
        tracing::warn!(
            timeout_ms = shared.drain_timeout.as_millis() as u64,
            "in-flight lines were not all delivered in time; their offsets are not committed and \
             they will be read again (duplicates, not loss)"
        );
    }
    for ((topic, partition), state) in &mut partitions {
        store_delivered(consumer, &shared.tracker, topic, *partition, state);
    }
    // A coordinator that moved (its broker failed) answers with an error until the consumer
    // has found the new one: try again a few times before the partitions go.
    let mut attempts = 0;
    loop {
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => break,
            Err(error) if attempts < COMMIT_ATTEMPTS => {
                attempts += 1;
                tracing::debug!("committing delivered offsets failed ({error}); trying again");
                std::thread::sleep(Duration::from_millis(200));
            }
            // Not fatal: the offsets stay stored and the lines are at worst read again.
            Err(error) => {
                tracing::warn!(
                    "committing delivered offsets failed ({error}); lines since the last commit \
                     may be read again"
                );
                break;
            }
        }
    }
    for (_, state) in partitions {
        shared.tracker.forget_stream(state.stream);
    }
}

/// Commits tried before a revoke or a shutdown gives up on committing.
const COMMIT_ATTEMPTS: u32 = 5;

/// Stores the partition's delivered watermark as its next commit, if it moved.
fn store_delivered(
    consumer: &BaseConsumer<SourceConsumerContext>,
    tracker: &DeliveryTracker,
    topic: &str,
    partition: i32,
    state: &mut PartitionState,
) {
    let Some(delivered) = tracker.delivered(state.stream) else {
        return;
    };
    if consumer.context().shared.transactions.is_some() {
        return;
    }
    let delivered = i64::try_from(delivered).unwrap_or(i64::MAX);
    if delivered <= state.stored {
        return;
    }
    // `store_offsets` stores the offsets as given (the next offset to consume), unlike
    // `store_offset`, which stores a message's offset plus one.
    let mut list = TopicPartitionList::new();
    let stored = list
        .add_partition_offset(topic, partition, Offset::Offset(delivered))
        .and_then(|()| consumer.store_offsets(&list));
    match stored {
        Ok(()) => state.stored = delivered,
        Err(error) => tracing::debug!(topic, partition, "storing offset {delivered}: {error}"),
    }
}

fn offset_to_position(offset: i64) -> u64 {
    u64::try_from(offset).unwrap_or(0)
}

/// Consumes until stopped (or, with `stop_at_end`, until every assigned partition is read to
/// its end), then drains and commits. Returns the number of lines read.
pub fn consume(ctx: &SourceContext, settings: &KafkaSourceSettings) -> Result<u64, SourceError> {
    let config = settings
        .client_config()
        .map_err(|problems| SourceError::Kafka(describe_problems(&problems)))?;
    let shared = Arc::new(Shared {
        partitions: Mutex::new(HashMap::new()),
        at_end: Mutex::new(std::collections::HashSet::new()),
        tracker: Arc::clone(&ctx.tracker),
        drain_timeout: settings.drain_timeout,
        transactions: ctx.transactions.clone(),
    });
    if settings.offsets_in_transactions && shared.transactions.is_none() {
        return Err(SourceError::Kafka(
            "exactly-once delivery needs a transactional Kafka sink".to_owned(),
        ));
    }
    if let Some(stats) = &ctx.stats {
        stats.expect_kafka_client("source");
        stats.set_consumer_group(&settings.group_id);
    }
    let context = SourceConsumerContext {
        logging: LoggingContext::new("source"),
        shared: Arc::clone(&shared),
        stats: ctx.stats.clone(),
        group: settings.group_id.clone(),
        from_earliest: settings.start_from == StartFrom::Earliest,
        warned_no_offsets: std::sync::atomic::AtomicBool::new(false),
    };
    let consumer: BaseConsumer<SourceConsumerContext> = config
        .create_with_context(context)
        .map_err(|e| SourceError::Kafka(format!("cannot create the consumer: {e}")))?;
    let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|e| SourceError::Kafka(format!("cannot subscribe to {topics:?}: {e}")))?;
    tracing::info!(topics = ?settings.topics, group = %settings.group_id, brokers = %settings.brokers, "consuming");

    let mut reader = PartitionReader {
        ctx,
        settings,
        shared: &shared,
        next_stream: 1,
        lines: 0,
    };
    let result = reader.run(&consumer);
    // Send what is buffered, wait for it, store and commit: a clean stop re-reads nothing.
    let flushed = reader.send_all();
    let remaining: Vec<(PartitionKey, PartitionState)> = shared.lock().drain().collect();
    drain_and_store(&consumer, &shared, remaining);
    // Dropping the consumer closes it: it leaves the group so that the partitions are
    // reassigned at once.
    drop(consumer);
    result?;
    flushed?;
    Ok(reader.lines)
}

struct PartitionReader<'a> {
    ctx: &'a SourceContext,
    settings: &'a KafkaSourceSettings,
    shared: &'a Shared,
    next_stream: u64,
    lines: u64,
}

impl PartitionReader<'_> {
    fn run(&mut self, consumer: &BaseConsumer<SourceConsumerContext>) -> Result<(), SourceError> {
        let poll_timeout = self
            .settings
            .linger
            .clamp(Duration::from_millis(1), Duration::from_millis(100));
        let store_interval = Duration::from_millis(100);
        let mut last_store = Instant::now();
        let mut last_linger_check = Instant::now();
        let mut last_end_check = Instant::now();
        let mut last_message = Instant::now();
        let errors = crate::kafka::LogLimiter::new(Duration::from_secs(5));
        let started = Instant::now();
        let mut first_delivery_logged = false;
        loop {
            if self.ctx.stopping() {
                return Ok(());
            }
            let idle = match consumer.poll(poll_timeout) {
                Some(Ok(message)) => {
                    let key = (message.topic().to_owned(), message.partition());
                    if self.settings.stop_at_end {
                        self.shared.lock_at_end().remove(&key);
                    }
                    self.take(key, message.offset(), message.payload().unwrap_or_default())?;
                    last_message = Instant::now();
                    false
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    // The event names the partition only: unambiguous with one topic.
                    if let [topic] = self.settings.topics.as_slice() {
                        self.shared.lock_at_end().insert((topic.clone(), partition));
                    }
                    true
                }
                Some(Err(error)) => {
                    if let Some(suppressed) = errors.allow(&error.to_string()) {
                        tracing::warn!(suppressed, "consuming: {error}");
                    }
                    true
                }
                None => true,
            };
            let now = Instant::now();
            if idle || now.duration_since(last_linger_check) >= self.settings.linger {
                last_linger_check = now;
                self.send_aged(now)?;
            }
            if now.duration_since(last_store) >= store_interval {
                last_store = now;
                self.store_all(consumer);
                if let Some(link) = &self.shared.transactions {
                    if let Some(why) = link.abandoned() {
                        return Err(SourceError::Kafka(why));
                    }
                    link.set_group_metadata(consumer.group_metadata());
                }
                if !first_delivery_logged && self.shared.tracker.delivered_lines() > 0 {
                    first_delivery_logged = true;
                    tracing::info!(
                        after_ms = now.duration_since(started).as_millis() as u64,
                        "first lines delivered since the consumer started"
                    );
                }
            }
            // Asking the brokers for watermarks takes round trips: only when nothing came for a
            // while (fetches arrive in bursts).
            let quiet = if self.settings.topics.len() == 1 {
                Duration::from_millis(50)
            } else {
                Duration::from_millis(300)
            };
            if self.settings.stop_at_end
                && idle
                && now.duration_since(last_message) >= quiet
                && now.duration_since(last_end_check) >= quiet
            {
                last_end_check = now;
                if self.caught_up(consumer) {
                    tracing::info!("every assigned partition is read to its end");
                    return Ok(());
                }
            }
        }
    }

    /// Adds one message to its partition's batch.
    fn take(&mut self, key: PartitionKey, offset: i64, payload: &[u8]) -> Result<(), SourceError> {
        let max_line = self.ctx.settings.max_line_bytes;
        let mut line = payload;
        if let Some(stripped) = line.strip_suffix(b"\n") {
            line = stripped.strip_suffix(b"\r").unwrap_or(stripped);
        }
        let full = {
            let mut partitions = self.shared.lock();
            let state = match partitions.get_mut(&key) {
                Some(state) => state,
                None => {
                    let stream = self.next_stream;
                    self.next_stream += 1;
                    self.shared.tracker.register_stream(
                        stream,
                        format!("{}/{}", key.0, key.1),
                        offset_to_position(offset),
                    );
                    partitions.entry(key.clone()).or_insert(PartitionState {
                        stream,
                        next_start: offset,
                        next_offset: offset,
                        sent_end: offset,
                        stored: -1,
                        builder: BatchBuilder::with_capacity(64, 64 * 1024),
                        oldest_line: None,
                        origin: Arc::new(InputPartition {
                            topic: key.0.clone(),
                            partition: key.1,
                        }),
                    })
                }
            };
            if offset < state.next_offset {
                // Re-delivered after a seek (should not happen): already in flight.
                return Ok(());
            }
            if line.len() > max_line {
                let cut = line.get(..max_line).unwrap_or(line);
                state.builder.push_line(cut, Some(line.len() as u64));
            } else {
                state.builder.push_line(line, None);
            }
            state.next_offset = offset.saturating_add(1);
            if state.oldest_line.is_none() {
                state.oldest_line = Some(Instant::now());
            }
            self.lines += 1;
            self.ctx.batch_full(&state.builder)
        };
        if full {
            self.send_partition(&key)?;
        }
        Ok(())
    }

    /// Sends the batches that waited longer than the linger time.
    fn send_aged(&mut self, now: Instant) -> Result<(), SourceError> {
        let aged: Vec<PartitionKey> = self
            .shared
            .lock()
            .iter()
            .filter(|(_, s)| {
                s.oldest_line
                    .is_some_and(|t| now.duration_since(t) >= self.settings.linger)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in aged {
            self.send_partition(&key)?;
        }
        Ok(())
    }

    fn send_all(&mut self) -> Result<(), SourceError> {
        let keys: Vec<PartitionKey> = self.shared.lock().keys().cloned().collect();
        for key in keys {
            self.send_partition(&key)?;
        }
        Ok(())
    }

    /// Sends the partition's batch (the lock is not held while the pipeline is full).
    fn send_partition(&mut self, key: &PartitionKey) -> Result<(), SourceError> {
        let batch = {
            let mut partitions = self.shared.lock();
            let Some(state) = partitions.get_mut(key) else {
                return Ok(());
            };
            if state.builder.is_empty() {
                return Ok(());
            }
            let builder = std::mem::replace(
                &mut state.builder,
                BatchBuilder::with_capacity(64, 64 * 1024),
            );
            let position = BatchPosition {
                stream: state.stream,
                start: offset_to_position(state.next_start),
                end: offset_to_position(state.next_offset),
                lines: builder.len() as u64,
            };
            state.next_start = state.next_offset;
            state.sent_end = state.next_offset;
            state.oldest_line = None;
            let receiver: Arc<dyn AckReceiver> = Arc::clone(&self.shared.tracker) as _;
            let mut batch = builder.finish(Arc::clone(&self.ctx.name), receiver, position);
            batch.ack_mut().set_origin(Arc::clone(&state.origin));
            batch
        };
        self.ctx.send(batch)
    }

    fn store_all(&self, consumer: &BaseConsumer<SourceConsumerContext>) {
        let mut partitions = self.shared.lock();
        for ((topic, partition), state) in partitions.iter_mut() {
            store_delivered(consumer, &self.shared.tracker, topic, *partition, state);
        }
    }

    /// Whether every assigned partition has been read up to its high watermark.
    fn caught_up(&self, consumer: &BaseConsumer<SourceConsumerContext>) -> bool {
        let Ok(assignment) = consumer.assignment() else {
            return false;
        };
        if assignment.count() == 0 {
            return false;
        }
        if self.settings.topics.len() == 1 {
            // End-of-partition events, kept per partition.
            let partitions = self.shared.lock();
            let at_end = self.shared.lock_at_end();
            return assignment.elements().iter().all(|element| {
                let key = (element.topic().to_owned(), element.partition());
                at_end.contains(&key) && partitions.get(&key).is_none_or(|s| s.builder.is_empty())
            });
        }
        let timeout = Duration::from_secs(2);
        let mut unread = TopicPartitionList::new();
        let mut positions: HashMap<PartitionKey, i64> = HashMap::new();
        {
            let partitions = self.shared.lock();
            for element in assignment.elements() {
                let key = (element.topic().to_owned(), element.partition());
                match partitions.get(&key) {
                    Some(state) if !state.builder.is_empty() => return false,
                    Some(state) => {
                        positions.insert(key, state.next_offset);
                    }
                    None => {
                        unread.add_partition(&key.0, key.1);
                    }
                }
            }
        }
        if unread.count() > 0 {
            let Ok(committed) = consumer.committed_offsets(unread, timeout) else {
                return false;
            };
            for element in committed.elements() {
                let key = (element.topic().to_owned(), element.partition());
                let position = match element.offset() {
                    Offset::Offset(n) => n,
                    _ => match self.settings.start_from {
                        StartFrom::Earliest => 0,
                        StartFrom::Latest => i64::MAX,
                    },
                };
                positions.insert(key, position);
            }
        }
        positions.iter().all(|((topic, partition), &position)| {
            match consumer.fetch_watermarks(topic, *partition, timeout) {
                Ok((low, high)) => position >= high || (low == high && position <= low),
                Err(_) => false,
            }
        })
    }
}
