//! The records of one batch, stored compactly: every payload and key in one byte buffer, every
//! topic and schema name once per batch, and a small fixed-size entry per record.
//!
//! A worker fills one [`RecordBatch`] per input batch, in input order; the ordinary valid event
//! is written straight into the batch's buffer ([`RecordBatch::push_written`]). Compared with
//! one [`OutputRecord`] per line (a payload, a topic, a schema and a key, each its own
//! allocation, all freed by the sink thread), a batch costs a handful of allocations, and a sink
//! resolves each topic once per batch instead of once per record.

use std::collections::HashMap;
use std::ops::Range;

use super::{Outcome, OutputRecord};

/// Index of a name in a batch's name table.
pub type NameId = u32;

/// Names looked up by a linear scan up to this many; beyond it (unusual input naming many
/// schemas in one batch) a hash index is built, so a batch stays linear in its size.
const LINEAR_NAMES: usize = 32;

/// The distinct topic and schema names of one batch.
#[derive(Debug, Default, Clone)]
struct NameTable {
    names: Vec<Box<str>>,
    /// Built once there are more than [`LINEAR_NAMES`] names.
    index: Option<HashMap<Box<str>, NameId>>,
}

impl NameTable {
    fn id(&mut self, name: &str) -> NameId {
        if let Some(index) = &self.index {
            if let Some(&id) = index.get(name) {
                return id;
            }
        } else if let Some(position) = self
            .names
            .iter()
            .position(|known| known.len() == name.len() && **known == *name)
        {
            return position as NameId;
        }
        let id = self.names.len() as NameId;
        self.names.push(name.into());
        if let Some(index) = &mut self.index {
            index.insert(name.into(), id);
        } else if self.names.len() > LINEAR_NAMES {
            let index = self
                .names
                .iter()
                .enumerate()
                .map(|(position, known)| (known.clone(), position as NameId))
                .collect();
            self.index = Some(index);
        }
        id
    }

    fn get(&self, id: NameId) -> &str {
        self.names.get(id as usize).map_or("", |name| name)
    }
}

/// Where a record's parts are.
#[derive(Debug, Clone)]
struct Entry {
    topic: NameId,
    schema: Option<NameId>,
    payload: Range<usize>,
    key: Option<Range<usize>>,
    timestamp_ms: Option<i64>,
    outcome: Outcome,
}

/// What a record is, besides its payload (see [`RecordBatch::push_written`]).
#[derive(Debug, Clone, Copy)]
pub struct RecordMeta<'a> {
    /// Destination topic.
    pub topic: &'a str,
    /// The schema or stream, as far as known.
    pub schema: Option<&'a str>,
    /// Kafka message key.
    pub key: Option<&'a [u8]>,
    /// Event time in milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
    /// Valid or error.
    pub outcome: Outcome,
}

/// One record of a batch, borrowed from it (the fields of an [`OutputRecord`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordRef<'a> {
    /// Destination topic (also the directory sink's file name).
    pub topic: &'a str,
    /// The topic's index in the batch's name table: the same for every record of the batch
    /// bound for the same topic.
    pub topic_id: NameId,
    /// The event as compact JSON.
    pub payload: &'a [u8],
    /// Event time in milliseconds since the epoch, when known (Kafka message timestamp).
    pub timestamp_ms: Option<i64>,
    /// Kafka message key, if any.
    pub key: Option<&'a [u8]>,
    /// The schema (legacy) or stream (Event Platform) the event is for, as far as known.
    pub schema: Option<&'a str>,
    /// The schema's index in the batch's name table.
    pub schema_id: Option<NameId>,
    /// Valid or error.
    pub outcome: Outcome,
}

impl RecordRef<'_> {
    /// An owned copy.
    pub fn to_owned_record(&self) -> OutputRecord {
        OutputRecord {
            topic: self.topic.to_owned(),
            payload: self.payload.to_vec(),
            timestamp_ms: self.timestamp_ms,
            key: self.key.map(<[u8]>::to_vec),
            schema: self.schema.map(str::to_owned),
            outcome: self.outcome,
        }
    }
}

/// The records of one batch, in input order (see the module documentation).
#[derive(Debug, Default, Clone)]
pub struct RecordBatch {
    bytes: Vec<u8>,
    names: NameTable,
    entries: Vec<Entry>,
}

impl RecordBatch {
    /// An empty batch with room for `records` records of `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Self {
        RecordBatch {
            bytes: Vec::with_capacity(bytes),
            names: NameTable::default(),
            entries: Vec::with_capacity(records),
        }
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch has no record.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Payload and key bytes of all records.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Distinct topic and schema names: every [`NameId`] of the batch is below this.
    pub fn name_count(&self) -> usize {
        self.names.names.len()
    }

    /// The name with index `id` (empty if there is none).
    pub fn name(&self, id: NameId) -> &str {
        self.names.get(id)
    }

    /// Appends `record`.
    pub fn push(&mut self, record: &OutputRecord) {
        let meta = RecordMeta {
            topic: &record.topic,
            schema: record.schema.as_deref(),
            key: record.key.as_deref(),
            timestamp_ms: record.timestamp_ms,
            outcome: record.outcome,
        };
        self.push_written(meta, |out| out.extend_from_slice(&record.payload));
    }

    /// Appends a record whose payload `write` appends to the buffer it is given (it must only
    /// append: what is before belongs to the batch's other records).
    pub fn push_written(&mut self, meta: RecordMeta<'_>, write: impl FnOnce(&mut Vec<u8>)) {
        let key = meta.key.map(|key| self.append(key));
        let start = self.bytes.len();
        write(&mut self.bytes);
        let end = self.bytes.len().max(start);
        let entry = Entry {
            topic: self.names.id(meta.topic),
            schema: meta.schema.map(|schema| self.names.id(schema)),
            payload: start..end,
            key,
            timestamp_ms: meta.timestamp_ms,
            outcome: meta.outcome,
        };
        self.entries.push(entry);
    }

    /// Replaces the record at `index` (a record pushed as a placeholder, finished later);
    /// nothing happens when there is no record at `index`. The replaced record's bytes stay
    /// in the buffer, unused, until the batch is dropped.
    pub fn replace(&mut self, index: usize, record: &OutputRecord) {
        if index >= self.entries.len() {
            return;
        }
        self.push(record);
        if let Some(entry) = self.entries.pop() {
            if let Some(slot) = self.entries.get_mut(index) {
                *slot = entry;
            }
        }
    }

    /// The record at `index`.
    pub fn get(&self, index: usize) -> Option<RecordRef<'_>> {
        self.entries.get(index).map(|entry| self.view(entry))
    }

    /// The records in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RecordRef<'_>> + '_ {
        self.entries.iter().map(|entry| self.view(entry))
    }

    /// Owned copies of the records, in order.
    pub fn to_owned_records(&self) -> Vec<OutputRecord> {
        self.iter().map(|record| record.to_owned_record()).collect()
    }

    fn append(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        start..self.bytes.len()
    }

    fn view<'a>(&'a self, entry: &Entry) -> RecordRef<'a> {
        RecordRef {
            topic: self.names.get(entry.topic),
            topic_id: entry.topic,
            payload: self.bytes.get(entry.payload.clone()).unwrap_or_default(),
            timestamp_ms: entry.timestamp_ms,
            key: entry
                .key
                .as_ref()
                .map(|key| self.bytes.get(key.clone()).unwrap_or_default()),
            schema: entry.schema.map(|id| self.names.get(id)),
            schema_id: entry.schema,
            outcome: entry.outcome,
        }
    }
}

impl From<&[OutputRecord]> for RecordBatch {
    fn from(records: &[OutputRecord]) -> Self {
        let bytes = records.iter().map(|r| r.payload.len()).sum();
        let mut batch = RecordBatch::with_capacity(records.len(), bytes);
        for record in records {
            batch.push(record);
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(topic: &str, schema: Option<&str>, payload: &str, key: Option<&str>) -> OutputRecord {
        OutputRecord {
            topic: topic.to_owned(),
            payload: payload.as_bytes().to_vec(),
            timestamp_ms: Some(payload.len() as i64),
            key: key.map(|k| k.as_bytes().to_vec()),
            schema: schema.map(str::to_owned),
            outcome: if topic == "errors" {
                Outcome::Error { reason: "parse" }
            } else {
                Outcome::Valid
            },
        }
    }

    #[test]
    fn records_come_back_as_pushed_in_order() {
        let records = vec![
            record("eventlogging_A", Some("A"), "{\"a\":1}", Some("k1")),
            record("errors", None, "{\"e\":\"x\"}", None),
            record("eventlogging_B", Some("B"), "", Some("")),
            record("eventlogging_A", Some("A"), "{\"a\":2}", None),
        ];
        let batch = RecordBatch::from(records.as_slice());
        assert_eq!(batch.len(), 4);
        assert_eq!(batch.to_owned_records(), records);
        // One name per distinct topic or schema, shared by the records that use it.
        assert_eq!(batch.name_count(), 5);
        let ids: Vec<NameId> = batch.iter().map(|r| r.topic_id).collect();
        assert_eq!(ids[0], ids[3]);
        assert_ne!(ids[0], ids[1]);
        assert_eq!(batch.name(ids[1]), "errors");
        assert_eq!(batch.get(4), None);
    }

    #[test]
    fn a_written_payload_is_what_the_writer_appended() {
        let mut batch = RecordBatch::default();
        batch.push(&record("t", None, "first", None));
        let meta = RecordMeta {
            topic: "t",
            schema: Some("S"),
            key: Some(b"uuid"),
            timestamp_ms: None,
            outcome: Outcome::Valid,
        };
        batch.push_written(meta, |out| out.extend_from_slice(b"second"));
        let second = batch.get(1).unwrap();
        assert_eq!(second.payload, b"second");
        assert_eq!(second.key, Some(&b"uuid"[..]));
        assert_eq!(second.schema, Some("S"));
        assert_eq!(batch.get(0).unwrap().payload, b"first");
    }

    #[test]
    fn a_placeholder_is_replaced_in_place() {
        let mut batch = RecordBatch::default();
        batch.push(&record("t", None, "placeholder", None));
        batch.push(&record("u", None, "after", None));
        let finished = record("v", Some("V"), "finished", Some("k"));
        batch.replace(0, &finished);
        batch.replace(7, &finished);
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.get(0).unwrap().to_owned_record(), finished);
        assert_eq!(batch.get(1).unwrap().payload, b"after");
    }

    #[test]
    fn many_names_in_one_batch_keep_their_ids() {
        let records: Vec<OutputRecord> = (0..200)
            .map(|i| {
                record(
                    &format!("topic{}", i % 90),
                    Some(&format!("s{i}")),
                    "{}",
                    None,
                )
            })
            .collect();
        let batch = RecordBatch::from(records.as_slice());
        assert_eq!(batch.to_owned_records(), records);
        assert_eq!(batch.name_count(), 90 + 200);
        let first = batch.get(5).unwrap().topic_id;
        assert_eq!(batch.get(95).unwrap().topic_id, first);
        assert_eq!(batch.get(185).unwrap().topic_id, first);
    }
}
