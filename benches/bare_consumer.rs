//! Baseline for the Kafka source: a bare rdkafka `BaseConsumer` reading a topic from its
//! beginning to its end in a fresh consumer group, with the same consumer settings as
//! beacon-processor's source (`queued.max.messages.kbytes` 8192, `fetch.queue.backoff.ms` 10),
//! and nothing else: it only counts the messages and their bytes. Prints records/s, MB/s and
//! CPU per record.
//!
//! Run by `scripts/bench-kafka.sh`; by hand:
//! `BARE_CONSUMER_BROKERS=127.0.0.1:9092 BARE_CONSUMER_TOPIC=eventlogging-client-side cargo bench --bench bare_consumer`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::process_cpu_seconds;

fn main() {
    let (Ok(brokers), Ok(topic)) = (
        std::env::var("BARE_CONSUMER_BROKERS"),
        std::env::var("BARE_CONSUMER_TOPIC"),
    ) else {
        eprintln!("bare_consumer: set BARE_CONSUMER_BROKERS and BARE_CONSUMER_TOPIC (skipped)");
        return;
    };
    let group = format!("bare-consumer-{}", std::process::id());
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("queued.max.messages.kbytes", "8192")
        .set("fetch.queue.backoff.ms", "10")
        .create()
        .expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(&topic), Duration::from_secs(10))
        .expect("metadata");
    let mut ends: HashMap<i32, i64> = HashMap::new();
    for partition in metadata.topics()[0].partitions() {
        let (_, high) = consumer
            .fetch_watermarks(&topic, partition.id(), Duration::from_secs(10))
            .expect("watermarks");
        if high > 0 {
            ends.insert(partition.id(), high);
        }
    }
    let total: i64 = ends.values().sum();
    consumer.subscribe(&[topic.as_str()]).expect("subscribe");
    let started = Instant::now();
    let cpu_before = process_cpu_seconds();
    let (mut records, mut bytes) = (0i64, 0usize);
    let deadline = started + Duration::from_secs(600);
    while records < total && Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            records += 1;
            bytes += message.payload().map_or(0, <[u8]>::len);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - cpu_before;
    println!(
        "bare consumer: {records} records ({:.1} MB) in {seconds:.2} s: {:.0} records/s, {:.1} MB/s, {:.2} us CPU/record",
        bytes as f64 / 1e6,
        records as f64 / seconds,
        bytes as f64 / 1e6 / seconds,
        cpu * 1e6 / (records.max(1) as f64),
    );
    assert_eq!(records, total, "not every record was read");
}
