//! Stream configuration (EventStreamConfig format) and the stream -> topic rule.
//!
//! A static YAML or JSON file maps stream names, or `/regex/` keys, to settings:
//!
//! ```yaml
//! eventlogging_SearchSatisfaction:
//!   schema_title: analytics/legacy/searchsatisfaction
//!   topic_prefixes: null
//! /^mediawiki\.job\..+/:
//!   schema_title: mediawiki/job
//! ```
//!
//! The MediaWiki API response shape (`{"streams": {...}}`) is accepted too. Lookup is by exact
//! name first, then by the first regex key that matches (keys are kept in file order).

mod settings;
mod topic;

pub use settings::{StreamConfigError, StreamConfigs, StreamSettings};
pub use topic::topic_for_stream;
