//! The schema registry: finds legacy schemas in its sources, compiles one validator per SCID on
//! first use, caches it for the life of the registry, and validates capsules.
//!
//! Hot path: for an already-compiled SCID, [`SchemaRegistry::validate_capsule`] takes one read
//! lock, looks the validator up by `(&str, i64)` in a nested `name → revision → validator` map
//! (no allocation), clones an `Arc`, releases the lock and validates the borrowed capsule.
//!
//! Failed lookups are not cached (like the reference): an unknown SCID is searched again for
//! every event. Negative caching, remote sources and reloading plug in here.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::{Map, Value};

use super::error::{CapsuleValidationError, SchemaLookupError, SchemaSourceError, ScidError};
use super::scid::extract_legacy_scid;
use super::source::LegacySchemaSource;
use super::validator::LegacyValidator;

/// Compiled validators by schema name, then revision.
type CompiledValidators = HashMap<String, HashMap<i64, Arc<LegacyValidator>>>;

/// Legacy schema sources plus a cache of compiled validators; shared by all worker threads.
pub struct SchemaRegistry {
    sources: Vec<Box<dyn LegacySchemaSource>>,
    compiled: RwLock<CompiledValidators>,
}

impl SchemaRegistry {
    /// A registry searching `sources` in order (the first source that has a SCID wins).
    pub fn new(sources: Vec<Box<dyn LegacySchemaSource>>) -> Self {
        Self {
            sources,
            compiled: RwLock::new(HashMap::new()),
        }
    }

    /// `describe()` of every source, in search order.
    pub fn source_descriptions(&self) -> Vec<String> {
        self.sources
            .iter()
            .map(|source| source.describe())
            .collect()
    }

    /// Number of validators compiled so far.
    pub fn compiled_count(&self) -> usize {
        self.compiled
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(HashMap::len)
            .sum()
    }

    /// The validator of `name` at `revision`: from the cache, or found in the sources,
    /// compiled and cached.
    pub fn legacy_validator(
        &self,
        name: &str,
        revision: i64,
    ) -> Result<Arc<LegacyValidator>, SchemaLookupError> {
        if let Some(validator) = self.cached(name, revision) {
            return Ok(validator);
        }
        let (document, source_description) = self.find(name, revision)?;
        let validator = LegacyValidator::compile(name, revision, &document).map_err(|error| {
            SchemaLookupError::Compile {
                name: name.to_owned(),
                revision,
                source_description: source_description.clone(),
                error,
            }
        })?;
        tracing::debug!(schema = name, revision, source = %source_description, "compiled legacy schema");
        let mut compiled = self
            .compiled
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Another thread may have compiled the same SCID meanwhile; keep the first one.
        let slot = compiled
            .entry(name.to_owned())
            .or_default()
            .entry(revision)
            .or_insert_with(|| Arc::new(validator));
        Ok(Arc::clone(slot))
    }

    /// Validates one capsule: SCID checks (§4.1), then the encapsulated schema of its SCID
    /// (§4.2).
    ///
    /// The JSON-Schema library validates a `&Value`, so this copies the map into a
    /// `Value::Object` when the SCID is usable (about three times the cost of the validation
    /// itself for a typical capsule). On the hot path use
    /// [`validate_capsule_in_place`](Self::validate_capsule_in_place) or
    /// [`validate_capsule_value`](Self::validate_capsule_value), which do not copy.
    pub fn validate_capsule(
        &self,
        capsule: &Map<String, Value>,
    ) -> Result<(), CapsuleValidationError> {
        let scid = extract_legacy_scid(capsule)?;
        let validator = self.legacy_validator(scid.name, scid.revision)?;
        validator
            .validate(&Value::Object(capsule.clone()))
            .map_err(|message| CapsuleValidationError::Invalid { message })
    }

    /// Like [`validate_capsule`](Self::validate_capsule) without copying: the map is moved
    /// into a `Value::Object` for the duration of the validation and moved back (it is left
    /// unchanged).
    pub fn validate_capsule_in_place(
        &self,
        capsule: &mut Map<String, Value>,
    ) -> Result<(), CapsuleValidationError> {
        let value = Value::Object(std::mem::take(capsule));
        let result = self.validate_capsule_value(&value);
        if let Value::Object(map) = value {
            *capsule = map;
        }
        result
    }

    /// Like [`validate_capsule`](Self::validate_capsule) for a capsule held as a `Value`,
    /// validated borrowed, without a copy (the hot path: a read lock and an `Arc` clone for an
    /// already-compiled SCID). A non-object has no SCID.
    pub fn validate_capsule_value(&self, capsule: &Value) -> Result<(), CapsuleValidationError> {
        let Value::Object(map) = capsule else {
            return Err(ScidError::NotExtractable.into());
        };
        let scid = extract_legacy_scid(map)?;
        let validator = self.legacy_validator(scid.name, scid.revision)?;
        validator
            .validate(capsule)
            .map_err(|message| CapsuleValidationError::Invalid { message })
    }

    /// Compiles every SCID the sources can list (see [`LegacySchemaSource::known_scids`]), so
    /// that unusable schemas are reported at start-up. Returns the number compiled and the
    /// failures.
    pub fn precompile_known(&self) -> (usize, Vec<SchemaLookupError>) {
        let mut compiled = 0;
        let mut failures = Vec::new();
        for source in &self.sources {
            for (name, revision) in source.known_scids() {
                match self.legacy_validator(&name, revision) {
                    Ok(_) => compiled += 1,
                    Err(error) => failures.push(error),
                }
            }
        }
        (compiled, failures)
    }

    fn cached(&self, name: &str, revision: i64) -> Option<Arc<LegacyValidator>> {
        self.compiled
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .and_then(|revisions| revisions.get(&revision))
            .map(Arc::clone)
    }

    /// The schema document and the description of the source that has it. A source error is
    /// reported only if no later source has the schema.
    fn find(&self, name: &str, revision: i64) -> Result<(Value, String), SchemaLookupError> {
        let mut first_failure: Option<(String, SchemaSourceError)> = None;
        for source in &self.sources {
            match source.lookup(name, revision) {
                Ok(Some(document)) => return Ok((document, source.describe())),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(schema = name, revision, source = %source.describe(), %error, "schema source failed");
                    first_failure.get_or_insert((source.describe(), error));
                }
            }
        }
        Err(match first_failure {
            Some((source_description, error)) => SchemaLookupError::Source {
                name: name.to_owned(),
                revision,
                source_description,
                error,
            },
            None => SchemaLookupError::NotFound {
                name: name.to_owned(),
                revision,
                searched: self.source_descriptions(),
            },
        })
    }
}

impl fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("sources", &self.source_descriptions())
            .field("compiled", &self.compiled_count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::memory_source::InMemorySchemaSource;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn generic_schema() -> Value {
        json!({"properties": {
            "articleId": {"type": "integer", "required": true},
            "articleTitle": {"type": "string"}
        }})
    }

    fn registry() -> SchemaRegistry {
        SchemaRegistry::new(vec![Box::new(
            InMemorySchemaSource::new("test schemas").with_schema("Generic", 13, generic_schema()),
        )])
    }

    /// TV-1's parsed capsule.
    fn tv1_capsule() -> Value {
        serde_json::from_str(
            r#"{"dt": "2013-01-19T23:16:38Z", "event": {"articleId": 1, "articleTitle": "Héctor Elizondo"},
                "recvFrom": "srv0.example.org", "revision": 13, "schema": "Generic", "seqId": 132073,
                "userAgent": {"browser_family": "Firefox", "browser_major": "10", "browser_minor": "0",
                              "device_family": "Other", "is_bot": false, "is_mediawiki": false,
                              "os_family": "Linux", "os_major": null, "os_minor": null,
                              "wmf_app_version": "-"},
                "uuid": "749684341abf513186c71f74c6a09502", "webHost": "test.wikipedia.org",
                "wiki": "testwiki"}"#,
        )
        .expect("TV-1 JSON")
    }

    fn set(mut capsule: Value, key: &str, value: Value) -> Value {
        if let Value::Object(map) = &mut capsule {
            map.insert(key.to_owned(), value);
        }
        capsule
    }

    fn invalid(message: &str) -> Result<(), CapsuleValidationError> {
        Err(CapsuleValidationError::Invalid {
            message: message.to_owned(),
        })
    }

    #[test]
    fn tv1_capsule_is_valid_and_the_validator_is_cached() {
        let registry = registry();
        assert_eq!(registry.compiled_count(), 0);
        assert_eq!(registry.validate_capsule_value(&tv1_capsule()), Ok(()));
        assert_eq!(registry.compiled_count(), 1);
        let first = registry.legacy_validator("Generic", 13).expect("cached");
        let second = registry.legacy_validator("Generic", 13).expect("cached");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(registry.compiled_count(), 1);
    }

    #[test]
    fn map_and_value_entry_points_agree() {
        let registry = registry();
        let cases = [
            tv1_capsule(),
            set(tv1_capsule(), "bogusCapsule", json!(1)),
            set(tv1_capsule(), "revision", json!(1.5)),
            set(tv1_capsule(), "revision", json!(99)),
        ];
        for capsule in cases {
            let Value::Object(map) = &capsule else {
                panic!("object")
            };
            let expected = registry.validate_capsule_value(&capsule);
            assert_eq!(registry.validate_capsule(map), expected, "{capsule}");
            let mut in_place = map.clone();
            assert_eq!(
                registry.validate_capsule_in_place(&mut in_place),
                expected,
                "{capsule}"
            );
            assert_eq!(&in_place, map, "the map is restored");
        }
        assert_eq!(
            registry.validate_capsule(match &set(tv1_capsule(), "bogusCapsule", json!(1)) {
                Value::Object(map) => map,
                _ => panic!("object"),
            }),
            invalid("Additional properties are not allowed ('bogusCapsule' was unexpected)")
        );
    }

    #[test]
    fn schema_violations_are_validation_errors() {
        let registry = registry();
        let capsule = set(tv1_capsule(), "event", json!({"articleTitle": "x"}));
        let error = registry
            .validate_capsule_value(&capsule)
            .expect_err("invalid");
        assert_eq!(error.code(), "validation");
        assert_eq!(
            error.message(),
            "/event: \"articleId\" is a required property"
        );
    }

    #[test]
    fn scid_problems_are_validation_errors() {
        let registry = registry();
        assert_eq!(
            registry.validate_capsule_value(&set(tv1_capsule(), "revision", json!("13"))),
            invalid("Invalid revision ID type: <class 'str'>")
        );
        assert_eq!(
            registry.validate_capsule_value(&set(tv1_capsule(), "revision", json!(-1))),
            invalid("Invalid revision ID -1")
        );
        assert_eq!(
            registry.validate_capsule_value(&set(tv1_capsule(), "schema", json!("Bad Name!"))),
            invalid("Invalid schema name: Bad Name!")
        );
        assert_eq!(
            registry.validate_capsule_value(&set(tv1_capsule(), "meta", json!({}))),
            invalid("scid could not be extracted from event.")
        );
        assert_eq!(
            registry.validate_capsule_value(&json!([1, 2])),
            invalid("scid could not be extracted from event.")
        );
        assert_eq!(registry.compiled_count(), 0, "nothing was looked up");
    }

    #[test]
    fn unknown_scid_is_schema_unavailable_naming_the_sources() {
        let registry = registry();
        let error = registry
            .validate_capsule_value(&set(tv1_capsule(), "revision", json!(14)))
            .expect_err("unknown");
        assert_eq!(error.code(), "processor");
        assert_eq!(
            error,
            CapsuleValidationError::SchemaUnavailable {
                name: "Generic".to_owned(),
                revision: 14,
                message: "Schema Generic revision 14 not found (searched: test schemas)".to_owned(),
            }
        );
        let empty = SchemaRegistry::new(Vec::new());
        assert_eq!(
            empty.legacy_validator("Generic", 13).map(|_| ()),
            Err(SchemaLookupError::NotFound {
                name: "Generic".to_owned(),
                revision: 13,
                searched: Vec::new()
            })
        );
        assert_eq!(
            empty
                .legacy_validator("Generic", 13)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(
                "Schema Generic revision 13 not found (searched: no schema sources configured)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn uncompilable_schema_is_schema_unavailable() {
        let registry = SchemaRegistry::new(vec![Box::new(
            InMemorySchemaSource::new("broken schemas").with_schema(
                "Generic",
                13,
                json!({"properties": {"a": {"pattern": "(oops"}}}),
            ),
        )]);
        let error = registry
            .validate_capsule_value(&tv1_capsule())
            .expect_err("broken");
        assert_eq!(error.code(), "processor");
        assert!(
            error.message().starts_with(
                "Schema Generic revision 13 from broken schemas is unusable: invalid schema: "
            ),
            "{error}"
        );
        let (compiled, failures) = registry.precompile_known();
        assert_eq!(compiled, 0);
        assert_eq!(failures.len(), 1);
    }

    /// A source that always fails, counting its lookups.
    struct FailingSource(AtomicUsize);

    impl LegacySchemaSource for FailingSource {
        fn describe(&self) -> String {
            "failing source".to_owned()
        }
        fn lookup(&self, name: &str, _revision: i64) -> Result<Option<Value>, SchemaSourceError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(SchemaSourceError::Unreachable {
                location: format!("test://{name}"),
                reason: "connection refused".to_owned(),
            })
        }
    }

    #[test]
    fn source_failures_are_reported_unless_a_later_source_has_the_schema() {
        let failing = Arc::new(FailingSource(AtomicUsize::new(0)));
        struct Shared(Arc<FailingSource>);
        impl LegacySchemaSource for Shared {
            fn describe(&self) -> String {
                self.0.describe()
            }
            fn lookup(
                &self,
                name: &str,
                revision: i64,
            ) -> Result<Option<Value>, SchemaSourceError> {
                self.0.lookup(name, revision)
            }
        }
        let registry = SchemaRegistry::new(vec![
            Box::new(Shared(Arc::clone(&failing))),
            Box::new(InMemorySchemaSource::new("test schemas").with_schema(
                "Generic",
                13,
                generic_schema(),
            )),
        ]);
        assert_eq!(registry.validate_capsule_value(&tv1_capsule()), Ok(()));
        assert_eq!(registry.validate_capsule_value(&tv1_capsule()), Ok(()));
        assert_eq!(
            failing.0.load(Ordering::SeqCst),
            1,
            "second event used the cache"
        );

        let error = registry
            .validate_capsule_value(&set(tv1_capsule(), "schema", json!("Other")))
            .expect_err("unavailable");
        assert_eq!(
            error.message(),
            "Schema Other revision 13: failing source: \
             Schema fetch from test://Other failed: connection refused"
        );
        // Failures are not cached: the next event asks again.
        let _ = registry.validate_capsule_value(&set(tv1_capsule(), "schema", json!("Other")));
        assert_eq!(failing.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn first_source_wins() {
        let registry = SchemaRegistry::new(vec![
            Box::new(InMemorySchemaSource::new("first").with_schema(
                "Generic",
                13,
                json!({"properties": {"articleId": {"type": "string"}}}),
            )),
            Box::new(InMemorySchemaSource::new("second").with_schema(
                "Generic",
                13,
                generic_schema(),
            )),
        ]);
        assert_eq!(
            registry.validate_capsule_value(&tv1_capsule()),
            invalid("/event/articleId: 1 is not of type \"string\"")
        );
        assert_eq!(registry.source_descriptions(), ["first", "second"]);
    }

    #[test]
    fn shared_between_threads() {
        let registry = Arc::new(registry());
        let handles: Vec<_> = (0..4)
            .map(|thread| {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let capsule = set(tv1_capsule(), "seqId", json!(thread * 1000 + i));
                        assert_eq!(registry.validate_capsule_value(&capsule), Ok(()));
                    }
                })
            })
            .collect();
        for handle in handles {
            assert!(handle.join().is_ok());
        }
        assert_eq!(registry.compiled_count(), 1);
    }
}
