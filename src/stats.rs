//! Totals of delivered records: what the `process` summary (and later the metrics) report.
//!
//! Counts are added when a batch is acknowledged by its sink, so they describe delivered output:
//! for any finished run, lines in = valid + errors.

use std::sync::Mutex;

use crate::record::Tally;

/// Running totals, shared by the sink thread (writer) and reporters (readers).
#[derive(Debug, Default)]
pub struct Stats {
    totals: Mutex<Tally>,
}

impl Stats {
    /// Adds the counts of a delivered batch.
    pub fn record_delivered(&self, tally: &Tally) {
        self.lock().add(tally);
    }

    /// A copy of the totals so far.
    pub fn snapshot(&self) -> Tally {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
