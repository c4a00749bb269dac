//! Kafka plumbing shared by the Kafka source and the Kafka sink: client configuration with
//! pass-through librdkafka options, a client context that logs through `tracing` without
//! flooding, the classification of produce errors, what librdkafka's statistics say, what the
//! source and a transactional sink share, the checkpoint topic of exactly-once file input, and a mock broker for development and tests.

mod checkpoint_topic;
mod client;
mod line_producer;
mod log_limiter;
pub mod mock_broker;
mod probe;
mod produce_error;
mod statistics;
mod transaction_link;

pub use checkpoint_topic::DEFAULT_CHECKPOINT_TOPIC;
pub use client::{client_config, describe_problems, LoggingContext, OptionProblem};
pub use line_producer::LineProducer;
pub use log_limiter::LogLimiter;
pub use probe::{probe, PROBE_TIMEOUT};
pub use produce_error::{classify_produce_error, ProduceFailure};
pub use statistics::{brokers_up, consumer_lags};
pub use transaction_link::TransactionLink;

pub(crate) use checkpoint_topic::{connection_config, ensure_topic, read_last};
