//! Stage 3: parsing the decoded capsule text into a JSON object (`json::parse_object`,
//! serde_json with `arbitrary_precision`), on the decoded capsules of the generated lines; and
//! into the reusable flat `json::Document` the processor's common path uses (`document`).

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use beacon_parsers::{json, qson};

fn json_parse(c: &mut Criterion) {
    let lines = common::lines(common::LINE_COUNT);
    let decoded: Vec<String> = lines
        .iter()
        .filter_map(|line| qson::decode(line.split('\t').next().unwrap_or_default()).ok())
        .map(|text| text.into_owned())
        .collect();
    let mut group = common::group(c, "json_parse");
    group.throughput(common::elements(&decoded));
    group.bench_function("parse_object", |b| {
        b.iter(|| {
            for text in &decoded {
                let _ = black_box(json::parse_object(black_box(text)));
            }
        });
    });
    let mut document = json::Document::new();
    group.bench_function("document", |b| {
        b.iter(|| {
            for text in &decoded {
                black_box(document.parse(black_box(text)));
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = json_parse
}
criterion_main!(benches);
