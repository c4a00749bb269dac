//! The checkpoint topic of exactly-once file input: a compacted topic in the output cluster
//! holding, under the key of each instance's `transactional.id`, the tailer's whole checkpoint
//! (the data directory's `checkpoints.json` format). The transactional sink produces the
//! checkpoint of the last batch of every transaction into the same transaction as the records,
//! so records and file positions become visible together or not at all. At start, after the
//! sink has fenced any earlier producer of its `transactional.id` (aborting its open
//! transaction), the last committed checkpoint is read back and the tailer resumes from it.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;

/// The default name of the checkpoint topic (`output.checkpoint_topic`).
pub const DEFAULT_CHECKPOINT_TOPIC: &str = "beacon-processor-checkpoints";

/// Topic settings the checkpoint topic is created with: compacted, so each instance's latest
/// checkpoint is kept for good and older ones go; short segments, so compaction keeps the topic
/// (read in full at every start) small.
const TOPIC_CONFIG: [(&str, &str); 3] = [
    ("cleanup.policy", "compact"),
    ("segment.ms", "600000"),
    ("min.cleanable.dirty.ratio", "0.1"),
];

/// librdkafka properties that say how to reach and authenticate to the cluster, taken over from
/// the producer's pass-through options for the admin client and the reader.
const CONNECTION_PREFIXES: [&str; 5] = ["security.", "ssl.", "sasl.", "socket.", "client.dns."];

/// The configuration of a client reaching `brokers` with the connection `options` among the
/// producer's pass-through options.
pub fn connection_config(brokers: &str, options: &[(String, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (key, value) in options {
        if CONNECTION_PREFIXES.iter().any(|p| key.starts_with(p)) {
            config.set(key, value);
        }
    }
    config
}

/// Creates `topic` compacted if it does not exist; if it does, checks that it is compacted (a
/// time-based retention would delete an idle instance's checkpoint and make its next start read
/// its files again).
pub fn ensure_topic(config: &ClientConfig, topic: &str, timeout: Duration) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = config
        .create()
        .map_err(|e| format!("creating an admin client: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("starting a runtime for the admin client: {e}"))?;
    let options = AdminOptions::new().operation_timeout(Some(timeout));
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(-1));
    let new_topic = TOPIC_CONFIG
        .iter()
        .fold(new_topic, |t, (key, value)| t.set(key, value));
    let created = runtime
        .block_on(admin.create_topics([&new_topic], &options))
        .map_err(|e| format!("creating the checkpoint topic {topic}: {e}"))?;
    for result in created {
        match result {
            Ok(_) => {
                tracing::info!(topic, "created the compacted checkpoint topic");
                return Ok(());
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(format!("creating the checkpoint topic {topic}: {code}"));
            }
        }
    }
    let described = runtime
        .block_on(admin.describe_configs([&ResourceSpecifier::Topic(topic)], &options))
        .map_err(|e| format!("reading the configuration of the checkpoint topic {topic}: {e}"))?;
    for resource in described {
        let resource = resource.map_err(|e| {
            format!("reading the configuration of the checkpoint topic {topic}: {e}")
        })?;
        let policy = resource
            .get("cleanup.policy")
            .and_then(|entry| entry.value.clone())
            .unwrap_or_default();
        if !policy.split(',').any(|p| p.trim() == "compact") {
            return Err(format!(
                "the checkpoint topic {topic} exists with cleanup.policy={policy:?}: expected \
                 \"compact\" (with time-based deletion an idle instance's checkpoint is deleted \
                 and its files are read again); set it with kafka-configs.sh --alter \
                 --entity-type topics --entity-name {topic} --add-config cleanup.policy=compact"
            ));
        }
    }
    Ok(())
}

/// The value of the last committed record with `key` in `topic` (`None` if there is none),
/// read to the end the topic had when the call started. Waits, up to `timeout`, for open
/// transactions before that end to be decided.
pub fn read_last(
    config: &ClientConfig,
    topic: &str,
    key: &str,
    timeout: Duration,
) -> Result<Option<Vec<u8>>, String> {
    let mut config = config.clone();
    config
        .set("group.id", "beacon-processor-checkpoint-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed");
    let consumer: BaseConsumer = config
        .create()
        .map_err(|e| format!("creating the checkpoint reader: {e}"))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| format!("reading the checkpoint topic {topic}'s metadata: {e}"))?;
    let mut assignment = TopicPartitionList::new();
    let mut ends = Vec::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition.id(), timeout)
            .map_err(|e| format!("reading the checkpoint topic {topic}'s end: {e}"))?;
        if high > low {
            ends.push((partition.id(), high));
            assignment
                .add_partition_offset(topic, partition.id(), Offset::Offset(low))
                .map_err(|e| format!("assigning the checkpoint topic: {e}"))?;
        }
    }
    if ends.is_empty() {
        return Ok(None);
    }
    consumer
        .assign(&assignment)
        .map_err(|e| format!("assigning the checkpoint topic: {e}"))?;
    // A read_committed reader is given neither transaction markers nor aborted records: it is
    // done when every partition's position reached the end noted above.
    let at_end = |consumer: &BaseConsumer| {
        consumer.position().is_ok_and(|positions| {
            ends.iter().all(|&(partition, end)| {
                matches!(
                    positions.find_partition(topic, partition).map(|e| e.offset()),
                    Some(Offset::Offset(at)) if at >= end
                )
            })
        })
    };
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                if message.key() == Some(key.as_bytes()) {
                    // A tombstone (no value) removes the checkpoint.
                    last = message.payload().map(<[u8]>::to_vec);
                }
            }
            Some(Err(e)) => {
                tracing::warn!(topic, error = %e, "reading the checkpoint topic");
                if at_end(&consumer) {
                    break;
                }
            }
            None => {
                if at_end(&consumer) {
                    break;
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the checkpoint topic {topic} could not be read to its end within {} s (an open \
                 transaction of another instance?)",
                timeout.as_secs()
            ));
        }
    }
    Ok(last)
}
