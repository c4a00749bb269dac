//! Rate limiting for repetitive log lines: a broker that is down, or a stream of invalid events,
//! must not produce one log line per occurrence.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lets through at most one log line per key and interval, and says how many were held back.
#[derive(Debug)]
pub struct LogLimiter {
    interval: Duration,
    keys: Mutex<HashMap<String, KeyState>>,
}

#[derive(Debug)]
struct KeyState {
    last: Instant,
    suppressed: u64,
}

/// Keys kept before the table is cleared (bounds memory whatever the keys are).
const MAX_KEYS: usize = 1024;

impl LogLimiter {
    /// A limiter letting one line per key through every `interval`.
    pub fn new(interval: Duration) -> Self {
        LogLimiter {
            interval,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a line for `key` may be logged now; `Some(n)` with the number of lines held back
    /// since the last one that was let through.
    pub fn allow(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(state) = keys.get_mut(key) {
            if now.duration_since(state.last) < self.interval {
                state.suppressed = state.suppressed.saturating_add(1);
                return None;
            }
            let suppressed = state.suppressed;
            state.last = now;
            state.suppressed = 0;
            return Some(suppressed);
        }
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        keys.insert(
            key.to_owned(),
            KeyState {
                last: now,
                suppressed: 0,
            },
        );
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_and_key_with_the_held_back_count() {
        let limiter = LogLimiter::new(Duration::from_millis(200));
        assert_eq!(limiter.allow("a"), Some(0));
        assert_eq!(limiter.allow("a"), None);
        assert_eq!(limiter.allow("a"), None);
        assert_eq!(limiter.allow("b"), Some(0));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(limiter.allow("a"), Some(2));
        assert_eq!(limiter.allow("a"), None);
    }
}
