//! A first contact with a cluster before a one-shot command (`process`, `generate --kafka`)
//! starts, so that a cluster nobody answers at is one error naming it, at once, rather than a
//! run that waits and prints librdkafka's reconnection warnings. The daemon (`run`) does not
//! probe: it waits for its brokers and reports not ready meanwhile.

use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;

/// How long a one-shot command waits for a first answer from its brokers.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Says nothing: the probe's failure is reported once, by its caller.
struct Quiet;

impl ClientContext for Quiet {
    fn log(&self, _: RDKafkaLogLevel, _: &str, _: &str) {}
    fn error(&self, _: KafkaError, _: &str) {}
}

impl rdkafka::consumer::ConsumerContext for Quiet {}

/// Asks `brokers` for the cluster's metadata; `Err` says who could not be reached and why.
pub fn probe(brokers: &str, timeout: Duration) -> Result<(), String> {
    let client: BaseConsumer<Quiet> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create_with_context(Quiet)
        .map_err(|e| format!("cannot reach Kafka at {brokers}: {e}"))?;
    client
        .fetch_metadata(None, timeout)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "cannot reach Kafka at {brokers}: no broker answered within {} s ({e})",
                timeout.as_secs()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_nobody_listens_on_is_named_in_the_error() {
        // Port 9 (discard) on loopback: nothing listens there in a test environment.
        let error = probe("127.0.0.1:9", Duration::from_millis(500)).unwrap_err();
        assert!(
            error.contains("cannot reach Kafka at 127.0.0.1:9"),
            "{error}"
        );
    }
}
