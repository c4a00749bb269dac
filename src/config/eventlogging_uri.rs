//! The reader and writer URIs of Python eventlogging's command lines (`kafka:///<brokers>?
//! topic=...`, `kafka-confluent://`, `file://`, `stdin://`, `stdout://`, and `map://<uri>&
//! function=F`), parsed as eventlogging did: the scheme selects the handler, a Kafka URI's path
//! (stripped of `/`) is its bootstrap servers, and the query is decoded like Python's
//! `parse_qsl` (`+` is a space, `%XX` a byte).

use std::fmt;
use std::path::PathBuf;

/// What a URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Kafka cluster. `confluent`: the `kafka-confluent://` scheme, whose parameters are
    /// librdkafka properties (`kafka://` took kafka-python's names, `retry_backoff_ms`).
    Kafka {
        /// `bootstrap.servers`.
        brokers: String,
        /// Whether the scheme was `kafka-confluent://`.
        confluent: bool,
    },
    /// A file (`file:///var/log/x.log`).
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// Standard output.
    Stdout,
}

/// One parsed URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventloggingUri {
    /// The URI as given.
    pub text: String,
    /// What it names.
    pub endpoint: Endpoint,
    /// `map://...&function=F`: the plugin function the events went through.
    pub map_function: Option<String>,
    /// The query parameters, in order (without `function` of a `map://` URI).
    pub params: Vec<(String, String)>,
}

/// Why a URI cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriError {
    /// The URI.
    pub uri: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.uri, self.message)
    }
}

impl std::error::Error for UriError {}

impl EventloggingUri {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let error = |message: String| UriError {
            uri: text.to_owned(),
            message,
        };
        if let Some(inner) = text.strip_prefix("map://") {
            let mut uri = Self::parse(inner).map_err(|e| error(e.message))?;
            let Some(at) = uri.params.iter().position(|(key, _)| key == "function") else {
                return Err(error(
                    "a map:// URI needs a function=NAME parameter".to_owned(),
                ));
            };
            let (_, function) = uri.params.remove(at);
            uri.text = text.to_owned();
            uri.map_function = Some(function);
            return Ok(uri);
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(error(
                "expected SCHEME://..., e.g. kafka:///broker:9092?topic=eventlogging-client-side"
                    .to_owned(),
            ));
        };
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let endpoint = match scheme {
            "kafka" | "kafka-python" | "kafka-confluent" => {
                let brokers = location.trim_matches('/');
                if brokers.is_empty() || brokers.contains('/') {
                    return Err(error(format!(
                        "expected the brokers as the path, e.g. {scheme}:///kafka1:9092,kafka2:9092?topic=..., found {location:?}"
                    )));
                }
                Endpoint::Kafka {
                    brokers: brokers.to_owned(),
                    confluent: scheme == "kafka-confluent",
                }
            }
            "file" if !location.is_empty() => Endpoint::File(PathBuf::from(location)),
            "file" => {
                return Err(error(
                    "expected a path, e.g. file:///var/log/events.log".into(),
                ))
            }
            "stdin" => Endpoint::Stdin,
            "stdout" => Endpoint::Stdout,
            other => {
                return Err(error(format!(
                    "the {other}:// scheme is not supported; beacon-processor reads and writes \
                     kafka://, kafka-confluent://, file://, stdin:// and stdout://"
                )))
            }
        };
        Ok(EventloggingUri {
            text: text.to_owned(),
            endpoint,
            map_function: None,
            params,
        })
    }

    /// The value of parameter `key` (the last one given).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// An error about this URI.
    pub fn error(&self, message: impl Into<String>) -> UriError {
        UriError {
            uri: self.text.clone(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_production_uris_parse_as_eventlogging_read_them() {
        let input = EventloggingUri::parse(
            "kafka:///kafka1001:9092,kafka1002:9092?topic=eventlogging-client-side",
        )
        .unwrap();
        assert_eq!(
            input.endpoint,
            Endpoint::Kafka {
                brokers: "kafka1001:9092,kafka1002:9092".into(),
                confluent: false
            }
        );
        assert_eq!(input.param("topic"), Some("eventlogging-client-side"));

        let output = EventloggingUri::parse(
            "map://kafka:///k:9092?topic=eventlogging_{schema}&retries=6&retry_backoff_ms=200&function=eventlogging_schemas_disabled_filter",
        )
        .unwrap();
        assert_eq!(
            output.map_function.as_deref(),
            Some("eventlogging_schemas_disabled_filter")
        );
        assert_eq!(output.param("topic"), Some("eventlogging_{schema}"));
        assert_eq!(output.param("function"), None);
        assert_eq!(
            output.params,
            vec![
                ("topic".into(), "eventlogging_{schema}".into()),
                ("retries".into(), "6".into()),
                ("retry_backoff_ms".into(), "200".into()),
            ]
        );
    }

    #[test]
    fn queries_decode_like_parse_qsl() {
        let uri =
            EventloggingUri::parse("kafka-confluent:///k:1?blacklist=%5EEdit%24&x=a+b").unwrap();
        assert_eq!(uri.param("blacklist"), Some("^Edit$"));
        assert_eq!(uri.param("x"), Some("a b"));
    }

    #[test]
    fn files_and_standard_streams() {
        assert_eq!(
            EventloggingUri::parse("file:///tmp/valid.log")
                .unwrap()
                .endpoint,
            Endpoint::File("/tmp/valid.log".into())
        );
        assert_eq!(
            EventloggingUri::parse("stdin://").unwrap().endpoint,
            Endpoint::Stdin
        );
        assert_eq!(
            EventloggingUri::parse("stdout://").unwrap().endpoint,
            Endpoint::Stdout
        );
    }

    #[test]
    fn unusable_uris_say_why() {
        for (uri, says) in [
            ("kafka.example:9092", "expected SCHEME://"),
            ("kafka://?topic=x", "brokers as the path"),
            ("tcp://127.0.0.1:8600", "tcp:// scheme is not supported"),
            ("map://kafka:///k:1?topic=x", "function=NAME"),
            ("file://", "expected a path"),
        ] {
            let error = EventloggingUri::parse(uri).unwrap_err().to_string();
            assert!(error.contains(says), "{uri}: {error}");
        }
    }
}
