//! Stage 6: serialising a parsed capsule as compact JSON, the payload of every output record:
//! with `serde_json::to_vec` (the full capsule), with the processor's own writer on the same
//! capsule (`json_writer::write_object`), and as the processor does it (`LegacyCapsule::write_json`,
//! user agent pre-rendered). All three write the same bytes. `document` writes the same
//! capsules held in `json::Document`s (the processor's common path), user agent included.

mod common;

use std::hint::black_box;

use beacon_parsers::json::Document;
use beacon_parsers::json_writer;
use criterion::{criterion_group, criterion_main, Criterion};

fn serialize(c: &mut Criterion) {
    let capsules = common::parsed_capsules(&common::lines(common::LINE_COUNT));
    let mut group = common::group(c, "serialize");
    group.throughput(common::elements(&capsules));
    group.bench_function("to_vec", |b| {
        b.iter(|| {
            for capsule in &capsules {
                let _ = black_box(serde_json::to_vec(black_box(capsule)));
            }
        });
    });
    let mut out = Vec::with_capacity(4096);
    group.bench_function("json_writer", |b| {
        b.iter(|| {
            for capsule in &capsules {
                out.clear();
                json_writer::write_object(&mut out, black_box(capsule));
                black_box(&out);
            }
        });
    });
    let legacy = common::legacy_capsules(&common::lines(common::LINE_COUNT));
    group.bench_function("legacy_capsule", |b| {
        b.iter(|| {
            for capsule in &legacy {
                out.clear();
                black_box(capsule).write_json(&mut out);
                black_box(&out);
            }
        });
    });
    let documents: Vec<Document> = capsules
        .iter()
        .map(|capsule| {
            let mut document = Document::new();
            let text = serde_json::to_string(capsule).unwrap_or_default();
            assert!(document.parse(&text));
            document
        })
        .collect();
    group.bench_function("document", |b| {
        b.iter(|| {
            for document in &documents {
                out.clear();
                if let Some(root) = black_box(document).root() {
                    root.write_json(&mut out);
                }
                black_box(&out);
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = serialize
}
criterion_main!(benches);
