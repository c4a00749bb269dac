//! Output records: what the workers hand to the sinks, one per input line: one record
//! ([`OutputRecord`]), and the records of a batch stored compactly ([`batch`]).

pub mod batch;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ack::BatchAck;
use batch::{RecordBatch, RecordRef};

/// Whether a record is a valid event or an error event, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A valid event.
    Valid,
    /// An error event; `reason` is a bounded label (`parse`, `json`, `validation`, ...).
    Error {
        /// Bounded label for counters.
        reason: &'static str,
    },
    /// A further copy of a valid event, for another output topic (`routing.copies`): counted
    /// under its topic, not as a line or a valid event.
    Copy,
}

/// One serialised output event and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRecord {
    /// Destination topic (also the directory sink's file name).
    pub topic: String,
    /// The event as compact JSON.
    pub payload: Vec<u8>,
    /// Event time in milliseconds since the epoch, when known (Kafka message timestamp).
    pub timestamp_ms: Option<i64>,
    /// Kafka message key (`output.message_key`), if any.
    pub key: Option<Vec<u8>>,
    /// The schema (legacy) or stream (Event Platform) the event is for, as far as known, for
    /// per-schema metrics (for error events: the one the failed event named).
    pub schema: Option<String>,
    /// Valid or error, for counters.
    pub outcome: Outcome,
}

/// The records derived from one [`LineBatch`](crate::source::LineBatch), in input order, with
/// the batch's acknowledgement handle.
#[derive(Debug)]
pub struct ProcessedBatch {
    /// Name of the source the lines came from.
    pub source: Arc<str>,
    /// One record per input line, besides copies ([`Outcome::Copy`]) and skipped events.
    pub records: RecordBatch,
    /// Valid events of the batch that no route wanted (`routing.disabled_schemas`): lines
    /// without a record.
    pub skipped: u64,
    /// To be acknowledged once every record is delivered.
    pub ack: BatchAck,
}

/// Counts of one schema (or stream).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaTally {
    /// Valid events.
    pub valid: u64,
    /// Error events per reason.
    pub errors: BTreeMap<&'static str, u64>,
}

/// One error event kept as an example for operators (the status page's recent errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSample {
    /// The error's reason.
    pub reason: &'static str,
    /// The schema or stream the failed event named.
    pub schema: Option<String>,
    /// The error event (at most [`ERROR_SAMPLE_BYTES`] of it).
    pub payload: Vec<u8>,
}

/// Bytes of an error event kept in an [`ErrorSample`].
pub const ERROR_SAMPLE_BYTES: usize = 8192;

/// The label used for records whose schema is not known.
pub const UNKNOWN_SCHEMA: &str = "unknown";

/// Counts of one batch, recorded into the totals when the batch is delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Input lines per source.
    pub lines: BTreeMap<Arc<str>, u64>,
    /// Valid events.
    pub valid: u64,
    /// Valid events not written because no route wanted them (`routing.disabled_schemas`).
    pub skipped: u64,
    /// Error events per reason.
    pub errors: BTreeMap<&'static str, u64>,
    /// Events per output topic.
    pub topics: BTreeMap<String, u64>,
    /// Valid and error events per schema or stream ([`UNKNOWN_SCHEMA`] when not known).
    pub schemas: BTreeMap<String, SchemaTally>,
    /// The first error event of the batch, as an example (not summed by [`Tally::add`]).
    pub error_sample: Option<ErrorSample>,
}

impl Tally {
    /// Counts the records of a batch: per record only array increments, indexed by the
    /// batch's name ids; the maps are filled once per distinct name.
    pub fn of(batch: &ProcessedBatch) -> Tally {
        let records = &batch.records;
        let mut tally = Tally {
            skipped: batch.skipped,
            ..Tally::default()
        };
        let mut copies = 0u64;
        // Per name id: records bound for it as a topic, valid records naming it as a schema.
        let mut topics = vec![0u64; records.name_count()];
        let mut valid = vec![0u64; records.name_count()];
        let mut unknown_valid = 0u64;
        for record in records.iter() {
            if let Some(count) = topics.get_mut(record.topic_id as usize) {
                *count += 1;
            }
            match record.outcome {
                Outcome::Valid => {
                    tally.valid += 1;
                    match record.schema_id.and_then(|id| valid.get_mut(id as usize)) {
                        Some(count) => *count += 1,
                        None => unknown_valid += 1,
                    }
                }
                Outcome::Error { reason } => tally.count_error(&record, reason),
                Outcome::Copy => copies += 1,
            }
        }
        let lines = (records.len() as u64 - copies) + batch.skipped;
        tally.lines.insert(Arc::clone(&batch.source), lines);
        for (id, (&topic_count, &valid_count)) in topics.iter().zip(&valid).enumerate() {
            let name = records.name(id as u32);
            if topic_count > 0 {
                *tally.topics.entry(name.to_owned()).or_default() += topic_count;
            }
            if valid_count > 0 {
                tally.schemas.entry(name.to_owned()).or_default().valid += valid_count;
            }
        }
        if unknown_valid > 0 {
            tally
                .schemas
                .entry(UNKNOWN_SCHEMA.to_owned())
                .or_default()
                .valid += unknown_valid;
        }
        tally
    }

    fn count_error(&mut self, record: &RecordRef<'_>, reason: &'static str) {
        let schema = record.schema.unwrap_or(UNKNOWN_SCHEMA);
        let per_schema = match self.schemas.get_mut(schema) {
            Some(per_schema) => per_schema,
            None => self.schemas.entry(schema.to_owned()).or_default(),
        };
        *per_schema.errors.entry(reason).or_default() += 1;
        *self.errors.entry(reason).or_default() += 1;
        if self.error_sample.is_none() {
            let kept = record.payload.len().min(ERROR_SAMPLE_BYTES);
            self.error_sample = Some(ErrorSample {
                reason,
                schema: record.schema.map(str::to_owned),
                payload: record.payload.get(..kept).unwrap_or_default().to_vec(),
            });
        }
    }

    /// Moves one valid event of `schema` bound for `from` to an error event with `reason`
    /// bound for `to` (a record the sink had to replace by an error event).
    pub fn reroute(&mut self, schema: Option<&str>, reason: &'static str, from: &str, to: &str) {
        self.valid = self.valid.saturating_sub(1);
        *self.errors.entry(reason).or_default() += 1;
        let schema = schema.unwrap_or(UNKNOWN_SCHEMA);
        let per_schema = self.schemas.entry(schema.to_owned()).or_default();
        per_schema.valid = per_schema.valid.saturating_sub(1);
        *per_schema.errors.entry(reason).or_default() += 1;
        if let Some(n) = self.topics.get_mut(from) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.topics.remove(from);
            }
        }
        *self.topics.entry(to.to_owned()).or_default() += 1;
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Tally) {
        for (source, n) in &other.lines {
            *self.lines.entry(Arc::clone(source)).or_default() += n;
        }
        self.valid += other.valid;
        self.skipped += other.skipped;
        for (reason, n) in &other.errors {
            *self.errors.entry(reason).or_default() += n;
        }
        for (topic, n) in &other.topics {
            if let Some(count) = self.topics.get_mut(topic) {
                *count += n;
            } else {
                self.topics.insert(topic.clone(), *n);
            }
        }
        for (schema, counts) in &other.schemas {
            let mine = match self.schemas.get_mut(schema) {
                Some(mine) => mine,
                None => self.schemas.entry(schema.clone()).or_default(),
            };
            mine.valid += counts.valid;
            for (reason, n) in &counts.errors {
                *mine.errors.entry(reason).or_default() += n;
            }
        }
    }

    /// All input lines.
    pub fn total_lines(&self) -> u64 {
        self.lines.values().sum()
    }

    /// All error events.
    pub fn total_errors(&self) -> u64 {
        self.errors.values().sum()
    }
}
