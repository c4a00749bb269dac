//! The EventGate error event (schema `/error/2.1.0`, reference eventgate.md §4.2), used for every
//! Event Platform event that cannot be delivered to its stream: validation failures, and, unlike
//! EventGate (which only logs them), unknown streams, schema title mismatches and unloadable
//! schemas, each with its own `error_type`.

use serde_json::{Map, Value};

use beacon_parsers::uuid5::uuid5_hex;

use super::get_path;

/// `$schema` of error events.
pub const ERROR_SCHEMA_URI: &str = "/error/2.1.0";

/// What went wrong, for the error event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFailure {
    /// EventGate-style error class, e.g. `ValidationError`, `UnknownStreamError`.
    pub error_type: &'static str,
    /// Human-readable message (for validation: `<pointer>: <what>`).
    pub message: String,
}

/// Builds the error event for `failed` (the event as far as it was enriched), or for a raw line
/// when no event could be decoded (`failed` is `None`).
pub fn error_event(
    failure: &EventFailure,
    failed: Option<&Map<String, Value>>,
    raw_line: &str,
    error_stream: &str,
    emitter_id: &str,
    now_iso: &str,
) -> Map<String, Value> {
    let raw_event = match failed {
        Some(event) => serde_json::to_string(event).unwrap_or_else(|_| raw_line.to_owned()),
        None => raw_line.to_owned(),
    };
    let copied = |path: &str| -> Value {
        match failed.and_then(|e| get_path(e, path)) {
            None => Value::from("unknown"),
            Some(Value::Null) => Value::from("null"),
            Some(Value::String(s)) => Value::from(s.as_str()),
            Some(other) => Value::from(other.to_string()),
        }
    };
    let mut meta = Map::new();
    meta.insert("stream".into(), Value::from(error_stream));
    let mut id_name = String::with_capacity(24 + raw_event.len());
    id_name.push_str("error:");
    id_name.push_str(failure.error_type);
    id_name.push(':');
    id_name.push_str(&raw_event);
    meta.insert(
        "id".into(),
        Value::from(super::hyphenate_uuid(&uuid5_hex(&id_name))),
    );
    meta.insert("dt".into(), Value::from(now_iso));
    // Present values the error schema refuses (an empty `domain`, a `uri` that is no URI
    // reference) become `unknown`, as EventGate writes for what it does not have: an error event
    // must always be valid against its own schema.
    for field in ["uri", "domain", "request_id"] {
        let value = copied(&format!("meta.{field}"));
        if value == "unknown" {
            continue;
        }
        let acceptable = match (field, value.as_str()) {
            ("uri", Some(uri)) => is_uri_reference(uri),
            ("domain", Some(domain)) => !domain.is_empty(),
            _ => true,
        };
        meta.insert(
            field.into(),
            if acceptable {
                value
            } else {
                Value::from("unknown")
            },
        );
    }

    let mut event = Map::new();
    event.insert("$schema".into(), Value::from(ERROR_SCHEMA_URI));
    event.insert("meta".into(), Value::Object(meta));
    event.insert("dt".into(), Value::from(now_iso));
    event.insert("emitter_id".into(), Value::from(emitter_id));
    event.insert("raw_event".into(), Value::from(raw_event));
    event.insert("errored_schema_uri".into(), copied("$schema"));
    event.insert("errored_stream_name".into(), copied("meta.stream"));
    event.insert("message".into(), Value::from(failure.message.as_str()));
    event.insert("error_type".into(), Value::from(failure.error_type));
    event
}

/// Whether `text` can be the error schema's `meta.uri`: a `format: uri-reference` value (as
/// its validator checks it) of at most 8192 characters.
fn is_uri_reference(text: &str) -> bool {
    text.len() <= 8192 && crate::validation::formats::is_ajv_uri_reference(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shape_follows_error_2_1_0() {
        let failed = json!({"$schema": "/original/schema/1.0.0", "meta": {"stream": "original.stream.name", "dt": "2020-07-01T00:00:00Z", "domain": null}, "myproperty": "invalid_value"});
        let failure = EventFailure {
            error_type: "ValidationError",
            message: "/myproperty: bad".into(),
        };
        let e = error_event(
            &failure,
            failed.as_object(),
            "line",
            "error.example",
            "beacon-processor",
            "2020-07-01T00:00:00Z",
        );
        assert_eq!(e["$schema"], "/error/2.1.0");
        assert_eq!(e["meta"]["stream"], "error.example");
        assert_eq!(e["meta"]["dt"], "2020-07-01T00:00:00Z");
        assert_eq!(e["meta"]["domain"], "null");
        assert!(e["meta"].get("uri").is_none());
        assert_eq!(e["dt"], "2020-07-01T00:00:00Z");
        assert_eq!(e["emitter_id"], "beacon-processor");
        assert_eq!(e["errored_schema_uri"], "/original/schema/1.0.0");
        assert_eq!(e["errored_stream_name"], "original.stream.name");
        assert_eq!(e["error_type"], "ValidationError");
        let raw: Value = serde_json::from_str(e["raw_event"].as_str().unwrap()).unwrap();
        assert_eq!(raw, failed);
        let id = e["meta"]["id"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }

    #[test]
    fn values_the_error_schema_refuses_are_replaced_by_unknown() {
        let failure = EventFailure {
            error_type: "ValidationError",
            message: "m".into(),
        };
        let failed =
            json!({"meta": {"stream": "s", "domain": "", "uri": "http://exa mple.org/<>"}});
        let e = error_event(&failure, failed.as_object(), "l", "errors", "bp", "now");
        assert_eq!(e["meta"]["domain"], "unknown");
        assert_eq!(e["meta"]["uri"], "unknown");
        let failed = json!({"meta": {"stream": "s", "domain": "en.wikipedia.org", "uri": "https://en.wikipedia.org/wiki/A%20B"}});
        let e = error_event(&failure, failed.as_object(), "l", "errors", "bp", "now");
        assert_eq!(e["meta"]["domain"], "en.wikipedia.org");
        assert_eq!(e["meta"]["uri"], "https://en.wikipedia.org/wiki/A%20B");
    }

    #[test]
    fn raw_line_when_nothing_decoded() {
        let failure = EventFailure {
            error_type: "ParseError",
            message: "m".into(),
        };
        let e = error_event(
            &failure,
            None,
            "the line",
            "errors",
            "bp",
            "2020-01-01T00:00:00Z",
        );
        assert_eq!(e["raw_event"], "the line");
        assert_eq!(e["errored_schema_uri"], "unknown");
        assert_eq!(e["errored_stream_name"], "unknown");
    }
}
