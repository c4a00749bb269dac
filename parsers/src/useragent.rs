//! User-agent parsing: the `%u` caster of the EventLogging line format (reference §3.4).
//!
//! A raw user agent (as captured from a varnishkafka line, usually *with* its surrounding double
//! quotes, or as sent by a client in its capsule) becomes the 10-key [`UserAgentInfo`] object:
//!
//! - browser / OS / device families and versions come from the uap-core `regexes.yaml` data
//!   (vendored under `parsers/data/uap-core/`, compiled into the binary) matched by the official
//!   `ua-parser` crate, which prefilters the ~1,200 regexes so only a handful run per string;
//! - `wmf_app_version` comes from the Wikipedia apps' `WikipediaApp/<version>` prefix
//!   ([`app_version`]);
//! - `is_bot` extends uap's `Spider` device with Wikimedia's own bot pattern ([`bot`]);
//! - `is_mediawiki` flags MediaWiki's server-side requests ([`mediawiki`]).
//!
//! [`UserAgentParser`] is immutable once built and shared by all worker threads through an
//! `Arc`; each worker puts its own bounded [`UserAgentCache`] in front of it, because real
//! traffic repeats a small set of user agents and an uncached parse costs microseconds.

pub mod app_version;
pub mod bot;
pub mod cache;
pub mod error;
pub mod info;
pub mod key_hasher;
pub mod mediawiki;
pub mod parser;
mod regex_compat;

pub use cache::UserAgentCache;
pub use error::{UserAgentError, UserAgentLoadError};
pub use info::{RenderedUserAgent, UserAgentInfo};
pub use parser::{UserAgentParser, DEFAULT_MAX_LENGTH};
