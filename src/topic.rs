//! Topic names: the `eventlogging_{schema}` template and Kafka's topic-name rules.
//!
//! Kafka topic names are 1-249 characters of `[a-zA-Z0-9._-]`, and neither `.` nor `..`.
//! Legacy schema names may also contain `/` (e.g. `analytics/legacy/test`); it is mapped to `.`
//! (`eventlogging_analytics.legacy.test`). Any other character cannot occur: schema names are
//! checked against `^[./a-zA-Z0-9_-]{1,63}$` before routing.

use std::fmt;

/// Longest legal Kafka topic name.
pub const MAX_TOPIC_LENGTH: usize = 249;

/// A topic template with one `{schema}` placeholder, e.g. `eventlogging_{schema}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicTemplate {
    prefix: String,
    suffix: String,
}

/// Why a template or a topic name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError(pub String);

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TopicError {}

impl TopicTemplate {
    /// Parses a template. It must contain `{schema}` exactly once; the literal parts must be
    /// legal topic characters.
    pub fn parse(template: &str) -> Result<Self, TopicError> {
        const PLACEHOLDER: &str = "{schema}";
        let Some(at) = template.find(PLACEHOLDER) else {
            return Err(TopicError(format!(
                "topic template {template:?} has no {PLACEHOLDER} placeholder"
            )));
        };
        let prefix = &template[..at];
        let suffix = &template[at + PLACEHOLDER.len()..];
        if suffix.contains(PLACEHOLDER) {
            return Err(TopicError(format!(
                "topic template {template:?} has {PLACEHOLDER} more than once"
            )));
        }
        for part in [prefix, suffix] {
            if let Some(bad) = part.chars().find(|&c| !is_topic_char(c)) {
                return Err(TopicError(format!(
                    "topic template {template:?} contains {bad:?}; topic names allow only a-z A-Z 0-9 . _ -"
                )));
            }
        }
        Ok(TopicTemplate {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        })
    }

    /// The topic for `schema`, checked against Kafka's rules.
    pub fn topic_for(&self, schema: &str) -> Result<String, TopicError> {
        let mut topic = String::with_capacity(self.prefix.len() + schema.len() + self.suffix.len());
        topic.push_str(&self.prefix);
        topic.extend(schema.chars().map(|c| if c == '/' { '.' } else { c }));
        topic.push_str(&self.suffix);
        check_topic_name(&topic)?;
        Ok(topic)
    }
}

/// Whether `c` may appear in a Kafka topic name.
pub fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Checks a topic name against Kafka's rules.
pub fn check_topic_name(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() || topic == "." || topic == ".." {
        return Err(TopicError(format!("{topic:?} is not a legal topic name")));
    }
    if topic.len() > MAX_TOPIC_LENGTH {
        return Err(TopicError(format!(
            "topic name of {} characters is longer than Kafka's limit of {MAX_TOPIC_LENGTH}",
            topic.len()
        )));
    }
    if let Some(bad) = topic.chars().find(|&c| !is_topic_char(c)) {
        return Err(TopicError(format!(
            "topic name {topic:?} contains {bad:?}; topic names allow only a-z A-Z 0-9 . _ -"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template() {
        let t = TopicTemplate::parse("eventlogging_{schema}").unwrap();
        assert_eq!(t.topic_for("Echo").unwrap(), "eventlogging_Echo");
        assert_eq!(
            t.topic_for("analytics/legacy/test").unwrap(),
            "eventlogging_analytics.legacy.test"
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(TopicTemplate::parse("eventlogging").is_err());
        assert!(TopicTemplate::parse("a{schema}b{schema}").is_err());
        assert!(TopicTemplate::parse("event logging_{schema}").is_err());
        assert!(TopicTemplate::parse("{schema}").is_ok());
    }

    #[test]
    fn topic_rules() {
        let bare = TopicTemplate::parse("{schema}").unwrap();
        assert!(bare.topic_for("..").is_err());
        assert!(bare.topic_for(".").is_err());
        assert!(bare.topic_for("").is_err());
        assert!(bare.topic_for("a b").is_err());
        assert!(check_topic_name(&"x".repeat(249)).is_ok());
        assert!(check_topic_name(&"x".repeat(250)).is_err());
    }
}
