//! The `qson_decode` target: QSON decoding of the `%q` field, then capsule JSON parsing.
//!
//! - decoding agrees with `application/x-www-form-urlencoded` decoding (`form_urlencoded`, which
//!   replaces invalid UTF-8 where QSON decoding fails) on input without `&` and `=`;
//! - a borrowed result is the trimmed input itself, an owned one is never longer;
//! - `parse_value` and `parse_object` agree, and their errors render;
//! - a text the processor's reusable `Document` accepts is one serde_json accepts, with the same
//!   value and the same bytes written out;
//! - a parsed object survives `encodeURIComponent(JSON.stringify(object))` and decoding again.

use std::borrow::Cow;

use beacon_parsers::json::{self, JsonError};
use beacon_parsers::qson::{self, encode_uri_component, QsonError};
use serde_json::Value;

/// The `qson_decode` target.
pub fn check_qson(data: &[u8]) {
    let captured = String::from_utf8_lossy(data);
    let trimmed = captured.trim_matches(|c| c == '?' || c == ';');
    let decoded = qson::decode(&captured);
    match &decoded {
        Ok(Cow::Borrowed(text)) => {
            assert_eq!(*text, trimmed);
            assert!(!text.contains(['%', '+']));
        }
        Ok(Cow::Owned(text)) => assert!(text.len() <= trimmed.len()),
        Err(QsonError::InvalidUtf8 { byte_offset }) => {
            assert!(*byte_offset < trimmed.len());
            assert!(!decoded_error_message(&decoded).is_empty());
        }
    }
    if !trimmed.contains(['&', '=']) {
        check_against_form_urlencoded(trimmed, &decoded);
    }
    if let Ok(text) = decoded {
        check_json(&text);
    }
}

fn decoded_error_message(decoded: &Result<Cow<'_, str>, QsonError>) -> String {
    decoded
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// `form_urlencoded` decodes `+` and `%XX` the same way, then replaces invalid UTF-8 (U+FFFD).
fn check_against_form_urlencoded(trimmed: &str, decoded: &Result<Cow<'_, str>, QsonError>) {
    let form = form_urlencoded::parse(trimmed.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default();
    match decoded {
        Ok(text) => assert_eq!(text.as_ref(), form, "QSON and form_urlencoded disagree"),
        Err(QsonError::InvalidUtf8 { byte_offset }) => assert!(
            form.get(*byte_offset..)
                .is_some_and(|rest| rest.starts_with('\u{fffd}')),
            "invalid UTF-8 reported at byte {byte_offset}, form_urlencoded gives {form:?}"
        ),
    }
}



/// Parses decoded capsule text both ways and checks that they agree.
pub fn check_json(text: &str) {
    check_document(text);
    let value = json::parse_value(text);
    let object = json::parse_object(text);
    match (&value, &object) {
        (Ok(Value::Object(expected)), Ok(found)) => assert_eq!(expected, found),
        (Ok(other), Err(JsonError::NotObject { found })) => assert_eq!(*found, json::json_kind(other)),
        (Err(value_error), Err(object_error)) => {
            assert_eq!(value_error, object_error);
            assert!(!object_error.to_string().is_empty());
        }
        _ => panic!("parse_value {value:?} and parse_object {object:?} disagree on {text:?}"),
    }
    if let Ok(object) = object {
        let Ok(json) = serde_json::to_string(&object) else {
            panic!("a parsed object does not serialise: {object:?}");
        };
        let captured = format!("?{};", encode_uri_component(&json));
        assert_eq!(qson::decode(&captured).as_deref(), Ok(json.as_str()));
        assert_eq!(
            json::parse_object(&json),
            Ok(object),
            "the object changed through serialisation: {json}"
        );
    }
}

/// A document parse of `text` (into a document that held another text before) means what
/// serde_json means: accepted only if serde_json accepts it, the same value, the same bytes.
fn check_document(text: &str) {
    let mut document = json::Document::new();
    document.parse(r#"{"earlier":["text",1e5,{"k":"\u00e9"}]}"#);
    if !document.parse(text) {
        return;
    }
    let Some(root) = document.root() else {
        panic!("a parsed document has no root: {text:?}");
    };
    let expected: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => panic!("the document accepted what serde_json rejects ({error}): {text:?}"),
    };
    assert_eq!(root.to_value(), expected, "document value of {text:?}");
    let mut written = Vec::new();
    root.write_json(&mut written);
    assert_eq!(
        String::from_utf8_lossy(&written),
        expected.to_string(),
        "document bytes of {text:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples_pass_the_checks() {
        // Reference §2.2 and TV-16.
        check_qson(b"?%7B%22a%22%3A%22b+c%2Bd%22%7D;");
        check_qson(b"?;{};?");
        check_qson(b"?%7B%22a%22%3A%22%C3%28%22%7D;");
        check_qson(b"?%7B%22a%22%3A%22%ZZ%22%7D;");
        assert_eq!(
            encode_uri_component("{\"a\":\"\u{2606}\"}"),
            "%7B%22a%22%3A%22%E2%98%86%22%7D"
        );
    }
}
