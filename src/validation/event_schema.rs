//! One compiled Event Platform schema (eventgate.md §2.4): draft-07 unless the schema's
//! `$schema` names another JSON Schema draft (draft-04 for older schemas), `format`s checked,
//! no type coercion, with the helpers the enrichment step needs (`declares`, `default`s).

use std::fmt;

use beacon_parsers::json::{Document, NodeId, NodeRef};
use jsonschema::{Draft, Retrieve};
use serde_json::Value;

use super::defaults::DefaultsPlan;
use super::error::SchemaCompileError;
use super::fast_validator::{FastValidator, Formats};
use super::first_error::first_error_message;
use super::formats::{KnownFormat, AJV_FORMATS};
use super::schema_pointer::property_schema;
use crate::json_kind::json_kind;

/// The instance locations the enrichment (`enrich`, the worker's user-agent step, the HTTP
/// intake) and the legacy conversion ask [`EventSchema::declares`] about for every event,
/// answered once when the schema is compiled. Walking the schema document per event (a few
/// `BTreeMap` lookups per segment, `allOf` branches, a second walk for `additionalProperties`)
/// reads dozens of cache lines of a large schema that are cold whenever events of many schemas
/// are interleaved; these answers are one word of the compiled schema.
const KNOWN_POINTERS: [&str; 9] = [
    "/meta/id",
    "/meta/dt",
    "/meta/request_id",
    "/meta/domain",
    "/dt",
    "/client_dt",
    "/http/request_headers/user-agent",
    "/http/client_ip",
    "/useragent",
];

// One bit of `EventSchema::known_declared` per pointer.
const _: () = assert!(KNOWN_POINTERS.len() <= 16);

/// A compiled Event Platform schema. Cheap to share (`Arc`) between threads.
pub struct EventSchema {
    uri: String,
    origin: String,
    id: Option<String>,
    title: Option<String>,
    draft: Draft,
    document: Value,
    /// Bit `i` set: the schema declares `KNOWN_POINTERS[i]` (the document never changes).
    known_declared: u16,
    defaults: DefaultsPlan,
    validator: jsonschema::Validator,
    /// The same verdicts, quicker (`None` when the schema is out of its reach, e.g. a `$ref`).
    fast: Option<FastValidator>,
}

impl EventSchema {
    /// Compiles `document`, looked up as `uri`. `$ref`s to anything outside the document are
    /// refused (see [`SchemaRegistry`](crate::schema::SchemaRegistry) for schemas whose `$ref`s
    /// resolve through the configured sources).
    pub fn compile(uri: impl Into<String>, document: Value) -> Result<Self, SchemaCompileError> {
        let uri = uri.into();
        let origin = uri.clone();
        Self::compile_with(uri, origin, document, None::<NoRetriever>)
    }

    /// Compiles `document`, looked up as `uri` and read from `origin` (a file path or URL),
    /// resolving external `$ref`s with `retriever` when given.
    pub(crate) fn compile_with<R: Retrieve + 'static>(
        uri: String,
        origin: String,
        document: Value,
        retriever: Option<R>,
    ) -> Result<Self, SchemaCompileError> {
        if !document.is_object() {
            return Err(SchemaCompileError::NotAnObject(json_kind(&document)));
        }
        let draft = draft_of(&document)?;
        // Draft 7 and before are what EventGate (AJV v6) validated: its fast formats, given to
        // the library and checked by the quick validator itself.
        let known: &'static [KnownFormat] = if draft <= Draft::Draft7 {
            AJV_FORMATS
        } else {
            &[]
        };
        let options = || {
            let options = jsonschema::options()
                .with_draft(draft)
                .should_validate_formats(true);
            known.iter().fold(options, |options, format| {
                options.with_format(format.name, format.check)
            })
        };
        let mut full = options();
        if let Some(retriever) = retriever {
            full = full.with_retriever(retriever);
        }
        let validator = full
            .build(&document)
            .map_err(|error| SchemaCompileError::Library(error.to_string()))?;
        let fast = FastValidator::build(&document, draft, Formats::Validated(known), &|part| {
            options().build(part).ok()
        });
        let id_keyword = if draft == Draft::Draft4 { "id" } else { "$id" };
        let id = document
            .get(id_keyword)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let title = document
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let defaults = DefaultsPlan::build(&document);
        let mut known_declared = 0_u16;
        for (index, pointer) in KNOWN_POINTERS.iter().enumerate() {
            if property_schema(&document, pointer).is_some() {
                known_declared |= 1_u16 << index;
            }
        }
        Ok(Self {
            uri,
            origin,
            id,
            title,
            draft,
            document,
            known_declared,
            defaults,
            validator,
            fast,
        })
    }

    /// The schema's `title` (the stream configuration's `schema_title` must equal it).
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The schema's `$id` (`id` in draft-04), e.g. `/test/event/1.0.0`.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The `$schema` URI this schema was first looked up by (other URIs that resolve to the
    /// same `$id` share this compiled schema).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Where the document was read from (file path or URL).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The JSON Schema draft the schema is validated with.
    pub fn draft(&self) -> Draft {
        self.draft
    }

    /// The schema document.
    pub fn schema(&self) -> &Value {
        &self.document
    }

    /// Whether `event` is valid (no message is built).
    pub fn is_valid(&self, event: &Value) -> bool {
        match &self.fast {
            Some(fast) => fast.is_valid(event),
            None => self.validator.is_valid(event),
        }
    }

    /// Whether the event parsed as `event` is valid, when the schema has a quick validator
    /// (`None`: only [`validate`](Self::validate) of its `Value` can tell).
    pub fn is_valid_document(&self, event: NodeRef<'_>) -> Option<bool> {
        self.fast.as_ref().map(|fast| fast.is_valid_view(event))
    }

    /// Validates an event. On failure returns exactly one message: the first error, as
    /// `<instance pointer>: <message>` (e.g. `/test: 0.01 is not of type "string"`), or the
    /// bare message for an error about the event itself.
    pub fn validate(&self, event: &Value) -> Result<(), String> {
        if self.fast.as_ref().is_some_and(|fast| fast.is_valid(event)) {
            return Ok(());
        }
        first_error_message(&self.validator, event)
    }

    /// Whether the schema declares the instance location `pointer` (`/meta/id`, `/dt`,
    /// `/http/request_headers/user-agent`): following `properties`, `allOf` branches and local
    /// `$ref`s, with an `additionalProperties` schema (a map such as `request_headers`)
    /// declaring every key. The locations enrichment asks about on every event are answered
    /// from the compiled schema, without walking the document.
    pub fn declares(&self, pointer: &str) -> bool {
        match KNOWN_POINTERS.iter().position(|known| *known == pointer) {
            Some(index) => (self.known_declared & (1_u16 << index)) != 0,
            None => property_schema(&self.document, pointer).is_some(),
        }
    }

    /// The subschema describing the instance location `pointer`, if declared (see
    /// [`declares`](Self::declares)).
    pub fn property_schema(&self, pointer: &str) -> Option<&Value> {
        property_schema(&self.document, pointer)
    }

    /// Fills schema `default`s into `event` like AJV `useDefaults`: missing properties of
    /// objects that exist get a copy of their default, recursively; nothing is overwritten and
    /// no absent intermediate object is created.
    pub fn apply_defaults(&self, event: &mut Value) {
        self.defaults.apply(event);
    }

    /// [`apply_defaults`](Self::apply_defaults) to the value `node` of a parsed document.
    pub fn apply_defaults_to_document(&self, document: &mut Document, node: NodeId) {
        self.defaults.apply_to_document(document, node);
    }

    /// Whether the schema has any `default` to fill.
    pub fn has_defaults(&self) -> bool {
        !self.defaults.is_empty()
    }
}

/// The draft a schema document asks for: draft-07 without `$schema`.
fn draft_of(document: &Value) -> Result<Draft, SchemaCompileError> {
    match document.get("$schema") {
        None => Ok(Draft::Draft7),
        Some(Value::String(uri)) => match Draft::from_schema_uri(uri) {
            Draft::Unknown => Err(SchemaCompileError::UnsupportedDialect(uri.clone())),
            draft => Ok(draft),
        },
        Some(other) => Err(SchemaCompileError::UnsupportedDialect(other.to_string())),
    }
}

/// A retriever type for compiling without one (never constructed).
enum NoRetriever {}

impl Retrieve for NoRetriever {
    fn retrieve(
        &self,
        _uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        match *self {}
    }
}

impl fmt::Debug for EventSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSchema")
            .field("uri", &self.uri)
            .field("id", &self.id)
            .field("title", &self.title)
            .field("origin", &self.origin)
            .field("draft", &self.draft)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// TV-1's `/test/0.0.1`.
    fn tv1() -> EventSchema {
        let document: Value = serde_saphyr::from_str(
            r#"
title: test
$schema: http://json-schema.org/draft-07/schema#
$id: /test/0.0.1
type: object
properties:
  $schema:
    type: string
  meta:
    type: object
    properties:
      stream:
        type: string
      id:
        type: string
        pattern: '^[a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$'
        maxLength: 36
      dt:
        type: string
        format: date-time
        maxLength: 26
    required:
      - stream
      - id
  test:
    type: string
  test_default:
    type: string
    default: default_value
"#,
        )
        .expect("TV-1 YAML");
        EventSchema::compile("test/0.0.1", document).expect("TV-1 compiles")
    }

    fn event(text: &str) -> Value {
        serde_json::from_str(text).expect("JSON")
    }

    #[test]
    fn tv1_accessors_and_cases() {
        let schema = tv1();
        assert_eq!(schema.title(), Some("test"));
        assert_eq!(schema.id(), Some("/test/0.0.1"));
        assert_eq!(schema.uri(), "test/0.0.1");
        assert_eq!(schema.draft(), Draft::Draft7);
        assert!(schema.has_defaults());
        let valid = event(
            r#"{"$schema":"test/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1287"},"test":"test_value"}"#,
        );
        assert!(schema.is_valid(&valid));
        assert_eq!(schema.validate(&valid), Ok(()));
        let invalid = event(
            r#"{"$schema":"/test/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1287"},"test":0.01}"#,
        );
        assert_eq!(
            schema.validate(&invalid),
            Err("/test: 0.01 is not of type \"string\"".to_owned())
        );
        let mut defaulted = valid.clone();
        schema.apply_defaults(&mut defaulted);
        assert_eq!(defaulted["test_default"], json!("default_value"));
        let mut kept = event(r#"{"test_default": 67890}"#);
        schema.apply_defaults(&mut kept);
        assert_eq!(kept, json!({"test_default": 67890}));
        assert_eq!(
            schema.validate(&kept),
            Err("/test_default: 67890 is not of type \"string\"".to_owned())
        );
    }

    #[test]
    fn formats_are_checked() {
        let schema = tv1();
        let with_dt = |dt: &str| json!({"meta": {"stream": "s", "id": "5e1dd101-641c-11e8-ab6c-b083fecf1287", "dt": dt}});
        assert_eq!(schema.validate(&with_dt("2020-07-01T00:00:00Z")), Ok(()));
        assert_eq!(
            schema.validate(&with_dt("2020-07-01T00:00:00+02:00")),
            Ok(())
        );
        assert_eq!(
            schema.validate(&with_dt("2020-07-01T00:00:00")),
            Err("/meta/dt: \"2020-07-01T00:00:00\" is not a \"date-time\"".to_owned())
        );
        let uuid = EventSchema::compile(
            "/u/1",
            json!({"properties": {"u": {"type": "string", "format": "uuid"}}}),
        )
        .expect("compiles");
        assert_eq!(
            uuid.validate(&json!({"u": "5e1dd101-641c-11e8-ab6c-b083fecf1287"})),
            Ok(())
        );
        assert!(uuid.validate(&json!({"u": "nope"})).is_err());
    }

    #[test]
    fn formats_are_ajv_fast_up_to_draft_7_and_the_library_s_after() {
        let properties = json!({
            "dt": {"type": "string", "format": "date-time"},
            "uri": {"type": "string", "format": "uri-reference"},
        });
        let draft7 = EventSchema::compile(
            "/f/1",
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "properties": properties}),
        )
        .expect("compiles");
        let draft2020 = EventSchema::compile(
            "/f/2",
            json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": properties}),
        )
        .expect("compiles");
        // What EventGate (AJV v6, fast formats) accepted and RFC 3339 / RFC 3986 do not.
        for lenient in [
            json!({"dt": "2026-11-01 00:00:00Z"}),
            json!({"dt": "2026-11-01T00:00:00+0100"}),
            json!({"uri": "https://en.wikipedia.org/w/index.php?a[]=1|^"}),
        ] {
            assert_eq!(draft7.validate(&lenient), Ok(()), "{lenient}");
            assert!(draft7.is_valid(&lenient), "{lenient}");
            assert!(draft2020.validate(&lenient).is_err(), "{lenient}");
        }
        for invalid in [
            json!({"dt": "2026-11-01T00:00:00"}),
            json!({"uri": "http://exa mple.org/"}),
        ] {
            assert!(draft7.validate(&invalid).is_err(), "{invalid}");
            assert!(!draft7.is_valid(&invalid), "{invalid}");
        }
    }

    #[test]
    fn no_type_coercion() {
        let schema = EventSchema::compile(
            "/n/1",
            json!({"properties": {"i": {"type": "integer"}, "s": {"type": "string"}, "b": {"type": "boolean"}}}),
        )
        .expect("compiles");
        assert!(schema.validate(&json!({"i": "1"})).is_err());
        assert!(schema.validate(&json!({"s": 1})).is_err());
        assert!(schema.validate(&json!({"b": "true"})).is_err());
        assert_eq!(
            schema.validate(&json!({"i": 1, "s": "1", "b": true})),
            Ok(())
        );
    }

    #[test]
    fn draft4_schemas_use_draft4_rules() {
        let document = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "id": "/legacy/thing/1.0.0",
            "title": "legacy/thing",
            "type": "object",
            "properties": {"n": {"type": "number", "minimum": 0, "exclusiveMinimum": true}},
            "required": ["n"]
        });
        let schema = EventSchema::compile("/legacy/thing/1.0.0", document).expect("compiles");
        assert_eq!(schema.draft(), Draft::Draft4);
        assert_eq!(schema.id(), Some("/legacy/thing/1.0.0"));
        assert_eq!(schema.validate(&json!({"n": 1})), Ok(()));
        assert!(
            schema.validate(&json!({"n": 0})).is_err(),
            "boolean exclusiveMinimum is draft-04"
        );
        assert_eq!(
            schema.validate(&json!({})),
            Err("\"n\" is a required property".to_owned())
        );
    }

    #[test]
    fn unusable_documents_are_compile_errors() {
        assert_eq!(
            EventSchema::compile("/x", json!([])).map(|_| ()),
            Err(SchemaCompileError::NotAnObject("an array"))
        );
        assert_eq!(
            EventSchema::compile("/x", json!({"$schema": "https://example.org/my-meta"}))
                .map(|_| ()),
            Err(SchemaCompileError::UnsupportedDialect(
                "https://example.org/my-meta".to_owned()
            ))
        );
        assert!(matches!(
            EventSchema::compile("/x", json!({"properties": {"p": {"pattern": "(oops"}}})),
            Err(SchemaCompileError::Library(_))
        ));
        assert!(matches!(
            EventSchema::compile("/x", json!({"type": "float"})),
            Err(SchemaCompileError::Library(_))
        ));
        assert!(matches!(
            EventSchema::compile("/x", json!({"$ref": "/fragment/common/1.0.0"})),
            Err(SchemaCompileError::Library(_))
        ));
        assert!(matches!(
            EventSchema::compile("/x", json!({"$ref": "file:///etc/passwd"})),
            Err(SchemaCompileError::Library(_))
        ));
    }

    #[test]
    fn known_pointers_are_answered_like_the_document_walk() {
        let schemas = [
            tv1(),
            EventSchema::compile(
                "/legacy/like/1.0.0",
                json!({
                    "title": "analytics/legacy/like",
                    "type": "object",
                    "definitions": {"ua": {"type": "object", "properties": {"browser_family": {"type": "string"}}}},
                    "properties": {
                        "dt": {"type": "string", "format": "date-time"},
                        "client_dt": {"type": "string"},
                        "useragent": {"$ref": "#/definitions/ua"},
                        "meta": {"type": "object", "properties": {"domain": {"type": "string"}}},
                        "http": {"type": "object", "properties": {
                            "client_ip": {"type": "string"},
                            "request_headers": {"type": "object", "additionalProperties": {"type": "string"}}
                        }}
                    },
                    "allOf": [{"properties": {"meta": {"properties": {"request_id": {"type": "string"}}}}}]
                }),
            )
            .expect("compiles"),
        ];
        for schema in &schemas {
            for pointer in KNOWN_POINTERS {
                assert_eq!(
                    schema.declares(pointer),
                    property_schema(schema.schema(), pointer).is_some(),
                    "{} {pointer}",
                    schema.uri()
                );
            }
        }
        let legacy = &schemas[1];
        assert!(legacy.declares("/http/request_headers/user-agent"));
        assert!(legacy.declares("/http/client_ip"));
        assert!(legacy.declares("/useragent"));
        assert!(legacy.declares("/client_dt"));
        assert!(!legacy.declares("/meta/id"));
        // The root's own `properties.meta` answers first; its `allOf` sibling is not merged in.
        assert!(!legacy.declares("/meta/request_id"));
    }

    #[test]
    fn declares_follows_the_schema() {
        let schema = tv1();
        assert!(schema.declares("/meta/id"));
        assert!(schema.declares("/test_default"));
        assert!(!schema.declares("/dt"));
        assert!(!schema.declares("/meta/request_id"));
        assert_eq!(
            schema.property_schema("/meta/dt"),
            Some(&json!({"type": "string", "format": "date-time", "maxLength": 26}))
        );
    }
}
