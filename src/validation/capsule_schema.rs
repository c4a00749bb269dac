//! The EventLogging capsule schema (reference §3.1) and encapsulation of an event schema in it
//! (§4.2).
//!
//! The capsule is a draft-3 schema, hard-coded like in the reference processor. An event schema
//! is *encapsulated* by copying the capsule and **replacing** `properties.event` with the event
//! schema, after defaulting `additionalProperties: false` at the event schema's top level. The
//! replacement drops the capsule's own `{"type": "object", "required": true}` for `event`, which
//! is why a capsule without `event`, or with `event: []` or `event: "str"`, validates against an
//! event schema that has no `type` (§4.3); that quirk is kept on purpose.

use std::sync::OnceLock;

use serde_json::{json, Value};

/// The draft-3 capsule schema (§3.1): `event`, `wiki`, `schema`, `revision`, `recvFrom` and
/// `uuid` required; `additionalProperties: false`; formats are documentation only.
pub fn capsule_schema() -> &'static Value {
    static CAPSULE: OnceLock<Value> = OnceLock::new();
    CAPSULE.get_or_init(|| {
        json!({
            "title": "EventCapsule",
            "description": "A wrapper around event objects that encodes generic metadata",
            "properties": {
                "event": {
                    "type": "object",
                    "description": "The encapsulated event object",
                    "required": true
                },
                "wiki": {
                    "type": "string",
                    "description": "$wgDBName (for example: 'enwiki')",
                    "required": true
                },
                "webHost": {
                    "type": "string",
                    "description": "Request host: 'window.location.hostname' on client-side \
                                    events; $_SERVER['HTTP_HOST'] on server"
                },
                "schema": {
                    "type": "string",
                    "description": "Title of the event's schema",
                    "required": true
                },
                "revision": {
                    "type": "integer",
                    "description": "Revision ID of the event's schema",
                    "required": true
                },
                "topic": {
                    "type": "string",
                    "description": "The queue topic name this event belongs in"
                },
                "recvFrom": {
                    "type": "string",
                    "description": "Hostname of the server emitting the log line",
                    "required": true
                },
                "timestamp": {
                    "type": "number",
                    "description": "Unix timestamp of the event (legacy formats only)"
                },
                "dt": {
                    "type": "string",
                    "description": "UTC ISO-8601 timestamp of the event",
                    "format": "date-time"
                },
                "seqId": {
                    "type": "integer",
                    "description": "Per-host sequence number"
                },
                "uuid": {
                    "type": "string",
                    "description": "Unique event identifier",
                    "format": "uuid5-hex",
                    "required": true
                },
                "userAgent": {
                    "type": "any",
                    "description": "User agent (parsed into an object by the processor)"
                },
                "ip": {
                    "type": "string",
                    "description": "Client IP address (X-Client-IP)"
                }
            },
            "additionalProperties": false
        })
    })
}

/// Encapsulates a draft-3 event schema: a deep copy of [`capsule_schema`] whose
/// `properties.event` is replaced by `inner`, with `additionalProperties: false` added at the
/// top level of `inner` if it is an object without that key. Nested objects of `inner` are left
/// alone. The result is still draft 3.
pub fn encapsulate(inner: &Value) -> Value {
    let mut event = inner.clone();
    if let Value::Object(event) = &mut event {
        event
            .entry("additionalProperties")
            .or_insert(Value::Bool(false));
    }
    let mut capsule = capsule_schema().clone();
    if let Some(Value::Object(properties)) = capsule.get_mut("properties") {
        properties.insert("event".to_owned(), event);
    }
    capsule
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capsule_has_the_reference_fields_and_requirements() {
        let capsule = capsule_schema();
        let Some(Value::Object(properties)) = capsule.get("properties") else {
            panic!("capsule has properties");
        };
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "dt",
                "event",
                "ip",
                "recvFrom",
                "revision",
                "schema",
                "seqId",
                "timestamp",
                "topic",
                "userAgent",
                "uuid",
                "webHost",
                "wiki"
            ]
        );
        let required: Vec<&str> = properties
            .iter()
            .filter(|(_, schema)| schema.get("required") == Some(&Value::Bool(true)))
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            required,
            ["event", "recvFrom", "revision", "schema", "uuid", "wiki"]
        );
        assert_eq!(capsule["additionalProperties"], json!(false));
        assert_eq!(properties["userAgent"]["type"], json!("any"));
        assert_eq!(properties["timestamp"]["type"], json!("number"));
    }

    #[test]
    fn encapsulate_replaces_event_and_defaults_additional_properties() {
        let inner = json!({"properties": {"a": {"type": "string"}}});
        let capsule = encapsulate(&inner);
        assert_eq!(
            capsule["properties"]["event"],
            json!({"properties": {"a": {"type": "string"}}, "additionalProperties": false})
        );
        // Everything else is the capsule, untouched.
        assert_eq!(
            capsule["properties"]["wiki"],
            capsule_schema()["properties"]["wiki"]
        );
        assert_eq!(capsule["additionalProperties"], json!(false));
        // The original capsule is not modified.
        assert_eq!(
            capsule_schema()["properties"]["event"]["type"],
            json!("object")
        );
    }

    #[test]
    fn encapsulate_keeps_an_explicit_additional_properties() {
        let inner = json!({"properties": {}, "additionalProperties": true});
        assert_eq!(
            encapsulate(&inner)["properties"]["event"]["additionalProperties"],
            json!(true)
        );
        let inner = json!({"additionalProperties": {"type": "integer"}});
        assert_eq!(
            encapsulate(&inner)["properties"]["event"]["additionalProperties"],
            json!({"type": "integer"})
        );
    }

    #[test]
    fn encapsulate_does_not_touch_nested_objects() {
        let inner = json!({"properties": {"nested": {"type": "object", "properties": {"x": {"type": "string"}}}}});
        let capsule = encapsulate(&inner);
        assert_eq!(
            capsule["properties"]["event"]["properties"]["nested"],
            json!({"type": "object", "properties": {"x": {"type": "string"}}})
        );
    }
}
