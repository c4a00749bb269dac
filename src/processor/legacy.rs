//! The legacy path: capsule -> legacy schema validation -> `eventlogging_{schema}`, or an
//! EventError capsule (reference §5).

use serde_json::{Map, Value};

use beacon_parsers::capsule::DecodedLine;
use beacon_parsers::datetime::iso_to_unix_millis;

use crate::catalog::CatalogSnapshot;
use crate::error_event::{event_error, ErrorCode, ErroredScid};
use crate::record::{Outcome, OutputRecord};
use crate::schema::{extract_legacy_scid, SchemaPoll};

use super::{Clock, Lookup, Processed, Worker};

impl Worker<'_> {
    pub(super) fn legacy(
        &mut self,
        snapshot: &CatalogSnapshot,
        decoded: DecodedLine<'_>,
        line: &str,
        clock: Clock,
        lookup: Lookup,
    ) -> Processed {
        let capsule = match self.processor.parser.build_capsule(
            decoded,
            &mut self.user_agents,
            clock.unix_micros,
        ) {
            Ok(capsule) => capsule,
            Err(error) => {
                return Processed::Record(self.legacy_processor_error(
                    error.reason(),
                    &error.to_string(),
                    line,
                    None,
                    clock,
                ))
            }
        };
        let (name, revision) = match extract_legacy_scid(&capsule) {
            Ok(scid) => (scid.name.to_owned(), scid.revision),
            Err(error) => {
                return Processed::Record(self.legacy_validation_error(
                    &error.to_string(),
                    capsule,
                    clock,
                ))
            }
        };
        let registry = &snapshot.registry;
        let found = match lookup {
            Lookup::Poll => match registry.poll_legacy_validator(&name, revision) {
                SchemaPoll::Ready(validator) => Ok(validator),
                SchemaPoll::Pending(ticket) => return Processed::Pending(ticket),
                SchemaPoll::Failed(error) => Err(error),
            },
            Lookup::Block => registry.legacy_validator(&name, revision),
        };
        let validator = match found {
            Ok(validator) => validator,
            Err(error) => {
                return Processed::Record(self.legacy_processor_error(
                    error.reason(),
                    &error.to_string(),
                    line,
                    Some(&capsule),
                    clock,
                ))
            }
        };
        let capsule = Value::Object(capsule);
        let verdict = validator.validate(&capsule);
        let Value::Object(capsule) = capsule else {
            return Processed::Record(self.legacy_processor_error(
                "field",
                "capsule is not an object",
                line,
                None,
                clock,
            ));
        };
        match verdict {
            Ok(()) => Processed::Record(self.legacy_valid(capsule, &name, line, clock)),
            Err(message) => {
                Processed::Record(self.legacy_validation_error(&message, capsule, clock))
            }
        }
    }

    fn legacy_valid(
        &self,
        capsule: Map<String, Value>,
        schema: &str,
        line: &str,
        clock: Clock,
    ) -> OutputRecord {
        match self.processor.settings.valid_topic.topic_for(schema) {
            Ok(topic) => {
                let timestamp_ms = capsule
                    .get("dt")
                    .and_then(Value::as_str)
                    .and_then(iso_to_unix_millis)
                    .or_else(|| {
                        capsule
                            .get("timestamp")
                            .and_then(Value::as_i64)
                            .and_then(|s| s.checked_mul(1000))
                    });
                OutputRecord {
                    topic,
                    key: self
                        .processor
                        .settings
                        .message_key
                        .uuid_key(capsule.get("uuid")),
                    payload: serialize(&capsule),
                    timestamp_ms,
                    outcome: Outcome::Valid,
                }
            }
            Err(error) => self.legacy_processor_error(
                "topic",
                &error.to_string(),
                line,
                Some(&capsule),
                clock,
            ),
        }
    }

    fn legacy_validation_error(
        &self,
        message: &str,
        capsule: Map<String, Value>,
        clock: Clock,
    ) -> OutputRecord {
        let raw_event = String::from_utf8(serialize(&capsule)).unwrap_or_default();
        let scid = ErroredScid::from_capsule(&capsule);
        self.legacy_error(
            ErrorCode::Validation,
            "validation",
            message,
            &raw_event,
            scid,
            clock,
        )
    }

    /// A `processor` EventError for `line`; the errored schema comes from the capsule when it
    /// was parsed, else from the raw line.
    pub(super) fn legacy_processor_error(
        &self,
        reason: &'static str,
        message: &str,
        line: &str,
        capsule: Option<&Map<String, Value>>,
        clock: Clock,
    ) -> OutputRecord {
        let scid = capsule.map_or_else(
            || ErroredScid::from_raw_line(line),
            ErroredScid::from_capsule,
        );
        self.legacy_error(ErrorCode::Processor, reason, message, line, scid, clock)
    }

    fn legacy_error(
        &self,
        code: ErrorCode,
        reason: &'static str,
        message: &str,
        raw_event: &str,
        scid: ErroredScid,
        clock: Clock,
    ) -> OutputRecord {
        let settings = &self.processor.settings;
        let seconds = clock.unix_seconds();
        let capsule = event_error(code, message, raw_event, scid, &settings.host, seconds);
        OutputRecord {
            topic: settings.error_topic.clone(),
            key: settings.message_key.uuid_key(capsule.get("uuid")),
            payload: serialize(&capsule),
            timestamp_ms: seconds.checked_mul(1000),
            outcome: Outcome::Error { reason },
        }
    }
}

/// Serialises an event as compact JSON with sorted keys.
pub(super) fn serialize(event: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    // Writing a Map of Values into a Vec cannot fail: every key is a string and there is no I/O.
    if serde_json::to_writer(&mut out, event).is_err() {
        out.clear();
        out.extend_from_slice(b"{}");
    }
    out
}
