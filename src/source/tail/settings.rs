//! What the tailer follows and how: patterns, timings, identity and checkpoint settings.

use std::path::PathBuf;
use std::time::Duration;

/// Where to start reading a file seen for the first time, with no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// Read its existing content.
    Beginning,
    /// Only what is appended later.
    End,
}

/// Everything the tailer needs to know. Built from the `input` section of the configuration
/// (`type: files` with `follow: true`) by [`crate::app`].
#[derive(Debug, Clone)]
pub struct TailSettings {
    /// Glob patterns of files to follow (absolute or relative to the working directory).
    pub include: Vec<String>,
    /// Glob patterns of files to leave alone even when an include pattern matches them.
    pub exclude: Vec<String>,
    /// Pause between read passes when a pass found nothing new (filesystem notifications may end
    /// it early).
    pub poll_interval: Duration,
    /// How often the glob patterns are re-evaluated. Polling is the source of truth: a
    /// notification only brings a re-scan forward.
    pub rescan_interval: Duration,
    /// Where to start in files found at the first scan of a data directory that had no checkpoint
    /// file yet. Every other file without a checkpoint entry is read from its beginning.
    pub read_from: ReadFrom,
    /// Directory holding the checkpoint file (created if missing).
    pub data_dir: PathBuf,
    /// Length of the content fingerprint: a checksum of the first bytes of a file (and of the bytes
    /// just before a resume position).
    pub fingerprint_bytes: usize,
    /// Bytes read from one file before moving on to the next (fairness across files).
    pub read_budget_bytes: u64,
    /// How long a file that its path no longer names (rotated away, deleted) is still read after
    /// it stops growing; then its unterminated last line, if any, is emitted and the file closed.
    pub rotate_wait: Duration,
    /// How often checkpoints are written (when something changed).
    pub checkpoint_interval: Duration,
    /// Checkpoint entries of files that no longer exist (or no longer match the patterns) are
    /// dropped after this long, measured from when the file was last seen, across restarts.
    pub checkpoint_retention: Duration,
    /// At shutdown, how long to wait for the acknowledgements of what was sent before writing the
    /// final checkpoint.
    pub shutdown_timeout: Duration,
    /// Use filesystem notifications (inotify) to wake up early. Polling runs either way.
    pub notify: bool,
}

impl TailSettings {
    /// Settings with the defaults of the configuration file for `include` and `data_dir`.
    pub fn new(include: Vec<String>, data_dir: PathBuf) -> Self {
        TailSettings {
            include,
            exclude: Vec::new(),
            poll_interval: Duration::from_millis(250),
            rescan_interval: Duration::from_secs(1),
            read_from: ReadFrom::Beginning,
            data_dir,
            fingerprint_bytes: 1024,
            read_budget_bytes: 256 * 1024,
            rotate_wait: Duration::from_secs(5),
            checkpoint_interval: Duration::from_secs(1),
            checkpoint_retention: Duration::from_secs(3600),
            shutdown_timeout: Duration::from_secs(10),
            notify: true,
        }
    }
}
