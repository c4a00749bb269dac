//! Output routes beyond the one topic per valid event: schemas whose events are not written to
//! it (`routing.disabled_schemas`, eventlogging's `eventlogging_schemas_disabled_filter`;
//! `routing.exclude`, its writers' `blacklist`), and further topics every valid event is also
//! written to (`routing.copies`, eventlogging's extra writers such as
//! `eventlogging-valid-mixed`, each with its own exclusions).
//!
//! The workers route each event to its one topic; when routes are configured, this stage
//! rewrites each processed batch before the sink: a valid event of a disabled schema is removed
//! (counted as skipped), and a copy record is added for every further topic that admits its
//! schema. Error events are never removed or copied. Without routes a batch passes untouched.

use std::collections::BTreeSet;

use regex::Regex;

use crate::record::batch::{RecordBatch, RecordMeta};
use crate::record::Outcome;
use crate::topic::{TopicError, TopicTemplate};

/// A further topic that valid events are also written to.
#[derive(Debug, Clone)]
pub struct CopyRoute {
    /// The topic: fixed, or with `{schema}`.
    pub topic: TopicTemplate,
    /// Schemas not copied: a match at the start of the schema name (Python's `re.match`, as
    /// eventlogging's `blacklist=` parameter).
    pub exclude: Option<Regex>,
}

/// Compiles an exclusion pattern as Python's `re.match` used it: anchored at the start only.
pub fn exclusion_pattern(pattern: &str) -> Result<Regex, RouteError> {
    Regex::new(&format!("^(?:{pattern})")).map_err(|e| RouteError::Pattern(e.to_string()))
}

impl CopyRoute {
    /// A route to `topic` (fixed or with `{schema}`), excluding schema names that `exclude`
    /// matches at their start.
    pub fn new(topic: &str, exclude: Option<&str>) -> Result<Self, RouteError> {
        let topic = TopicTemplate::parse_fixed_or_template(topic).map_err(RouteError::Topic)?;
        let exclude = exclude.map(exclusion_pattern).transpose()?;
        Ok(CopyRoute { topic, exclude })
    }

    fn admits(&self, schema: &str) -> bool {
        self.exclude
            .as_ref()
            .is_none_or(|pattern| !pattern.is_match(schema))
    }
}

/// Why a route cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The topic is not a legal topic name or template.
    #[error("{0}")]
    Topic(TopicError),
    /// The exclusion pattern is not a regular expression.
    #[error("not a regular expression: {0}")]
    Pattern(String),
}

/// The configured routes (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Routes {
    disabled: BTreeSet<String>,
    exclude: Option<Regex>,
    copies: Vec<CopyRoute>,
}

impl Routes {
    /// Routes that keep valid events of the `disabled` schemas, and of schemas `exclude`
    /// matches, from their own topic, and copy valid events to `copies`.
    pub fn new(
        disabled: impl IntoIterator<Item = String>,
        exclude: Option<Regex>,
        copies: Vec<CopyRoute>,
    ) -> Self {
        Routes {
            disabled: disabled.into_iter().collect(),
            exclude,
            copies,
        }
    }

    /// Whether any route is configured (otherwise [`apply`](Self::apply) changes nothing).
    pub fn is_active(&self) -> bool {
        !self.disabled.is_empty() || self.exclude.is_some() || !self.copies.is_empty()
    }

    /// Whether a valid event of `schema` goes to its own topic.
    fn keeps(&self, schema: &str) -> bool {
        !self.disabled.contains(schema)
            && self
                .exclude
                .as_ref()
                .is_none_or(|pattern| !pattern.is_match(schema))
    }

    /// A readable summary (start-up log, `check-config`), or `None` without routes.
    pub fn describe(&self) -> Option<String> {
        if !self.is_active() {
            return None;
        }
        let mut parts = Vec::new();
        if !self.disabled.is_empty() {
            let names: Vec<&str> = self.disabled.iter().map(String::as_str).collect();
            parts.push(format!("disabled schemas {}", names.join(", ")));
        }
        if let Some(exclude) = &self.exclude {
            parts.push(format!("excluded schemas {}", exclude.as_str()));
        }
        for copy in &self.copies {
            let mut text = format!("a copy of each valid event to {}", copy.topic);
            if let Some(exclude) = &copy.exclude {
                text.push_str(&format!(" (except schemas {})", exclude.as_str()));
            }
            parts.push(text);
        }
        Some(parts.join("; "))
    }

    /// Rewrites `records`: returns the routed batch and how many valid events were skipped.
    /// Records of an unknown schema are neither skipped nor copied to a `{schema}` topic.
    pub fn apply(&self, records: RecordBatch) -> (RecordBatch, u64) {
        if !self.is_active() {
            return (records, 0);
        }
        let mut routed = RecordBatch::with_capacity(records.len(), records.byte_len());
        let mut skipped = 0;
        let mut copy_topic = String::new();
        for record in records.iter() {
            let (Outcome::Valid, Some(schema)) = (record.outcome, record.schema) else {
                push_as(&mut routed, &record, record.topic, record.outcome);
                continue;
            };
            let mut outcome = Outcome::Valid;
            if self.keeps(schema) {
                push_as(&mut routed, &record, record.topic, outcome);
                outcome = Outcome::Copy;
            }
            for copy in self.copies.iter().filter(|copy| copy.admits(schema)) {
                // A schema whose name cannot make a topic was refused by the worker already.
                if copy.topic.write_topic(schema, &mut copy_topic).is_ok() {
                    push_as(&mut routed, &record, &copy_topic, outcome);
                    outcome = Outcome::Copy;
                }
            }
            if outcome == Outcome::Valid {
                skipped += 1;
            }
        }
        (routed, skipped)
    }
}

fn push_as(
    batch: &mut RecordBatch,
    record: &crate::record::batch::RecordRef<'_>,
    topic: &str,
    outcome: Outcome,
) {
    let meta = RecordMeta {
        topic,
        schema: record.schema,
        key: record.key,
        timestamp_ms: record.timestamp_ms,
        outcome,
    };
    batch.push_written(meta, |out| out.extend_from_slice(record.payload));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::OutputRecord;

    fn valid(schema: &str) -> OutputRecord {
        OutputRecord {
            topic: format!("eventlogging_{schema}"),
            payload: format!("{{\"schema\":\"{schema}\"}}").into_bytes(),
            timestamp_ms: Some(7),
            key: None,
            schema: Some(schema.to_owned()),
            outcome: Outcome::Valid,
        }
    }

    fn error(schema: &str) -> OutputRecord {
        OutputRecord {
            topic: "eventlogging_EventError".to_owned(),
            payload: b"{}".to_vec(),
            timestamp_ms: None,
            key: None,
            schema: Some(schema.to_owned()),
            outcome: Outcome::Error {
                reason: "validation",
            },
        }
    }

    fn routed(routes: &Routes, records: &[OutputRecord]) -> (Vec<(String, Outcome)>, u64) {
        let (batch, skipped) = routes.apply(RecordBatch::from(records));
        let out = batch
            .iter()
            .map(|r| (r.topic.to_owned(), r.outcome))
            .collect();
        (out, skipped)
    }

    #[test]
    fn without_routes_a_batch_is_unchanged() {
        let records = vec![valid("A"), error("B")];
        let (batch, skipped) = Routes::default().apply(RecordBatch::from(records.as_slice()));
        assert_eq!(batch.to_owned_records(), records);
        assert_eq!(skipped, 0);
    }

    #[test]
    fn disabled_schemas_are_skipped_but_their_errors_are_kept() {
        let routes = Routes::new(["Edit".to_owned()], None, Vec::new());
        let (out, skipped) = routed(&routes, &[valid("Edit"), valid("Popups"), error("Edit")]);
        assert_eq!(skipped, 1);
        assert_eq!(
            out,
            vec![
                ("eventlogging_Popups".to_owned(), Outcome::Valid),
                (
                    "eventlogging_EventError".to_owned(),
                    Outcome::Error {
                        reason: "validation"
                    }
                ),
            ]
        );
    }

    #[test]
    fn copies_follow_the_event_and_honour_their_exclusions() {
        let copy = CopyRoute::new("eventlogging-valid-mixed", Some("Nav|Edit$")).unwrap();
        let routes = Routes::new(Vec::new(), None, vec![copy]);
        let (out, skipped) = routed(
            &routes,
            &[
                valid("Popups"),
                valid("NavigationTiming"),
                valid("Edit"),
                valid("EditAttempt"),
            ],
        );
        assert_eq!(skipped, 0);
        assert_eq!(
            out,
            vec![
                ("eventlogging_Popups".to_owned(), Outcome::Valid),
                ("eventlogging-valid-mixed".to_owned(), Outcome::Copy),
                ("eventlogging_NavigationTiming".to_owned(), Outcome::Valid),
                ("eventlogging_Edit".to_owned(), Outcome::Valid),
                ("eventlogging_EditAttempt".to_owned(), Outcome::Valid),
                ("eventlogging-valid-mixed".to_owned(), Outcome::Copy),
            ]
        );
    }

    #[test]
    fn a_disabled_schema_still_reaches_a_copy_which_then_counts_as_the_event() {
        let copy = CopyRoute::new("mirror_{schema}", None).unwrap();
        let exclude = exclusion_pattern("Pop").ok();
        let routes = Routes::new(["Edit".to_owned()], exclude, vec![copy]);
        let (out, skipped) = routed(&routes, &[valid("Edit"), valid("Popups")]);
        assert_eq!(skipped, 0);
        assert_eq!(
            out,
            vec![
                ("mirror_Edit".to_owned(), Outcome::Valid),
                ("mirror_Popups".to_owned(), Outcome::Valid),
            ]
        );
    }

    #[test]
    fn bad_routes_are_refused_with_the_reason() {
        assert!(matches!(
            CopyRoute::new("bad topic", None),
            Err(RouteError::Topic(_))
        ));
        assert!(matches!(
            CopyRoute::new("t", Some("(")),
            Err(RouteError::Pattern(_))
        ));
    }
}
