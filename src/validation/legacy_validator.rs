//! A compiled validator for the capsules of one legacy SCID.
//!
//! Built once per SCID from the event schema: encapsulate the draft-3 event schema in the
//! draft-3 capsule (§4.2), convert the whole document to draft 4 (so that a top-level
//! `"required": true` on the event schema keeps its draft-3 meaning of "the capsule needs an
//! `event`"), and compile it with the jsonschema crate in Draft 4 mode with format checking off.

use std::fmt;

use beacon_parsers::json::NodeRef;
use serde_json::{Map, Value};

use super::capsule_schema::encapsulate;
use super::draft3::draft3_to_draft4;
use super::error::SchemaCompileError;
use super::fast_validator::{FastValidator, Formats};
use super::first_error::first_error_message;

/// The draft-4 document a legacy event schema is validated with: the encapsulated, converted
/// schema. Exposed for diagnostics and tests.
pub fn encapsulated_draft4(event_schema: &Value) -> Result<Value, SchemaCompileError> {
    Ok(draft3_to_draft4(&encapsulate(event_schema))?)
}

/// Validates whole capsules of one SCID. Cheap to share (`Arc`) between threads.
pub struct LegacyValidator {
    name: String,
    revision: i64,
    validator: jsonschema::Validator,
    /// The same verdicts, quicker (`None` when the schema is out of its reach).
    fast: Option<FastValidator>,
}

impl LegacyValidator {
    /// Compiles the validator for `name`/`revision` from its draft-3 event schema.
    pub fn compile(
        name: &str,
        revision: i64,
        event_schema: &Value,
    ) -> Result<Self, SchemaCompileError> {
        let document = encapsulated_draft4(event_schema)?;
        let build = |document: &Value| {
            jsonschema::draft4::options()
                .should_validate_formats(false)
                .build(document)
        };
        let validator =
            build(&document).map_err(|error| SchemaCompileError::Library(error.to_string()))?;
        let fast = FastValidator::build(
            &document,
            jsonschema::Draft::Draft4,
            Formats::Annotations,
            &|part| build(part).ok(),
        );
        Ok(Self {
            name: name.to_owned(),
            revision,
            validator,
            fast,
        })
    }

    /// Schema name this validator was compiled for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Revision this validator was compiled for.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Whether the capsule is valid (no error message is built).
    pub fn is_valid(&self, capsule: &Value) -> bool {
        match &self.fast {
            Some(fast) => fast.is_valid(capsule),
            None => self.validator.is_valid(capsule),
        }
    }

    /// [`is_valid`](Self::is_valid) of a capsule held in a parsed document; `None` when this
    /// schema has no fast validator (then only a `Value` can be checked).
    pub fn is_valid_document(&self, capsule: NodeRef<'_>) -> Option<bool> {
        self.fast.as_ref().map(|fast| fast.is_valid_view(capsule))
    }

    /// [`is_valid`](Self::is_valid) of a capsule held as a map, without copying it.
    pub fn is_valid_map(&self, capsule: &mut Map<String, Value>) -> bool {
        with_object_value(capsule, |value| self.is_valid(value))
    }

    /// The message [`validate`](Self::validate) gives for a capsule that
    /// [`is_valid`](Self::is_valid) has already rejected, held as a map, without copying it and
    /// without asking the fast validator again (`Ok` if `jsonschema` accepts it after all).
    pub fn rejection_message_map(&self, capsule: &mut Map<String, Value>) -> Result<(), String> {
        with_object_value(capsule, |value| first_error_message(&self.validator, value))
    }

    /// Validates a whole capsule. On failure returns exactly one message: the first error the
    /// library yields, as `<instance path>: <message>` (e.g.
    /// `/event/recipientUserId: "12" is not of type "integer"`), or the bare message when the
    /// error is about the capsule itself (e.g. `"wiki" is a required property`).
    pub fn validate(&self, capsule: &Value) -> Result<(), String> {
        if self
            .fast
            .as_ref()
            .is_some_and(|fast| fast.is_valid(capsule))
        {
            return Ok(());
        }
        first_error_message(&self.validator, capsule)
    }
}

/// Runs `f` on `map` seen as a JSON object value: the map is moved into the value and back, no copy
/// (the validator takes a `Value`, the pipeline holds maps).
pub(crate) fn with_object_value<T>(map: &mut Map<String, Value>, f: impl FnOnce(&Value) -> T) -> T {
    let value = Value::Object(std::mem::take(map));
    let result = f(&value);
    if let Value::Object(object) = value {
        *map = object;
    }
    result
}

impl fmt::Debug for LegacyValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyValidator")
            .field("name", &self.name)
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The Echo/7731316 schema as described in reference §10.
    fn echo_schema() -> Value {
        json!({
            "description": "Logs events related to the generation of notifications via the Echo extension",
            "properties": {
                "version": {"type": "string", "required": true},
                "eventId": {"type": "integer", "required": true},
                "notificationType": {"type": "string", "required": true},
                "notificationGroup": {"type": "string", "required": true,
                    "enum": ["positive", "interactive", "neutral", "negative", "system", "other"]},
                "sender": {"type": "string", "required": true},
                "recipientUserId": {"type": "integer", "required": true},
                "recipientEditCount": {"type": "integer"},
                "eventSource": {"type": "string"},
                "deliveryMethod": {"type": "string", "required": true, "enum": ["web", "email"]},
                "revisionId": {"type": "integer"}
            }
        })
    }

    fn echo() -> LegacyValidator {
        LegacyValidator::compile("Echo", 7731316, &echo_schema()).expect("Echo compiles")
    }

    /// TV-3 output, written out by hand from reference §10.
    fn tv3_capsule() -> Value {
        serde_json::from_str(
            r#"{"dt": "2019-12-20T10:11:12Z",
                "event": {"deliveryMethod": "web", "eventId": 5, "notificationGroup": "interactive",
                          "notificationType": "edit-user-talk", "recipientUserId": 42,
                          "sender": "123", "version": "1.1"},
                "ip": "192.0.2.1", "recvFrom": "cp3030.esams.wmnet", "revision": 7731316,
                "schema": "Echo", "seqId": 12345678,
                "userAgent": {"browser_family": "Chrome", "browser_major": "79", "browser_minor": "0",
                              "device_family": "Other", "is_bot": false, "is_mediawiki": false,
                              "os_family": "Windows", "os_major": "10", "os_minor": null,
                              "wmf_app_version": "-"},
                "uuid": "c30e6e3cd2785ebe8f7933b22114e742", "webHost": "en.wikipedia.org",
                "wiki": "enwiki"}"#,
        )
        .expect("TV-3 JSON")
    }

    fn with(mut capsule: Value, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        if let Value::Object(map) = &mut capsule {
            edit(map);
        }
        capsule
    }

    fn event_with(capsule: Value, key: &str, value: Value) -> Value {
        with(capsule, |map| {
            if let Some(Value::Object(event)) = map.get_mut("event") {
                event.insert(key.to_owned(), value);
            }
        })
    }

    #[test]
    fn tv3_capsule_is_valid() {
        let validator = echo();
        assert!(validator.is_valid(&tv3_capsule()));
        assert_eq!(validator.validate(&tv3_capsule()), Ok(()));
        assert_eq!(validator.name(), "Echo");
        assert_eq!(validator.revision(), 7731316);
    }

    /// The processor validates capsules with a `null` placeholder for the parsed user agent
    /// (`LegacyCapsule`): that is only sound because the capsule schema accepts any
    /// `userAgent`, which this pins down.
    #[test]
    fn the_user_agent_value_never_changes_the_verdict() {
        let validator = echo();
        for user_agent in [
            json!(null),
            json!("x"),
            json!(1),
            json!([]),
            json!({"a": [1]}),
        ] {
            let capsule = with(tv3_capsule(), |map| {
                map.insert("userAgent".to_owned(), user_agent.clone());
            });
            assert!(validator.is_valid(&capsule), "{user_agent}");
            let invalid = with(capsule, |map| {
                map.remove("wiki");
            });
            assert_eq!(
                validator.validate(&invalid),
                Err("\"wiki\" is a required property".to_owned()),
                "{user_agent}"
            );
        }
    }

    #[test]
    fn tv5_missing_wiki() {
        let capsule = with(tv3_capsule(), |map| {
            map.remove("wiki");
        });
        assert_eq!(
            echo().validate(&capsule),
            Err("\"wiki\" is a required property".to_owned())
        );
    }

    #[test]
    fn missing_required_event_property() {
        let capsule = with(tv3_capsule(), |map| {
            if let Some(Value::Object(event)) = map.get_mut("event") {
                event.remove("sender");
            }
        });
        assert_eq!(
            echo().validate(&capsule),
            Err("/event: \"sender\" is a required property".to_owned())
        );
    }

    #[test]
    fn tv6_extra_event_property() {
        let capsule = event_with(tv3_capsule(), "bogus", json!(1));
        assert_eq!(
            echo().validate(&capsule),
            Err(
                "/event: Additional properties are not allowed ('bogus' was unexpected)".to_owned()
            )
        );
    }

    #[test]
    fn tv7_extra_capsule_key() {
        let capsule = with(tv3_capsule(), |map| {
            map.insert("bogusCapsule".to_owned(), json!(1));
        });
        assert_eq!(
            echo().validate(&capsule),
            Err("Additional properties are not allowed ('bogusCapsule' was unexpected)".to_owned())
        );
    }

    #[test]
    fn tv8_event_missing_array_or_string_is_valid() {
        let validator = echo();
        let missing = with(tv3_capsule(), |map| {
            map.remove("event");
        });
        assert_eq!(validator.validate(&missing), Ok(()));
        for event in [json!([]), json!("str"), json!([1, 2]), json!(5)] {
            let capsule = with(tv3_capsule(), |map| {
                map.insert("event".to_owned(), event.clone());
            });
            assert_eq!(validator.validate(&capsule), Ok(()), "event: {event}");
        }
        // `event: {}` fails only because Echo has required properties.
        let empty = with(tv3_capsule(), |map| {
            map.insert("event".to_owned(), json!({}));
        });
        assert!(validator.validate(&empty).is_err());
    }

    #[test]
    fn top_level_required_true_on_the_event_schema_requires_event() {
        let schema = json!({"required": true, "properties": {"a": {"type": "string"}}});
        let validator = LegacyValidator::compile("X", 1, &schema).expect("compiles");
        let missing = with(tv3_capsule(), |map| {
            map.remove("event");
        });
        assert_eq!(
            validator.validate(&missing),
            Err("\"event\" is a required property".to_owned())
        );
    }

    #[test]
    fn event_schema_with_a_type_rejects_non_objects() {
        let mut schema = echo_schema();
        if let Value::Object(map) = &mut schema {
            map.insert("type".to_owned(), json!("object"));
        }
        let validator = LegacyValidator::compile("Echo", 7731316, &schema).expect("compiles");
        let capsule = with(tv3_capsule(), |map| {
            map.insert("event".to_owned(), json!([]));
        });
        assert_eq!(
            validator.validate(&capsule),
            Err("/event: [] is not of type \"object\"".to_owned())
        );
    }

    #[test]
    fn type_errors_name_the_instance_path() {
        let capsule = event_with(tv3_capsule(), "recipientUserId", json!("12"));
        assert_eq!(
            echo().validate(&capsule),
            Err("/event/recipientUserId: \"12\" is not of type \"integer\"".to_owned())
        );
        let capsule: Value = serde_json::from_str(
            &tv3_capsule()
                .to_string()
                .replace("\"eventId\":5", "\"eventId\":5.0"),
        )
        .expect("JSON");
        assert_eq!(
            echo().validate(&capsule),
            Err("/event/eventId: 5.0 is not of type \"integer\"".to_owned())
        );
        let capsule = with(tv3_capsule(), |map| {
            map.insert("seqId".to_owned(), json!(true));
        });
        assert_eq!(
            echo().validate(&capsule),
            Err("/seqId: true is not of type \"integer\"".to_owned())
        );
    }

    #[test]
    fn enum_violation() {
        let capsule = event_with(tv3_capsule(), "deliveryMethod", json!("pigeon"));
        assert_eq!(
            echo().validate(&capsule),
            Err("/event/deliveryMethod: \"pigeon\" is not one of \"web\" or \"email\"".to_owned())
        );
    }

    #[test]
    fn capsule_field_types_are_enforced() {
        let validator = echo();
        for (key, value) in [
            ("wiki", json!(1)),
            ("revision", json!("7731316")),
            ("timestamp", json!("1576836672")),
            ("ip", json!(null)),
            ("uuid", json!(5)),
        ] {
            let capsule = with(tv3_capsule(), |map| {
                map.insert(key.to_owned(), value.clone());
            });
            let error = validator.validate(&capsule).expect_err("wrong type");
            assert!(error.starts_with(&format!("/{key}: ")), "{key}: {error}");
        }
        // userAgent is `any`; timestamp may be a float.
        for (key, value) in [
            ("userAgent", json!("raw UA string")),
            ("userAgent", json!(null)),
            ("timestamp", json!(1576836672.5)),
            ("topic", json!("eventlogging_Echo")),
        ] {
            let capsule = with(tv3_capsule(), |map| {
                map.insert(key.to_owned(), value);
            });
            assert_eq!(validator.validate(&capsule), Ok(()), "{key}");
        }
    }

    #[test]
    fn formats_are_not_enforced() {
        let capsule = with(tv3_capsule(), |map| {
            map.insert("dt".to_owned(), json!("not-a-date"));
            map.insert("uuid".to_owned(), json!("not-a-uuid"));
        });
        assert_eq!(echo().validate(&capsule), Ok(()));
    }

    #[test]
    fn nested_objects_do_not_get_additional_properties_false() {
        let schema = json!({"properties": {
            "nested": {"type": "object", "properties": {"x": {"type": "string"}}}
        }});
        let validator = LegacyValidator::compile("Nested", 1, &schema).expect("compiles");
        let capsule = with(tv3_capsule(), |map| {
            map.insert(
                "event".to_owned(),
                json!({"nested": {"x": "a", "extra": 1}}),
            );
        });
        assert_eq!(validator.validate(&capsule), Ok(()));
        let capsule = with(tv3_capsule(), |map| {
            map.insert("event".to_owned(), json!({"nested": {}, "extra": 1}));
        });
        assert_eq!(
            validator.validate(&capsule),
            Err(
                "/event: Additional properties are not allowed ('extra' was unexpected)".to_owned()
            )
        );
    }

    #[test]
    fn explicit_additional_properties_true_is_respected() {
        let schema = json!({"properties": {"a": {"type": "string"}}, "additionalProperties": true});
        let validator = LegacyValidator::compile("Open", 1, &schema).expect("compiles");
        let capsule = with(tv3_capsule(), |map| {
            map.insert("event".to_owned(), json!({"a": "x", "anything": [1]}));
        });
        assert_eq!(validator.validate(&capsule), Ok(()));
    }

    #[test]
    fn pattern_is_a_search_not_a_full_match() {
        let schema = json!({"properties": {"p": {"type": "string", "pattern": "b+"}, "q": {"pattern": "^a"}}});
        let validator = LegacyValidator::compile("P", 1, &schema).expect("compiles");
        let ok = with(tv3_capsule(), |map| {
            map.insert("event".to_owned(), json!({"p": "abbc", "q": "ab"}));
        });
        assert_eq!(validator.validate(&ok), Ok(()));
        let bad = with(tv3_capsule(), |map| {
            map.insert("event".to_owned(), json!({"q": "ba"}));
        });
        assert_eq!(
            validator.validate(&bad),
            Err("/event/q: \"ba\" does not match \"^a\"".to_owned())
        );
    }

    #[test]
    fn unusable_schemas_fail_to_compile() {
        let bad_regex = json!({"properties": {"p": {"pattern": "(unclosed"}}});
        assert!(matches!(
            LegacyValidator::compile("Bad", 1, &bad_regex),
            Err(SchemaCompileError::Library(_))
        ));
        let bad_minimum = json!({"properties": {"n": {"minimum": "zero"}}});
        assert!(matches!(
            LegacyValidator::compile("Bad", 1, &bad_minimum),
            Err(SchemaCompileError::Library(_))
        ));
        let bad_type = json!({"properties": {"n": {"type": "float"}}});
        assert!(matches!(
            LegacyValidator::compile("Bad", 1, &bad_type),
            Err(SchemaCompileError::Conversion(_))
        ));
        let remote_ref = json!({"properties": {"n": {"$ref": "http://example.invalid/x.json"}}});
        assert!(LegacyValidator::compile("Bad", 1, &remote_ref).is_err());
        assert!(LegacyValidator::compile("Bad", 1, &json!([])).is_err());
    }

    #[test]
    fn encapsulated_document_is_draft4() {
        let document = encapsulated_draft4(&echo_schema()).expect("converts");
        assert_eq!(
            document["$schema"],
            json!(super::super::draft3::DRAFT4_SCHEMA_URI)
        );
        assert_eq!(
            document["required"],
            json!(["recvFrom", "revision", "schema", "uuid", "wiki"]),
            "`event` is no longer required: the Echo schema replaced the capsule's event schema"
        );
        assert_eq!(
            document["properties"]["event"]["required"],
            json!([
                "deliveryMethod",
                "eventId",
                "notificationGroup",
                "notificationType",
                "recipientUserId",
                "sender",
                "version"
            ])
        );
        assert_eq!(document["properties"]["userAgent"].get("type"), None);
    }
}
