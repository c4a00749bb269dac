//! Schema documents and where they come from: legacy schema directories, Event Platform schema
//! repositories and schema servers, in the configured order, behind one registry with its
//! caches. Turning a document into a validator is [`crate::validation`]'s; the registry compiles
//! each document once and caches the validator.
//!
//! - [`schema_uri`]: checks of `$schema` URIs from events (paths, allowed absolute URLs);
//! - [`scid`]: extraction and checks of a capsule's (schema, revision);
//! - [`source`], [`legacy_dir`], [`memory_source`]: legacy schema sources;
//! - [`ep_repository`]: local Event Platform schema repositories;
//! - [`remote`]: schema documents over HTTP(S), fetched on background threads;
//! - [`document`]: parsing schema documents (JSON or YAML);
//! - [`settings`]: what a registry is built from;
//! - [`registry`]: [`SchemaRegistry`], the sources in order plus caches, blocking and
//!   non-blocking ([`SchemaPoll`], [`FetchTicket`]) lookups;
//! - [`error`]: the error types.

pub mod document;
pub mod ep_repository;
pub mod error;
pub mod fetch_ticket;
pub mod legacy_dir;
pub mod memory_source;
mod pending;
mod ref_retriever;
pub mod registry;
pub mod remote;
pub mod schema_uri;
pub mod scid;
pub mod settings;
pub mod source;
mod source_chain;

pub use ep_repository::EventPlatformRepository;
pub use error::{
    CapsuleValidationError, LegacyDirLoadError, LegacyDirProblem, SchemaLookupError,
    SchemaSourceError, SchemaSubject, ScidError,
};
pub use fetch_ticket::{FetchTicket, SchemaPoll};
pub use legacy_dir::LegacyDirSource;
pub use memory_source::InMemorySchemaSource;
pub use registry::{count_memoised_cache_hits, schema_cache_counts, SchemaRegistry};
pub use scid::{document_legacy_scid, extract_legacy_scid, LegacyScid};
pub use settings::{
    SchemaRegistrySettings, SchemaSettingsError, SchemaSettingsProblem, SchemaSourceSettings,
};
pub use source::LegacySchemaSource;
