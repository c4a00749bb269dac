//! The whole per-line function, `Worker::process_line` (parse, enrich, validate, route,
//! serialise; errors become EventError records), on the generator's realistic mix of lines.
//!
//! - `process_line/warm_ua_cache`: one worker that has already seen every line, so every user
//!   agent is cached (steady state of a stream dominated by popular user agents);
//! - `process_line/fresh_ua_cache`: a new worker (empty user-agent cache) for every pass over
//!   the lines, so each pass pays for the first sighting of each user agent, as a stream of that
//!   many lines would.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use beacon_processor::record::Outcome;

/// Samples of each pipeline bench: one iteration is a whole pass (a few hundred ms).
const PIPELINE_SAMPLES: usize = 10;

fn pipeline(c: &mut Criterion) {
    let processor = common::processor();
    let lines = common::raw_lines(common::LINE_COUNT);
    let clock = common::clock();

    // One pass to compile the validators, warm the worker and report the mix being measured.
    let mut warm = processor.worker();
    let valid = lines
        .iter()
        .filter(|line| warm.process_line(line, None, clock).outcome == Outcome::Valid)
        .count();
    let (hits, misses) = warm.user_agent_cache_stats();
    eprintln!(
        "pipeline: {} lines, {valid} valid; user-agent cache on the first pass: \
         {hits} hits, {misses} misses",
        lines.len()
    );

    let mut group = common::group(c, "pipeline");
    group.sample_size(PIPELINE_SAMPLES);
    group.throughput(common::elements(&lines));
    group.bench_function("process_line/warm_ua_cache", |b| {
        b.iter(|| {
            for line in &lines {
                let _ = black_box(warm.process_line(black_box(line), None, clock));
            }
        });
    });
    group.bench_function("process_line/fresh_ua_cache", |b| {
        b.iter(|| {
            let mut worker = processor.worker();
            for line in &lines {
                let _ = black_box(worker.process_line(black_box(line), None, clock));
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = pipeline
}
criterion_main!(benches);
