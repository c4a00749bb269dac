//! Schemas and validation, for legacy EventLogging capsules and Event Platform events.
//!
//! Legacy (reference §3.1, §4):
//! - [`draft3`]: draft-3 → draft-4 schema conversion, so a draft-4 validator enforces draft 3;
//! - [`capsule_schema`](mod@capsule_schema): the hard-coded capsule schema and encapsulation of event schemas;
//! - [`scid`]: extraction and checks of a capsule's (schema, revision);
//! - [`validator`]: one compiled [`LegacyValidator`] per SCID.
//!
//! Event Platform (eventgate.md §2, §5):
//! - [`event_schema`]: one compiled [`EventSchema`] per `$schema` (draft-07/draft-04, formats,
//!   `declares`, `default`s) with [`schema_pointer`] and [`defaults`];
//! - [`schema_uri`]: checks of `$schema` URIs from events (paths, allowed absolute URLs).
//!
//! Sources and the registry:
//! - [`source`], [`legacy_dir`], [`memory_source`]: legacy schema sources;
//! - [`ep_repository`]: local Event Platform schema repositories;
//! - [`http_fetch`]: remote schema documents over HTTP(S);
//! - [`settings`]: what a registry is built from;
//! - [`registry`]: [`SchemaRegistry`], the sources in order plus caches, blocking and
//!   non-blocking ([`SchemaPoll`], [`FetchTicket`]) lookups;
//! - [`fast_validator`]: the quicker validity check both kinds of validator use;
//! - [`document`], [`first_error`], [`formats`]: shared helpers; [`error`]: the error types.

pub mod capsule_schema;
pub mod defaults;
pub mod document;
pub mod draft3;
pub mod ep_repository;
pub mod error;
pub mod event_schema;
pub mod fast_validator;
mod fetch_pool;
pub mod fetch_ticket;
pub mod first_error;
pub mod formats;
pub mod http_fetch;
pub mod legacy_dir;
pub mod memory_source;
mod pending;
mod ref_retriever;
pub mod registry;
mod remote_fetcher;
pub mod schema_pointer;
pub mod schema_uri;
pub mod scid;
pub mod settings;
pub mod source;
mod source_chain;
pub mod validator;

pub use capsule_schema::{capsule_schema, encapsulate};
pub use draft3::draft3_to_draft4;
pub use ep_repository::EventPlatformRepository;
pub use error::{
    CapsuleValidationError, LegacyDirLoadError, LegacyDirProblem, SchemaCompileError,
    SchemaConversionError, SchemaLookupError, SchemaSourceError, SchemaSubject, ScidError,
};
pub use event_schema::EventSchema;
pub use fetch_ticket::{FetchTicket, SchemaPoll};
pub use legacy_dir::LegacyDirSource;
pub use memory_source::InMemorySchemaSource;
pub use registry::{count_memoised_cache_hits, schema_cache_counts, SchemaRegistry};
pub use scid::{document_legacy_scid, extract_legacy_scid, LegacyScid};
pub use settings::{
    SchemaRegistrySettings, SchemaSettingsError, SchemaSettingsProblem, SchemaSourceSettings,
};
pub use source::LegacySchemaSource;
pub use validator::LegacyValidator;
