//! A quicker yes/no validity check for the schemas the pipeline sees on every line.
//!
//! `jsonschema`'s `is_valid` looks every declared property up in the instance's map and every
//! instance key up in the schema's property map (a string comparison per tree level). Events
//! are objects of a few dozen keys checked against `properties`, `required` and
//! `additionalProperties: false`, and those lookups were most of the validation cost. This
//! validator walks the instance's (sorted) keys and the schema's (sorted) properties side by
//! side instead, one comparison per key.
//!
//! It stays exact by keeping its own rules few and simple, and leaving the rest to `jsonschema`:
//! - checked here: `type`, `properties`, `required`, `additionalProperties`, `items` (as one
//!   schema), whose draft-4/6/7 semantics do not differ; and, because a `jsonschema` call per
//!   value costs more than the check itself, `enum`s of strings only, `minimum`/`maximum` with an
//!   integer limit (and draft 4's boolean `exclusiveMinimum`/`exclusiveMaximum`) on numbers
//!   written as integers, `minLength`/`maxLength` (in code points), `pattern`s that mean the
//!   same in both regex dialects, and the `format`s the full validator was given as functions
//!   (the AJV formats of Event Platform schemas: the same function gives both verdicts, without
//!   the event's string copied into a `Value` for the library);
//! - every other keyword of a schema node (other `pattern`s and `enum`s, `anyOf`, `format`, …) stays
//!   together in a small schema compiled by `jsonschema` with the same draft and options as the
//!   full validator, and is run on the same instance;
//! - `properties`/`additionalProperties` are left to that small schema whenever
//!   `patternProperties` takes part in the decision;
//! - whether a number written with a fraction or an exponent is an `integer` (draft 4 says no,
//!   later drafts look at its value), or within a bound, is asked of `jsonschema` too;
//! - a schema with a `$ref` anywhere gets no fast validator (the keywords around a `$ref` are
//!   ignored and its target needs the whole document), nor does one with another of the
//!   [`WHOLE_DOCUMENT_KEYWORDS`], one nested deeper than [`MAX_DEPTH`], or one of a draft other
//!   than 4, 6 and 7.
//!
//! Draft 4-7 validation is the conjunction of independent keywords apart from the groups kept
//! together above, so the answer is the full validator's. Callers still take the error message
//! from the full validator. Property tests compare the two verdicts on generated schemas and
//! instances, for whole schemas and for the leaf keywords checked here.

use std::cell::OnceCell;
use std::cmp::Ordering;
use std::sync::Arc;

use beacon_parsers::json::key_order::{compare_keys, sort_word};
use beacon_parsers::json::{JsonKind, JsonView};

use super::formats::KnownFormat;
use serde_json::{Map, Value};

/// Deepest schema nesting given a fast validator (real schemas are a few levels deep).
pub const MAX_DEPTH: usize = 32;

/// Keywords that never affect validity here (annotations, or only reachable through `$ref`).
const IGNORED_KEYWORDS: [&str; 9] = [
    "$schema",
    "$id",
    "id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "definitions",
];

/// Keywords that need the whole document or see what sibling keywords evaluated: a schema with
/// any of them, anywhere, gets no fast validator (the last four only exist from draft 2019-09 on,
/// which has none anyway; refused all the same in case a validator honours them earlier).
pub const WHOLE_DOCUMENT_KEYWORDS: [&str; 5] = [
    "$ref",
    "$recursiveRef",
    "$dynamicRef",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// Builds a full `jsonschema` validator for a (small) schema document, with the options of the
/// validator the fast one stands in for; `None` when it does not compile.
pub type Compile<'a> = dyn Fn(&Value) -> Option<jsonschema::Validator> + 'a;

/// Whether the full validator checks `format` keywords (`should_validate_formats`).
#[derive(Debug, Clone, Copy)]
pub enum Formats {
    /// Formats are checked: the formats listed (the ones the full validator was given with
    /// `with_format`) are checked here, other `format` keywords go to the small `jsonschema`
    /// validators.
    Validated(&'static [KnownFormat]),
    /// Formats are annotations only: `format` keywords are ignored, as the full validator
    /// ignores them.
    Annotations,
}

/// A fast validity check equivalent to one compiled `jsonschema` validator (see the module
/// docs). Cheap to share between threads.
#[derive(Debug)]
pub struct FastValidator {
    root: Node,
}

impl FastValidator {
    /// The fast validator for `document`, or `None` when it cannot stand in for the full one
    /// (a `$ref` or another of the [`WHOLE_DOCUMENT_KEYWORDS`], an unsupported draft, nesting
    /// deeper than [`MAX_DEPTH`], a schema shape the full validator would have refused).
    /// `compile` builds the small validators of the delegated keywords, with the full
    /// validator's draft and options.
    pub fn build(
        document: &Value,
        draft: jsonschema::Draft,
        formats: Formats,
        compile: &Compile<'_>,
    ) -> Option<Self> {
        let boolean_schemas = match draft {
            jsonschema::Draft::Draft4 => false,
            jsonschema::Draft::Draft6 | jsonschema::Draft::Draft7 => true,
            _ => return None,
        };
        if needs_whole_document(document, 0)? {
            return None;
        }
        let builder = Builder {
            compile,
            formats,
            boolean_schemas,
            integer: OnceCell::new(),
        };
        Some(FastValidator {
            root: builder.node(document, 0)?,
        })
    }

    /// Whether `instance` is valid: the full validator's `is_valid`.
    pub fn is_valid(&self, instance: &Value) -> bool {
        self.root.admits(instance)
    }

    /// [`is_valid`](Self::is_valid) of any JSON value, e.g. a parsed document's node.
    pub fn is_valid_view<'a, V: JsonView<'a>>(&self, instance: V) -> bool {
        self.root.admits(instance)
    }
}

/// One schema node.
#[derive(Debug)]
enum Node {
    /// `true` or `{}`-like: every instance.
    Any,
    /// `false`: no instance.
    Nothing,
    Rules(Box<Rules>),
}

#[derive(Debug)]
struct Rules {
    /// `type`, when present.
    types: Option<TypeSet>,
    /// `{"type": "integer"}`, asked for numbers when `types` allows integers but not numbers.
    integer: Option<Arc<jsonschema::Validator>>,
    /// `properties`, `required`, `additionalProperties` (for object instances).
    object: Option<ObjectRules>,
    /// `items` as one schema (for array instances).
    items: Option<Node>,
    /// String `enum`s, integer `minimum`/`maximum`, `minLength`/`maxLength`.
    leaves: Vec<Leaf>,
    /// Every other keyword of the node, as one schema. Boxed, like [`Leaf::Bound`]'s fallback:
    /// a `jsonschema::Validator` is several words, and keeping it out of line keeps the parts
    /// every instance reads (types, properties, leaves) in fewer cache lines.
    rest: Option<Box<jsonschema::Validator>>,
}

/// A keyword checked here because calling a small `jsonschema` validator per value costs more
/// than the check (each call sets up a validation context).
#[derive(Debug)]
enum Leaf {
    /// An `enum` of strings only: the instance must be one of them.
    StringEnum(Vec<String>),
    /// `minimum` or `maximum` with an integer limit; numbers that are not plain integers are
    /// left to `fallback` (the same keywords compiled by `jsonschema`).
    Bound {
        limit: i64,
        lower: bool,
        exclusive: bool,
        /// Boxed: rarely used, and inline it would make every leaf twice as large.
        fallback: Box<jsonschema::Validator>,
    },
    /// `minLength` or `maxLength`, in code points.
    Length { limit: u64, lower: bool },
    /// A `pattern` written only with constructs that mean the same in ECMA 262 and in the
    /// `regex` crate (see [`plain_pattern`]).
    Pattern(regex::Regex),
    /// A `format` the full validator was given (`with_format`): strings must pass the check.
    Format(fn(&str) -> bool),
}

#[derive(Debug)]
struct ObjectRules {
    /// Declared properties, sorted by name (the order of `serde_json::Map`'s keys).
    properties: Vec<Property>,
    /// How many declared properties are required.
    required_declared: usize,
    /// Required names that are not declared properties.
    required_undeclared: Vec<String>,
    additional: Additional,
}

#[derive(Debug)]
struct Property {
    name: String,
    /// [`sort_word`] of `name`.
    word: u64,
    schema: Node,
    required: bool,
}

#[derive(Debug)]
enum Additional {
    Allowed,
    Forbidden,
    Schema(Node),
}

/// A set of JSON Schema type names.
#[derive(Debug, Clone, Copy, Default)]
struct TypeSet {
    null: bool,
    boolean: bool,
    object: bool,
    array: bool,
    number: bool,
    integer: bool,
    string: bool,
}

impl TypeSet {
    fn parse(value: &Value) -> Option<Self> {
        let mut set = TypeSet::default();
        match value {
            Value::String(name) => set.add(name)?,
            Value::Array(names) => {
                for name in names {
                    set.add(name.as_str()?)?;
                }
            }
            _ => return None,
        }
        Some(set)
    }

    fn add(&mut self, name: &str) -> Option<()> {
        let flag = match name {
            "null" => &mut self.null,
            "boolean" => &mut self.boolean,
            "object" => &mut self.object,
            "array" => &mut self.array,
            "number" => &mut self.number,
            "integer" => &mut self.integer,
            "string" => &mut self.string,
            _ => return None,
        };
        *flag = true;
        Some(())
    }
}

struct Builder<'c, 'a> {
    compile: &'c Compile<'a>,
    formats: Formats,
    boolean_schemas: bool,
    /// `{"type": "integer"}`, compiled once for every node that needs it.
    integer: OnceCell<Option<Arc<jsonschema::Validator>>>,
}

impl Builder<'_, '_> {
    /// The check of a `format` keyword's value, when it is one of the known formats.
    fn known_format(&self, value: &Value) -> Option<fn(&str) -> bool> {
        let Formats::Validated(known) = self.formats else {
            return None;
        };
        let name = value.as_str()?;
        known
            .iter()
            .find(|format| format.name == name)
            .map(|format| format.check)
    }

    fn node(&self, schema: &Value, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        let object = match schema {
            Value::Bool(true) if self.boolean_schemas => return Some(Node::Any),
            Value::Bool(false) if self.boolean_schemas => return Some(Node::Nothing),
            Value::Object(object) => object,
            _ => return None,
        };
        let mut rest = Map::new();
        let mut rules = Rules {
            types: None,
            integer: None,
            object: None,
            items: None,
            leaves: Vec::new(),
            rest: None,
        };
        let walk_properties = !object.contains_key("patternProperties");
        for (keyword, value) in object {
            match keyword.as_str() {
                "type" => {
                    let types = TypeSet::parse(value)?;
                    if types.integer && !types.number {
                        let integer = self
                            .integer
                            .get_or_init(|| (self.compile)(&integer_schema()).map(Arc::new));
                        rules.integer = Some(Arc::clone(integer.as_ref()?));
                    }
                    rules.types = Some(types);
                }
                "enum" => match string_enum(value) {
                    Some(items) => rules.leaves.push(Leaf::StringEnum(items)),
                    None => {
                        rest.insert(keyword.clone(), value.clone());
                    }
                },
                "minimum" | "maximum" if value.is_i64() => {
                    let lower = keyword == "minimum";
                    // Draft 4's boolean `exclusiveMinimum`/`exclusiveMaximum` modify the bound
                    // (later drafts' numeric ones are separate keywords, left to `rest`).
                    let modifier = if lower {
                        "exclusiveMinimum"
                    } else {
                        "exclusiveMaximum"
                    };
                    let mut bound = Map::new();
                    bound.insert(keyword.clone(), value.clone());
                    let mut exclusive = false;
                    if !self.boolean_schemas {
                        match object.get(modifier) {
                            None => {}
                            Some(Value::Bool(flag)) => {
                                exclusive = *flag;
                                bound.insert(modifier.to_owned(), Value::Bool(*flag));
                            }
                            Some(_) => return None,
                        }
                    }
                    rules.leaves.push(Leaf::Bound {
                        limit: value.as_i64()?,
                        lower,
                        exclusive,
                        fallback: Box::new((self.compile)(&Value::Object(bound))?),
                    });
                }
                // Taken with their bound above (draft 4 only).
                "exclusiveMinimum"
                    if !self.boolean_schemas
                        && object.get("minimum").is_some_and(Value::is_i64) => {}
                "exclusiveMaximum"
                    if !self.boolean_schemas
                        && object.get("maximum").is_some_and(Value::is_i64) => {}
                "minLength" | "maxLength" if value.is_u64() => {
                    rules.leaves.push(Leaf::Length {
                        limit: value.as_u64()?,
                        lower: keyword == "minLength",
                    });
                }
                "pattern" if value.as_str().and_then(plain_pattern).is_some() => {
                    rules
                        .leaves
                        .push(Leaf::Pattern(value.as_str().and_then(plain_pattern)?));
                }
                "items" if !value.is_array() => {
                    rules.items = Some(self.node(value, depth + 1)?);
                }
                // Ignored by the full validator too when `items` is one schema.
                "additionalItems" if object.get("items").is_some_and(|i| !i.is_array()) => {}
                "properties" | "required" | "additionalProperties" if walk_properties => {}
                keyword if IGNORED_KEYWORDS.contains(&keyword) => {}
                "format" if matches!(self.formats, Formats::Annotations) => {}
                "format" if self.known_format(value).is_some() => {
                    rules.leaves.push(Leaf::Format(self.known_format(value)?));
                }
                _ => {
                    rest.insert(keyword.clone(), value.clone());
                }
            }
        }
        if walk_properties {
            rules.object = self.object_rules(object, depth)?;
        }
        if !rest.is_empty() {
            rules.rest = Some(Box::new((self.compile)(&Value::Object(rest))?));
        }
        let empty = rules.types.is_none()
            && rules.object.is_none()
            && rules.items.is_none()
            && rules.leaves.is_empty()
            && rules.rest.is_none();
        Some(if empty {
            Node::Any
        } else {
            Node::Rules(Box::new(rules))
        })
    }

    /// `properties`, `required` and `additionalProperties` of a node without
    /// `patternProperties`; `Ok(None)`-like `Some(None)` when it has none of them.
    fn object_rules(
        &self,
        object: &Map<String, Value>,
        depth: usize,
    ) -> Option<Option<ObjectRules>> {
        let properties = object.get("properties");
        let required = object.get("required");
        let additional = object.get("additionalProperties");
        if properties.is_none() && required.is_none() && additional.is_none() {
            return Some(None);
        }
        let mut required_names: Vec<&str> = match required {
            None => Vec::new(),
            Some(Value::Array(names)) => names.iter().map(Value::as_str).collect::<Option<_>>()?,
            Some(_) => return None,
        };
        required_names.sort_unstable();
        required_names.dedup();
        let mut declared = Vec::new();
        match properties {
            None => {}
            Some(Value::Object(map)) => {
                for (name, schema) in map {
                    declared.push(Property {
                        name: name.clone(),
                        word: sort_word(name.as_bytes()),
                        schema: self.node(schema, depth + 1)?,
                        required: required_names.binary_search(&name.as_str()).is_ok(),
                    });
                }
            }
            Some(_) => return None,
        }
        // `serde_json::Map` iterates in key order already; sort anyway so that the walk does not
        // depend on it.
        declared.sort_by(|a, b| a.name.cmp(&b.name));
        let required_declared = declared.iter().filter(|p| p.required).count();
        let required_undeclared = required_names
            .iter()
            .filter(|name| {
                declared
                    .binary_search_by(|p| p.name.as_str().cmp(name))
                    .is_err()
            })
            .map(|name| (*name).to_owned())
            .collect();
        let additional = match additional {
            None | Some(Value::Bool(true)) => Additional::Allowed,
            Some(Value::Bool(false)) => Additional::Forbidden,
            Some(schema @ Value::Object(_)) => match self.node(schema, depth + 1)? {
                Node::Any => Additional::Allowed,
                node => Additional::Schema(node),
            },
            Some(_) => return None,
        };
        Some(Some(ObjectRules {
            properties: declared,
            required_declared,
            required_undeclared,
            additional,
        }))
    }
}

/// `pattern` compiled with the `regex` crate when it uses nothing but ASCII letters and digits,
/// `_`, `-`, `:`, `/`, anchors (`^`, `$`), bracketed classes, groups, alternation and
/// quantifiers: no escapes, no `.`, no flags. Such a pattern matches the same strings in ECMA 262
/// (what JSON Schema specifies, and what `jsonschema` translates into its engine) and here: the
/// differences between the dialects (`\d`, `\w`, `\s`, `.`, `$` before a newline in other
/// dialects, lookaround, backreferences) all need a character excluded here.
fn plain_pattern(pattern: &str) -> Option<regex::Regex> {
    let plain = pattern
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || b"_-:/^$[]{},+*?|()".contains(&byte));
    if !plain {
        return None;
    }
    regex::Regex::new(pattern).ok()
}

/// The items of an `enum` that lists only strings.
fn string_enum(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

fn integer_schema() -> Value {
    Value::Object(Map::from_iter([(
        "type".to_owned(),
        Value::String("integer".to_owned()),
    )]))
}

/// Whether any object in `value` has one of the [`WHOLE_DOCUMENT_KEYWORDS`]; `None` past [`MAX_DEPTH`] levels (deeper
/// schemas are refused anyway).
fn needs_whole_document(value: &Value, depth: usize) -> Option<bool> {
    if depth > MAX_DEPTH * 2 {
        return None;
    }
    match value {
        Value::Object(map) => {
            if WHOLE_DOCUMENT_KEYWORDS
                .iter()
                .any(|keyword| map.contains_key(*keyword))
            {
                return Some(true);
            }
            for child in map.values() {
                if needs_whole_document(child, depth + 1)? {
                    return Some(true);
                }
            }
            Some(false)
        }
        Value::Array(items) => {
            for child in items {
                if needs_whole_document(child, depth + 1)? {
                    return Some(true);
                }
            }
            Some(false)
        }
        _ => Some(false),
    }
}

impl Node {
    fn admits<'a, V: JsonView<'a>>(&self, instance: V) -> bool {
        match self {
            Node::Any => true,
            Node::Nothing => false,
            Node::Rules(rules) => rules.admit(instance),
        }
    }
}

impl Rules {
    fn admit<'a, V: JsonView<'a>>(&self, instance: V) -> bool {
        let kind = instance.kind();
        if let Some(types) = self.types {
            let admitted = match kind {
                JsonKind::Null => types.null,
                JsonKind::Bool => types.boolean,
                JsonKind::String => types.string,
                JsonKind::Array => types.array,
                JsonKind::Object => types.object,
                JsonKind::Number => {
                    types.number
                        || (types.integer
                            && (instance.number_text().is_some_and(is_plain_integer)
                                || self
                                    .integer
                                    .as_ref()
                                    .is_some_and(|integer| integer.is_valid(&instance.to_value()))))
                }
            };
            if !admitted {
                return false;
            }
        }
        let structure = match kind {
            JsonKind::Object => self
                .object
                .as_ref()
                .is_none_or(|rules| rules.admit(instance)),
            JsonKind::Array => self
                .items
                .as_ref()
                .is_none_or(|node| instance.items().all(|item| node.admits(item))),
            _ => true,
        };
        structure
            && self.leaves.iter().all(|leaf| leaf.admits(instance))
            && self
                .rest
                .as_ref()
                .is_none_or(|rest| rest.is_valid(&instance.to_value()))
    }
}

/// A number written without fraction or exponent: an integer in every draft (the others are
/// asked of `jsonschema`, whose answer depends on the draft).
fn is_plain_integer(number_text: &str) -> bool {
    !number_text.contains(['.', 'e', 'E'])
}

impl Leaf {
    fn admits<'a, V: JsonView<'a>>(&self, instance: V) -> bool {
        match self {
            Leaf::StringEnum(items) => instance
                .as_str()
                .is_some_and(|text| items.iter().any(|item| item == text)),
            Leaf::Bound {
                limit,
                lower,
                exclusive,
                fallback,
            } => match instance.number_text() {
                Some(text) => {
                    // serde_json's `as_i64`/`as_u64` of an `arbitrary_precision` number parse
                    // its text the same way.
                    let ordering = if !is_plain_integer(text) {
                        None
                    } else if let Ok(value) = text.parse::<i64>() {
                        Some(value.cmp(limit))
                    } else if text.parse::<u64>().is_ok() {
                        // Past i64::MAX, so above any limit.
                        Some(Ordering::Greater)
                    } else {
                        None
                    };
                    match ordering {
                        Some(ordering) => {
                            let beyond = if *lower {
                                Ordering::Greater
                            } else {
                                Ordering::Less
                            };
                            ordering == beyond || (!exclusive && ordering == Ordering::Equal)
                        }
                        None => fallback.is_valid(&instance.to_value()),
                    }
                }
                None => true,
            },
            Leaf::Pattern(regex) => instance.as_str().is_none_or(|text| regex.is_match(text)),
            Leaf::Format(check) => instance.as_str().is_none_or(check),
            Leaf::Length { limit, lower } => match instance.as_str() {
                Some(text) => {
                    let length = text.chars().count() as u64;
                    if *lower {
                        length >= *limit
                    } else {
                        length <= *limit
                    }
                }
                None => true,
            },
        }
    }
}

impl ObjectRules {
    fn admit<'a, V: JsonView<'a>>(&self, object: V) -> bool {
        let mut declared = self.properties.iter().peekable();
        let mut required_seen = 0;
        // Members come in key order (`serde_json::Map` is a `BTreeMap` here, without
        // `preserve_order`, as the test `maps_iterate_in_key_order` checks; documents keep
        // their objects sorted).
        for (key, key_word, value) in object.members() {
            let mut matched = None;
            while let Some(property) = declared.peek() {
                match compare_keys(&property.name, property.word, key, key_word) {
                    Ordering::Less => {
                        declared.next();
                    }
                    Ordering::Equal => {
                        matched = declared.next();
                        break;
                    }
                    Ordering::Greater => break,
                }
            }
            match matched {
                Some(property) => {
                    if !property.schema.admits(value) {
                        return false;
                    }
                    required_seen += usize::from(property.required);
                }
                None => {
                    if !self.additional_admits(value) {
                        return false;
                    }
                }
            }
        }
        required_seen == self.required_declared && self.undeclared_required_present(object)
    }

    fn additional_admits<'a, V: JsonView<'a>>(&self, value: V) -> bool {
        match &self.additional {
            Additional::Allowed => true,
            Additional::Forbidden => false,
            Additional::Schema(node) => node.admits(value),
        }
    }

    fn undeclared_required_present<'a, V: JsonView<'a>>(&self, object: V) -> bool {
        self.required_undeclared
            .iter()
            .all(|name| object.has_member(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonschema::Draft;
    use proptest::prelude::*;
    use serde_json::json;
    use std::path::Path;

    /// The formats these tests give the full validator (and the quick one): `date-time` and
    /// `uri-reference` are AJV's; `ipv4` is left to the library.
    const KNOWN: &[KnownFormat] = &[
        KnownFormat {
            name: "date-time",
            check: crate::validation::formats::is_ajv_date_time,
        },
        KnownFormat {
            name: "uri-reference",
            check: crate::validation::formats::is_ajv_uri_reference,
        },
    ];

    fn options(draft: Draft) -> jsonschema::ValidationOptions<'static> {
        let options = jsonschema::options()
            .with_draft(draft)
            .should_validate_formats(draft != Draft::Draft4);
        KNOWN.iter().fold(options, |options, format| {
            options.with_format(format.name, format.check)
        })
    }

    /// The full validator and the fast one for `document`, built like the schema types build
    /// them; `None` when the full validator refuses the document.
    fn both(
        document: &Value,
        draft: Draft,
    ) -> Option<(jsonschema::Validator, Option<FastValidator>)> {
        let full = options(draft).build(document).ok()?;
        let formats = if draft == Draft::Draft4 {
            Formats::Annotations
        } else {
            Formats::Validated(KNOWN)
        };
        let fast = FastValidator::build(document, draft, formats, &|part| {
            options(draft).build(part).ok()
        });
        Some((full, fast))
    }

    fn fast(document: &Value, draft: Draft) -> FastValidator {
        match both(document, draft) {
            Some((_, Some(fast))) => fast,
            _ => panic!("no fast validator for {document}"),
        }
    }

    #[test]
    fn maps_iterate_in_key_order() {
        // The property walk relies on it (serde_json without `preserve_order`).
        let mut map = Map::new();
        for key in ["b", "a", "ab", "B", "é", ""] {
            map.insert(key.to_owned(), Value::Null);
        }
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(keys, ["", "B", "a", "ab", "b", "é"]);
    }

    #[test]
    fn walks_properties_required_and_additional_properties() {
        let schema = json!({
            "type": "object",
            "properties": {
                "b": {"type": "integer"},
                "d": {"type": "string", "enum": ["x", "y"]},
                "a": {"type": ["string", "null"]}
            },
            "required": ["b", "z"],
            "additionalProperties": false
        });
        let fast = fast(&schema, Draft::Draft4);
        assert!(
            !fast.is_valid(&json!({"b": 1, "z": 2})),
            "z is required but not declared"
        );
        assert!(
            !fast.is_valid(&json!(null)) && !fast.is_valid(&json!([])),
            "type object"
        );
        let schema_open = json!({
            "properties": {"b": {"type": "integer"}, "d": {"enum": ["x"]}},
            "required": ["b", "z"]
        });
        let open = self::fast(&schema_open, Draft::Draft4);
        assert!(open.is_valid(&json!({"b": 1, "z": 2, "q": []})));
        assert!(!open.is_valid(&json!({"b": 1})), "z is required");
        assert!(!open.is_valid(&json!({"z": 1})), "b is required");
        assert!(
            !open.is_valid(&json!({"b": 1.5, "z": 1})),
            "b is not an integer"
        );
        assert!(!open.is_valid(&json!({"b": 1, "z": 1, "d": "y"})), "enum");
        assert!(open.is_valid(&json!("not an object")));
        let closed = self::fast(
            &json!({"properties": {"a": {}, "c": {"type": "boolean"}}, "additionalProperties": false}),
            Draft::Draft4,
        );
        assert!(closed.is_valid(&json!({"a": [1], "c": true})));
        assert!(!closed.is_valid(&json!({"a": 1, "b": 1})));
        assert!(!closed.is_valid(&json!({"c": 1})));
        assert!(closed.is_valid(&json!({})));
    }

    #[test]
    fn integers_are_the_drafts_integers() {
        let draft4 = fast(&json!({"type": "integer"}), Draft::Draft4);
        let draft7 = fast(&json!({"type": "integer"}), Draft::Draft7);
        let one_point_zero: Value = serde_json::from_str("1.0").unwrap_or_default();
        assert!(draft4.is_valid(&json!(1)));
        assert!(
            !draft4.is_valid(&one_point_zero),
            "draft 4: 1.0 is not an integer"
        );
        assert!(
            draft7.is_valid(&one_point_zero),
            "draft 7: 1.0 is an integer"
        );
        assert!(!draft7.is_valid(&json!(1.5)));
        assert!(!draft7.is_valid(&json!("1")));
    }

    #[test]
    fn refs_unknown_drafts_and_bad_shapes_get_no_fast_validator() {
        // Whether `document` gets a fast validator in `draft` (parts compiled for that draft,
        // or for draft 7 where the draft itself is refused).
        let builds = |document: &Value, draft: Draft| {
            let parts = if draft == Draft::Draft4 {
                draft
            } else {
                Draft::Draft7
            };
            let compile = |part: &Value| options(parts).build(part).ok();
            FastValidator::build(document, draft, Formats::Validated(KNOWN), &compile).is_some()
        };
        let with_ref =
            json!({"properties": {"a": {"$ref": "#/definitions/x"}}, "definitions": {"x": {}}});
        assert!(!builds(&with_ref, Draft::Draft7));
        assert!(!builds(&json!({}), Draft::Draft201909));
        let unevaluated = json!({"properties": {"a": {}}, "unevaluatedProperties": false});
        assert!(!builds(&unevaluated, Draft::Draft7));
        assert!(!builds(&json!({"items": true}), Draft::Draft4));
        assert!(builds(&json!({"items": true}), Draft::Draft7));
        let mut deep = json!({"type": "string"});
        for _ in 0..=MAX_DEPTH {
            deep = json!({"properties": {"a": deep}});
        }
        assert!(!builds(&deep, Draft::Draft7));
    }

    fn read_schema(path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        } else {
            serde_saphyr::from_str(&text).unwrap_or(Value::Null)
        }
    }

    fn files_under(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path, found);
            } else if path.extension().is_some_and(|e| e == "json" || e == "yaml") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_shipped_schema_gets_a_fast_validator() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut legacy = Vec::new();
        files_under(&root.join("schemas"), &mut legacy);
        assert!(legacy.len() >= 5, "{legacy:?}");
        for path in legacy {
            let event_schema = read_schema(&path);
            let document =
                match crate::validation::legacy_validator::encapsulated_draft4(&event_schema) {
                    Ok(document) => document,
                    Err(error) => panic!("{}: {error}", path.display()),
                };
            fast(&document, Draft::Draft4);
        }
        let mut platform = Vec::new();
        files_under(&root.join("event-schemas"), &mut platform);
        assert!(platform.len() >= 5, "{platform:?}");
        for path in platform {
            fast(&read_schema(&path), Draft::Draft7);
        }
    }

    // ------------------------------------------------------------- agreement with jsonschema

    const NAMES: [&str; 4] = ["a", "b", "c", "d"];

    fn type_name() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "null", "boolean", "object", "array", "number", "integer", "string",
        ])
    }

    fn number() -> impl Strategy<Value = Value> {
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "1.0",
            "2.5",
            "-0",
            "1e2",
            "1E400",
            "1e19",
            "2",
            "18446744073709551616",
            "9223372036854775808",
            "-9223372036854775809",
            "0.1",
        ])
        .prop_map(|text| serde_json::from_str(text).unwrap_or(Value::Null))
    }

    fn leaf_keywords() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
        prop::collection::vec(
            prop_oneof![
                type_name().prop_map(|t| ("type", json!(t))),
                prop::collection::vec(type_name(), 1..3).prop_map(|t| ("type", json!(t))),
                Just(("enum", json!(["x", 1, null, 2.5]))),
                Just(("enum", json!(["x", "abc", "é"]))),
                number().prop_map(|n| ("minimum", n)),
                number().prop_map(|n| ("maximum", n)),
                (0_u64..3).prop_map(|n| ("minLength", json!(n))),
                (0_u64..3).prop_map(|n| ("maxLength", json!(n))),
                Just(("pattern", json!("^[a-c]+$"))),
                Just(("pattern", json!("b{2,}|^(a|c)[0-9a-f]*$"))),
                Just(("pattern", json!("^[^b]"))),
                Just(("pattern", json!("\\d|a.c"))),
                Just(("format", json!("date-time"))),
                Just(("format", json!("uri-reference"))),
                Just(("format", json!("ipv4"))),
                Just(("description", json!("annotation"))),
                Just(("uniqueItems", json!(true))),
                Just(("minProperties", json!(1))),
            ],
            0..3,
        )
    }

    /// Schema nodes in the style of converted EventLogging schemas, plus the keywords that
    /// interact with the natively checked ones.
    fn schema(boolean_schemas: bool) -> impl Strategy<Value = Value> {
        let leaf = leaf_keywords().prop_map(|keywords| {
            Value::Object(
                keywords
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        });
        let leaf = if boolean_schemas {
            prop_oneof![4 => leaf, 1 => any::<bool>().prop_map(Value::Bool)].boxed()
        } else {
            leaf.boxed()
        };
        leaf.prop_recursive(3, 24, 4, move |inner| {
            (
                leaf_keywords(),
                prop::collection::btree_map(
                    prop::sample::select(NAMES.to_vec()),
                    inner.clone(),
                    0..4,
                ),
                prop::collection::btree_set(prop::sample::select(NAMES.to_vec()), 0..3),
                prop_oneof![
                    Just(None),
                    any::<bool>().prop_map(|b| Some(Value::Bool(b))),
                    inner.clone().prop_map(Some)
                ],
                prop::option::of(inner.clone()),
                prop::option::of(inner.clone()),
                prop::option::of(prop::collection::vec(inner, 1..3)),
                prop::option::of(prop_oneof![any::<bool>().prop_map(Value::Bool), number()]),
            )
                .prop_map(
                    |(
                        keywords,
                        properties,
                        required,
                        additional,
                        pattern,
                        items,
                        any_of,
                        exclusive,
                    )| {
                        let mut node: Map<String, Value> = keywords
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect();
                        // Draft 4's boolean modifiers (draft 7 refuses them, and gets numbers).
                        if let Some(exclusive) = exclusive {
                            for (bound, modifier) in [
                                ("minimum", "exclusiveMinimum"),
                                ("maximum", "exclusiveMaximum"),
                            ] {
                                if node.contains_key(bound) {
                                    node.insert(modifier.to_owned(), exclusive.clone());
                                }
                            }
                        }
                        if !properties.is_empty() {
                            let properties = properties
                                .into_iter()
                                .map(|(name, schema)| (name.to_owned(), schema))
                                .collect();
                            node.insert("properties".to_owned(), Value::Object(properties));
                        }
                        if !required.is_empty() {
                            node.insert("required".to_owned(), json!(required));
                        }
                        if let Some(additional) = additional {
                            node.insert("additionalProperties".to_owned(), additional);
                        }
                        if let Some(pattern) = pattern {
                            node.insert("patternProperties".to_owned(), json!({"^c": pattern}));
                        }
                        if let Some(items) = items {
                            node.insert("items".to_owned(), items);
                        }
                        if let Some(any_of) = any_of {
                            node.insert("anyOf".to_owned(), Value::Array(any_of));
                        }
                        Value::Object(node)
                    },
                )
        })
    }

    fn instance() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            number(),
            prop::sample::select(vec![
                "",
                "x",
                "abc",
                "abcd",
                "2020-01-01T00:00:00Z",
                "2020-01-01 00:00:00+0100",
                "http://a b",
                "192.0.2.1",
                "nope",
                "a0f",
                "bb",
                "ab\n",
                "c\u{e9}9",
                "1"
            ])
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(3, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec!["a", "b", "c", "d", "e", "ca"]),
                    inner,
                    0..6
                )
                .prop_map(|map| Value::Object(
                    map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    fn agrees(document: &Value, draft: Draft, instances: &[Value]) -> Result<(), TestCaseError> {
        let Some((full, fast)) = both(document, draft) else {
            return Ok(());
        };
        let Some(fast) = fast else {
            return Err(TestCaseError::fail(format!(
                "no fast validator for {document}"
            )));
        };
        for instance in instances {
            prop_assert_eq!(
                fast.is_valid(instance),
                full.is_valid(instance),
                "schema {} instance {}",
                document,
                instance
            );
        }
        Ok(())
    }

    /// Most generated schemas must compile, or the agreement tests would test little.
    #[test]
    fn generated_schemas_mostly_compile() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for (draft, boolean_schemas) in [(Draft::Draft4, false), (Draft::Draft7, true)] {
            let strategy = schema(boolean_schemas);
            let mut compiled = 0;
            for _ in 0..200 {
                let Ok(tree) = strategy.new_tree(&mut runner) else {
                    continue;
                };
                compiled += usize::from(both(&tree.current(), draft).is_some());
            }
            assert!(compiled >= 150, "{draft:?}: {compiled} of 200 compiled");
        }
    }

    fn leaf_instance() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            number(),
            prop::sample::select(vec![
                "", "x", "é", "ab", "abc", "abcd", "éé", "a0f", "bb", "ab\n", "c9", "9", "a\nc"
            ])
            .prop_map(|s| Value::String(s.to_owned())),
        ]
    }

    /// One node of leaf keywords, with draft 4's boolean or later drafts' numeric exclusive
    /// bounds.
    fn leaf_schema() -> impl Strategy<Value = Value> {
        (
            leaf_keywords(),
            prop::option::of(any::<bool>()),
            prop::option::of(number()),
        )
            .prop_map(|(keywords, flag, limit)| {
                let mut node: Map<String, Value> = keywords
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect();
                for (bound, modifier) in [
                    ("minimum", "exclusiveMinimum"),
                    ("maximum", "exclusiveMaximum"),
                ] {
                    match (node.contains_key(bound), flag, &limit) {
                        (true, Some(flag), _) => {
                            node.insert(modifier.to_owned(), Value::Bool(flag));
                        }
                        (false, _, Some(limit)) => {
                            node.insert(modifier.to_owned(), limit.clone());
                        }
                        _ => {}
                    }
                }
                Value::Object(node)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn agrees_on_leaf_keywords(
            document in leaf_schema(),
            instances in prop::collection::vec(leaf_instance(), 24),
        ) {
            agrees(&document, Draft::Draft4, &instances)?;
            agrees(&document, Draft::Draft7, &instances)?;
        }

        #[test]
        fn agrees_with_jsonschema_draft4(
            document in schema(false),
            instances in prop::collection::vec(instance(), 8),
        ) {
            agrees(&document, Draft::Draft4, &instances)?;
        }

        #[test]
        fn agrees_with_jsonschema_draft7(
            document in schema(true),
            instances in prop::collection::vec(instance(), 8),
        ) {
            agrees(&document, Draft::Draft7, &instances)?;
        }
    }
}
