//! A `POST /v1/events` body into events: the content types EventGate parses
//! (`application/json`, `text/plain` as `navigator.sendBeacon` sends, `application/reports+json`;
//! any charset), `Content-Encoding: gzip` decoded up to a limit, then a JSON array of events or
//! one event.

use std::io::Read;

use axum::http::{header, HeaderMap, StatusCode};
use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::Value;

use super::answer::{Answer, EMPTY_BODY};
use crate::source::batch::BatchBuilder;

/// Limits on a body once received.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Decoded (gunzipped) bytes at most.
    pub max_decoded_bytes: usize,
    /// Events per request at most.
    pub max_events: usize,
}

/// The events of a body, each as compact JSON; `Err` is the answer to give instead.
pub fn events_of(
    headers: &HeaderMap,
    body: &[u8],
    limits: BodyLimits,
) -> Result<BatchBuilder, Answer> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        content_type.as_str(),
        "application/json" | "text/plain" | "application/reports+json"
    ) {
        // EventGate does not parse other types: their body is "empty" to it.
        return Err(Answer::problem(
            StatusCode::BAD_REQUEST,
            "No events",
            EMPTY_BODY,
        ));
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let decoded;
    let body = match encoding.as_str() {
        "identity" | "" => body,
        "gzip" | "x-gzip" => {
            decoded = gunzip(body, limits.max_decoded_bytes)?;
            decoded.as_slice()
        }
        other => {
            return Err(Answer::problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Content-Encoding",
                format!("Content-Encoding {other:?} is not supported (gzip or none)"),
            ))
        }
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Answer::problem(
            StatusCode::BAD_REQUEST,
            "No events",
            EMPTY_BODY,
        ));
    }
    let malformed = |e: serde_json::Error| {
        Answer::problem(
            StatusCode::BAD_REQUEST,
            "Malformed JSON",
            format!("the body is not valid JSON: {e}"),
        )
    };
    // The events are only checked to be well-formed and cut out of the body here, each kept
    // as the client wrote it (`RawValue`): the worker parses each event once, and a body is
    // never parsed into values twice.
    let events: Vec<&[u8]> = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice::<Vec<&RawValue>>(body)
            .map_err(malformed)?
            .into_iter()
            .map(|event| event.get().as_bytes())
            .collect(),
        Some(b'{') => {
            // `{}` is no event (EventGate); keys are counted without keeping values.
            let keys = serde_json::from_slice::<HashMap<String, IgnoredAny>>(body)
                .map_err(malformed)?
                .len();
            if keys == 0 {
                Vec::new()
            } else {
                vec![body]
            }
        }
        _ => {
            let other: Value = serde_json::from_slice(body).map_err(malformed)?;
            return Err(Answer::problem(
                StatusCode::BAD_REQUEST,
                "Not events",
                format!(
                    "the body must be a JSON array of events or one event object, found {}",
                    crate::json_kind::json_kind(&other)
                ),
            ));
        }
    };
    if events.is_empty() {
        return Err(Answer::problem(
            StatusCode::BAD_REQUEST,
            "No events",
            EMPTY_BODY,
        ));
    }
    if events.len() > limits.max_events {
        return Err(Answer::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too many events",
            format!(
                "{} events in one request; at most {} are accepted",
                events.len(),
                limits.max_events
            ),
        ));
    }
    let bytes = events.iter().map(|event| event.len()).sum();
    let mut lines = BatchBuilder::with_capacity(events.len(), bytes);
    for event in events {
        lines.push_line(event.trim_ascii(), None);
    }
    Ok(lines)
}

fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, Answer> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| {
            Answer::problem(
                StatusCode::BAD_REQUEST,
                "Malformed gzip",
                format!("the gzip body cannot be decoded: {e}"),
            )
        })?;
    if out.len() > max {
        return Err(Answer::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Body too large",
            format!("the body decompresses to more than {max} bytes"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LIMITS: BodyLimits = BodyLimits {
        max_decoded_bytes: 1000,
        max_events: 3,
    };

    fn json_headers(extra: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "text/plain;charset=UTF-8".parse().unwrap(),
        );
        for (k, v) in extra {
            h.insert(k.clone(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn arrays_objects_and_empty_bodies() {
        let h = json_headers(&[]);
        assert_eq!(
            events_of(&h, br#"[{"a":1},{"b":2}]"#, LIMITS)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            events_of(&h, br#"{"a":1}"#, LIMITS)
                .unwrap()
                .lines()
                .collect::<Vec<_>>(),
            [br#"{"a":1}"#]
        );
        for empty in [&b""[..], b"  ", b"[]", b"{}"] {
            let answer = events_of(&h, empty, LIMITS).unwrap_err();
            assert_eq!(
                (answer.status, answer.reason.as_str()),
                (StatusCode::BAD_REQUEST, EMPTY_BODY)
            );
        }
        assert_eq!(
            events_of(&h, b"[1,2", LIMITS).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            events_of(&h, b"\"x\"", LIMITS).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            events_of(&h, b"[{},{},{},{}]", LIMITS).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let mut other = HeaderMap::new();
        other.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert_eq!(
            events_of(&other, br#"{"a":1}"#, LIMITS).unwrap_err().reason,
            EMPTY_BODY
        );
    }

    #[test]
    fn gzip_is_decoded_within_the_limit() {
        let gz = |data: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        };
        let h = json_headers(&[(header::CONTENT_ENCODING, "gzip")]);
        assert_eq!(
            events_of(&h, &gz(br#"[{"a":1}]"#), LIMITS).unwrap().len(),
            1
        );
        let bomb = gz(&vec![b' '; 5000]);
        assert_eq!(
            events_of(&h, &bomb, LIMITS).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            events_of(&h, b"not gzip", LIMITS).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
