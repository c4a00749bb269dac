//! librdkafka's mock cluster as a development broker: it speaks the real Kafka protocol on
//! loopback (produce, idempotent produce, consumer groups with offset commits, auto-created
//! topics) and can be taken down and up again to simulate an outage.
//!
//! Its partitions keep only a few MB (about 5 MB or 100,000 messages each, older ones are
//! dropped), so high-volume users must consume while producing.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// A running mock cluster; it stops when dropped.
pub struct MockBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
    brokers: i32,
}

/// Why the mock cluster could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("mock Kafka cluster: {0}")]
pub struct MockBrokerError(pub String);

impl MockBroker {
    /// Starts `brokers` mock brokers on loopback with the given topics (name, partitions).
    pub fn start(brokers: i32, topics: &[(String, i32)]) -> Result<Self, MockBrokerError> {
        let brokers = brokers.max(1);
        let cluster = MockCluster::new(brokers).map_err(|e| MockBrokerError(e.to_string()))?;
        for (topic, partitions) in topics {
            cluster
                .create_topic(topic, (*partitions).max(1), 1)
                .map_err(|e| MockBrokerError(format!("cannot create topic {topic}: {e}")))?;
        }
        Ok(MockBroker { cluster, brokers })
    }

    /// The `bootstrap.servers` list (loopback addresses).
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// Creates a topic.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), MockBrokerError> {
        self.cluster
            .create_topic(topic, partitions.max(1), 1)
            .map_err(|e| MockBrokerError(format!("cannot create topic {topic}: {e}")))
    }

    /// Takes every broker down (connections are closed and refused) or brings them back.
    pub fn set_available(&self, available: bool) -> Result<(), MockBrokerError> {
        for id in 1..=self.brokers {
            let result = if available {
                self.cluster.broker_up(id)
            } else {
                self.cluster.broker_down(id)
            };
            result.map_err(|e| MockBrokerError(format!("broker {id}: {e}")))?;
        }
        Ok(())
    }

    /// The underlying cluster, for error injection in tests.
    pub fn cluster(&self) -> &MockCluster<'static, DefaultProducerContext> {
        &self.cluster
    }
}

/// Parses `NAME` or `NAME:PARTITIONS`.
pub fn parse_topic_spec(spec: &str) -> Result<(String, i32), String> {
    let (name, partitions) = match spec.rsplit_once(':') {
        Some((name, count)) => {
            let count: i32 = count
                .parse()
                .map_err(|_| format!("{spec:?}: expected NAME:PARTITIONS with a number"))?;
            if count < 1 {
                return Err(format!("{spec:?}: expected at least one partition"));
            }
            (name, count)
        }
        None => (spec, 1),
    };
    crate::topic::check_topic_name(name).map_err(|e| e.to_string())?;
    Ok((name.to_owned(), partitions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_specs() {
        assert_eq!(parse_topic_spec("raw:6"), Ok(("raw".to_owned(), 6)));
        assert_eq!(parse_topic_spec("raw"), Ok(("raw".to_owned(), 1)));
        assert!(parse_topic_spec("raw:0").is_err());
        assert!(parse_topic_spec("raw:x").is_err());
        assert!(parse_topic_spec("a/b:2").is_err());
    }

    #[test]
    fn starts_on_loopback() {
        let broker = MockBroker::start(1, &[("raw".to_owned(), 3)]).unwrap();
        let servers = broker.bootstrap_servers();
        assert!(
            servers.starts_with("127.0.0.1:") || servers.starts_with("localhost:"),
            "{servers}"
        );
    }
}
