//! Reads one finite byte stream (stdin, a file read once) to its end, in batches.

use std::io::{ErrorKind, Read};
use std::sync::Arc;

use crate::ack::BatchPosition;

use super::batch::BatchBuilder;
use super::line_assembler::LineAssembler;
use super::{SourceContext, SourceError};

/// Size of each read from the stream.
pub const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Reads `reader` to its end as stream `stream`, sending batches to the pipeline. Returns the
/// number of lines read. A final line without a newline is still a line.
pub fn read_to_end(
    ctx: &SourceContext,
    stream: u64,
    name: &str,
    mut reader: impl Read,
) -> Result<u64, SourceError> {
    ctx.tracker.register_stream(stream, name, 0);
    let mut assembler = LineAssembler::new(ctx.settings.max_line_bytes, 0);
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    let mut builder = ctx.new_builder();
    let mut batch_start = 0u64;
    let mut lines = 0u64;
    loop {
        if ctx.stopping() {
            break;
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
        assembler.feed(chunk.get(..read).unwrap_or_default(), &mut builder);
        if ctx.batch_full(&builder) {
            lines += builder.len() as u64;
            let end = assembler.consumed_offset();
            send(ctx, stream, &mut builder, batch_start, end)?;
            batch_start = end;
        }
    }
    if !ctx.stopping() {
        assembler.finish(&mut builder);
    }
    if !builder.is_empty() {
        lines += builder.len() as u64;
        let end = assembler.consumed_offset();
        send(ctx, stream, &mut builder, batch_start, end)?;
    }
    Ok(lines)
}

fn send(
    ctx: &SourceContext,
    stream: u64,
    builder: &mut BatchBuilder,
    start: u64,
    end: u64,
) -> Result<(), SourceError> {
    let full = std::mem::replace(builder, ctx.new_builder());
    let position = BatchPosition {
        stream,
        start,
        end,
        lines: full.len() as u64,
    };
    let batch = full.finish(
        Arc::clone(&ctx.name),
        ctx.tracker.clone() as Arc<dyn crate::ack::AckReceiver>,
        position,
    );
    ctx.send(batch)
}
