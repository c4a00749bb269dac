//! The `input: {type: kafka}` and `output: {type: kafka}` sections.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// Raw topic of the reference deployment.
pub const DEFAULT_RAW_TOPIC: &str = "eventlogging-client-side";
/// Consumer group used when none is configured.
pub const DEFAULT_GROUP_ID: &str = "beacon-processor";

/// Consuming raw lines from Kafka.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KafkaInputConfig {
    /// `bootstrap.servers`, e.g. `kafka1:9092,kafka2:9092`.
    pub brokers: String,
    /// Raw topics.
    #[serde(default = "default_topics")]
    pub topics: Vec<String>,
    /// Consumer group; every instance of one deployment uses the same.
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Where a group without committed offsets starts.
    #[serde(default)]
    pub start_from: StartFromConfig,
    /// How often delivered offsets are committed.
    #[serde(default = "default_commit_interval_ms")]
    pub commit_interval_ms: u64,
    /// How long a partition revoke or a shutdown waits for in-flight lines.
    #[serde(default = "default_drain_timeout_ms")]
    pub drain_timeout_ms: u64,
    /// The longest a partial batch waits for more messages.
    #[serde(default = "default_input_linger_ms")]
    pub linger_ms: u64,
    /// Any librdkafka consumer property.
    #[serde(default)]
    pub options: BTreeMap<String, OptionValue>,
}

impl KafkaInputConfig {
    /// Defaults with these brokers (the `--kafka` flag).
    pub fn with_brokers(brokers: &str) -> Self {
        KafkaInputConfig {
            brokers: brokers.to_owned(),
            topics: default_topics(),
            group_id: default_group_id(),
            start_from: StartFromConfig::default(),
            commit_interval_ms: default_commit_interval_ms(),
            drain_timeout_ms: default_drain_timeout_ms(),
            linger_ms: default_input_linger_ms(),
            options: BTreeMap::new(),
        }
    }
}

fn default_topics() -> Vec<String> {
    vec![DEFAULT_RAW_TOPIC.to_owned()]
}
fn default_group_id() -> String {
    DEFAULT_GROUP_ID.to_owned()
}
fn default_commit_interval_ms() -> u64 {
    5000
}
fn default_drain_timeout_ms() -> u64 {
    10_000
}
fn default_input_linger_ms() -> u64 {
    20
}

/// `start_from`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StartFromConfig {
    /// The oldest retained message (nothing retained is skipped).
    #[default]
    Earliest,
    /// Only new messages.
    Latest,
}

/// Producing output records to Kafka.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KafkaOutputConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Compression of record batches.
    #[serde(default)]
    pub compression: CompressionConfig,
    /// `linger.ms`.
    #[serde(default = "default_output_linger_ms")]
    pub linger_ms: u64,
    /// `batch.num.messages`.
    #[serde(default = "default_batch_num_messages")]
    pub batch_num_messages: u64,
    /// `batch.size` in bytes.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: u64,
    /// `queue.buffering.max.messages`: records buffered before the pipeline is held back.
    #[serde(default = "default_queue_max_messages")]
    pub queue_max_messages: u64,
    /// `queue.buffering.max.kbytes`: the same bound in kilobytes of records, so that the
    /// producer's memory does not depend on how large the records are.
    #[serde(default = "default_queue_max_kbytes")]
    pub queue_max_kbytes: u64,
    /// `message.timeout.ms`: librdkafka's retry budget per record; after it the record is
    /// produced again (never dropped).
    #[serde(default = "default_message_timeout_ms")]
    pub message_timeout_ms: u64,
    /// How long the final flush may take at shutdown.
    #[serde(default = "default_flush_timeout_ms")]
    pub flush_timeout_ms: u64,
    /// Message key of each record.
    #[serde(default)]
    pub message_key: MessageKeyConfig,
    /// Which time each record carries as its Kafka timestamp.
    #[serde(default)]
    pub timestamp: RecordTimestampConfig,
    /// `delivery: exactly_once`: the producer's `transactional.id` (default:
    /// `beacon-processor-<group>-<host>-<pid>`); give each instance a stable one of its own to
    /// have a restarted instance abort its predecessor's open transaction at once.
    #[serde(default)]
    pub transactional_id: Option<String>,
    /// `delivery: exactly_once`: how often the open transaction is committed.
    #[serde(default = "default_transaction_interval_ms")]
    pub transaction_interval_ms: u64,
    /// `delivery: exactly_once`: `transaction.timeout.ms`, how long the brokers keep the open
    /// transaction of a vanished instance (readers of its partitions wait that long).
    #[serde(default = "default_transaction_timeout_ms")]
    pub transaction_timeout_ms: u64,
    /// `delivery: exactly_once` with file input: the compacted topic the file checkpoints are
    /// committed to, in the records' transactions.
    #[serde(default = "default_checkpoint_topic")]
    pub checkpoint_topic: String,
    /// Any librdkafka producer property.
    #[serde(default)]
    pub options: BTreeMap<String, OptionValue>,
}

impl KafkaOutputConfig {
    /// Defaults with these brokers (the `--kafka` flag).
    pub fn with_brokers(brokers: &str) -> Self {
        KafkaOutputConfig {
            brokers: brokers.to_owned(),
            compression: CompressionConfig::default(),
            linger_ms: default_output_linger_ms(),
            batch_num_messages: default_batch_num_messages(),
            batch_bytes: default_batch_bytes(),
            queue_max_messages: default_queue_max_messages(),
            queue_max_kbytes: default_queue_max_kbytes(),
            message_timeout_ms: default_message_timeout_ms(),
            flush_timeout_ms: default_flush_timeout_ms(),
            message_key: MessageKeyConfig::default(),
            timestamp: RecordTimestampConfig::default(),
            transactional_id: None,
            transaction_interval_ms: default_transaction_interval_ms(),
            transaction_timeout_ms: default_transaction_timeout_ms(),
            checkpoint_topic: default_checkpoint_topic(),
            options: BTreeMap::new(),
        }
    }
}

fn default_checkpoint_topic() -> String {
    crate::kafka::DEFAULT_CHECKPOINT_TOPIC.to_owned()
}
fn default_transaction_interval_ms() -> u64 {
    100
}
fn default_transaction_timeout_ms() -> u64 {
    10_000
}
fn default_output_linger_ms() -> u64 {
    20
}
fn default_batch_num_messages() -> u64 {
    10_000
}
fn default_batch_bytes() -> u64 {
    1_000_000
}
fn default_queue_max_messages() -> u64 {
    100_000
}
/// 64 MiB: a few seconds of output at full speed (librdkafka's own default is 1 GiB).
fn default_queue_max_kbytes() -> u64 {
    65_536
}
fn default_message_timeout_ms() -> u64 {
    300_000
}
fn default_flush_timeout_ms() -> u64 {
    30_000
}

/// `compression`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CompressionConfig {
    /// No compression.
    None,
    /// gzip.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4 (cheap and effective on JSON).
    #[default]
    Lz4,
    /// zstd.
    Zstd,
}

impl CompressionConfig {
    /// librdkafka's name.
    pub fn codec(self) -> &'static str {
        match self {
            CompressionConfig::None => "none",
            CompressionConfig::Gzip => "gzip",
            CompressionConfig::Snappy => "snappy",
            CompressionConfig::Lz4 => "lz4",
            CompressionConfig::Zstd => "zstd",
        }
    }
}

/// `message_key`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageKeyConfig {
    /// No key.
    #[default]
    None,
    /// The event's uuid (`uuid`, or `meta.id` for Event Platform events).
    Uuid,
    /// The stream configuration's `message_key_fields`.
    StreamFields,
}

/// `timestamp`: the Kafka timestamp of each output record (README, "Record timestamps and
/// retention").
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordTimestampConfig {
    /// The event's time (legacy `dt`, Event Platform `meta.dt`), as eventlogging-processor and
    /// EventGate do. Time-based retention then counts from the event time: backfilled events
    /// older than the topic's `retention.ms` are deleted as soon as their segment rolls.
    #[default]
    Event,
    /// The time the record is produced: retention counts from ingestion, whatever the events'
    /// age (backfills). The event time stays in the record's own fields.
    Produce,
}

/// A librdkafka property value as written in YAML (librdkafka takes every value as text).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OptionValue {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// A decimal number.
    Float(f64),
    /// Text.
    Text(String),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Integer(n) => write!(f, "{n}"),
            OptionValue::Float(x) => write!(f, "{x}"),
            OptionValue::Text(s) => f.write_str(s),
        }
    }
}

/// The options as librdkafka key/value pairs.
pub fn option_pairs(options: &BTreeMap<String, OptionValue>) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}
