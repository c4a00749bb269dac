//! Shared setup of the benches: realistic raw beacon lines made once by the project's own
//! generator (fixed seed), and the parts of the per-line pipeline that process them.
//!
//! One iteration of every bench processes its whole input set (e.g. all 20,000 generated
//! lines), so every sample sees exactly the same realistic mix; the throughput is declared as
//! that many elements, so criterion's `thrpt` is lines (or user agents, capsules) per second and
//! `time / elements` is the cost of one. Iterations are long, so sampling is flat.
//!
//! Setup failures (missing schema directory, a configuration that does not assemble) panic with
//! a message: a bench cannot measure anything without its inputs.

// Each bench target uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use serde_json::{Map, Value};

use beacon_parsers::capsule::{CapsuleParser, LegacyCapsule};
use beacon_parsers::format::LineFormat;
use beacon_parsers::useragent::{UserAgentCache, UserAgentParser};
use beacon_processor::app;
use beacon_processor::clock::Clock;
use beacon_processor::config::LoadedConfig;
use beacon_processor::generate::{generate, GeneratorSettings, SchemaSample};
use beacon_processor::processor::Processor;
use beacon_processor::schema::{LegacyDirSource, SchemaRegistry};

/// The binary's allocator (mimalloc, see `src/main.rs`), so that the benches measure what the
/// processor runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The production line format (varnishkafka's EventLogging beacon format).
pub const FORMAT: &str = "%q %{recvFrom}s %{seqId}d %D %{ip}i %u";

/// Lines generated for most benches.
pub const LINE_COUNT: u64 = 20_000;

/// Generator seed: the same seed gives the same lines, so runs are comparable.
pub const SEED: u64 = 1;

/// The fixed "now" handed to the parser and the processor (2026-11-01T00:00:00Z).
pub const NOW_UNIX_MICROS: i64 = 1_793_491_200_000_000;

/// User-agent cache capacity of a warm cache: the production default, larger than the number of
/// distinct user agents in [`LINE_COUNT`] generated lines, so every lookup hits.
pub const WARM_CACHE_CAPACITY: usize = 20_000;

/// How often each sample schema appears (others: 10); the same mix as `beacon-processor
/// generate`.
const SCHEMA_WEIGHTS: &[(&str, u32)] = &[
    ("NavigationTiming", 30),
    ("SearchSatisfaction", 25),
    ("Echo", 20),
    ("EditAttemptStep", 20),
    ("Generic", 5),
];

/// Criterion settings of every bench: short enough that the whole suite runs in a few minutes
/// on two cores.
pub fn criterion_config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// A benchmark group named `name` with flat sampling (each iteration is a whole input set).
pub fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// The throughput of one iteration over `items` inputs.
pub fn elements<T>(items: &[T]) -> Throughput {
    Throughput::Elements(u64::try_from(items.len()).unwrap_or(u64::MAX))
}

/// The repository's sample schema directory.
pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/schemas")
}

/// The sample schemas, weighted like `beacon-processor generate`.
pub fn schema_samples() -> Vec<SchemaSample> {
    let directory = schemas_dir();
    let source = LegacyDirSource::load(&directory)
        .unwrap_or_else(|e| panic!("cannot load schemas from {}: {e}", directory.display()));
    source
        .schemas()
        .map(|(name, revision, schema)| SchemaSample {
            name: name.to_owned(),
            revision,
            schema: schema.clone(),
            weight: SCHEMA_WEIGHTS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(10, |(_, w)| *w),
        })
        .collect()
}

/// `count` raw generated lines (without terminators), with the generator's default mix of
/// invalid (3 %) and malformed (2 %) lines and user agents.
pub fn raw_lines(count: u64) -> Vec<Vec<u8>> {
    let settings = GeneratorSettings {
        lines: count,
        seed: SEED,
        ..GeneratorSettings::default()
    };
    let mut out = Vec::new();
    generate(&settings, schema_samples(), &mut out)
        .unwrap_or_else(|e| panic!("generating lines: {e}"));
    out.split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// `count` generated lines as text (invalid UTF-8 replaced, as the processor reads its input).
pub fn lines(count: u64) -> Vec<String> {
    raw_lines(count)
        .iter()
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect()
}

/// The compiled production line format.
pub fn line_format() -> LineFormat {
    LineFormat::compile(FORMAT).unwrap_or_else(|e| panic!("format {FORMAT:?}: {e}"))
}

/// A capsule parser for the production line format.
pub fn capsule_parser() -> CapsuleParser {
    CapsuleParser::new(line_format())
}

/// The built-in (uap-core) user-agent parser.
pub fn user_agent_parser() -> Arc<UserAgentParser> {
    Arc::new(
        UserAgentParser::builtin().unwrap_or_else(|e| panic!("built-in user-agent parser: {e}")),
    )
}

/// A cache of [`WARM_CACHE_CAPACITY`] entries that has already seen every user agent of
/// `lines` (parsed through `parser` once).
pub fn warm_cache(parser: &CapsuleParser, lines: &[String]) -> UserAgentCache {
    let mut cache = UserAgentCache::new(user_agent_parser(), WARM_CACHE_CAPACITY);
    for line in lines {
        let _ = parser.parse(line, &mut cache, NOW_UNIX_MICROS);
    }
    cache
}

/// The raw user-agent field (quotes included) of a generated line: its last TAB field.
pub fn user_agent_field(line: &str) -> &str {
    line.rsplit('\t').next().unwrap_or_default()
}

/// The distinct user agents of `lines` that parse, in order of first appearance.
pub fn distinct_user_agents(lines: &[String], parser: &UserAgentParser) -> Vec<String> {
    let mut seen = HashSet::new();
    lines
        .iter()
        .map(|line| user_agent_field(line))
        .filter(|ua| seen.insert(*ua))
        .filter(|ua| parser.parse(ua).is_ok())
        .map(str::to_owned)
        .collect()
}

/// The capsules of the lines that parse (with a warm user-agent cache).
pub fn parsed_capsules(lines: &[String]) -> Vec<Map<String, Value>> {
    let parser = capsule_parser();
    let mut cache = warm_cache(&parser, lines);
    lines
        .iter()
        .filter_map(|line| parser.parse(line, &mut cache, NOW_UNIX_MICROS).ok())
        .collect()
}

/// The capsules of the lines that parse, as the processor builds them (user agent pre-rendered;
/// with a warm user-agent cache).
pub fn legacy_capsules(lines: &[String]) -> Vec<LegacyCapsule> {
    let parser = capsule_parser();
    let mut cache = warm_cache(&parser, lines);
    lines
        .iter()
        .filter_map(|line| {
            let decoded = parser.decode(line).ok()?;
            parser
                .build_legacy_capsule(decoded, &mut cache, NOW_UNIX_MICROS)
                .ok()
        })
        .collect()
}

/// A schema registry over the sample schema directory (validators compile on first use).
pub fn schema_registry() -> SchemaRegistry {
    let directory = schemas_dir();
    let source = LegacyDirSource::load(&directory)
        .unwrap_or_else(|e| panic!("cannot load schemas from {}: {e}", directory.display()));
    SchemaRegistry::new(vec![Box::new(source)])
}

/// The whole per-line processor, assembled from the default configuration (production format,
/// user-agent cache of 20,000 per worker) over the sample schema directory.
pub fn processor() -> Arc<Processor> {
    let mut loaded = LoadedConfig::defaults();
    loaded.file.format = FORMAT.to_owned();
    loaded.file.schemas.legacy_dirs = vec![schemas_dir().display().to_string()];
    match app::assemble(&loaded, false) {
        Ok(assembled) => assembled.processor,
        Err(e) => panic!("bench configuration does not assemble: {e}"),
    }
}

/// The fixed clock of the pipeline benches.
pub fn clock() -> Clock {
    Clock {
        unix_micros: NOW_UNIX_MICROS,
    }
}
