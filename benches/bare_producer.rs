//! Baseline for the Kafka sink: a bare rdkafka `BaseProducer` sending pre-built records, with
//! the same producer settings as beacon-processor's sink (idempotence, lz4, linger 20 ms), and
//! nothing else: no parsing, no validation. Reads the records from a directory written by
//! `beacon-processor process --out DIR` (one `<topic>.jsonl` file per topic), loads them all
//! into memory first, then times producing them until every delivery report is in.
//!
//! Run by `scripts/bench-kafka.sh`; by hand:
//! `BARE_PRODUCER_BROKERS=127.0.0.1:9092 BARE_PRODUCER_RECORDS=out/ cargo bench --bench bare_producer`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

struct Counting {
    delivered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

#[path = "common/cpu.rs"]
mod cpu;
use cpu::process_cpu_seconds;

fn main() {
    let (Ok(brokers), Ok(dir)) = (
        std::env::var("BARE_PRODUCER_BROKERS"),
        std::env::var("BARE_PRODUCER_RECORDS"),
    ) else {
        eprintln!("bare_producer: set BARE_PRODUCER_BROKERS and BARE_PRODUCER_RECORDS (skipped)");
        return;
    };
    let mut records: Vec<(String, Vec<u8>)> = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    entries.sort();
    for path in entries {
        let topic = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            records.push((topic.clone(), line.to_vec()));
        }
    }
    // Interleave topics the way the processor's output is (by input order, roughly random).
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for i in (1..records.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        records.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let bytes: usize = records.iter().map(|(_, p)| p.len()).sum();

    let delivered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let producer: BaseProducer<Counting> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("enable.idempotence", "true")
        .set("compression.codec", "lz4")
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "100000")
        .set("queue.buffering.max.kbytes", "65536")
        .create_with_context(Counting {
            delivered: Arc::clone(&delivered),
            failed: Arc::clone(&failed),
        })
        .expect("producer");
    // Warm up metadata for every topic so that the timed part only produces.
    for (topic, _) in records.iter().take(1) {
        let _ = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10));
    }
    let started = Instant::now();
    let cpu_before = process_cpu_seconds();
    for (topic, payload) in &records {
        let mut pending = BaseRecord::<(), [u8]>::to(topic)
            .payload(payload.as_slice())
            .timestamp(1_700_000_000_000);
        loop {
            match producer.send(pending) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    producer.poll(Duration::from_millis(1));
                    pending = back;
                }
                Err((e, _)) => panic!("produce failed: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
    let seconds = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - cpu_before;
    let n = records.len() as f64;
    println!(
        "bare producer: {} records ({:.1} MB) in {seconds:.2} s: {:.0} records/s, {:.1} MB/s, {:.2} us CPU/record, {} failed",
        records.len(),
        bytes as f64 / 1e6,
        n / seconds,
        bytes as f64 / 1e6 / seconds,
        cpu * 1e6 / n,
        failed.load(Ordering::Relaxed)
    );
    assert_eq!(delivered.load(Ordering::Relaxed), records.len() as u64);
}
