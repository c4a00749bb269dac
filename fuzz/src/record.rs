//! The `process_line` target: the whole line -> record function, `Worker::process_line`, with
//! the processor assembled from the repository's sample configuration
//! (`config/beacon-processor.yaml`: production format, the sample legacy schemas, the sample Event
//! Platform schema repository and stream configuration, no remote schema fetching).
//!
//! Every input must give exactly one record whose payload is a JSON object: an error event on
//! an error topic exactly when the outcome is an error, a valid legacy capsule (with its uuid) or
//! a valid Event Platform event otherwise. An input with newlines is also processed as a batch of
//! lines, which must give one such record per line.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use beacon_processor::app;
use beacon_processor::clock::Clock;
use beacon_processor::config;
use beacon_processor::processor::Processor;
use beacon_processor::record::{Outcome, OutputRecord};
use serde_json::{Map, Value};

/// Topic of legacy error events (`routing.error_topic` of the sample configuration).
pub const LEGACY_ERROR_TOPIC: &str = "eventlogging_EventError";

/// Stream of Event Platform error events (`streams.error_stream` of the sample configuration).
pub const EVENT_PLATFORM_ERROR_STREAM: &str = "beacon-processor.error.validation";

/// The fixed processing time (2026-11-01T00:00:00Z), so a record depends on its input only.
pub const CLOCK: Clock = Clock {
    unix_micros: 1_793_491_200_000_000,
};

/// The processor of the sample configuration, assembled once per fuzzing process.
pub fn processor() -> Arc<Processor> {
    static PROCESSOR: OnceLock<Arc<Processor>> = OnceLock::new();
    PROCESSOR
        .get_or_init(|| {
            let path =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/beacon-processor.yaml");
            let loaded = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            match app::assemble(&loaded, false) {
                Ok(assembled) => assembled.processor,
                Err(e) => panic!("the sample configuration does not assemble: {e}"),
            }
        })
        .clone()
}

/// The `process_line` target.
pub fn check_process_line(data: &[u8]) {
    let processor = processor();
    let mut worker = processor.worker();
    let record = worker.process_line(data, None, CLOCK);
    check_record(&record, data);
    if data.contains(&b'\n') {
        let lines: Vec<&[u8]> = data.split(|&byte| byte == b'\n').collect();
        let records = worker
            .process_batch(lines.iter().map(|line| (*line, None)), CLOCK)
            .to_owned_records();
        assert_eq!(records.len(), lines.len(), "one record per line of a batch");
        for (record, line) in records.iter().zip(&lines) {
            check_record(record, line);
        }
    }
}

/// One record is a JSON object of the right kind on the right topic.
pub fn check_record(record: &OutputRecord, raw: &[u8]) {
    let payload: Value = serde_json::from_slice(&record.payload).unwrap_or_else(|e| {
        panic!(
            "payload of {:?} is not JSON ({e}): {:?}",
            String::from_utf8_lossy(raw),
            String::from_utf8_lossy(&record.payload)
        )
    });
    let Value::Object(event) = payload else {
        panic!("payload is not a JSON object: {payload}");
    };
    let error_topic =
        record.topic == LEGACY_ERROR_TOPIC || record.topic == EVENT_PLATFORM_ERROR_STREAM;
    match record.outcome {
        Outcome::Error { reason } => {
            assert!(!reason.is_empty());
            assert!(error_topic, "error event on topic {:?}", record.topic);
            if record.topic == LEGACY_ERROR_TOPIC {
                check_legacy_error(&event);
            } else {
                check_event_platform_error(&event);
            }
        }
        Outcome::Valid => {
            assert!(
                !error_topic,
                "valid event on error topic {:?}",
                record.topic
            );
            if event.contains_key("$schema") {
                let stream = event
                    .get("meta")
                    .and_then(|meta| meta.get("stream"))
                    .and_then(Value::as_str);
                assert!(
                    stream.is_some_and(|s| !s.is_empty()),
                    "no meta.stream: {event:?}"
                );
            } else {
                assert!(record.topic.starts_with("eventlogging_"));
                let uuid = event
                    .get("uuid")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                assert!(
                    uuid.len() == 32 && uuid.bytes().all(|b| b.is_ascii_hexdigit()),
                    "bad uuid {uuid:?}"
                );
            }
        }
        Outcome::Copy => panic!("the worker made a copy: copies come from the output routes"),
    }
}

/// An EventError capsule: schema `EventError` with a non-empty message.
fn check_legacy_error(event: &Map<String, Value>) {
    assert_eq!(
        event.get("schema").and_then(Value::as_str),
        Some("EventError")
    );
    let message = event
        .get("event")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str);
    assert!(
        message.is_some_and(|m| !m.is_empty()),
        "no message: {event:?}"
    );
}

/// An EventGate `/error/2.1.0` event with a type and a message.
fn check_event_platform_error(event: &Map<String, Value>) {
    assert_eq!(
        event.get("$schema").and_then(Value::as_str),
        Some("/error/2.1.0")
    );
    let error_type = event.get("error_type").and_then(Value::as_str);
    assert!(
        error_type.is_some_and(|t| !t.is_empty()),
        "no error_type: {event:?}"
    );
    assert!(event.get("message").is_some_and(Value::is_string));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_log_line_is_a_valid_event() {
        let line = "?%7B%22event%22%3A%7B%22version%22%3A%221.1%22%2C%22eventId%22%3A5%2C%22notificationType%22%3A%22edit-user-talk%22%2C%22notificationGroup%22%3A%22interactive%22%2C%22sender%22%3A%22123%22%2C%22recipientUserId%22%3A42%2C%22deliveryMethod%22%3A%22web%22%7D%2C%22revision%22%3A7731316%2C%22schema%22%3A%22Echo%22%2C%22webHost%22%3A%22en.wikipedia.org%22%2C%22wiki%22%3A%22enwiki%22%7D;\tcp3030.esams.wmnet\t12345678\t2019-12-20T10:11:12\t192.0.2.1\t\"Mozilla/5.0\"";
        let processor = processor();
        let record = processor
            .worker()
            .process_line(line.as_bytes(), None, CLOCK);
        assert_eq!(record.outcome, Outcome::Valid);
        assert_eq!(record.topic, "eventlogging_Echo");
        check_record(&record, line.as_bytes());
        check_process_line(format!("{line}\nnot a line\n").as_bytes());
    }
}
