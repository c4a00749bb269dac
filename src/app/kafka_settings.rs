//! Kafka source and sink settings from the configuration file, with every problem named by
//! its key.

use std::time::Duration;

use crate::config::{
    option_pairs, ConfigProblem, KafkaInputConfig, KafkaOutputConfig, RecordTimestampConfig,
    StartFromConfig,
};
use crate::sink::KafkaSinkSettings;
use crate::source::{KafkaSourceSettings, StartFrom};
use crate::topic::check_topic_name;

/// The Kafka source of `input` (`stop_at_end` for one-shot runs).
pub fn source_settings(
    input: &KafkaInputConfig,
    stop_at_end: bool,
    problems: &mut Vec<ConfigProblem>,
) -> Option<KafkaSourceSettings> {
    let before = problems.len();
    if input.brokers.trim().is_empty() {
        problems.push(ConfigProblem::new(
            "input.brokers",
            "expected a bootstrap server list such as kafka1:9092,kafka2:9092",
        ));
    }
    if input.topics.is_empty() {
        problems.push(ConfigProblem::new(
            "input.topics",
            "expected at least one raw topic",
        ));
    }
    for (index, topic) in input.topics.iter().enumerate() {
        if let Err(e) = check_topic_name(topic) {
            problems.push(ConfigProblem::new(
                format!("input.topics[{index}]"),
                e.to_string(),
            ));
        }
    }
    if input.group_id.trim().is_empty() {
        problems.push(ConfigProblem::new(
            "input.group_id",
            "expected a consumer group name",
        ));
    }
    if input.commit_interval_ms == 0 {
        problems.push(ConfigProblem::new(
            "input.commit_interval_ms",
            "expected a number of milliseconds greater than 0",
        ));
    }
    let settings = KafkaSourceSettings {
        brokers: input.brokers.trim().to_owned(),
        topics: input.topics.clone(),
        group_id: input.group_id.clone(),
        start_from: match input.start_from {
            StartFromConfig::Earliest => StartFrom::Earliest,
            StartFromConfig::Latest => StartFrom::Latest,
        },
        commit_interval: Duration::from_millis(input.commit_interval_ms),
        drain_timeout: Duration::from_millis(input.drain_timeout_ms),
        linger: Duration::from_millis(input.linger_ms.max(1)),
        stop_at_end,
        options: option_pairs(&input.options),
        offsets_in_transactions: false,
    };
    if let Err(found) = settings.client_config() {
        for problem in found {
            problems.push(ConfigProblem::new(
                option_key("input", &problem.key),
                problem.message,
            ));
        }
    }
    (problems.len() == before).then_some(settings)
}

/// The Kafka sink of `output`.
pub fn sink_settings(
    output: &KafkaOutputConfig,
    problems: &mut Vec<ConfigProblem>,
) -> Option<KafkaSinkSettings> {
    let before = problems.len();
    if output.brokers.trim().is_empty() {
        problems.push(ConfigProblem::new(
            "output.brokers",
            "expected a bootstrap server list such as kafka1:9092,kafka2:9092",
        ));
    }
    for (key, value) in [
        ("output.batch_num_messages", output.batch_num_messages),
        ("output.batch_bytes", output.batch_bytes),
        ("output.queue_max_messages", output.queue_max_messages),
        ("output.queue_max_kbytes", output.queue_max_kbytes),
        ("output.message_timeout_ms", output.message_timeout_ms),
    ] {
        if value == 0 {
            problems.push(ConfigProblem::new(
                key,
                "expected a number greater than 0, found 0",
            ));
        }
    }
    let settings = KafkaSinkSettings {
        brokers: output.brokers.trim().to_owned(),
        compression: output.compression.codec().to_owned(),
        linger: Duration::from_millis(output.linger_ms),
        batch_num_messages: output.batch_num_messages,
        batch_bytes: output.batch_bytes,
        queue_max_messages: output.queue_max_messages,
        queue_max_kbytes: output.queue_max_kbytes,
        message_timeout: Duration::from_millis(output.message_timeout_ms),
        flush_timeout: Duration::from_millis(output.flush_timeout_ms),
        event_timestamps: output.timestamp == RecordTimestampConfig::Event,
        transactions: None,
        options: option_pairs(&output.options),
    };
    if problems.len() == before {
        if let Err(found) = settings.client_config() {
            for problem in found {
                problems.push(ConfigProblem::new(
                    option_key("output", &problem.key),
                    problem.message,
                ));
            }
        }
    }
    (problems.len() == before).then_some(settings)
}

fn option_key(section: &str, key: &str) -> String {
    if key.is_empty() {
        format!("{section}.options")
    } else {
        format!("{section}.options.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OptionValue;

    fn producer_property(output: &KafkaOutputConfig, key: &str) -> Option<String> {
        let mut problems = Vec::new();
        let settings = sink_settings(output, &mut problems)?;
        assert!(problems.is_empty(), "{problems:?}");
        let config = settings.client_config().ok()?;
        config.get(key).map(str::to_owned)
    }

    #[test]
    fn the_producer_queue_is_bounded_in_bytes_too() {
        let mut output = KafkaOutputConfig::with_brokers("127.0.0.1:9092");
        assert_eq!(
            producer_property(&output, "queue.buffering.max.kbytes").as_deref(),
            Some("65536")
        );
        output.queue_max_kbytes = 2048;
        assert_eq!(
            producer_property(&output, "queue.buffering.max.kbytes").as_deref(),
            Some("2048")
        );
        // A pass-through option is set after ours.
        output.options.insert(
            "queue.buffering.max.kbytes".to_owned(),
            OptionValue::Integer(1024),
        );
        assert_eq!(
            producer_property(&output, "queue.buffering.max.kbytes").as_deref(),
            Some("1024")
        );
    }

    #[test]
    fn a_zero_byte_bound_is_a_problem_named_by_its_key() {
        let mut output = KafkaOutputConfig::with_brokers("127.0.0.1:9092");
        output.queue_max_kbytes = 0;
        let mut problems = Vec::new();
        assert!(sink_settings(&output, &mut problems).is_none());
        assert_eq!(
            problems
                .iter()
                .map(|problem| (problem.key.as_str(), problem.message.as_str()))
                .collect::<Vec<_>>(),
            [(
                "output.queue_max_kbytes",
                "expected a number greater than 0, found 0"
            )]
        );
    }
}
