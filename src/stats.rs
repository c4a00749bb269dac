//! Running totals and telemetry of a run: the delivered counts (what the `process` summary
//! reports), the Prometheus metric families, the status page's data and readiness.
//!
//! Counts are added when a batch is acknowledged by its sink, so they describe delivered output:
//! for any finished run, lines in = valid + errors + skipped (valid events of disabled or
//! excluded schemas, written to no topic). Every update is per batch, never per line.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::kafka::LogLimiter;
use crate::metrics::{
    describe_error, Families, RateHistory, StatusBoard, StatusInputs, HISTORY_SECONDS,
};
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
    bytes_read: AtomicU64,
    lines_delivered: AtomicU64,
    /// Error events are not logged one reason at a time (`process` has its summary).
    quiet_error_log: AtomicBool,
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
    /// The last hour of delivered counts per second.
    history: RateHistory,
    /// Followed files (file input), for the status page.
    files: Mutex<Vec<FileStatus>>,
    /// The Kafka input's consumer group.
    consumer_group: OnceLock<String>,
    /// Delivery latencies of the most recent batches, seconds.
    latencies: Mutex<VecDeque<f64>>,
    /// Batches waiting in each pipeline queue.
    queues: Mutex<BTreeMap<&'static str, usize>>,
}

/// One followed file, for the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// Where it was last seen.
    pub path: String,
    /// `reading` or `detached` (truncated away, waiting for its copy).
    pub phase: &'static str,
    /// Bytes read.
    pub read_offset: u64,
    /// Bytes whose lines are delivered (the checkpoint's position).
    pub delivered_offset: u64,
    /// The file's length at the last check.
    pub size: Option<u64>,
}

/// Batch latencies kept for the status page's percentiles.
const RECENT_LATENCIES: usize = 1000;

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
            bytes_read: AtomicU64::new(0),
            lines_delivered: AtomicU64::new(0),
            quiet_error_log: AtomicBool::new(false),
            last_delivery: Mutex::new(Instant::now()),
            running: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            kinds: OnceLock::new(),
            lag: Mutex::new(BTreeMap::new()),
            kafka_brokers: Mutex::new(BTreeMap::new()),
            error_log: LogLimiter::new(Duration::from_secs(10)),
            schema_cache_published: Mutex::new((0, 0)),
            http_answers: Mutex::new(BTreeMap::new()),
            history: RateHistory::default(),
            files: Mutex::new(Vec::new()),
            consumer_group: OnceLock::new(),
            latencies: Mutex::new(VecDeque::with_capacity(RECENT_LATENCIES)),
            queues: Mutex::new(BTreeMap::new()),
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
            let latency = read_at.elapsed().as_secs_f64();
            m.latency.observe(latency);
            let mut latencies = lock(&self.latencies);
            if latencies.len() >= RECENT_LATENCIES {
                latencies.pop_front();
            }
            latencies.push_back(latency);
        }
        self.history.add(
            unix_seconds(),
            tally.total_lines(),
            tally.valid,
            tally.total_errors(),
        );
        self.lines_delivered
            .fetch_add(tally.total_lines(), Ordering::Relaxed);
        *self
            .last_delivery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        if let Some(sample) = &tally.error_sample {
            self.board.push_error(sample);
            // One log line per reason every few seconds, however many invalid events arrive.
            let logging = !self.quiet_error_log.load(Ordering::Relaxed);
            if let Some(suppressed) = logging
                .then(|| self.error_log.allow(sample.reason))
                .flatten()
            {
                let described = describe_error(&sample.payload);
                tracing::warn!(
                    reason = sample.reason,
                    schema = ?sample.schema,
                    suppressed,
                    error = ?described.message,
                    raw_event = ?described.raw_event,
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

    /// Counts input bytes read by a source (lines with their terminators).
    pub fn record_bytes_read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Input bytes read by the sources so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// Stops logging a warning per error reason (the `process` summary lists them instead,
    /// and the warnings would break its progress line).
    pub fn quiet_error_log(&self) {
        self.quiet_error_log.store(true, Ordering::Relaxed);
    }

    /// Sets the number of batches waiting in a queue (`lines` or `records`).
    pub fn set_queue(&self, queue: &'static str, batches: usize) {
        lock(&self.queues).insert(queue, batches);
        self.metrics
            .queue
            .get_or_create(&vec![("queue", queue.to_owned())])
            .set(i64::try_from(batches).unwrap_or(i64::MAX));
    }

    /// Names the Kafka input's consumer group (for the status page's lag totals).
    pub fn set_consumer_group(&self, group: &str) {
        let _ = self.consumer_group.set(group.to_owned());
    }

    /// The followed files and how many files the include patterns match (file input).
    pub fn set_files(&self, files: Vec<FileStatus>, matched: usize) {
        self.metrics
            .files_matched
            .get_or_create(&vec![("source", "files".to_owned())])
            .set(i64::try_from(matched).unwrap_or(i64::MAX));
        *lock(&self.files) = files;
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
        if let Value::Object(fields) = &mut status {
            self.add_operational_status(fields, source, &lag);
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

    /// The status page's history, files, lag totals, latency, queues and warnings.
    fn add_operational_status(
        &self,
        fields: &mut serde_json::Map<String, Value>,
        source: &str,
        lag: &BTreeMap<(String, i32), i64>,
    ) {
        use serde_json::json;
        let now = unix_seconds();
        let history = self.history.series(now, HISTORY_SECONDS);
        fields.insert(
            "history".to_owned(),
            json!({
                "interval_seconds": 1,
                "end": crate::clock::Clock::now().iso(),
                "end_unix_seconds": history.end_second,
                "lines": history.lines,
                "valid": history.valid,
                "invalid": history.invalid,
            }),
        );
        let mut warnings: Vec<String> = Vec::new();
        if source == "files" {
            let matched = self
                .metrics
                .files_matched
                .get_or_create(&vec![("source", "files".to_owned())])
                .get();
            let files: Vec<Value> = lock(&self.files)
                .iter()
                .map(|f| {
                    json!({
                        "path": f.path,
                        "phase": f.phase,
                        "read_offset": f.read_offset,
                        "delivered_offset": f.delivered_offset,
                        "size": f.size,
                    })
                })
                .collect();
            if matched == 0 {
                warnings.push(
                    "the include patterns match no file: nothing is read until a file appears \
                     (check input.include)"
                        .to_owned(),
                );
            }
            fields.insert(
                "files".to_owned(),
                json!({
                    "matched": matched,
                    "followed": files,
                    "checkpoint_age_seconds": self.metrics.checkpoint_age.get(),
                }),
            );
        }
        if !lag.is_empty() {
            let group = self.consumer_group.get().cloned().unwrap_or_default();
            let mut totals: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
            for ((topic, _), partition_lag) in lag {
                let total = totals.entry(topic.as_str()).or_default();
                total.0 += partition_lag;
                total.1 += 1;
            }
            fields.insert(
                "lag_totals".to_owned(),
                Value::from(
                    totals
                        .into_iter()
                        .map(|(topic, (total, partitions))| {
                            json!({"group": group, "topic": topic, "lag": total, "partitions": partitions})
                        })
                        .collect::<Vec<_>>(),
                ),
            );
        }
        let mut latencies: Vec<f64> = lock(&self.latencies).iter().copied().collect();
        latencies.sort_by(f64::total_cmp);
        let percentile = |p: f64| -> Option<f64> {
            let last = latencies.len().checked_sub(1)?;
            let index = ((last as f64) * p).round() as usize;
            latencies.get(index.min(last)).copied()
        };
        fields.insert(
            "latency".to_owned(),
            json!({
                "batches": latencies.len(),
                "p50_seconds": percentile(0.5),
                "p99_seconds": percentile(0.99),
                "max_seconds": latencies.last(),
            }),
        );
        let queues: serde_json::Map<String, Value> = lock(&self.queues)
            .iter()
            .map(|(queue, batches)| ((*queue).to_owned(), Value::from(*batches)))
            .collect();
        fields.insert("queues".to_owned(), Value::Object(queues));
        if !self.kafka_reachable() {
            warnings.push("a Kafka client reaches no broker: not ready".to_owned());
        }
        fields.insert("warnings".to_owned(), Value::from(warnings));
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

/// Locks `mutex`, also after a panic elsewhere (the data are counters and lists).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
