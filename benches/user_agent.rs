//! The user-agent caster on its own: an uncached `UserAgentParser::parse` (uap-core regexes,
//! bot and app-version checks) over the distinct user agents of the generated lines, and the
//! per-worker cache's hit path over the user agents in traffic order.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use beacon_parsers::useragent::UserAgentCache;

fn user_agent(c: &mut Criterion) {
    let parser = common::user_agent_parser();
    let lines = common::lines(common::LINE_COUNT);
    let distinct = common::distinct_user_agents(&lines, &parser);
    // Every user agent of the lines, in traffic order (Zipf-distributed repeats).
    let in_traffic_order: Vec<&str> = lines
        .iter()
        .map(|line| common::user_agent_field(line))
        .filter(|ua| parser.parse(ua).is_ok())
        .collect();
    let mut cache = UserAgentCache::new(parser.clone(), common::WARM_CACHE_CAPACITY);
    for ua in &distinct {
        let _ = cache.parse(ua);
    }

    let mut group = common::group(c, "user_agent");
    group.throughput(common::elements(&distinct));
    group.bench_function("parse/uncached_distinct", |b| {
        b.iter(|| {
            for ua in &distinct {
                let _ = black_box(parser.parse(black_box(ua)));
            }
        });
    });
    group.throughput(common::elements(&in_traffic_order));
    group.bench_function("cache/hit", |b| {
        b.iter(|| {
            for ua in &in_traffic_order {
                let _ = black_box(cache.parse(black_box(ua)));
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = user_agent
}
criterion_main!(benches);
