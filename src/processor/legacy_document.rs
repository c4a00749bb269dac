//! The common legacy line on the worker's reusable [`Document`]: capsule, validation and output
//! without building a `Value` tree (see `beacon_parsers::capsule::DocumentCapsule`).
//!
//! Only a valid capsule is finished here. Whenever anything needs judgement (an unusual line or
//! capsule, a schema without a fast validator, an invalid capsule, a user agent that does not
//! parse, a schema lookup that failed) this path gives up without a side effect other than the
//! user-agent cache's counters, and the general path ([`Worker::legacy`]) processes the line
//! from the start: it gives the same records it always gave, error messages included.

use std::sync::Arc;

use beacon_parsers::capsule::{DecodedLine, DocumentBuild, DocumentCapsule, USER_AGENT_KEY};
use beacon_parsers::datetime::iso_to_unix_millis;
use beacon_parsers::json::{Document, NodeRef};

use crate::catalog::CatalogSnapshot;
use crate::clock::Clock;
use crate::record::batch::{RecordBatch, RecordMeta};
use crate::record::Outcome;
use crate::schema::{document_legacy_scid, SchemaPoll};
use crate::validation::LegacyValidator;

use super::legacy::valid_topic;
use super::validator_memo::ValidatorMemo;
use super::{Lookup, Processed, Worker};

/// Where the document path left a line.
pub(super) enum DocumentStep<'l> {
    /// Processed.
    Done(Processed),
    /// For the general path, already decoded.
    Decoded(Box<DecodedLine<'l>>),
    /// For the general path, from the line.
    Again,
}

/// What the document path reuses from line to line.
#[derive(Default)]
pub(super) struct DocumentScratch {
    /// The document every ordinary legacy line is parsed into.
    pub(super) document: Document,
    /// The legacy validators of the current batch.
    pub(super) validators: ValidatorMemo,
}

/// Room for what the output has beyond the document's text: punctuation of the members added
/// to the capsule, escapes.
const PAYLOAD_SLACK_BYTES: usize = 128;

impl Worker<'_> {
    /// The record of `line` when it is a valid, ordinary legacy capsule; otherwise what the
    /// general path can start from.
    pub(super) fn legacy_document<'l>(
        &mut self,
        snapshot: &CatalogSnapshot,
        line: &'l str,
        clock: Clock,
        lookup: Lookup,
        out: &mut RecordBatch,
    ) -> DocumentStep<'l> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let step = self.legacy_in_document(&mut scratch, snapshot, line, clock, lookup, out);
        self.scratch = scratch;
        step
    }

    fn legacy_in_document<'l>(
        &mut self,
        scratch: &mut DocumentScratch,
        snapshot: &CatalogSnapshot,
        line: &'l str,
        clock: Clock,
        lookup: Lookup,
        out: &mut RecordBatch,
    ) -> DocumentStep<'l> {
        let DocumentScratch {
            document,
            validators,
        } = scratch;
        let conversion = &self.processor.settings.conversion;
        let built = self.processor.parser.build_legacy_document(
            line,
            document,
            &mut self.user_agents,
            clock.unix_micros,
            |capsule| {
                capsule
                    .get("schema")
                    .and_then(NodeRef::as_str)
                    .is_some_and(|name| conversion.applies_to(name))
            },
        );
        let user_agent = match built {
            DocumentBuild::Built(DocumentCapsule { user_agent }) => user_agent,
            DocumentBuild::Decoded(decoded) => return DocumentStep::Decoded(decoded),
            DocumentBuild::Unhandled => return DocumentStep::Again,
        };
        match self.finish_valid(document, validators, snapshot, user_agent, lookup, out) {
            Some(processed) => DocumentStep::Done(processed),
            None => DocumentStep::Again,
        }
    }

    /// Writes the record of the capsule built in `document` into `out` if it is valid (`None`:
    /// the general path must judge it, and `out` is unchanged).
    fn finish_valid(
        &mut self,
        document: &Document,
        validators: &mut ValidatorMemo,
        snapshot: &CatalogSnapshot,
        user_agent: Option<&str>,
        lookup: Lookup,
        out: &mut RecordBatch,
    ) -> Option<Processed> {
        let capsule = document.root()?;
        let scid = document_legacy_scid(capsule).ok()?;
        let registry = &snapshot.registry;
        // Borrowed from the memo: no reference count shared with the other workers is touched.
        let not_memoised: Arc<LegacyValidator>;
        let validator: &LegacyValidator = match validators.position(scid.name, scid.revision) {
            Some(index) => validators.at(index)?,
            None => {
                let found = match lookup {
                    Lookup::Poll => {
                        match registry.poll_legacy_validator(scid.name, scid.revision) {
                            SchemaPoll::Ready(validator) => validator,
                            SchemaPoll::Pending(ticket) => return Some(Processed::Pending(ticket)),
                            SchemaPoll::Failed(_) => return None,
                        }
                    }
                    Lookup::Block => registry.legacy_validator(scid.name, scid.revision).ok()?,
                };
                match validators.remember(found) {
                    Ok(index) => validators.at(index)?,
                    Err(found) => {
                        not_memoised = found;
                        &not_memoised
                    }
                }
            }
        };
        // Validated with the user agent as the `null` placeholder, as on the general path.
        if !validator.is_valid_document(capsule)? {
            return None;
        }
        // Lent by the cache (no reference count touched); the topic comes from another field.
        let user_agent_json = match user_agent {
            Some(text) => Some(self.user_agents.rendered(text).ok()?.json()),
            None => None,
        };
        let name = validator.name();
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
        let message_key = self.processor.settings.message_key;
        let uuid = capsule.get("uuid").and_then(NodeRef::as_str);
        let key = message_key.uuid_key_bytes(uuid);
        let topic = valid_topic(&mut self.valid_topics, self.processor, name).ok()?;
        // Written straight into the batch's buffer: no copy, no allocation of its own.
        let meta = RecordMeta {
            topic,
            schema: Some(name),
            key,
            timestamp_ms,
            outcome: Outcome::Valid,
        };
        out.push_written(meta, |payload| {
            payload.reserve(
                document.text_bytes() + user_agent_json.map_or(0, str::len) + PAYLOAD_SLACK_BYTES,
            );
            match user_agent_json {
                Some(json) => capsule.write_json_substituting(payload, USER_AGENT_KEY, json),
                None => capsule.write_json(payload),
            }
        });
        Some(Processed::Written)
    }
}
