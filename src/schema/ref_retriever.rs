//! Resolution of `$ref`s to other schemas while compiling an Event Platform schema, through
//! the same sources as `$schema` URIs.
//!
//! Relative `$ref`s in repository schemas are path-absolute (`/fragment/common/1.0.0`); the
//! JSON-Schema library resolves them against the schema's `$id` (or its default base
//! `json-schema:///`) and asks this retriever for `json-schema:///fragment/common/1.0.0`,
//! which is looked up as the schema path `/fragment/common/1.0.0` in every Event Platform
//! source, in order (blocking: this runs while compiling, which for remote schemas happens on
//! a background fetch thread). Absolute `http(s)` `$ref`s are fetched only from allowed hosts,
//! like event URIs; anything else (`file:`, `urn:`, …) is refused. Materialized WMF schemas
//! have no `$ref`s at all, so none of this is needed for them.

use std::sync::Arc;

use serde_json::Value;

use super::error::SchemaSubject;
use super::schema_uri::{classify_schema_uri, HostAllowlist, SchemaPath, SchemaUriTarget};
use super::source_chain::{Query, SourceChain, Step, Trail};

/// Retrieves `$ref` targets through a source chain.
pub(crate) struct SourceRetriever {
    pub(crate) chain: Arc<SourceChain>,
    pub(crate) allowlist: HostAllowlist,
}

impl jsonschema::Retrieve for SourceRetriever {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let subject = SchemaSubject::EventPlatform {
            uri: uri.as_str().to_owned(),
        };
        let mut trail = Trail::default();
        match uri.scheme().as_str() {
            "json-schema" => {
                let path = SchemaPath::parse(uri.path().as_str())
                    .map_err(|problem| format!("$ref {uri}: not a valid schema path: {problem}"))?;
                match self.chain.walk(Query::Event(&path), 0, true, &mut trail) {
                    Step::Found(found) => Ok(found.document),
                    Step::NeedsRemote(_) | Step::Exhausted => {
                        Err(trail.into_error(subject).to_string().into())
                    }
                }
            }
            "http" | "https" => match classify_schema_uri(uri.as_str(), &self.allowlist) {
                Ok(SchemaUriTarget::Absolute(url)) => {
                    match self.chain.fetch_url(&url, &mut trail) {
                        Some(found) => Ok(found.document),
                        None => Err(trail.into_error(subject).to_string().into()),
                    }
                }
                Ok(SchemaUriTarget::Path(_)) | Err(_) => Err(format!(
                    "$ref {uri} refused: its host is not an allowed schema host"
                )
                .into()),
            },
            scheme => {
                Err(format!("$ref {uri} refused: {scheme} references are not resolved").into())
            }
        }
    }
}
