//! The last hour of delivered counts, per second, kept in the process: the status page's chart
//! is full as soon as it is opened, instead of starting empty and filling while it is watched.
//!
//! Each delivered batch adds its counts to the bucket of the current second (a ring of 3,600
//! buckets, about 100 KB); reading fills the seconds without deliveries with zeros.

use std::sync::Mutex;

/// Seconds of history kept.
pub const HISTORY_SECONDS: usize = 3600;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Unix second the counts belong to (0: never used).
    second: u64,
    lines: u64,
    valid: u64,
    invalid: u64,
}

/// Per-second series of lines, valid events and error events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Series {
    /// Unix second of the last entry.
    pub end_second: u64,
    /// Lines delivered per second, oldest first.
    pub lines: Vec<u64>,
    /// Valid events per second.
    pub valid: Vec<u64>,
    /// Error events per second.
    pub invalid: Vec<u64>,
}

/// The ring of per-second buckets.
#[derive(Debug)]
pub struct RateHistory {
    buckets: Mutex<Vec<Bucket>>,
}

impl Default for RateHistory {
    fn default() -> Self {
        RateHistory {
            buckets: Mutex::new(vec![Bucket::default(); HISTORY_SECONDS]),
        }
    }
}

impl RateHistory {
    /// Adds counts delivered during unix second `second`.
    pub fn add(&self, second: u64, lines: u64, valid: u64, invalid: u64) {
        let mut buckets = self.lock();
        let Some(bucket) = buckets.get_mut(slot(second)) else {
            return;
        };
        if bucket.second != second {
            *bucket = Bucket {
                second,
                ..Bucket::default()
            };
        }
        bucket.lines += lines;
        bucket.valid += valid;
        bucket.invalid += invalid;
    }

    /// The last `seconds` seconds (at most [`HISTORY_SECONDS`]) up to and including `now`.
    pub fn series(&self, now: u64, seconds: usize) -> Series {
        let seconds = seconds.min(HISTORY_SECONDS) as u64;
        let buckets = self.lock();
        let mut series = Series {
            end_second: now,
            ..Series::default()
        };
        for second in now.saturating_sub(seconds.saturating_sub(1))..=now {
            let bucket = buckets
                .get(slot(second))
                .filter(|b| b.second == second && second != 0)
                .copied()
                .unwrap_or_default();
            series.lines.push(bucket.lines);
            series.valid.push(bucket.valid);
            series.invalid.push(bucket.invalid);
        }
        series
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Bucket>> {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn slot(second: u64) -> usize {
    (second % HISTORY_SECONDS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_without_deliveries_are_zero_and_old_seconds_are_forgotten() {
        let history = RateHistory::default();
        history.add(1000, 10, 9, 1);
        history.add(1000, 5, 5, 0);
        history.add(1002, 3, 2, 1);
        let series = history.series(1003, 5);
        assert_eq!(series.end_second, 1003);
        assert_eq!(series.lines, vec![0, 15, 0, 3, 0]);
        assert_eq!(series.valid, vec![0, 14, 0, 2, 0]);
        assert_eq!(series.invalid, vec![0, 1, 0, 1, 0]);

        // An hour later the same slots hold new seconds: the old counts are not shown.
        let later = 1000 + HISTORY_SECONDS as u64;
        history.add(later, 1, 1, 0);
        let series = history.series(later + 2, HISTORY_SECONDS);
        assert_eq!(series.lines.len(), HISTORY_SECONDS);
        assert_eq!(
            series.lines.iter().sum::<u64>(),
            1,
            "second 1002 is more than an hour old"
        );
        assert_eq!(series.lines[HISTORY_SECONDS - 3], 1);
    }
}
