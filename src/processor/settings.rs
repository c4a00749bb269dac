//! Processing settings that do not change on reload.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::topic::TopicTemplate;

/// Which legacy schemas are converted into Event Platform events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyConversion {
    /// None: legacy capsules are validated against their legacy schemas (the default).
    Off,
    /// Every legacy schema.
    All,
    /// These schemas only.
    Only(BTreeSet<String>),
}

impl LegacyConversion {
    /// Whether capsules of schema `name` are converted.
    pub fn applies_to(&self, name: &str) -> bool {
        match self {
            LegacyConversion::Off => false,
            LegacyConversion::All => true,
            LegacyConversion::Only(names) => names.contains(name),
        }
    }

    /// Whether every legacy schema is converted (then lines that cannot be decoded at all are
    /// reported as Event Platform error events too).
    pub fn is_global(&self) -> bool {
        matches!(self, LegacyConversion::All)
    }
}

/// Everything the per-line function needs besides schemas and streams.
#[derive(Debug, Clone)]
pub struct ProcessorSettings {
    /// Topic of valid legacy events, from their schema name (`eventlogging_{schema}`).
    pub valid_topic: TopicTemplate,
    /// Topic of legacy EventError capsules.
    pub error_topic: String,
    /// Prefix of Event Platform topics (`eqiad.`); none for `eventlogging_*` streams.
    pub topic_prefix: String,
    /// Stream of Event Platform error events.
    pub error_stream: String,
    /// `emitter_id` of Event Platform error events.
    pub emitter_id: String,
    /// Legacy -> Event Platform conversion.
    pub conversion: LegacyConversion,
    /// Version of `analytics/legacy/<name>` per legacy schema name...
    pub conversion_versions: HashMap<String, String>,
    /// ...and for the others (`latest` by default).
    pub conversion_default_version: String,
    /// Parsed user agents kept per worker thread.
    pub user_agent_cache_size: usize,
    /// This host's name (`recvFrom` of EventError capsules).
    pub host: String,
    /// Longer lines were cut by the source.
    pub max_line_bytes: usize,
    /// How long a batch waits for a set-aside line's schema fetch.
    pub fetch_wait: Duration,
    /// Kafka message key of output records.
    pub message_key: super::MessageKey,
    /// Disabled schemas and further topics (applied after the workers).
    pub routes: crate::route::Routes,
}

impl ProcessorSettings {
    /// The `analytics/legacy` version a converted legacy schema is validated against.
    pub fn conversion_version(&self, name: &str) -> &str {
        self.conversion_versions
            .get(name)
            .map_or(self.conversion_default_version.as_str(), String::as_str)
    }
}
