//! The Prometheus metric families (prometheus-client, OpenMetrics text).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::label_cap::LabelCap;

/// Labels as (name, value) pairs.
pub type Labels = Vec<(&'static str, String)>;

/// Distinct schema and topic label values kept before `other`.
pub const LABEL_CAP: usize = 200;

/// Every metric of the process.
pub struct Families {
    registry: Registry,
    /// `beacon_lines_read_total{source}`.
    pub lines_read: Family<Labels, Counter>,
    /// `beacon_events_delivered_total{topic}`.
    pub delivered: Family<Labels, Counter>,
    /// `beacon_events_valid_total{schema}`.
    pub valid: Family<Labels, Counter>,
    /// `beacon_events_invalid_total{schema,reason}`.
    pub invalid: Family<Labels, Counter>,
    /// `beacon_errors_total{reason}`.
    pub errors: Family<Labels, Counter>,
    /// `beacon_events_skipped_total`: valid events of disabled schemas, not written.
    pub skipped: Counter,
    /// `beacon_processing_latency_seconds`: line read -> delivered, per batch.
    pub latency: Histogram,
    /// `beacon_queue_batches{queue}`.
    pub queue: Family<Labels, Gauge>,
    /// `beacon_kafka_consumer_lag{topic,partition}`.
    pub kafka_lag: Family<Labels, Gauge>,
    /// `beacon_kafka_brokers_up{role}`: brokers the source's or sink's client is connected to.
    pub kafka_brokers_up: Family<Labels, Gauge>,
    /// `beacon_kafka_producer_queue_messages`.
    pub producer_queue: Gauge,
    /// `beacon_kafka_delivery_errors_total{kind}`.
    pub delivery_errors: Family<Labels, Counter>,
    /// `beacon_files_watched`.
    pub files_watched: Gauge,
    /// `beacon_files_matched{source="files"}`: files the include patterns match (only with
    /// file input, so that an alert on 0 fires for nothing else).
    pub files_matched: Family<Labels, Gauge>,
    /// `beacon_files_rotated_total`.
    pub files_rotated: Counter,
    /// `beacon_files_truncated_total`.
    pub files_truncated: Counter,
    /// `beacon_checkpoint_age_seconds`.
    pub checkpoint_age: Gauge<f64, AtomicU64>,
    /// `beacon_schema_cache_requests_total{result}`.
    pub schema_cache: Family<Labels, Counter>,
    /// `beacon_http_requests_total{status}`: HTTP intake answers.
    pub http_requests: Family<Labels, Counter>,
    /// `beacon_http_request_duration_seconds`: HTTP intake request -> answer.
    pub http_duration: Histogram,
    /// `beacon_http_requests_in_flight`.
    pub http_in_flight: Gauge,
    /// `beacon_http_hasty_events_lost_total`.
    pub http_hasty_lost: Counter,
    /// `beacon_ready`.
    pub ready: Gauge,
    /// `beacon_start_time_seconds`.
    pub start_time: Gauge<f64, AtomicU64>,
    /// Caps the `schema` label.
    pub schema_cap: LabelCap,
    /// Caps the `topic` label.
    pub topic_cap: LabelCap,
}

impl Default for Families {
    fn default() -> Self {
        Self::new()
    }
}

impl Families {
    /// Creates and registers every family.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let lines_read = Family::<Labels, Counter>::default();
        registry.register(
            "beacon_lines_read",
            "Input lines read, per source",
            lines_read.clone(),
        );
        let delivered = Family::<Labels, Counter>::default();
        registry.register(
            "beacon_events_delivered",
            "Events written (valid and error events), per output topic",
            delivered.clone(),
        );
        let valid = Family::<Labels, Counter>::default();
        registry.register(
            "beacon_events_valid",
            "Valid events delivered, per schema or stream",
            valid.clone(),
        );
        let invalid = Family::<Labels, Counter>::default();
        registry.register(
            "beacon_events_invalid",
            "Lines delivered as error events, per schema or stream and reason",
            invalid.clone(),
        );
        let errors = Family::<Labels, Counter>::default();
        registry.register(
            "beacon_errors",
            "Lines delivered as error events, per reason",
            errors.clone(),
        );
        let skipped = Counter::default();
        registry.register(
            "beacon_events_skipped",
            "Valid events written to no topic: their schema is disabled or excluded (routing.disabled_schemas, routing.exclude, copies excluding it too)",
            skipped.clone(),
        );
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "beacon_processing_latency_seconds",
            "Time from reading a batch of lines to the delivery of all its events",
            latency.clone(),
        );
        let queue = Family::<Labels, Gauge>::default();
        registry.register(
            "beacon_queue_batches",
            "Batches waiting in the pipeline's queues (lines: read, not processed; records: processed, not written)",
            queue.clone(),
        );
        let kafka_lag = Family::<Labels, Gauge>::default();
        registry.register(
            "beacon_kafka_consumer_lag",
            "Messages of an assigned raw-topic partition not consumed yet",
            kafka_lag.clone(),
        );
        let producer_queue = Gauge::default();
        registry.register(
            "beacon_kafka_producer_queue_messages",
            "Records in the Kafka producer not delivered yet",
            producer_queue.clone(),
        );
        let delivery_errors = Family::<Labels, Counter>::default();
        registry.register(
            "beacon_kafka_delivery_errors",
            "Kafka delivery failures: retried (produced again), rerouted (replaced by an error event), fatal",
            delivery_errors.clone(),
        );
        let files_watched = Gauge::default();
        registry.register(
            "beacon_files_watched",
            "Files open for reading",
            files_watched.clone(),
        );
        let files_matched = Family::<Labels, Gauge>::default();
        registry.register(
            "beacon_files_matched",
            "Files the include patterns matched at the last scan (file input only)",
            files_matched.clone(),
        );
        let files_rotated = Counter::default();
        registry.register(
            "beacon_files_rotated",
            "Files rotated away or deleted, then read to their end",
            files_rotated.clone(),
        );
        let files_truncated = Counter::default();
        registry.register(
            "beacon_files_truncated",
            "Truncations or rewrites of followed files",
            files_truncated.clone(),
        );
        let checkpoint_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "beacon_checkpoint_age_seconds",
            "Seconds since the file checkpoint was last written",
            checkpoint_age.clone(),
        );
        let schema_cache = Family::<Labels, Counter>::default();
        registry.register(
            "beacon_schema_cache_requests",
            "Schema lookups answered from the cache (hit) or needing a load (miss)",
            schema_cache.clone(),
        );
        let kafka_brokers_up = Family::<Labels, Gauge>::default();
        registry.register(
            "beacon_kafka_brokers_up",
            "Kafka brokers the source (role=source) or sink (role=sink) is connected to",
            kafka_brokers_up.clone(),
        );
        let http_requests = Family::<Labels, Counter>::default();
        registry.register(
            "beacon_http_requests",
            "HTTP intake requests answered, per status",
            http_requests.clone(),
        );
        let http_duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "beacon_http_request_duration_seconds",
            "HTTP intake: time from a request's arrival to its answer (after delivery unless hasty)",
            http_duration.clone(),
        );
        let http_in_flight = Gauge::default();
        registry.register(
            "beacon_http_requests_in_flight",
            "HTTP intake requests being processed",
            http_in_flight.clone(),
        );
        let http_hasty_lost = Counter::default();
        registry.register(
            "beacon_http_hasty_events_lost",
            "Events of hasty requests (answered 202 before processing) that were never delivered",
            http_hasty_lost.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "beacon_ready",
            "1 when sources and sinks are connected and not stalled",
            ready.clone(),
        );
        let start_time = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "beacon_start_time_seconds",
            "Start time of the process, seconds since the Unix epoch",
            start_time.clone(),
        );
        registry.register(
            "beacon_build",
            "Version of beacon-processor",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION").to_owned())]),
        );
        Families {
            registry,
            lines_read,
            delivered,
            valid,
            invalid,
            errors,
            skipped,
            latency,
            queue,
            kafka_lag,
            producer_queue,
            delivery_errors,
            files_watched,
            files_matched,
            files_rotated,
            files_truncated,
            checkpoint_age,
            schema_cache,
            kafka_brokers_up,
            http_requests,
            http_duration,
            http_in_flight,
            http_hasty_lost,
            ready,
            start_time,
            schema_cap: LabelCap::new(LABEL_CAP),
            topic_cap: LabelCap::new(LABEL_CAP),
        }
    }

    /// The OpenMetrics text exposition of every family.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
