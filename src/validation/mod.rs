//! Validators compiled from schema documents, and the checks they run on events. Where schema
//! documents come from (sources, caches, the registry) is [`crate::schema`]; this module only
//! turns a document into a validator and runs it.
//!
//! Legacy EventLogging (reference §3.1, §4):
//! - [`draft3`]: draft-3 → draft-4 schema conversion, so a draft-4 validator enforces draft 3;
//! - [`capsule_schema`](mod@capsule_schema): the hard-coded capsule schema and encapsulation of
//!   event schemas;
//! - [`legacy_validator`]: one compiled [`LegacyValidator`] per SCID.
//!
//! Event Platform (eventgate.md §2, §5):
//! - [`event_schema`]: one compiled [`EventSchema`] per `$schema` (draft-07/draft-04, formats,
//!   `declares`, `default`s) with [`schema_pointer`] and [`defaults`].
//!
//! Shared:
//! - [`fast_validator`]: the quicker validity check both kinds of validator use, with the
//!   JSON-Schema library's validator behind it for the messages;
//! - [`first_error`], [`formats`]: the library's first error as a message, and the formats it
//!   lacks; [`error`]: why a document does not compile.

pub mod capsule_schema;
pub mod defaults;
pub mod draft3;
pub mod error;
pub mod event_schema;
pub mod fast_validator;
pub mod first_error;
pub mod formats;
pub mod legacy_validator;
pub mod schema_pointer;

pub use capsule_schema::{capsule_schema, encapsulate};
pub use draft3::draft3_to_draft4;
pub use error::{SchemaCompileError, SchemaConversionError};
pub use event_schema::EventSchema;
pub use legacy_validator::LegacyValidator;
