//! The source side of acknowledgements: per-stream contiguous delivered offsets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::ack::{AckReceiver, BatchPosition, ContiguousWatermark};

#[derive(Debug)]
struct StreamProgress {
    name: String,
    watermark: ContiguousWatermark,
}

/// Receives a source's acknowledgements and keeps, for each of its streams (files, partitions),
/// the offset up to which every line has been delivered.
#[derive(Debug, Default)]
pub struct DeliveryTracker {
    streams: Mutex<HashMap<u64, StreamProgress>>,
    /// Signalled after every acknowledgement (for [`DeliveryTracker::wait_until_delivered`]).
    acknowledged: Condvar,
    delivered_lines: AtomicU64,
    delivered_batches: AtomicU64,
}

/// Delivered position of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDelivery {
    /// The stream's identifier within the source.
    pub stream: u64,
    /// Human-readable name (the file path, the topic/partition).
    pub name: String,
    /// Every byte/offset before this one has been delivered.
    pub delivered: u64,
    /// Batches delivered beyond a not-yet-delivered one.
    pub waiting_ranges: usize,
}

impl DeliveryTracker {
    /// Starts tracking a stream whose delivered position is `start`.
    pub fn register_stream(&self, stream: u64, name: impl Into<String>, start: u64) {
        let mut streams = self.lock();
        streams.insert(
            stream,
            StreamProgress {
                name: name.into(),
                watermark: ContiguousWatermark::starting_at(start),
            },
        );
    }

    /// Stops tracking a stream (the file is gone and fully delivered).
    pub fn forget_stream(&self, stream: u64) {
        self.lock().remove(&stream);
    }

    /// The delivered position of `stream`.
    pub fn delivered(&self, stream: u64) -> Option<u64> {
        self.lock().get(&stream).map(|s| s.watermark.watermark())
    }

    /// Every tracked stream's delivered position.
    pub fn snapshot(&self) -> Vec<StreamDelivery> {
        let mut out: Vec<StreamDelivery> = self
            .lock()
            .iter()
            .map(|(&stream, p)| StreamDelivery {
                stream,
                name: p.name.clone(),
                delivered: p.watermark.watermark(),
                waiting_ranges: p.watermark.pending_ranges(),
            })
            .collect();
        out.sort_by_key(|s| s.stream);
        out
    }

    /// Waits until every `(stream, offset)` in `targets` is delivered up to `offset` (streams no
    /// longer tracked count as delivered), or `timeout` passes. Returns whether all were.
    pub fn wait_until_delivered(&self, targets: &[(u64, u64)], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut streams = self.lock();
        loop {
            let done = targets.iter().all(|(stream, offset)| {
                streams
                    .get(stream)
                    .is_none_or(|p| p.watermark.watermark() >= *offset)
            });
            if done {
                return true;
            }
            let now = Instant::now();
            let Some(left) = deadline
                .checked_duration_since(now)
                .filter(|d| !d.is_zero())
            else {
                return false;
            };
            streams = match self.acknowledged.wait_timeout(streams, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Lines acknowledged so far.
    pub fn delivered_lines(&self) -> u64 {
        self.delivered_lines.load(Ordering::Relaxed)
    }

    /// Batches acknowledged so far.
    pub fn delivered_batches(&self) -> u64 {
        self.delivered_batches.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, StreamProgress>> {
        // A poisoned lock only means another thread panicked mid-update of plain numbers; the map
        // itself is still consistent, so keep going rather than cascade the panic.
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl AckReceiver for DeliveryTracker {
    fn acknowledge(&self, position: BatchPosition) {
        {
            let mut streams = self.lock();
            if let Some(progress) = streams.get_mut(&position.stream) {
                progress.watermark.complete(position.start, position.end);
            }
        }
        self.acknowledged.notify_all();
        self.delivered_lines
            .fetch_add(position.lines, Ordering::Relaxed);
        self.delivered_batches.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn position(stream: u64, start: u64, end: u64) -> BatchPosition {
        BatchPosition {
            stream,
            start,
            end,
            lines: 1,
        }
    }

    #[test]
    fn waiting_ends_when_acknowledgements_reach_the_targets() {
        let tracker = Arc::new(DeliveryTracker::default());
        tracker.register_stream(1, "a", 0);
        tracker.register_stream(2, "b", 100);
        // Nothing acknowledged: the wait times out.
        assert!(!tracker.wait_until_delivered(&[(1, 10)], Duration::from_millis(20)));
        let acker = Arc::clone(&tracker);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            acker.acknowledge(position(1, 0, 10));
            acker.acknowledge(position(2, 100, 150));
        });
        assert!(tracker.wait_until_delivered(&[(1, 10), (2, 150), (9, 5)], Duration::from_secs(10)));
        thread.join().unwrap();
        assert_eq!(tracker.delivered(1), Some(10));
        assert_eq!(tracker.delivered(2), Some(150));
        assert_eq!(tracker.delivered_lines(), 2);
    }
}
