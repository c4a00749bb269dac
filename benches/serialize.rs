//! Stage 6: serialising a parsed capsule as compact JSON (`serde_json::to_vec`), the payload of
//! every output record.

mod common;

use std::hint::black_box;

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
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = serialize
}
criterion_main!(benches);
