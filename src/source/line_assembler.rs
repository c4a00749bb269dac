//! Cuts a byte stream into lines: `\n`-terminated, `\r\n` accepted, with a maximum line length.
//!
//! Lines longer than the maximum are not dropped: their first `max_line_bytes` bytes are kept and
//! the line is flagged, so the pipeline can emit an error record for it. A trailing partial line
//! stays buffered until its newline arrives (or the caller declares the stream finished).

use super::batch::BatchBuilder;

/// Incremental line splitter for one stream.
#[derive(Debug)]
pub struct LineAssembler {
    max_line_bytes: usize,
    partial: Vec<u8>,
    /// Full length of the partial line, including bytes discarded past the limit.
    partial_len: u64,
    /// Stream offset just after the last complete line handed out.
    consumed: u64,
}

impl LineAssembler {
    /// A splitter for a stream whose next byte is at `offset`.
    pub fn new(max_line_bytes: usize, offset: u64) -> Self {
        LineAssembler {
            max_line_bytes: max_line_bytes.max(1),
            partial: Vec::new(),
            partial_len: 0,
            consumed: offset,
        }
    }

    /// Stream offset just after the last complete line handed out: the end of what the batches
    /// built so far cover.
    pub fn consumed_offset(&self) -> u64 {
        self.consumed
    }

    /// Whether bytes of an unterminated line are buffered.
    pub fn has_partial(&self) -> bool {
        self.partial_len > 0
    }

    /// Bytes of the unterminated line seen so far.
    pub fn partial_len(&self) -> u64 {
        self.partial_len
    }

    /// Feeds the next chunk of the stream, appending every completed line to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut BatchBuilder) {
        while let Some(newline) = memchr::memchr(b'\n', chunk) {
            let (piece, rest) = chunk.split_at(newline);
            chunk = rest.get(1..).unwrap_or_default();
            let terminator_len = 1;
            if self.partial_len == 0 && piece.len() <= self.max_line_bytes {
                // Fast path: the whole line is inside this chunk.
                let line = strip_cr(piece);
                out.push_line(line, None);
                self.consumed += piece.len() as u64 + terminator_len;
            } else {
                self.append_partial(piece);
                let total = self.partial_len;
                self.emit_partial(out, total + terminator_len);
            }
        }
        if !chunk.is_empty() {
            self.append_partial(chunk);
        }
    }

    /// Emits the buffered partial line as a final line (end of a finished stream).
    pub fn finish(&mut self, out: &mut BatchBuilder) {
        if self.partial_len > 0 {
            let total = self.partial_len;
            self.emit_partial(out, total);
        }
    }

    /// Forgets any buffered partial line and restarts at `offset` (the file was truncated).
    pub fn reset(&mut self, offset: u64) {
        self.partial.clear();
        self.partial_len = 0;
        self.consumed = offset;
    }

    fn append_partial(&mut self, piece: &[u8]) {
        let room = self.max_line_bytes.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(piece.get(..room.min(piece.len())).unwrap_or_default());
        self.partial_len += piece.len() as u64;
    }

    fn emit_partial(&mut self, out: &mut BatchBuilder, stream_bytes: u64) {
        let full_len = self.partial_len;
        let overlong = full_len > self.max_line_bytes as u64;
        let line = if overlong {
            &self.partial[..]
        } else {
            strip_cr(&self.partial)
        };
        out.push_line(line, overlong.then_some(full_len));
        self.consumed += stream_bytes;
        self.partial.clear();
        self.partial_len = 0;
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::{AckReceiver, BatchPosition};
    use std::sync::Arc;

    struct NoAck;
    impl AckReceiver for NoAck {
        fn acknowledge(&self, _: BatchPosition) {}
    }

    fn lines_of(builder: BatchBuilder) -> (Vec<Vec<u8>>, Vec<(usize, u64)>) {
        let pos = BatchPosition {
            stream: 0,
            start: 0,
            end: 0,
            lines: 0,
        };
        let batch = builder.finish(Arc::from("t"), Arc::new(NoAck), pos);
        let lines = batch.lines().map(|l| l.to_vec()).collect();
        let over = batch
            .overlong()
            .iter()
            .map(|o| (o.index, o.original_bytes))
            .collect();
        (lines, over)
    }

    #[test]
    fn splits_across_chunks_and_tracks_offsets() {
        let mut a = LineAssembler::new(100, 0);
        let mut b = BatchBuilder::default();
        a.feed(b"one\ntw", &mut b);
        assert_eq!(a.consumed_offset(), 4);
        assert!(a.has_partial());
        a.feed(b"o\r\nthree", &mut b);
        assert_eq!(a.consumed_offset(), 9);
        a.finish(&mut b);
        assert_eq!(a.consumed_offset(), 14);
        let (lines, over) = lines_of(b);
        assert_eq!(
            lines,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        assert!(over.is_empty());
    }

    #[test]
    fn overlong_lines_are_cut_and_flagged_not_dropped() {
        let mut a = LineAssembler::new(4, 0);
        let mut b = BatchBuilder::default();
        a.feed(b"abcdefgh\nok\nxyz", &mut b);
        a.feed(b"uvw\n", &mut b);
        assert_eq!(a.consumed_offset(), 19);
        let (lines, over) = lines_of(b);
        assert_eq!(
            lines,
            vec![b"abcd".to_vec(), b"ok".to_vec(), b"xyzu".to_vec()]
        );
        assert_eq!(over, vec![(0, 8), (2, 6)]);
    }

    #[test]
    fn empty_lines_are_lines() {
        let mut a = LineAssembler::new(10, 5);
        let mut b = BatchBuilder::default();
        a.feed(b"\n\n", &mut b);
        assert_eq!(a.consumed_offset(), 7);
        assert_eq!(lines_of(b).0, vec![Vec::<u8>::new(), Vec::new()]);
    }
}
