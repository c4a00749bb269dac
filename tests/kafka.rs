//! Kafka end to end on librdkafka's mock cluster (hosted by this test process, on loopback),
//! with the real binary as the processor: exact routing counts, at-least-once across a
//! rebalance, a broker outage and kill -9, and refused records.
//!
//! Every input line is identified by the uuid of its output record (legacy capsules and
//! EventError capsules both carry a deterministic uuid), and the expected set comes from
//! processing the same lines with the directory sink.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use beacon_processor::kafka::mock_broker::MockBroker;
use beacon_processor::kafka::LineProducer;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value;

mod common;
use common::daemon::Daemon;
use common::{repo, run_ok, wait_until, BIN};

const RAW: &str = "eventlogging-client-side";

/// The raw topic with `partitions` partitions, and the output topics with enough partitions
/// that the mock's ~5 MB per partition retention never drops a record in these tests.
fn topics(partitions: i32) -> Vec<(String, i32)> {
    let mut topics = vec![(RAW.to_owned(), partitions)];
    for schema in [
        "NavigationTiming",
        "SearchSatisfaction",
        "Echo",
        "EditAttemptStep",
        "Generic",
        "EventError",
    ] {
        topics.push((format!("eventlogging_{schema}"), 8));
    }
    topics
}

/// Realistic lines (legacy capsules, about 5 % invalid or malformed).
fn generate(lines: u64, seed: u64) -> Vec<String> {
    let out = run_ok(Command::new(BIN).args([
        "generate",
        "-n",
        &lines.to_string(),
        "--seed",
        &seed.to_string(),
        "--schemas",
        &common::legacy_schemas().display().to_string(),
    ]));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The identity of an output record: its uuid.
fn record_id(payload: &[u8]) -> String {
    let value: Value = serde_json::from_slice(payload).expect("output records are JSON");
    value["uuid"]
        .as_str()
        .or_else(|| value["meta"]["id"].as_str())
        .expect("every output record has an id")
        .to_owned()
}

/// What the directory sink makes of `lines`: per-topic counts and the ids.
fn expected(lines: &[String], dir: &Path) -> (BTreeMap<String, u64>, HashSet<String>) {
    let input = dir.join("expected-input.log");
    fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = dir.join("expected-out");
    run_ok(Command::new(BIN).current_dir(repo()).args([
        "process",
        "--out",
        &out.display().to_string(),
        &input.display().to_string(),
    ]));
    let mut topics = BTreeMap::new();
    let mut ids = HashSet::new();
    for entry in fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let topic = path.file_stem().unwrap().to_string_lossy().into_owned();
        for line in fs::read_to_string(&path).unwrap().lines() {
            *topics.entry(topic.clone()).or_default() += 1;
            assert!(ids.insert(record_id(line.as_bytes())), "duplicate id");
        }
    }
    assert_eq!(topics.values().sum::<u64>(), lines.len() as u64);
    (topics, ids)
}

/// The lines as messages of `topic`, through the project's own line producer (as `generate
/// --kafka` does), every one delivered before returning.
fn produce(brokers: &str, topic: &str, lines: &[String]) {
    let mut producer = LineProducer::connect(brokers, topic).unwrap();
    for line in lines {
        writeln!(producer, "{line}").unwrap();
    }
    let sent = producer.finish(Duration::from_secs(30)).unwrap();
    assert_eq!(sent, lines.len() as u64);
}

fn reader(brokers: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

/// Every record of every topic except `RAW`: (topic, payload).
fn consume_outputs(brokers: &str) -> Vec<(String, Vec<u8>)> {
    let consumer = reader(brokers);
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    let mut total = 0;
    for topic in metadata.topics() {
        if topic.name() == RAW || topic.name().starts_with("__") {
            continue;
        }
        for partition in topic.partitions() {
            let (low, high) = consumer
                .fetch_watermarks(topic.name(), partition.id(), Duration::from_secs(10))
                .unwrap();
            // The mock keeps only ~5 MB per partition and silently drops older records: that
            // would look like loss, so make it a loud test-setup failure instead.
            assert_eq!(
                low,
                0,
                "the mock cluster dropped records of {} [{}]: give the topic more partitions",
                topic.name(),
                partition.id()
            );
            if high > low {
                total += high - low;
                assignment
                    .add_partition_offset(topic.name(), partition.id(), Offset::Offset(low))
                    .unwrap();
            }
        }
    }
    let mut records = Vec::new();
    if total == 0 {
        return records;
    }
    consumer.assign(&assignment).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (records.len() as i64) < total && Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            records.push((
                message.topic().to_owned(),
                message.payload().unwrap_or_default().to_vec(),
            ));
        }
    }
    assert_eq!(
        records.len() as i64,
        total,
        "not every output record could be read"
    );
    records
}

/// Sum over the raw topic's partitions of (committed offset of `group`, end offset).
fn committed_and_end(brokers: &str, group: &str) -> (i64, i64) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(RAW), Duration::from_secs(10))
        .unwrap();
    let mut list = TopicPartitionList::new();
    let mut end = 0;
    for partition in metadata.topics()[0].partitions() {
        list.add_partition(RAW, partition.id());
        let (low, high) = consumer
            .fetch_watermarks(RAW, partition.id(), Duration::from_secs(10))
            .unwrap();
        // The mock keeps only ~5 MB per partition: raw lines dropped before anyone read them
        // would look like loss. Make that a loud test-setup failure instead.
        assert_eq!(
            low, 0,
            "the mock cluster dropped raw lines: use more partitions"
        );
        end += high;
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .unwrap()
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(n) => n,
            _ => 0,
        })
        .sum();
    (committed, end)
}

/// How often [`wait_until`] asks the cluster again.
const POLL: Duration = Duration::from_millis(200);
/// How long a processor may take to drain and stop after SIGTERM.
const STOP: Duration = Duration::from_secs(60);

/// A processor configuration: Kafka in (from `input`) and out (to `output`).
fn write_config(dir: &Path, name: &str, input: &str, output: &str, extra_output: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let mut file = fs::File::create(&path).unwrap();
    write!(
        file,
        r#"
input:
  type: kafka
  brokers: "{input}"
  group_id: processors
  linger_ms: 10
  commit_interval_ms: 200
  drain_timeout_ms: 5000
  options:
    # The mock cluster delays a join by a session timeout when a group was used before.
    session.timeout.ms: 6000
    heartbeat.interval.ms: 500
output:
  type: kafka
  brokers: "{output}"
  linger_ms: 5
  message_key: uuid
{extra_output}
{schemas}pipeline:
  workers: 2
  batch_lines: 256
logging:
  level: info
"#,
        schemas = common::repo_schemas_yaml(),
    )
    .unwrap();
    path
}

/// How many times each expected id was delivered; panics if any is missing.
fn coverage(expected: &HashSet<String>, outputs: &[(String, Vec<u8>)]) -> u64 {
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (_, payload) in outputs {
        *seen.entry(record_id(payload)).or_default() += 1;
    }
    let missing: Vec<&String> = expected
        .iter()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} inputs lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let unexpected = seen.keys().filter(|id| !expected.contains(*id)).count();
    assert_eq!(unexpected, 0, "outputs that no input explains");
    seen.values().map(|n| n - 1).sum()
}

#[test]
fn raw_topic_to_schema_topics_and_error_topic_with_exact_counts() {
    let broker = MockBroker::start(1, &topics(6)).unwrap();
    let brokers = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(3000, 11);
    let (expected_topics, expected_ids) = expected(&lines, dir.path());
    produce(&brokers, RAW, &lines);

    let config = write_config(dir.path(), "p", &brokers, &brokers, "");
    let out =
        run_ok(Command::new(BIN).args(["process", "--config", &config.display().to_string()]));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("lines read                               3000"),
        "{summary}"
    );

    let outputs = consume_outputs(&brokers);
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for (topic, _) in &outputs {
        *topics.entry(topic.clone()).or_default() += 1;
    }
    assert_eq!(topics, expected_topics);
    assert!(topics.contains_key("eventlogging_EventError"), "{topics:?}");
    assert_eq!(
        coverage(&expected_ids, &outputs),
        0,
        "a clean run has no duplicates"
    );
    let (committed, end) = committed_and_end(&brokers, "processors");
    assert_eq!((committed, end), (3000, 3000));

    // Run again: everything is committed, nothing is read twice.
    let out =
        run_ok(Command::new(BIN).args(["process", "--config", &config.display().to_string()]));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("lines read                                  0"),
        "{summary}"
    );
}

#[test]
fn two_instances_share_partitions_and_a_rebalance_loses_nothing() {
    let broker = MockBroker::start(1, &topics(12)).unwrap();
    let brokers = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(12_000, 12);
    let (_, expected_ids) = expected(&lines, dir.path());
    let config = write_config(dir.path(), "r", &brokers, &brokers, "");

    let chunks: Vec<&[String]> = lines.chunks(1000).collect();
    let first = Daemon::start(&config, dir.path().join("first.log"));
    produce(&brokers, RAW, chunks[0]);
    wait_until(
        "the first instance to commit",
        Duration::from_secs(60),
        POLL,
        || committed_and_end(&brokers, "processors").0 > 0,
    );
    let second = Daemon::start(&config, dir.path().join("second.log"));
    for chunk in &chunks[1..6] {
        produce(&brokers, RAW, chunk);
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_until(
        "the second instance to get partitions",
        Duration::from_secs(60),
        POLL,
        || second.log().contains("partitions assigned"),
    );
    for chunk in &chunks[6..9] {
        produce(&brokers, RAW, chunk);
        std::thread::sleep(Duration::from_millis(300));
    }
    // The first instance leaves mid-stream: a second rebalance hands its partitions over.
    let first = first.terminate(STOP);
    assert!(first.status.success());
    for chunk in &chunks[9..] {
        produce(&brokers, RAW, chunk);
    }
    wait_until(
        "every offset to be committed",
        Duration::from_secs(90),
        POLL,
        || {
            let (committed, end) = committed_and_end(&brokers, "processors");
            committed == end
        },
    );
    let second_log = second.log();
    assert!(second.terminate(STOP).status.success(), "{second_log}");

    let first_log = first.log;
    assert!(first_log.contains("partitions revoked"), "{first_log}");
    assert!(
        second_log.matches("partitions assigned").count() >= 2,
        "{second_log}"
    );
    let outputs = consume_outputs(&brokers);
    let duplicates = coverage(&expected_ids, &outputs);
    eprintln!(
        "rebalance: {} inputs, {} outputs, {duplicates} duplicates",
        lines.len(),
        outputs.len()
    );
}

#[test]
fn an_output_outage_keeps_offsets_until_delivery_resumes() {
    let input = MockBroker::start(1, &[(RAW.to_owned(), 3)]).unwrap();
    let output = MockBroker::start(1, &topics(1)[1..]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(2000, 13);
    let (_, expected_ids) = expected(&lines, dir.path());
    let config = write_config(
        dir.path(),
        "o",
        &input.bootstrap_servers(),
        &output.bootstrap_servers(),
        "",
    );
    // The output cluster is down when the run starts, and its first produce requests after
    // it comes back fail with a retriable error.
    output.set_available(false).unwrap();
    output.cluster().request_errors(
        rdkafka::types::RDKafkaApiKey::Produce,
        &[rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 30],
    );
    produce(&input.bootstrap_servers(), RAW, &lines);
    let daemon = Daemon::start(&config, dir.path().join("outage.log"));
    wait_until(
        "the processor to get its partitions",
        Duration::from_secs(60),
        POLL,
        || daemon.log().contains("partitions assigned"),
    );
    // The processor reads and processes, but cannot deliver: it must not commit anything.
    std::thread::sleep(Duration::from_secs(6));
    let (committed, end) = committed_and_end(&input.bootstrap_servers(), "processors");
    assert_eq!((committed, end), (0, 2000), "{}", daemon.log());

    output.set_available(true).unwrap();
    wait_until(
        "offsets to be committed after recovery",
        Duration::from_secs(120),
        POLL,
        || {
            let (committed, end) = committed_and_end(&input.bootstrap_servers(), "processors");
            committed == end
        },
    );
    assert!(daemon.terminate(STOP).status.success());
    let outputs = consume_outputs(&output.bootstrap_servers());
    let duplicates = coverage(&expected_ids, &outputs);
    eprintln!("outage: {} outputs, {duplicates} duplicates", outputs.len());
}

#[test]
fn kill_9_mid_stream_then_restart_loses_nothing() {
    let broker = MockBroker::start(1, &topics(8)).unwrap();
    let brokers = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(10_000, 14);
    let (_, expected_ids) = expected(&lines, dir.path());
    let config = write_config(dir.path(), "k", &brokers, &brokers, "");

    // Lines keep arriving while the first instance runs, so that it dies mid-stream.
    let first = Daemon::start(&config, dir.path().join("k1.log"));
    let feeder = {
        let brokers = brokers.clone();
        let lines = lines.clone();
        std::thread::spawn(move || {
            for chunk in lines.chunks(500) {
                produce(&brokers, RAW, chunk);
                std::thread::sleep(Duration::from_millis(150));
            }
        })
    };
    wait_until(
        "some offsets to be committed",
        Duration::from_secs(60),
        POLL,
        || committed_and_end(&brokers, "processors").0 > 0,
    );
    first.kill_9();
    let (committed_at_kill, produced_at_kill) = committed_and_end(&brokers, "processors");
    assert!(
        committed_at_kill < 10_000,
        "the kill came after the end: nothing was tested"
    );
    feeder.join().unwrap();
    let end = committed_and_end(&brokers, "processors").1;
    assert_eq!(end, 10_000);
    let second = Daemon::start(&config, dir.path().join("k2.log"));
    wait_until(
        "every offset to be committed",
        Duration::from_secs(90),
        POLL,
        || {
            let (committed, end) = committed_and_end(&brokers, "processors");
            committed == end
        },
    );
    assert!(second.terminate(STOP).status.success());
    let outputs = consume_outputs(&brokers);
    let duplicates = coverage(&expected_ids, &outputs);
    eprintln!(
        "kill -9: committed {committed_at_kill} of {produced_at_kill} produced at the kill, {} outputs, {duplicates} duplicates",
        outputs.len()
    );
}

#[test]
fn a_record_kafka_refuses_becomes_an_error_event_and_a_refusing_error_topic_stops_the_run() {
    let broker = MockBroker::start(1, &[(RAW.to_owned(), 1)]).unwrap();
    let brokers = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    // A valid Generic event with a long title (about 6 KB once enriched).
    let big = generic_line(1, &"x".repeat(6000));
    let small = generic_line(2, "small");
    produce(&brokers, RAW, &[big, small]);

    // Records above 5000 bytes are refused by the producer itself.
    let config = write_config(
        dir.path(),
        "t",
        &brokers,
        &brokers,
        "  options:\n    message.max.bytes: 5000\n",
    );
    let out =
        run_ok(Command::new(BIN).args(["process", "--config", &config.display().to_string()]));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("produce                                   1"),
        "{summary}"
    );
    let outputs = consume_outputs(&brokers);
    let topics: Vec<&str> = outputs.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(outputs.len(), 2, "{topics:?}");
    let error = outputs
        .iter()
        .find(|(t, _)| t == "eventlogging_EventError")
        .expect("the refused event went to the error topic");
    let error: Value = serde_json::from_slice(&error.1).unwrap();
    let message = error["event"]["message"].as_str().unwrap();
    assert!(message.contains("eventlogging_Generic"), "{message}");
    assert!(message.contains("too large"), "{message}");
    assert_eq!(error["event"]["schema"], "Generic");
    assert!(error["event"]["rawEvent"].as_str().unwrap().len() <= 4096);
    assert_eq!(committed_and_end(&brokers, "processors"), (2, 2));

    // When even the error event cannot be written, the run stops, reports the failure and
    // does not commit the line.
    let broker = MockBroker::start(1, &[(RAW.to_owned(), 1)]).unwrap();
    let brokers = broker.bootstrap_servers();
    let big = generic_line(1, &"y".repeat(6000));
    produce(&brokers, RAW, &[big]);
    let config = write_config(
        dir.path(),
        "u",
        &brokers,
        &brokers,
        "  options:\n    message.max.bytes: 1000\n",
    );
    let out = Command::new(BIN)
        .args(["process", "--config", &config.display().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("error topic"), "{stderr}");
    assert_eq!(committed_and_end(&brokers, "processors"), (0, 1));
}

#[test]
fn check_config_names_every_kafka_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kafka.yaml");
    fs::write(
        &config,
        "input:\n  type: kafka\n  brokers: \"\"\n  topics: [\"bad/topic\"]\n  options:\n    no.such.property: 1\n    enable.auto.offset.store: true\noutput:\n  type: kafka\n  brokers: 127.0.0.1:9\n  compression: zip\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config", &config.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // serde stops at the first unknown variant: the compression is reported alone first.
    assert!(stderr.contains("zip"), "{stderr}");

    fs::write(
        &config,
        "input:\n  type: kafka\n  brokers: \"\"\n  topics: [\"bad/topic\"]\n  options:\n    no.such.property: 1\n    enable.auto.offset.store: true\noutput:\n  type: kafka\n  brokers: 127.0.0.1:9\n  options:\n    linger.ms: 5\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config", &config.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in [
        "input.brokers",
        "input.topics[0]",
        "input.options.enable.auto.offset.store",
        "input.options.no.such.property",
        "output.options.linger.ms",
    ] {
        assert!(
            stderr.contains(&format!("key `{key}`")),
            "missing {key}:\n{stderr}"
        );
    }
    assert!(stderr.contains("at-least-once"), "{stderr}");
}

/// A valid Generic event line with sequence number `seq` and `title` as its article title.
fn generic_line(seq: u32, title: &str) -> String {
    format!(
        "?%7B%22event%22%3A%7B%22articleId%22%3A1%2C%22articleTitle%22%3A%22{title}%22%7D%2C%22revision%22%3A13%2C%22schema%22%3A%22Generic%22%2C%22wiki%22%3A%22testwiki%22%7D;\tcp1.example\t{seq}\t2020-01-01T00:00:00\t192.0.2.1\t\"curl/7.64.0\""
    )
}
