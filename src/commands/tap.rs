//! `beacon-processor tap`: prints live records of output topics (or of the error topics) as
//! they arrive, to look at what the processor writes without a consumer group of one's own: it
//! assigns every partition at its current end (or its beginning) and commits nothing.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::cli::TapArgs;
use crate::config::{self, InputConfig, OutputConfig};

use super::lifecycle::install_signal_handlers;
use super::CommandError;

/// How long metadata and offset requests may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Prints records of the chosen topics until `--count` records or Ctrl-C.
pub fn tap(args: &TapArgs) -> Result<(), CommandError> {
    let stop = Arc::new(AtomicBool::new(false));
    install_signal_handlers(&stop)?;
    let loaded = config::load_or_defaults(args.config.config.as_deref())?;
    let brokers =
        match (&args.kafka, &loaded.file.output, &loaded.file.input) {
            (Some(brokers), _, _) => brokers.clone(),
            (None, OutputConfig::Kafka(output), _) => output.brokers.clone(),
            (None, _, InputConfig::Kafka(input)) => input.brokers.clone(),
            _ => return Err(CommandError::Other(
                "tap: no Kafka cluster: give --kafka BROKERS or a configuration with Kafka output"
                    .into(),
            )),
        };
    let mut topics = args.topics.clone();
    if args.errors {
        topics.push(loaded.file.routing.error_topic.clone());
        let streams = &loaded.file.streams;
        if let Ok(topic) =
            crate::streams::topic_for_stream(&streams.topic_prefix, &streams.error_stream, None)
        {
            topics.push(topic);
        }
    }
    if topics.is_empty() {
        return Err(CommandError::Other(
            "tap: name the topics to sample, or --errors for the error topics".into(),
        ));
    }
    topics.dedup();
    crate::kafka::probe(&brokers, crate::kafka::PROBE_TIMEOUT).map_err(CommandError::Other)?;

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set(
            "group.id",
            format!("beacon-processor-tap-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .map_err(|e| CommandError::Other(format!("tap: cannot create a Kafka consumer: {e}")))?;
    let mut assignment = TopicPartitionList::new();
    let mut tapped = Vec::new();
    for topic in &topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .map_err(|e| CommandError::Other(format!("tap: metadata of {topic}: {e}")))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            if args.errors && !args.topics.contains(topic) {
                tracing::info!(%topic, "no such topic; not tapped");
                continue;
            }
            return Err(CommandError::Other(format!(
                "tap: topic {topic} does not exist at {brokers}"
            )));
        }
        for partition in &partitions {
            let (low, high) = consumer
                .fetch_watermarks(topic, *partition, REQUEST_TIMEOUT)
                .map_err(|e| {
                    CommandError::Other(format!("tap: offsets of {topic} [{partition}]: {e}"))
                })?;
            let start = if args.from_beginning { low } else { high };
            assignment
                .add_partition_offset(topic, *partition, Offset::Offset(start))
                .map_err(|e| CommandError::Other(format!("tap: {e}")))?;
        }
        tapped.push(format!("{topic} ({} partitions)", partitions.len()));
    }
    if tapped.is_empty() {
        return Err(CommandError::Other(format!(
            "tap: none of {} exists at {brokers}",
            topics.join(", ")
        )));
    }
    consumer
        .assign(&assignment)
        .map_err(|e| CommandError::Other(format!("tap: cannot assign the partitions: {e}")))?;
    let from = if args.from_beginning {
        "their beginning"
    } else {
        "now on"
    };
    let _ = writeln!(
        std::io::stderr(),
        "beacon-processor tap: records of {} from {from}; Ctrl-C stops",
        tapped.join(", ")
    );

    let mut stdout = std::io::stdout().lock();
    let mut printed = 0u64;
    while !stop.load(Ordering::Relaxed) && (args.count == 0 || printed < args.count) {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = match result {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!(error = %e, "reading a tapped topic failed; retrying");
                continue;
            }
        };
        let mut line = Vec::new();
        if args.with_topic {
            line.extend_from_slice(message.topic().as_bytes());
            line.push(b'\t');
        }
        line.extend_from_slice(message.payload().unwrap_or_default());
        line.push(b'\n');
        if stdout
            .write_all(&line)
            .and_then(|()| stdout.flush())
            .is_err()
        {
            // `tap | head`: the reader has what it wanted.
            return Ok(());
        }
        printed += 1;
    }
    Ok(())
}
