//! Extraction and checking of a legacy capsule's SCID (schema name, revision), reference §4.1.
//!
//! Order of checks, as in the reference: a meta-style event (`"meta": {…}`) has no legacy SCID;
//! a missing `schema` or `revision` key cannot be extracted; then the revision must be an
//! integer ≥ 1, and then the schema must be a string matching `^[./a-zA-Z0-9_-]{1,63}$`.
//! Extraction borrows from the capsule and does not allocate unless it fails.

use beacon_parsers::json::{JsonKind, JsonView, NodeRef};
use beacon_parsers::python::{py_str, py_type_name};
use beacon_parsers::scid::is_valid_schema_name;
use serde_json::{Map, Value};

use super::error::ScidError;

/// The checked SCID of a legacy capsule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LegacyScid<'a> {
    /// Schema name (matches the schema-name rule).
    pub name: &'a str,
    /// Schema revision (≥ 1).
    pub revision: i64,
}

/// Extracts and checks the SCID of a capsule (§4.1). Errors carry the reference's messages.
///
/// A JSON boolean revision is rejected with `<class 'bool'>`; Python would have accepted it
/// (a `bool` is an `int` there) and then failed the schema fetch.
pub fn extract_legacy_scid(capsule: &Map<String, Value>) -> Result<LegacyScid<'_>, ScidError> {
    legacy_scid_of(SCID_KEYS.map(|key| capsule.get(key)))
}

/// [`extract_legacy_scid`] of a capsule held in a parsed document.
pub fn document_legacy_scid(capsule: NodeRef<'_>) -> Result<LegacyScid<'_>, ScidError> {
    legacy_scid_of(SCID_KEYS.map(|key| capsule.get(key)))
}

/// The capsule members the SCID is taken from.
const SCID_KEYS: [&str; 3] = ["meta", "schema", "revision"];

/// [`extract_legacy_scid`] from the capsule's `meta`, `schema` and `revision` members.
fn legacy_scid_of<'a, V: JsonView<'a>>(
    [meta, schema, revision]: [Option<V>; 3],
) -> Result<LegacyScid<'a>, ScidError> {
    if meta.is_some_and(|meta| meta.kind() == JsonKind::Object) {
        // Meta-style events take their SCID from meta.schema_uri; they are not legacy events.
        return Err(ScidError::NotExtractable);
    }
    let (Some(schema), Some(revision)) = (schema, revision) else {
        return Err(ScidError::NotExtractable);
    };
    let revision = check_revision_of(revision)?;
    let name = match schema.as_str() {
        Some(name) if is_valid_schema_name(name) => name,
        _ => {
            return Err(ScidError::SchemaName {
                shown: py_str(&schema.to_value()),
            })
        }
    };
    Ok(LegacyScid { name, revision })
}

/// Checks a revision value: an integer (a JSON number written without `.`, `e` or `E`) that is
/// at least 1 and fits in an `i64`.
pub fn check_revision(revision: &Value) -> Result<i64, ScidError> {
    check_revision_of(revision)
}

fn check_revision_of<'a, V: JsonView<'a>>(revision: V) -> Result<i64, ScidError> {
    let Some(text) = revision.number_text() else {
        return Err(ScidError::RevisionType {
            python_type: py_type_name(&revision.to_value()),
        });
    };
    if text.contains(['.', 'e', 'E']) {
        return Err(ScidError::RevisionType {
            python_type: "float",
        });
    }
    match text.parse::<i64>() {
        Ok(value) if value >= 1 => Ok(value),
        Ok(value) => Err(ScidError::RevisionTooSmall {
            text: value.to_string(),
        }),
        Err(_) if text.starts_with('-') => Err(ScidError::RevisionTooSmall {
            text: text.to_owned(),
        }),
        Err(_) => Err(ScidError::RevisionOutOfRange {
            text: text.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn capsule(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("test capsule must be an object, got {other}"),
        }
    }

    fn parsed(text: &str) -> Map<String, Value> {
        capsule(serde_json::from_str(text).expect("test JSON"))
    }

    fn message(value: Value) -> String {
        extract_legacy_scid(&capsule(value))
            .expect_err("invalid SCID")
            .to_string()
    }

    #[test]
    fn documents_give_what_maps_give() {
        for value in [
            json!({"schema": "Echo", "revision": 7731316}),
            json!({"schema": "Echo", "revision": 7731316, "meta": {"stream": "x"}}),
            json!({"schema": "Echo", "revision": 7731316, "meta": "not an object"}),
            json!({"schema": "Echo"}),
            json!({"schema": "Echo", "revision": "12"}),
            json!({"schema": "Echo", "revision": 1.5}),
            json!({"schema": "Echo", "revision": 0}),
            json!({"schema": "Echo", "revision": -3}),
            json!({"schema": "Echo", "revision": 99999999999999999999_u128}),
            json!({"schema": "Echo", "revision": true}),
            json!({"schema": "bad name!", "revision": 1}),
            json!({"schema": ["Echo"], "revision": 1}),
        ] {
            let mut document = beacon_parsers::json::Document::new();
            assert!(document.parse(&value.to_string()));
            let root = document.root().unwrap_or_else(|| panic!("no root"));
            let map = capsule(value.clone());
            let from_document = document_legacy_scid(root).map_err(|e| e.to_string());
            let from_map = extract_legacy_scid(&map).map_err(|e| e.to_string());
            assert_eq!(from_document, from_map, "{value}");
        }
    }

    #[test]
    fn valid_scid() {
        let map = capsule(json!({"schema": "Echo", "revision": 7731316, "event": {}}));
        assert_eq!(
            extract_legacy_scid(&map),
            Ok(LegacyScid {
                name: "Echo",
                revision: 7731316
            })
        );
        let map = capsule(json!({"schema": "analytics/legacy/x", "revision": 1}));
        assert_eq!(
            extract_legacy_scid(&map).map(|scid| scid.name),
            Ok("analytics/legacy/x")
        );
    }

    #[test]
    fn missing_keys_and_meta_style_events() {
        let expected = "scid could not be extracted from event.";
        assert_eq!(message(json!({"revision": 1})), expected);
        assert_eq!(message(json!({"schema": "Echo"})), expected);
        assert_eq!(message(json!({})), expected);
        assert_eq!(
            message(json!({"schema": "Echo", "revision": 1, "meta": {}})),
            expected,
            "reference [observed]: \"meta\": {{}} fails extraction"
        );
        // A non-object meta is an ordinary (unknown) capsule key.
        let map = capsule(json!({"schema": "Echo", "revision": 1, "meta": 5}));
        assert!(extract_legacy_scid(&map).is_ok());
    }

    #[test]
    fn revision_type_errors_name_the_python_class() {
        // TV-9.
        assert_eq!(
            extract_legacy_scid(&parsed(r#"{"schema": "Echo", "revision": "7731316"}"#))
                .map_err(|e| e.to_string()),
            Err("Invalid revision ID type: <class 'str'>".to_owned())
        );
        assert_eq!(
            extract_legacy_scid(&parsed(r#"{"schema": "Echo", "revision": 7731316.0}"#))
                .map_err(|e| e.to_string()),
            Err("Invalid revision ID type: <class 'float'>".to_owned())
        );
        assert_eq!(
            extract_legacy_scid(&parsed(r#"{"schema": "Echo", "revision": 7e6}"#))
                .map_err(|e| e.to_string()),
            Err("Invalid revision ID type: <class 'float'>".to_owned())
        );
        for (revision, class) in [
            (json!(null), "NoneType"),
            (json!([1]), "list"),
            (json!({"a": 1}), "dict"),
            (json!(true), "bool"),
        ] {
            assert_eq!(
                message(json!({"schema": "Echo", "revision": revision})),
                format!("Invalid revision ID type: <class '{class}'>")
            );
        }
    }

    #[test]
    fn revision_must_be_positive() {
        assert_eq!(
            message(json!({"schema": "Echo", "revision": -1})),
            "Invalid revision ID -1"
        );
        assert_eq!(
            message(json!({"schema": "Echo", "revision": 0})),
            "Invalid revision ID 0"
        );
        assert_eq!(
            extract_legacy_scid(&parsed(r#"{"schema": "Echo", "revision": -0}"#))
                .map_err(|e| e.to_string()),
            Err("Invalid revision ID 0".to_owned())
        );
        assert_eq!(
            extract_legacy_scid(&parsed(
                r#"{"schema": "Echo", "revision": -123456789012345678901234}"#
            ))
            .map_err(|e| e.to_string()),
            Err("Invalid revision ID -123456789012345678901234".to_owned())
        );
    }

    #[test]
    fn revision_beyond_i64_is_a_clear_error() {
        let map = parsed(r#"{"schema": "Echo", "revision": 123456789012345678901234}"#);
        assert_eq!(
            extract_legacy_scid(&map).map_err(|e| e.to_string()),
            Err(
                "Invalid revision ID 123456789012345678901234 (larger than 9223372036854775807)"
                    .to_owned()
            )
        );
        let map = parsed(r#"{"schema": "Echo", "revision": 9223372036854775807}"#);
        assert_eq!(
            extract_legacy_scid(&map).map(|scid| scid.revision),
            Ok(i64::MAX)
        );
    }

    #[test]
    fn schema_name_rule() {
        // TV-10 and TV-24.
        assert_eq!(
            message(json!({"schema": "Bad Name!", "revision": 1})),
            "Invalid schema name: Bad Name!"
        );
        assert_eq!(
            message(json!({"schema": "Foo%", "revision": 1})),
            "Invalid schema name: Foo%"
        );
        let long = "X".repeat(64);
        assert_eq!(
            message(json!({"schema": long, "revision": 1})),
            format!("Invalid schema name: {long}")
        );
        assert_eq!(
            message(json!({"schema": null, "revision": 1})),
            "Invalid schema name: None"
        );
        assert_eq!(
            message(json!({"schema": ["a"], "revision": 1})),
            "Invalid schema name: ['a']"
        );
        assert_eq!(
            message(json!({"schema": "", "revision": 1})),
            "Invalid schema name: "
        );
        // Digits alone pass the name pattern (TV-24 says `123` is rejected, but only because
        // the reference test passes it as an int).
        assert_eq!(
            message(json!({"schema": 123, "revision": 1})),
            "Invalid schema name: 123"
        );
    }

    #[test]
    fn revision_is_checked_before_the_name() {
        assert_eq!(
            message(json!({"schema": "Bad Name!", "revision": -1})),
            "Invalid revision ID -1"
        );
    }
}
