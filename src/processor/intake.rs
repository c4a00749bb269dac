//! Events of an HTTP request (the intake's `POST /v1/events`): each is a JSON value of the
//! request's body, with the request's facts (client IP, user agent, request id, receive time)
//! in place of a raw line's. They take the Event Platform path (schema, stream check, enrich,
//! validate, route) like any `$schema` event, and each gets a [`Verdict`] for the answer.
//!
//! An event that is accepted is finished on the worker's flat document (`intake_document.rs`);
//! this file holds the batch loop and the general path on `serde_json::Value`, which judges
//! every other event and gives every error message.

use std::borrow::Cow;
use std::sync::Arc;

use beacon_parsers::datetime::iso_to_unix_millis;
use beacon_parsers::useragent::UserAgentCache;
use serde_json::{Map, Value};

use crate::catalog::CatalogSnapshot;
use crate::clock::Clock;
use crate::event_platform::enrich::RequestFacts;
use crate::intake_request::{IntakeRequest, Verdict};
use crate::record::batch::RecordBatch;
use crate::record::{Outcome, OutputRecord};
use crate::validation::EventSchema;

use super::event_platform::{Delivery, Failure};
use super::{decode_line, Worker};

impl Worker<'_> {
    /// Processes a batch of requests' events: `requests` gives each request with its number of
    /// events, taken in order from `events`. One record per event, in order; each request's
    /// verdicts are recorded in it.
    pub fn process_requests<'l, R: AsRef<IntakeRequest>>(
        &mut self,
        requests: impl Iterator<Item = (R, usize)>,
        mut events: impl Iterator<Item = &'l [u8]>,
        clock: Clock,
    ) -> RecordBatch {
        let snapshot = self.processor.catalog.snapshot();
        // A new batch may come with a new snapshot: nothing memoised is kept across batches.
        self.event_schemas.clear();
        self.stream_routes.clear();
        let bytes = self.last_batch_bytes + self.last_batch_bytes / 8;
        let mut records = RecordBatch::with_capacity(events.size_hint().0, bytes);
        for (request, count) in requests {
            let events = events.by_ref().take(count);
            self.process_request(&snapshot, request.as_ref(), events, clock, &mut records);
        }
        self.last_batch_bytes = records.byte_len();
        records
    }

    fn process_request<'l>(
        &mut self,
        snapshot: &CatalogSnapshot,
        request: &IntakeRequest,
        events: impl Iterator<Item = &'l [u8]>,
        clock: Clock,
        records: &mut RecordBatch,
    ) {
        let mut verdicts = Vec::with_capacity(events.size_hint().0);
        // One receive time for all of the request's events, formatted and read once.
        let received_dt = request.received.iso();
        let received = Received {
            dt: &received_dt,
            millis: iso_to_unix_millis(&received_dt),
        };
        for raw in events {
            let verdict = self.intake_event(snapshot, request, &received, raw, clock, records);
            verdicts.push(verdict);
        }
        request.set_verdicts(verdicts);
    }

    fn intake_event(
        &mut self,
        snapshot: &CatalogSnapshot,
        request: &IntakeRequest,
        received: &Received<'_>,
        raw: &[u8],
        clock: Clock,
        records: &mut RecordBatch,
    ) -> Verdict {
        let text = decode_line(raw);
        let finished = self.intake_document(snapshot, request, received, &text, clock, records);
        match finished {
            Some(verdict) => verdict,
            None => self.intake_general(snapshot, request, received.dt, &text, clock, records),
        }
    }

    /// Any event, through a `Value` tree: what [`intake_document`](Self::intake_document)
    /// leaves, and every refusal.
    pub(super) fn intake_general(
        &mut self,
        snapshot: &CatalogSnapshot,
        request: &IntakeRequest,
        received_dt: &str,
        text: &str,
        clock: Clock,
        records: &mut RecordBatch,
    ) -> Verdict {
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => {
                let failure = Failure::new("json", "ParseError", format!("invalid JSON: {e}"));
                let original = || Value::from(text);
                return self.intake_failed(failure, None, original, text, clock, records);
            }
        };
        let Value::Object(event) = value else {
            let failure = Failure::new(
                "not_object",
                "ParseError",
                format!(
                    "an event must be a JSON object, found {}",
                    crate::json_kind::json_kind(&value)
                ),
            );
            return self.intake_failed(failure, None, || value, text, clock, records);
        };
        let uri = match event.get("$schema") {
            Some(Value::String(uri)) => uri.as_str(),
            found => {
                let message = match found {
                    None => "$schema is missing: every event must name its schema".to_owned(),
                    Some(other) => format!(
                        "$schema must be a string (a schema URI), found {}",
                        crate::json_kind::json_kind(other)
                    ),
                };
                let failure = Failure::new("schema_missing", "MissingFieldError", message);
                let original = || Value::Object(event.clone());
                return self.intake_failed(failure, Some(&event), original, text, clock, records);
            }
        };
        // Borrowed from the memo: no reference count shared with the other workers is touched.
        let looked_up: Arc<EventSchema>;
        let schema: &EventSchema = match self.event_schemas.get(uri) {
            Some(schema) => schema,
            // A request waits for its schema (bounded by the fetch timeout): never pending.
            None => match snapshot.registry.event_schema(uri) {
                Ok(found) => {
                    self.event_schemas.remember(uri, Arc::clone(&found));
                    looked_up = found;
                    &looked_up
                }
                Err(error) => {
                    let failure = Failure::lookup(&error);
                    let original = || Value::Object(event.clone());
                    return self.intake_failed(
                        failure,
                        Some(&event),
                        original,
                        text,
                        clock,
                        records,
                    );
                }
            },
        };
        let user_agent_object = user_agent_object(&mut self.user_agents, request, schema);
        let mut id_buffer = uuid::Uuid::encode_buffer();
        let event_id = uuid::Uuid::new_v4()
            .hyphenated()
            .encode_lower(&mut id_buffer);
        let facts = RequestFacts {
            event_id: Some(Cow::Borrowed(event_id)),
            received_dt: Some(received_dt),
            user_agent: request.user_agent.as_deref(),
            client_ip: Some(request.client_ip.as_str()),
            user_agent_object,
            request_id: Some(request.request_id.as_str()),
        };
        match self.accept(snapshot, event, schema, &facts, text, clock) {
            Delivery::Accepted(accepted) => {
                accepted.write_into(records);
                Verdict::Accepted
            }
            Delivery::Refused(refused) => {
                // The event as received is only needed for a refusal, and is its text parsed
                // again (copying every accepted event's tree for it cost 5 % of the intake's
                // CPU).
                let verdict = verdict_of(&refused, || {
                    serde_json::from_str(text).unwrap_or_else(|_| Value::from(text))
                });
                records.push(&refused);
                verdict
            }
        }
    }

    pub(super) fn intake_failed(
        &self,
        failure: Failure,
        event: Option<&Map<String, Value>>,
        original: impl FnOnce() -> Value,
        text: &str,
        clock: Clock,
        records: &mut RecordBatch,
    ) -> Verdict {
        let record = self.failed(failure, event, text, clock);
        let verdict = verdict_of(&record, original);
        records.push(&record);
        verdict
    }
}

/// When a request was received: as `meta.dt` is written, and as a record's timestamp.
pub(super) struct Received<'r> {
    /// ISO-8601, as enrichment writes it.
    pub(super) dt: &'r str,
    /// `dt` read back as milliseconds since the epoch, as a record's timestamp.
    pub(super) millis: Option<i64>,
}

/// The parsed user agent of `request` for a schema that declares `useragent`.
pub(super) fn user_agent_object(
    user_agents: &mut UserAgentCache,
    request: &IntakeRequest,
    schema: &EventSchema,
) -> Option<Value> {
    if !schema.declares("/useragent") {
        return None;
    }
    let ua = request.user_agent.as_deref()?;
    user_agents
        .parse(ua)
        .ok()
        .map(|info| crate::event_platform::useragent_object(info.to_json()))
}

/// The verdict an output record stands for: accepted when valid; otherwise invalid (schema
/// validation) or errored, with the error event's message and the event as it was validated.
fn verdict_of(record: &OutputRecord, original: impl FnOnce() -> Value) -> Verdict {
    let reason = match record.outcome {
        Outcome::Valid | Outcome::Copy => return Verdict::Accepted,
        Outcome::Error { reason } => reason,
    };
    let error: Value = serde_json::from_slice(&record.payload).unwrap_or(Value::Null);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the event was not accepted")
        .to_owned();
    let event = error
        .get("raw_event")
        .and_then(Value::as_str)
        .and_then(|raw| serde_json::from_str(raw).ok())
        .filter(Value::is_object)
        .unwrap_or_else(original);
    match reason {
        "validation" => Verdict::Invalid { event, message },
        // The schema repository or the service's own schemas, not the event.
        "schema_fetch" | "schema_invalid" => Verdict::Error {
            event,
            message,
            server: true,
        },
        _ => Verdict::Error {
            event,
            message,
            server: false,
        },
    }
}
