//! Stage 1 of the per-line pipeline: matching a raw line against the compiled line format
//! (`LineFormat::match_line`), on the generator's realistic mix (2 % malformed lines included).

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

fn format_match(c: &mut Criterion) {
    let format = common::line_format();
    let lines = common::lines(common::LINE_COUNT);
    let mut group = common::group(c, "format_match");
    group.throughput(common::elements(&lines));
    group.bench_function("match_line", |b| {
        b.iter(|| {
            for line in &lines {
                let _ = black_box(format.match_line(black_box(line)).map(|found| found.len()));
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = format_match
}
criterion_main!(benches);
