//! EventError capsules (reference §5.2): how a line that produced no valid event is reported.
//!
//! ```json
//! {"event": {"code": "processor"|"validation", "message": "...", "rawEvent": "...",
//!            "revision": <errored revision or -1>, "schema": "<errored schema or 'unknown'>"},
//!  "recvFrom": "<processor host>", "revision": 14035058, "schema": "EventError",
//!  "timestamp": <unix seconds>, "uuid": "<32 hex>", "wiki": ""}
//! ```
//!
//! Unlike the reference (uuid1, random), the uuid is a uuid5 of the raw event, so replaying the
//! same input after a crash yields the same uuid and duplicates can be removed downstream.

use serde_json::{Map, Value};

use beacon_parsers::scid::recover_from_raw_line;
use beacon_parsers::uuid5::uuid5_hex;

/// Schema name of error events.
pub const EVENT_ERROR_SCHEMA: &str = "EventError";
/// Revision of the EventError schema on meta.wikimedia.org.
pub const EVENT_ERROR_REVISION: i64 = 14035058;

/// The `code` of an EventError.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The line could not be processed (parse, decode, schema lookup, ...).
    Processor,
    /// The event did not validate against its schema (or its SCID was invalid).
    Validation,
}

impl ErrorCode {
    /// The code as written in the event.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Processor => "processor",
            ErrorCode::Validation => "validation",
        }
    }
}

/// Which schema and revision the failed event was for, as far as known.
#[derive(Debug, Clone, PartialEq)]
pub struct ErroredScid {
    /// The schema, as sent (need not be a valid name), or `"unknown"`.
    pub schema: Value,
    /// The revision, as sent (need not be an integer), or `-1`.
    pub revision: Value,
}

impl ErroredScid {
    /// From a parsed capsule: its `schema` and `revision` keys whatever their type.
    pub fn from_capsule(capsule: &Map<String, Value>) -> Self {
        ErroredScid {
            schema: capsule
                .get("schema")
                .cloned()
                .unwrap_or_else(|| Value::from("unknown")),
            revision: capsule
                .get("revision")
                .cloned()
                .unwrap_or_else(|| Value::from(-1)),
        }
    }

    /// From a raw line that did not parse, searched the way the reference does.
    pub fn from_raw_line(line: &str) -> Self {
        let found = recover_from_raw_line(line);
        let revision = found
            .revision
            .and_then(|digits| serde_json::from_str::<serde_json::Number>(digits).ok())
            .map(Value::Number)
            .unwrap_or_else(|| Value::from(-1));
        ErroredScid {
            schema: Value::from(found.schema.unwrap_or("unknown")),
            revision,
        }
    }
}

/// Builds the EventError capsule.
pub fn event_error(
    code: ErrorCode,
    message: &str,
    raw_event: &str,
    scid: ErroredScid,
    processor_host: &str,
    now_unix_seconds: i64,
) -> Map<String, Value> {
    let mut inner = Map::new();
    inner.insert("code".into(), Value::from(code.as_str()));
    inner.insert("message".into(), Value::from(message));
    inner.insert("rawEvent".into(), Value::from(raw_event));
    inner.insert("revision".into(), scid.revision);
    inner.insert("schema".into(), scid.schema);

    let mut name = String::with_capacity(16 + raw_event.len());
    name.push_str("eventerror:");
    name.push_str(code.as_str());
    name.push(':');
    name.push_str(raw_event);

    let mut capsule = Map::new();
    capsule.insert("event".into(), Value::Object(inner));
    capsule.insert("recvFrom".into(), Value::from(processor_host));
    capsule.insert("revision".into(), Value::from(EVENT_ERROR_REVISION));
    capsule.insert("schema".into(), Value::from(EVENT_ERROR_SCHEMA));
    capsule.insert("timestamp".into(), Value::from(now_unix_seconds));
    capsule.insert("uuid".into(), Value::from(uuid5_hex(&name)));
    capsule.insert("wiki".into(), Value::from(""));
    capsule
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_matches_the_reference() {
        let e = event_error(
            ErrorCode::Processor,
            "boom",
            "raw line",
            ErroredScid::from_raw_line("no scid here"),
            "host.example",
            1_600_000_000,
        );
        let json = serde_json::to_string(&Value::Object(e)).unwrap();
        assert!(json.starts_with(
            r#"{"event":{"code":"processor","message":"boom","rawEvent":"raw line","revision":-1,"schema":"unknown"},"recvFrom":"host.example","revision":14035058,"schema":"EventError","timestamp":1600000000,"uuid":""#
        ), "{json}");
        assert!(json.ends_with(r#"","wiki":""}"#), "{json}");
    }

    #[test]
    fn uuid_is_deterministic_per_raw_event() {
        let a = event_error(
            ErrorCode::Validation,
            "m",
            "x",
            ErroredScid::from_raw_line(""),
            "h",
            1,
        );
        let b = event_error(
            ErrorCode::Validation,
            "other message",
            "x",
            ErroredScid::from_raw_line(""),
            "h2",
            2,
        );
        let c = event_error(
            ErrorCode::Validation,
            "m",
            "y",
            ErroredScid::from_raw_line(""),
            "h",
            1,
        );
        assert_eq!(a["uuid"], b["uuid"]);
        assert_ne!(a["uuid"], c["uuid"]);
        assert_eq!(a["uuid"].as_str().map(str::len), Some(32));
    }

    #[test]
    fn recovered_revision_keeps_big_digits() {
        let scid = ErroredScid::from_raw_line(
            "%22schema%22%3A%22Echo%22%2C%22revision%22%3A123456789012345678901234",
        );
        assert_eq!(scid.schema, Value::from("Echo"));
        assert_eq!(
            serde_json::to_string(&scid.revision).unwrap(),
            "123456789012345678901234"
        );
    }
}
