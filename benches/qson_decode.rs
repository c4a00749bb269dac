//! Stage 2: percent-decoding the captured `%q` field of each generated line: `qson::decode` (a new
//! string per line) and `qson::decode_into` (one buffer reused, as the pipeline does).

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use beacon_parsers::qson;

fn qson_decode(c: &mut Criterion) {
    let lines = common::lines(common::LINE_COUNT);
    // The capsule field is the first TAB field of a varnishkafka line.
    let fields: Vec<&str> = lines
        .iter()
        .map(|line| line.split('\t').next().unwrap_or_default())
        .collect();
    let mut group = common::group(c, "qson_decode");
    group.throughput(common::elements(&fields));
    group.bench_function("decode", |b| {
        b.iter(|| {
            for field in &fields {
                let _ = black_box(qson::decode(black_box(field)));
            }
        });
    });
    // What the pipeline calls: one buffer reused for every line.
    group.bench_function("decode_into", |b| {
        let mut buffer = Vec::new();
        b.iter(|| {
            for field in &fields {
                let _ = black_box(qson::decode_into(black_box(field), &mut buffer).map(str::len));
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = qson_decode
}
criterion_main!(benches);
