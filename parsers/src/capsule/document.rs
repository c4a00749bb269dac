//! The common legacy line built into a reusable [`Document`] instead of a `Value` tree.
//!
//! [`CapsuleParser::build_legacy_document`] handles the lines that need no judgement: the format
//! matches, the capsule decodes with the direct parser into an object, the client sent no member
//! named like a format field (so no caster runs on client values), and every line field casts
//! without error. The capsule it builds is the one [`CapsuleParser::build_legacy_capsule`] builds
//! (same members, same uuid; the user agent is left as the `null` placeholder and parsed by the
//! caller once the capsule is known to be valid). For every other line it returns `None`, and
//! the general path gives the result or the exact error, as before.

use serde_json::Value;

use super::{
    capsule_uuid_of, cast_line_value, small_unsigned, with_decoded_capsule, CapsuleParser,
    DecodedLine, DROPPED_KEYS,
};
use std::cmp::Ordering;

use crate::format::{FieldKind, MAX_FIELDS};
use crate::json::key_order::compare_keys;
use crate::json::{Document, JsonKind, NewValue, NodeRef};
use crate::useragent::UserAgentCache;

/// What [`CapsuleParser::build_legacy_document`] leaves to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentCapsule<'l> {
    /// The user agent as captured (`%u`), not parsed yet; the document holds the `null`
    /// placeholder under [`USER_AGENT_KEY`](super::USER_AGENT_KEY) for it.
    pub user_agent: Option<&'l str>,
}

/// What [`CapsuleParser::build_legacy_document`] made of a line.
#[derive(Debug)]
pub enum DocumentBuild<'l> {
    /// The legacy capsule is built in the document.
    Built(DocumentCapsule<'l>),
    /// The line decoded into an object that the general path must judge (an Event Platform
    /// event, client-sent format fields, or what the caller's predicate names): here it is,
    /// decoded as [`CapsuleParser::decode`] decodes it, so that it is not decoded twice.
    Decoded(Box<DecodedLine<'l>>),
    /// Anything else: the general path starts again from the line (and gives the error, if
    /// there is one).
    Unhandled,
}

impl CapsuleParser {
    /// Builds the legacy capsule of an ordinary `line` into `doc` (see the module docs).
    /// `needs_general_path` is asked about the decoded object before anything is added to it
    /// (e.g. whether the processor converts its schema).
    pub fn build_legacy_document<'l>(
        &self,
        line: &'l str,
        doc: &mut Document,
        user_agents: &mut UserAgentCache,
        now_unix_micros: i64,
        needs_general_path: impl FnOnce(NodeRef<'_>) -> bool,
    ) -> DocumentBuild<'l> {
        self.build_in_document(line, doc, user_agents, now_unix_micros, needs_general_path)
            .unwrap_or(DocumentBuild::Unhandled)
    }

    fn build_in_document<'l>(
        &self,
        line: &'l str,
        doc: &mut Document,
        user_agents: &mut UserAgentCache,
        now_unix_micros: i64,
        needs_general_path: impl FnOnce(NodeRef<'_>) -> bool,
    ) -> Option<DocumentBuild<'l>> {
        let captures = self.format.match_line(line)?;
        let fields = self.format.fields();
        let capsule_index = self.format.capsule_index();
        let capsule_kind = fields.get(capsule_index)?.kind;
        if !matches!(capsule_kind, FieldKind::Qson | FieldKind::Json) {
            return None;
        }
        let capsule_text = captures.get(capsule_index).unwrap_or_default();
        if !with_decoded_capsule(capsule_kind, capsule_text, |text| doc.parse(text)).ok()? {
            return None;
        }
        let root = doc.root()?;
        if root.kind() != JsonKind::Object {
            return None;
        }
        if root.get("$schema").is_some()
            || self.client_sent_a_field(root)
            || needs_general_path(root)
        {
            let Value::Object(object) = root.to_value() else {
                return None;
            };
            return Some(DocumentBuild::Decoded(Box::new(DecodedLine {
                object,
                captures,
            })));
        }
        // Values that need their own text (casters that rewrite it); the others are slices of
        // the line.
        let mut cast: [Option<Value>; MAX_FIELDS] = [const { None }; MAX_FIELDS];
        for (index, field) in fields.iter().enumerate() {
            let text = captures.get(index).unwrap_or_default();
            if index == capsule_index || !needs_cast(field.kind, text) {
                continue;
            }
            let value = cast_line_value(field, text, user_agents, &mut None).ok()?;
            *cast.get_mut(index)? = Some(value);
        }
        let mut user_agent = None;
        // The line fields, then the uuid's slot (last, so that it wins over a field of that
        // name, as the general path's later insert does); the uuid needs the merged capsule.
        let mut additions = [("", NewValue::Null); MAX_FIELDS + 1];
        let mut added = 0;
        for (index, field) in fields.iter().enumerate() {
            // A field named like a dropped key is removed after the line values are added, as
            // on the general path (its cast, above, must still succeed).
            if index == capsule_index
                || field.kind == FieldKind::Omit
                || DROPPED_KEYS.contains(&field.name.as_str())
            {
                continue;
            }
            let text = captures.get(index).unwrap_or_default();
            let value = match (field.kind, cast.get(index)) {
                (_, Some(Some(value))) => NewValue::Value(value),
                (FieldKind::UserAgent, _) => {
                    user_agent = Some(text);
                    NewValue::Null
                }
                (FieldKind::Int, _) => NewValue::Integer(int_digits(text)),
                _ => NewValue::String(text),
            };
            *additions.get_mut(added)? = (field.name.as_str(), value);
            added += 1;
        }
        *additions.get_mut(added)? = ("uuid", NewValue::Null);
        added += 1;
        doc.extend_root(&DROPPED_KEYS, additions.get(..added)?);
        let root = doc.root()?;
        let uuid = capsule_uuid_of(
            ["recvFrom", "seqId", "dt", "timestamp"].map(|key| root.get(key)),
            now_unix_micros,
        );
        doc.set_root_string("uuid", &uuid);
        Some(DocumentBuild::Built(DocumentCapsule { user_agent }))
    }

    /// Whether the client's capsule has a member named like a field of the format (then the
    /// field's caster must run on the client's value: the general path).
    fn client_sent_a_field(&self, capsule: NodeRef<'_>) -> bool {
        let mut names = self.field_names.iter().peekable();
        for (key, word, _) in capsule.members().with_words() {
            while let Some((name, name_word)) = names.peek() {
                match compare_keys(name, *name_word, key, word) {
                    Ordering::Less => {
                        names.next();
                    }
                    Ordering::Equal => return true,
                    Ordering::Greater => break,
                }
            }
            if names.peek().is_none() {
                return false;
            }
        }
        false
    }
}

/// Whether a line value of this kind is cast into a new value (rather than used as it is: a
/// string, or the digits of an integer that fits a `u64`, which are the integer's text).
fn needs_cast(kind: FieldKind, text: &str) -> bool {
    match kind {
        FieldKind::Str | FieldKind::Text | FieldKind::Omit | FieldKind::UserAgent => false,
        FieldKind::Int => small_unsigned(int_digits(text)).is_none(),
        FieldKind::NcsaTimestamp | FieldKind::IsoDateTime | FieldKind::Qson | FieldKind::Json => {
            true
        }
    }
}

/// An `Int` field's text without leading zeros (`0` for zeros only), as the caster reads it.
fn int_digits(text: &str) -> &str {
    let digits = text.trim_start_matches('0');
    if digits.is_empty() {
        "0"
    } else {
        digits
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{line, user_agents, CHROME, NOW};
    use super::super::USER_AGENT_KEY;
    use super::*;
    use crate::format::LineFormat;
    use proptest::prelude::*;

    /// Builds `text` both ways. When the document path takes the line, its capsule must be the
    /// general path's, byte for byte (user agent included). Returns whether it took the line.
    fn same_capsule(parser: &CapsuleParser, text: &str) -> Result<bool, TestCaseError> {
        let mut doc = Document::new();
        // A document that held another line before.
        doc.parse(r#"{"old":{"x":[1,2]},"schema":"Old"}"#);
        let mut cache = user_agents();
        let user_agent =
            match parser.build_legacy_document(text, &mut doc, &mut cache, NOW, |_| false) {
                DocumentBuild::Built(DocumentCapsule { user_agent }) => user_agent,
                DocumentBuild::Decoded(decoded) => {
                    // Handed over decoded: exactly what the general path's own decoding gives.
                    let expected = parser.decode(text).map(DecodedLine::into_object);
                    prop_assert_eq!(Ok(decoded.into_object()), expected, "{}", text);
                    return Ok(false);
                }
                DocumentBuild::Unhandled => return Ok(false),
            };
        let general = parser
            .decode(text)
            .and_then(|decoded| parser.build_legacy_capsule(decoded, &mut cache, NOW));
        let Ok(general) = general else {
            // The document path leaves the user agent to its caller, who falls back when it
            // does not parse; everything else must have built.
            let parsed = user_agent.map(|ua| cache.parse_rendered(ua));
            prop_assert!(
                matches!(parsed, Some(Err(_))),
                "document path took a line the general path rejects: {:?}",
                general.err()
            );
            return Ok(true);
        };
        let mut expected = Vec::new();
        general.write_json(&mut expected);
        let mut written = Vec::new();
        let root = doc.root();
        prop_assert!(root.is_some());
        if let Some(root) = root {
            match user_agent.map(|ua| cache.parse_rendered(ua)) {
                Some(Ok(parsed)) => {
                    root.write_json_substituting(&mut written, USER_AGENT_KEY, parsed.json())
                }
                Some(Err(error)) => prop_assert!(false, "user agent failed only here: {error}"),
                None => root.write_json(&mut written),
            }
        }
        prop_assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&expected),
            "{}",
            text
        );
        Ok(true)
    }

    fn default_parser() -> CapsuleParser {
        CapsuleParser::new(
            LineFormat::compile("%q %{recvFrom}s %{seqId}d %D %{ip}i %u").expect("compiles"),
        )
    }

    #[test]
    fn ordinary_lines_take_the_document_path_and_build_the_same_capsule() {
        let parser = default_parser();
        for capsule in [
            r#"{"event":{"a":"x\"y","n":[1,2.50,{"k":null}]},"revision":1,"schema":"Echo","wiki":"enwiki"}"#,
            r#"{"wiki":"enwiki","schema":"Echo","revision":1,"event":{"b":1,"a":2}}"#,
            r#"{"schema":"Echo","uuid":"client-sent","clientValidated":true,"isTruncated":false}"#,
            r#"{"schema":"Echo","schema":"Echo2","webHost":"x\u00e9"}"#,
            r#"{}"#,
        ] {
            let text = line(capsule, CHROME);
            assert_eq!(
                same_capsule(&parser, &text).map_err(|e| e.to_string()),
                Ok(true),
                "{capsule}"
            );
        }
        // A format field named like a dropped key: dropped from the line values too.
        let dropping = CapsuleParser::new(
            LineFormat::compile("%q %{recvFrom}s %{seqId}d %D %{isTruncated}i %u")
                .expect("compiles"),
        );
        let text = line(r#"{"schema":"Echo","wiki":"enwiki"}"#, CHROME);
        assert_eq!(
            same_capsule(&dropping, &text).map_err(|e| e.to_string()),
            Ok(true)
        );
    }

    #[test]
    fn the_callers_predicate_hands_the_decoded_line_over() {
        let parser = default_parser();
        let text = line(r#"{"schema":"Echo","wiki":"enwiki"}"#, CHROME);
        let mut doc = Document::new();
        let built =
            parser.build_legacy_document(&text, &mut doc, &mut user_agents(), NOW, |root| {
                root.get("schema").and_then(NodeRef::as_str) == Some("Echo")
            });
        let DocumentBuild::Decoded(decoded) = built else {
            panic!("not handed over: {built:?}");
        };
        assert_eq!(
            Ok(decoded.into_object()),
            parser.decode(&text).map(DecodedLine::into_object)
        );
    }

    #[test]
    fn lines_that_need_judgement_take_the_general_path() {
        let parser = default_parser();
        for capsule in [
            // Client-sent format fields: their casters run on the client's values.
            r#"{"schema":"Echo","dt":"2019-12-20T10:11:12"}"#,
            r#"{"schema":"Echo","seqId":"12"}"#,
            r#"{"schema":"Echo","userAgent":"curl/7.64.0"}"#,
            // Event Platform events.
            r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"test"}}"#,
            // Not an object, not JSON.
            r#"[1,2]"#,
            r#"{"schema":"Echo""#,
        ] {
            let text = line(capsule, CHROME);
            assert_eq!(
                same_capsule(&parser, &text).map_err(|e| e.to_string()),
                Ok(false),
                "{capsule}"
            );
        }
        // A line value that does not cast, a line that does not match.
        let bad_dt = line(r#"{"schema":"Echo"}"#, CHROME)
            .replace("2019-12-20T10:11:12", "2019-13-20T10:11:12");
        assert_eq!(
            same_capsule(&parser, &bad_dt).map_err(|e| e.to_string()),
            Ok(false)
        );
        assert_eq!(
            same_capsule(&parser, "no tabs here").map_err(|e| e.to_string()),
            Ok(false)
        );
    }

    fn member() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            12 => "[a-e]{1,3}",
            1 => Just("schema".to_owned()),
            1 => Just("revision".to_owned()),
            1 => Just("uuid".to_owned()),
            1 => Just("timestamp".to_owned()),
            1 => Just("clientValidated".to_owned()),
            1 => Just("meta".to_owned()),
            1 => Just("dt".to_owned()),
            1 => Just("recvFrom".to_owned()),
        ];
        let value = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?",
            "\"([a-z ]|\\\\[\"\\\\/nt]|\\\\u00e9){0,8}\"",
            Just(r#"{"b":[1,{"a":"x"}],"a":1}"#.to_owned()),
            Just("\"2019-12-20T10:11:12Z\"".to_owned()),
        ];
        (key, value).prop_map(|(key, value)| format!("\"{key}\":{value}"))
    }

    /// Generated lines: capsules with members named like format fields, dropped keys, `uuid`,
    /// `meta`, odd numbers and escapes; line values that do and do not cast; user agents that do
    /// and do not parse; three formats (the index into [`FORMATS`]).
    fn generated_line() -> impl Strategy<Value = (usize, String)> {
        (
            prop::collection::vec(member(), 0..8),
            "0{0,2}[0-9]{1,22}",
            prop_oneof![
                4 => Just("2019-12-20T10:11:12".to_owned()),
                1 => Just("2019-12-20T10:11:12.5Z".to_owned()),
                1 => Just("not a time".to_owned()),
            ],
            prop_oneof![
                Just(CHROME.to_owned()),
                Just("-".to_owned()),
                "\"[a-zA-Z/ .0-9]{0,30}\""
            ],
            0..FORMATS.len(),
        )
            .prop_map(|(members, seq_id, dt, user_agent, format)| {
                let capsule = format!("{{{}}}", members.join(","));
                let text = line(&capsule, &user_agent)
                    .replace("0012345678", &seq_id)
                    .replace("2019-12-20T10:11:12\t", &format!("{dt}\t"));
                (format, text)
            })
    }

    /// Formats of the generated lines (same fields, the fifth read differently).
    const FORMATS: [&str; 3] = [
        "%q %{recvFrom}s %{seqId}d %D %{ip}i %u",
        "%q %{recvFrom}s %{seqId}d %D %o %u",
        "%q %{recvFrom}s %{seqId}d %D %{clientValidated}i %u",
    ];

    #[test]
    fn the_document_path_builds_the_general_paths_capsule() {
        let parsers = FORMATS
            .map(|format| CapsuleParser::new(LineFormat::compile(format).expect("compiles")));
        let mut runner = proptest::test_runner::TestRunner::default();
        let taken = std::cell::Cell::new(0_u32);
        let cases = std::cell::Cell::new(0_u32);
        let result = runner.run(&generated_line(), |(format, text)| {
            let parser = &parsers[format];
            cases.set(cases.get() + 1);
            let took = same_capsule(parser, &text)?;
            taken.set(taken.get() + u32::from(took));
            Ok(())
        });
        let (taken, cases) = (taken.get(), cases.get());
        if let Err(error) = result {
            panic!("{error}");
        }
        // The property means something only if many lines take the document path.
        assert!(
            taken * 4 > cases,
            "{taken} of {cases} lines took the document path"
        );
    }
}
