//! The HTTP intake's per-event work on a worker, `Worker::process_requests` (parse the event,
//! look its schema up, check its stream, enrich, validate, route, write it into the batch), on
//! the request bodies of `scripts/bench-http.sh` (events of the repository's `test/event`
//! stream), without the HTTP server, the hand-offs between threads or the sink:
//!
//! - `process_requests/100_per_request`: batches of one request of 100 events;
//! - `process_requests/1_per_request`: batches of 100 requests of one event.
//!
//! Wall-clock time on one thread, so `time / elements` is the worker's CPU per event; the
//! whole service's CPU per event is measured by `scripts/bench-http.sh`.

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;

use beacon_processor::app;
use beacon_processor::config::LoadedConfig;
use beacon_processor::intake_request::{IntakeRequest, Verdict};
use beacon_processor::processor::Processor;

/// Events per batch in both shapes.
const EVENTS: usize = 100;

fn processor() -> Arc<Processor> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut loaded = LoadedConfig::defaults();
    loaded.file.format = common::FORMAT.to_owned();
    loaded.file.schemas.legacy_dirs = vec![common::schemas_dir().display().to_string()];
    loaded.file.schemas.event_repositories =
        vec![repo.join("config/event-schemas").display().to_string()];
    loaded.file.streams.config = Some(repo.join("config/stream-config.yaml").display().to_string());
    match app::assemble(&loaded, false) {
        Ok(assembled) => assembled.processor,
        Err(e) => panic!("bench configuration does not assemble: {e}"),
    }
}

/// The events of `scripts/bench-http.sh`'s request bodies, as compact JSON.
fn events() -> Vec<Vec<u8>> {
    (0..EVENTS)
        .map(|i| {
            let event = json!({
                "$schema": "/test/event/1.0.0",
                "meta": {"stream": "test.event", "domain": "en.wikipedia.org",
                         "uri": "https://en.wikipedia.org/wiki/Special:Random"},
                "test": format!("bench event {i}"),
                "test_map": {"k1": "v1", "k2": "v2"},
            });
            serde_json::to_vec(&event).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// A request with its number of events.
type Requested = (Arc<IntakeRequest>, usize);

fn request() -> Arc<IntakeRequest> {
    Arc::new(IntakeRequest::new(
        "198.51.100.7".to_owned(),
        Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".to_owned()),
        "4f2a1c9e-0d6b-4b8e-9a51-3c7e2f1d8b60".to_owned(),
        common::clock(),
    ))
}

fn intake(c: &mut Criterion) {
    let processor = processor();
    let events = events();
    let clock = common::clock();
    let mut worker = processor.worker();

    // Every event must be accepted, or the bench would measure error events.
    let one = [(request(), EVENTS)];
    let records = worker.process_requests(
        one.iter().map(|(r, n)| (r, *n)),
        events.iter().map(Vec::as_slice),
        clock,
    );
    let verdicts = one[0].0.take_verdicts();
    let accepted = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Accepted))
        .count();
    assert_eq!(
        (records.len(), accepted),
        (EVENTS, EVENTS),
        "every bench event is accepted: {verdicts:?}"
    );

    let many: Vec<Requested> = (0..EVENTS).map(|_| (request(), 1)).collect();
    let mut group = common::group(c, "intake");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let shapes: [(&str, &[Requested]); 2] = [("100_per_request", &one), ("1_per_request", &many)];
    for (name, requests) in shapes {
        group.bench_function(format!("process_requests/{name}"), |b| {
            b.iter(|| {
                black_box(worker.process_requests(
                    requests.iter().map(|(r, n)| (r, *n)),
                    events.iter().map(|e| black_box(e.as_slice())),
                    clock,
                ))
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = intake
}
criterion_main!(benches);
