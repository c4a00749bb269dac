//! The file tailer (`run` with `input.type: files`): follows the files matching glob patterns as
//! they grow, across rotation and truncation, and remembers in a checkpoint file how far every
//! file content has been *delivered*, so a restart neither loses nor (beyond what was in flight)
//! repeats lines.
//!
//! - `discovery`: the glob scan, re-run periodically; it alone decides which files exist.
//! - `wakeup`: inotify notifications that only shorten the wait before the next pass.
//! - `fingerprint`, `identity`, `identify`: recognising a content whatever its name or inode
//!   (head checksum, window checksum before the resume position, device and inode as tie-break).
//! - `lineage`: the life of one known content (reading, detached, draining, dormant).
//! - `reader`: reading one open file into batches.
//! - `checkpoint`: the atomic checkpoint file.
//! - `tailer`: the pass that ties them together; [`follow`] loops over it until stopped.
//!
//! Shutdown order: when the stop flag is set, [`follow`] stops reading (unterminated lines are not
//! emitted), then waits up to `shutdown_timeout` for every batch it sent to be acknowledged (the
//! sink keeps flushing and acknowledging while it waits, because the source still holds its
//! sender), writes the final checkpoint, and only then returns and releases the pipeline.

mod checkpoint;
mod discovery;
mod fingerprint;
mod identify;
mod identity;
mod lineage;
mod reader;
mod recent_bytes;
mod settings;
mod tailer;
mod wakeup;

#[cfg(test)]
mod tests;

pub use checkpoint::parse_checkpoints;
pub use checkpoint::{CheckpointEntry, CheckpointError, CheckpointStore, CHECKPOINT_VERSION};
pub use fingerprint::Fingerprint;
pub use settings::{ReadFrom, TailSettings};
pub use tailer::{PassReport, TailCounters, TailedFile, Tailer};

use super::{SourceContext, SourceError};

/// Follows the files described by `settings` until `ctx` says stop, then drains and writes the
/// final checkpoint. Returns the number of lines read.
pub fn follow(ctx: &SourceContext, settings: &TailSettings) -> Result<u64, SourceError> {
    // Exactly-once: the checkpoint the sink read back from Kafka (after fencing any earlier
    // producer of its transactional id, so it is the last one committed).
    let committed = ctx
        .transactions
        .as_ref()
        .map(|link| link.committed_checkpoint());
    let mut tailer = Tailer::open(settings.clone(), committed).map_err(SourceError::Checkpoint)?;
    let mut published = TailCounters::default();
    let mut files_published: Option<std::time::Instant> = None;
    let outcome = loop {
        if ctx.stopping() {
            break Ok(());
        }
        let report = match tailer.poll_once(ctx) {
            Ok(report) => report,
            Err(e) => break Err(e),
        };
        if let Some(stats) = &ctx.stats {
            publish(stats, &tailer, &mut published);
            // The file list for the status page, about once a second.
            if files_published.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(1)) {
                stats.set_files(tailer.file_statuses(), tailer.matched_files());
                files_published = Some(std::time::Instant::now());
            }
        }
        if report.bytes == 0 && !ctx.stopping() {
            tailer.wait();
        }
    };
    let lines = tailer.lines_read();
    // Nothing sent can be acknowledged any more if the pipeline is gone: don't wait for it.
    let timeout = match outcome {
        Err(SourceError::PipelineClosed) => std::time::Duration::ZERO,
        _ => settings.shutdown_timeout,
    };
    let finished = tailer.finish(ctx, timeout);
    outcome?;
    finished.map_err(SourceError::Checkpoint)?;
    Ok(lines)
}

/// Updates the file metrics from the tailer's state.
fn publish(stats: &crate::stats::Stats, tailer: &Tailer, published: &mut TailCounters) {
    let m = &stats.metrics;
    let counters = tailer.counters();
    m.files_watched
        .set(i64::try_from(tailer.open_files()).unwrap_or(i64::MAX));
    m.files_rotated.inc_by(
        counters
            .files_finished
            .saturating_sub(published.files_finished),
    );
    m.files_truncated
        .inc_by(counters.truncations.saturating_sub(published.truncations));
    m.checkpoint_age.set(tailer.checkpoint_age().as_secs_f64());
    *published = counters;
}
