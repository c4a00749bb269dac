//! What the status page shows: rates over the last seconds, per-schema counts, top error
//! reasons, recent error samples and Kafka lag, as the JSON of `GET /api/status`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::record::{ErrorSample, Tally, UNKNOWN_SCHEMA};

/// Recent error samples kept.
const RECENT_ERRORS: usize = 20;
/// Characters of a raw event shown.
const RAW_EVENT_CHARS: usize = 300;
/// Characters of an error message shown.
const MESSAGE_CHARS: usize = 500;
/// Rates are computed over about this window.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Counts at one moment, for rates.
#[derive(Debug, Clone)]
struct Sample {
    at: Instant,
    lines: u64,
    valid: u64,
    invalid: u64,
    schemas_valid: BTreeMap<String, u64>,
}

/// An error sample with the time it was delivered.
#[derive(Debug, Clone)]
struct RecentError {
    at: String,
    sample: ErrorSample,
}

/// Rate samples and recent errors.
#[derive(Debug, Default)]
pub struct StatusBoard {
    samples: Mutex<VecDeque<Sample>>,
    recent: Mutex<VecDeque<RecentError>>,
}

/// What the status needs besides the board.
pub struct StatusInputs<'a> {
    /// Delivered totals.
    pub totals: &'a Tally,
    /// Seconds since start.
    pub uptime: Duration,
    /// Readiness.
    pub ready: bool,
    /// Source kind.
    pub source: &'a str,
    /// Sink kind.
    pub sink: &'a str,
    /// Kafka lag per (topic, partition).
    pub lag: &'a BTreeMap<(String, i32), i64>,
}

impl StatusBoard {
    /// Keeps an error sample as one of the recent errors.
    pub fn push_error(&self, sample: &ErrorSample) {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() >= RECENT_ERRORS {
            recent.pop_back();
        }
        recent.push_front(RecentError {
            at: crate::clock::Clock::now().iso(),
            sample: sample.clone(),
        });
    }

    /// The status JSON.
    pub fn status(&self, inputs: &StatusInputs<'_>) -> Value {
        let totals = inputs.totals;
        let lines = totals.total_lines();
        let invalid = totals.total_errors();
        let now = Sample {
            at: Instant::now(),
            lines,
            valid: totals.valid,
            invalid,
            schemas_valid: totals
                .schemas
                .iter()
                .map(|(name, counts)| (name.clone(), counts.valid))
                .collect(),
        };
        let base = self.remember(&now);
        let seconds = now.at.saturating_duration_since(base.at).as_secs_f64();
        let rate = |current: u64, before: u64| {
            if seconds > 0.0 {
                current.saturating_sub(before) as f64 / seconds
            } else {
                0.0
            }
        };
        let schemas: Vec<Value> = totals
            .schemas
            .iter()
            .map(|(name, counts)| {
                let before = base.schemas_valid.get(name).copied().unwrap_or(0);
                json!({
                    "schema": name,
                    "valid": counts.valid,
                    "invalid": counts.errors.values().sum::<u64>(),
                    "valid_per_second": rate(counts.valid, before),
                })
            })
            .collect();
        let mut reasons: Vec<(&str, u64)> = totals.errors.iter().map(|(r, n)| (*r, *n)).collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let recent: Vec<Value> = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|e| {
                let described = describe_error(&e.sample.payload);
                json!({
                    "at": e.at,
                    "reason": e.sample.reason,
                    "schema": e.sample.schema.as_deref().unwrap_or(UNKNOWN_SCHEMA),
                    "message": described.message,
                    "raw_event": described.raw_event,
                    "decoded_event": described.decoded_event,
                })
            })
            .collect();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": inputs.uptime.as_secs_f64(),
            "ready": inputs.ready,
            "source": inputs.source,
            "sink": inputs.sink,
            "totals": {"lines": lines, "valid": totals.valid, "invalid": invalid},
            "rates": {
                "lines_per_second": rate(lines, base.lines),
                "valid_per_second": rate(totals.valid, base.valid),
                "invalid_per_second": rate(invalid, base.invalid),
            },
            "error_rate": if lines > 0 { invalid as f64 / lines as f64 } else { 0.0 },
            "schemas": schemas,
            "error_reasons": reasons
                .iter()
                .map(|(reason, count)| json!({"reason": reason, "count": count}))
                .collect::<Vec<_>>(),
            "recent_errors": recent,
            "lag": inputs
                .lag
                .iter()
                .map(|((topic, partition), lag)| json!({"topic": topic, "partition": partition, "lag": lag}))
                .collect::<Vec<_>>(),
            "topics": totals
                .topics
                .iter()
                .map(|(topic, events)| json!({"topic": topic, "events": events}))
                .collect::<Vec<_>>(),
        })
    }

    /// Stores `now` and returns the oldest sample within the rate window (or `now` itself).
    fn remember(&self, now: &Sample) -> Sample {
        let mut samples = self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while samples.len() > 1
            && samples
                .get(1)
                .is_some_and(|s| now.at.saturating_duration_since(s.at) >= RATE_WINDOW)
        {
            samples.pop_front();
        }
        let base = samples.front().cloned().unwrap_or_else(|| now.clone());
        if samples.back().is_none_or(|last| {
            now.at.saturating_duration_since(last.at) >= Duration::from_millis(500)
        }) {
            samples.push_back(now.clone());
        }
        base
    }
}

/// What an error event says, for people: its message and raw event (cut short), and for a
/// logged line, the line's capsule percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDescription {
    /// The error message.
    pub message: String,
    /// The raw event as the error event holds it.
    pub raw_event: String,
    /// The raw line's query string decoded (the capsule as JSON text), when it is a logged
    /// line whose query decodes; `None` otherwise.
    pub decoded_event: Option<String>,
}

/// Describes an error event: an EventError capsule (`event.message`, `event.rawEvent`) or an
/// EventGate error event (`message`, `raw_event`); its JSON is read once.
pub fn describe_error(payload: &[u8]) -> ErrorDescription {
    let parsed: Map<String, Value> = serde_json::from_slice(payload).unwrap_or_default();
    let field = |outer: &str, inner: &str| -> Option<&str> {
        parsed
            .get(outer)
            .and_then(|v| {
                if inner.is_empty() {
                    Some(v)
                } else {
                    v.get(inner)
                }
            })
            .and_then(Value::as_str)
    };
    let message = field("event", "message")
        .or_else(|| field("message", ""))
        .unwrap_or("(error event not readable: it was cut short)");
    let raw = field("event", "rawEvent")
        .or_else(|| field("raw_event", ""))
        .unwrap_or_default();
    ErrorDescription {
        message: cut(message, MESSAGE_CHARS),
        raw_event: cut(raw, RAW_EVENT_CHARS),
        decoded_event: decoded_line(raw),
    }
}

/// A logged line's capsule: its query string (`?%7B...;`, up to the first field separator)
/// percent-decoded and cut short.
fn decoded_line(raw: &str) -> Option<String> {
    let query = raw.split(['\t', ' ', '\n']).next()?;
    if !query.starts_with('?') || !query.contains('%') {
        return None;
    }
    let decoded = beacon_parsers::qson::decode(query).ok()?;
    Some(cut(&decoded, RAW_EVENT_CHARS))
}

/// `text` cut to `chars` characters, with `…` when something was cut.
pub fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or_default()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_descriptions_of_both_generations() {
        let legacy = br#"{"event":{"message":"bad","rawEvent":"line"},"schema":"EventError"}"#;
        let described = describe_error(legacy);
        assert_eq!(
            (described.message.as_str(), described.raw_event.as_str()),
            ("bad", "line")
        );
        let platform = br#"{"message":"m","raw_event":"r","error_type":"ValidationError"}"#;
        let described = describe_error(platform);
        assert_eq!(
            (described.message.as_str(), described.raw_event.as_str()),
            ("m", "r")
        );
        let long = format!(r#"{{"message":"m","raw_event":"{}"}}"#, "é".repeat(400));
        let raw = describe_error(long.as_bytes()).raw_event;
        assert_eq!(raw.chars().count(), RAW_EVENT_CHARS + 1);
        assert!(raw.ends_with('…'));
        assert_eq!(describe_error(b"{\"event\":{\"mess").raw_event, "");
    }

    #[test]
    fn a_legacy_raw_event_is_shown_decoded() {
        let legacy =
            br#"{"event":{"message":"bad","rawEvent":"?%7B%22a%22%3A%22b+c%22%7D;\tcp1\t1"}}"#;
        assert_eq!(
            describe_error(legacy).decoded_event.as_deref(),
            Some(r#"{"a":"b c"}"#)
        );
        let plain = br#"{"event":{"message":"bad","rawEvent":"garbage"}}"#;
        assert_eq!(describe_error(plain).decoded_event, None);
        let broken = br#"{"event":{"message":"bad","rawEvent":"?%7B%C3%28;"}}"#;
        assert_eq!(describe_error(broken).decoded_event, None);
    }
}
