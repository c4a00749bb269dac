//! A schema source holding documents in memory: for tests, and for schemas built into the
//! binary.

use std::collections::HashMap;

use serde_json::Value;

use super::error::SchemaSourceError;
use super::source::LegacySchemaSource;

/// Legacy schemas held in memory, keyed by (name, revision).
#[derive(Debug, Clone, Default)]
pub struct InMemorySchemaSource {
    description: String,
    schemas: HashMap<String, HashMap<i64, Value>>,
}

impl InMemorySchemaSource {
    /// An empty source; `description` is what [`LegacySchemaSource::describe`] returns.
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            schemas: HashMap::new(),
        }
    }

    /// Adds (or replaces) the schema of `name` at `revision`; returns `self` for chaining.
    pub fn with_schema(mut self, name: impl Into<String>, revision: i64, schema: Value) -> Self {
        self.insert(name, revision, schema);
        self
    }

    /// Adds (or replaces) the schema of `name` at `revision`.
    pub fn insert(&mut self, name: impl Into<String>, revision: i64, schema: Value) {
        self.schemas
            .entry(name.into())
            .or_default()
            .insert(revision, schema);
    }
}

impl LegacySchemaSource for InMemorySchemaSource {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn lookup(&self, name: &str, revision: i64) -> Result<Option<Value>, SchemaSourceError> {
        Ok(self
            .schemas
            .get(name)
            .and_then(|revisions| revisions.get(&revision))
            .cloned())
    }

    fn known_scids(&self) -> Vec<(String, i64)> {
        let mut scids: Vec<(String, i64)> = self
            .schemas
            .iter()
            .flat_map(|(name, revisions)| {
                revisions.keys().map(|revision| (name.clone(), *revision))
            })
            .collect();
        scids.sort();
        scids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_finds_exactly_what_was_inserted() {
        let source = InMemorySchemaSource::new("test schemas")
            .with_schema("A", 1, json!({"properties": {}}))
            .with_schema("A", 2, json!({"description": "two"}))
            .with_schema("B", 1, json!({}));
        assert_eq!(source.describe(), "test schemas");
        assert_eq!(
            source.lookup("A", 2),
            Ok(Some(json!({"description": "two"})))
        );
        assert_eq!(source.lookup("A", 3), Ok(None));
        assert_eq!(source.lookup("C", 1), Ok(None));
        assert_eq!(
            source.known_scids(),
            vec![
                ("A".to_owned(), 1),
                ("A".to_owned(), 2),
                ("B".to_owned(), 1)
            ]
        );
    }
}
