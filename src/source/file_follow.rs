//! Files followed as they grow (the `run` command): glob discovery re-scanned periodically,
//! new lines read as they are appended, create-style rotation (the old file is read to its end),
//! truncation (reading restarts at 0).
//!
//! This is the simple follower of the foundation; checkpoints (resume after restart), fingerprints
//! and fair scheduling across thousands of files belong to the production tailer.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ack::BatchPosition;

use super::line_assembler::LineAssembler;
use super::stream_reader::READ_CHUNK_BYTES;
use super::{SourceContext, SourceError};

/// Where to start in files found at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// Read existing content.
    Beginning,
    /// Only lines appended after start-up.
    End,
}

/// What to follow and how often to look.
#[derive(Debug, Clone)]
pub struct FollowSettings {
    /// Glob patterns of files to read.
    pub include: Vec<String>,
    /// Glob patterns of files to leave alone.
    pub exclude: Vec<String>,
    /// Pause between read passes when nothing new was found.
    pub poll_interval: Duration,
    /// How often the glob patterns are re-evaluated.
    pub rescan_interval: Duration,
    /// Where to start in files that exist at start-up (files appearing later are read whole).
    pub read_from: ReadFrom,
}

/// Bytes read from one file per pass before moving to the next (fairness across files).
const PASS_BUDGET_BYTES: u64 = 8 * 1024 * 1024;

struct Followed {
    stream: u64,
    path: PathBuf,
    identity: (u64, u64),
    file: File,
    offset: u64,
    batch_start: u64,
    assembler: LineAssembler,
    /// The path now names another file (or nothing): read to the end, then let go.
    rotated: bool,
    /// When the file last grew (or was first seen).
    last_growth: Instant,
}

/// How long a rotated-away file is still watched for late writes before it is let go.
const ROTATED_GRACE: Duration = Duration::from_secs(2);

/// Follows files until `ctx` says stop. Returns the number of lines read.
pub fn follow(ctx: &SourceContext, settings: &FollowSettings) -> Result<u64, SourceError> {
    let excludes: Vec<glob::Pattern> = settings
        .exclude
        .iter()
        .filter_map(|p| glob::Pattern::new(p).ok())
        .collect();
    let mut followed: Vec<Followed> = Vec::new();
    let mut next_stream = 0u64;
    let mut lines = 0u64;
    let mut first_scan = true;
    let mut next_scan = Instant::now();
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    while !ctx.stopping() {
        if Instant::now() >= next_scan {
            let read_from = if first_scan {
                settings.read_from
            } else {
                ReadFrom::Beginning
            };
            scan(
                ctx,
                settings,
                &excludes,
                &mut followed,
                &mut next_stream,
                read_from,
            );
            first_scan = false;
            next_scan = Instant::now() + settings.rescan_interval;
        }
        let mut progressed = false;
        for entry in followed.iter_mut() {
            let (read_lines, read_bytes) =
                read_available(ctx, entry, &mut next_stream, &mut chunk)?;
            lines += read_lines;
            progressed |= read_bytes > 0;
        }
        let mut finished = Vec::new();
        for (index, entry) in followed.iter_mut().enumerate() {
            if entry.rotated && entry.last_growth.elapsed() >= ROTATED_GRACE {
                // At its end and quiet for the grace period: a last unterminated line is a line.
                let mut builder = ctx.new_builder();
                entry.assembler.finish(&mut builder);
                if !builder.is_empty() {
                    lines += builder.len() as u64;
                    send(ctx, entry, &mut builder)?;
                }
                tracing::info!(path = %entry.path.display(), "finished reading rotated file");
                finished.push(index);
            }
        }
        for index in finished.into_iter().rev() {
            followed.remove(index);
        }
        if !progressed {
            std::thread::sleep(settings.poll_interval);
        }
    }
    Ok(lines)
}

fn scan(
    ctx: &SourceContext,
    settings: &FollowSettings,
    excludes: &[glob::Pattern],
    followed: &mut Vec<Followed>,
    next_stream: &mut u64,
    read_from: ReadFrom,
) {
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for pattern in &settings.include {
        let paths = match glob::glob(pattern) {
            Ok(paths) => paths,
            Err(e) => {
                tracing::warn!(pattern, error = %e, "invalid glob pattern");
                continue;
            }
        };
        for path in paths.flatten() {
            if excludes.iter().any(|ex| ex.matches_path(&path)) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let identity = (meta.dev(), meta.ino());
            seen.push(identity);
            if followed.iter().any(|f| f.identity == identity) {
                continue;
            }
            // The path names a new file: whatever we followed under this path was rotated away.
            for old in followed.iter_mut().filter(|f| f.path == path) {
                old.rotated = true;
            }
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot open file");
                    continue;
                }
            };
            let offset = match read_from {
                ReadFrom::Beginning => 0,
                ReadFrom::End => meta.len(),
            };
            let stream = *next_stream;
            *next_stream += 1;
            ctx.tracker
                .register_stream(stream, path.display().to_string(), offset);
            tracing::info!(path = %path.display(), offset, "following file");
            followed.push(Followed {
                stream,
                path,
                identity,
                file,
                offset,
                batch_start: offset,
                assembler: LineAssembler::new(ctx.settings.max_line_bytes, offset),
                rotated: false,
                last_growth: Instant::now(),
            });
        }
    }
    for entry in followed.iter_mut() {
        if !seen.contains(&entry.identity) {
            entry.rotated = true;
        }
    }
}

/// Reads what is available from one file (up to the pass budget). Returns (lines, bytes) read.
fn read_available(
    ctx: &SourceContext,
    entry: &mut Followed,
    next_stream: &mut u64,
    chunk: &mut [u8],
) -> Result<(u64, u64), SourceError> {
    let len = match entry.file.metadata() {
        Ok(meta) => meta.len(),
        Err(e) => {
            return Err(SourceError::Read {
                name: entry.path.display().to_string(),
                error: e,
            })
        }
    };
    if len < entry.offset {
        // Truncated: start over at 0 as a new stream so the delivered offsets stay monotonic.
        tracing::warn!(path = %entry.path.display(), previous = entry.offset, now = len, "file truncated; reading from the start");
        ctx.tracker.forget_stream(entry.stream);
        entry.stream = *next_stream;
        *next_stream += 1;
        ctx.tracker
            .register_stream(entry.stream, entry.path.display().to_string(), 0);
        entry.offset = 0;
        entry.batch_start = 0;
        entry.assembler.reset(0);
    }
    if len == entry.offset {
        return Ok((0, 0));
    }
    entry.last_growth = Instant::now();
    let name = entry.path.display().to_string();
    entry
        .file
        .seek(SeekFrom::Start(entry.offset))
        .map_err(|error| SourceError::Read {
            name: name.clone(),
            error,
        })?;
    let mut builder = ctx.new_builder();
    let mut bytes = 0u64;
    let mut lines = 0u64;
    while bytes < PASS_BUDGET_BYTES && !ctx.stopping() {
        let read = match entry.file.read(chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return Err(SourceError::Read { name, error }),
        };
        entry.offset += read as u64;
        bytes += read as u64;
        entry
            .assembler
            .feed(chunk.get(..read).unwrap_or_default(), &mut builder);
        if ctx.batch_full(&builder) {
            lines += builder.len() as u64;
            send(ctx, entry, &mut builder)?;
        }
    }
    if !builder.is_empty() {
        lines += builder.len() as u64;
        send(ctx, entry, &mut builder)?;
    }
    Ok((lines, bytes))
}

fn send(
    ctx: &SourceContext,
    entry: &mut Followed,
    builder: &mut super::BatchBuilder,
) -> Result<(), SourceError> {
    let full = std::mem::replace(builder, ctx.new_builder());
    let end = entry.assembler.consumed_offset();
    let position = BatchPosition {
        stream: entry.stream,
        start: entry.batch_start,
        end,
        lines: full.len() as u64,
    };
    entry.batch_start = end;
    let batch = full.finish(
        Arc::clone(&ctx.name),
        ctx.tracker.clone() as Arc<dyn crate::ack::AckReceiver>,
        position,
    );
    ctx.send(batch)
}
