//! An HTTP request's events on their way through the pipeline (the HTTP intake, `POST
//! /v1/events`): the facts enrichment takes from the request (client IP, user agent, request id,
//! receive time), and the verdict of each event (accepted, invalid, errored), which the workers
//! write and the request's answer reports once its batch is delivered.

use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::clock::Clock;

/// What happened to one event of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Valid: delivered to its stream's topic.
    Accepted,
    /// It failed schema validation (delivered as an error event).
    Invalid {
        /// The event as it was validated (defaults filled), or as received.
        event: Value,
        /// The validation errors.
        message: String,
    },
    /// Anything else went wrong: unknown stream, schema not loadable, missing `$schema`, not an
    /// object... (delivered as an error event).
    Error {
        /// The event as received.
        event: Value,
        /// What went wrong.
        message: String,
        /// The service's fault, not the event's (a schema repository unreachable, a schema
        /// that does not compile): sending again later may succeed.
        server: bool,
    },
}

/// One request's facts and its events' verdicts.
#[derive(Debug)]
pub struct IntakeRequest {
    /// The client's address: the socket peer, or what a trusted proxy says it is.
    pub client_ip: String,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// The `X-Request-ID` header, or a generated id.
    pub request_id: String,
    /// When the request was received.
    pub received: Clock,
    verdicts: Mutex<Vec<Verdict>>,
}

impl IntakeRequest {
    /// A request with no verdicts yet.
    pub fn new(
        client_ip: String,
        user_agent: Option<String>,
        request_id: String,
        received: Clock,
    ) -> Self {
        IntakeRequest {
            client_ip,
            user_agent,
            request_id,
            received,
            verdicts: Mutex::new(Vec::new()),
        }
    }

    /// Records the verdicts of the request's events, in order (the worker, once).
    pub fn set_verdicts(&self, verdicts: Vec<Verdict>) {
        *self.verdicts.lock().unwrap_or_else(PoisonError::into_inner) = verdicts;
    }

    /// The verdicts recorded (after delivery, for the answer).
    pub fn take_verdicts(&self) -> Vec<Verdict> {
        std::mem::take(&mut *self.verdicts.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
