//! Reads one finite byte stream (stdin, a file read once) to its end, in batches.
//!
//! A pipe or a terminal can go quiet for a long time (`tail -f x | beacon-processor process -`):
//! the reader waits for data at most [`QUIET_FLUSH`] at a time, so that lines already read are
//! sent without waiting for a full batch, and a stop (Ctrl-C) is seen while the input is quiet.

use std::io::{ErrorKind, Read};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::ack::BatchPosition;

use super::batch::BatchBuilder;
use super::line_assembler::LineAssembler;
use super::{SourceContext, SourceError};

/// Size of each read from the stream.
pub const READ_CHUNK_BYTES: usize = 256 * 1024;

/// The longest a quiet stream keeps read lines back from the pipeline (and a stop waits).
pub const QUIET_FLUSH: Duration = Duration::from_millis(100);

/// Reads `reader` to its end as stream `stream`, sending batches to the pipeline. Returns the
/// number of lines read. A final line without a newline is still a line.
pub fn read_to_end(
    ctx: &SourceContext,
    stream: u64,
    name: &str,
    mut reader: impl Read + AsFd,
) -> Result<u64, SourceError> {
    ctx.tracker.register_stream(stream, name, 0);
    let mut assembler = LineAssembler::new(ctx.settings.max_line_bytes, 0);
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    let mut unsent = Unsent {
        builder: ctx.new_builder(),
        start: 0,
        lines: 0,
    };
    loop {
        if ctx.stopping() {
            break;
        }
        if !readable_within(&reader, QUIET_FLUSH) {
            // Quiet: what is read goes on now rather than when a batch fills.
            unsent.send(ctx, stream, assembler.consumed_offset())?;
            continue;
        }
        let read = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(SourceError::Read {
                    name: name.to_owned(),
                    error: e,
                })
            }
        };
        assembler.feed(chunk.get(..read).unwrap_or_default(), &mut unsent.builder);
        if ctx.batch_full(&unsent.builder) {
            unsent.send(ctx, stream, assembler.consumed_offset())?;
        }
    }
    if !ctx.stopping() {
        assembler.finish(&mut unsent.builder);
    }
    unsent.send(ctx, stream, assembler.consumed_offset())?;
    Ok(unsent.lines)
}

/// The lines read and not yet sent, and the stream offset their batch starts at.
struct Unsent {
    builder: BatchBuilder,
    start: u64,
    /// Lines sent so far.
    lines: u64,
}

impl Unsent {
    /// Sends the lines read so far, which end at stream offset `end`, as one batch (if any).
    fn send(&mut self, ctx: &SourceContext, stream: u64, end: u64) -> Result<(), SourceError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.builder, ctx.new_builder());
        let position = BatchPosition {
            stream,
            start: self.start,
            end,
            lines: full.len() as u64,
        };
        self.lines += position.lines;
        self.start = end;
        let batch = full.finish(
            Arc::clone(&ctx.name),
            ctx.tracker.clone() as Arc<dyn crate::ack::AckReceiver>,
            position,
        );
        ctx.send(batch)
    }
}

/// Whether `input` has data (or its end, or an error) to read within `timeout`. A regular file
/// always has. When the descriptor cannot be polled, the read is left to block as it would.
fn readable_within(input: &impl AsFd, timeout: Duration) -> bool {
    let mut fds = [PollFd::new(input, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    match poll(&mut fds, Some(&timeout)) {
        Ok(ready) => ready > 0,
        Err(rustix::io::Errno::INTR) => false,
        Err(_) => true,
    }
}
