//! Batches of raw input lines: the unit that flows from a source through the workers to a sink.
//!
//! A batch stores its lines back to back in one buffer (no allocation per line) and carries the
//! [`BatchAck`] through which the sink reports the batch delivered.

use std::sync::Arc;

use crate::ack::{BatchAck, BatchPosition};
use crate::intake_request::IntakeRequest;

/// A line that was longer than the configured maximum: only its first bytes were kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlongLine {
    /// Index of the line in its batch.
    pub index: usize,
    /// Length of the whole line in bytes, without its terminator.
    pub original_bytes: u64,
}

/// Raw lines read from one stream of one source, plus their delivery acknowledgement handle.
#[derive(Debug)]
pub struct LineBatch {
    /// Name of the source (for counters), e.g. `files` or `stdin`.
    pub source: Arc<str>,
    data: Vec<u8>,
    ends: Vec<usize>,
    overlong: Vec<OverlongLine>,
    ack: BatchAck,
    requests: Vec<(Arc<IntakeRequest>, usize)>,
}

impl LineBatch {
    /// HTTP intake: the requests whose events (JSON, one per "line") the batch holds, each
    /// with its number of events, in order. Empty for a batch of raw lines.
    pub fn requests(&self) -> &[(Arc<IntakeRequest>, usize)] {
        &self.requests
    }

    /// Marks the batch as the events of `requests` (each with its number of events, in order).
    pub fn set_requests(&mut self, requests: Vec<(Arc<IntakeRequest>, usize)>) {
        self.requests = requests;
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the batch holds no line (it may still need acknowledging: it covers bytes).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The lines, as raw bytes without terminators.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        lines_of(&self.data, &self.ends)
    }

    /// The input bytes the lines took: their text, a terminator each, and the parts of
    /// overlong lines that were not kept (for progress against an input's size).
    pub fn input_bytes(&self) -> u64 {
        let cut: u64 = self
            .overlong
            .iter()
            .zip(self.overlong_kept())
            .map(|(o, kept)| o.original_bytes.saturating_sub(kept))
            .sum();
        self.data.len() as u64 + self.ends.len() as u64 + cut
    }

    /// Bytes kept of each overlong line, in order.
    fn overlong_kept(&self) -> impl Iterator<Item = u64> + '_ {
        self.overlong.iter().map(|o| {
            let start = o
                .index
                .checked_sub(1)
                .and_then(|i| self.ends.get(i))
                .copied()
                .unwrap_or(0);
            let end = self.ends.get(o.index).copied().unwrap_or(start);
            end.saturating_sub(start) as u64
        })
    }

    /// Lines that were cut at the maximum line length.
    pub fn overlong(&self) -> &[OverlongLine] {
        &self.overlong
    }

    /// The batch's acknowledgement handle (to set its sequence or origin before it is sent).
    pub fn ack_mut(&mut self) -> &mut BatchAck {
        &mut self.ack
    }

    /// Splits the batch into its acknowledgement handle (which travels on to the sink) and nothing
    /// else: the line data is dropped once the workers are done with it.
    pub fn into_ack(self) -> BatchAck {
        self.ack
    }
}

/// Accumulates lines into a [`LineBatch`].
#[derive(Debug, Default)]
pub struct BatchBuilder {
    data: Vec<u8>,
    ends: Vec<usize>,
    overlong: Vec<OverlongLine>,
}

impl BatchBuilder {
    /// An empty builder with room for about `lines` lines of `bytes` bytes in total.
    pub fn with_capacity(lines: usize, bytes: usize) -> Self {
        BatchBuilder {
            data: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(lines),
            overlong: Vec::new(),
        }
    }

    /// Number of lines so far.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no line has been added.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of line data so far.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Appends one complete line. `original_bytes` is the line's full length when `line` holds
    /// only its first bytes (the line was longer than the limit).
    pub fn push_line(&mut self, line: &[u8], original_bytes: Option<u64>) {
        self.data.extend_from_slice(line);
        if let Some(original_bytes) = original_bytes {
            self.overlong.push(OverlongLine {
                index: self.ends.len(),
                original_bytes,
            });
        }
        self.ends.push(self.data.len());
    }

    /// Appends every line of `other` (one copy of its data).
    pub fn append(&mut self, other: &BatchBuilder) {
        let (offset, first) = (self.data.len(), self.ends.len());
        self.data.extend_from_slice(&other.data);
        self.ends.extend(other.ends.iter().map(|end| end + offset));
        self.overlong
            .extend(other.overlong.iter().map(|o| OverlongLine {
                index: o.index + first,
                original_bytes: o.original_bytes,
            }));
    }

    /// The lines so far.
    #[cfg(test)]
    pub(crate) fn lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        lines_of(&self.data, &self.ends)
    }

    /// Finishes the batch, attaching the acknowledgement handle for `position`.
    pub fn finish(
        self,
        source: Arc<str>,
        receiver: Arc<dyn crate::ack::AckReceiver>,
        position: BatchPosition,
    ) -> LineBatch {
        LineBatch {
            source,
            data: self.data,
            ends: self.ends,
            overlong: self.overlong,
            ack: BatchAck::new(receiver, position),
            requests: Vec::new(),
        }
    }
}

/// The lines of `data`, each ending at the next of `ends`.
fn lines_of<'a>(data: &'a [u8], ends: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut start = 0;
    ends.iter().map(move |&end| {
        let line = data.get(start..end).unwrap_or_default();
        start = end;
        line
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_keeps_every_line_and_moves_overlong_indices() {
        let mut first = BatchBuilder::with_capacity(2, 8);
        first.push_line(b"{}", None);
        first.push_line(b"", None);
        let mut second = BatchBuilder::default();
        second.push_line(b"abc", Some(10));
        second.push_line(b"{\"a\":1}", None);
        first.append(&second);
        assert_eq!(
            first.lines().collect::<Vec<_>>(),
            vec![&b"{}"[..], b"", b"abc", b"{\"a\":1}"]
        );
        assert_eq!(
            first.overlong,
            vec![OverlongLine {
                index: 2,
                original_bytes: 10
            }]
        );
        assert_eq!((first.len(), first.bytes()), (4, 12));
    }
}
