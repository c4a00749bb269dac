//! Legacy capsule -> Event Platform event (reference eventgate.md §6.2-6.4): a capsule of schema
//! `Name` becomes an `analytics/legacy/<lowercase name>` event on stream `eventlogging_<Name>`.
//!
//! The capsule is taken after legacy enrichment (uuid, dt, recvFrom, seqId, ip, parsed
//! userAgent). The event keeps `event`, `schema`, `wiki` and `webHost`; `$schema` and
//! `meta.stream` are set; `dt` (receive time) and `client_dt` come from the capsule's `dt`; the
//! capsule's optional fields (`revision`, `recvFrom`, `seqId`, `uuid`, `topic`, `ip`, `timestamp`)
//! are kept only where the target schema declares them; the parsed user agent moves to
//! `useragent` (when declared) and the raw one to `http.request_headers.user-agent`.

use serde_json::{Map, Value};

use super::enrich::SchemaShape;
use super::set_if_absent;

/// Where a converted legacy event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionTarget {
    /// `$schema`, e.g. `/analytics/legacy/searchsatisfaction/1.0.0`.
    pub schema_uri: String,
    /// Stream, e.g. `eventlogging_SearchSatisfaction`.
    pub stream: String,
}

impl ConversionTarget {
    /// The target of schema `name` at `version` (a semver, or `latest`).
    pub fn for_schema(name: &str, version: &str) -> Self {
        ConversionTarget {
            schema_uri: format!("/analytics/legacy/{}/{version}", name.to_lowercase()),
            stream: format!("eventlogging_{name}"),
        }
    }
}

const OPTIONAL_FIELDS: [&str; 8] = [
    "revision",
    "recvFrom",
    "seqId",
    "uuid",
    "topic",
    "ip",
    "timestamp",
    "webHost",
];

/// Converts `capsule` for `target`. `schema_id` is the resolved schema's `$id` (a concrete
/// version even when `latest` was asked for); `raw_user_agent` the user agent without quotes.
pub fn convert(
    mut capsule: Map<String, Value>,
    target: &ConversionTarget,
    schema_id: Option<&str>,
    schema: &dyn SchemaShape,
    raw_user_agent: Option<&str>,
) -> Map<String, Value> {
    let mut event = Map::new();
    for key in ["event", "schema", "wiki"] {
        if let Some(value) = capsule.remove(key) {
            event.insert(key.to_owned(), value);
        }
    }
    for key in OPTIONAL_FIELDS {
        if let Some(value) = capsule.remove(key) {
            if schema.declares(&format!("/{key}")) {
                event.insert(key.to_owned(), value);
            }
        }
    }
    event.insert(
        "$schema".into(),
        Value::from(schema_id.unwrap_or(&target.schema_uri)),
    );
    let mut meta = Map::new();
    meta.insert("stream".into(), Value::from(target.stream.as_str()));
    event.insert("meta".into(), Value::Object(meta));
    if let Some(dt) = capsule.remove("dt") {
        if schema.declares("/meta/dt") {
            set_if_absent(&mut event, "/meta/dt", dt.clone());
        }
        if schema.declares("/client_dt") {
            event.insert("client_dt".into(), dt.clone());
        }
        if schema.declares("/dt") {
            event.insert("dt".into(), dt);
        }
    }
    if let Some(uuid) = event
        .get("uuid")
        .and_then(Value::as_str)
        .map(super::hyphenate_uuid)
    {
        if schema.declares("/meta/id") {
            set_if_absent(&mut event, "/meta/id", Value::from(uuid));
        }
    }
    if let Some(domain) = event.get("webHost").cloned() {
        if schema.declares("/meta/domain") {
            set_if_absent(&mut event, "/meta/domain", domain);
        }
    }
    if let Some(Value::Object(ua)) = capsule.remove("userAgent") {
        if schema.declares("/useragent") {
            event.insert(
                "useragent".into(),
                super::useragent_object(Value::Object(ua)),
            );
        }
    }
    if let Some(ua) = raw_user_agent {
        if schema.declares("/http/request_headers/user-agent") {
            set_if_absent(
                &mut event,
                "/http/request_headers/user-agent",
                Value::from(
                    ua.chars()
                        .take(super::enrich::MAX_HEADER_VALUE_CHARS)
                        .collect::<String>(),
                ),
            );
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_platform::enrich::tests::Declared;
    use serde_json::json;

    #[test]
    fn targets() {
        let t = ConversionTarget::for_schema("SearchSatisfaction", "1.0.0");
        assert_eq!(t.schema_uri, "/analytics/legacy/searchsatisfaction/1.0.0");
        assert_eq!(t.stream, "eventlogging_SearchSatisfaction");
    }

    #[test]
    fn converts_a_tv3_capsule() {
        let capsule = json!({"dt": "2019-12-20T10:11:12Z", "event": {"eventId": 5}, "ip": "192.0.2.1", "recvFrom": "cp3030.esams.wmnet", "revision": 7731316, "schema": "Echo", "seqId": 12345678, "userAgent": {"browser_family": "Chrome"}, "uuid": "c30e6e3cd2785ebe8f7933b22114e742", "webHost": "en.wikipedia.org", "wiki": "enwiki", "timestamp": 1});
        let schema = Declared(
            vec![
                "/meta/dt",
                "/meta/id",
                "/meta/domain",
                "/dt",
                "/client_dt",
                "/revision",
                "/recvFrom",
                "/seqId",
                "/uuid",
                "/webHost",
                "/useragent",
                "/http/request_headers/user-agent",
            ],
            Some("analytics/legacy/echo"),
        );
        let target = ConversionTarget::for_schema("Echo", "latest");
        let event = convert(
            capsule.as_object().cloned().unwrap(),
            &target,
            Some("/analytics/legacy/echo/1.0.0"),
            &schema,
            Some("Mozilla/5.0"),
        );
        assert_eq!(
            Value::Object(event),
            json!({"$schema": "/analytics/legacy/echo/1.0.0", "client_dt": "2019-12-20T10:11:12Z", "dt": "2019-12-20T10:11:12Z",
                   "event": {"eventId": 5}, "http": {"request_headers": {"user-agent": "Mozilla/5.0"}},
                   "meta": {"domain": "en.wikipedia.org", "dt": "2019-12-20T10:11:12Z", "id": "c30e6e3c-d278-5ebe-8f79-33b22114e742", "stream": "eventlogging_Echo"},
                   "recvFrom": "cp3030.esams.wmnet", "revision": 7731316, "schema": "Echo", "seqId": 12345678,
                   "useragent": {"browser_family": "Chrome"}, "uuid": "c30e6e3cd2785ebe8f7933b22114e742", "webHost": "en.wikipedia.org", "wiki": "enwiki"})
        );
    }

    #[test]
    fn undeclared_optional_fields_are_dropped() {
        let capsule = json!({"event": {}, "schema": "Echo", "wiki": "w", "ip": "1.2.3.4", "revision": 1, "userAgent": {"a": 1}});
        let schema = Declared(vec![], None);
        let target = ConversionTarget::for_schema("Echo", "1.0.0");
        let event = convert(
            capsule.as_object().cloned().unwrap(),
            &target,
            None,
            &schema,
            None,
        );
        assert_eq!(
            Value::Object(event),
            json!({"$schema": "/analytics/legacy/echo/1.0.0", "event": {}, "meta": {"stream": "eventlogging_Echo"}, "schema": "Echo", "wiki": "w"})
        );
    }
}
