//! Where legacy event schemas come from.
//!
//! A [`LegacySchemaSource`] answers "the draft-3 schema of (name, revision)": found, not here,
//! or failed, without blocking for long (it is asked on the caller's thread). The
//! [`SchemaRegistry`](super::SchemaRegistry) asks its sources in order and caches what it
//! compiles (and what failed, for a while), so a source need not cache. Implementations: the
//! local legacy directory ([`LegacyDirSource`](super::LegacyDirSource)) and the in-memory
//! [`InMemorySchemaSource`](super::InMemorySchemaSource). Remote legacy schemas (a URL template)
//! are a source kind of the registry itself
//! ([`SchemaSourceSettings::LegacyHttp`](super::SchemaSourceSettings::LegacyHttp)), because
//! their lookups run on background threads.

use serde_json::Value;

use super::error::SchemaSourceError;

/// A provider of legacy (draft-3) event schemas, shared by all worker threads.
pub trait LegacySchemaSource: Send + Sync {
    /// Human-readable description naming the source, used in error messages
    /// (e.g. `legacy schema directory /etc/beacon/schemas`).
    fn describe(&self) -> String;

    /// The schema document of `name` at `revision`: `Ok(None)` when this source does not have
    /// it, `Err` when the source could not tell.
    fn lookup(&self, name: &str, revision: i64) -> Result<Option<Value>, SchemaSourceError>;

    /// Every SCID this source knows without asking anyone else (for start-up precompilation);
    /// empty for sources that can only be queried.
    fn known_scids(&self) -> Vec<(String, i64)> {
        Vec::new()
    }
}
