//! Per-client-address request rate limit of the intake (a token bucket per address): a client
//! over its rate is answered 429 with `Retry-After`, before its body is read. The table of
//! addresses is bounded: when full, buckets that have refilled completely (clients idle long
//! enough to be forgotten without changing any answer) are dropped, and if that frees nothing
//! the table starts over (a flood of distinct addresses cannot exhaust memory).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Addresses remembered at most.
const MAX_CLIENTS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets per client address.
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    clients: Mutex<HashMap<String, Bucket>>,
}

impl RateLimit {
    /// `per_second` requests per second per client, bursts of `burst`.
    pub fn new(per_second: f64, burst: u32) -> Self {
        RateLimit {
            per_second,
            burst: f64::from(burst.max(1)),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client` at `now`; `Err` is how long until one is available.
    pub fn check(&self, client: &str, now: Instant) -> Result<(), Duration> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(client) {
            let (per_second, burst) = (self.per_second, self.burst);
            clients.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < burst
            });
            if clients.len() >= MAX_CLIENTS {
                clients.clear();
            }
        }
        let bucket = clients.entry(client.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second.max(f64::MIN_POSITIVE);
            Err(Duration::from_secs_f64(wait.min(3600.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limit = RateLimit::new(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limit.check("a", t0).is_ok());
        }
        let wait = limit.check("a", t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        // Another client has its own bucket.
        assert!(limit.check("b", t0).is_ok());
        // Half a second later one token is back.
        assert!(limit.check("a", t0 + Duration::from_millis(500)).is_ok());
        assert!(limit.check("a", t0 + Duration::from_millis(500)).is_err());
    }
}
