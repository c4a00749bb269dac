//! Event Platform events end to end through the per-line function: EventGate's test vectors
//! that fit a processor (eventgate.md §9: valid, invalid, bad `$schema`, unknown stream, title
//! mismatch, defaults filled, legacy conversion), on the sample repository
//! `config/event-schemas` and stream configuration `config/stream-config.yaml`.

use std::sync::Arc;

use serde_json::{json, Value};

use beacon_processor::app;
use beacon_processor::config::{ConvertSelection, LoadedConfig};
use beacon_processor::generate::encode_uri_component;
use beacon_processor::processor::Processor;
use beacon_processor::record::Outcome;

mod common;

const UA: &str = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36\"";

fn config() -> LoadedConfig {
    let mut loaded = LoadedConfig::defaults();
    loaded.file.schemas.legacy_dirs = vec![common::legacy_schemas().display().to_string()];
    loaded.file.schemas.event_repositories = vec![common::event_schemas().display().to_string()];
    loaded.file.streams.config = Some(common::stream_config().display().to_string());
    loaded
}

fn processor(loaded: &LoadedConfig) -> Arc<Processor> {
    match app::assemble(loaded, false) {
        Ok(a) => a.processor,
        Err(e) => panic!("{e}"),
    }
}

fn line_for(event: &Value) -> String {
    format!(
        "?{};\tcp3030.esams.wmnet\t12345678\t2019-12-20T10:11:12\t192.0.2.1\t{UA}",
        encode_uri_component(&event.to_string())
    )
}

/// Processes one line at a fixed time; returns the outcome, the topic and the output event.
fn run(p: &Processor, line: &str) -> (Outcome, String, Value) {
    common::process_line(p, line, 1_700_000_000_123_000)
}

fn assert_error(
    outcome: Outcome,
    topic: &str,
    event: &Value,
    reason: &'static str,
    error_type: &str,
) {
    assert_eq!(outcome, Outcome::Error { reason }, "{event}");
    assert_eq!(topic, "beacon-processor.error.validation");
    assert_eq!(event["$schema"], "/error/2.1.0");
    assert_eq!(event["meta"]["stream"], "beacon-processor.error.validation");
    assert_eq!(event["error_type"], error_type);
    assert_eq!(event["emitter_id"], "beacon-processor");
    assert!(event["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn valid_event_is_enriched_defaulted_and_routed_to_its_stream() {
    let p = processor(&config());
    let (outcome, topic, event) = run(
        &p,
        &line_for(&json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "test.event"}})),
    );
    assert_eq!(outcome, Outcome::Valid, "{event}");
    assert_eq!(topic, "test.event");
    // Enrichment: receive time from the line, a deterministic id, the schema default.
    assert_eq!(event["meta"]["dt"], "2019-12-20T10:11:12Z");
    assert_eq!(event["meta"]["id"], "c30e6e3c-d278-5ebe-8f79-33b22114e742");
    assert_eq!(event["test"], "default value");
    // Legacy capsule fields are not added to Event Platform events.
    assert!(
        event.get("uuid").is_none()
            && event.get("recvFrom").is_none()
            && event.get("userAgent").is_none()
    );
}

#[test]
fn explicit_values_are_not_overwritten() {
    let p = processor(&config());
    let (outcome, _, event) = run(
        &p,
        &line_for(
            &json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "test.event", "dt": "2020-01-01T00:00:00Z", "id": "x"}, "test": "mine"}),
        ),
    );
    assert_eq!(outcome, Outcome::Valid, "{event}");
    assert_eq!(event["meta"]["dt"], "2020-01-01T00:00:00Z");
    assert_eq!(event["meta"]["id"], "x");
    assert_eq!(event["test"], "mine");
}

#[test]
fn invalid_event_becomes_a_validation_error_event() {
    let p = processor(&config());
    let failed = json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "test.event"}, "test_map": {"k": 1}});
    let (outcome, topic, event) = run(&p, &line_for(&failed));
    assert_error(outcome, &topic, &event, "validation", "ValidationError");
    let message = event["message"].as_str().unwrap();
    assert!(message.starts_with("/test_map/k"), "{message}");
    assert_eq!(event["errored_schema_uri"], "/test/event/1.0.0");
    assert_eq!(event["errored_stream_name"], "test.event");
    // raw_event is the event as enriched.
    let raw: Value = serde_json::from_str(event["raw_event"].as_str().unwrap()).unwrap();
    assert_eq!(raw["meta"]["dt"], "2019-12-20T10:11:12Z");
}

#[test]
fn date_time_format_is_enforced() {
    let p = processor(&config());
    let (outcome, topic, event) = run(
        &p,
        &line_for(
            &json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "test.event", "dt": "2020-04-02 19:11:20"}}),
        ),
    );
    assert_error(outcome, &topic, &event, "validation", "ValidationError");
    assert!(
        event["message"].as_str().unwrap().starts_with("/meta/dt"),
        "{event}"
    );
}

#[test]
fn bad_schema_uri_is_an_error_event() {
    let p = processor(&config());
    let (outcome, topic, event) = run(
        &p,
        &line_for(&json!({"$schema": "bad/uri/right/here@@@", "meta": {"stream": "test.event"}})),
    );
    assert_error(outcome, &topic, &event, "schema_unknown", "SchemaLoadError");
    assert_eq!(event["errored_schema_uri"], "bad/uri/right/here@@@");
}

#[test]
fn absolute_schema_uris_from_events_are_refused() {
    let p = processor(&config());
    let (outcome, topic, event) = run(
        &p,
        &line_for(
            &json!({"$schema": "http://127.0.0.1:9/test/event/1.0.0", "meta": {"stream": "test.event"}}),
        ),
    );
    assert_error(
        outcome,
        &topic,
        &event,
        "schema_uri_refused",
        "SchemaLoadError",
    );
}

#[test]
fn unknown_stream_is_an_error_event() {
    let p = processor(&config());
    let (outcome, topic, event) = run(
        &p,
        &line_for(&json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "unknown.stream"}})),
    );
    assert_error(
        outcome,
        &topic,
        &event,
        "stream_unknown",
        "UnauthorizedSchemaForStreamError",
    );
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .ends_with("unknown.stream is not configured."),
        "{event}"
    );
    assert_eq!(event["errored_stream_name"], "unknown.stream");
}

#[test]
fn schema_title_must_match_the_stream() {
    let p = processor(&config());
    let (outcome, topic, event) = run(
        &p,
        &line_for(
            &json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "eventlogging_SearchSatisfaction"}}),
        ),
    );
    assert_error(
        outcome,
        &topic,
        &event,
        "schema_title_mismatch",
        "UnauthorizedSchemaForStreamError",
    );
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("schema title must be analytics/legacy/searchsatisfaction"),
        "{event}"
    );
}

#[test]
fn missing_stream_is_an_error_event() {
    let p = processor(&config());
    let (outcome, topic, event) = run(
        &p,
        &line_for(&json!({"$schema": "/test/event/1.0.0", "meta": {}})),
    );
    assert_error(
        outcome,
        &topic,
        &event,
        "stream_missing",
        "MissingFieldError",
    );
}

#[test]
fn topic_prefix_applies_except_to_eventlogging_streams() {
    let mut loaded = config();
    loaded.file.streams.topic_prefix = "eqiad.".to_owned();
    loaded.file.legacy.convert_to_event_platform = ConvertSelection::All(true);
    let p = processor(&loaded);
    let (outcome, topic, _) = run(
        &p,
        &line_for(&json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "test.event"}})),
    );
    assert_eq!(outcome, Outcome::Valid);
    assert_eq!(topic, "eqiad.test.event");
    let (outcome, topic, event) = run(
        &p,
        &line_for(&json!({"$schema": "/test/event/1.0.0", "meta": {"stream": "nope"}})),
    );
    assert!(matches!(outcome, Outcome::Error { .. }), "{event}");
    assert_eq!(topic, "eqiad.beacon-processor.error.validation");
}

const ECHO_Q: &str = "?%7B%22event%22%3A%7B%22version%22%3A%221.1%22%2C%22eventId%22%3A5%2C%22notificationType%22%3A%22edit-user-talk%22%2C%22notificationGroup%22%3A%22interactive%22%2C%22sender%22%3A%22123%22%2C%22recipientUserId%22%3A42%2C%22deliveryMethod%22%3A%22web%22%7D%2C%22revision%22%3A7731316%2C%22schema%22%3A%22Echo%22%2C%22webHost%22%3A%22en.wikipedia.org%22%2C%22wiki%22%3A%22enwiki%22%7D;";

#[test]
fn legacy_conversion_turns_a_capsule_into_an_analytics_legacy_event() {
    let mut loaded = config();
    loaded.file.legacy.convert_to_event_platform = ConvertSelection::All(true);
    let p = processor(&loaded);
    let line =
        format!("{ECHO_Q}\tcp3030.esams.wmnet\t12345678\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, topic, event) = run(&p, &line);
    assert_eq!(outcome, Outcome::Valid, "{event}");
    assert_eq!(topic, "eventlogging_Echo");
    assert!(
        event["$schema"]
            .as_str()
            .unwrap()
            .starts_with("/analytics/legacy/echo/"),
        "{event}"
    );
    assert_eq!(event["meta"]["stream"], "eventlogging_Echo");
    assert_eq!(event["meta"]["id"], "c30e6e3c-d278-5ebe-8f79-33b22114e742");
    assert_eq!(event["dt"], "2019-12-20T10:11:12Z");
    assert_eq!(event["client_dt"], "2019-12-20T10:11:12Z");
    assert_eq!(event["uuid"], "c30e6e3cd2785ebe8f7933b22114e742");
    assert_eq!(
        event["http"]["request_headers"]["user-agent"],
        UA.trim_matches('"')
    );
    assert_eq!(event["event"]["eventId"], 5);
    assert!(event.get("userAgent").is_none());

    // The same capsule with an extra event property fails against the converted schema.
    let bad = ECHO_Q.replace(
        "%22deliveryMethod%22%3A%22web%22",
        "%22deliveryMethod%22%3A%22web%22%2C%22bogus%22%3A1",
    );
    let line = format!("{bad}\tcp3030.esams.wmnet\t12345678\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, topic, event) = run(&p, &line);
    assert_error(outcome, &topic, &event, "validation", "ValidationError");
    assert_eq!(event["errored_stream_name"], "eventlogging_Echo");
}

#[test]
fn conversion_can_be_limited_to_some_schemas() {
    let mut loaded = config();
    loaded.file.legacy.convert_to_event_platform =
        ConvertSelection::Only(vec!["SearchSatisfaction".into()]);
    let p = processor(&loaded);
    let line =
        format!("{ECHO_Q}\tcp3030.esams.wmnet\t12345678\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, topic, event) = run(&p, &line);
    assert_eq!(outcome, Outcome::Valid, "{event}");
    // Echo is not converted: a legacy capsule on the legacy topic.
    assert_eq!(topic, "eventlogging_Echo");
    assert_eq!(event["uuid"], "c30e6e3cd2785ebe8f7933b22114e742");
    assert!(event.get("$schema").is_none());
}
