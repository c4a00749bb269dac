//! Output records: what the workers hand to the sinks, one per input line.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ack::BatchAck;

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
    /// Valid or error, for counters.
    pub outcome: Outcome,
}

/// The records derived from one [`LineBatch`](crate::source::LineBatch), in input order, with
/// the batch's acknowledgement handle.
#[derive(Debug)]
pub struct ProcessedBatch {
    /// Name of the source the lines came from.
    pub source: Arc<str>,
    /// One record per input line.
    pub records: Vec<OutputRecord>,
    /// To be acknowledged once every record is delivered.
    pub ack: BatchAck,
}

/// Counts of one batch, recorded into the totals when the batch is delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Input lines per source.
    pub lines: BTreeMap<Arc<str>, u64>,
    /// Valid events.
    pub valid: u64,
    /// Error events by reason.
    pub errors: BTreeMap<&'static str, u64>,
    /// Events per topic.
    pub topics: BTreeMap<String, u64>,
}

impl Tally {
    /// The counts of `batch`.
    pub fn of(batch: &ProcessedBatch) -> Tally {
        let mut tally = Tally::default();
        tally
            .lines
            .insert(Arc::clone(&batch.source), batch.records.len() as u64);
        for record in &batch.records {
            match record.outcome {
                Outcome::Valid => tally.valid += 1,
                Outcome::Error { reason } => *tally.errors.entry(reason).or_default() += 1,
            }
            if let Some(count) = tally.topics.get_mut(record.topic.as_str()) {
                *count += 1;
            } else {
                tally.topics.insert(record.topic.clone(), 1);
            }
        }
        tally
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Tally) {
        for (source, n) in &other.lines {
            *self.lines.entry(Arc::clone(source)).or_default() += n;
        }
        self.valid += other.valid;
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
    }

    /// Total input lines.
    pub fn total_lines(&self) -> u64 {
        self.lines.values().sum()
    }

    /// Total error events.
    pub fn total_errors(&self) -> u64 {
        self.errors.values().sum()
    }
}
