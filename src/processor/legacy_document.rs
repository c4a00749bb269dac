//! The common legacy line on the worker's reusable [`Document`]: capsule, validation and output
//! without building a `Value` tree (see `beacon_parsers::capsule::DocumentCapsule`).
//!
//! Only a valid capsule is finished here. Whenever anything needs judgement (an unusual line or
//! capsule, a schema without a fast validator, an invalid capsule, a user agent that does not
//! parse, a schema lookup that failed) this path gives up without a side effect other than the
//! user-agent cache's counters, and the general path ([`Worker::legacy`]) processes the line
//! from the start: it gives the same records it always gave, error messages included.

use std::sync::Arc;

use beacon_parsers::capsule::{DocumentCapsule, USER_AGENT_KEY};
use beacon_parsers::datetime::iso_to_unix_millis;
use beacon_parsers::json::{Document, NodeRef};

use crate::catalog::CatalogSnapshot;
use crate::record::{Outcome, OutputRecord};
use crate::schema::{ordinary_document_scid, LegacyValidator, SchemaPoll};

use super::legacy::serialize_with;
use super::{Clock, Lookup, Processed, Worker};

impl Worker<'_> {
    /// The record of `line` when it is a valid, ordinary legacy capsule; `None` when the line
    /// must go through the general path.
    pub(super) fn legacy_document(
        &mut self,
        snapshot: &CatalogSnapshot,
        line: &str,
        clock: Clock,
        lookup: Lookup,
    ) -> Option<Processed> {
        let mut document = std::mem::take(&mut self.document);
        let processed = self.legacy_in_document(&mut document, snapshot, line, clock, lookup);
        self.document = document;
        processed
    }

    fn legacy_in_document(
        &mut self,
        document: &mut Document,
        snapshot: &CatalogSnapshot,
        line: &str,
        clock: Clock,
        lookup: Lookup,
    ) -> Option<Processed> {
        let DocumentCapsule { user_agent } = self.processor.parser.build_legacy_document(
            line,
            document,
            &mut self.user_agents,
            clock.unix_micros,
        )?;
        let capsule = document.root()?;
        let settings = &self.processor.settings;
        let schema_name = capsule.get("schema").and_then(NodeRef::as_str);
        if schema_name.is_some_and(|name| settings.conversion.applies_to(name)) {
            return None;
        }
        let scid = ordinary_document_scid(capsule)?;
        let registry = &snapshot.registry;
        let validator: Arc<LegacyValidator> = match lookup {
            Lookup::Poll => match registry.poll_legacy_validator(scid.name, scid.revision) {
                SchemaPoll::Ready(validator) => validator,
                SchemaPoll::Pending(ticket) => return Some(Processed::Pending(ticket)),
                SchemaPoll::Failed(_) => return None,
            },
            Lookup::Block => registry.legacy_validator(scid.name, scid.revision).ok()?,
        };
        // Validated with the user agent as the `null` placeholder, as on the general path.
        if !validator.is_valid_document(capsule)? {
            return None;
        }
        let parsed_user_agent = match user_agent {
            Some(text) => Some(self.user_agents.parse_rendered(text).ok()?),
            None => None,
        };
        let name = validator.name();
        let topic = self.valid_topic(name).ok()?;
        let timestamp_ms = capsule
            .get("dt")
            .and_then(NodeRef::as_str)
            .and_then(iso_to_unix_millis)
            .or_else(|| {
                capsule
                    .get("timestamp")
                    .and_then(NodeRef::as_i64)
                    .and_then(|s| s.checked_mul(1000))
            });
        let key = self
            .processor
            .settings
            .message_key
            .uuid_key_text(capsule.get("uuid").and_then(NodeRef::as_str));
        let payload = serialize_with(|out| match &parsed_user_agent {
            Some(parsed) => capsule.write_json_substituting(out, USER_AGENT_KEY, parsed.json()),
            None => capsule.write_json(out),
        });
        Some(Processed::Record(OutputRecord {
            topic,
            schema: Some(name.to_owned()),
            key,
            payload,
            timestamp_ms,
            outcome: Outcome::Valid,
        }))
    }
}
