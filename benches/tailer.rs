//! Throughput of the file tailer alone: one big file read from its beginning through
//! `Tailer::poll_once` into a bounded channel (the pipeline's queue size), drained by a thread that
//! acknowledges every batch at once (an infinitely fast sink). Reports bytes/s and lines/s.
//!
//! Not a criterion bench: one pass over a large file is the measurement (criterion's repeated
//! sampling would need tens of gigabytes). Run it through `scripts/bench-tailer.sh`, which makes a
//! ~1 GB file of generated beacon lines, or directly:
//!
//! ```sh
//! TAILER_BENCH_FILE=/path/to/big.log cargo bench --bench tailer
//! cargo bench --bench tailer            # synthesises a 256 MB file in a temporary directory
//! ```
//!
//! Without `--bench` on the command line (`cargo test --benches`) it only reads a 1 MB file once,
//! as a smoke test.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use beacon_processor::source::tail::{TailSettings, Tailer};
use beacon_processor::source::{DeliveryTracker, LineBatch, SourceContext, SourceSettings};
use crossbeam_channel::bounded;

/// Batches that may wait in the channel (the pipeline's default `queue_batches`).
const QUEUE_BATCHES: usize = 8;

struct Measurement {
    bytes: u64,
    lines: u64,
    elapsed: Duration,
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let (file, runs) = match std::env::var_os("TAILER_BENCH_FILE") {
        Some(path) if full && !path.is_empty() => (PathBuf::from(path), 3),
        _ => {
            let megabytes = if full { 256 } else { 1 };
            let path = scratch.path().join("beacons.log");
            synthesise(&path, megabytes * 1024 * 1024);
            (path, if full { 3 } else { 1 })
        }
    };
    let size = std::fs::metadata(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .len();
    eprintln!(
        "tailer bench: {} ({:.1} MB), {runs} run(s)",
        file.display(),
        size as f64 / 1e6
    );
    let mut results = Vec::new();
    for run in 0..runs {
        let data_dir = scratch.path().join(format!("data-{run}"));
        let m = measure(&file, &data_dir, size);
        eprintln!(
            "run {run}: {} lines, {:.1} MB in {:.3} s: {:.0} lines/s, {:.1} MB/s",
            m.lines,
            m.bytes as f64 / 1e6,
            m.elapsed.as_secs_f64(),
            m.lines as f64 / m.elapsed.as_secs_f64(),
            m.bytes as f64 / 1e6 / m.elapsed.as_secs_f64()
        );
        results.push(m);
    }
    results.sort_by_key(|m| m.elapsed);
    if let Some(median) = results.get(results.len() / 2) {
        println!(
            "tailer: median of {runs}: {:.0} lines/s, {:.1} MB/s ({} lines, {:.1} MB in {:.3} s)",
            median.lines as f64 / median.elapsed.as_secs_f64(),
            median.bytes as f64 / 1e6 / median.elapsed.as_secs_f64(),
            median.lines,
            median.bytes as f64 / 1e6,
            median.elapsed.as_secs_f64()
        );
    }
}

/// Reads `file` (of `size` bytes) to its end through a fresh tailer.
fn measure(file: &Path, data_dir: &Path, size: u64) -> Measurement {
    let pattern = glob::Pattern::escape(&file.display().to_string());
    let mut settings = TailSettings::new(vec![pattern], data_dir.to_path_buf());
    settings.notify = false;
    settings.poll_interval = Duration::from_millis(1);
    let (sender, receiver) = bounded::<LineBatch>(QUEUE_BATCHES);
    let tracker = Arc::new(DeliveryTracker::default());
    let ctx = SourceContext::new(
        "files",
        SourceSettings::default(),
        tracker,
        sender,
        Arc::new(AtomicBool::new(false)),
    );
    let sink = std::thread::spawn(move || {
        let mut lines = 0u64;
        for batch in receiver.iter() {
            lines += batch.len() as u64;
            batch.into_ack().acknowledge();
        }
        lines
    });
    let mut tailer = Tailer::open(settings, None).unwrap_or_else(|e| panic!("tailer: {e}"));
    let started = Instant::now();
    let mut bytes = 0u64;
    while bytes < size {
        let report = tailer
            .poll_once(&ctx)
            .unwrap_or_else(|e| panic!("tailer pass: {e}"));
        bytes += report.bytes;
        if report.bytes == 0 {
            panic!("the tailer stopped at {bytes} of {size} bytes");
        }
    }
    let read_elapsed = started.elapsed();
    let all_acknowledged = tailer
        .finish(&ctx, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("final checkpoint: {e}"));
    assert!(all_acknowledged, "every batch was acknowledged");
    drop(ctx);
    let lines = sink.join().unwrap_or_else(|_| panic!("sink thread"));
    Measurement {
        bytes,
        lines,
        elapsed: read_elapsed,
    }
}

/// Writes about `bytes` bytes of numbered beacon lines (the size of typical small events).
fn synthesise(path: &Path, bytes: u64) {
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BufWriter::new(file);
    let mut written = 0u64;
    let mut seq = 0u64;
    while written < bytes {
        let line = format!(
            "?%7B%22event%22%3A%7B%22articleId%22%3A{seq}%2C%22action%22%3A%22click%22%7D%2C%22revision%22%3A13%2C%22schema%22%3A%22Generic%22%2C%22wiki%22%3A%22enwiki%22%2C%22webHost%22%3A%22en.wikipedia.org%22%7D;\tcp3030.esams.wmnet\t{seq}\t2026-11-01T00:00:00\t192.0.2.1\t\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\"\n"
        );
        out.write_all(line.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        written += line.len() as u64;
        seq += 1;
    }
    out.flush()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
