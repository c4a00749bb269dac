//! Legacy EventLogging schemas and capsule validation (reference §3.1, §4).
//!
//! - [`draft3`]: draft-3 → draft-4 schema conversion, so a draft-4 validator enforces draft 3;
//! - [`capsule_schema`]: the hard-coded capsule schema and encapsulation of event schemas;
//! - [`scid`]: extraction and checks of a capsule's (schema, revision);
//! - [`source`], [`legacy_dir`], [`memory_source`]: where schemas come from;
//! - [`validator`]: one compiled validator per SCID;
//! - [`registry`]: sources + compiled-validator cache, the entry point of the pipeline;
//! - [`error`]: the error types.

pub mod capsule_schema;
pub mod draft3;
pub mod error;
pub mod legacy_dir;
pub mod memory_source;
pub mod registry;
pub mod scid;
pub mod source;
pub mod validator;

pub use capsule_schema::{capsule_schema, encapsulate};
pub use draft3::draft3_to_draft4;
pub use error::{
    CapsuleValidationError, LegacyDirLoadError, LegacyDirProblem, SchemaCompileError,
    SchemaConversionError, SchemaLookupError, SchemaSourceError, ScidError,
};
pub use legacy_dir::LegacyDirSource;
pub use memory_source::InMemorySchemaSource;
pub use registry::SchemaRegistry;
pub use scid::{extract_legacy_scid, LegacyScid};
pub use source::LegacySchemaSource;
pub use validator::LegacyValidator;
