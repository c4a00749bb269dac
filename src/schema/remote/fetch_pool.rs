//! A small pool of background threads running schema lookups that need the network, so that
//! a slow or dead schema server never blocks the processing of unrelated events.
//!
//! Threads are started on the first job (building a registry starts none) and end when the
//! pool is dropped and the queue is drained. The queue is bounded: when it is full a job is
//! refused at once (the lookup fails with `schema_fetch` and is not negatively cached), which
//! bounds the work that events with many distinct unknown `$schema` values can cause. A job
//! that panics does not take its thread down.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, PoisonError};

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// One unit of background work.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a job was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubmitError {
    /// The queue holds `capacity` jobs already.
    QueueFull {
        /// Queue capacity.
        capacity: usize,
    },
    /// No worker thread could be started.
    NoThreads(String),
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::QueueFull { capacity } => write!(
                f,
                "too many schema fetches queued ({capacity}); try again later"
            ),
            Self::NoThreads(error) => write!(f, "cannot start a schema fetch thread: {error}"),
        }
    }
}

/// Fixed-size pool of fetch threads with a bounded queue.
pub(crate) struct FetchPool {
    sender: Sender<Job>,
    receiver: Receiver<Job>,
    threads: usize,
    capacity: usize,
    started: Mutex<usize>,
}

impl FetchPool {
    /// A pool of `threads` threads (at least 1) and a queue of `capacity` jobs (at least 1).
    pub(crate) fn new(threads: usize, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (sender, receiver) = crossbeam_channel::bounded(capacity);
        Self {
            sender,
            receiver,
            threads: threads.max(1),
            capacity,
            started: Mutex::new(0),
        }
    }

    /// Queues `job`, starting the threads if this is the first job. A refused job is handed
    /// back, unrun.
    pub(crate) fn submit(&self, job: Job) -> Result<(), (SubmitError, Job)> {
        if let Err(error) = self.ensure_threads() {
            return Err((error, job));
        }
        match self.sender.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => Err((
                SubmitError::QueueFull {
                    capacity: self.capacity,
                },
                job,
            )),
            // Cannot happen while `self` holds a receiver; treat it as no thread.
            Err(TrySendError::Disconnected(job)) => Err((
                SubmitError::NoThreads("the queue is closed".to_owned()),
                job,
            )),
        }
    }

    /// Number of threads started so far.
    pub(crate) fn started_threads(&self) -> usize {
        *self.started.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ensure_threads(&self) -> Result<(), SubmitError> {
        let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
        let mut last_error = None;
        while *started < self.threads {
            let receiver = self.receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("schema-fetch-{}", *started))
                .spawn(move || run_jobs(&receiver));
            match spawned {
                Ok(_) => *started += 1,
                Err(error) => {
                    last_error = Some(error.to_string());
                    break;
                }
            }
        }
        match (*started, last_error) {
            (0, Some(error)) => Err(SubmitError::NoThreads(error)),
            (_, Some(error)) => {
                tracing::warn!(%error, started = *started, "could not start every schema fetch thread");
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A worker thread: runs jobs until every sender is gone.
fn run_jobs(receiver: &Receiver<Job>) {
    while let Ok(job) = receiver.recv() {
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("a schema fetch job panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn runs_jobs_in_the_background_and_survives_panics() {
        let pool = FetchPool::new(2, 8);
        assert_eq!(pool.started_threads(), 0, "threads start on the first job");
        let (done, results) = mpsc::channel();
        assert!(pool.submit(Box::new(|| panic!("boom"))).is_ok());
        for i in 0..4 {
            let done = done.clone();
            assert!(pool
                .submit(Box::new(move || {
                    let _ = done.send(i);
                }))
                .is_ok());
        }
        let mut seen: Vec<i32> = (0..4)
            .map(|_| {
                results
                    .recv_timeout(Duration::from_secs(10))
                    .expect("job ran")
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3]);
        assert_eq!(pool.started_threads(), 2);
    }

    #[test]
    fn a_full_queue_refuses_jobs() {
        let pool = FetchPool::new(1, 1);
        let (release, blocked) = mpsc::channel::<()>();
        let (running, is_running) = mpsc::channel::<()>();
        assert!(pool
            .submit(Box::new(move || {
                let _ = running.send(());
                let _ = blocked.recv_timeout(Duration::from_secs(10));
            }))
            .is_ok());
        is_running
            .recv_timeout(Duration::from_secs(10))
            .expect("first job started");
        assert!(pool.submit(Box::new(|| {})).is_ok(), "one job queued");
        assert_eq!(
            pool.submit(Box::new(|| {})).map_err(|(error, _)| error),
            Err(SubmitError::QueueFull { capacity: 1 })
        );
        assert_eq!(
            SubmitError::QueueFull { capacity: 1 }.to_string(),
            "too many schema fetches queued (1); try again later"
        );
        let _ = release.send(());
    }
}
