//! QSON ("query-string JSON") decoding: turns the captured `%q` field of a beacon line into the
//! JSON text it carries.
//!
//! The steps and their order follow the EventLogging processor exactly (reference §2.2):
//!
//! 1. strip every leading and trailing `?` and `;` (the set, from both ends: `?;{};?` → `{}`);
//! 2. replace every `+` with a space (the `unquote_plus` convention);
//! 3. percent-decode byte-wise: `%XX` with two hex digits (either case) becomes that byte, a `%`
//!    not followed by two hex digits is kept literally, raw non-ASCII passes through as UTF-8;
//! 4. require the resulting bytes to be strict UTF-8.
//!
//! Parsing the JSON itself is [`crate::json`]'s job.

use std::borrow::Cow;
use std::fmt;

#[cfg(target_arch = "x86_64")]
mod ssse3;

/// Why a QSON field could not be decoded into text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QsonError {
    /// The percent-decoded bytes are not valid UTF-8 (e.g. `%C3%28`). `byte_offset` is the offset,
    /// in the decoded bytes, of the first byte of the first invalid sequence.
    InvalidUtf8 {
        /// Offset of the first invalid byte in the percent-decoded byte string.
        byte_offset: usize,
    },
}

impl fmt::Display for QsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QsonError::InvalidUtf8 { byte_offset } => write!(
                f,
                "percent-decoded query string is not valid UTF-8 (invalid byte sequence at byte {byte_offset})"
            ),
        }
    }
}

impl std::error::Error for QsonError {}

/// The characters stripped from both ends of the captured query string.
fn is_query_delimiter(c: char) -> bool {
    c == '?' || c == ';'
}

/// Decodes a captured `%q` field (which normally starts with `?` and ends with `;`) into text.
///
/// Returns [`Cow::Borrowed`] (a sub-slice of `captured`) when nothing needed decoding, otherwise
/// one freshly allocated string. Never panics.
///
/// ```
/// use beacon_parsers::qson::decode;
/// assert_eq!(decode("?%7B%22a%22%3A%22b+c%2Bd%22%7D;").unwrap(), r#"{"a":"b c+d"}"#);
/// assert_eq!(decode("?;{};?").unwrap(), "{}");
/// ```
pub fn decode(captured: &str) -> Result<Cow<'_, str>, QsonError> {
    let trimmed = captured.trim_matches(is_query_delimiter);
    if memchr::memchr2(b'%', b'+', trimmed.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(trimmed));
    }
    let mut decoded = Vec::new();
    let written = percent_decode_into(trimmed.as_bytes(), &mut decoded);
    decoded.truncate(written);
    String::from_utf8(decoded)
        .map(Cow::Owned)
        .map_err(|error| QsonError::InvalidUtf8 {
            byte_offset: error.utf8_error().valid_up_to(),
        })
}

/// [`decode`] into a caller-owned buffer, so that a caller decoding many lines can reuse one
/// allocation. Returns the decoded text: a sub-slice of `captured` when nothing needed decoding,
/// else a prefix of the buffer. The buffer's contents are scratch space: they are overwritten,
/// and bytes after the returned text are left over from earlier calls.
///
/// ```
/// use beacon_parsers::qson::decode_into;
/// let mut buffer = Vec::new();
/// assert_eq!(decode_into("?%7B%22a%22%3A%22b+c%2Bd%22%7D;", &mut buffer).unwrap(), r#"{"a":"b c+d"}"#);
/// assert_eq!(decode_into("?{};", &mut buffer).unwrap(), "{}");
/// ```
pub fn decode_into<'a>(captured: &'a str, buffer: &'a mut Vec<u8>) -> Result<&'a str, QsonError> {
    let trimmed = captured.trim_matches(is_query_delimiter);
    if memchr::memchr2(b'%', b'+', trimmed.as_bytes()).is_none() {
        return Ok(trimmed);
    }
    let written = percent_decode_into(trimmed.as_bytes(), buffer);
    let decoded = buffer.get(..written).unwrap_or_default();
    crate::utf8::from_utf8(decoded).map_err(|error| QsonError::InvalidUtf8 {
        byte_offset: error.valid_up_to(),
    })
}

/// Steps 2 and 3: `+` to space and byte-wise percent-decoding of `bytes`, written at the start
/// of `out`; returns the number of bytes written. `out` is grown (never shrunk) to at least the
/// input's length, so a reused buffer is not cleared or refilled for every line.
///
/// Whole sixteen-byte steps go through the SSSE3 decoder where the CPU has it ([`ssse3`]); the
/// rest through [`percent_decode_bytewise`]. Both give the same bytes (property-tested).
fn percent_decode_into(bytes: &[u8], out: &mut Vec<u8>) -> usize {
    // Decoding only ever shrinks the text.
    if out.len() < bytes.len() {
        out.resize(bytes.len(), 0);
    }
    let (read, written) = decode_steps(bytes, out);
    let rest = bytes.get(read..).unwrap_or_default();
    match out.get_mut(written..) {
        Some(tail) => written + percent_decode_bytewise(rest, tail),
        None => written,
    }
}

/// Decodes what it can of `bytes` with SIMD; returns `(read, written)` (see
/// [`ssse3::decode_steps`]); `(0, 0)` where the CPU has no SSSE3.
#[cfg(target_arch = "x86_64")]
fn decode_steps(bytes: &[u8], out: &mut [u8]) -> (usize, usize) {
    if ssse3::available() {
        // SAFETY: `decode_steps` is safe code compiled for SSSE3, which this CPU has (checked
        // just above); it has no other precondition.
        unsafe { ssse3::decode_steps(bytes, out) }
    } else {
        (0, 0)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn decode_steps(_bytes: &[u8], _out: &mut [u8]) -> (usize, usize) {
    (0, 0)
}

/// The byte-wise decoder: writes the decoding of `bytes` at the start of `out` and returns the
/// number of bytes written (at most `out.len()`, which should be at least `bytes.len()`).
fn percent_decode_bytewise(bytes: &[u8], out: &mut [u8]) -> usize {
    // The output is written into slots sized like the input (through a local iterator over
    // them, which the compiler keeps in registers, unlike pushes onto a `Vec`).
    let capacity = out.len();
    let mut slots = out.iter_mut();
    let mut input = bytes.iter();
    while let Some(&byte) = input.next() {
        let decoded = match byte {
            b'%' => match input.as_slice() {
                [high, low, ..] => match hex_pair_value(*high, *low) {
                    Some(value) => {
                        input.nth(1);
                        value
                    }
                    // Not a valid escape: keep the `%` literally; the next two bytes are
                    // ordinary text and are looked at again (one may itself be `%` or `+`).
                    None => b'%',
                },
                // A `%` with fewer than two bytes after it.
                _ => b'%',
            },
            b'+' => b' ',
            other => other,
        };
        let Some(slot) = slots.next() else {
            break;
        };
        *slot = decoded;
    }
    capacity - slots.len()
}

/// Marks bytes that are not hex digits in [`HEX_VALUES`]: shifted left by four and or-ed with
/// any digit value it still is at least 0x100.
const NOT_HEX: u16 = 0x100;

/// The value of every byte as an ASCII hex digit (either case), or [`NOT_HEX`].
const HEX_VALUES: [u16; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 10 {
        table[b'0' as usize + digit] = digit as u16;
        digit += 1;
    }
    let mut letter = 0;
    while letter < 6 {
        table[b'a' as usize + letter] = 10 + letter as u16;
        table[b'A' as usize + letter] = 10 + letter as u16;
        letter += 1;
    }
    table
};

/// The byte encoded by two hex digits (`%XX` without the `%`), if both are hex digits.
fn hex_pair_value(high: u8, low: u8) -> Option<u8> {
    let high = HEX_VALUES
        .get(usize::from(high))
        .copied()
        .unwrap_or(NOT_HEX);
    let low = HEX_VALUES.get(usize::from(low)).copied().unwrap_or(NOT_HEX);
    u8::try_from((high << 4) | low).ok()
}

/// JavaScript's `encodeURIComponent`, what clients apply to the JSON they send: everything but
/// `A-Za-z0-9-_.!~*'()` becomes upper-case `%XX` of its UTF-8 bytes. [`decode`] inverts it.
pub fn encode_uri_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decoded(input: &str) -> String {
        match decode(input) {
            Ok(text) => text.into_owned(),
            Err(error) => panic!("decoding {input:?} failed: {error}"),
        }
    }

    #[test]
    fn hex_pairs_are_exactly_the_two_hex_digit_pairs() {
        for high in 0..=255_u8 {
            for low in 0..=255_u8 {
                let expected = if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() {
                    std::str::from_utf8(&[high, low])
                        .ok()
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                } else {
                    None
                };
                assert_eq!(hex_pair_value(high, low), expected, "{high:#x} {low:#x}");
            }
        }
    }

    #[test]
    fn decode_into_agrees_with_decode_and_reuses_the_buffer() {
        let mut buffer = Vec::with_capacity(64);
        for input in [
            "?%7B%22a%22%3A%22b+c%2Bd%22%7D;",
            "?;{};?",
            "%",
            "%4",
            "%%41+",
            "?%zz%41;",
            "?%7B%22a%22%3A%22%C3%28%22%7D;",
            "?%E2%98%86;",
            "",
        ] {
            let expected = decode(input).map(Cow::into_owned);
            let got = decode_into(input, &mut buffer).map(str::to_owned);
            assert_eq!(got, expected, "{input:?}");
        }
        assert_eq!(decode_into("?%41%42%43%44;", &mut buffer), Ok("ABCD"));
        // A shorter text after a longer one: only the decoded prefix is returned.
        assert_eq!(decode_into("?%41%42;", &mut buffer), Ok("AB"));
        assert_eq!(decode_into("?plain;", &mut buffer), Ok("plain"));
    }

    #[test]
    fn strips_question_marks_and_semicolons_from_both_ends() {
        assert_eq!(decoded("?%7B%7D;"), "{}");
        assert_eq!(decoded("?;{};?"), "{}");
        assert_eq!(decoded("??{}"), "{}");
        assert_eq!(decoded("{};;"), "{}");
        assert_eq!(decoded("?;?;"), "");
        assert_eq!(decoded(""), "");
        // Inner delimiters are kept.
        assert_eq!(decoded("?a;b?c;"), "a;b?c");
    }

    #[test]
    fn strips_before_percent_decoding() {
        // An encoded trailing `;` survives (and later makes the JSON parser complain).
        assert_eq!(decoded("?%7B%7D%3B;"), "{};");
        assert_eq!(decoded("?%3F%7B%7D;"), "?{}");
    }

    #[test]
    fn plus_is_a_space_but_encoded_plus_is_a_plus() {
        assert_eq!(
            decoded("?%7B%22a%22%3A%22b+c%2Bd%22%7D;"),
            r#"{"a":"b c+d"}"#
        );
        assert_eq!(decoded("?a++b;"), "a  b");
    }

    #[test]
    fn percent_escapes_in_either_case() {
        assert_eq!(decoded("?%7b%22a%22%3a1%7d;"), r#"{"a":1}"#);
        assert_eq!(decoded("?%7B%22a%22%3A1%7D;"), r#"{"a":1}"#);
        assert_eq!(decoded("?%e2%98%86;"), "☆");
    }

    #[test]
    fn invalid_percent_escapes_are_kept_literally() {
        assert_eq!(decoded("?%7B%22a%22%3A%22%ZZ%22%7D;"), r#"{"a":"%ZZ"}"#);
        assert_eq!(decoded("?%zz;"), "%zz");
        assert_eq!(decoded("?abc%4"), "abc%4");
        assert_eq!(decoded("?abc%"), "abc%");
        assert_eq!(decoded("?%G1;"), "%G1");
        assert_eq!(decoded("?%1G;"), "%1G");
        // The bytes after a literal `%` are decoded normally.
        assert_eq!(decoded("?%%41;"), "%A");
        assert_eq!(decoded("?%+41;"), "% 41");
        assert_eq!(decoded("?%4%41;"), "%4A");
    }

    #[test]
    fn multi_byte_utf8_escapes_and_raw_utf8() {
        assert_eq!(decoded("?%7B%22a%22%3A%22%E2%98%86%22%7D;"), r#"{"a":"☆"}"#);
        assert_eq!(
            decoded("?%7B%22a%22%3A%22%F0%9F%98%80%22%7D;"),
            r#"{"a":"😀"}"#
        );
        assert_eq!(decoded(r#"?{"a":"☆"};"#), r#"{"a":"☆"}"#);
        // Raw non-ASCII mixed with escapes.
        assert_eq!(decoded("?é%C3%A9+é;"), "éé é");
    }

    #[test]
    fn invalid_utf8_after_decoding_is_an_error() {
        // TV-16.
        assert_eq!(
            decode("?%7B%22a%22%3A%22%C3%28%22%7D;"),
            Err(QsonError::InvalidUtf8 { byte_offset: 6 })
        );
        assert_eq!(
            decode("?%FF").map_err(|e| e.to_string()),
            Err(
                "percent-decoded query string is not valid UTF-8 (invalid byte sequence at byte 0)"
                    .to_owned()
            )
        );
        // A truncated multi-byte sequence at the end.
        assert_eq!(
            decode("?ab%E2%98;"),
            Err(QsonError::InvalidUtf8 { byte_offset: 2 })
        );
        // An encoded surrogate half (CESU-8) is not UTF-8.
        assert_eq!(
            decode("?%ED%A0%BD"),
            Err(QsonError::InvalidUtf8 { byte_offset: 0 })
        );
    }

    #[test]
    fn borrows_when_nothing_needs_decoding() {
        let input = r#"?{"a":"☆"};"#;
        match decode(input) {
            Ok(Cow::Borrowed(text)) => assert_eq!(text, r#"{"a":"☆"}"#),
            other => panic!("expected a borrowed result, got {other:?}"),
        }
        assert!(matches!(decode("?%7B%7D;"), Ok(Cow::Owned(_))));
        assert!(matches!(decode("?a+b"), Ok(Cow::Owned(_))));
    }

    #[test]
    fn real_production_beacon() {
        // TV-23, the T102225 load-test beacon.
        let line = "?%7B%22event%22%3A%7B%22name%22%3A%22blah%22%2C%22age%22%3A33%7D%2C%22revision%22%3A13317883%2C%22schema%22%3A%22Analytics%22%2C%22webHost%22%3A%22meta.wikimedia.org%22%2C%22wiki%22%3A%22metawiki%22%7D;";
        assert_eq!(
            decoded(line),
            r#"{"event":{"name":"blah","age":33},"revision":13317883,"schema":"Analytics","webHost":"meta.wikimedia.org","wiki":"metawiki"}"#
        );
    }

    /// The whole decoder (SIMD steps, then the byte-wise rest) on `bytes`, in a fresh buffer or
    /// in `reused`.
    fn stepped(bytes: &[u8], reused: &mut Vec<u8>) -> Vec<u8> {
        let written = percent_decode_into(bytes, reused);
        reused.get(..written).unwrap_or_default().to_vec()
    }

    /// The byte-wise decoder alone: the reference the SIMD steps must agree with.
    fn bytewise(bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![0; bytes.len()];
        let written = percent_decode_bytewise(bytes, &mut out);
        out.truncate(written);
        out
    }

    #[test]
    fn simd_steps_agree_with_bytewise_at_every_alignment() {
        // Valid escapes (either case), invalid ones (`%zz`, `%%41`, a `%` and one digit), `+`,
        // an encoded `+`, raw UTF-8 and a `%` at the very end, shifted through every position of
        // a step and across step boundaries.
        let pattern = "%7B%22a%22%3a+b%2B%zz%%41%4\u{e9}%C3%A9xy%4";
        let mut buffer = Vec::new();
        for shift in 0..40 {
            for cut in [pattern.len(), pattern.len() - 1, pattern.len() - 2] {
                let text = format!("{}{}", "q".repeat(shift), pattern);
                let input = text.as_bytes().get(..shift + cut).unwrap_or_default();
                let expected = bytewise(input);
                assert_eq!(
                    stepped(input, &mut Vec::new()),
                    expected,
                    "{text:?} cut {cut}"
                );
                assert_eq!(stepped(input, &mut buffer), expected, "{text:?} reused");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_steps_decode_an_encoded_capsule() {
        if !ssse3::available() {
            return;
        }
        let json =
            r#"{"event":{"action":"click","n":42},"schema":"Echo","revision":7,"wiki":"enwiki"}"#;
        let encoded = encode_uri_component(json);
        let mut out = vec![0; encoded.len()];
        // SAFETY: SSSE3 was checked above.
        let (read, written) = unsafe { ssse3::decode_steps(encoded.as_bytes(), &mut out) };
        assert!(
            read >= encoded.len() - 17,
            "only {read} of {} bytes in steps",
            encoded.len()
        );
        let rest = percent_decode_bytewise(
            encoded.as_bytes().get(read..).unwrap_or_default(),
            out.get_mut(written..).unwrap_or_default(),
        );
        out.truncate(written + rest);
        assert_eq!(String::from_utf8(out).ok().as_deref(), Some(json));
    }

    proptest! {
        #[test]
        fn decode_never_panics(input in any::<String>()) {
            let _ = decode(&input);
        }

        #[test]
        fn decode_never_panics_on_percent_heavy_input(input in "[%+?;0-9a-fA-FzZ\u{e9}\u{1F600}]{0,40}") {
            let _ = decode(&input);
        }

        #[test]
        fn decode_into_agrees_with_decode(input in "[%+?;0-9a-fA-FzZ\u{e9}\u{1F600}]{0,40}") {
            let mut buffer = Vec::new();
            let got = decode_into(&input, &mut buffer).map(str::to_owned);
            prop_assert_eq!(got, decode(&input).map(Cow::into_owned));
        }

        #[test]
        fn simd_steps_agree_with_bytewise(
            input in proptest::collection::vec(
                prop::sample::select(b"%%%++0159aAfFgG:z\xc3\xa9\xff".to_vec()),
                0..160,
            ),
            leftover in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            // The buffer starts with junk, as a reused one does.
            let mut buffer = leftover;
            prop_assert_eq!(stepped(&input, &mut buffer), bytewise(&input));
        }

        #[test]
        fn decode_inverts_encode_uri_component(text in any::<String>()) {
            let query = format!("?{};", encode_uri_component(&text));
            prop_assert_eq!(decode(&query).map(Cow::into_owned), Ok(text));
        }

        #[test]
        fn decode_of_text_without_specials_is_the_trimmed_text(text in "[^%+]*") {
            let expected = text.trim_matches(is_query_delimiter);
            prop_assert_eq!(decode(&text), Ok(Cow::Borrowed(expected)));
        }
    }
}
