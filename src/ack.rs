//! Delivery acknowledgements: how sinks tell sources that a batch of input is safely delivered.
//!
//! Every [`LineBatch`](crate::source::LineBatch) carries a [`BatchAck`]. The sink calls
//! [`BatchAck::acknowledge`] once every output record derived from the batch is durably written
//! (directory sink: after its buffered writes are flushed; Kafka: after the delivery reports). The
//! source turns acknowledgements into a contiguous watermark ([`ContiguousWatermark`]), so that a
//! checkpoint or a stored offset only moves past input whose outputs have all been delivered,
//! whatever order the batches complete in. A batch that is dropped without being acknowledged
//! (e.g. its sink failed) holds the watermark back: nothing past it counts as delivered.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// Identifies a batch within its source: which stream (file, partition) and which range of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchPosition {
    /// The source's own identifier of the stream the batch came from (file id, partition id).
    pub stream: u64,
    /// First position in the stream covered by the batch (byte offset, message offset).
    pub start: u64,
    /// One past the last position covered by the batch.
    pub end: u64,
    /// Number of input lines in the batch.
    pub lines: u64,
}

/// Receives acknowledgements for the batches a source emitted.
pub trait AckReceiver: Send + Sync {
    /// Called once per batch, when all its outputs are delivered.
    fn acknowledge(&self, position: BatchPosition);
}

/// The Kafka partition a batch was read from: what a sink that commits the input offsets itself
/// (exactly-once delivery) needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InputPartition {
    /// The raw topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

/// The acknowledgement handle a batch carries from its source to the sink.
pub struct BatchAck {
    receiver: Arc<dyn AckReceiver>,
    position: BatchPosition,
    read_at: Instant,
    /// Order of the batch among everything its source sent (see [`BatchAck::sequence`]).
    sequence: u64,
    origin: Option<Arc<InputPartition>>,
    checkpoint: Option<Arc<[u8]>>,
}

impl BatchAck {
    /// A handle that reports `position` to `receiver` when acknowledged.
    pub fn new(receiver: Arc<dyn AckReceiver>, position: BatchPosition) -> Self {
        BatchAck {
            receiver,
            position,
            read_at: Instant::now(),
            sequence: 0,
            origin: None,
            checkpoint: None,
        }
    }

    /// The batch's place in the order its source sent batches in (0, 1, 2, ... without gaps);
    /// set by the source context when the batch is sent. Workers may finish batches in another
    /// order; a sink that needs input order gets them back in this one.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Sets [`BatchAck::sequence`].
    pub fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }

    /// The Kafka partition the batch was read from, if it came from Kafka; its position's `end`
    /// is then the partition offset to commit once the batch is delivered.
    pub fn origin(&self) -> Option<&InputPartition> {
        self.origin.as_deref()
    }

    /// Sets [`BatchAck::origin`].
    pub fn set_origin(&mut self, origin: Arc<InputPartition>) {
        self.origin = Some(origin);
    }

    /// The source's whole resume state (its encoded checkpoint) as it is once this batch and
    /// every batch sent before it are delivered: set by a file source whose checkpoints a
    /// transactional sink commits together with the records (exactly-once file input).
    pub fn checkpoint(&self) -> Option<&Arc<[u8]>> {
        self.checkpoint.as_ref()
    }

    /// Sets [`BatchAck::checkpoint`].
    pub fn set_checkpoint(&mut self, checkpoint: Arc<[u8]>) {
        self.checkpoint = Some(checkpoint);
    }

    /// When the batch was cut from the input (for the processing latency).
    pub fn read_at(&self) -> Instant {
        self.read_at
    }

    /// The range of input this batch covers.
    pub fn position(&self) -> BatchPosition {
        self.position
    }

    /// Reports the batch as delivered. Consumes the handle: a batch is acknowledged at most once.
    pub fn acknowledge(self) {
        self.receiver.acknowledge(self.position);
    }
}

impl fmt::Debug for BatchAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchAck")
            .field("position", &self.position)
            .field("sequence", &self.sequence)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Tracks completed ranges `[start, end)` of one stream and advances the highest position up to
/// which everything is complete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContiguousWatermark {
    watermark: u64,
    /// Completed ranges above the watermark, keyed by start.
    ahead: BTreeMap<u64, u64>,
}

impl ContiguousWatermark {
    /// A watermark starting at `position` (everything before it is already delivered).
    pub fn starting_at(position: u64) -> Self {
        ContiguousWatermark {
            watermark: position,
            ahead: BTreeMap::new(),
        }
    }

    /// The position up to which every range is complete.
    pub fn watermark(&self) -> u64 {
        self.watermark
    }

    /// Number of completed ranges still waiting for a gap below them to fill.
    pub fn pending_ranges(&self) -> usize {
        self.ahead.len()
    }

    /// Marks `[start, end)` complete and returns the (possibly advanced) watermark.
    pub fn complete(&mut self, start: u64, end: u64) -> u64 {
        if end <= self.watermark {
            return self.watermark;
        }
        if start > self.watermark {
            let slot = self.ahead.entry(start).or_insert(end);
            *slot = (*slot).max(end);
            return self.watermark;
        }
        self.watermark = end;
        while let Some((&next_start, &next_end)) = self.ahead.first_key_value() {
            if next_start > self.watermark {
                break;
            }
            self.ahead.remove(&next_start);
            self.watermark = self.watermark.max(next_end);
        }
        self.watermark
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn in_order_completion_advances() {
        let mut w = ContiguousWatermark::default();
        assert_eq!(w.complete(0, 10), 10);
        assert_eq!(w.complete(10, 25), 25);
        assert_eq!(w.pending_ranges(), 0);
    }

    #[test]
    fn out_of_order_completion_waits_for_the_gap() {
        let mut w = ContiguousWatermark::starting_at(100);
        assert_eq!(w.complete(120, 130), 100);
        assert_eq!(w.complete(110, 120), 100);
        assert_eq!(w.pending_ranges(), 2);
        assert_eq!(w.complete(100, 110), 130);
        assert_eq!(w.pending_ranges(), 0);
    }

    #[test]
    fn stale_ranges_are_ignored() {
        let mut w = ContiguousWatermark::starting_at(50);
        assert_eq!(w.complete(0, 10), 50);
        assert_eq!(w.complete(40, 60), 60);
    }

    proptest! {
        #[test]
        fn any_completion_order_ends_at_the_total(sizes in prop::collection::vec(1u64..50, 1..40), seed in any::<u64>()) {
            let mut ranges = Vec::new();
            let mut at = 0;
            for s in &sizes { ranges.push((at, at + s)); at += s; }
            // Deterministic shuffle from the seed.
            let mut state = seed | 1;
            for i in (1..ranges.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                let j = (state % (i as u64 + 1)) as usize;
                ranges.swap(i, j);
            }
            let mut w = ContiguousWatermark::default();
            let mut done = Vec::new();
            for (start, end) in ranges {
                let mark = w.complete(start, end);
                done.push((start, end));
                // The watermark never exceeds what is contiguously complete.
                let mut contiguous = 0;
                let mut sorted = done.clone();
                sorted.sort_unstable();
                for (s, e) in sorted { if s == contiguous { contiguous = e; } }
                prop_assert_eq!(mark, contiguous);
            }
            prop_assert_eq!(w.watermark(), at);
        }
    }
}
