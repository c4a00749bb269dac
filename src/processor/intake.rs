//! Events of an HTTP request (the intake's `POST /v1/events`): each is a JSON value of the
//! request's body, with the request's facts (client IP, user agent, request id, receive time)
//! in place of a raw line's. They take the Event Platform path (schema, stream check, enrich,
//! validate, route) like any `$schema` event, and each gets a [`Verdict`] for the answer.

use serde_json::{Map, Value};

use crate::catalog::CatalogSnapshot;
use crate::clock::Clock;
use crate::event_platform::enrich::RequestFacts;
use crate::intake_request::{IntakeRequest, Verdict};
use crate::record::batch::RecordBatch;
use crate::record::{Outcome, OutputRecord};
use crate::validation::EventSchema;

use super::event_platform::{Failure, Resolved};
use super::{decode_line, Lookup, Worker};

impl Worker<'_> {
    /// Processes the events of `request` into `records`, one record per event in order, and
    /// records their verdicts in the request.
    pub fn process_request<'l>(
        &mut self,
        request: &IntakeRequest,
        events: impl Iterator<Item = &'l [u8]>,
        clock: Clock,
        records: &mut RecordBatch,
    ) {
        let snapshot = self.processor.catalog.snapshot();
        let mut verdicts = Vec::with_capacity(events.size_hint().0);
        // One receive time for all of the request's events, formatted once.
        let received_dt = request.received.iso();
        for raw in events {
            let (record, verdict) = self.intake_event(&snapshot, request, &received_dt, raw, clock);
            records.push(&record);
            verdicts.push(verdict);
        }
        request.set_verdicts(verdicts);
    }

    fn intake_event(
        &mut self,
        snapshot: &CatalogSnapshot,
        request: &IntakeRequest,
        received_dt: &str,
        raw: &[u8],
        clock: Clock,
    ) -> (OutputRecord, Verdict) {
        let text = decode_line(raw);
        let value: Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(e) => {
                let failure = Failure::new("json", "ParseError", format!("invalid JSON: {e}"));
                let original = || Value::from(text.as_ref());
                return self.intake_failed(failure, None, original, &text, clock);
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
            return self.intake_failed(failure, None, || value, &text, clock);
        };
        let uri = match event.get("$schema") {
            Some(Value::String(uri)) => uri.clone(),
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
                return self.intake_failed(failure, Some(&event), original, &text, clock);
            }
        };
        let schema = match self.resolve(snapshot, &uri, Lookup::Block) {
            Resolved::Ready(schema) => schema,
            Resolved::Failed(failure) => {
                let original = || Value::Object(event.clone());
                return self.intake_failed(failure, Some(&event), original, &text, clock);
            }
            Resolved::Pending(_) => {
                let failure = Failure::new(
                    "schema_fetch",
                    "SchemaLoadError",
                    "schema fetch did not complete within the fetch timeout",
                );
                let original = || Value::Object(event.clone());
                return self.intake_failed(failure, Some(&event), original, &text, clock);
            }
        };
        let user_agent_object = self.user_agent_object(request, &schema);
        let event_id = uuid::Uuid::new_v4().hyphenated().to_string();
        let facts = RequestFacts {
            event_id: Some(event_id),
            received_dt: Some(received_dt),
            user_agent: request.user_agent.as_deref(),
            client_ip: Some(request.client_ip.as_str()),
            user_agent_object,
            request_id: Some(request.request_id.as_str()),
        };
        let record = self.deliver(snapshot, event, &schema, &facts, &text, clock);
        // The event as received is only needed for a refusal, and is its text parsed again
        // (copying every accepted event's tree for it cost 5 % of the intake's CPU).
        let verdict = verdict_of(&record, || {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::from(text.as_ref()))
        });
        (record, verdict)
    }

    fn user_agent_object(
        &mut self,
        request: &IntakeRequest,
        schema: &EventSchema,
    ) -> Option<Value> {
        if !schema.declares("/useragent") {
            return None;
        }
        let ua = request.user_agent.as_deref()?;
        self.user_agents
            .parse(ua)
            .ok()
            .map(|info| crate::event_platform::useragent_object(info.to_json()))
    }

    fn intake_failed(
        &self,
        failure: Failure,
        event: Option<&Map<String, Value>>,
        original: impl FnOnce() -> Value,
        text: &str,
        clock: Clock,
    ) -> (OutputRecord, Verdict) {
        let record = self.failed(failure, event, text, clock);
        let verdict = verdict_of(&record, original);
        (record, verdict)
    }
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
