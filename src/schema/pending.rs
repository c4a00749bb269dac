//! Lookups that are not (or not yet) successful: the negative cache, with a TTL and a size
//! bound, and the table of lookups running in the background (single flight: one fetch per
//! key however many callers ask).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::SchemaLookupError;
use super::fetch_ticket::Flight;

/// What is known about a key that is not in the positive cache.
pub(crate) enum PendingState<T> {
    /// It failed recently (within the TTL).
    Failed(SchemaLookupError),
    /// It is being looked up in the background.
    InFlight(Arc<Flight<T>>),
    /// Nothing: the caller should look it up.
    Unknown,
}

/// Result of trying to start a background lookup.
pub(crate) enum Start<T> {
    /// This caller starts it and must finish it.
    Started(Arc<Flight<T>>),
    /// Someone else started it meanwhile.
    Joined(Arc<Flight<T>>),
    /// It failed meanwhile.
    Failed(SchemaLookupError),
}

struct Tables<K, T> {
    failures: HashMap<K, (SchemaLookupError, Instant)>,
    flights: HashMap<K, Arc<Flight<T>>>,
}

/// Negative cache and in-flight table of one kind of lookup.
pub(crate) struct PendingLookups<K, T> {
    tables: Mutex<Tables<K, T>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, T> PendingLookups<K, T> {
    /// Failures are remembered for `ttl`; at most `capacity` of them (expired ones are purged
    /// first, then arbitrary ones).
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            tables: Mutex::new(Tables {
                failures: HashMap::new(),
                flights: HashMap::new(),
            }),
            ttl,
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables<K, T>> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What is known about `key`. An expired failure is forgotten.
    pub(crate) fn state(&self, key: &K) -> PendingState<T> {
        let mut tables = self.lock();
        Self::state_locked(&mut tables, key)
    }

    fn state_locked(tables: &mut Tables<K, T>, key: &K) -> PendingState<T> {
        if let Some(flight) = tables.flights.get(key) {
            return PendingState::InFlight(Arc::clone(flight));
        }
        match tables.failures.get(key) {
            Some((error, expiry)) if Instant::now() < *expiry => {
                PendingState::Failed(error.clone())
            }
            Some(_) => {
                tables.failures.remove(key);
                PendingState::Unknown
            }
            None => PendingState::Unknown,
        }
    }

    /// Starts a background lookup of `key` unless one is running or it failed meanwhile.
    /// `found_meanwhile` is asked, under the lock, for the key's entry in the positive cache
    /// (a flight that just finished stores its result there before leaving this table); an
    /// entry is returned as `Err`, and nothing is started.
    pub(crate) fn start<R>(
        &self,
        key: &K,
        found_meanwhile: impl FnOnce() -> Option<R>,
    ) -> Result<Start<T>, R> {
        let mut tables = self.lock();
        match Self::state_locked(&mut tables, key) {
            PendingState::InFlight(flight) => return Ok(Start::Joined(flight)),
            PendingState::Failed(error) => return Ok(Start::Failed(error)),
            PendingState::Unknown => {}
        }
        if let Some(found) = found_meanwhile() {
            return Err(found);
        }
        let flight = Arc::new(Flight::new());
        tables.flights.insert(key.clone(), Arc::clone(&flight));
        Ok(Start::Started(flight))
    }

    /// Forgets the flight of `key` (after its result was stored) and, for a failure that
    /// should be remembered, records it until the TTL expires.
    pub(crate) fn finish(&self, key: &K, failure: Option<SchemaLookupError>) {
        let mut tables = self.lock();
        tables.flights.remove(key);
        if let Some(error) = failure {
            Self::remember(&mut tables, key.clone(), error, self.ttl, self.capacity);
        }
    }

    /// Records a failure of `key` until the TTL expires.
    pub(crate) fn record_failure(&self, key: K, error: SchemaLookupError) {
        let mut tables = self.lock();
        Self::remember(&mut tables, key, error, self.ttl, self.capacity);
    }

    fn remember(
        tables: &mut Tables<K, T>,
        key: K,
        error: SchemaLookupError,
        ttl: Duration,
        capacity: usize,
    ) {
        if ttl.is_zero() || capacity == 0 {
            return;
        }
        let now = Instant::now();
        let Some(expiry) = now.checked_add(ttl) else {
            return;
        };
        if tables.failures.len() >= capacity && !tables.failures.contains_key(&key) {
            tables.failures.retain(|_, (_, expiry)| now < *expiry);
            while tables.failures.len() >= capacity {
                let Some(victim) = tables.failures.keys().next().cloned() else {
                    break;
                };
                tables.failures.remove(&victim);
            }
        }
        tables.failures.insert(key, (error, expiry));
    }

    /// Number of failures remembered (expired ones included until purged).
    pub(crate) fn failure_count(&self) -> usize {
        self.lock().failures.len()
    }

    /// Number of lookups in flight.
    pub(crate) fn in_flight_count(&self) -> usize {
        self.lock().flights.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::error::SchemaSubject;

    fn not_found(uri: &str) -> SchemaLookupError {
        SchemaLookupError::NotFound {
            subject: SchemaSubject::EventPlatform {
                uri: uri.to_owned(),
            },
            searched: Vec::new(),
        }
    }

    #[test]
    fn failures_expire_after_the_ttl() {
        let pending: PendingLookups<String, ()> =
            PendingLookups::new(Duration::from_millis(50), 10);
        let key = "/x".to_owned();
        assert!(matches!(pending.state(&key), PendingState::Unknown));
        pending.record_failure(key.clone(), not_found("/x"));
        assert!(matches!(pending.state(&key), PendingState::Failed(e) if e == not_found("/x")));
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(pending.state(&key), PendingState::Unknown));
        assert_eq!(pending.failure_count(), 0);
    }

    #[test]
    fn a_zero_ttl_remembers_nothing() {
        let pending: PendingLookups<String, ()> = PendingLookups::new(Duration::ZERO, 10);
        pending.record_failure("/x".to_owned(), not_found("/x"));
        assert_eq!(pending.failure_count(), 0);
    }

    #[test]
    fn the_negative_cache_is_bounded() {
        let pending: PendingLookups<String, ()> = PendingLookups::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            let key = format!("/x/{i}");
            pending.record_failure(key.clone(), not_found(&key));
        }
        assert_eq!(pending.failure_count(), 3);
        assert!(matches!(
            pending.state(&"/x/9".to_owned()),
            PendingState::Failed(_)
        ));
    }

    #[test]
    fn single_flight() {
        let pending: PendingLookups<String, u8> = PendingLookups::new(Duration::from_secs(60), 10);
        let key = "/x".to_owned();
        let first = match pending.start(&key, || None::<()>) {
            Ok(Start::Started(flight)) => flight,
            _ => panic!("the first caller starts"),
        };
        match pending.start(&key, || None::<()>) {
            Ok(Start::Joined(flight)) => assert!(Arc::ptr_eq(&flight, &first)),
            _ => panic!("the second caller joins"),
        }
        assert!(matches!(pending.state(&key), PendingState::InFlight(_)));
        assert_eq!(pending.in_flight_count(), 1);
        pending.finish(&key, Some(not_found("/x")));
        assert_eq!(pending.in_flight_count(), 0);
        assert!(matches!(
            pending.start(&key, || None::<()>),
            Ok(Start::Failed(_))
        ));
        // Found in the positive cache meanwhile: nothing is started.
        let other = "/y".to_owned();
        assert!(matches!(pending.start(&other, || Some(7)), Err(7)));
        assert_eq!(pending.in_flight_count(), 0);
    }
}
