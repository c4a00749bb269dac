//! The acknowledgement receiver of one request's batch: tells the waiting handler that every
//! event of the request was delivered. If the batch is dropped undelivered (the run stopped, the
//! sink failed), the handler learns it too: the receiver is dropped with the batch and its
//! channel closes. A hasty request (answered 202 before processing) has nobody waiting: its
//! events lost that way are counted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

use crate::ack::{AckReceiver, BatchPosition};

/// Receives the acknowledgement of one request's batch.
pub struct RequestAck {
    done: Mutex<Option<oneshot::Sender<()>>>,
    delivered: AtomicBool,
    /// Hasty requests: the counter of lost events and the request's event count.
    hasty: Option<(Counter, u64)>,
}

impl RequestAck {
    /// A receiver and the handler's end of it (closed without a value if never delivered).
    pub fn new() -> (RequestAck, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let ack = RequestAck {
            done: Mutex::new(Some(tx)),
            delivered: AtomicBool::new(false),
            hasty: None,
        };
        (ack, rx)
    }

    /// A receiver for a hasty request of `events` events: nobody waits; if it is never
    /// delivered, its events are counted in `lost`.
    pub fn hasty(events: u64, lost: Counter) -> RequestAck {
        RequestAck {
            done: Mutex::new(None),
            delivered: AtomicBool::new(false),
            hasty: Some((lost, events)),
        }
    }
}

impl AckReceiver for RequestAck {
    fn acknowledge(&self, _position: BatchPosition) {
        self.delivered.store(true, Ordering::Relaxed);
        let sender = self
            .done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(sender) = sender {
            let _ = sender.send(());
        }
    }
}

impl Drop for RequestAck {
    fn drop(&mut self) {
        if let Some((lost, events)) = &self.hasty {
            if !self.delivered.load(Ordering::Relaxed) {
                lost.inc_by(*events);
                tracing::warn!(
                    events,
                    "events of a hasty request (answered 202) were not delivered"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> BatchPosition {
        BatchPosition {
            stream: 0,
            start: 0,
            end: 1,
            lines: 1,
        }
    }

    #[test]
    fn the_waiting_handler_learns_delivery_or_loss() {
        let (ack, mut rx) = RequestAck::new();
        ack.acknowledge(position());
        assert!(rx.try_recv().is_ok());
        let (ack, mut rx) = RequestAck::new();
        drop(ack);
        assert!(matches!(
            rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
    }

    #[test]
    fn undelivered_hasty_events_are_counted() {
        let lost = Counter::default();
        drop(RequestAck::hasty(3, lost.clone()));
        assert_eq!(lost.get(), 3);
        let ack = RequestAck::hasty(5, lost.clone());
        ack.acknowledge(position());
        drop(ack);
        assert_eq!(lost.get(), 3);
    }
}
