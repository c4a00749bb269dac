//! Enrichment before validation, the way EventGate does it (reference eventgate.md §5): each
//! field is set only if the event's schema declares it and the event does not already have it
//! (an explicit `null` is kept).

use std::borrow::Cow;

use beacon_parsers::json::{Document, NewValue, NodeId, NodeRef};
use serde_json::{Map, Value};

use super::set_if_absent;

/// Header-derived values are cut to this many characters, like EventGate.
pub const MAX_HEADER_VALUE_CHARS: usize = 400;

/// What enrichment needs to know about an event's schema.
pub trait SchemaShape {
    /// Whether the schema declares a property at `pointer` (e.g. `/meta/id`), or the property's
    /// parent is a map (`additionalProperties` schema) that admits it.
    fn declares(&self, pointer: &str) -> bool;
    /// The schema's `title`.
    fn title(&self) -> Option<&str>;
    /// Fills schema `default`s into objects of the event that lack them.
    fn apply_defaults(&self, event: &mut Value);
    /// [`apply_defaults`](Self::apply_defaults) to the value `node` of a parsed document.
    fn apply_defaults_to_document(&self, document: &mut Document, node: NodeId);
}

/// Facts about the request that carried the event, from the raw line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestFacts<'a> {
    /// The event's id (hyphenated uuid), for `meta.id`.
    pub event_id: Option<Cow<'a, str>>,
    /// Receive time, ISO-8601, for `meta.dt` (and `dt` of `analytics/legacy/*` events).
    pub received_dt: Option<&'a str>,
    /// The user agent, without varnishkafka's quotes.
    pub user_agent: Option<&'a str>,
    /// The client IP (`-` and empty mean unknown).
    pub client_ip: Option<&'a str>,
    /// The parsed user agent (the legacy 10-key object), for a declared `useragent` field.
    pub user_agent_object: Option<Value>,
    /// The request's id (`X-Request-ID`, or generated), for `meta.request_id` (HTTP intake).
    pub request_id: Option<&'a str>,
}

/// A value enrichment sets.
#[derive(Debug, Clone, Copy)]
enum Enrichment<'f> {
    Text(&'f str),
    Object(&'f Value),
}

/// A field enrichment sets, as a JSON pointer (for `Map`s) and as its path (for documents).
struct Field {
    pointer: &'static str,
    path: &'static [&'static str],
}

const META_ID: Field = Field {
    pointer: "/meta/id",
    path: &["meta", "id"],
};
const META_DT: Field = Field {
    pointer: "/meta/dt",
    path: &["meta", "dt"],
};
const META_REQUEST_ID: Field = Field {
    pointer: "/meta/request_id",
    path: &["meta", "request_id"],
};
const DT: Field = Field {
    pointer: "/dt",
    path: &["dt"],
};
const USER_AGENT_HEADER: Field = Field {
    pointer: "/http/request_headers/user-agent",
    path: &["http", "request_headers", "user-agent"],
};
const CLIENT_IP: Field = Field {
    pointer: "/http/client_ip",
    path: &["http", "client_ip"],
};
const USER_AGENT: Field = Field {
    pointer: "/useragent",
    path: &["useragent"],
};

/// Calls `set(field, value)` for every field enrichment sets when absent, in order, for an
/// event of `schema` received at `received`. Both kinds of event (a `Map` and a parsed
/// [`Document`]) are enriched from this one list.
fn enrichments<'f>(
    schema: &dyn SchemaShape,
    facts: &'f RequestFacts<'_>,
    received: &'f str,
    mut set: impl FnMut(&Field, Enrichment<'f>),
) {
    let mut set_declared = |field: &Field, value: Enrichment<'f>| {
        if schema.declares(field.pointer) {
            set(field, value);
        }
    };
    if let Some(id) = &facts.event_id {
        set_declared(&META_ID, Enrichment::Text(id));
    }
    set_declared(&META_DT, Enrichment::Text(received));
    if let Some(id) = facts.request_id {
        let id = truncate_chars(id, MAX_HEADER_VALUE_CHARS);
        set_declared(&META_REQUEST_ID, Enrichment::Text(id));
    }
    let legacy = schema
        .title()
        .is_some_and(|t| t.starts_with("analytics/legacy"));
    if legacy {
        set_declared(&DT, Enrichment::Text(received));
    }
    if let Some(ua) = facts.user_agent {
        let ua = truncate_chars(ua, MAX_HEADER_VALUE_CHARS);
        set_declared(&USER_AGENT_HEADER, Enrichment::Text(ua));
    }
    if let Some(ip) = facts.client_ip.filter(|ip| !ip.is_empty() && *ip != "-") {
        let ip = truncate_chars(ip, MAX_HEADER_VALUE_CHARS);
        set_declared(&CLIENT_IP, Enrichment::Text(ip));
    }
    if let Some(ua) = &facts.user_agent_object {
        set_declared(&USER_AGENT, Enrichment::Object(ua));
    }
}

/// The receive time, or `now_iso()` when it is unknown (formatted only then).
fn received_or_now<'f>(facts: &RequestFacts<'f>, now_iso: impl FnOnce() -> String) -> Cow<'f, str> {
    match facts.received_dt {
        Some(received) => Cow::Borrowed(received),
        None => Cow::Owned(now_iso()),
    }
}

/// Enriches `event` in place for `schema`; `now_iso` gives the time that stands in for a missing
/// receive time (formatted only then).
pub fn enrich(
    event: &mut Map<String, Value>,
    schema: &dyn SchemaShape,
    facts: &RequestFacts<'_>,
    now_iso: impl FnOnce() -> String,
) {
    let received = received_or_now(facts, now_iso);
    enrichments(schema, facts, &received, |field, value| {
        let value = match value {
            Enrichment::Text(text) => Value::from(text),
            Enrichment::Object(object) => object.clone(),
        };
        set_if_absent(event, field.pointer, value);
    });
    let mut whole = Value::Object(std::mem::take(event));
    schema.apply_defaults(&mut whole);
    if let Value::Object(map) = whole {
        *event = map;
    }
}

/// [`enrich`] for an event parsed into `document` (its top-level value): the same members are
/// added in the same places.
pub fn enrich_document(
    document: &mut Document,
    schema: &dyn SchemaShape,
    facts: &RequestFacts<'_>,
    now_iso: impl FnOnce() -> String,
) {
    let received = received_or_now(facts, now_iso);
    enrichments(schema, facts, &received, |field, value| {
        let value = match value {
            Enrichment::Text(text) => NewValue::String(text),
            Enrichment::Object(object) => NewValue::Value(object),
        };
        document.set_if_absent(field.path, value);
    });
    if let Some(root) = document.root().map(NodeRef::id) {
        schema.apply_defaults_to_document(document, root);
    }
}

impl SchemaShape for crate::validation::EventSchema {
    fn declares(&self, pointer: &str) -> bool {
        crate::validation::EventSchema::declares(self, pointer)
    }
    fn title(&self) -> Option<&str> {
        crate::validation::EventSchema::title(self)
    }
    fn apply_defaults(&self, event: &mut Value) {
        crate::validation::EventSchema::apply_defaults(self, event);
    }
    fn apply_defaults_to_document(&self, document: &mut Document, node: NodeId) {
        crate::validation::EventSchema::apply_defaults_to_document(self, document, node);
    }
}

fn truncate_chars(text: &str, max: usize) -> &str {
    // No more bytes than `max` is no more characters: the common case, without counting.
    if text.len() <= max {
        return text;
    }
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A schema shape from a list of declared pointers.
    pub(crate) struct Declared(pub Vec<&'static str>, pub Option<&'static str>);

    impl SchemaShape for Declared {
        fn declares(&self, pointer: &str) -> bool {
            self.0.contains(&pointer)
        }
        fn title(&self) -> Option<&str> {
            self.1
        }
        fn apply_defaults(&self, event: &mut Value) {
            if self.0.contains(&"/test") {
                if let Some(map) = event.as_object_mut() {
                    map.entry("test").or_insert(json!("default value"));
                }
            }
        }
        fn apply_defaults_to_document(&self, document: &mut Document, node: NodeId) {
            if self.0.contains(&"/test") {
                document.member_or_insert(node, "test", NewValue::String("default value"));
            }
        }
    }

    /// [`enrich`], checking that [`enrich_document`] gives the same event.
    fn enrich_both(
        event: &mut Map<String, Value>,
        schema: &Declared,
        facts: &RequestFacts<'_>,
        now_iso: impl Fn() -> String,
    ) {
        let mut document = Document::new();
        assert!(document.parse(&Value::Object(event.clone()).to_string()));
        enrich_document(&mut document, schema, facts, &now_iso);
        enrich(event, schema, facts, now_iso);
        assert_eq!(
            document.root().map(NodeRef::to_value),
            Some(Value::Object(event.clone()))
        );
    }

    fn facts() -> RequestFacts<'static> {
        RequestFacts {
            event_id: Some("c30e6e3c-d278-5ebe-8f79-33b22114e742".into()),
            received_dt: Some("2019-12-20T10:11:12Z"),
            user_agent: Some("Mozilla/5.0"),
            client_ip: Some("192.0.2.1"),
            user_agent_object: Some(json!({"browser_family": "Other"})),
            request_id: Some("req-1"),
        }
    }

    #[test]
    fn the_request_id_fills_meta_request_id_when_declared() {
        let mut event = json!({"meta": {"stream": "s"}})
            .as_object()
            .cloned()
            .unwrap();
        enrich_both(
            &mut event,
            &Declared(vec!["/meta/request_id"], None),
            &facts(),
            || "2020-01-01T00:00:00.000Z".to_owned(),
        );
        assert_eq!(event["meta"]["request_id"], json!("req-1"));
        let mut event = json!({"meta": {"stream": "s"}})
            .as_object()
            .cloned()
            .unwrap();
        enrich_both(&mut event, &Declared(vec![], None), &facts(), || {
            "now".to_owned()
        });
        assert!(event["meta"].get("request_id").is_none());
    }

    #[test]
    fn only_declared_and_absent_fields_are_set() {
        let schema = Declared(
            vec![
                "/meta/id",
                "/meta/dt",
                "/dt",
                "/http/request_headers/user-agent",
                "/test",
            ],
            Some("test/event"),
        );
        let mut event =
            json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "s", "dt": null}})
                .as_object()
                .cloned()
                .unwrap();
        enrich_both(&mut event, &schema, &facts(), || {
            "2030-01-01T00:00:00Z".to_owned()
        });
        assert_eq!(
            Value::Object(event),
            json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "s", "dt": null, "id": "c30e6e3c-d278-5ebe-8f79-33b22114e742"},
                   "http": {"request_headers": {"user-agent": "Mozilla/5.0"}}, "test": "default value"})
        );
    }

    #[test]
    fn legacy_schemas_get_dt_client_ip_and_useragent() {
        let schema = Declared(
            vec!["/meta/dt", "/dt", "/http/client_ip", "/useragent"],
            Some("analytics/legacy/test"),
        );
        let mut event = Map::new();
        let mut f = facts();
        f.received_dt = None;
        enrich_both(&mut event, &schema, &f, || {
            "2030-01-01T00:00:00Z".to_owned()
        });
        assert_eq!(event["dt"], "2030-01-01T00:00:00Z");
        assert_eq!(event["meta"]["dt"], "2030-01-01T00:00:00Z");
        assert_eq!(event["http"]["client_ip"], "192.0.2.1");
        assert_eq!(event["useragent"]["browser_family"], "Other");
    }

    #[test]
    fn header_values_are_cut_at_400_chars() {
        let schema = Declared(vec!["/http/request_headers/user-agent"], None);
        let long = "é".repeat(500);
        let mut f = facts();
        f.user_agent = Some(&long);
        let mut event = Map::new();
        enrich_both(&mut event, &schema, &f, || "now".to_owned());
        assert_eq!(
            event["http"]["request_headers"]["user-agent"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            400
        );
    }
}
