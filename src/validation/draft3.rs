//! Conversion of JSON-Schema draft-3 documents (the legacy EventLogging schemas and the capsule)
//! into equivalent draft-4 documents, so that a draft-4 validator enforces draft-3 semantics.
//!
//! Every subschema location is visited: `properties`, `patternProperties`,
//! `additionalProperties`, `items` (schema or array), `additionalItems`, `extends`,
//! `dependencies` values, schema members of `type` unions and of `disallow`, and `definitions`
//! (not a draft-3 keyword, but a common `$ref` target). Per schema:
//!
//! | draft 3 | draft 4 |
//! |---|---|
//! | `"required": true` on a property schema | parent's `"required": [names]` (property order); `false` dropped |
//! | `"type": "any"`, or a type array containing `"any"` | no type constraint |
//! | type array with schema members | `anyOf` of `{"type": name}` and the converted schemas |
//! | empty type array (nothing matches) | `allOf` member `{"not": {}}` |
//! | `divisibleBy` | `multipleOf` |
//! | `extends` (schema or array) | `allOf` (an empty array is dropped) |
//! | `disallow` (type name, schema, or array of them) | `"not": {"anyOf": [...]}` (`"any"` → `{}`) |
//! | `dependencies` value that is a string | array of that one string |
//! | `$schema` | dropped everywhere; the root gets the draft-4 URI |
//! | `allOf`, `anyOf`, `oneOf`, `not`, `multipleOf`, `minProperties`, `maxProperties` | dropped: draft-4-only keywords that a draft-3 validator ignores |
//!
//! Everything else (`$ref`, `id`, `enum`, `pattern`, `format`, `minimum` with boolean
//! `exclusiveMinimum`, lengths, item counts, `uniqueItems`, annotations, unknown keywords) is
//! kept as is; `format` stays but the validator is built without format checking.
//!
//! Keyword values the converter has to interpret are checked against what the draft-3
//! metaschema allows (`required` is a boolean, `type` a string or array, …); anything else is a
//! [`SchemaConversionError`]. Values passed through are checked later by the draft-4 metaschema
//! when the validator is built.

use serde_json::{Map, Value};

use super::error::SchemaConversionError;

/// The `$schema` URI put on the root of every converted document.
pub const DRAFT4_SCHEMA_URI: &str = "http://json-schema.org/draft-04/schema#";

/// Deepest subschema nesting accepted, far beyond any real schema; it keeps the recursive
/// conversion (and the later compilation) away from stack exhaustion on hostile documents.
pub const MAX_SCHEMA_DEPTH: usize = 64;

/// The primitive type names of draft 3 besides `any`.
const TYPE_NAMES: [&str; 7] = [
    "array", "boolean", "integer", "null", "number", "object", "string",
];

/// Draft-4 keywords a draft-3 validator does not know and therefore ignores.
const DRAFT4_ONLY_KEYWORDS: [&str; 7] = [
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "multipleOf",
    "minProperties",
    "maxProperties",
];

/// Converts a draft-3 schema document to an equivalent draft-4 document (see the module docs
/// for the rules). The root gets `"$schema": "http://json-schema.org/draft-04/schema#"`.
///
/// A `required` keyword on the root itself has no parent to move to and is dropped; to keep the
/// draft-3 meaning of `"required": true` on an event schema, encapsulate before converting.
pub fn draft3_to_draft4(schema: &Value) -> Result<Value, SchemaConversionError> {
    let mut converted = convert_schema(schema, "", 0)?;
    if let Value::Object(map) = &mut converted {
        map.insert(
            "$schema".to_owned(),
            Value::String(DRAFT4_SCHEMA_URI.to_owned()),
        );
    }
    Ok(converted)
}

fn problem(location: &str, problem: impl Into<String>) -> SchemaConversionError {
    SchemaConversionError {
        location: location.to_owned(),
        problem: problem.into(),
    }
}

/// JSON pointer of `segment` below `location` (RFC 6901 escaping).
fn child(location: &str, segment: &str) -> String {
    let escaped = segment.replace('~', "~0").replace('/', "~1");
    format!("{location}/{escaped}")
}

fn convert_schema(
    schema: &Value,
    location: &str,
    depth: usize,
) -> Result<Value, SchemaConversionError> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(problem(
            location,
            format!("subschemas are nested more than {MAX_SCHEMA_DEPTH} levels deep"),
        ));
    }
    let Value::Object(keywords) = schema else {
        return Err(problem(
            location,
            format!(
                "a schema must be an object, found {}",
                crate::json_kind::json_kind(schema)
            ),
        ));
    };
    let depth = depth + 1;
    let mut out = Map::new();
    let mut all_of: Vec<Value> = Vec::new();
    for (keyword, value) in keywords {
        let at = child(location, keyword);
        match keyword.as_str() {
            "$schema" => {}
            "required" => {
                // Interpreted by the parent's `properties`; only the value type is checked here.
                if !value.is_boolean() {
                    return Err(problem(
                        &at,
                        format!(
                            "`required` must be a boolean, found {}",
                            crate::json_kind::json_kind(value)
                        ),
                    ));
                }
            }
            "type" => match convert_type(value, &at, depth)? {
                TypeConstraint::Unconstrained => {}
                TypeConstraint::Types(types) => {
                    out.insert("type".to_owned(), types);
                }
                TypeConstraint::AnyOf(members) => {
                    out.insert("anyOf".to_owned(), Value::Array(members));
                }
                TypeConstraint::Nothing => all_of.push(match_nothing()),
            },
            "disallow" => {
                let members = convert_disallow(value, &at, depth)?;
                if !members.is_empty() {
                    let mut any_of = Map::new();
                    any_of.insert("anyOf".to_owned(), Value::Array(members));
                    out.insert("not".to_owned(), Value::Object(any_of));
                }
            }
            "divisibleBy" => {
                out.insert("multipleOf".to_owned(), value.clone());
            }
            "extends" => all_of.extend(convert_extends(value, &at, depth)?),
            "properties" => {
                let (properties, required) = convert_properties(value, &at, depth)?;
                out.insert("properties".to_owned(), properties);
                if !required.is_empty() {
                    out.insert("required".to_owned(), Value::Array(required));
                }
            }
            "patternProperties" | "definitions" => {
                out.insert(keyword.clone(), convert_schema_map(value, &at, depth)?);
            }
            "additionalProperties" | "additionalItems" => {
                let converted = match value {
                    Value::Bool(_) => value.clone(),
                    Value::Object(_) => convert_schema(value, &at, depth)?,
                    other => {
                        return Err(problem(
                            &at,
                            format!(
                                "`{keyword}` must be a boolean or a schema, found {}",
                                crate::json_kind::json_kind(other)
                            ),
                        ))
                    }
                };
                out.insert(keyword.clone(), converted);
            }
            "items" => {
                let converted = match value {
                    Value::Object(_) => convert_schema(value, &at, depth)?,
                    Value::Array(items) => Value::Array(convert_schema_list(items, &at, depth)?),
                    other => {
                        return Err(problem(
                            &at,
                            format!(
                                "`items` must be a schema or an array of schemas, found {}",
                                crate::json_kind::json_kind(other)
                            ),
                        ))
                    }
                };
                out.insert("items".to_owned(), converted);
            }
            "dependencies" => {
                out.insert(
                    "dependencies".to_owned(),
                    convert_dependencies(value, &at, depth)?,
                );
            }
            other if DRAFT4_ONLY_KEYWORDS.contains(&other) => {}
            _ => {
                out.insert(keyword.clone(), value.clone());
            }
        }
    }
    if !all_of.is_empty() {
        out.insert("allOf".to_owned(), Value::Array(all_of));
    }
    Ok(Value::Object(out))
}

/// A schema nothing validates against.
fn match_nothing() -> Value {
    let mut not = Map::new();
    not.insert("not".to_owned(), Value::Object(Map::new()));
    Value::Object(not)
}

/// A schema that accepts exactly the instances of one primitive type.
fn type_schema(name: &str) -> Value {
    let mut schema = Map::new();
    schema.insert("type".to_owned(), Value::String(name.to_owned()));
    Value::Object(schema)
}

fn check_type_name<'a>(name: &'a str, location: &str) -> Result<&'a str, SchemaConversionError> {
    if name == "any" || TYPE_NAMES.contains(&name) {
        Ok(name)
    } else {
        Err(problem(location, format!("unknown type name {name:?}")))
    }
}

/// What a draft-3 `type` keyword becomes.
enum TypeConstraint {
    /// `any`: no constraint at all.
    Unconstrained,
    /// A draft-4 `type` value (a name or an array of names).
    Types(Value),
    /// Members of a union with schemas.
    AnyOf(Vec<Value>),
    /// An empty union: nothing validates.
    Nothing,
}

fn convert_type(
    value: &Value,
    location: &str,
    depth: usize,
) -> Result<TypeConstraint, SchemaConversionError> {
    match value {
        Value::String(name) => {
            if check_type_name(name, location)? == "any" {
                Ok(TypeConstraint::Unconstrained)
            } else {
                Ok(TypeConstraint::Types(value.clone()))
            }
        }
        Value::Array(members) => {
            if members.is_empty() {
                return Ok(TypeConstraint::Nothing);
            }
            let mut names_only = true;
            for (index, member) in members.iter().enumerate() {
                match member {
                    Value::String(name) => {
                        if check_type_name(name, &child(location, &index.to_string()))? == "any" {
                            return Ok(TypeConstraint::Unconstrained);
                        }
                    }
                    Value::Object(_) => names_only = false,
                    other => {
                        return Err(problem(
                            &child(location, &index.to_string()),
                            format!(
                                "a `type` union member must be a type name or a schema, found {}",
                                crate::json_kind::json_kind(other)
                            ),
                        ))
                    }
                }
            }
            if names_only {
                return Ok(TypeConstraint::Types(value.clone()));
            }
            let mut any_of = Vec::with_capacity(members.len());
            for (index, member) in members.iter().enumerate() {
                any_of.push(match member {
                    Value::String(name) => type_schema(name),
                    schema => convert_schema(schema, &child(location, &index.to_string()), depth)?,
                });
            }
            Ok(TypeConstraint::AnyOf(any_of))
        }
        other => Err(problem(
            location,
            format!(
                "`type` must be a type name or an array, found {}",
                crate::json_kind::json_kind(other)
            ),
        )),
    }
}

/// The `anyOf` members a draft-3 `disallow` forbids (empty: nothing is forbidden).
fn convert_disallow(
    value: &Value,
    location: &str,
    depth: usize,
) -> Result<Vec<Value>, SchemaConversionError> {
    let one_member = |member: &Value, at: &str| -> Result<Value, SchemaConversionError> {
        match member {
            Value::String(name) => Ok(if check_type_name(name, at)? == "any" {
                Value::Object(Map::new())
            } else {
                type_schema(name)
            }),
            Value::Object(_) => convert_schema(member, at, depth),
            other => Err(problem(
                at,
                format!(
                    "a `disallow` member must be a type name or a schema, found {}",
                    crate::json_kind::json_kind(other)
                ),
            )),
        }
    };
    match value {
        Value::String(_) => Ok(vec![one_member(value, location)?]),
        Value::Array(members) => members
            .iter()
            .enumerate()
            .map(|(index, member)| one_member(member, &child(location, &index.to_string())))
            .collect(),
        other => Err(problem(
            location,
            format!(
                "`disallow` must be a type name or an array, found {}",
                crate::json_kind::json_kind(other)
            ),
        )),
    }
}

fn convert_extends(
    value: &Value,
    location: &str,
    depth: usize,
) -> Result<Vec<Value>, SchemaConversionError> {
    match value {
        Value::Object(_) => Ok(vec![convert_schema(value, location, depth)?]),
        Value::Array(schemas) => convert_schema_list(schemas, location, depth),
        other => Err(problem(
            location,
            format!(
                "`extends` must be a schema or an array of schemas, found {}",
                crate::json_kind::json_kind(other)
            ),
        )),
    }
}

fn convert_schema_list(
    schemas: &[Value],
    location: &str,
    depth: usize,
) -> Result<Vec<Value>, SchemaConversionError> {
    schemas
        .iter()
        .enumerate()
        .map(|(index, schema)| convert_schema(schema, &child(location, &index.to_string()), depth))
        .collect()
}

/// Converts an object whose values are schemas (`patternProperties`, `definitions`).
fn convert_schema_map(
    value: &Value,
    location: &str,
    depth: usize,
) -> Result<Value, SchemaConversionError> {
    let Value::Object(entries) = value else {
        return Err(problem(
            location,
            format!(
                "expected an object of schemas, found {}",
                crate::json_kind::json_kind(value)
            ),
        ));
    };
    let mut out = Map::new();
    for (name, schema) in entries {
        out.insert(
            name.clone(),
            convert_schema(schema, &child(location, name), depth)?,
        );
    }
    Ok(Value::Object(out))
}

/// Converts `properties` and collects the names of the properties marked `"required": true`,
/// in property order.
fn convert_properties(
    value: &Value,
    location: &str,
    depth: usize,
) -> Result<(Value, Vec<Value>), SchemaConversionError> {
    let converted = convert_schema_map(value, location, depth)?;
    let required = match value {
        Value::Object(properties) => properties
            .iter()
            .filter(|(_, schema)| schema.get("required") == Some(&Value::Bool(true)))
            .map(|(name, _)| Value::String(name.clone()))
            .collect(),
        _ => Vec::new(),
    };
    Ok((converted, required))
}

fn convert_dependencies(
    value: &Value,
    location: &str,
    depth: usize,
) -> Result<Value, SchemaConversionError> {
    let Value::Object(dependencies) = value else {
        return Err(problem(
            location,
            format!(
                "`dependencies` must be an object, found {}",
                crate::json_kind::json_kind(value)
            ),
        ));
    };
    let mut out = Map::new();
    for (property, dependency) in dependencies {
        let at = child(location, property);
        let converted = match dependency {
            Value::String(name) => Value::Array(vec![Value::String(name.clone())]),
            Value::Array(names) => {
                if let Some((index, other)) =
                    names.iter().enumerate().find(|(_, name)| !name.is_string())
                {
                    return Err(problem(
                        &child(&at, &index.to_string()),
                        format!(
                            "a property dependency must be a property name, found {}",
                            crate::json_kind::json_kind(other)
                        ),
                    ));
                }
                dependency.clone()
            }
            Value::Object(_) => convert_schema(dependency, &at, depth)?,
            other => {
                return Err(problem(
                    &at,
                    format!(
                        "a dependency must be a property name, an array of them or a schema, \
                         found {}",
                        crate::json_kind::json_kind(other)
                    ),
                ))
            }
        };
        out.insert(property.clone(), converted);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Converts `draft3` and builds a draft-4 validator from it, formats off (as in production).
    fn validator(draft3: Value) -> jsonschema::Validator {
        let converted = draft3_to_draft4(&draft3).expect("conversion");
        jsonschema::draft4::options()
            .should_validate_formats(false)
            .build(&converted)
            .unwrap_or_else(|error| panic!("draft-4 build of {converted}: {error}"))
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("test JSON")
    }

    fn accepts(validator: &jsonschema::Validator, text: &str) -> bool {
        validator.is_valid(&parse(text))
    }

    #[test]
    fn required_moves_to_parent_in_property_order() {
        let schema = json!({"properties": {
            "b": {"type": "string", "required": true},
            "a": {"type": "string", "required": true},
            "c": {"type": "string", "required": false},
            "d": {"type": "string"}
        }});
        let converted = draft3_to_draft4(&schema).expect("conversion");
        assert_eq!(converted["required"], json!(["a", "b"]));
        assert_eq!(converted["properties"]["c"], json!({"type": "string"}));
        assert_eq!(converted["$schema"], json!(DRAFT4_SCHEMA_URI));

        let v = validator(schema);
        assert!(accepts(&v, r#"{"a": "x", "b": "y"}"#));
        assert!(!accepts(&v, r#"{"a": "x"}"#), "b is required");
        assert!(!accepts(&v, r#"{"b": "y"}"#), "a is required");
        assert!(accepts(&v, r#"{"a": "x", "b": "y", "c": "z"}"#));
        assert!(!accepts(&v, r#"{"a": "x", "b": "y", "c": 1}"#));
    }

    #[test]
    fn required_applies_in_nested_objects_too() {
        let v = validator(json!({"properties": {"outer": {
            "type": "object",
            "properties": {"inner": {"type": "integer", "required": true}}
        }}}));
        assert!(accepts(&v, r#"{"outer": {"inner": 1}}"#));
        assert!(!accepts(&v, r#"{"outer": {}}"#));
        assert!(accepts(&v, r#"{}"#), "outer itself is optional");
    }

    #[test]
    fn non_boolean_required_is_rejected() {
        let error = draft3_to_draft4(&json!({"properties": {"a": {"required": ["x"]}}}))
            .expect_err("required must be boolean");
        assert_eq!(error.location, "/properties/a/required");
        assert_eq!(
            error.to_string(),
            "invalid draft-3 schema at #/properties/a/required: \
             `required` must be a boolean, found an array"
        );
    }

    #[test]
    fn type_any_means_no_constraint() {
        let schema =
            json!({"properties": {"x": {"type": "any"}, "y": {"type": ["string", "any"]}}});
        let converted = draft3_to_draft4(&schema).expect("conversion");
        assert_eq!(converted["properties"]["x"], json!({}));
        assert_eq!(converted["properties"]["y"], json!({}));
        let v = validator(schema);
        for instance in [
            r#"{"x": 1, "y": 1}"#,
            r#"{"x": "s", "y": null}"#,
            r#"{"x": [1], "y": {"a": 1}}"#,
            r#"{"x": true, "y": 1.5}"#,
        ] {
            assert!(accepts(&v, instance), "{instance}");
        }
    }

    #[test]
    fn integer_and_number_follow_python_types() {
        let v = validator(json!({"properties": {
            "i": {"type": "integer"},
            "n": {"type": "number"}
        }}));
        assert!(accepts(&v, r#"{"i": 1, "n": 1}"#));
        assert!(accepts(&v, r#"{"i": -7, "n": 1.5}"#));
        assert!(accepts(&v, r#"{"i": 12345678901234567890123, "n": 1e400}"#));
        assert!(!accepts(&v, r#"{"i": 1.0}"#), "1.0 is a Python float");
        assert!(!accepts(&v, r#"{"i": 1e2}"#), "1e2 is a Python float");
        assert!(!accepts(&v, r#"{"i": true}"#));
        assert!(!accepts(&v, r#"{"i": "1"}"#));
        assert!(!accepts(&v, r#"{"n": true}"#));
        assert!(!accepts(&v, r#"{"n": "1.5"}"#));
    }

    #[test]
    fn type_union_of_names() {
        let v = validator(json!({"properties": {"u": {"type": ["string", "integer"]}}}));
        assert!(accepts(&v, r#"{"u": "a"}"#));
        assert!(accepts(&v, r#"{"u": 3}"#));
        assert!(!accepts(&v, r#"{"u": 1.5}"#));
        assert!(!accepts(&v, r#"{"u": 1.0}"#));
        assert!(!accepts(&v, r#"{"u": null}"#));
    }

    #[test]
    fn type_union_with_schemas_becomes_any_of() {
        let schema = json!({"properties": {"u": {"type": [
            "null",
            {"type": "object", "properties": {"k": {"type": "string", "required": true}}}
        ]}}});
        let converted = draft3_to_draft4(&schema).expect("conversion");
        assert_eq!(
            converted["properties"]["u"],
            json!({"anyOf": [
                {"type": "null"},
                {"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"]}
            ]})
        );
        let v = validator(schema);
        assert!(accepts(&v, r#"{"u": null}"#));
        assert!(accepts(&v, r#"{"u": {"k": "v"}}"#));
        assert!(!accepts(&v, r#"{"u": {}}"#), "the schema member requires k");
        assert!(!accepts(&v, r#"{"u": "s"}"#));
    }

    #[test]
    fn empty_type_union_matches_nothing() {
        let v = validator(json!({"properties": {"x": {"type": []}}}));
        assert!(accepts(&v, r#"{}"#));
        assert!(!accepts(&v, r#"{"x": 1}"#));
        assert!(!accepts(&v, r#"{"x": null}"#));
    }

    #[test]
    fn unknown_type_names_are_rejected() {
        let error = draft3_to_draft4(&json!({"properties": {"x": {"type": ["string", "float"]}}}))
            .expect_err("float is not a type name");
        assert_eq!(error.location, "/properties/x/type/1");
        assert!(error.problem.contains("\"float\""), "{error}");
        assert!(draft3_to_draft4(&json!({"type": 5})).is_err());
    }

    #[test]
    fn divisible_by_becomes_multiple_of() {
        let schema = json!({"properties": {"d": {"type": "number", "divisibleBy": 0.5}}});
        let converted = draft3_to_draft4(&schema).expect("conversion");
        assert_eq!(
            converted["properties"]["d"],
            json!({"type": "number", "multipleOf": 0.5})
        );
        let v = validator(schema);
        assert!(accepts(&v, r#"{"d": 1.5}"#));
        assert!(accepts(&v, r#"{"d": 2}"#));
        assert!(!accepts(&v, r#"{"d": 1.25}"#));
        let v = validator(json!({"properties": {"d": {"divisibleBy": 3}}}));
        assert!(accepts(&v, r#"{"d": 9}"#));
        assert!(!accepts(&v, r#"{"d": 10}"#));
    }

    #[test]
    fn extends_object_and_array_become_all_of() {
        let v = validator(json!({"properties": {"e": {
            "type": "object",
            "extends": {"properties": {"a": {"type": "integer", "required": true}}}
        }}}));
        assert!(accepts(&v, r#"{"e": {"a": 1}}"#));
        assert!(!accepts(&v, r#"{"e": {}}"#));
        assert!(!accepts(&v, r#"{"e": {"a": "1"}}"#));

        let v = validator(json!({"properties": {"e": {"extends": [
            {"type": "string"},
            {"maxLength": 3}
        ]}}}));
        assert!(accepts(&v, r#"{"e": "abc"}"#));
        assert!(!accepts(&v, r#"{"e": "abcd"}"#));
        assert!(!accepts(&v, r#"{"e": 5}"#));

        let converted = draft3_to_draft4(&json!({"extends": []})).expect("conversion");
        assert_eq!(converted, json!({"$schema": DRAFT4_SCHEMA_URI}));
    }

    #[test]
    fn disallow_type_names_and_schemas() {
        let v = validator(json!({"properties": {"x": {"disallow": "string"}}}));
        assert!(accepts(&v, r#"{"x": 1}"#));
        assert!(!accepts(&v, r#"{"x": "s"}"#));

        let schema = json!({"properties": {"x": {"disallow": [
            "null",
            {"type": "integer", "minimum": 10}
        ]}}});
        let converted = draft3_to_draft4(&schema).expect("conversion");
        assert_eq!(
            converted["properties"]["x"],
            json!({"not": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 10}]}})
        );
        let v = validator(schema);
        assert!(accepts(&v, r#"{"x": 5}"#));
        assert!(accepts(&v, r#"{"x": "s"}"#));
        assert!(!accepts(&v, r#"{"x": null}"#));
        assert!(!accepts(&v, r#"{"x": 10}"#));

        let v = validator(json!({"properties": {"x": {"disallow": "any"}}}));
        assert!(accepts(&v, r#"{}"#));
        assert!(!accepts(&v, r#"{"x": 1}"#));
        assert!(!accepts(&v, r#"{"x": null}"#));
    }

    #[test]
    fn string_dependency_becomes_array() {
        let schema = json!({"dependencies": {"a": "b", "c": ["d", "e"], "f": {"properties": {"g": {"type": "string"}}}}});
        let converted = draft3_to_draft4(&schema).expect("conversion");
        assert_eq!(converted["dependencies"]["a"], json!(["b"]));
        let v = validator(schema);
        assert!(accepts(&v, r#"{"a": 1, "b": 2}"#));
        assert!(!accepts(&v, r#"{"a": 1}"#));
        assert!(accepts(&v, r#"{"b": 2}"#));
        assert!(!accepts(&v, r#"{"c": 1, "d": 2}"#));
        assert!(accepts(&v, r#"{"c": 1, "d": 2, "e": 3}"#));
        assert!(accepts(&v, r#"{"f": 1, "g": "s"}"#));
        assert!(!accepts(&v, r#"{"f": 1, "g": 2}"#));
    }

    #[test]
    fn exclusive_minimum_and_maximum_keep_draft3_meaning() {
        let v = validator(json!({"properties": {
            "lo": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
            "hi": {"type": "number", "maximum": 10, "exclusiveMaximum": true},
            "incl": {"type": "integer", "minimum": 0, "maximum": 10}
        }}));
        assert!(accepts(&v, r#"{"lo": 0.001, "hi": 9.999, "incl": 0}"#));
        assert!(accepts(&v, r#"{"incl": 10}"#));
        assert!(!accepts(&v, r#"{"lo": 0}"#));
        assert!(!accepts(&v, r#"{"hi": 10}"#));
        assert!(!accepts(&v, r#"{"incl": -1}"#));
    }

    #[test]
    fn items_additional_items_and_pattern_properties_are_converted() {
        let v = validator(json!({"properties": {
            "list": {"type": "array", "items": {"type": "any", "disallow": "null"}},
            "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}],
                      "additionalItems": {"type": "boolean"}},
            "map": {"type": "object",
                    "patternProperties": {"^n_": {"type": "number"}},
                    "additionalProperties": {"type": "string"}}
        }}));
        assert!(accepts(&v, r#"{"list": [1, "a", {}]}"#));
        assert!(!accepts(&v, r#"{"list": [1, null]}"#));
        assert!(accepts(&v, r#"{"tuple": ["a", 1, true, false]}"#));
        assert!(!accepts(&v, r#"{"tuple": ["a", 1, 2]}"#));
        assert!(!accepts(&v, r#"{"tuple": [1]}"#));
        assert!(accepts(&v, r#"{"map": {"n_a": 1.5, "other": "s"}}"#));
        assert!(!accepts(&v, r#"{"map": {"n_a": "x"}}"#));
        assert!(!accepts(&v, r#"{"map": {"other": 1}}"#));
    }

    #[test]
    fn ref_is_kept_and_definitions_are_converted() {
        let schema = json!({
            "definitions": {"id": {"type": "integer", "minimum": 1}},
            "properties": {"a": {"$ref": "#/definitions/id", "required": true}}
        });
        let converted = draft3_to_draft4(&schema).expect("conversion");
        assert_eq!(
            converted["properties"]["a"],
            json!({"$ref": "#/definitions/id"})
        );
        assert_eq!(converted["required"], json!(["a"]));
        let v = validator(schema);
        assert!(accepts(&v, r#"{"a": 3}"#));
        assert!(!accepts(&v, r#"{"a": 0}"#));
        assert!(!accepts(&v, r#"{}"#));
    }

    #[test]
    fn inner_schema_uris_are_dropped_and_root_gets_draft4() {
        let converted = draft3_to_draft4(&json!({
            "$schema": "http://json-schema.org/draft-03/schema#",
            "properties": {"a": {"$schema": "http://json-schema.org/draft-03/schema#", "type": "string"}}
        }))
        .expect("conversion");
        assert_eq!(
            converted,
            json!({"$schema": DRAFT4_SCHEMA_URI, "properties": {"a": {"type": "string"}}})
        );
    }

    #[test]
    fn draft4_only_keywords_are_ignored_like_draft3_does() {
        let v = validator(json!({"properties": {"x": {
            "type": "integer",
            "multipleOf": 7,
            "anyOf": [{"type": "string"}],
            "not": {"type": "integer"}
        }}, "minProperties": 5}));
        assert!(accepts(&v, r#"{"x": 3}"#));
    }

    #[test]
    fn format_is_kept_but_not_enforced() {
        let schema = json!({"properties": {"dt": {"type": "string", "format": "date-time"}}});
        let converted = draft3_to_draft4(&schema).expect("conversion");
        assert_eq!(converted["properties"]["dt"]["format"], json!("date-time"));
        let v = validator(schema);
        assert!(accepts(&v, r#"{"dt": "not-a-date"}"#));
    }

    #[test]
    fn malformed_subschemas_are_reported_with_their_location() {
        let cases = [
            (json!({"properties": {"a": 5}}), "/properties/a"),
            (json!({"properties": []}), "/properties"),
            (json!({"items": "x"}), "/items"),
            (json!({"items": [{}, 3]}), "/items/1"),
            (
                json!({"additionalProperties": "no"}),
                "/additionalProperties",
            ),
            (json!({"extends": 1}), "/extends"),
            (json!({"disallow": [1]}), "/disallow/0"),
            (json!({"dependencies": {"a": 1}}), "/dependencies/a"),
            (
                json!({"dependencies": {"a": ["b", 2]}}),
                "/dependencies/a/1",
            ),
            (
                json!({"properties": {"a/b~c": {"type": {}}}}),
                "/properties/a~1b~0c/type",
            ),
            (json!([]), ""),
        ];
        for (schema, location) in cases {
            let error = draft3_to_draft4(&schema).expect_err("malformed");
            assert_eq!(error.location, location, "{schema}");
        }
    }

    #[test]
    fn excessive_nesting_is_an_error_not_a_stack_overflow() {
        let mut schema = json!({"type": "string"});
        for _ in 0..(MAX_SCHEMA_DEPTH + 5) {
            schema = json!({"items": schema});
        }
        let error = draft3_to_draft4(&schema).expect_err("too deep");
        assert!(error.problem.contains("nested more than"), "{error}");

        let mut shallow = json!({"type": "string"});
        for _ in 0..(MAX_SCHEMA_DEPTH - 1) {
            shallow = json!({"items": shallow});
        }
        assert!(draft3_to_draft4(&shallow).is_ok());
    }
}
