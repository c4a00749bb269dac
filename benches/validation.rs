//! Stage 5: capsule validation by the schema registry (SCID checks, then the compiled
//! encapsulated draft-3 schema), for the small Echo schema and the 30-property NavigationTiming
//! schema, on valid capsules parsed from generated lines. Validators are compiled before
//! measuring (the registry caches them for its lifetime).
//!
//! `{schema}/jsonschema` is the baseline of the same run: the `jsonschema` validator of the
//! encapsulated schema alone (`is_valid`), which the registry used before the fast validator
//! (`src/validation/fast_validator.rs`); `{schema}/fast` is `LegacyValidator::is_valid`, which uses
//! the fast validator; `{schema}/document` is `LegacyValidator::is_valid_document`, the fast
//! validator on the capsule held in a `json::Document` (the processor's common path).

mod common;

use std::hint::black_box;

use beacon_parsers::json::Document;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{Map, Value};

use beacon_processor::schema::{LegacyDirSource, SchemaRegistry};
use beacon_processor::validation::legacy_validator::encapsulated_draft4;

/// Schemas measured: (name, revision).
const SCHEMAS: &[(&str, i64)] = &[("Echo", 7_731_316), ("NavigationTiming", 18_988_839)];

/// The parsed capsules of `name` that the registry finds valid.
fn valid_capsules_of(
    registry: &SchemaRegistry,
    capsules: &[Map<String, Value>],
    name: &str,
) -> Vec<Map<String, Value>> {
    capsules
        .iter()
        .filter(|capsule| capsule.get("schema").and_then(Value::as_str) == Some(name))
        .filter(|capsule| registry.validate_capsule(capsule).is_ok())
        .cloned()
        .collect()
}

fn validation(c: &mut Criterion) {
    let registry = common::schema_registry();
    let capsules = common::parsed_capsules(&common::lines(common::LINE_COUNT));
    let source = LegacyDirSource::load(common::schemas_dir())
        .unwrap_or_else(|e| panic!("cannot load the schemas: {e}"));
    let mut group = common::group(c, "validation");
    for &(name, revision) in SCHEMAS {
        let validator = registry
            .legacy_validator(name, revision)
            .unwrap_or_else(|e| panic!("schema {name} revision {revision}: {e}"));
        let event_schema = source
            .schemas()
            .find(|(n, r, _)| *n == name && *r == revision)
            .map(|(_, _, schema)| schema.clone())
            .unwrap_or_else(|| panic!("schema {name} revision {revision} not in the directory"));
        let document = encapsulated_draft4(&event_schema)
            .unwrap_or_else(|e| panic!("schema {name} revision {revision}: {e}"));
        let full = jsonschema::draft4::options()
            .should_validate_formats(false)
            .build(&document)
            .unwrap_or_else(|e| panic!("schema {name} revision {revision}: {e}"));
        let valid = valid_capsules_of(&registry, &capsules, name);
        assert!(!valid.is_empty(), "no valid {name} capsule was generated");
        // Fresh copies, allocated one after the other like the parsed capsules of a batch.
        let values: Vec<Value> = valid.iter().cloned().map(Value::Object).collect();
        let mut maps: Vec<Map<String, Value>> = valid.clone();

        group.throughput(common::elements(&values));
        group.bench_function(format!("{name}/jsonschema"), |b| {
            b.iter(|| {
                for capsule in &values {
                    black_box(full.is_valid(black_box(capsule)));
                }
            });
        });
        group.bench_function(format!("{name}/fast"), |b| {
            b.iter(|| {
                for capsule in &values {
                    black_box(validator.is_valid(black_box(capsule)));
                }
            });
        });
        group.bench_function(format!("{name}/value"), |b| {
            b.iter(|| {
                for capsule in &values {
                    let _ = black_box(registry.validate_capsule_value(black_box(capsule)));
                }
            });
        });
        let documents: Vec<Document> = values
            .iter()
            .map(|capsule| {
                let mut document = Document::new();
                assert!(document.parse(&capsule.to_string()));
                document
            })
            .collect();
        group.bench_function(format!("{name}/document"), |b| {
            b.iter(|| {
                for document in &documents {
                    let root = document.root().unwrap_or_else(|| panic!("parsed"));
                    black_box(validator.is_valid_document(black_box(root)));
                }
            });
        });
        group.throughput(common::elements(&maps));
        group.bench_function(format!("{name}/in_place"), |b| {
            b.iter(|| {
                for capsule in maps.iter_mut() {
                    let _ = black_box(registry.validate_capsule_in_place(black_box(capsule)));
                }
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = validation
}
criterion_main!(benches);
