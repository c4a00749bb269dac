//! The chaos run's checker (`scripts/chaos.sh`): reads every record of every output topic of a
//! Kafka cluster and compares their ids (`uuid`, or `meta.id`) with the records a clean
//! `beacon-processor process --out DIR` of the same input produced. Prints events expected,
//! found, lost and duplicated; exits non-zero if any input is lost or an output is unexplained.
//! It reads as a `read_committed` consumer: records of aborted transactions are not counted.
//!
//! `CHAOS_BROKERS=127.0.0.1:PORT CHAOS_EXPECTED=DIR cargo bench --bench chaos_check`
//! (`CHAOS_EXCLUDE`: comma-separated topics to ignore, e.g. the raw topic; `CHAOS_TOPIC_PREFIX`:
//! read only the topics whose names start with it).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

fn record_id(payload: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    value
        .get("uuid")
        .and_then(|v| v.as_str())
        .or_else(|| value.get("meta")?.get("id")?.as_str())
        .map(str::to_owned)
}

fn main() {
    let (Ok(brokers), Ok(expected_dir)) = (
        std::env::var("CHAOS_BROKERS"),
        std::env::var("CHAOS_EXPECTED"),
    ) else {
        eprintln!("chaos_check: set CHAOS_BROKERS and CHAOS_EXPECTED (skipped)");
        return;
    };
    let exclude: HashSet<String> = std::env::var("CHAOS_EXCLUDE")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let prefix = std::env::var("CHAOS_TOPIC_PREFIX").unwrap_or_default();

    let mut expected: HashSet<String> = HashSet::new();
    for entry in std::fs::read_dir(&expected_dir).expect("expected directory") {
        let path = entry.expect("entry").path();
        let text = std::fs::read(&path).expect("expected file");
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let id = record_id(line).expect("expected records have ids");
            assert!(expected.insert(id), "the expected run has a duplicate id");
        }
    }

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "chaos-check")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(30))
        .expect("metadata");
    let mut assignment = TopicPartitionList::new();
    let mut total = 0i64;
    let mut ends: HashMap<(String, i32), i64> = HashMap::new();
    let mut truncated = 0i64;
    for topic in metadata.topics() {
        if exclude.contains(topic.name())
            || topic.name().starts_with("__")
            || !topic.name().starts_with(&prefix)
        {
            continue;
        }
        for partition in topic.partitions() {
            let (low, high) = consumer
                .fetch_watermarks(topic.name(), partition.id(), Duration::from_secs(30))
                .expect("watermarks");
            truncated += low;
            if high > low {
                total += high - low;
                ends.insert((topic.name().to_owned(), partition.id()), high);
                assignment
                    .add_partition_offset(topic.name(), partition.id(), Offset::Offset(low))
                    .expect("assignment");
            }
        }
    }
    consumer.assign(&assignment).expect("assign");
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(expected.len());
    let mut read = 0i64;
    let mut unreadable = 0u64;
    let deadline = Instant::now() + Duration::from_secs(600);
    // A read_committed reader (librdkafka's default) is never given transaction markers nor
    // aborted records: read until every partition's position is at its end, not a count.
    let at_end = |consumer: &BaseConsumer| {
        consumer.position().is_ok_and(|positions| {
            positions.elements().iter().all(|e| match e.offset() {
                Offset::Offset(at) => ends
                    .get(&(e.topic().to_owned(), e.partition()))
                    .is_none_or(|&end| at >= end),
                _ => false,
            })
        })
    };
    let mut complete = total == 0;
    while !complete && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                read += 1;
                match message.payload().and_then(record_id) {
                    Some(id) => *seen.entry(id).or_default() += 1,
                    None => unreadable += 1,
                }
            }
            _ => complete = at_end(&consumer),
        }
    }
    let lost = expected.iter().filter(|id| !seen.contains_key(*id)).count();
    let unexplained = seen.keys().filter(|id| !expected.contains(*id)).count();
    let duplicates: u64 = seen.values().map(|n| u64::from(n - 1)).sum();
    println!(
        "chaos check: expected {} events, read {read} records ({} distinct), lost {lost}, \
         duplicates {duplicates}, unexplained {unexplained}, unreadable {unreadable}, \
         records dropped by the broker's retention {truncated}",
        expected.len(),
        seen.len()
    );
    if !complete {
        println!("chaos check: the topics could not be read to their end within 600 s");
    }
    if lost > 0 || unexplained > 0 || unreadable > 0 || !complete || truncated > 0 {
        std::process::exit(1);
    }
}
