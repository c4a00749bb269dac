//! What to do when Kafka refuses a record.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// The consequence of a failed produce or delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProduceFailure {
    /// The local queue is full: wait (backpressure) and try again. Never a drop.
    QueueFull,
    /// This record can never be written where it was going (too large, invalid or forbidden
    /// topic): it is replaced by an error event on the error topic.
    Permanent,
    /// The broker refused the record's timestamp (Kafka 4 refuses, by default, timestamps more
    /// than an hour ahead of its clock: `log.message.timestamp.after.max.ms`): produce it again
    /// stamped with the produce time. The event keeps its own time in its fields.
    InvalidTimestamp,
    /// The producer is unusable (a fatal idempotence error, for instance): stop.
    Fatal,
    /// Anything else (timeouts, brokers down, leader changes): produce it again.
    Transient,
}

/// Classifies the error of a failed `send` or of a failed delivery report.
pub fn classify_produce_error(error: &KafkaError) -> ProduceFailure {
    let code = match error {
        KafkaError::MessageProduction(code) => *code,
        _ => return ProduceFailure::Transient,
    };
    match code {
        RDKafkaErrorCode::QueueFull => ProduceFailure::QueueFull,
        RDKafkaErrorCode::InvalidTimestamp => ProduceFailure::InvalidTimestamp,
        RDKafkaErrorCode::MessageSizeTooLarge
        | RDKafkaErrorCode::InvalidMessageSize
        | RDKafkaErrorCode::MessageBatchTooLarge
        | RDKafkaErrorCode::InvalidMessage
        | RDKafkaErrorCode::InvalidRecord
        | RDKafkaErrorCode::InvalidTopic
        | RDKafkaErrorCode::UnknownTopic
        | RDKafkaErrorCode::TopicAuthorizationFailed
        | RDKafkaErrorCode::ClusterAuthorizationFailed
        | RDKafkaErrorCode::UnsupportedForMessageFormat
        | RDKafkaErrorCode::PolicyViolation => ProduceFailure::Permanent,
        RDKafkaErrorCode::Fatal
        | RDKafkaErrorCode::InvalidProducerEpoch
        | RDKafkaErrorCode::ProducerFenced
        | RDKafkaErrorCode::OutOfOrderSequenceNumber
        | RDKafkaErrorCode::UnknownProducerId => ProduceFailure::Fatal,
        _ => ProduceFailure::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let of = |code| classify_produce_error(&KafkaError::MessageProduction(code));
        assert_eq!(of(RDKafkaErrorCode::QueueFull), ProduceFailure::QueueFull);
        assert_eq!(
            of(RDKafkaErrorCode::MessageSizeTooLarge),
            ProduceFailure::Permanent
        );
        assert_eq!(
            of(RDKafkaErrorCode::InvalidTopic),
            ProduceFailure::Permanent
        );
        assert_eq!(
            of(RDKafkaErrorCode::MessageTimedOut),
            ProduceFailure::Transient
        );
        assert_eq!(
            of(RDKafkaErrorCode::NotEnoughReplicas),
            ProduceFailure::Transient
        );
        assert_eq!(of(RDKafkaErrorCode::Fatal), ProduceFailure::Fatal);
        assert_eq!(
            of(RDKafkaErrorCode::InvalidTimestamp),
            ProduceFailure::InvalidTimestamp
        );
    }
}
