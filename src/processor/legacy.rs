//! The legacy path: capsule -> legacy schema validation -> `eventlogging_{schema}`, or an
//! EventError capsule (reference §5).

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use beacon_parsers::capsule::{DecodedLine, LegacyCapsule};
use beacon_parsers::datetime::iso_to_unix_millis;
use beacon_parsers::json_writer;

use crate::catalog::CatalogSnapshot;
use crate::clock::Clock;
use crate::error_event::{event_error, ErrorCode, ErroredScid};
use crate::record::{Outcome, OutputRecord};
use crate::schema::{extract_legacy_scid, SchemaPoll};

use super::{Lookup, Processed, Processor, Worker, MAX_CACHED_TOPICS};

impl Worker<'_> {
    pub(super) fn legacy(
        &mut self,
        snapshot: &CatalogSnapshot,
        decoded: DecodedLine<'_>,
        line: &str,
        clock: Clock,
        lookup: Lookup,
    ) -> Processed {
        let capsule = match self.processor.parser.build_legacy_capsule(
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
        let registry = &snapshot.registry;
        let found = match extract_legacy_scid(capsule.map()) {
            Ok(scid) => match lookup {
                Lookup::Poll => match registry.poll_legacy_validator(scid.name, scid.revision) {
                    SchemaPoll::Ready(validator) => Ok(validator),
                    SchemaPoll::Pending(ticket) => return Processed::Pending(ticket),
                    SchemaPoll::Failed(error) => Err(error),
                },
                Lookup::Block => registry.legacy_validator(scid.name, scid.revision),
            },
            Err(error) => {
                return Processed::Record(self.legacy_validation_error(
                    &error.to_string(),
                    &capsule,
                    clock,
                ))
            }
        };
        let validator = match found {
            Ok(validator) => validator,
            Err(error) => {
                return Processed::Record(self.legacy_processor_error(
                    error.reason(),
                    &error.to_string(),
                    line,
                    Some(capsule.map()),
                    clock,
                ))
            }
        };
        // The capsule is validated with its user agent as the `null` placeholder: the capsule
        // schema accepts any `userAgent`, so the verdict is the one of the full capsule. The
        // message of an invalid capsule is taken from the full capsule all the same.
        let (mut map, user_agent) = capsule.into_parts();
        let valid = validator.is_valid_map(&mut map);
        let capsule = LegacyCapsule::from_parts(map, user_agent);
        // The validator was looked up by (and compiled for) the capsule's schema name.
        let name = validator.name();
        if valid {
            return Processed::Record(self.legacy_valid(&capsule, name, line, clock));
        }
        let mut full = capsule.into_map();
        let verdict = validator.rejection_message_map(&mut full);
        let capsule = LegacyCapsule::from_parts(full, None);
        match verdict {
            Ok(()) => Processed::Record(self.legacy_valid(&capsule, name, line, clock)),
            Err(message) => {
                Processed::Record(self.legacy_validation_error(&message, &capsule, clock))
            }
        }
    }

    fn legacy_valid(
        &mut self,
        capsule: &LegacyCapsule,
        schema: &str,
        line: &str,
        clock: Clock,
    ) -> OutputRecord {
        let map = capsule.map();
        match valid_topic(&mut self.valid_topics, self.processor, schema).map(str::to_owned) {
            Ok(topic) => {
                let timestamp_ms = map
                    .get("dt")
                    .and_then(Value::as_str)
                    .and_then(iso_to_unix_millis)
                    .or_else(|| {
                        map.get("timestamp")
                            .and_then(Value::as_i64)
                            .and_then(|s| s.checked_mul(1000))
                    });
                OutputRecord {
                    topic,
                    schema: Some(schema.to_owned()),
                    key: self
                        .processor
                        .settings
                        .message_key
                        .uuid_key(map.get("uuid")),
                    payload: serialize_with(|out| capsule.write_json(out)),
                    timestamp_ms,
                    outcome: Outcome::Valid,
                }
            }
            Err(error) => {
                self.legacy_processor_error("topic", &error.to_string(), line, Some(map), clock)
            }
        }
    }

    fn legacy_validation_error(
        &self,
        message: &str,
        capsule: &LegacyCapsule,
        clock: Clock,
    ) -> OutputRecord {
        let raw_event =
            String::from_utf8(serialize_with(|out| capsule.write_json(out))).unwrap_or_default();
        let scid = ErroredScid::from_capsule(capsule.map());
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
        let schema = scid.schema.as_str().map(str::to_owned);
        let capsule = event_error(code, message, raw_event, scid, &settings.host, seconds);
        OutputRecord {
            topic: settings.error_topic.clone(),
            schema,
            key: settings.message_key.uuid_key(capsule.get("uuid")),
            payload: serialize(&capsule),
            timestamp_ms: seconds.checked_mul(1000),
            outcome: Outcome::Error { reason },
        }
    }
}

/// Serialises an event as compact JSON with sorted keys (the bytes `serde_json::to_vec` gives).
pub(super) fn serialize(event: &Map<String, Value>) -> Vec<u8> {
    serialize_with(|out| json_writer::write_object(out, event))
}

/// Scratch buffers kept per thread above this size are given back to the allocator.
const MAX_KEPT_SCRATCH_BYTES: usize = 1 << 20;

thread_local! {
    /// Per-thread buffer the events are written into before being copied out at their exact
    /// size: one allocation per event, no regrowth.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
}

/// Runs `write` on an empty buffer and returns what it wrote, in a `Vec` of exactly that size.
pub(super) fn serialize_with(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut write = Some(write);
    let pooled = SCRATCH
        .try_with(|cell| {
            let mut buffer = cell.try_borrow_mut().ok()?;
            buffer.clear();
            (write.take()?)(&mut buffer);
            let out = buffer.as_slice().to_vec();
            if buffer.capacity() > MAX_KEPT_SCRATCH_BYTES {
                *buffer = Vec::new();
            }
            Some(out)
        })
        .ok()
        .flatten();
    match (pooled, write) {
        (Some(out), _) => out,
        (None, Some(write)) => {
            let mut out = Vec::with_capacity(1024);
            write(&mut out);
            out
        }
        (None, None) => Vec::new(),
    }
}

/// The valid-event topic of `schema`, from the worker's cache `topics` when it was made before.
/// (A function of the cache rather than a method of the worker, so that it can be called
/// while another part of the worker is borrowed.)
pub(super) fn valid_topic<'t>(
    topics: &'t mut HashMap<String, String>,
    processor: &Processor,
    schema: &str,
) -> Result<&'t str, crate::topic::TopicError> {
    if !topics.contains_key(schema) {
        let topic = processor.settings.valid_topic.topic_for(schema)?;
        if topics.len() >= MAX_CACHED_TOPICS {
            topics.clear();
        }
        topics.insert(schema.to_owned(), topic);
    }
    Ok(topics.get(schema).map_or("", String::as_str))
}
