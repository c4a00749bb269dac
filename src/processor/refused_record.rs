//! Records Kafka refuses for good (too large, invalid topic) become error events: the
//! processor knows the error topics and how to build an EventError capsule or an EventGate
//! error event, so the Kafka sink asks it.

use serde_json::{Map, Value};

use beacon_parsers::datetime::iso_to_unix_millis;

use crate::clock::Clock;
use crate::error_event::{event_error, ErrorCode, ErroredScid};
use crate::event_platform::error_event::{error_event, EventFailure};
use crate::record::{Outcome, OutputRecord};
use crate::sink::{FailedRecordRouter, RefusedRecord, PRODUCE_REASON};
use crate::streams::topic_for_stream;

use super::legacy::serialize;
use super::Processor;

/// The refused record's text kept in the error event (the record may be refused for its size).
const MAX_RAW_EVENT_BYTES: usize = 4096;

impl Processor {
    /// The topic of Event Platform error events.
    pub fn event_platform_error_topic(&self) -> String {
        let settings = &self.settings;
        let snapshot = self.catalog.snapshot();
        let stream = snapshot
            .streams
            .as_ref()
            .and_then(|s| s.lookup(&settings.error_stream));
        topic_for_stream(&settings.topic_prefix, &settings.error_stream, stream)
            .unwrap_or_else(|_| settings.error_stream.clone())
    }
}

impl FailedRecordRouter for Processor {
    fn is_error_topic(&self, topic: &str) -> bool {
        topic == self.settings.error_topic || topic == self.event_platform_error_topic()
    }

    fn error_record(&self, refused: &RefusedRecord<'_>) -> OutputRecord {
        let text = String::from_utf8_lossy(refused.payload);
        let (raw, message) = match text.char_indices().find(|(i, _)| *i >= MAX_RAW_EVENT_BYTES) {
            Some((cut, _)) => (
                text.get(..cut).unwrap_or_default(),
                format!(
                    "{} (raw event cut to its first {cut} of {} bytes)",
                    refused.reason,
                    refused.payload.len()
                ),
            ),
            None => (text.as_ref(), refused.reason.to_owned()),
        };
        let event: Map<String, Value> = serde_json::from_slice(refused.payload).unwrap_or_default();
        let clock = Clock::now();
        let settings = &self.settings;
        if event.contains_key("$schema") {
            let mut identity = Map::new();
            for key in ["$schema", "meta"] {
                if let Some(value) = event.get(key) {
                    identity.insert(key.to_owned(), value.clone());
                }
            }
            let now = clock.iso();
            let failure = EventFailure {
                error_type: "ProduceError",
                message,
            };
            let mut error = error_event(
                &failure,
                Some(&identity),
                raw,
                &settings.error_stream,
                &settings.emitter_id,
                &now,
            );
            error.insert("raw_event".into(), Value::from(raw));
            OutputRecord {
                topic: self.event_platform_error_topic(),
                schema: crate::event_platform::get_path(&event, "meta.stream")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                key: settings
                    .message_key
                    .uuid_key(crate::event_platform::get_path(&error, "meta.id")),
                payload: serialize(&error),
                timestamp_ms: iso_to_unix_millis(&now),
                outcome: Outcome::Error {
                    reason: PRODUCE_REASON,
                },
            }
        } else {
            let seconds = clock.unix_seconds();
            let scid = if event.is_empty() {
                ErroredScid::from_raw_line(raw)
            } else {
                ErroredScid::from_capsule(&event)
            };
            let schema = scid.schema.as_str().map(str::to_owned);
            let capsule = event_error(
                ErrorCode::Processor,
                &message,
                raw,
                scid,
                &settings.host,
                seconds,
            );
            OutputRecord {
                topic: settings.error_topic.clone(),
                schema,
                key: settings.message_key.uuid_key(capsule.get("uuid")),
                payload: serialize(&capsule),
                timestamp_ms: seconds.checked_mul(1000),
                outcome: Outcome::Error {
                    reason: PRODUCE_REASON,
                },
            }
        }
    }
}
