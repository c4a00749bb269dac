//! A worker's memo of the validators one batch uses: legacy validators by SCID, Event Platform
//! schemas by `$schema`.
//!
//! Every line or event asks the registry for its validator: a read lock, two hash lookups and
//! an `Arc` count shared by all workers, so both cores write the same cache lines on every line.
//! A batch uses a handful of schemas; the memo keeps them for the batch and is emptied before
//! the next one, so a catalog reload (a new snapshot, used from the next batch on) is never
//! missed.

use std::cell::Cell;
use std::sync::Arc;

use crate::schema::count_memoised_cache_hits;
use crate::validation::{EventSchema, LegacyValidator};

/// The most validators one memo holds (a batch with more schemas asks the registry for the
/// others).
const MAX_MEMOISED: usize = 32;

/// Validators by (schema name, revision), for one batch.
#[derive(Default)]
pub(super) struct ValidatorMemo {
    validators: Vec<Arc<LegacyValidator>>,
    /// Lookups answered here since the last [`clear`](Self::clear).
    hits: u64,
}

impl ValidatorMemo {
    /// Where the validator of `name`/`revision` is, if this batch looked it up before.
    pub(super) fn position(&mut self, name: &str, revision: i64) -> Option<usize> {
        let index = self
            .validators
            .iter()
            .position(|validator| validator.revision() == revision && validator.name() == name)?;
        self.hits += 1;
        Some(index)
    }

    /// The validator at `index` (from [`position`](Self::position) or
    /// [`remember`](Self::remember)).
    pub(super) fn at(&self, index: usize) -> Option<&LegacyValidator> {
        self.validators.get(index).map(|validator| &**validator)
    }

    /// Remembers a validator the registry gave for this batch and returns its index; gives it
    /// back when the memo is full.
    pub(super) fn remember(
        &mut self,
        validator: Arc<LegacyValidator>,
    ) -> Result<usize, Arc<LegacyValidator>> {
        if self.validators.len() >= MAX_MEMOISED {
            return Err(validator);
        }
        self.validators.push(validator);
        Ok(self.validators.len() - 1)
    }

    /// Forgets everything (before a batch, whose snapshot may differ), and adds the hits
    /// answered here to the registry's cache metric.
    pub(super) fn clear(&mut self) {
        self.validators.clear();
        count_memoised_cache_hits(std::mem::take(&mut self.hits));
    }
}

/// Event Platform schemas by the `$schema` URI events name them with, for one batch. Lookups
/// take `&self`, so that the schema lent stays borrowed while the worker goes on.
#[derive(Default)]
pub(super) struct EventSchemaMemo {
    schemas: Vec<(String, Arc<EventSchema>)>,
    /// Lookups answered here since the last [`clear`](Self::clear).
    hits: Cell<u64>,
}

impl EventSchemaMemo {
    /// The schema of `uri`, if this batch looked it up before.
    pub(super) fn get(&self, uri: &str) -> Option<&EventSchema> {
        let (_, schema) = self.schemas.iter().find(|(known, _)| known == uri)?;
        self.hits.set(self.hits.get().saturating_add(1));
        Some(schema)
    }

    /// Remembers the schema the registry gave for `uri`, unless the memo is full.
    pub(super) fn remember(&mut self, uri: &str, schema: Arc<EventSchema>) {
        if self.schemas.len() < MAX_MEMOISED {
            self.schemas.push((uri.to_owned(), schema));
        }
    }

    /// Forgets everything (before a batch, whose snapshot may differ), and adds the hits
    /// answered here to the registry's cache metric.
    pub(super) fn clear(&mut self) {
        self.schemas.clear();
        count_memoised_cache_hits(self.hits.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::schema_cache_counts;
    use serde_json::json;

    fn validator(name: &str, revision: i64) -> Arc<LegacyValidator> {
        match LegacyValidator::compile(name, revision, &json!({"properties": {}})) {
            Ok(validator) => Arc::new(validator),
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn remembers_by_name_and_revision_until_cleared() {
        let mut memo = ValidatorMemo::default();
        assert!(memo.position("Echo", 1).is_none());
        assert_eq!(memo.remember(validator("Echo", 1)).ok(), Some(0));
        assert_eq!(memo.remember(validator("Echo", 2)).ok(), Some(1));
        let revision_at = |memo: &mut ValidatorMemo, name, revision| {
            let index = memo.position(name, revision)?;
            memo.at(index).map(LegacyValidator::revision)
        };
        assert_eq!(revision_at(&mut memo, "Echo", 2), Some(2));
        assert_eq!(revision_at(&mut memo, "Echo", 1), Some(1));
        assert!(memo.position("Echo", 3).is_none());
        assert!(memo.position("Echo2", 1).is_none());
        let (hits_before, _) = schema_cache_counts();
        memo.clear();
        let (hits_after, _) = schema_cache_counts();
        // Other tests may count hits at the same time: at least this memo's two.
        assert!(hits_after >= hits_before + 2);
        assert!(memo.position("Echo", 1).is_none());
    }

    #[test]
    fn a_full_memo_gives_the_validator_back() {
        let mut memo = ValidatorMemo::default();
        for revision in 1..=MAX_MEMOISED {
            let revision = i64::try_from(revision).unwrap_or(i64::MAX);
            assert!(memo.remember(validator("Echo", revision)).is_ok());
        }
        let extra = memo.remember(validator("Echo", 1000));
        assert_eq!(extra.err().map(|v| v.revision()), Some(1000));
        assert!(memo.position("Echo", 1000).is_none());
    }

    fn event_schema(uri: &str) -> Arc<EventSchema> {
        match EventSchema::compile(uri, json!({"properties": {}})) {
            Ok(schema) => Arc::new(schema),
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn event_schemas_are_remembered_by_uri_until_cleared() {
        let mut memo = EventSchemaMemo::default();
        assert!(memo.get("/a/1.0.0").is_none());
        memo.remember("/a/1.0.0", event_schema("/a/1.0.0"));
        memo.remember("/a/1.0.0?x=1", event_schema("/a/1.0.0"));
        assert_eq!(memo.get("/a/1.0.0").map(EventSchema::uri), Some("/a/1.0.0"));
        assert!(memo.get("/a/1.0.0?x=1").is_some());
        assert!(memo.get("/b/1.0.0").is_none());
        let (hits_before, _) = schema_cache_counts();
        memo.clear();
        let (hits_after, _) = schema_cache_counts();
        assert!(hits_after >= hits_before + 2);
        assert!(memo.get("/a/1.0.0").is_none());
        // A full memo remembers no more (its lookups go to the registry).
        for index in 0..=MAX_MEMOISED {
            memo.remember(&format!("/s/{index}"), event_schema("/s"));
        }
        assert!(memo.get("/s/0").is_some());
        assert!(memo.get(&format!("/s/{MAX_MEMOISED}")).is_none());
    }
}
