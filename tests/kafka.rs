//! Kafka end to end on Apache Kafka itself (a real broker from `scripts/kafka.sh`, shared by the
//! tests of this file, see `common::kafka`), with the real binary as the processor: exact routing
//! counts, graceful rebalances that repeat nothing, kill -9, refused records and record
//! timestamps. One test needs faults a real broker cannot produce on demand (produce requests
//! failing with a given error code) and runs on librdkafka's mock cluster; it says so.
//!
//! Every input line is identified by the uuid of its output record (legacy capsules and
//! EventError capsules both carry a deterministic uuid), and the expected set comes from
//! processing the same lines with the directory sink.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use beacon_processor::kafka::mock_broker::MockBroker;
use beacon_processor::kafka::LineProducer;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value;

mod common;
use common::daemon::Daemon;
use common::http::get;
use common::kafka::{create_topics, namespace, shared_brokers, Cluster};
use common::{repo, run_ok, wait_until, BIN};

/// The schemas of `config/schemas`, plus the legacy error topic's.
const SCHEMAS: [&str; 6] = [
    "NavigationTiming",
    "SearchSatisfaction",
    "Echo",
    "EditAttemptStep",
    "Generic",
    "EventError",
];

/// The topic and group names of one test: everything starts with its own namespace, so tests
/// share one cluster without seeing each other's records or offsets.
struct Names {
    ns: String,
}

impl Names {
    fn new(test: &str) -> Names {
        Names {
            ns: namespace(test),
        }
    }

    /// The raw topic.
    fn raw(&self) -> String {
        format!("{}.raw", self.ns)
    }

    /// The processors' consumer group.
    fn group(&self) -> String {
        format!("{}.processors", self.ns)
    }

    /// The output topic of `schema`.
    fn output(&self, schema: &str) -> String {
        format!("{}.eventlogging_{schema}", self.ns)
    }

    /// The raw topic with `partitions` partitions and the output topics with 3 each.
    fn topics(&self, partitions: i32) -> Vec<(String, i32)> {
        let mut topics = vec![(self.raw(), partitions)];
        topics.extend(SCHEMAS.iter().map(|s| (self.output(s), 3)));
        topics
    }

    /// Creates [`Names::topics`] on `brokers`.
    fn create(&self, brokers: &str, partitions: i32) {
        create_topics(brokers, &self.topics(partitions));
    }

    /// The routing section sending valid events and errors to this test's topics.
    fn routing_yaml(&self) -> String {
        format!(
            "routing:\n  valid_topic: \"{ns}.eventlogging_{{schema}}\"\n  error_topic: \"{error}\"\n",
            ns = self.ns,
            error = self.output("EventError"),
        )
    }
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

/// What the directory sink makes of `lines`: per-schema counts (keyed by the part of the topic
/// after `eventlogging_`) and the ids.
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
        let schema = topic.trim_start_matches("eventlogging_").to_owned();
        for line in fs::read_to_string(&path).unwrap().lines() {
            *topics.entry(schema.clone()).or_default() += 1;
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

/// Produces `lines` into `topic` in the background, `chunk` lines at a time with `pause`
/// between chunks (lines keep arriving while a processor runs).
fn feed(
    brokers: &str,
    topic: &str,
    lines: &[String],
    chunk: usize,
    pause: Duration,
) -> std::thread::JoinHandle<()> {
    let (brokers, topic, lines) = (brokers.to_owned(), topic.to_owned(), lines.to_vec());
    std::thread::spawn(move || {
        for chunk in lines.chunks(chunk) {
            produce(&brokers, &topic, chunk);
            std::thread::sleep(pause);
        }
    })
}

/// One output record.
struct OutputRecord {
    /// The part of its topic after `eventlogging_`.
    schema: String,
    payload: Vec<u8>,
    /// Its Kafka timestamp (ms).
    timestamp: Option<i64>,
}

/// Every record of the output topics of `names`, as a `read_committed` reader sees them
/// (aborted transactions' records are skipped; without transactions that is every record).
fn consume_outputs(brokers: &str, names: &Names) -> Vec<OutputRecord> {
    consume_outputs_as(brokers, names, "read_committed")
}

/// Every record of the output topics of `names`, read with `isolation` (`read_committed` or
/// `read_uncommitted`), up to each partition's end.
fn consume_outputs_as(brokers: &str, names: &Names, isolation: &str) -> Vec<OutputRecord> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "test-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    let mut ends = HashMap::new();
    let mut schemas = HashMap::new();
    for schema in SCHEMAS {
        let topic = names.output(schema);
        schemas.insert(topic.clone(), schema.to_owned());
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        for partition in metadata.topics()[0].partitions() {
            let (low, high) = consumer
                .fetch_watermarks(&topic, partition.id(), Duration::from_secs(10))
                .unwrap();
            // Nothing may have been deleted: that would look like loss.
            assert_eq!(
                low,
                0,
                "records of {topic} [{}] were deleted",
                partition.id()
            );
            if high > low {
                ends.insert((topic.clone(), partition.id()), high);
                assignment
                    .add_partition_offset(&topic, partition.id(), Offset::Offset(low))
                    .unwrap();
            }
        }
    }
    let mut records = Vec::new();
    if ends.is_empty() {
        return records;
    }
    consumer.assign(&assignment).unwrap();
    // Transaction markers and aborted records are never returned: read until every partition's
    // position has reached its end instead of counting records.
    let read_to_end = |consumer: &BaseConsumer| {
        let Ok(positions) = consumer.position() else {
            return false;
        };
        positions.elements().iter().all(|e| match e.offset() {
            Offset::Offset(at) => ends
                .get(&(e.topic().to_owned(), e.partition()))
                .is_none_or(|&end| at >= end),
            _ => false,
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => records.push(OutputRecord {
                schema: schemas[message.topic()].clone(),
                payload: message.payload().unwrap_or_default().to_vec(),
                timestamp: message.timestamp().to_millis(),
            }),
            Some(Err(e)) => panic!("reading the outputs: {e}"),
            None if read_to_end(&consumer) => break,
            None => assert!(
                Instant::now() < deadline,
                "the outputs could not be read to their end"
            ),
        }
    }
    records
}

/// Sum over the raw topic's partitions of (committed offset of the group, end offset).
fn committed_and_end(brokers: &str, names: &Names) -> (i64, i64) {
    // A broker that is down (fault tests) fails some requests until the client has moved on
    // to another one: ask again.
    let mut last_error = String::new();
    for _ in 0..40 {
        match try_committed_and_end(brokers, names) {
            Ok(found) => return found,
            Err(e) => last_error = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("cannot read the group's offsets: {last_error}");
}

fn try_committed_and_end(
    brokers: &str,
    names: &Names,
) -> Result<(i64, i64), rdkafka::error::KafkaError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", names.group())
        .create()?;
    let raw = names.raw();
    let metadata = consumer.fetch_metadata(Some(&raw), Duration::from_secs(10))?;
    let mut list = TopicPartitionList::new();
    let mut end = 0;
    for partition in metadata.topics()[0].partitions() {
        list.add_partition(&raw, partition.id());
        let (low, high) =
            consumer.fetch_watermarks(&raw, partition.id(), Duration::from_secs(10))?;
        assert_eq!(low, 0, "raw lines were deleted before anyone read them");
        end += high;
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))?
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(n) => n,
            _ => 0,
        })
        .sum();
    Ok((committed, end))
}

/// How often [`wait_until`] asks the cluster again.
const POLL: Duration = Duration::from_millis(200);
/// How long a processor may take to drain and stop after SIGTERM.
const STOP: Duration = Duration::from_secs(60);

/// A processor configuration: Kafka in (from `input`) and out (to `output`), `extra_output`
/// appended to the output section.
fn write_config(
    dir: &Path,
    names: &Names,
    input: &str,
    output: &str,
    extra_output: &str,
) -> PathBuf {
    let path = dir.join(format!("{}.yaml", names.ns));
    let mut file = fs::File::create(&path).unwrap();
    write!(
        file,
        r#"
input:
  type: kafka
  brokers: "{input}"
  topics: ["{raw}"]
  group_id: "{group}"
  linger_ms: 10
  commit_interval_ms: 200
  drain_timeout_ms: 5000
  options:
    # The smallest session a broker accepts by default: a killed instance's partitions move
    # after 6 s.
    session.timeout.ms: 6000
    heartbeat.interval.ms: 500
output:
  type: kafka
  brokers: "{output}"
  linger_ms: 5
  message_key: uuid
{extra_output}
{routing}{schemas}pipeline:
  workers: 2
  batch_lines: 256
logging:
  level: info
"#,
        raw = names.raw(),
        group = names.group(),
        routing = names.routing_yaml(),
        schemas = common::repo_schemas_yaml(),
    )
    .unwrap();
    path
}

/// How many times each expected id was delivered beyond the first; panics if any is missing
/// or if an output is not explained by an input.
fn coverage(expected: &HashSet<String>, outputs: &[OutputRecord]) -> u64 {
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in outputs {
        *seen.entry(record_id(&record.payload)).or_default() += 1;
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

fn process(config: &Path) -> String {
    let out =
        run_ok(Command::new(BIN).args(["process", "--config", &config.display().to_string()]));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn raw_topic_to_schema_topics_and_error_topic_with_exact_counts() {
    let brokers = shared_brokers();
    let names = Names::new("counts");
    names.create(&brokers, 6);
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(3000, 11);
    let (expected_topics, expected_ids) = expected(&lines, dir.path());
    produce(&brokers, &names.raw(), &lines);

    let config = write_config(dir.path(), &names, &brokers, &brokers, "");
    let summary = process(&config);
    assert!(
        summary.contains("lines read                               3000"),
        "{summary}"
    );

    let outputs = consume_outputs(&brokers, &names);
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for record in &outputs {
        *topics.entry(record.schema.clone()).or_default() += 1;
    }
    assert_eq!(topics, expected_topics);
    assert!(topics.contains_key("EventError"), "{topics:?}");
    assert_eq!(
        coverage(&expected_ids, &outputs),
        0,
        "a clean run has no duplicates"
    );
    assert_eq!(committed_and_end(&brokers, &names), (3000, 3000));

    // Run again: everything is committed, nothing is read twice.
    let summary = process(&config);
    assert!(
        summary.contains("lines read                                  0"),
        "{summary}"
    );
}

#[test]
fn kafka_4s_own_group_protocol_works_too() {
    let brokers = shared_brokers();
    let names = Names::new("kip848");
    names.create(&brokers, 4);
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(2000, 18);
    let (expected_topics, expected_ids) = expected(&lines, dir.path());
    produce(&brokers, &names.raw(), &lines);
    // KIP-848: the broker assigns; the session and heartbeat settings are the broker's.
    let config = write_config(dir.path(), &names, &brokers, &brokers, "");
    let yaml = fs::read_to_string(&config).unwrap().replace(
        "    session.timeout.ms: 6000\n    heartbeat.interval.ms: 500\n",
        "    group.protocol: consumer\n",
    );
    assert!(yaml.contains("group.protocol: consumer"));
    fs::write(&config, yaml).unwrap();
    let summary = process(&config);
    assert!(
        summary.contains("lines read                               2000"),
        "{summary}"
    );
    let outputs = consume_outputs(&brokers, &names);
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for record in &outputs {
        *topics.entry(record.schema.clone()).or_default() += 1;
    }
    assert_eq!(topics, expected_topics);
    assert_eq!(coverage(&expected_ids, &outputs), 0);
    assert_eq!(committed_and_end(&brokers, &names), (2000, 2000));
}

#[test]
fn instances_joining_and_leaving_a_group_repeat_and_lose_nothing() {
    let brokers = shared_brokers();
    let names = Names::new("rebalance");
    names.create(&brokers, 12);
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(12_000, 12);
    let (_, expected_ids) = expected(&lines, dir.path());
    let config = write_config(dir.path(), &names, &brokers, &brokers, "");

    let chunks: Vec<&[String]> = lines.chunks(1000).collect();
    let first = Daemon::start(&config, dir.path().join("first.log"));
    produce(&brokers, &names.raw(), chunks[0]);
    wait_until(
        "the first instance to commit",
        Duration::from_secs(60),
        POLL,
        || committed_and_end(&brokers, &names).0 > 0,
    );
    // A second instance joins while lines keep coming: some partitions move to it.
    let second = Daemon::start(&config, dir.path().join("second.log"));
    for chunk in &chunks[1..6] {
        produce(&brokers, &names.raw(), chunk);
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_until(
        "the second instance to get partitions",
        Duration::from_secs(60),
        POLL,
        || second.log().contains("partitions assigned"),
    );
    for chunk in &chunks[6..9] {
        produce(&brokers, &names.raw(), chunk);
        std::thread::sleep(Duration::from_millis(300));
    }
    // The first instance leaves mid-stream: its partitions move to the second.
    let first = first.terminate(STOP);
    assert!(first.status.success(), "{}", first.log);
    for chunk in &chunks[9..] {
        produce(&brokers, &names.raw(), chunk);
    }
    wait_until(
        "every offset to be committed",
        Duration::from_secs(90),
        POLL,
        || {
            let (committed, end) = committed_and_end(&brokers, &names);
            committed == end
        },
    );
    let second = second.terminate(STOP);
    assert!(second.status.success(), "{}", second.log);

    assert!(first.log.contains("partitions revoked"), "{}", first.log);
    assert!(
        second.log.matches("partitions assigned").count() >= 2,
        "{}",
        second.log
    );
    for log in [&first.log, &second.log] {
        assert!(
            !log.contains("committing delivered offsets failed"),
            "{log}"
        );
    }
    let outputs = consume_outputs(&brokers, &names);
    // Revoked partitions are drained and committed before they move: a graceful hand-over
    // reads nothing twice.
    assert_eq!(
        coverage(&expected_ids, &outputs),
        0,
        "duplicates after graceful rebalances"
    );
}

#[test]
fn kill_9_mid_stream_then_restart_loses_nothing() {
    let brokers = shared_brokers();
    let names = Names::new("kill");
    names.create(&brokers, 8);
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(10_000, 14);
    let (_, expected_ids) = expected(&lines, dir.path());
    let config = write_config(dir.path(), &names, &brokers, &brokers, "");

    // Lines keep arriving while the first instance runs, so that it dies mid-stream; the second
    // half only after the kill, so that the kill comes before the end however slow the machine.
    let (first_half, second_half) = lines.split_at(lines.len() / 2);
    let first = Daemon::start(&config, dir.path().join("k1.log"));
    let feeder = feed(
        &brokers,
        &names.raw(),
        first_half,
        500,
        Duration::from_millis(150),
    );
    wait_until(
        "some offsets to be committed",
        Duration::from_secs(60),
        POLL,
        || committed_and_end(&brokers, &names).0 > 0,
    );
    first.kill_9();
    let (committed_at_kill, produced_at_kill) = committed_and_end(&brokers, &names);
    feeder.join().unwrap();
    feed(
        &brokers,
        &names.raw(),
        second_half,
        500,
        Duration::from_millis(150),
    )
    .join()
    .unwrap();
    assert_eq!(committed_and_end(&brokers, &names).1, 10_000);
    let second = Daemon::start(&config, dir.path().join("k2.log"));
    wait_until(
        "every offset to be committed",
        Duration::from_secs(90),
        POLL,
        || {
            let (committed, end) = committed_and_end(&brokers, &names);
            committed == end
        },
    );
    assert!(second.terminate(STOP).status.success());
    let outputs = consume_outputs(&brokers, &names);
    let duplicates = coverage(&expected_ids, &outputs);
    // Only lines read but not committed when it died can be read again.
    assert!(
        duplicates <= (produced_at_kill - committed_at_kill) as u64,
        "{duplicates} duplicates, but only {} lines were uncommitted at the kill",
        produced_at_kill - committed_at_kill
    );
    eprintln!(
        "kill -9: committed {committed_at_kill} of {produced_at_kill} produced at the kill, {} outputs, {duplicates} duplicates",
        outputs.len()
    );
}

/// An exactly-once configuration for one instance: `write_config` with `delivery:
/// exactly_once` and the instance's own `transactional_id` (stable across its restarts, so
/// that a restarted instance aborts what its killed predecessor left open).
fn write_exactly_once_config(dir: &Path, names: &Names, brokers: &str, instance: &str) -> PathBuf {
    let config = write_config(
        dir,
        names,
        brokers,
        brokers,
        &format!("  transactional_id: \"{}-{instance}\"\n", names.ns),
    );
    let path = dir.join(format!("{}-{instance}.yaml", names.ns));
    fs::write(
        &path,
        fs::read_to_string(&config).unwrap() + "delivery: exactly_once\n",
    )
    .unwrap();
    path
}

#[test]
fn exactly_once_kafka_to_kafka_through_kill_9_and_rebalances_repeats_nothing() {
    let brokers = shared_brokers();
    let names = Names::new("exactly-once");
    names.create(&brokers, 6);
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(8000, 17);
    let (expected_topics, expected_ids) = expected(&lines, dir.path());
    let config_a = write_exactly_once_config(dir.path(), &names, &brokers, "a");
    let config_b = write_exactly_once_config(dir.path(), &names, &brokers, "b");

    // The raw topic gets a third of the lines before each kill, produced after the committed
    // count is taken, so that there is always more to commit before a kill however slow the
    // machine (a feeder that ran ahead could leave nothing to wait for).
    let thirds: Vec<&[String]> = lines.chunks(lines.len().div_ceil(3)).collect();
    let feed_third = |third: usize| {
        feed(
            &brokers,
            &names.raw(),
            thirds[third],
            250,
            Duration::from_millis(150),
        )
    };
    let committed = || committed_and_end(&brokers, &names).0;
    let feeder = feed_third(0);
    let a = Daemon::start(&config_a, dir.path().join("a1.log"));
    wait_until("a first commit", Duration::from_secs(60), POLL, || {
        committed() > 0
    });
    // B joins (a rebalance), then each is killed mid-stream and restarted.
    let b = Daemon::start(&config_b, dir.path().join("b1.log"));
    wait_until("B to get partitions", Duration::from_secs(60), POLL, || {
        b.log().lines().any(|line| {
            line.split_once("partitions assigned partitions=")
                .is_some_and(|(_, n)| n.trim() != "0")
        })
    });
    feeder.join().unwrap();
    let before = committed();
    let feeder = feed_third(1);
    wait_until("more commits", Duration::from_secs(60), POLL, || {
        committed() > before
    });
    a.kill_9();
    let a = Daemon::start(&config_a, dir.path().join("a2.log"));
    feeder.join().unwrap();
    let before = committed();
    let feeder = feed_third(2);
    wait_until(
        "commits after the first kill",
        Duration::from_secs(60),
        POLL,
        || committed() > before,
    );
    b.kill_9();
    let b = Daemon::start(&config_b, dir.path().join("b2.log"));
    feeder.join().unwrap();
    wait_until(
        "every line to be committed",
        Duration::from_secs(120),
        POLL,
        || committed_and_end(&brokers, &names) == (8000, 8000),
    );
    for daemon in [a, b] {
        let stopped = daemon.terminate(STOP);
        assert!(stopped.status.success(), "{}", stopped.log);
    }

    let outputs = consume_outputs(&brokers, &names);
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for record in &outputs {
        *topics.entry(record.schema.clone()).or_default() += 1;
    }
    assert_eq!(
        coverage(&expected_ids, &outputs),
        0,
        "a read_committed reader saw duplicates"
    );
    assert_eq!(topics, expected_topics);
    // What the killed instances had produced in their open transactions is in the topics too,
    // aborted: a read_uncommitted reader sees it.
    let uncommitted = consume_outputs_as(&brokers, &names, "read_uncommitted");
    eprintln!(
        "exactly-once: {} records read committed, {} read uncommitted (aborted transactions)",
        outputs.len(),
        uncommitted.len()
    );
    assert!(uncommitted.len() >= outputs.len());
}

/// Records a `read_committed` reader of the output topics of `names` sees.
fn committed_outputs(brokers: &str, names: &Names) -> usize {
    consume_outputs(brokers, names).len()
}

#[test]
fn exactly_once_files_to_kafka_through_kill_9_repeats_nothing() {
    let brokers = shared_brokers();
    let names = Names::new("exactly-once-files");
    create_topics(&brokers, &names.topics(1)[1..]);
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(8000, 23);
    let (expected_topics, expected_ids) = expected(&lines, dir.path());
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    let config = dir.path().join("files-eos.yaml");
    fs::write(
        &config,
        format!(
            r#"
delivery: exactly_once
input:
  type: files
  include: ["{input}/*.log"]
  follow: true
  data_dir: "{data}"
  poll_interval_ms: 50
output:
  type: kafka
  brokers: "{brokers}"
  linger_ms: 5
  message_key: uuid
  checkpoint_topic: "{ns}.checkpoints"
{routing}{schemas}pipeline:
  workers: 2
  batch_lines: 100
logging:
  level: info
"#,
            input = input.display(),
            data = dir.path().join("data").display(),
            ns = names.ns,
            routing = names.routing_yaml(),
            schemas = common::repo_schemas_yaml(),
        ),
    )
    .unwrap();

    // Two files grow while instances are killed and restarted. Each of the four instances gets
    // a quarter of the lines, appended after the committed count is taken, so that every
    // instance has records to commit before it is killed, however slow the machine: a feeder
    // that ran ahead once let an early instance commit everything, and the next wait for "more
    // records committed" could never end.
    let feed = |quarter: usize| {
        let input = input.clone();
        let part: Vec<String> = lines
            .chunks(lines.len().div_ceil(4))
            .nth(quarter)
            .unwrap_or_default()
            .to_vec();
        std::thread::spawn(move || {
            for (index, chunk) in part.chunks(100).enumerate() {
                let file = input.join(if index % 2 == 0 { "a.log" } else { "b.log" });
                common::append(&file, &(chunk.join("\n") + "\n"));
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let mut daemon = Daemon::start(&config, dir.path().join("f1.log"));
    for round in 2..=4 {
        let before = committed_outputs(&brokers, &names);
        let feeder = feed(round - 2);
        daemon.wait_for(
            "more records committed",
            Duration::from_secs(90),
            Duration::from_millis(500),
            || (committed_outputs(&brokers, &names) > before).then_some(()),
        );
        daemon.kill_9();
        feeder.join().unwrap();
        daemon = Daemon::start(&config, dir.path().join(format!("f{round}.log")));
    }
    feed(3).join().unwrap();
    wait_until(
        "every line to be committed",
        Duration::from_secs(120),
        Duration::from_millis(500),
        || committed_outputs(&brokers, &names) >= lines.len(),
    );
    let stopped = daemon.terminate(STOP);
    assert!(stopped.status.success(), "{}", stopped.log);
    let outputs = consume_outputs(&brokers, &names);
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for record in &outputs {
        *topics.entry(record.schema.clone()).or_default() += 1;
    }
    assert_eq!(
        coverage(&expected_ids, &outputs),
        0,
        "a read_committed reader saw duplicates"
    );
    assert_eq!(topics, expected_topics);
    assert!(
        stopped
            .log
            .contains("resuming from the checkpoint committed in Kafka"),
        "{}",
        stopped.log
    );
    let uncommitted = consume_outputs_as(&brokers, &names, "read_uncommitted");
    eprintln!(
        "exactly-once files: {} records read committed, {} read uncommitted (aborted transactions)",
        outputs.len(),
        uncommitted.len()
    );
}

#[test]
fn exactly_once_needs_kafka_in_and_out_on_one_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("eos.yaml");
    let check = |yaml: &str| {
        fs::write(&config, yaml).unwrap();
        let out = Command::new(BIN)
            .args(["check-config", "--config", &config.display().to_string()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{yaml}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = check(
        "delivery: exactly_once\ninput:\n  type: files\n  include: [\"/tmp/*.log\"]\n  follow: false\noutput:\n  type: kafka\n  brokers: 127.0.0.1:9\n",
    );
    assert!(stderr.contains("key `delivery`"), "{stderr}");
    assert!(stderr.contains("input.follow: true"), "{stderr}");
    let stderr = check(
        "delivery: exactly_once\ninput:\n  type: kafka\n  brokers: 127.0.0.1:9\noutput:\n  type: kafka\n  brokers: 127.0.0.2:9\n  transaction_interval_ms: 100\n  transaction_timeout_ms: 150\n",
    );
    assert!(stderr.contains("key `output.brokers`"), "{stderr}");
    assert!(
        stderr.contains("key `output.transaction_timeout_ms`"),
        "{stderr}"
    );
}

/// Injected faults: the output cluster refuses every connection, then fails produce requests
/// with a retriable error code. A real broker cannot fail requests with a chosen code on
/// demand, so this test runs on librdkafka's mock cluster.
#[test]
fn an_output_outage_keeps_offsets_until_delivery_resumes() {
    let names = Names::new("outage");
    let topics = names.topics(3);
    let input = MockBroker::start(1, &topics[..1]).unwrap();
    let output = MockBroker::start(1, &topics[1..]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(2000, 13);
    let (_, expected_ids) = expected(&lines, dir.path());
    let config = write_config(
        dir.path(),
        &names,
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
    produce(&input.bootstrap_servers(), &names.raw(), &lines);
    let daemon = Daemon::start(&config, dir.path().join("outage.log"));
    wait_until(
        "the processor to get its partitions",
        Duration::from_secs(60),
        POLL,
        || daemon.log().contains("partitions assigned"),
    );
    // The processor reads and processes, but cannot deliver: it must not commit anything.
    std::thread::sleep(Duration::from_secs(6));
    let (committed, end) = committed_and_end(&input.bootstrap_servers(), &names);
    assert_eq!((committed, end), (0, 2000), "{}", daemon.log());

    output.set_available(true).unwrap();
    wait_until(
        "offsets to be committed after recovery",
        Duration::from_secs(120),
        POLL,
        || {
            let (committed, end) = committed_and_end(&input.bootstrap_servers(), &names);
            committed == end
        },
    );
    assert!(daemon.terminate(STOP).status.success());
    let outputs = consume_outputs(&output.bootstrap_servers(), &names);
    let duplicates = coverage(&expected_ids, &outputs);
    eprintln!("outage: {} outputs, {duplicates} duplicates", outputs.len());
}

#[test]
fn a_record_kafka_refuses_becomes_an_error_event_and_a_refusing_error_topic_stops_the_run() {
    let brokers = shared_brokers();
    let names = Names::new("refused");
    names.create(&brokers, 1);
    let dir = tempfile::tempdir().unwrap();
    // A valid Generic event with a long title (about 6 KB once enriched).
    let big = generic_line(1, "2020-01-01T00:00:00", &"x".repeat(6000));
    let small = generic_line(2, "2020-01-01T00:00:00", "small");
    produce(&brokers, &names.raw(), &[big, small]);

    // Records above 5000 bytes are refused by the producer itself.
    let config = write_config(
        dir.path(),
        &names,
        &brokers,
        &brokers,
        "  options:\n    message.max.bytes: 5000\n",
    );
    let summary = process(&config);
    assert!(
        summary.contains("produce                                   1"),
        "{summary}"
    );
    let outputs = consume_outputs(&brokers, &names);
    let schemas: Vec<&str> = outputs.iter().map(|r| r.schema.as_str()).collect();
    assert_eq!(outputs.len(), 2, "{schemas:?}");
    let error = outputs
        .iter()
        .find(|r| r.schema == "EventError")
        .expect("the refused event went to the error topic");
    let error: Value = serde_json::from_slice(&error.payload).unwrap();
    let message = error["event"]["message"].as_str().unwrap();
    assert!(message.contains(&names.output("Generic")), "{message}");
    assert!(message.contains("too large"), "{message}");
    assert_eq!(error["event"]["schema"], "Generic");
    assert!(error["event"]["rawEvent"].as_str().unwrap().len() <= 4096);
    assert_eq!(committed_and_end(&brokers, &names), (2, 2));

    // When even the error event cannot be written, the run stops, reports the failure and
    // does not commit the line.
    let names = Names::new("refused-error");
    names.create(&brokers, 1);
    let big = generic_line(1, "2020-01-01T00:00:00", &"y".repeat(6000));
    produce(&brokers, &names.raw(), &[big]);
    let config = write_config(
        dir.path(),
        &names,
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
    assert_eq!(committed_and_end(&brokers, &names), (0, 1));
}

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn records_carry_the_event_time_or_the_produce_time_as_their_timestamp() {
    let brokers = shared_brokers();
    let dir = tempfile::tempdir().unwrap();
    // 2020-01-01T00:00:00Z, and a date Kafka 4 refuses by default as a timestamp (more than an
    // hour ahead of the broker's clock).
    let past_ms = 1_577_836_800_000;
    let lines = vec![
        generic_line(1, "2020-01-01T00:00:00", "past"),
        generic_line(2, "2099-01-01T00:00:00", "future"),
    ];

    // Default: the event time, as eventlogging-processor and EventGate do; a timestamp the
    // broker refuses is replaced by the produce time, and the record is delivered.
    let names = Names::new("timestamp-event");
    names.create(&brokers, 1);
    produce(&brokers, &names.raw(), &lines);
    let config = write_config(dir.path(), &names, &brokers, &brokers, "");
    let before = unix_millis();
    let summary = process(&config);
    let after = unix_millis();
    assert!(
        summary.contains("refused the record's event time"),
        "{summary}"
    );
    let outputs = consume_outputs(&brokers, &names);
    let mut stamps: Vec<(String, i64)> = outputs
        .iter()
        .map(|r| {
            let value: Value = serde_json::from_slice(&r.payload).unwrap();
            (
                value["dt"].as_str().unwrap().to_owned(),
                r.timestamp.unwrap(),
            )
        })
        .collect();
    stamps.sort();
    assert_eq!(stamps.len(), 2, "{stamps:?}");
    assert_eq!(stamps[0], ("2020-01-01T00:00:00Z".to_owned(), past_ms));
    assert_eq!(stamps[1].0, "2099-01-01T00:00:00Z");
    assert!(
        (before..=after).contains(&stamps[1].1),
        "{stamps:?} not within {before}..{after}"
    );
    assert_eq!(committed_and_end(&brokers, &names), (2, 2));

    // `timestamp: produce`: every record carries the time it was produced.
    let names = Names::new("timestamp-produce");
    names.create(&brokers, 1);
    produce(&brokers, &names.raw(), &lines);
    let config = write_config(
        dir.path(),
        &names,
        &brokers,
        &brokers,
        "  timestamp: produce\n",
    );
    let before = unix_millis();
    let summary = process(&config);
    let after = unix_millis();
    assert!(
        !summary.contains("refused the record's event time"),
        "{summary}"
    );
    let outputs = consume_outputs(&brokers, &names);
    assert_eq!(outputs.len(), 2);
    for record in &outputs {
        let stamp = record.timestamp.unwrap();
        assert!(
            (before..=after).contains(&stamp),
            "{stamp} not within {before}..{after}"
        );
    }
}

/// Waits until `/ready` answers `status`.
#[track_caller]
fn wait_ready(address: &str, status: u16, what: &str) {
    wait_until(what, Duration::from_secs(60), POLL, || {
        get(address, "/ready").status == status
    });
}

/// The status page's `kafka_brokers_up.<role>`.
fn brokers_up(address: &str, role: &str) -> Value {
    let status: Value = serde_json::from_str(&get(address, "/api/status").body).unwrap();
    status["kafka_brokers_up"][role].clone()
}

#[test]
fn ready_only_while_the_brokers_answer_and_an_outage_of_every_broker_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let http = "http:\n  listen: 127.0.0.1:0\n";

    // An output cluster nobody answers at: never ready.
    let brokers = shared_brokers();
    let names = Names::new("unreachable");
    names.create(&brokers, 1);
    let config = write_config(dir.path(), &names, &brokers, "127.0.0.1:9", "");
    fs::write(&config, fs::read_to_string(&config).unwrap() + http).unwrap();
    let mut daemon = Daemon::start(&config, dir.path().join("unreachable.log"));
    let address = daemon.status_address();
    wait_until(
        "both clients' first statistics",
        Duration::from_secs(30),
        POLL,
        || brokers_up(&address, "sink").is_number() && brokers_up(&address, "source").is_number(),
    );
    assert_eq!(brokers_up(&address, "sink"), 0);
    assert!(brokers_up(&address, "source").as_u64().unwrap() > 0);
    assert_eq!(get(&address, "/ready").status, 503);
    let metrics = get(&address, "/metrics").body;
    assert!(
        metrics.contains("beacon_kafka_brokers_up{role=\"sink\"} 0"),
        "{metrics}"
    );
    let stopped = daemon.terminate(STOP);
    assert!(
        stopped.log.contains("cannot reach any Kafka broker"),
        "{}",
        stopped.log
    );

    // A cluster of its own, taken down while the processor runs, then back.
    let cluster = Cluster::start(1).expect("a Kafka cluster");
    let brokers = cluster.bootstrap.clone();
    let names = Names::new("outage-real");
    names.create(&brokers, 4);
    let lines = generate(4000, 15);
    let (_, expected_ids) = expected(&lines, dir.path());
    let config = write_config(dir.path(), &names, &brokers, &brokers, "");
    fs::write(&config, fs::read_to_string(&config).unwrap() + http).unwrap();
    produce(&brokers, &names.raw(), &lines[..2000]);
    let mut daemon = Daemon::start(&config, dir.path().join("outage-real.log"));
    let address = daemon.status_address();
    wait_ready(&address, 200, "ready with the broker up");
    wait_until(
        "the first half to be committed",
        Duration::from_secs(60),
        POLL,
        || committed_and_end(&brokers, &names) == (2000, 2000),
    );
    cluster.script("stop-node", &["1"]);
    wait_ready(&address, 503, "not ready with every broker down");
    assert_eq!(brokers_up(&address, "source"), 0);
    std::thread::sleep(Duration::from_secs(5));
    cluster.script("start-node", &["1"]);
    wait_ready(&address, 200, "ready again once the broker is back");
    produce(&brokers, &names.raw(), &lines[2000..]);
    wait_until(
        "every line to be committed after the outage",
        Duration::from_secs(90),
        POLL,
        || committed_and_end(&brokers, &names) == (4000, 4000),
    );
    let stopped = daemon.terminate(STOP);
    assert!(stopped.status.success(), "{}", stopped.log);
    assert!(
        stopped.log.contains("Kafka brokers reachable again"),
        "{}",
        stopped.log
    );
    let outputs = consume_outputs(&brokers, &names);
    assert_eq!(
        coverage(&expected_ids, &outputs),
        0,
        "duplicates after the outage"
    );
}

#[test]
fn kill_9_of_a_partition_leader_on_a_three_node_cluster_loses_nothing() {
    // Replication factor 3 and min.insync.replicas=2: one node down, every write still commits.
    let cluster = Cluster::start(3).expect("a 3-node Kafka cluster");
    let brokers = cluster.bootstrap.clone();
    let names = Names::new("leader");
    names.create(&brokers, 6);
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(6000, 16);
    let (_, expected_ids) = expected(&lines, dir.path());
    let config = write_config(dir.path(), &names, &brokers, &brokers, "");
    let daemon = Daemon::start(&config, dir.path().join("leader.log"));
    let feeder = feed(
        &brokers,
        &names.raw(),
        &lines,
        300,
        Duration::from_millis(100),
    );
    wait_until(
        "some offsets to be committed",
        Duration::from_secs(60),
        POLL,
        || committed_and_end(&brokers, &names).0 > 0,
    );
    let leader = cluster.script("leader", &[&names.raw(), "0"]);
    assert!(
        ["1", "2", "3"].contains(&leader.as_str()),
        "leader {leader:?}"
    );
    cluster.script("kill-node", &[&leader]);
    let (committed_at_kill, _) = committed_and_end(&brokers, &names);
    feeder.join().unwrap();
    wait_until(
        "every line to be committed with a node down",
        Duration::from_secs(120),
        POLL,
        || committed_and_end(&brokers, &names) == (6000, 6000),
    );
    cluster.script("start-node", &[&leader]);
    let stopped = daemon.terminate(STOP);
    assert!(stopped.status.success(), "{}", stopped.log);
    let outputs = consume_outputs(&brokers, &names);
    let duplicates = coverage(&expected_ids, &outputs);
    eprintln!(
        "leader kill: node {leader} killed with {committed_at_kill} of 6000 lines committed, {duplicates} duplicates"
    );
}

#[test]
fn one_shot_commands_name_a_cluster_nobody_answers_at() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("one.log");
    fs::write(&input, generic_line(1, "2020-01-01T00:00:00", "x") + "\n").unwrap();
    let schemas = common::legacy_schemas().display().to_string();
    let input = input.display().to_string();
    for args in [
        vec![
            "generate",
            "-n",
            "10",
            "--schemas",
            &schemas,
            "--kafka",
            "127.0.0.1:9",
        ],
        vec!["process", "--kafka", "127.0.0.1:9", &input],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot reach Kafka at 127.0.0.1:9: no broker answered"),
            "{args:?}: {stderr}"
        );
        // Nothing was attempted: no "will be read again" for a one-shot file.
        assert!(!stderr.contains("read again"), "{args:?}: {stderr}");
    }
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

/// A valid Generic event line with sequence number `seq`, receive time `dt` and `title` as its
/// article title.
fn generic_line(seq: u32, dt: &str, title: &str) -> String {
    format!(
        "?%7B%22event%22%3A%7B%22articleId%22%3A1%2C%22articleTitle%22%3A%22{title}%22%7D%2C%22revision%22%3A13%2C%22schema%22%3A%22Generic%22%2C%22wiki%22%3A%22testwiki%22%7D;\tcp1.example\t{seq}\t{dt}\t192.0.2.1\t\"curl/7.64.0\""
    )
}

#[test]
fn run_flags_name_the_group_topics_format_and_librdkafka_options() {
    let brokers = shared_brokers();
    let names = Names::new("run-flags");
    names.create(&brokers, 2);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("flags.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: stdin\noutput:\n  type: directory\n  path: out\n{routing}{schemas}http:\n  listen: null\n",
            routing = names.routing_yaml(),
            schemas = common::repo_schemas_yaml(),
        ),
    )
    .unwrap();
    let group = names.group();
    let raw = names.raw();
    let mut daemon = Daemon::spawn(
        common::binary().args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--kafka",
            &brokers,
            "--group",
            &group,
            "--topic",
            &raw,
            "--format",
            "%q %{recvFrom}s %{seqId}d %D %{ip}i %u",
            "-X",
            "producer.acks=all",
            "-X",
            "consumer.session.timeout.ms=6000",
        ]),
        dir.path().join("flags.log"),
    );
    // A new group starting at the earliest record: the whole retention is read, and it says so.
    daemon.wait_for_log(
        "the no-committed-offsets warning",
        Duration::from_secs(60),
        POLL,
        |log| {
            log.contains("the group has no committed offsets")
                .then_some(())
        },
    );
    let log = daemon.log();
    assert!(
        log.contains(&format!(
            "input: Kafka {brokers} topics {raw} as group {group}"
        )),
        "{log}"
    );
    assert!(daemon.terminate(STOP).status.success());

    let out = Command::new(BIN)
        .args(["run", "--config", config.to_str().unwrap(), "-X", "acks"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-X acks: expected KEY=VALUE"));
    let out = Command::new(BIN)
        .args(["run", "--config", config.to_str().unwrap(), "--group", "g"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--group needs a Kafka input"));
}

#[test]
fn check_config_probe_asks_the_brokers() {
    let brokers = shared_brokers();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probe.yaml");
    let check = |brokers: &str| {
        fs::write(
            &config,
            format!("input:\n  type: stdin\noutput:\n  type: kafka\n  brokers: \"{brokers}\"\n"),
        )
        .unwrap();
        Command::new(BIN)
            .args(["check-config", config.to_str().unwrap(), "--probe"])
            .output()
            .unwrap()
    };
    let out = check(&brokers);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("probe: output brokers {brokers} answer")),
        "{stdout}"
    );
    let out = check("127.0.0.1:9");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach Kafka at 127.0.0.1:9"),
        "{stderr}"
    );
}

/// Commits `group`'s offsets of `topic` at each partition's end, as a consumer that read
/// everything would have (the Python processors before a migration).
fn commit_at_end(brokers: &str, group: &str, topic: &str) -> i64 {
    use rdkafka::consumer::CommitMode;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut list = TopicPartitionList::new();
    let mut total = 0;
    for partition in metadata.topics()[0].partitions() {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition.id(), Duration::from_secs(10))
            .unwrap();
        list.add_partition_offset(topic, partition.id(), Offset::Offset(high))
            .unwrap();
        total += high;
    }
    consumer.commit(&list, CommitMode::Sync).unwrap();
    total
}

/// Records in `topic` (no transactions: the sum of its partitions' high watermarks).
fn records_in(brokers: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            let (low, high) = consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .unwrap();
            high - low
        })
        .sum()
}

/// The migration path: Python eventlogging-processor's own production command line (from its
/// systemd unit's argument file, `../shared/reference/eventlogging-processor.md` §1.2), with
/// the `eventlogging-valid-mixed` output production also had, run by `beacon-processor
/// eventlogging-processor @FILE` against Apache Kafka. The consumer group (`--sid`) already has
/// the offsets the Python processors committed: only the lines after them are processed;
/// the disabled schema's valid events are written to neither output (both go through the
/// disabled filter) and counted as skipped; error events go to `eventlogging_EventError`.
#[test]
fn the_eventlogging_processor_command_line_takes_over_its_consumer_group() {
    let brokers = shared_brokers();
    let names = Names::new("el-compat");
    names.create(&brokers, 3);
    let mixed = format!("{}.eventlogging-valid-mixed", names.ns);
    create_topics(&brokers, &[(mixed.clone(), 2)]);
    let dir = tempfile::tempdir().unwrap();
    let lines = generate(2400, 23);
    let (before, after) = lines.split_at(1000);

    // What the Python processors had done: the first lines read and committed.
    produce(&brokers, &names.raw(), before);
    assert_eq!(commit_at_end(&brokers, &names.group(), &names.raw()), 1000);
    produce(&brokers, &names.raw(), after);
    let (expected_topics, expected_ids) = expected(after, dir.path());

    // The production argument file, one argument per line, with this test's names.
    let argument_file = dir.path().join("client-side-00");
    fs::write(
        &argument_file,
        format!(
            "--sid {group}\n\
             %q %{{recvFrom}}s %{{seqId}}d %D %{{ip}}i %u\n\
             kafka:///{brokers}?topic={raw}\n\
             map://kafka:///{brokers}?topic={ns}.eventlogging_{{schema}}&retries=6&retry_backoff_ms=200&function=eventlogging_schemas_disabled_filter\n\
             map://kafka-confluent:///{brokers}?topic={mixed}&message.send.max.retries=6&function=eventlogging_schemas_disabled_filter\n\
             --output-invalid\n",
            group = names.group(),
            raw = names.raw(),
            ns = names.ns,
        ),
    )
    .unwrap();
    let config = dir.path().join("schemas.yaml");
    fs::write(
        &config,
        format!("{}http:\n  listen: null\n", common::repo_schemas_yaml()),
    )
    .unwrap();
    let mut daemon = Daemon::spawn(
        common::binary().args([
            "eventlogging-processor",
            &format!("@{}", argument_file.display()),
            "--disabled-schemas",
            "Echo",
            "--config",
            config.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ]),
        dir.path().join("compat.log"),
    );
    let status = daemon.status_address();
    wait_until(
        "every raw line processed and committed",
        Duration::from_secs(120),
        POLL,
        || committed_and_end(&brokers, &names) == (2400, 2400),
    );
    let metrics = get(&status, "/metrics").body;
    // The status page sums the lag per group and topic.
    let lag_totals = daemon.wait_for(
        "the lag total to reach 0",
        Duration::from_secs(60),
        POLL,
        || {
            let body = get(&status, "/api/status").body;
            let value: Value = serde_json::from_str(&body).ok()?;
            let totals = value["lag_totals"].as_array()?.clone();
            (totals.first()?["lag"] == 0).then_some(totals)
        },
    );
    assert_eq!(lag_totals.len(), 1, "{lag_totals:?}");
    assert_eq!(lag_totals[0]["group"], names.group());
    assert_eq!(lag_totals[0]["topic"], names.raw());
    assert_eq!(lag_totals[0]["partitions"], 3);
    let log = daemon.log();
    assert!(daemon.terminate(STOP).status.success());
    assert!(
        log.contains("routes: disabled schemas Echo"),
        "the start-up log names the routes: {log}"
    );
    assert!(
        !log.contains("the group has no committed offsets"),
        "the group's offsets were taken over: {log}"
    );

    let echo_valid = expected_topics["Echo"];
    assert!(echo_valid > 0, "{expected_topics:?}");
    let outputs = consume_outputs(&brokers, &names);
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for record in &outputs {
        *topics.entry(record.schema.clone()).or_default() += 1;
    }
    let mut without_echo = expected_topics.clone();
    without_echo.remove("Echo");
    assert_eq!(
        topics, without_echo,
        "only the lines after the committed offsets, Echo skipped"
    );
    // Every record written is one of the expected ones, once; the missing ones are Echo's.
    let seen: HashSet<String> = outputs.iter().map(|r| record_id(&r.payload)).collect();
    assert_eq!(seen.len(), outputs.len(), "no duplicates");
    assert!(seen.is_subset(&expected_ids));
    assert_eq!(expected_ids.len() - seen.len(), echo_valid as usize);

    let valid: u64 = expected_topics
        .iter()
        .filter(|(schema, _)| *schema != "EventError" && *schema != "Echo")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        records_in(&brokers, &mixed),
        valid as i64,
        "valid-mixed has every valid event but Echo's"
    );
    assert!(
        metrics.contains(&format!("beacon_events_skipped_total {echo_valid}")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "beacon_events_delivered_total{{topic=\"{mixed}\"}} {valid}"
        )),
        "copies are counted under their topic: {metrics}"
    );
    assert!(
        !metrics.contains("beacon_events_valid_total{schema=\"Echo\"}"),
        "a skipped event is not counted as delivered valid: {metrics}"
    );
}

/// `tap` prints the records written to a topic after it started (not the older ones), with
/// their topic, and exits after `-n` records; `--errors` finds the error topic in the
/// configuration.
#[test]
fn tap_prints_the_records_written_while_it_runs() {
    use std::io::{BufRead, BufReader};
    let brokers = shared_brokers();
    let names = Names::new("tap");
    names.create(&brokers, 1);
    let topic = names.output("EventError");
    let old: Vec<String> = (0..3).map(|i| format!("{{\"old\":{i}}}")).collect();
    produce(&brokers, &topic, &old);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tap.yaml");
    fs::write(
        &config,
        format!(
            "input:\n  type: stdin\noutput:\n  type: kafka\n  brokers: \"{brokers}\"\n{}",
            names.routing_yaml()
        ),
    )
    .unwrap();
    /// Kills the tap if the test fails before it exits.
    struct KillOnDrop(u32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-9", &self.0.to_string()])
                .status();
        }
    }
    let mut tap = Command::new(BIN)
        .args([
            "tap",
            "--config",
            config.to_str().unwrap(),
            "--errors",
            "-n",
            "4",
            "--with-topic",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let guard = KillOnDrop(tap.id());
    let stderr = tap.stderr.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let stderr_thread = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if line.contains("beacon-processor tap: records of") {
                let _ = ready_tx.send(line.clone());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let ready = ready_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("tap says what it taps");
    assert!(
        ready.contains(&format!("{topic} (3 partitions) from now on")),
        "{ready}"
    );

    let new: Vec<String> = (0..6).map(|i| format!("{{\"new\":{i}}}")).collect();
    produce(&brokers, &topic, &new);
    let out = tap.wait_with_output().unwrap();
    // It exited: nothing to kill (its pid may belong to another process by now).
    std::mem::forget(guard);
    let log = stderr_thread.join().unwrap();
    assert!(out.status.success(), "{log}");
    let printed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    // Four of the new records (partitions interleave), none of the old ones, none twice.
    let written: HashSet<String> = new.iter().map(|r| format!("{topic}\t{r}")).collect();
    assert_eq!(printed.len(), 4, "{printed:?} {log}");
    assert!(printed.iter().all(|p| written.contains(p)), "{printed:?}");
    assert_eq!(
        printed.iter().collect::<HashSet<_>>().len(),
        4,
        "{printed:?}"
    );
}
