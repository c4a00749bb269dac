//! Property tests of the parsers crate on arbitrary input (issue 8, part 1). They complement the
//! per-module properties in `src/qson.rs`, `src/format.rs` and `src/datetime.rs`:
//!
//! - **never panic**: arbitrary bytes, read the way the processor reads its input (UTF-8 with
//!   invalid sequences replaced), through every public parser, including whole lines through the
//!   capsule builder for every production line format, and arbitrary format strings;
//! - **QSON round trip**: `decode("?" + encodeURIComponent(JSON.stringify(object)) + ";")`, then
//!   JSON parsing, gives back exactly the object (big numbers and any Unicode included), on its own
//!   and inside a whole production line;
//! - **format matcher**: every production format captures arbitrary field values exactly, whatever
//!   Python-whitespace run separates them;
//! - **percent-decoding**: QSON decoding agrees with `application/x-www-form-urlencoded` decoding
//!   (the `form_urlencoded` crate) on `+` and `%XX`, including where the result is not UTF-8;
//! - the regression inputs found by fuzzing (`fuzz/`, see `docs/FUZZING.md`).

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use beacon_parsers::capsule::{CapsuleError, CapsuleParser};
use beacon_parsers::format::{FieldKind, LineFormat, MAX_FIELDS};
use beacon_parsers::json::{self, JsonError};
use beacon_parsers::qson::{self, encode_uri_component, QsonError};
use beacon_parsers::useragent::{UserAgentCache, UserAgentParser};
use beacon_parsers::{datetime, python, scid};

/// The production format since 2018 (reference §1.2).
const PRODUCTION: &str = "%q %{recvFrom}s %{seqId}d %D %{ip}i %u";

/// Every processor format of reference §1.2 this implementation accepts (the 2014 one used `%h`,
/// which is gone, and is replaced by its 2016 successor with `%o`).
const PRODUCTION_FORMATS: [&str; 5] = [
    PRODUCTION,
    "%q %{recvFrom}s %{seqId}d %D %o %u",
    "%q %{recvFrom}s %{seqId}d %t %o %{userAgent}i",
    "%q %{recvFrom}s %{seqId}d %t %{ip}i %{userAgent}i",
    "%{seqId}d EventLogging %j",
];

/// A fixed "now" for capsules without `dt` (2026-11-01T00:00:00Z).
const NOW_UNIX_MICROS: i64 = 1_793_491_200_000_000;

fn compile(format: &str) -> LineFormat {
    match LineFormat::compile(format) {
        Ok(compiled) => compiled,
        Err(error) => panic!("{format:?} does not compile: {error}"),
    }
}

/// The built-in user-agent parser, built once (it takes a few hundred milliseconds).
fn user_agent_parser() -> Arc<UserAgentParser> {
    static PARSER: OnceLock<Arc<UserAgentParser>> = OnceLock::new();
    PARSER
        .get_or_init(|| match UserAgentParser::builtin() {
            Ok(parser) => Arc::new(parser),
            Err(error) => panic!("built-in user-agent parser: {error}"),
        })
        .clone()
}

fn user_agent_cache() -> UserAgentCache {
    UserAgentCache::new(user_agent_parser(), 64)
}

/// Exactly the characters for which Python's `str.isspace()` is true (what `\s` means in the
/// reference's `str` regexes), written out independently of the crate's own definitions.
fn is_python_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\u{b}'
            | '\u{c}'
            | '\r'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'
            | '\u{2001}'
            | '\u{2002}'
            | '\u{2003}'
            | '\u{2004}'
            | '\u{2005}'
            | '\u{2006}'
            | '\u{2007}'
            | '\u{2008}'
            | '\u{2009}'
            | '\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Everything the parsers crate offers for one raw line: none of it may panic, whatever the line.
fn exercise_every_parser(raw: &[u8], user_agents: &mut UserAgentCache) {
    let line = String::from_utf8_lossy(raw);
    let _ = qson::decode(&line);
    let _ = json::parse_value(&line);
    let _ = json::parse_object(&line);
    let _ = datetime::normalize_line_dt(&line);
    let _ = datetime::ncsa_to_unix(&line);
    let _ = datetime::iso_to_unix_millis(&line);
    let _ = datetime::normalize_dt(&Value::String(line.to_string()));
    let _ = scid::recover_from_raw_line(&line);
    let _ = scid::is_valid_schema_name(&line);
    let _ = user_agents.parse(&line);
    if let Ok(value) = json::parse_value(&line) {
        let _ = python::py_str(&value);
        let _ = python::py_int(&value);
        let _ = datetime::normalize_dt(&value);
        let _ = datetime::unix_value_to_iso(&value);
    }
    for format in PRODUCTION_FORMATS {
        let parser = CapsuleParser::new(compile(format));
        if let Ok(decoded) = parser.decode(&line) {
            if let Ok(context) = parser.line_context(&decoded) {
                let _ = context.event_id();
                let _ = context.user_agent_unquoted();
            }
        }
        let _ = parser.parse(&line, user_agents, NOW_UNIX_MICROS);
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Bytes that are mostly the raw material of beacon lines: percent escapes, separators, digits,
/// JSON punctuation, multi-byte and invalid UTF-8.
fn line_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop_oneof![
        Just(b"?".to_vec()),
        Just(b";".to_vec()),
        Just(b"\t".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"%".to_vec()),
        Just(b"+".to_vec()),
        Just(b"%7B".to_vec()),
        Just(b"%7D".to_vec()),
        Just(b"%22".to_vec()),
        Just(b"%3A".to_vec()),
        Just(b"%2C".to_vec()),
        Just(b"%C3%A9".to_vec()),
        Just(b"%C3%28".to_vec()),
        Just(b"%ED%A0%BD".to_vec()),
        Just(b"%22schema%22%3A%22".to_vec()),
        Just(b"%22revision%22%3A".to_vec()),
        Just(b"%22dt%22%3A".to_vec()),
        Just(b"%22userAgent%22%3A".to_vec()),
        Just(b"%22seqId%22%3A".to_vec()),
        Just(b"%22%24schema%22%3A%22%2F".to_vec()),
        Just(b"2019-12-20T10:11:12".to_vec()),
        Just(b"\"Mozilla/5.0\"".to_vec()),
        Just(b"WikipediaApp/".to_vec()),
        Just("\u{a0}\u{2028}\u{85}".as_bytes().to_vec()),
        Just(vec![0xff, 0xc3]),
        "[0-9]{1,30}".prop_map(String::into_bytes),
        "[a-zA-Z.-]{1,12}".prop_map(String::into_bytes),
        vec(any::<u8>(), 1..4),
    ];
    vec(pieces, 0..40).prop_map(|pieces| pieces.concat())
}

/// A JSON number whose text survives serialisation and parsing verbatim (`arbitrary_precision`).
fn json_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        // Integers far beyond 64 bits, and decimals with exponents, kept as their text.
        "-?[1-9][0-9]{19,60}|-?[0-9]\\.[0-9]{1,30}[eE][+-]?[0-9]{1,2}".prop_filter_map(
            "a JSON number",
            |text| serde_json::from_str::<Number>(&text).ok()
        ),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number().prop_map(Value::Number),
        any::<String>().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(any::<String>(), inner, 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Arbitrary JSON objects (capsules): any keys, any values, nested up to four levels.
fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(any::<String>(), json_value(), 0..8).prop_map(|entries| entries.into_iter().collect())
}

/// Every Python whitespace character (`str.isspace()`), the same set as [`is_python_space`].
const PYTHON_SPACES: [char; 29] = [
    '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', ' ', '\u{85}',
    '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}',
    '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}',
    '\u{205f}', '\u{3000}',
];

/// A non-empty run of Python whitespace.
fn whitespace_run() -> impl Strategy<Value = String> {
    vec(prop::sample::select(PYTHON_SPACES.to_vec()), 1..4)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Characters that are not Python whitespace.
fn non_space_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("not whitespace", |c| !is_python_space(*c))
}

fn non_space_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    vec(non_space_char(), min..max).prop_map(|chars| chars.into_iter().collect())
}

/// A `[^\t]+` value that follows a whitespace run: it starts with a non-whitespace character
/// (otherwise the run before it would take that character), then anything but TAB, including
/// spaces, newlines and trailing whitespace.
fn text_value() -> impl Strategy<Value = String> {
    (
        non_space_char(),
        vec(any::<char>().prop_filter("not TAB", |c| *c != '\t'), 0..30),
    )
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect())
}

/// A value matching `kind`'s regex, as a field after a whitespace run would capture it.
fn field_value(kind: FieldKind) -> BoxedStrategy<String> {
    match kind {
        FieldKind::Qson => non_space_text(1, 40)
            .prop_map(|text| format!("?{text}"))
            .boxed(),
        FieldKind::Json | FieldKind::Str | FieldKind::Omit => non_space_text(1, 30).boxed(),
        FieldKind::Text | FieldKind::UserAgent => text_value().boxed(),
        FieldKind::Int => "[0-9]{1,40}".boxed(),
        FieldKind::NcsaTimestamp | FieldKind::IsoDateTime => {
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}".boxed()
        }
    }
}

/// One space-separated item of a format string: a field, or literal text.
#[derive(Debug, Clone, Copy)]
enum FormatItem<'f> {
    Field(FieldKind),
    Literal(&'f str),
}

/// The items of a format made only of single-space-separated specifiers and literal words.
fn format_items(format: &str) -> Vec<FormatItem<'_>> {
    format
        .split(' ')
        .map(|word| {
            match word
                .strip_prefix('%')
                .and_then(|spec| spec.chars().last())
                .and_then(FieldKind::from_letter)
            {
                Some(kind) => FormatItem::Field(kind),
                None => FormatItem::Literal(word),
            }
        })
        .collect()
}

/// A line for one of [`PRODUCTION_FORMATS`]: the format index, the value of every item (literal
/// items keep their text) and the separators between items. A separator after a `[^\t]+` field
/// starts with a TAB (the field would take anything else), as in varnishkafka's lines.
fn production_line() -> impl Strategy<Value = (usize, Vec<String>, Vec<String>)> {
    (0..PRODUCTION_FORMATS.len()).prop_flat_map(|index| {
        let format = PRODUCTION_FORMATS.get(index).copied().unwrap_or(PRODUCTION);
        let items = format_items(format);
        let values: Vec<BoxedStrategy<String>> = items
            .iter()
            .map(|item| match item {
                FormatItem::Field(kind) => field_value(*kind),
                FormatItem::Literal(text) => Just((*text).to_owned()).boxed(),
            })
            .collect();
        let separators: Vec<BoxedStrategy<String>> = items
            .iter()
            .take(items.len().saturating_sub(1))
            .map(|item| match item {
                FormatItem::Field(FieldKind::Text | FieldKind::UserAgent) => prop_oneof![
                    Just("\t".to_owned()),
                    whitespace_run().prop_map(|run| format!("\t{run}")),
                ]
                .boxed(),
                _ => whitespace_run().boxed(),
            })
            .collect();
        (Just(index), values, separators)
    })
}

/// Input for the form-urlencoded comparison: no `&` or `=` (which separate pairs there).
fn query_body() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^&=]{0,60}",
        "[%+?;0-9a-fA-FgGzZ \u{e9}\u{2606}\u{fffd}]{0,60}",
        // Escapes of arbitrary bytes (valid or invalid UTF-8), in either case, with text around.
        vec((any::<u8>(), any::<bool>(), "[a-z+%]{0,2}"), 0..20).prop_map(|escapes| {
            escapes
                .into_iter()
                .map(|(byte, lower, text)| {
                    if lower {
                        format!("%{byte:02x}{text}")
                    } else {
                        format!("%{byte:02X}{text}")
                    }
                })
                .collect()
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(raw in vec(any::<u8>(), 0..400)) {
        exercise_every_parser(&raw, &mut user_agent_cache());
    }

    #[test]
    fn line_like_bytes_never_panic(raw in line_like_bytes()) {
        exercise_every_parser(&raw, &mut user_agent_cache());
    }

    #[test]
    fn mutated_production_lines_never_panic(
        object in json_object(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..8),
    ) {
        let json = serde_json::to_string(&object).unwrap_or_default();
        let line = format!(
            "?{};\tcp3030.esams.wmnet\t12345\t2019-12-20T10:11:12\t192.0.2.1\t\"Mozilla/5.0\"",
            encode_uri_component(&json)
        );
        let mut raw = line.into_bytes();
        for (at, byte, edit) in edits {
            let at = at.index(raw.len().saturating_add(1));
            match edit {
                0 => raw.insert(at, byte),
                1 if at < raw.len() => {
                    raw.remove(at);
                }
                _ => raw.truncate(at),
            }
        }
        exercise_every_parser(&raw, &mut user_agent_cache());
    }

    #[test]
    fn arbitrary_formats_compile_or_fail_cleanly_and_match_anything(
        format in prop_oneof![
            any::<String>(),
            vec(
                prop::sample::select(vec![
                    "%q", "%j", "%{a}s", "%{b}i", "%{c}d", "%t", "%D", "%u", "%o", "%%", "%",
                    "%{", "}", " ", "\t", "x", ".", "%{seqId}d", "%{9}s", "%{a}q",
                ]),
                0..24,
            )
            .prop_map(|parts| parts.concat()),
        ],
        raw in line_like_bytes(),
    ) {
        match LineFormat::compile(&format) {
            Ok(compiled) => {
                prop_assert!(compiled.fields().len() <= MAX_FIELDS);
                let capsule = compiled.fields().get(compiled.capsule_index());
                prop_assert!(capsule.is_some_and(|field| field.kind.is_capsule()));
                let line = String::from_utf8_lossy(&raw);
                if let Some(captures) = compiled.match_line(&line) {
                    prop_assert_eq!(captures.len(), compiled.fields().len());
                }
                let parser = CapsuleParser::new(compiled);
                let _ = parser.parse(&line, &mut user_agent_cache(), NOW_UNIX_MICROS);
            }
            Err(error) => {
                prop_assert_eq!(error.format(), format.as_str());
                prop_assert!(error.column() >= 1);
                prop_assert!(error.column() <= format.chars().count() + 1);
                prop_assert!(!error.message().is_empty());
            }
        }
    }

    #[test]
    fn qson_of_encode_uri_component_json_round_trips(object in json_object(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&object)
        } else {
            serde_json::to_string(&object)
        };
        let text = text.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let captured = format!("?{};", encode_uri_component(&text));
        let decoded = qson::decode(&captured);
        prop_assert_eq!(decoded.as_deref(), Ok(text.as_str()));
        prop_assert_eq!(json::parse_object(&text), Ok(object.clone()));

        // The same object inside a whole production line comes out of the capsule decoder.
        let line = format!(
            "{captured}\tcp3030.esams.wmnet\t12345\t2019-12-20T10:11:12\t192.0.2.1\t\"Mozilla/5.0\""
        );
        let parser = CapsuleParser::new(compile(PRODUCTION));
        let from_line = parser.decode(&line).map(|decoded| decoded.into_object());
        prop_assert_eq!(from_line, Ok(object));
    }

    #[test]
    fn qson_of_a_json_value_that_is_not_an_object_is_a_not_object_error(value in json_value()) {
        prop_assume!(!value.is_object());
        let text = serde_json::to_string(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let captured = format!("?{};", encode_uri_component(&text));
        let decoded = qson::decode(&captured);
        prop_assert_eq!(decoded.as_deref(), Ok(text.as_str()));
        let expected = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            _ => "array",
        };
        prop_assert_eq!(json::parse_object(&text), Err(JsonError::NotObject { found: expected }));
    }

    #[test]
    fn production_formats_capture_arbitrary_field_values(
        (index, values, separators) in production_line(),
        trailing_newline in any::<bool>(),
    ) {
        let format = PRODUCTION_FORMATS.get(index).copied().unwrap_or(PRODUCTION);
        let items = format_items(format);
        let mut values = values;
        // File input keeps its `\n`; a trailing `[^\t]+` field keeps it too (reference §1.3).
        let last_takes_newline = matches!(
            items.last(),
            Some(FormatItem::Field(FieldKind::Text | FieldKind::UserAgent))
        );
        if trailing_newline && last_takes_newline {
            if let Some(last) = values.last_mut() {
                last.push('\n');
            }
        }
        let mut line = String::new();
        for (at, value) in values.iter().enumerate() {
            if let Some(separator) = at.checked_sub(1).and_then(|before| separators.get(before)) {
                line.push_str(separator);
            }
            line.push_str(value);
        }
        let expected: Vec<&str> = items
            .iter()
            .zip(&values)
            .filter(|(item, _)| matches!(item, FormatItem::Field(_)))
            .map(|(_, value)| value.as_str())
            .collect();
        let compiled = compile(format);
        let found = compiled.match_line(&line).map(|captures| captures.iter().collect::<Vec<_>>());
        prop_assert_eq!(found, Some(expected));
    }

    #[test]
    fn qson_percent_decoding_agrees_with_form_urlencoded(body in query_body()) {
        let captured = format!("?{body};");
        let trimmed = captured.trim_matches(|c| c == '?' || c == ';');
        let form = form_urlencoded::parse(trimmed.as_bytes())
            .next()
            .map(|(name, _)| name.into_owned())
            .unwrap_or_default();
        match qson::decode(&captured) {
            Ok(text) => prop_assert_eq!(text, Cow::<str>::Owned(form)),
            Err(QsonError::InvalidUtf8 { byte_offset }) => {
                // form_urlencoded replaces invalid UTF-8 (U+FFFD) where strict decoding fails.
                let replaced_from = form.get(byte_offset..);
                prop_assert!(
                    replaced_from.is_some_and(|rest| rest.starts_with('\u{fffd}')),
                    "{:?}: error at byte {} but form_urlencoded gives {:?}", body, byte_offset, form
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Examples of the properties with known values
// ---------------------------------------------------------------------------------------------

#[test]
fn the_whitespace_list_is_the_whitespace_predicate() {
    let listed: Vec<char> = ('\0'..=char::MAX).filter(|c| is_python_space(*c)).collect();
    assert_eq!(listed, PYTHON_SPACES);
}

#[test]
fn encode_uri_component_matches_javascript() {
    // Values from JavaScript: encodeURIComponent('{"a":"b c+d"}') and encodeURIComponent('☆').
    assert_eq!(
        encode_uri_component(r#"{"a":"b c+d"}"#),
        "%7B%22a%22%3A%22b%20c%2Bd%22%7D"
    );
    assert_eq!(encode_uri_component("\u{2606}"), "%E2%98%86");
    assert_eq!(encode_uri_component("-_.!~*'()"), "-_.!~*'()");
}

#[test]
fn big_integers_survive_the_qson_round_trip() {
    let captured = "?%7B%22n%22%3A123456789012345678901234567890%7D;";
    let object = qson::decode(captured)
        .map_err(CapsuleError::Decode)
        .and_then(|text| json::parse_object(&text).map_err(CapsuleError::Json));
    let number = object.map(|o| o.get("n").map(Value::to_string));
    assert_eq!(
        number,
        Ok(Some("123456789012345678901234567890".to_owned()))
    );
}

#[test]
fn form_urlencoded_and_qson_agree_on_the_reference_examples() {
    // Reference §2.2: `+` is a space, `%2B` a plus, invalid escapes stay, `%C3%28` is not UTF-8.
    let form = |text: &str| {
        form_urlencoded::parse(text.as_bytes())
            .next()
            .map(|(name, _)| name.into_owned())
    };
    assert_eq!(
        qson::decode("?%7B%22a%22%3A%22b+c%2Bd%22%7D;").as_deref(),
        Ok(r#"{"a":"b c+d"}"#)
    );
    assert_eq!(
        form("%7B%22a%22%3A%22b+c%2Bd%22%7D").as_deref(),
        Some(r#"{"a":"b c+d"}"#)
    );
    assert_eq!(qson::decode("?%zz%4;").as_deref(), Ok("%zz%4"));
    assert_eq!(form("%zz%4").as_deref(), Some("%zz%4"));
    assert_eq!(
        qson::decode("?a%C3%28;"),
        Err(QsonError::InvalidUtf8 { byte_offset: 1 })
    );
    assert_eq!(form("a%C3%28").as_deref(), Some("a\u{fffd}("));
}

#[test]
fn production_format_items_are_read_from_the_format() {
    let kinds: Vec<String> = format_items("%{seqId}d EventLogging %j")
        .into_iter()
        .map(|item| match item {
            FormatItem::Field(kind) => kind.letter().to_string(),
            FormatItem::Literal(text) => text.to_owned(),
        })
        .collect();
    assert_eq!(kinds, ["d", "EventLogging", "j"]);
}
