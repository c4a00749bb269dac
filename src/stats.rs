//! Running totals and telemetry of a run: the delivered counts (what the `process` summary
//! reports), the Prometheus metric families, the status page's data and readiness.
//!
//! Counts are added when a batch is acknowledged by its sink, so they describe delivered output:
//! for any finished run, lines in = valid + errors + skipped (valid events of disabled or
//! excluded schemas, written to no topic). Every update is per batch, never per line.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::kafka::LogLimiter;
use crate::metrics::{describe_error, Families, StatusBoard, StatusInputs};
use crate::record::Tally;

/// A pipeline with lines in flight and no delivery for this long is stalled (not ready).
pub const STALL_AFTER: Duration = Duration::from_secs(60);

/// Running totals and telemetry, shared by every thread of a run.
pub struct Stats {
    totals: Mutex<Tally>,
    /// The Prometheus metric families.
    pub metrics: Families,
    board: StatusBoard,
    started: Instant,
    lines_read: AtomicU64,
    lines_delivered: AtomicU64,
    last_delivery: Mutex<Instant>,
    running: AtomicBool,
    failed: AtomicBool,
    kinds: OnceLock<(&'static str, &'static str)>,
    lag: Mutex<BTreeMap<(String, i32), i64>>,
    /// Kafka clients (`source`, `sink`) and the brokers each was connected to at its last
    /// statistics report (`None` before the first).
    kafka_brokers: Mutex<BTreeMap<&'static str, Option<usize>>>,
    error_log: LogLimiter,
    schema_cache_published: Mutex<(u64, u64)>,
    /// HTTP intake answers by status, for the status page.
    http_answers: Mutex<BTreeMap<u16, u64>>,
}

impl Default for Stats {
    fn default() -> Self {
        let metrics = Families::new();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        metrics.start_time.set(now);
        Stats {
            totals: Mutex::new(Tally::default()),
            metrics,
            board: StatusBoard::default(),
            started: Instant::now(),
            lines_read: AtomicU64::new(0),
            lines_delivered: AtomicU64::new(0),
            last_delivery: Mutex::new(Instant::now()),
            running: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            kinds: OnceLock::new(),
            lag: Mutex::new(BTreeMap::new()),
            kafka_brokers: Mutex::new(BTreeMap::new()),
            error_log: LogLimiter::new(Duration::from_secs(10)),
            schema_cache_published: Mutex::new((0, 0)),
            http_answers: Mutex::new(BTreeMap::new()),
        }
    }
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats")
            .field("totals", &self.snapshot())
            .finish_non_exhaustive()
    }
}

impl Stats {
    /// Adds the counts of a delivered batch read at `read_at`.
    pub fn record_delivered(&self, tally: &Tally, read_at: Option<Instant>) {
        self.lock().add(tally);
        let m = &self.metrics;
        for (topic, n) in &tally.topics {
            m.delivered
                .get_or_create(&vec![("topic", m.topic_cap.label(topic))])
                .inc_by(*n);
        }
        for (schema, counts) in &tally.schemas {
            let label = m.schema_cap.label(schema);
            if counts.valid > 0 {
                m.valid
                    .get_or_create(&vec![("schema", label.clone())])
                    .inc_by(counts.valid);
            }
            for (reason, n) in &counts.errors {
                m.invalid
                    .get_or_create(&vec![
                        ("schema", label.clone()),
                        ("reason", (*reason).to_owned()),
                    ])
                    .inc_by(*n);
            }
        }
        for (reason, n) in &tally.errors {
            m.errors
                .get_or_create(&vec![("reason", (*reason).to_owned())])
                .inc_by(*n);
        }
        if tally.skipped > 0 {
            m.skipped.inc_by(tally.skipped);
        }
        if let Some(read_at) = read_at {
            m.latency.observe(read_at.elapsed().as_secs_f64());
        }
        self.lines_delivered
            .fetch_add(tally.total_lines(), Ordering::Relaxed);
        *self
            .last_delivery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        if let Some(sample) = &tally.error_sample {
            self.board.push_error(sample);
            // One log line per reason every few seconds, however many invalid events arrive.
            if let Some(suppressed) = self.error_log.allow(sample.reason) {
                let (message, raw_event) = describe_error(&sample.payload);
                tracing::warn!(
                    reason = sample.reason,
                    schema = ?sample.schema,
                    suppressed,
                    error = ?message,
                    raw_event = ?raw_event,
                    "event delivered as an error event"
                );
            }
        }
    }

    /// Counts lines read by a source (before processing).
    pub fn record_read(&self, source: &str, lines: u64) {
        self.lines_read.fetch_add(lines, Ordering::Relaxed);
        self.metrics
            .lines_read
            .get_or_create(&vec![("source", source.to_owned())])
            .inc_by(lines);
    }

    /// Sets the number of batches waiting in a queue (`lines` or `records`).
    pub fn set_queue(&self, queue: &'static str, batches: usize) {
        self.metrics
            .queue
            .get_or_create(&vec![("queue", queue.to_owned())])
            .set(i64::try_from(batches).unwrap_or(i64::MAX));
    }

    /// Sets the consumer lag of an assigned partition (`None`: no longer assigned).
    pub fn set_kafka_lag(&self, topic: &str, partition: i32, lag: Option<i64>) {
        let labels = vec![
            ("topic", topic.to_owned()),
            ("partition", partition.to_string()),
        ];
        let mut table = self
            .lag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match lag {
            Some(lag) => {
                self.metrics.kafka_lag.get_or_create(&labels).set(lag);
                table.insert((topic.to_owned(), partition), lag);
            }
            None => {
                self.metrics.kafka_lag.remove(&labels);
                table.remove(&(topic.to_owned(), partition));
            }
        }
    }

    /// Registers a Kafka client (`role`: `source` or `sink`): the run is not ready until its
    /// statistics report a connected broker.
    pub fn expect_kafka_client(&self, role: &'static str) {
        self.lock_kafka_brokers().entry(role).or_insert(None);
    }

    /// The number of brokers the `role` client is connected to, from its statistics. Logs when
    /// it loses its last broker and when it reaches one again.
    pub fn set_kafka_brokers_up(&self, role: &'static str, up: usize) {
        let before = self.lock_kafka_brokers().insert(role, Some(up)).flatten();
        self.metrics
            .kafka_brokers_up
            .get_or_create(&vec![("role", role.to_owned())])
            .set(i64::try_from(up).unwrap_or(i64::MAX));
        match (before, up) {
            (Some(1..), 0) | (None, 0) => tracing::warn!(
                role,
                "cannot reach any Kafka broker: not ready until one answers (librdkafka keeps \
                 reconnecting)"
            ),
            (Some(0), 1..) => tracing::info!(role, brokers = up, "Kafka brokers reachable again"),
            _ => {}
        }
        self.metrics.ready.set(i64::from(self.ready()));
    }

    /// Whether every Kafka client reached at least one broker at its last statistics report.
    fn kafka_reachable(&self) -> bool {
        self.lock_kafka_brokers()
            .values()
            .all(|up| up.is_some_and(|n| n > 0))
    }

    fn lock_kafka_brokers(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Option<usize>>> {
        self.kafka_brokers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks the run as started (`source` and `sink` kinds for the status page) or stopped.
    pub fn set_running(&self, running: bool, source: &'static str, sink: &'static str) {
        let _ = self.kinds.set((source, sink));
        self.running.store(running, Ordering::Relaxed);
        self.metrics.ready.set(i64::from(self.ready()));
    }

    /// Marks the run as failed (a sink or source error): not ready.
    pub fn set_failed(&self) {
        self.failed.store(true, Ordering::Relaxed);
        self.metrics.ready.set(0);
    }

    /// Whether the pipeline runs, has not failed, every Kafka client reaches a broker, and it
    /// is not stalled (lines in flight without any delivery for [`STALL_AFTER`]).
    pub fn ready(&self) -> bool {
        if !self.running.load(Ordering::Relaxed)
            || self.failed.load(Ordering::Relaxed)
            || !self.kafka_reachable()
        {
            return false;
        }
        let in_flight =
            self.lines_read.load(Ordering::Relaxed) > self.lines_delivered.load(Ordering::Relaxed);
        let quiet = self
            .last_delivery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed();
        !(in_flight && quiet > STALL_AFTER)
    }

    /// The OpenMetrics text of every metric (readiness refreshed).
    pub fn encode_metrics(&self) -> String {
        self.metrics.ready.set(i64::from(self.ready()));
        self.publish_schema_cache();
        self.metrics.encode()
    }

    /// Adds the schema lookups since the last publication to the cache counters (the counts
    /// are process-wide; both results always appear, at 0 if need be).
    fn publish_schema_cache(&self) {
        let (hits, misses) = crate::schema::schema_cache_counts();
        let mut published = self
            .schema_cache_published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let family = &self.metrics.schema_cache;
        family
            .get_or_create(&vec![("result", "hit".to_owned())])
            .inc_by(hits.saturating_sub(published.0));
        family
            .get_or_create(&vec![("result", "miss".to_owned())])
            .inc_by(misses.saturating_sub(published.1));
        *published = (hits.max(published.0), misses.max(published.1));
    }

    /// Counts an HTTP intake answer with `status`, given `seconds` after the request arrived.
    pub fn record_http_answer(&self, status: u16, seconds: f64) {
        self.metrics.http_duration.observe(seconds);
        self.metrics
            .http_requests
            .get_or_create(&vec![("status", status.to_string())])
            .inc();
        *self
            .http_answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(status)
            .or_default() += 1;
    }

    /// The status page's JSON.
    pub fn status_json(&self) -> Value {
        let totals = self.snapshot();
        let lag = self
            .lag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let (source, sink) = self.kinds.get().copied().unwrap_or(("none", "none"));
        let mut status = self.board.status(&StatusInputs {
            totals: &totals,
            uptime: self.started.elapsed(),
            ready: self.ready(),
            source,
            sink,
            lag: &lag,
        });
        let brokers: serde_json::Map<String, Value> = self
            .lock_kafka_brokers()
            .iter()
            .map(|(role, up)| ((*role).to_owned(), up.map_or(Value::Null, Value::from)))
            .collect();
        if let (Value::Object(fields), false) = (&mut status, brokers.is_empty()) {
            fields.insert("kafka_brokers_up".to_owned(), Value::Object(brokers));
        }
        if let (Value::Object(fields), "http") = (&mut status, source) {
            let answers: serde_json::Map<String, Value> = self
                .http_answers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .map(|(status, count)| (status.to_string(), Value::from(*count)))
                .collect();
            fields.insert(
                "http".to_owned(),
                serde_json::json!({
                    "answers": answers,
                    "in_flight": self.metrics.http_in_flight.get(),
                    "hasty_events_lost": self.metrics.http_hasty_lost.get(),
                }),
            );
        }
        status
    }

    /// Lines read by the sources so far.
    pub fn lines_read(&self) -> u64 {
        self.lines_read.load(Ordering::Relaxed)
    }

    /// Lines whose records were delivered so far.
    pub fn lines_delivered(&self) -> u64 {
        self.lines_delivered.load(Ordering::Relaxed)
    }

    /// A copy of the totals so far.
    pub fn snapshot(&self) -> Tally {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
