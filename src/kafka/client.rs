//! librdkafka client configuration: our settings first, then the user's pass-through options
//! (which win, except where they would break the delivery guarantees).

use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;

use super::LogLimiter;

/// A pass-through option librdkafka refused, or one that would break at-least-once delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionProblem {
    /// The librdkafka property.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

/// Builds a client configuration from `ours` (set first) and the user's `options` (set after,
/// so they override ours), refusing the `protected` properties with the reason given, and
/// checking every property with librdkafka itself.
pub fn client_config(
    ours: &[(&str, String)],
    options: &[(String, String)],
    protected: &[(&str, &str)],
) -> Result<ClientConfig, Vec<OptionProblem>> {
    let mut config = ClientConfig::new();
    for (key, value) in ours {
        config.set(*key, value.as_str());
    }
    let mut problems = Vec::new();
    for (key, value) in options {
        if let Some((_, why)) = protected.iter().find(|(k, _)| k == key) {
            problems.push(OptionProblem {
                key: key.clone(),
                message: (*why).to_owned(),
            });
            continue;
        }
        // librdkafka checks names and values when a native configuration is built: check each
        // option alone so that every offending one is named.
        let mut single = ClientConfig::new();
        single.set(key.as_str(), value.as_str());
        if let Err(e) = single.create_native_config() {
            problems.push(OptionProblem {
                key: key.clone(),
                message: describe(&e),
            });
        }
        config.set(key.as_str(), value.as_str());
    }
    config.set_log_level(RDKafkaLogLevel::Warning);
    if problems.is_empty() {
        if let Err(error) = config.create_native_config() {
            problems.push(OptionProblem {
                key: String::new(),
                message: describe(&error),
            });
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

/// The problems as one line: `key: message; key: message`.
pub fn describe_problems(problems: &[OptionProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn describe(error: &KafkaError) -> String {
    match error {
        KafkaError::ClientConfig(_, description, key, value) => {
            format!("librdkafka refused {key}={value:?}: {description}")
        }
        other => other.to_string(),
    }
}

/// Client context logging librdkafka's messages and errors through `tracing`, at most one line
/// per kind every few seconds (a broker that is down reports the same error continuously).
pub struct LoggingContext {
    role: &'static str,
    limiter: LogLimiter,
}

impl LoggingContext {
    /// A context for a client in `role` (`source`, `sink`).
    pub fn new(role: &'static str) -> Self {
        LoggingContext {
            role,
            limiter: LogLimiter::new(Duration::from_secs(5)),
        }
    }

    /// Whether a line of kind `key` may be logged now (at most one every few seconds).
    pub fn allow(&self, key: &str) -> bool {
        self.limiter.allow(key).is_some()
    }

    /// Logs a librdkafka error, rate limited.
    pub fn report_error(&self, error: &KafkaError, reason: &str) {
        let key = format!("error:{error}");
        if let Some(suppressed) = self.limiter.allow(&key) {
            tracing::warn!(role = self.role, suppressed, "kafka: {error}: {reason}");
        }
    }

    /// Logs a librdkafka log line, rate limited.
    pub fn report_log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let key = format!("log:{facility}");
        let Some(suppressed) = self.limiter.allow(&key) else {
            return;
        };
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(
                    role = self.role,
                    facility,
                    suppressed,
                    "librdkafka: {message}"
                )
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(
                    role = self.role,
                    facility,
                    suppressed,
                    "librdkafka: {message}"
                )
            }
            _ => tracing::debug!(role = self.role, facility, "librdkafka: {message}"),
        }
    }
}

impl ClientContext for LoggingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.report_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.report_error(&error, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_options_override_ours_and_unknown_ones_are_named() {
        let ours = [("linger.ms", "5".to_owned())];
        let options = vec![("linger.ms".to_owned(), "50".to_owned())];
        let config = client_config(&ours, &options, &[]).unwrap();
        assert_eq!(config.get("linger.ms"), Some("50"));

        let options = vec![
            ("linger.ms".to_owned(), "50".to_owned()),
            ("no.such.property".to_owned(), "1".to_owned()),
            ("compression.codec".to_owned(), "zip".to_owned()),
        ];
        let problems = client_config(&ours, &options, &[]).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["no.such.property", "compression.codec"]);
        assert!(
            problems[0].message.contains("no.such.property"),
            "{problems:?}"
        );
    }

    #[test]
    fn protected_options_are_refused_with_the_reason() {
        let options = vec![("enable.auto.offset.store".to_owned(), "true".to_owned())];
        let problems = client_config(
            &[],
            &options,
            &[(
                "enable.auto.offset.store",
                "offsets are stored after delivery",
            )],
        )
        .unwrap_err();
        assert_eq!(problems[0].key, "enable.auto.offset.store");
        assert_eq!(problems[0].message, "offsets are stored after delivery");
    }
}
