//! Stages 1-4 together: `CapsuleParser::parse` (format match, QSON decode, JSON parse, casters
//! including `dt` and the user agent, uuid), with a warm user-agent cache (every user agent a
//! hit) and with caching disabled (every line parses its user agent with uap-core).
//!
//! `document/ua_cached` is the processor's common path: `CapsuleParser::build_legacy_document`
//! into a reused `json::Document` (no `Value` tree), then the user agent from the warm cache
//! (the processor looks it up only for valid capsules). Lines that need the general path do
//! nothing more here (about 5 % of the generated lines).

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use beacon_parsers::capsule::{DocumentBuild, DocumentCapsule};
use beacon_parsers::json::Document;
use beacon_parsers::useragent::UserAgentCache;

/// Lines of the uncached variant: each costs a full user-agent parse, so fewer are needed.
const UNCACHED_LINES: u64 = 2_000;

fn capsule_build(c: &mut Criterion) {
    let parser = common::capsule_parser();
    let lines = common::lines(common::LINE_COUNT);
    let mut warm = common::warm_cache(&parser, &lines);
    let uncached_lines = common::lines(UNCACHED_LINES);
    let mut uncached = UserAgentCache::new(common::user_agent_parser(), 0);

    let mut group = common::group(c, "capsule_build");
    group.throughput(common::elements(&lines));
    group.bench_function("parse/ua_cached", |b| {
        b.iter(|| {
            for line in &lines {
                let _ =
                    black_box(parser.parse(black_box(line), &mut warm, common::NOW_UNIX_MICROS));
            }
        });
    });
    let mut document = Document::new();
    group.bench_function("document/ua_cached", |b| {
        b.iter(|| {
            for line in &lines {
                let built = parser.build_legacy_document(
                    black_box(line),
                    &mut document,
                    &mut warm,
                    common::NOW_UNIX_MICROS,
                    |_| false,
                );
                if let DocumentBuild::Built(DocumentCapsule {
                    user_agent: Some(user_agent),
                }) = built
                {
                    let _ = black_box(warm.parse_rendered(user_agent));
                }
                black_box(&document);
            }
        });
    });
    group.throughput(common::elements(&uncached_lines));
    group.bench_function("parse/ua_uncached", |b| {
        b.iter(|| {
            for line in &uncached_lines {
                let _ = black_box(parser.parse(
                    black_box(line),
                    &mut uncached,
                    common::NOW_UNIX_MICROS,
                ));
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = capsule_build
}
criterion_main!(benches);
