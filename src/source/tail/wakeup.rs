//! Early wake-ups from filesystem notifications (inotify through `notify`).
//!
//! Notifications are only a hint: the tailer polls on its own schedule either way, so a missed,
//! dropped or overflowed notification (inotify `IN_Q_OVERFLOW`, a directory created after start-up,
//! a network filesystem without inotify) only delays reading until the next poll. Errors from the
//! watcher are ignored for the same reason.

use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// Notifications queued at most; more are dropped (one is enough to wake up).
const QUEUE: usize = 256;

/// What a wait ended with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Woken {
    /// Some notification arrived before the timeout.
    pub early: bool,
    /// A file was created, removed or renamed: a re-scan is worth doing soon.
    pub names_changed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    Data,
    Names,
}

/// Waits for the next poll, or less when a watched directory changes.
pub struct Wakeup {
    watcher: Option<RecommendedWatcher>,
    hints: Receiver<Hint>,
    /// Roots not watched yet (missing at start-up); retried by [`Wakeup::retry`].
    pending: Vec<(PathBuf, bool)>,
}

impl std::fmt::Debug for Wakeup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakeup")
            .field("watching", &self.watcher.is_some())
            .field("pending", &self.pending)
            .finish()
    }
}

impl Wakeup {
    /// Watches `roots` (directory, recursive). Failing to watch only means relying on polling.
    pub fn start(roots: Vec<(PathBuf, bool)>) -> Wakeup {
        let (sender, hints) = bounded(QUEUE);
        let watcher = match notify::recommended_watcher(move |event| forward(&sender, event)) {
            Ok(watcher) => Some(watcher),
            Err(e) => {
                tracing::info!(error = %e, "filesystem notifications unavailable; polling only");
                None
            }
        };
        let mut wakeup = Wakeup {
            watcher,
            hints,
            pending: roots,
        };
        wakeup.retry();
        wakeup
    }

    /// No notifications: every wait lasts its whole timeout.
    pub fn disabled() -> Wakeup {
        let (_, hints) = bounded(1);
        Wakeup {
            watcher: None,
            hints,
            pending: Vec::new(),
        }
    }

    /// Tries again to watch the roots that could not be watched before (e.g. created since).
    pub fn retry(&mut self) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        self.pending.retain(|(root, recursive)| {
            let mode = if *recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            match watcher.watch(root, mode) {
                Ok(()) => false,
                Err(e) => {
                    tracing::debug!(root = %root.display(), error = %e, "not watching (yet); polling covers it");
                    true
                }
            }
        });
    }

    /// Waits up to `timeout` for a notification; drains the ones already queued.
    pub fn wait(&self, timeout: Duration) -> Woken {
        let mut woken = Woken::default();
        let first = if self.watcher.is_some() {
            self.hints.recv_timeout(timeout)
        } else {
            std::thread::sleep(timeout);
            Err(RecvTimeoutError::Timeout)
        };
        let Ok(first) = first else {
            return woken;
        };
        woken.early = true;
        woken.names_changed = first == Hint::Names;
        for hint in self.hints.try_iter() {
            woken.names_changed |= hint == Hint::Names;
        }
        woken
    }
}

fn forward(sender: &Sender<Hint>, event: notify::Result<Event>) {
    // Errors (including queue overflows) are left to polling.
    let Ok(event) = event else {
        return;
    };
    let hint = match event.kind {
        EventKind::Create(_) | EventKind::Remove(_) => Hint::Names,
        EventKind::Modify(notify::event::ModifyKind::Name(_)) => Hint::Names,
        EventKind::Modify(_) => Hint::Data,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Hint::Data,
        // Opens and reads (including the tailer's own) say nothing new.
        EventKind::Access(_) | EventKind::Any | EventKind::Other => return,
    };
    // A full queue already holds a wake-up; a closed one means the tailer is gone.
    let _ = sender.try_send(hint);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_new_file_wakes_the_wait_early() {
        let dir = tempfile::tempdir().unwrap();
        let wakeup = Wakeup::start(vec![(dir.path().to_path_buf(), false)]);
        std::fs::write(dir.path().join("new.log"), "line\n").unwrap();
        let started = Instant::now();
        let woken = wakeup.wait(Duration::from_secs(10));
        assert!(woken.early);
        assert!(woken.names_changed);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_disabled_wakeup_waits_the_whole_timeout() {
        let wakeup = Wakeup::disabled();
        let started = Instant::now();
        assert_eq!(wakeup.wait(Duration::from_millis(30)), Woken::default());
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
