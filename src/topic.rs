//! Topic names: the `eventlogging_{schema}` template and Kafka's topic-name rules.
//!
//! Kafka topic names are 1-249 characters of `[a-zA-Z0-9._-]`, and neither `.` nor `..`.
//! Legacy schema names may also contain `/` (e.g. `analytics/legacy/test`); it is mapped to `.`
//! (`eventlogging_analytics.legacy.test`). Any other character cannot occur: schema names are
//! checked against `^[./a-zA-Z0-9_-]{1,63}$` before routing.

use std::fmt;

/// Longest legal Kafka topic name.
pub const MAX_TOPIC_LENGTH: usize = 249;

/// A topic template with one `{schema}` placeholder, e.g. `eventlogging_{schema}`, or (for
/// further outputs, [`parse_fixed_or_template`](TopicTemplate::parse_fixed_or_template)) a
/// fixed topic name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicTemplate {
    prefix: String,
    /// `None`: a fixed topic, `prefix`.
    suffix: Option<String>,
}

impl fmt::Display for TopicTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.suffix {
            Some(suffix) => write!(f, "{}{{schema}}{suffix}", self.prefix),
            None => f.write_str(&self.prefix),
        }
    }
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
            suffix: Some(suffix.to_owned()),
        })
    }

    /// Parses a template with `{schema}`, or a fixed topic name without it.
    pub fn parse_fixed_or_template(text: &str) -> Result<Self, TopicError> {
        if text.contains('{') {
            return Self::parse(text);
        }
        check_topic_name(text)?;
        Ok(TopicTemplate {
            prefix: text.to_owned(),
            suffix: None,
        })
    }

    /// The topic for `schema`, checked against Kafka's rules.
    pub fn topic_for(&self, schema: &str) -> Result<String, TopicError> {
        let mut topic = String::new();
        self.write_topic(schema, &mut topic)?;
        Ok(topic)
    }

    /// Writes the topic for `schema` into `topic` (replacing its content), checked against
    /// Kafka's rules.
    pub fn write_topic(&self, schema: &str, topic: &mut String) -> Result<(), TopicError> {
        topic.clear();
        topic.push_str(&self.prefix);
        let Some(suffix) = &self.suffix else {
            return Ok(());
        };
        topic.extend(schema.chars().map(|c| if c == '/' { '.' } else { c }));
        topic.push_str(suffix);
        check_topic_name(topic)
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
    fn fixed_topics_for_further_outputs() {
        let fixed = TopicTemplate::parse_fixed_or_template("eventlogging-valid-mixed").unwrap();
        assert_eq!(fixed.topic_for("Echo").unwrap(), "eventlogging-valid-mixed");
        let template = TopicTemplate::parse_fixed_or_template("mirror_{schema}").unwrap();
        assert_eq!(template.topic_for("Echo").unwrap(), "mirror_Echo");
        assert!(TopicTemplate::parse_fixed_or_template("bad topic").is_err());
        assert!(TopicTemplate::parse_fixed_or_template("x_{meta[topic]}").is_err());
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
