//! Results of non-blocking schema lookups: [`SchemaPoll`], and the [`FetchTicket`] of a lookup
//! still running in the background.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::SchemaLookupError;

/// Outcome of a non-blocking lookup.
#[derive(Debug)]
pub enum SchemaPoll<T> {
    /// The schema is available.
    Ready(T),
    /// The schema is being fetched in the background; wait on the ticket, then poll again
    /// (the result is cached, positively or negatively, by then).
    Pending(FetchTicket),
    /// The schema is not available (the error may come from the negative cache).
    Failed(SchemaLookupError),
}

impl<T> SchemaPoll<T> {
    /// The ready value, if any.
    pub fn ready(self) -> Option<T> {
        match self {
            Self::Ready(value) => Some(value),
            Self::Pending(_) | Self::Failed(_) => None,
        }
    }

    /// Whether the lookup is still running.
    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Pending(_))
    }
}

/// One background lookup: its result once finished, and a condition variable to wait on.
pub(crate) struct Flight<T> {
    result: Mutex<Option<Result<Arc<T>, SchemaLookupError>>>,
    finished: Condvar,
}

impl<T> Flight<T> {
    pub(crate) fn new() -> Self {
        Self {
            result: Mutex::new(None),
            finished: Condvar::new(),
        }
    }

    /// Records the result (the first one wins) and wakes every waiter.
    pub(crate) fn complete(&self, result: Result<Arc<T>, SchemaLookupError>) {
        let mut slot = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(result);
        }
        drop(slot);
        self.finished.notify_all();
    }

    /// Waits until the flight is finished or `deadline` passes; true when finished.
    fn wait_until(&self, deadline: Instant) -> bool {
        let mut slot = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        while slot.is_none() {
            let now = Instant::now();
            let Some(left) = deadline
                .checked_duration_since(now)
                .filter(|d| !d.is_zero())
            else {
                return false;
            };
            slot = self
                .finished
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Blocks until the flight is finished and returns its result.
    pub(crate) fn wait_result(&self) -> Result<Arc<T>, SchemaLookupError> {
        let mut slot = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(result) = slot.as_ref() {
                return result.clone();
            }
            slot = self
                .finished
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn is_finished(&self) -> bool {
        self.result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

/// What a ticket needs of a flight, whatever its result type.
trait Waitable: Send + Sync {
    fn wait_until(&self, deadline: Instant) -> bool;
    fn wait_forever(&self);
    fn is_finished(&self) -> bool;
}

impl<T: Send + Sync> Waitable for Flight<T> {
    fn wait_until(&self, deadline: Instant) -> bool {
        Flight::wait_until(self, deadline)
    }
    fn wait_forever(&self) {
        // The result is cloned and dropped: only the waiting matters here.
        let _ = self.wait_result();
    }
    fn is_finished(&self) -> bool {
        Flight::is_finished(self)
    }
}

/// A handle on a lookup running in the background. Cheap to clone; every lookup of the same
/// schema while it runs gets a ticket on the same fetch.
#[derive(Clone)]
pub struct FetchTicket {
    flight: Arc<dyn Waitable>,
}

impl FetchTicket {
    pub(crate) fn new<T: Send + Sync + 'static>(flight: Arc<Flight<T>>) -> Self {
        Self { flight }
    }

    /// Waits at most `timeout` for the lookup to finish; true when it has finished.
    pub fn wait(&self, timeout: Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.flight.wait_until(deadline),
            // A timeout too large to represent: wait as long as it takes.
            None => {
                self.flight.wait_forever();
                true
            }
        }
    }

    /// Waits until `deadline` at most (for waiting on several tickets with one budget); true
    /// when the lookup has finished.
    pub fn wait_until(&self, deadline: Instant) -> bool {
        self.flight.wait_until(deadline)
    }

    /// Whether the lookup has finished (without waiting).
    pub fn is_finished(&self) -> bool {
        self.flight.is_finished()
    }

    /// Whether two tickets are for the same fetch.
    pub fn same_fetch(&self, other: &FetchTicket) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.flight), Arc::as_ptr(&other.flight))
    }
}

impl fmt::Debug for FetchTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchTicket")
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::error::SchemaSubject;

    #[test]
    fn waiting_times_out_until_completed() {
        let flight = Arc::new(Flight::<String>::new());
        let ticket = FetchTicket::new(Arc::clone(&flight));
        assert!(!ticket.is_finished());
        let started = Instant::now();
        assert!(!ticket.wait(Duration::from_millis(30)));
        assert!(started.elapsed() >= Duration::from_millis(30));

        let completer = {
            let flight = Arc::clone(&flight);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                flight.complete(Ok(Arc::new("done".to_owned())));
            })
        };
        assert!(ticket.wait(Duration::from_secs(10)));
        assert!(ticket.is_finished());
        assert!(completer.join().is_ok());
        assert_eq!(
            flight.wait_result().map(|s| s.to_string()),
            Ok("done".to_owned())
        );
        // The first result wins.
        flight.complete(Err(SchemaLookupError::NotFound {
            subject: SchemaSubject::EventPlatform {
                uri: "/x".to_owned(),
            },
            searched: Vec::new(),
        }));
        assert!(flight.wait_result().is_ok());
        assert!(ticket.same_fetch(&ticket.clone()));
        assert!(!ticket.same_fetch(&FetchTicket::new(Arc::new(Flight::<String>::new()))));
        assert!(ticket.wait(Duration::MAX));
    }
}
