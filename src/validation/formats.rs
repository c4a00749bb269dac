//! `format` checks that replace or add to the JSON-Schema library's own, so that Event Platform
//! schemas of draft 7 and before are checked as EventGate checked them: with AJV v6's
//! `format: 'fast'` (eventgate.md §2.4; the expressions of AJV 6.12.6, `lib/compile/formats.js`).
//!
//! - `date`, `time`, `date-time`: AJV's fast forms check digit classes, not ranges
//!   (`2026-11-01 00:00:00Z` with a space, `+0100` and `+01` offsets pass; so does month `19`),
//!   where the library follows RFC 3339 strictly. Events EventGate accepted are accepted here.
//! - `uri`, `uri-reference`: AJV's fast forms refuse whitespace (and a leading `\`), not
//!   characters RFC 3986 wants percent-encoded: browsers' `location.href` keeps `[`, `]`, `|`, `^`
//!   or `{` unencoded in some URLs, and EventGate accepted those events.
//! - `uuid`: AJV checks it in draft-04/06/07 schemas, which the library only knows from 2019-09 on.
//!
//! The other formats (`email`, `hostname`, `ipv4`, `ipv6`, `regex`, …) stay the library's.
//!
//! Written out rather than as regular expressions: JavaScript's `\s` (the whitespace these
//! expressions refuse) and its ASCII-only case-insensitivity are spelled out exactly here, and
//! the checks are cheap: `meta.uri` of `benches/intake.rs`'s events costs 308 instructions here
//! against 666 for the library's RFC 3986 check (callgrind).

/// A `format` this project checks itself: its name and its check (true: valid). A format
/// applies to strings only; other values pass.
#[derive(Debug, Clone, Copy)]
pub struct KnownFormat {
    /// The `format` keyword's value.
    pub name: &'static str,
    /// Whether a string has the format.
    pub check: fn(&str) -> bool,
}

/// AJV v6's fast formats, for schemas of draft 7 and before: registered with the library
/// (`with_format`) and checked directly by the quick validator, so both give one verdict.
pub const AJV_FORMATS: &[KnownFormat] = &[
    KnownFormat {
        name: "uuid",
        check: is_ajv_uuid,
    },
    KnownFormat {
        name: "date",
        check: is_ajv_date,
    },
    KnownFormat {
        name: "time",
        check: is_ajv_time,
    },
    KnownFormat {
        name: "date-time",
        check: is_ajv_date_time,
    },
    KnownFormat {
        name: "uri",
        check: is_ajv_uri,
    },
    KnownFormat {
        name: "uri-reference",
        check: is_ajv_uri_reference,
    },
];

/// AJV v6's `uuid` format: optional `urn:uuid:` prefix, then `8-4-4-4-12` hexadecimal digits,
/// case-insensitive.
pub fn is_ajv_uuid(value: &str) -> bool {
    let value = match value.get(..9) {
        Some(prefix) if prefix.eq_ignore_ascii_case("urn:uuid:") => value.get(9..).unwrap_or(""),
        _ => value,
    };
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}

/// JavaScript's `\s`: ECMAScript WhiteSpace and LineTerminator characters.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// Whether `value` has a JavaScript `\s` character: printable ASCII is checked a byte at a time
/// (what URIs and timestamps are made of), characters are decoded only past it.
fn has_js_whitespace(value: &str) -> bool {
    // Without an early exit, so that it compiles to vector instructions.
    let printable_ascii = value.bytes().fold(true, |printable, byte| {
        printable & (byte > b' ') & (byte < 0x7F)
    });
    !printable_ascii && value.chars().any(is_js_whitespace)
}

fn digit(byte: u8) -> bool {
    byte.is_ascii_digit()
}

/// `\d\d\d\d-[0-1]\d-[0-3]\d`.
fn is_fast_date(date: &[u8]) -> bool {
    matches!(date, [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2]
        if digit(*y1) && digit(*y2) && digit(*y3) && digit(*y4)
            && matches!(m1, b'0'..=b'1') && digit(*m2)
            && matches!(d1, b'0'..=b'3') && digit(*d2))
}

/// `(?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?)`, the zone
/// optional unless `zone_required`, case-insensitive.
fn is_fast_time(time: &[u8], zone_required: bool) -> bool {
    let Some((clock, rest)) = time.split_first_chunk::<8>() else {
        return false;
    };
    let clock_ok = matches!(clock, [h1, h2, b':', m1, m2, b':', s1, s2]
        if matches!(h1, b'0'..=b'2') && digit(*h2)
            && matches!(m1, b'0'..=b'5') && digit(*m2)
            && matches!(s1, b'0'..=b'5') && digit(*s2))
        || clock == b"23:59:60";
    if !clock_ok {
        return false;
    }
    let rest = match rest.split_first() {
        Some((b'.', fraction)) => {
            let digits = fraction.iter().take_while(|byte| digit(**byte)).count();
            if digits == 0 {
                return false;
            }
            fraction.get(digits..).unwrap_or_default()
        }
        _ => rest,
    };
    match rest {
        [] => !zone_required,
        [b'z' | b'Z'] => true,
        [b'+' | b'-', h1, h2, minutes @ ..] if digit(*h1) && digit(*h2) => match minutes {
            [] => true,
            [m1, m2] | [b':', m1, m2] => digit(*m1) && digit(*m2),
            _ => false,
        },
        _ => false,
    }
}

/// AJV v6's fast `date`: `YYYY-MM-DD` by digit classes (month `[0-1]\d`, day `[0-3]\d`).
pub fn is_ajv_date(value: &str) -> bool {
    is_fast_date(value.as_bytes())
}

/// AJV v6's fast `time`: `HH:MM:SS` (or `23:59:60`), an optional fraction and an optional zone
/// (`Z`, `±HH`, `±HHMM`, `±HH:MM`).
pub fn is_ajv_time(value: &str) -> bool {
    is_fast_time(value.as_bytes(), false)
}

/// AJV v6's fast `date-time`: a fast `date`, `T` (any case) or a whitespace character, then a
/// fast `time` whose zone is required.
pub fn is_ajv_date_time(value: &str) -> bool {
    let (Some(date), Some(rest)) = (value.as_bytes().get(..10), value.get(10..)) else {
        return false;
    };
    let mut after_date = rest.chars();
    let separator_ok = after_date
        .next()
        .is_some_and(|c| c == 'T' || c == 't' || is_js_whitespace(c));
    separator_ok && is_fast_date(date) && is_fast_time(after_date.as_str().as_bytes(), true)
}

/// AJV v6's fast `uri`: a scheme (`[a-z][a-z0-9+.-]*:`, any case), then no whitespace.
pub fn is_ajv_uri(value: &str) -> bool {
    let scheme_end = value
        .bytes()
        .position(|byte| !(byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.')));
    let scheme_ok = scheme_end.is_some_and(|end| {
        end > 0
            && value.as_bytes().get(end) == Some(&b':')
            && value
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_alphabetic)
    });
    scheme_ok && !has_js_whitespace(value)
}

/// AJV v6's fast `uri-reference`: no whitespace, not starting with `\`, and no `\` after
/// the first `#`. (Its expression,
/// `^(?:(?:[a-z][a-z0-9+\-.]*:)?\/?\/)?(?:[^\\\s#][^\s#]*)?(?:#[^\\\s]*)?$`, allows nothing else:
/// whatever precedes the `#` matches with an empty prefix unless it starts with `\`.)
pub fn is_ajv_uri_reference(value: &str) -> bool {
    let (before, fragment) = match value.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (value, None),
    };
    !has_js_whitespace(value)
        && !before.starts_with('\\')
        && !fragment.is_some_and(|fragment| fragment.contains('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn uuid_like_ajv() {
        for valid in [
            "5e1dd101-641c-11e8-ab6c-b083fecf1287",
            "5E1DD101-641C-11E8-AB6C-B083FECF1287",
            "urn:uuid:5e1dd101-641c-11e8-ab6c-b083fecf1287",
            "URN:UUID:5e1dd101-641c-11e8-ab6c-b083fecf1287",
        ] {
            assert!(is_ajv_uuid(valid), "{valid}");
        }
        for invalid in [
            "",
            "5e1dd101641c11e8ab6cb083fecf1287",
            "5e1dd101-641c-11e8-ab6c-b083fecf128",
            "5e1dd101-641c-11e8-ab6c-b083fecf1287-",
            "5e1dd101-641c-11e8-ab6c-b083fecf128g",
            "urn:uuid:",
            "é1dd101-641c-11e8-ab6c-b083fecf1287",
        ] {
            assert!(!is_ajv_uuid(invalid), "{invalid}");
        }
    }

    #[test]
    fn dates_and_times_like_ajv_fast() {
        for valid in [
            "2026-11-01T00:00:00Z",
            "2026-11-01t00:00:00z",
            "2026-11-01 00:00:00Z",
            "2026-11-01\u{A0}00:00:00Z",
            "2026-11-01T00:00:00.123456+01:00",
            "2026-11-01T00:00:00+0100",
            "2026-11-01T00:00:00-01",
            "2026-11-01T23:59:60Z",
            "2026-19-39T29:59:59Z",
        ] {
            assert!(is_ajv_date_time(valid), "{valid}");
        }
        for invalid in [
            "",
            "2026-11-01",
            "2026-11-01T00:00:00",
            "2026-11-01T00:00:00.Z",
            "2026-11-01T00:00:00+1",
            "2026-11-01T00:00:00+01:0",
            "2026-11-01T00:00:00+01:000",
            "2026-11-01T00:00:60Z",
            "2026-11-01T30:00:00Z",
            "2026-21-01T00:00:00Z",
            "2026-11-41T00:00:00Z",
            "2026-11-01X00:00:00Z",
            "2026-11-01T00:00:00Z ",
            "2026-11-01  00:00:00Z",
            "２026-11-01T00:00:00Z",
            "2026-11-01T00:00:00\u{1D7D8}Z",
        ] {
            assert!(!is_ajv_date_time(invalid), "{invalid}");
        }
        assert!(is_ajv_date("2026-11-01") && is_ajv_date("2026-19-39"));
        assert!(!is_ajv_date("2026-1-01") && !is_ajv_date("2026-11-01T"));
        assert!(
            is_ajv_time("00:00:00") && is_ajv_time("23:59:60.5z") && is_ajv_time("12:00:00+05")
        );
        assert!(!is_ajv_time("24:00:00x") && !is_ajv_time("12:00") && !is_ajv_time("12:00:00+"));
    }

    #[test]
    fn uris_like_ajv_fast() {
        for valid in [
            "https://en.wikipedia.org/wiki/Special:Random",
            "https://en.wikipedia.org/w/index.php?a[]=1&b=|^{}",
            "http://example.org/<>",
            "mailto:x@example.org",
        ] {
            assert!(is_ajv_uri(valid), "{valid}");
            assert!(is_ajv_uri_reference(valid), "{valid}");
        }
        for relative in ["/wiki/A", "//example.org/x", "a/b", "", "#f", "?q", "x#a#b"] {
            assert!(
                !is_ajv_uri(relative) || relative.contains(':'),
                "{relative}"
            );
            assert!(is_ajv_uri_reference(relative), "{relative}");
        }
        for invalid in [
            "http://exa mple.org/",
            "\\x",
            "/a#b\\c",
            "a\u{3000}b",
            "a\tb",
        ] {
            assert!(!is_ajv_uri_reference(invalid), "{invalid}");
        }
        for invalid in ["", ":x", "1http://x", "ht tp://x", "http//x", "https://x y"] {
            assert!(!is_ajv_uri(invalid), "{invalid}");
        }
        assert!(is_ajv_uri_reference("/a\\b#c"));
    }

    /// JavaScript's `\s` as a regex class, for the oracles below.
    const JS_SPACE: &str = r"[\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]";

    fn oracle(pattern: &str) -> regex::Regex {
        let pattern = pattern.replace(r"\d", "[0-9]").replace(r"\s", JS_SPACE);
        regex::Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    /// Strings near the formats: their characters, whitespace, and a few others.
    fn near_formats() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                '0', '1', '2', '3', '5', '6', '9', '-', ':', '.', '+', 'T', 't', 'Z', 'z', ' ',
                '\u{A0}', '\u{85}', '#', '\\', '/', 'h', 'x', '[', '\u{3000}',
            ]),
            0..28,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    fn valid_date_time() -> impl proptest::strategy::Strategy<Value = String> {
        (near_formats(), 0usize..28, "[0-9]{4}-[01][0-9]-[0-3][0-9][tT ][0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)")
            .prop_map(|(noise, at, valid)| {
                // Either the valid string, or it with noise spliced in.
                if at % 3 == 0 {
                    valid
                } else {
                    let cut = valid.char_indices().nth(at % valid.len()).map_or(0, |(i, _)| i);
                    format!("{}{noise}{}", &valid[..cut], &valid[cut..])
                }
            })
    }

    proptest::proptest! {
        /// The hand-written checks accept exactly what AJV 6.12.6's fast expressions accept
        /// (translated to the regex crate with JavaScript's `\d` and `\s`).
        #[test]
        fn the_checks_are_ajv_s_expressions(text in near_formats(), date_time in valid_date_time()) {
            let date = oracle(r"^\d\d\d\d-[0-1]\d-[0-3]\d$");
            let time = oracle(r"^(?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:[zZ]|[+-]\d\d(?::?\d\d)?)?$");
            let full = oracle(r"^\d\d\d\d-[0-1]\d-[0-3]\d[tT\s](?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:[zZ]|[+-]\d\d(?::?\d\d)?)$");
            let uri = oracle(r"^(?:[a-zA-Z][a-zA-Z0-9+\-.]*:)(?:/?/)?[^\s]*$");
            let reference = oracle(r"^(?:(?:[a-zA-Z][a-zA-Z0-9+\-.]*:)?/?/)?(?:[^\\\s#][^\s#]*)?(?:#[^\\\s]*)?$");
            for value in [&text, &date_time] {
                proptest::prop_assert_eq!(is_ajv_date(value), date.is_match(value), "date {:?}", value);
                proptest::prop_assert_eq!(is_ajv_time(value), time.is_match(value), "time {:?}", value);
                proptest::prop_assert_eq!(is_ajv_date_time(value), full.is_match(value), "date-time {:?}", value);
                proptest::prop_assert_eq!(is_ajv_uri(value), uri.is_match(value), "uri {:?}", value);
                proptest::prop_assert_eq!(is_ajv_uri_reference(value), reference.is_match(value), "uri-reference {:?}", value);
            }
        }
    }
}
