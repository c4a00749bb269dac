//! Reading one open file: from the read position to the end (or a byte budget), cut into lines
//! and batches, each batch tagged with the byte range it covers and the window fingerprint at its
//! end (so a delivered position can be checkpointed with the bytes that identify it).

use std::collections::VecDeque;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::ack::{AckReceiver, BatchPosition};
use crate::source::{BatchBuilder, LineAssembler, SourceContext, SourceError};

use super::checkpoint::PendingCheckpoint;
use super::fingerprint::Fingerprint;
use super::identity::Position;
use super::recent_bytes::RecentBytes;

/// The delivery stream of a content: its id in the [`DeliveryTracker`](crate::source::DeliveryTracker)
/// and the batches sent on it whose delivery has not been folded into the durable position yet.
#[derive(Debug)]
pub struct Stream {
    /// Stream id (unique within the run).
    pub id: u64,
    /// End of the last batch sent.
    pub sent: Position,
    /// End positions of batches sent, oldest first, until their delivery is recorded.
    pub in_flight: VecDeque<Position>,
}

impl Stream {
    /// A stream whose delivered position starts at `start`.
    pub fn new(id: u64, start: Position) -> Stream {
        Stream {
            id,
            sent: start,
            in_flight: VecDeque::new(),
        }
    }

    /// Forgets the batches delivered up to `delivered` and returns the last of their end
    /// positions (a line boundary with its window), if any.
    pub fn take_delivered(&mut self, delivered: u64) -> Option<Position> {
        let mut last = None;
        while let Some(front) = self.in_flight.front() {
            if front.offset > delivered {
                break;
            }
            last = self.in_flight.pop_front();
        }
        last
    }
}

/// What one read of a file did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Bytes read.
    pub bytes: u64,
    /// Complete lines sent.
    pub lines: u64,
    /// The file was found rewritten under the read: reading stopped there.
    pub replaced: bool,
}

/// The reading state of one file content.
#[derive(Debug)]
pub struct Reader {
    /// The open file; `None` once the file was truncated away from this content (its rest may
    /// still turn up in a copy).
    pub file: Option<File>,
    /// Next byte to read (bytes of an unterminated line included).
    pub read_offset: u64,
    /// Start of the next batch: the end of the last complete line sent.
    batch_start: u64,
    assembler: LineAssembler,
    /// The last bytes read, ending at `read_offset`.
    pub recent: RecentBytes,
    /// When the file last grew (or reading started).
    pub last_growth: Instant,
    /// The last read reached the end of the file.
    pub at_eof: bool,
    /// Length and modification time at the last truncation check: the content is verified
    /// again only when they change.
    pub last_stat: Option<(u64, Option<SystemTime>)>,
}

impl Reader {
    /// Reads `file` from `at`; `recent` holds the bytes just before `at` as far as known.
    pub fn new(file: File, at: u64, recent: RecentBytes, max_line_bytes: usize) -> Reader {
        Reader {
            file: Some(file),
            read_offset: at,
            batch_start: at,
            assembler: LineAssembler::new(max_line_bytes, at),
            recent,
            last_growth: Instant::now(),
            at_eof: false,
            last_stat: None,
        }
    }

    /// Reads `file` from `at`, first reading the window before `at` to know its recent bytes.
    pub fn resume(file: File, at: u64, window_bytes: usize, max_line_bytes: usize) -> Reader {
        let len = at.min(window_bytes as u64);
        let mut before = vec![0u8; usize::try_from(len).unwrap_or(0)];
        let recent = match file.read_exact_at(&mut before, at - len) {
            Ok(()) => RecentBytes::with_bytes(window_bytes, at, &before),
            Err(_) => RecentBytes::new(window_bytes, at),
        };
        Reader::new(file, at, recent, max_line_bytes)
    }

    /// Whether an unterminated line is buffered.
    pub fn has_partial(&self) -> bool {
        self.assembler.has_partial()
    }

    /// The position just read up to (possibly inside a line), with its window.
    pub fn read_position(&self) -> Option<Position> {
        Some(Position {
            offset: self.read_offset,
            window: self.recent.window_before(self.read_offset)?,
        })
    }

    /// Reads up to `budget` bytes into batches sent on `stream`. `head` is the content's head
    /// fingerprint: it is extended (up to the window length) as the first bytes are read.
    ///
    /// Every chunk is checked *after* it is read: if the head or the bytes just before the read
    /// position changed, the file was truncated and rewritten before the read, the chunk belongs
    /// to the new content and is dropped (`ReadOutcome::replaced`); the next truncation check
    /// takes it from there. A rewrite after the check cannot affect bytes already read.
    pub fn read(
        &mut self,
        ctx: &SourceContext,
        stream: &mut Stream,
        head: &mut Fingerprint,
        chunk: &mut [u8],
        budget: u64,
        pending: Option<&PendingCheckpoint>,
    ) -> Result<ReadOutcome, SourceError> {
        let mut outcome = ReadOutcome::default();
        let mut builder = ctx.new_builder();
        self.at_eof = false;
        while outcome.bytes < budget && !ctx.stopping() {
            let Some(file) = self.file.as_ref() else {
                break;
            };
            let want = usize::try_from(budget - outcome.bytes)
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            let Some(buffer) = chunk.get_mut(..want) else {
                break;
            };
            let read = match file.read_at(buffer, self.read_offset) {
                Ok(0) => {
                    self.at_eof = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(error) => {
                    // Leave the file for this pass; the next one retries.
                    tracing::warn!(%error, "reading a followed file failed");
                    break;
                }
            };
            if !self.still_holds(file, head) {
                outcome.replaced = true;
                self.last_stat = None;
                break;
            }
            // Feed the chunk in pieces that end where the batch reaches `batch_lines` lines, so
            // batches (and so acknowledgements and checkpoints) stay fine-grained.
            let mut rest = buffer.get(..read).unwrap_or_default();
            while !rest.is_empty() {
                let room = ctx
                    .settings
                    .batch_lines
                    .saturating_sub(builder.len())
                    .max(1);
                let cut = memchr::memchr_iter(b'\n', rest)
                    .nth(room - 1)
                    .map_or(rest.len(), |newline| newline + 1);
                let (piece, tail) = rest.split_at(cut);
                rest = tail;
                self.assembler.feed(piece, &mut builder);
                self.recent.push(piece);
                self.read_offset += piece.len() as u64;
                if ctx.batch_full(&builder) {
                    outcome.lines += builder.len() as u64;
                    self.send(ctx, stream, &mut builder, pending.map(|p| (p, *head)))?;
                }
            }
            outcome.bytes += read as u64;
            self.extend_head(head);
        }
        if !builder.is_empty() {
            outcome.lines += builder.len() as u64;
            self.send(ctx, stream, &mut builder, pending.map(|p| (p, *head)))?;
        }
        if outcome.bytes > 0 {
            self.last_growth = Instant::now();
        }
        Ok(outcome)
    }

    /// Whether the open file still starts with `head` and still holds, just before the read
    /// position, the bytes that were read there.
    pub fn still_holds(&self, file: &File, head: &Fingerprint) -> bool {
        if Fingerprint::read(file, 0, head.len).ok().flatten() != Some(*head) {
            return false;
        }
        let Some(at) = self.read_position() else {
            // The bytes before the position are not known (an unreadable window at resume).
            return true;
        };
        let Some(start) = at.offset.checked_sub(at.window.len) else {
            return false;
        };
        Fingerprint::read(file, start, at.window.len).ok().flatten() == Some(at.window)
    }

    /// Extends `head` over the bytes read so far, up to the window length, when it is shorter.
    /// The file is checked again afterwards, so a head is never taken from a rewritten file.
    fn extend_head(&self, head: &mut Fingerprint) {
        let max = self.recent.capacity() as u64;
        if head.len >= max || self.read_offset <= head.len {
            return;
        }
        let Some(file) = self.file.as_ref() else {
            return;
        };
        if let Ok(Some(longer)) = Fingerprint::head(file, self.read_offset, max) {
            if self.still_holds(file, &longer) {
                *head = longer;
            }
        }
    }

    /// Emits the buffered unterminated line as a line (the file is finished). Returns the number
    /// of lines sent (0 or 1).
    pub fn finish_partial(
        &mut self,
        ctx: &SourceContext,
        stream: &mut Stream,
        pending: Option<(&PendingCheckpoint, Fingerprint)>,
    ) -> Result<u64, SourceError> {
        let mut builder = ctx.new_builder();
        self.assembler.finish(&mut builder);
        let lines = builder.len() as u64;
        if lines > 0 {
            self.send(ctx, stream, &mut builder, pending)?;
        }
        Ok(lines)
    }

    /// Sends the built batch; with `pending` (exactly-once), the batch carries the encoded
    /// checkpoint of everything delivered once it is, this content (head) included up to its end.
    fn send(
        &mut self,
        ctx: &SourceContext,
        stream: &mut Stream,
        builder: &mut BatchBuilder,
        pending: Option<(&PendingCheckpoint, Fingerprint)>,
    ) -> Result<(), SourceError> {
        let full = std::mem::replace(builder, ctx.new_builder());
        let end = self.assembler.consumed_offset();
        let window = self
            .recent
            .window_before(end)
            .or_else(|| {
                let file = self.file.as_ref()?;
                Fingerprint::window_before(file, end, self.recent.capacity() as u64)
                    .ok()
                    .flatten()
            })
            .unwrap_or(Fingerprint::UNKNOWN);
        let at = Position {
            offset: end,
            window,
        };
        stream.in_flight.push_back(at);
        stream.sent = at;
        let position = BatchPosition {
            stream: stream.id,
            start: self.batch_start,
            end,
            lines: full.len() as u64,
        };
        self.batch_start = end;
        let mut batch = full.finish(
            Arc::clone(&ctx.name),
            Arc::clone(&ctx.tracker) as Arc<dyn AckReceiver>,
            position,
        );
        if let Some((pending, head)) = pending {
            batch
                .ack_mut()
                .set_checkpoint(Arc::from(pending.at(head, at)));
        }
        ctx.send(batch)
    }
}
