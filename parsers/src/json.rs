//! JSON parsing of decoded capsules (the `%q` and `%j` casters), with typed errors.
//!
//! serde_json is used with the workspace's `arbitrary_precision` feature, so numbers keep their
//! original text and big integers survive exactly. Compared with Python's `json.loads` (reference
//! §2.2 step 5): duplicate keys behave the same (the last one wins), leading/trailing whitespace is
//! allowed, raw control characters inside strings are rejected; but `NaN`, `Infinity` and
//! `-Infinity` are rejected (the output must stay valid JSON) and lone surrogate escapes are
//! rejected. See `docs/COMPATIBILITY.md`.
//!
//! Most texts are parsed by a faster direct parser (`fast_path`) that builds the very value
//! serde_json would; serde_json parses the rest and is the source of every error. The same
//! tokenizer also fills a reusable [`Document`] (no `Value` tree), which the processor's common
//! path validates ([`JsonView`]) and writes out directly.

mod document;
mod fast_path;
pub mod key_order;
mod view;

pub use document::{
    Document, Items, JsonKind, Members, MembersWithWords, NewValue, NodeId, NodeRef,
};
pub use view::JsonView;

use std::fmt;

use serde_json::{Map, Value};

/// The message Python's processor uses when the capsule is valid JSON but not an object.
pub const NOT_AN_OBJECT_MESSAGE: &str = "capsule was successfully parsed, but not as an object.";

/// Why a text could not be parsed as the expected JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonError {
    /// The text is not JSON. `message` is serde_json's description without its position suffix;
    /// `line` and `column` are serde_json's (1-based line, 1-based **byte** column; column 0 when
    /// the input ended before anything was read).
    Syntax {
        /// serde_json's description of the problem, e.g. `key must be a string`.
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based byte column of the error within its line.
        column: usize,
    },
    /// The text uses one of the non-standard literals `NaN`, `Infinity` or `-Infinity`, which
    /// Python accepts but which cannot be represented in (valid) JSON output.
    NonFinite {
        /// The literal found: `"NaN"`, `"Infinity"` or `"-Infinity"`.
        literal: &'static str,
        /// 1-based line where the literal starts.
        line: usize,
        /// 1-based byte column where the literal starts.
        column: usize,
    },
    /// The text is valid JSON but its top-level value is not an object.
    NotObject {
        /// The JSON kind found: `"array"`, `"string"`, `"number"`, `"boolean"` or `"null"`.
        found: &'static str,
    },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax {
                message,
                line,
                column,
            } => write!(f, "{message} at line {line} column {column}"),
            JsonError::NonFinite {
                literal,
                line,
                column,
            } => write!(
                f,
                "non-finite number {literal} at line {line} column {column} is not allowed \
                 (only finite JSON numbers can be passed on)"
            ),
            JsonError::NotObject { found } => {
                let article = match *found {
                    "null" => "",
                    "array" => "an ",
                    _ => "a ",
                };
                write!(f, "{NOT_AN_OBJECT_MESSAGE} (found {article}{found})")
            }
        }
    }
}

impl std::error::Error for JsonError {}

/// Parses `text` as a JSON object (a capsule).
///
/// ```
/// use beacon_parsers::json::parse_object;
/// let capsule = parse_object(r#" {"a": 1, "a": 12345678901234567890123} "#).unwrap();
/// assert_eq!(capsule["a"].to_string(), "12345678901234567890123");
/// ```
pub fn parse_object(text: &str) -> Result<Map<String, Value>, JsonError> {
    match parse_value(text)? {
        Value::Object(map) => Ok(map),
        other => Err(JsonError::NotObject {
            found: json_kind(&other),
        }),
    }
}

/// Parses `text` as any JSON value.
///
/// Ordinary input is parsed by a direct parser that builds the value serde_json would build;
/// serde_json itself parses whatever that parser does not accept, so errors are serde_json's.
pub fn parse_value(text: &str) -> Result<Value, JsonError> {
    if let Some(value) = fast_path::parse(text) {
        return Ok(value);
    }
    serde_json::from_str(text).map_err(|error| classify_error(text, &error))
}

/// The JSON name of a value's kind, as used in [`JsonError::NotObject`].
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Turns a serde_json error into a [`JsonError`], recognising Python's non-finite literals.
#[cold]
fn classify_error(text: &str, error: &serde_json::Error) -> JsonError {
    let line = error.line();
    let column = error.column();
    let full_message = error.to_string();
    let suffix = format!(" at line {line} column {column}");
    let message = full_message
        .strip_suffix(&suffix)
        .unwrap_or(&full_message)
        .to_owned();

    // serde_json reports `NaN`/`Infinity` as "expected value" at the literal's first byte, and
    // `-Infinity` as "invalid number" at the byte after the minus sign.
    if let Some(index) = byte_index_of(text, line, column) {
        let at_error = text.get(index..).unwrap_or_default();
        if message == "expected value" {
            for literal in ["NaN", "Infinity"] {
                if at_error.starts_with(literal) {
                    return JsonError::NonFinite {
                        literal,
                        line,
                        column,
                    };
                }
            }
        } else if message == "invalid number"
            && at_error.starts_with("Infinity")
            && index
                .checked_sub(1)
                .and_then(|minus| text.get(minus..index))
                == Some("-")
        {
            return JsonError::NonFinite {
                literal: "-Infinity",
                line,
                column: column.saturating_sub(1),
            };
        }
    }

    JsonError::Syntax {
        message,
        line,
        column,
    }
}

/// Converts serde_json's 1-based line and 1-based byte column into a byte index into `text`.
fn byte_index_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let lines_before = line.checked_sub(1)?;
    let line_start = if lines_before == 0 {
        0
    } else {
        memchr::memchr_iter(b'\n', text.as_bytes())
            .nth(lines_before - 1)?
            .checked_add(1)?
    };
    line_start.checked_add(column.checked_sub(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qson;

    /// The `%q` caster minus the capsule building: QSON decode then JSON object parse.
    fn decode_capsule(captured: &str) -> Result<Map<String, Value>, String> {
        let text = qson::decode(captured).map_err(|e| format!("qson: {e}"))?;
        parse_object(&text).map_err(|e| format!("json: {e}"))
    }

    fn capsule(captured: &str) -> Map<String, Value> {
        match decode_capsule(captured) {
            Ok(map) => map,
            Err(error) => panic!("{captured:?} did not decode: {error}"),
        }
    }

    fn object(text: &str) -> Map<String, Value> {
        match parse_value(text) {
            Ok(Value::Object(map)) => map,
            other => panic!("{text:?} is not an object: {other:?}"),
        }
    }

    #[test]
    fn tv23_qson_decoder_cases() {
        assert_eq!(capsule("?%7B%7D;"), Map::new());
        assert_eq!(capsule("?;{};?"), Map::new());
        assert_eq!(capsule("?%7b%22a%22%3a1%7d;"), object(r#"{"a": 1}"#));
        assert_eq!(
            capsule("?%7B%22a%22%3A%22%E2%98%86%22%7D;"),
            object(r#"{"a": "☆"}"#)
        );
        assert_eq!(capsule(r#"?{"a":"☆"};"#), object(r#"{"a": "☆"}"#));
        assert_eq!(
            capsule("?%7B%22a%22%3A%22%ZZ%22%7D;"),
            object(r#"{"a": "%ZZ"}"#)
        );
        assert_eq!(
            capsule("?%7B%22a%22%3A%22%F0%9F%98%80%22%7D;"),
            object(r#"{"a": "😀"}"#)
        );
        assert_eq!(
            capsule("?%7B%22a%22%3A1%2C%22a%22%3A2%7D;"),
            object(r#"{"a": 2}"#)
        );
        let big = capsule("?%7B%22a%22%3A12345678901234567890123%7D;");
        assert_eq!(
            big.get("a").map(Value::to_string).as_deref(),
            Some("12345678901234567890123")
        );
    }

    #[test]
    fn tv23_nan_is_rejected_deliberately() {
        // Python gives {"a": NaN}; we reject it (see the compat notes).
        assert_eq!(
            decode_capsule("?%7B%22a%22%3ANaN%7D;"),
            Err(
                "json: non-finite number NaN at line 1 column 6 is not allowed \
                 (only finite JSON numbers can be passed on)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn tv23_real_production_beacon() {
        let decoded = capsule("?%7B%22event%22%3A%7B%22name%22%3A%22blah%22%2C%22age%22%3A33%7D%2C%22revision%22%3A13317883%2C%22schema%22%3A%22Analytics%22%2C%22webHost%22%3A%22meta.wikimedia.org%22%2C%22wiki%22%3A%22metawiki%22%7D;");
        assert_eq!(
            Value::Object(decoded).to_string(),
            r#"{"event":{"age":33,"name":"blah"},"revision":13317883,"schema":"Analytics","webHost":"meta.wikimedia.org","wiki":"metawiki"}"#
        );
    }

    #[test]
    fn plus_and_encoded_plus() {
        assert_eq!(
            capsule("?%7B%22a%22%3A%22b+c%2Bd%22%7D;"),
            object(r#"{"a": "b c+d"}"#)
        );
    }

    #[test]
    fn tv13_bad_json_is_a_syntax_error() {
        assert_eq!(
            parse_object("{not-json"),
            Err(JsonError::Syntax {
                message: "key must be a string".to_owned(),
                line: 1,
                column: 2,
            })
        );
        assert_eq!(
            decode_capsule("?%7Bnot-json;"),
            Err("json: key must be a string at line 1 column 2".to_owned())
        );
    }

    #[test]
    fn tv14_truncated_url_is_a_syntax_error() {
        let truncated = "?%7B%22event%22%3A%7B%22version%22%3A%221.1%22%2C%22eventId%";
        assert_eq!(
            decode_capsule(truncated),
            Err("json: EOF while parsing a string at line 1 column 35".to_owned())
        );
    }

    #[test]
    fn tv15_non_object_json() {
        assert_eq!(
            parse_object("[1,2]"),
            Err(JsonError::NotObject { found: "array" })
        );
        assert_eq!(
            decode_capsule("?%5B1%2C2%5D;"),
            Err(
                "json: capsule was successfully parsed, but not as an object. (found an array)"
                    .to_owned()
            )
        );
        assert_eq!(
            decode_capsule("?%22hi%22;"),
            Err(
                "json: capsule was successfully parsed, but not as an object. (found a string)"
                    .to_owned()
            )
        );
        assert_eq!(
            parse_object("null").map_err(|e| e.to_string()),
            Err("capsule was successfully parsed, but not as an object. (found null)".to_owned())
        );
        assert_eq!(
            parse_object("12"),
            Err(JsonError::NotObject { found: "number" })
        );
        assert_eq!(
            parse_object("true"),
            Err(JsonError::NotObject { found: "boolean" })
        );
    }

    #[test]
    fn tv16_invalid_utf8_is_a_qson_error() {
        assert_eq!(
            decode_capsule("?%7B%22a%22%3A%22%C3%28%22%7D;"),
            Err("qson: percent-decoded query string is not valid UTF-8 \
                 (invalid byte sequence at byte 6)"
                .to_owned())
        );
    }

    #[test]
    fn tv17_control_byte_from_percent_escape_is_rejected() {
        // The §1.1 fixture: `%12` decodes to a raw control byte where a value should start.
        let line = "?%7B%22event%22%3A%7B%22mobileMode%22%3A%22stable%22%2C%22name%22%3A%22home%22%2C%22destination%22%3A%22%2Fwiki%2FPagina_principale%22%7D%2C%22revision%22%3A11568715%2C%22schema%22%3A%22MobileWebMainMenuClickTracking%22%2C%22webHost%22%3A%12345terfdit.m.wikipedia.org%22%2C%22wiki%22%3A%22itwiki%22%7D;";
        // Python: "Expecting value: line 1 column 160 (char 159)" — same position.
        assert_eq!(
            decode_capsule(line),
            Err("json: expected value at line 1 column 160".to_owned())
        );
    }

    #[test]
    fn extra_data_after_the_object_is_rejected() {
        // An encoded trailing `;` survives stripping (Python: "Extra data").
        assert_eq!(
            decode_capsule("?%7B%7D%3B;"),
            Err("json: trailing characters at line 1 column 3".to_owned())
        );
    }

    #[test]
    fn non_finite_literals_are_rejected_with_their_position() {
        assert_eq!(
            parse_value(r#"{"a":NaN}"#),
            Err(JsonError::NonFinite {
                literal: "NaN",
                line: 1,
                column: 6
            })
        );
        assert_eq!(
            parse_value(r#"{"a":Infinity}"#),
            Err(JsonError::NonFinite {
                literal: "Infinity",
                line: 1,
                column: 6
            })
        );
        assert_eq!(
            parse_value(r#"{"a":-Infinity}"#),
            Err(JsonError::NonFinite {
                literal: "-Infinity",
                line: 1,
                column: 6
            })
        );
        assert_eq!(
            parse_value("[1,\n  -Infinity]"),
            Err(JsonError::NonFinite {
                literal: "-Infinity",
                line: 2,
                column: 3
            })
        );
        assert_eq!(
            parse_value("NaN"),
            Err(JsonError::NonFinite {
                literal: "NaN",
                line: 1,
                column: 1
            })
        );
        // Not one of the literals: generic errors.
        assert!(matches!(
            parse_value(r#"{"a":Infinit}"#),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_value(r#"{"a":-Nope}"#),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_value(r#"{"a":1 NaN}"#),
            Err(JsonError::Syntax { .. })
        ));
        // Inside a string they are just text.
        assert_eq!(
            parse_value(r#"["NaN"]"#),
            Ok(Value::Array(vec![Value::String("NaN".to_owned())]))
        );
    }

    #[test]
    fn big_numbers_keep_their_text() {
        let map = object(
            r#"{"i": 12345678901234567890123, "n": -98765432109876543210, "f": 0.1000000000000000000001}"#,
        );
        assert_eq!(
            Value::Object(map).to_string(),
            r#"{"f":0.1000000000000000000001,"i":12345678901234567890123,"n":-98765432109876543210}"#
        );
    }

    #[test]
    fn duplicate_keys_last_one_wins() {
        let map = object(r#"{"a": 1, "b": 2, "a": {"x": 1}, "a": "last"}"#);
        assert_eq!(map.get("a"), Some(&Value::String("last".to_owned())));
        assert_eq!(map.len(), 2);
        let nested = object(r#"{"e": {"k": 1, "k": 2}}"#);
        assert_eq!(
            nested
                .get("e")
                .and_then(|e| e.get("k"))
                .map(Value::to_string),
            Some("2".to_owned())
        );
    }

    #[test]
    fn surrounding_whitespace_is_allowed() {
        assert_eq!(object(" \t\r\n{\"a\": 1}\n "), object(r#"{"a":1}"#));
    }

    #[test]
    fn lone_surrogate_escapes_are_rejected() {
        assert_eq!(
            parse_value(r#"{"a":"\ud83d"}"#),
            Err(JsonError::Syntax {
                message: "unexpected end of hex escape".to_owned(),
                line: 1,
                column: 13,
            })
        );
        assert!(matches!(
            parse_value(r#"{"a":"\udc00"}"#),
            Err(JsonError::Syntax { .. })
        ));
        // A proper pair is fine.
        assert_eq!(
            parse_value(r#""\ud83d\ude00""#),
            Ok(Value::String("😀".to_owned()))
        );
    }

    #[test]
    fn raw_control_characters_in_strings_are_rejected() {
        assert_eq!(
            parse_value("{\"a\":\"x\ty\"}"),
            Err(JsonError::Syntax {
                message: "control character (\\u0000-\\u001F) found while parsing a string"
                    .to_owned(),
                line: 1,
                column: 8,
            })
        );
    }

    #[test]
    fn columns_are_byte_columns() {
        assert_eq!(
            parse_value("{\"é\":tru}"),
            Err(JsonError::Syntax {
                message: "expected ident".to_owned(),
                line: 1,
                column: 10,
            })
        );
    }

    #[test]
    fn empty_input_is_an_eof_error() {
        assert_eq!(
            parse_object("").map_err(|e| e.to_string()),
            Err("EOF while parsing a value at line 1 column 0".to_owned())
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(matches!(parse_value(&deep), Err(JsonError::Syntax { .. })));
    }
}
