//! Stream -> topic: `topic_prefix + stream`, except `eventlogging_*` streams and streams whose
//! configuration sets `topic_prefixes: null`, which use the stream name as the topic (EventGate's
//! rule, reference eventgate.md §3.4).

use crate::topic::{check_topic_name, TopicError};

use super::StreamSettings;

/// The topic of `stream` for an instance with `topic_prefix`, checked against Kafka's rules.
pub fn topic_for_stream(
    topic_prefix: &str,
    stream: &str,
    settings: Option<&StreamSettings>,
) -> Result<String, TopicError> {
    let unprefixed = stream.starts_with("eventlogging_") || settings.is_some_and(|s| s.unprefixed);
    let topic = if unprefixed || topic_prefix.is_empty() {
        stream.to_owned()
    } else {
        format!("{topic_prefix}{stream}")
    };
    check_topic_name(&topic)?;
    Ok(topic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::StreamConfigs;

    #[test]
    fn eventgate_routing_expectations() {
        // eventgate.md TV-3 routing expectations for an instance with topic_prefix `eqiad.`.
        let c = StreamConfigs::parse(
            "test.event: {schema_title: test/event}\neventlogging_Test: {schema_title: analytics/legacy/test, topic_prefixes: null}\n",
            "s",
        )
        .unwrap();
        assert_eq!(
            topic_for_stream("eqiad.", "test.event", c.lookup("test.event")).unwrap(),
            "eqiad.test.event"
        );
        assert_eq!(
            topic_for_stream("eqiad.", "eventlogging_Test", c.lookup("eventlogging_Test")).unwrap(),
            "eventlogging_Test"
        );
        assert_eq!(
            topic_for_stream(
                "eqiad.",
                "eventgate-analytics-external.error.validation",
                None
            )
            .unwrap(),
            "eqiad.eventgate-analytics-external.error.validation"
        );
        assert_eq!(
            topic_for_stream("", "test.event", None).unwrap(),
            "test.event"
        );
        assert!(topic_for_stream("", "bad stream", None).is_err());
    }
}
