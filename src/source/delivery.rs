//! The source side of acknowledgements: per-stream contiguous delivered offsets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

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
        self.delivered_lines
            .fetch_add(position.lines, Ordering::Relaxed);
        self.delivered_batches.fetch_add(1, Ordering::Relaxed);
    }
}
