//! Restores the order in which a source sent its batches, after workers that may finish them
//! in any order: for sinks that need input order (the transactional Kafka sink, whose
//! transactions must continue each partition's committed offset without a gap).
//!
//! Sources number their batches 0, 1, 2, ... without gaps ([`crate::ack::BatchAck::sequence`]).
//! A batch that arrives early waits here until every batch before it has arrived; at most the
//! batches in the workers and queues at one time wait, since the pipeline's queues are bounded.

use std::collections::BTreeMap;

use crate::record::ProcessedBatch;

/// Batches that arrived before one sent earlier.
#[derive(Debug, Default)]
pub struct InputOrder {
    next: u64,
    early: BTreeMap<u64, ProcessedBatch>,
}

impl InputOrder {
    /// Takes `batch` and returns every batch that can now go on, in sequence order.
    pub fn release(&mut self, batch: ProcessedBatch) -> Vec<ProcessedBatch> {
        let sequence = batch.ack.sequence();
        if sequence < self.next {
            // Cannot happen with gap-free numbering; never hold a batch back for it.
            return vec![batch];
        }
        self.early.insert(sequence, batch);
        let mut ready = Vec::new();
        while let Some(batch) = self.early.remove(&self.next) {
            ready.push(batch);
            self.next += 1;
        }
        ready
    }

    /// Batches waiting for an earlier one.
    pub fn waiting(&self) -> usize {
        self.early.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::{AckReceiver, BatchAck, BatchPosition};
    use std::sync::Arc;

    struct NoAck;
    impl AckReceiver for NoAck {
        fn acknowledge(&self, _: BatchPosition) {}
    }

    fn batch(sequence: u64) -> ProcessedBatch {
        let position = BatchPosition {
            stream: 1,
            start: sequence,
            end: sequence + 1,
            lines: 0,
        };
        let mut ack = BatchAck::new(Arc::new(NoAck), position);
        ack.set_sequence(sequence);
        ProcessedBatch {
            source: Arc::from("test"),
            records: Default::default(),
            skipped: 0,
            ack,
        }
    }

    fn sequences(batches: Vec<ProcessedBatch>) -> Vec<u64> {
        batches.iter().map(|b| b.ack.sequence()).collect()
    }

    #[test]
    fn early_batches_wait_for_the_ones_before_them() {
        let mut order = InputOrder::default();
        assert_eq!(sequences(order.release(batch(1))), Vec::<u64>::new());
        assert_eq!(sequences(order.release(batch(3))), Vec::<u64>::new());
        assert_eq!(order.waiting(), 2);
        assert_eq!(sequences(order.release(batch(0))), vec![0, 1]);
        assert_eq!(sequences(order.release(batch(2))), vec![2, 3]);
        assert_eq!(sequences(order.release(batch(4))), vec![4]);
        assert_eq!(order.waiting(), 0);
    }
}
