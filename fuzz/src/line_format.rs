//! The `line_format` target: the EventLogging line-format matcher.
//!
//! The whole input (UTF-8 with invalid sequences replaced, as the processor reads lines) is
//! matched against every format of [`DIFFERENTIAL_FORMATS`] and [`OTHER_FORMATS`]. For the
//! differential ones the captures must be exactly those of the reference's own regular expression
//! ([`LineFormat::regex_equivalent`]) run by the `regex` crate, whose leftmost-first semantics are
//! those of Python's backtracking `re.match`; `\s`/`\S` are given Python's whitespace set and `\d`
//! the ASCII digits (the documented deliberate difference). When the input contains a newline,
//! the text before the first one is also compiled as a format and the rest matched against it.
//! Every match must also have captures that are in order, disjoint, non-empty and fit their
//! field's class.

use std::sync::OnceLock;

use beacon_parsers::format::{FieldKind, FormatError, LineFormat, MAX_FIELDS};
use regex::Regex;

use crate::python_space::{is_python_space, PYTHON_SPACE_CLASS};

/// Formats checked against the reference's regular expression: the production formats of
/// reference §1.2 and shapes whose literal text is free of regex syntax.
pub const DIFFERENTIAL_FORMATS: [&str; 10] = [
    "%q %{recvFrom}s %{seqId}d %D %{ip}i %u",
    "%q %{recvFrom}s %{seqId}d %D %o %u",
    "%q %{recvFrom}s %{seqId}d %t %o %{userAgent}i",
    "%q %{recvFrom}s %{seqId}d %t %{ip}i %{userAgent}i",
    "%{seqId}d EventLogging %j",
    "%q %{a}i %{b}i %{c}i %{d}i",
    "%q\t%{a}i %o",
    "%q  %{n}d-%t",
    "%q%{a}s",
    "%j",
];

/// Formats only checked for the capture invariants (`%%` is one `%` here, but two in the
/// reference's regex; `é` and `x` literals after greedy fields).
pub const OTHER_FORMATS: [&str; 3] = ["%q %%%{x}i é %u", "%q %{a}i %{b}i %{c}i %{d}i x", "%j %u"];

/// A compiled format and, for the differential ones, the reference's regular expression.
struct CheckedFormat {
    format: LineFormat,
    reference: Option<Regex>,
}

fn checked_formats() -> &'static [CheckedFormat] {
    static FORMATS: OnceLock<Vec<CheckedFormat>> = OnceLock::new();
    FORMATS.get_or_init(|| {
        let differential = DIFFERENTIAL_FORMATS.iter().map(|source| {
            let format = compile(source);
            let reference = Some(reference_regex(&format));
            CheckedFormat { format, reference }
        });
        let others = OTHER_FORMATS.iter().map(|source| CheckedFormat {
            format: compile(source),
            reference: None,
        });
        differential.chain(others).collect()
    })
}

fn compile(source: &str) -> LineFormat {
    LineFormat::compile(source).unwrap_or_else(|e| panic!("fixed format {source:?}: {e}"))
}

/// The reference's regular expression for `format`, anchored at the start like `re.match`, with
/// Python's `\s`/`\S` and ASCII `\d`.
pub fn reference_regex(format: &LineFormat) -> Regex {
    let translated = format
        .regex_equivalent()
        .replace(r"\S", &format!("[^{PYTHON_SPACE_CLASS}]"))
        .replace(r"\s", &format!("[{PYTHON_SPACE_CLASS}]"))
        .replace(r"\d", "[0-9]");
    Regex::new(&format!(r"\A(?:{translated})"))
        .unwrap_or_else(|e| panic!("reference regex of {:?}: {e}", format.source()))
}

/// The `line_format` target.
pub fn check_line_formats(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for checked in checked_formats() {
        check_match(&checked.format, checked.reference.as_ref(), &text);
    }
    if let Some((format, line)) = text.split_once('\n') {
        match LineFormat::compile(format) {
            Ok(compiled) => check_match(&compiled, None, line),
            Err(error) => check_format_error(format, &error),
        }
    }
}

/// Matches `line` and checks the captures (against `reference` when given).
pub fn check_match(format: &LineFormat, reference: Option<&Regex>, line: &str) {
    let found = format
        .match_line(line)
        .map(|captures| captures.iter().collect::<Vec<_>>());
    if let Some(reference) = reference {
        let expected = reference.captures(line).map(|captures| {
            captures
                .iter()
                .skip(1)
                .map(|group| group.map_or("", |m| m.as_str()))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            found,
            expected,
            "format {:?} differs from its reference regex on {line:?}",
            format.source()
        );
    }
    if let Some(values) = found {
        check_captures(format, line, &values);
    }
}

/// Captures are slices of `line`, in field order, disjoint, non-empty, each fitting its field.
fn check_captures(format: &LineFormat, line: &str, values: &[&str]) {
    assert_eq!(values.len(), format.fields().len());
    assert!(values.len() <= MAX_FIELDS);
    let line_start = line.as_ptr() as usize;
    let line_end = line_start + line.len();
    let mut previous_end = line_start;
    for (value, field) in values.iter().zip(format.fields()) {
        let start = value.as_ptr() as usize;
        assert!(
            start >= previous_end && start + value.len() <= line_end,
            "capture {:?} of {:?} is out of order or outside the line",
            value,
            field.name
        );
        previous_end = start + value.len();
        assert!(!value.is_empty(), "empty capture for {:?}", field.name);
        let fits = match field.kind {
            FieldKind::Qson => value.starts_with('?') && !value.chars().any(is_python_space),
            FieldKind::Json | FieldKind::Str | FieldKind::Omit => {
                !value.chars().any(is_python_space)
            }
            FieldKind::Text | FieldKind::UserAgent => !value.contains('\t'),
            FieldKind::Int => value.bytes().all(|b| b.is_ascii_digit()),
            FieldKind::NcsaTimestamp | FieldKind::IsoDateTime => is_timestamp_shape(value),
        };
        assert!(fits, "{value:?} does not fit {:?}", field.kind);
    }
}

/// `dddd-dd-ddTdd:dd:dd`.
fn is_timestamp_shape(value: &str) -> bool {
    const SHAPE: &[u8] = b"0000-00-00T00:00:00";
    value.len() == SHAPE.len()
        && value.bytes().zip(SHAPE).all(|(byte, &shape)| {
            if shape == b'0' {
                byte.is_ascii_digit()
            } else {
                byte == shape
            }
        })
}

/// A rejected format reports itself and a column inside it (or just past its end).
fn check_format_error(format: &str, error: &FormatError) {
    assert_eq!(error.format(), format);
    assert!(error.column() >= 1 && error.column() <= format.chars().count() + 1);
    assert!(!error.message().is_empty());
    assert!(!error.to_string().is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_production_reference_regex_captures_like_python() {
        let format = compile(DIFFERENTIAL_FORMATS[0]);
        let regex = reference_regex(&format);
        // Reference §1.3 [observed]: with spaces instead of TABs the ip group swallows most of the
        // user agent.
        let line = "?x cp1 1 2019-12-20T10:11:12 192.0.2.1 \"Mozilla/5.0 (X11) Safari/537.36\"";
        let captures: Vec<&str> = regex
            .captures(line)
            .map(|c| c.iter().skip(1).flatten().map(|m| m.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            captures,
            [
                "?x",
                "cp1",
                "1",
                "2019-12-20T10:11:12",
                "192.0.2.1 \"Mozilla/5.0 (X11)",
                "Safari/537.36\""
            ]
        );
        check_match(&format, Some(&regex), line);
    }

    #[test]
    fn every_fixed_format_compiles() {
        assert_eq!(
            checked_formats().len(),
            DIFFERENTIAL_FORMATS.len() + OTHER_FORMATS.len()
        );
    }
}
