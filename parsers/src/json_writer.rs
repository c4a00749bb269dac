//! Compact JSON output, byte for byte what `serde_json::to_writer` writes for a [`Value`] (with
//! the workspace's `arbitrary_precision` numbers and sorted [`Map`]), without going through
//! serde's `Serializer` machinery.
//!
//! The output format is serde_json's compact one: no whitespace, object members in map order,
//! numbers as their stored text, strings with only `"`, `\` and the C0 controls escaped (`\b`,
//! `\t`, `\n`, `\f`, `\r`, everything else as `\u00XX` with lowercase hex); `/`, DEL and
//! non-ASCII characters are written as they are.
//!
//! Strings are copied in runs: eight bytes at a time are checked for a byte that needs escaping,
//! and only such bytes are handled one by one. This is the per-event serialisation of the
//! processor, where most bytes are ASCII text that needs no escaping.

use serde_json::{Map, Value};

/// Appends `value` as compact JSON to `out`.
///
/// ```
/// use beacon_parsers::json_writer::write_value;
/// let value: serde_json::Value = serde_json::from_str(r#"{"b": [1, 2.50, null], "a": "x\ny"}"#).unwrap();
/// let mut out = Vec::new();
/// write_value(&mut out, &value);
/// assert_eq!(out, serde_json::to_vec(&value).unwrap());
/// assert_eq!(out, br#"{"a":"x\ny","b":[1,2.50,null]}"#);
/// ```
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => out.extend_from_slice(number.as_str().as_bytes()),
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push(b'[');
            let mut first = true;
            for item in items {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

/// Appends `map` as a compact JSON object to `out` (members in the map's order).
pub fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) {
    write_members(out, map, |out, _, value| write_value(out, value));
}

/// Appends `map` as a compact JSON object, each member's value written by `write_member_value`.
#[inline]
fn write_members(
    out: &mut Vec<u8>,
    map: &Map<String, Value>,
    mut write_member_value: impl FnMut(&mut Vec<u8>, &str, &Value),
) {
    out.push(b'{');
    let mut first = true;
    for (key, value) in map {
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, key);
        out.push(b':');
        write_member_value(out, key, value);
    }
    out.push(b'}');
}

/// Appends `map` as a compact JSON object, writing `raw_json` (already valid JSON text) as the
/// value of the member named `substituted_key` instead of that member's value in the map.
///
/// This is how a capsule is written with its pre-rendered `userAgent` object: the map only holds
/// a placeholder under that key.
pub fn write_object_substituting(
    out: &mut Vec<u8>,
    map: &Map<String, Value>,
    substituted_key: &str,
    raw_json: &str,
) {
    write_members(out, map, |out, key, value| {
        if key == substituted_key {
            out.extend_from_slice(raw_json.as_bytes());
        } else {
            write_value(out, value);
        }
    });
}

/// Appends `text` as a JSON string literal (quoted and escaped like serde_json) to `out`.
///
/// The text is checked and copied eight bytes at a time (fixed-size copies, no `memcpy` calls);
/// the last, partial word is padded with a byte that needs no escaping, copied whole and the
/// padding cut off again.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    let mut rest = text.as_bytes();
    out.reserve(rest.len().saturating_add(2 + 8));
    out.push(b'"');
    loop {
        let (word, length, after) = match rest.split_first_chunk::<8>() {
            Some((word, after)) => (*word, 8, after),
            None => (padded_word(rest).to_le_bytes(), rest.len(), &[][..]),
        };
        let mask = escape_mask(u64::from_le_bytes(word));
        if mask == 0 {
            out.extend_from_slice(&word);
            out.truncate(out.len().saturating_sub(8 - length));
            if length < 8 {
                break;
            }
            rest = after;
            continue;
        }
        // The flagged byte is always within the text: the padding needs no escaping.
        let clean = first_flagged_byte(mask).min(length);
        let (head, tail) = rest.split_at(clean.min(rest.len()));
        out.extend_from_slice(head);
        let Some((&byte, after)) = tail.split_first() else {
            break;
        };
        match ESCAPE.get(usize::from(byte)).copied().unwrap_or(0) {
            0 => out.push(byte),
            escape => write_escape(out, escape, byte),
        }
        rest = after;
    }
    out.push(b'"');
}

/// Appends `text`, which has no byte that needs escaping (no `"`, `\` or control character),
/// as a JSON string literal: what [`write_str`] writes for it, without looking for escapes.
/// Copied eight bytes at a time like [`write_str`], without `memcpy` calls.
pub fn write_plain_str(out: &mut Vec<u8>, text: &str) {
    let mut rest = text.as_bytes();
    out.reserve(rest.len().saturating_add(2 + 8));
    out.push(b'"');
    while let Some((word, after)) = rest.split_first_chunk::<8>() {
        out.extend_from_slice(word);
        rest = after;
    }
    if !rest.is_empty() {
        out.extend_from_slice(&padded_word(rest).to_le_bytes());
        out.truncate(out.len().saturating_sub(8 - rest.len()));
    }
    out.push(b'"');
}

/// The (fewer than eight) `bytes` as a little-endian word, padded with `a` (a byte that needs no
/// escaping) above them. Built from overlapping fixed-size loads, without a `memcpy` call.
fn padded_word(bytes: &[u8]) -> u64 {
    const PADDING: u64 = 0x6161_6161_6161_6161;
    if let Some(word) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*word);
    }
    let length = bytes.len();
    let data = if let (Some(low), Some(high)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>())
    {
        u64::from(u32::from_le_bytes(*low))
            | u64::from(u32::from_le_bytes(*high)) << (8 * (length - 4))
    } else if let (Some(low), Some(high)) = (bytes.first_chunk::<2>(), bytes.last_chunk::<2>()) {
        u64::from(u16::from_le_bytes(*low))
            | u64::from(u16::from_le_bytes(*high)) << (8 * (length - 2))
    } else {
        bytes.first().map_or(0, |&byte| u64::from(byte))
    };
    match length {
        0 => PADDING,
        1..=7 => data | PADDING << (8 * length),
        _ => data,
    }
}

/// The number of bytes at the start of `bytes` that need no escaping, checked eight at a time
/// (the last partial word padded with a byte that needs none).
#[cfg(test)]
fn clean_prefix_len(bytes: &[u8]) -> usize {
    let mut offset = 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        let mask = escape_mask(u64::from_le_bytes(word));
        if mask != 0 {
            return offset + first_flagged_byte(mask);
        }
        offset += 8;
    }
    let tail = words.remainder();
    let mut word = [b'a'; 8];
    if let Some(head) = word.get_mut(..tail.len()) {
        head.copy_from_slice(tail);
    }
    let mask = escape_mask(u64::from_le_bytes(word));
    if mask != 0 {
        offset + first_flagged_byte(mask).min(tail.len())
    } else {
        offset + tail.len()
    }
}

/// The index of the lowest byte whose high bit is set in `mask` (which is not zero).
pub(crate) fn first_flagged_byte(mask: u64) -> usize {
    // At most 63 / 8 = 7: the cast cannot truncate.
    (mask.trailing_zeros() / 8) as usize
}

/// The high bit of every byte of `word` (little-endian) that is `"`, `\` or below 0x20 is set
/// in the result, and possibly of some bytes above such a byte; the lowest set bit always marks
/// the first byte that needs escaping, and the result is zero exactly when no byte does.
pub(crate) fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte below 0x20 (and with its high bit clear): subtracting 0x20 borrows into bit 7.
    let below_space = word.wrapping_sub(ONES.wrapping_mul(0x20)) & !word;
    let quote = word ^ ONES.wrapping_mul(u64::from(b'"'));
    let backslash = word ^ ONES.wrapping_mul(u64::from(b'\\'));
    let has_quote = quote.wrapping_sub(ONES) & !quote;
    let has_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | has_quote | has_backslash) & HIGHS
}

/// `\uXXXX` for the controls without a short escape.
const UNICODE: u8 = b'u';

/// Per byte: 0 for "write as is", else the character after the backslash (`u` for `\u00XX`).
/// The same table serde_json uses.
const ESCAPE: [u8; 256] = {
    let mut table = [0_u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = UNICODE;
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes the escape sequence of `byte` (whose [`ESCAPE`] entry is `escape`).
fn write_escape(out: &mut Vec<u8>, escape: u8, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if escape == UNICODE {
        let high = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
        let low = HEX.get(usize::from(byte & 0x0f)).copied().unwrap_or(b'0');
        out.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
    } else {
        out.extend_from_slice(&[b'\\', escape]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn written(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        write_value(&mut out, value);
        out
    }

    fn serde(value: &Value) -> Vec<u8> {
        serde_json::to_vec(value).unwrap_or_default()
    }

    #[test]
    fn scalars() {
        assert_eq!(written(&json!(null)), b"null");
        assert_eq!(written(&json!(true)), b"true");
        assert_eq!(written(&json!(false)), b"false");
        assert_eq!(written(&json!(-12)), b"-12");
        assert_eq!(written(&json!(1.5)), b"1.5");
        assert_eq!(written(&json!("")), b"\"\"");
    }

    #[test]
    fn numbers_keep_their_text() {
        let value: Value =
            serde_json::from_str(r#"[1.0, 1E5, -0, 12345678901234567890123, 0.10, 2e-7]"#)
                .unwrap_or_default();
        assert_eq!(
            written(&value),
            br#"[1.0,1e+5,-0,12345678901234567890123,0.10,2e-7]"#
        );
        assert_eq!(written(&value), serde(&value));
    }

    #[test]
    fn escapes_like_serde_json() {
        let text = "a\"b\\c/d\u{0}\u{1f}\u{7f}\u{8}\t\n\u{b}\u{c}\r é☆😀 end";
        let value = Value::String(text.to_owned());
        assert_eq!(
            written(&value),
            "\"a\\\"b\\\\c/d\\u0000\\u001f\u{7f}\\b\\t\\n\\u000b\\f\\r é☆😀 end\"".as_bytes()
        );
        assert_eq!(written(&value), serde(&value));
    }

    #[test]
    fn escapes_at_every_offset_of_a_word() {
        for offset in 0..20 {
            for special in ["\"", "\\", "\n", "\u{1}"] {
                let text = format!("{}{special}{}", "x".repeat(offset), "y".repeat(offset % 9));
                let value = Value::String(text);
                assert_eq!(written(&value), serde(&value), "{value:?}");
            }
        }
    }

    #[test]
    fn nested_objects_and_arrays() {
        let value = json!({"z": {"b": [], "a": {}}, "a": [1, "two", [null, true]], "m": 3});
        assert_eq!(
            written(&value),
            br#"{"a":[1,"two",[null,true]],"m":3,"z":{"a":{},"b":[]}}"#
        );
        assert_eq!(written(&value), serde(&value));
    }

    #[test]
    fn padded_words_hold_the_bytes_then_padding() {
        let text = b"XYZWVUT";
        for length in 0..8 {
            let bytes = text.get(..length).unwrap_or_default();
            let mut expected = [b'a'; 8];
            for (slot, &byte) in expected.iter_mut().zip(bytes) {
                *slot = byte;
            }
            assert_eq!(padded_word(bytes).to_le_bytes(), expected, "{length}");
        }
        assert_eq!(
            padded_word(b"\0\x01\x02").to_le_bytes(),
            *b"\0\x01\x02aaaaa"
        );
    }

    #[test]
    fn substituting_writes_the_raw_json_for_that_key_only() {
        let map = json!({"a": 1, "userAgent": null, "z": "userAgent"});
        let Value::Object(map) = map else {
            panic!("object literal");
        };
        let mut out = Vec::new();
        write_object_substituting(&mut out, &map, "userAgent", r#"{"x":true}"#);
        assert_eq!(out, br#"{"a":1,"userAgent":{"x":true},"z":"userAgent"}"#);
        let mut plain = Vec::new();
        write_object_substituting(&mut plain, &map, "absent", "ignored");
        assert_eq!(plain, serde(&Value::Object(map)));
    }

    #[test]
    fn clean_prefix_is_exact_for_every_byte_at_every_position() {
        for byte in 0..=255_u8 {
            let needs_escape = ESCAPE.get(usize::from(byte)).copied().unwrap_or(0) != 0;
            for length in 1..20 {
                for position in 0..length {
                    // A second escaping byte after the first must not hide it.
                    let mut bytes = vec![b'a'; length];
                    if let Some(slot) = bytes.get_mut(position) {
                        *slot = byte;
                    }
                    if let Some(slot) = bytes.get_mut(position + 1) {
                        *slot = b'"';
                    }
                    let expected = if needs_escape {
                        position
                    } else if position + 1 < length {
                        position + 1
                    } else {
                        length
                    };
                    assert_eq!(
                        clean_prefix_len(&bytes),
                        expected,
                        "byte {byte:#x} at {position} of {length}"
                    );
                }
            }
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x7f]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn identical_to_serde_json(value in any_json()) {
            prop_assert_eq!(written(&value), serde(&value));
        }

        #[test]
        fn plain_strings_are_written_as_write_str_writes_them(text in "[^\"\\\\\\x00-\\x1f]{0,40}") {
            let (mut plain, mut escaped) = (b"x".to_vec(), b"x".to_vec());
            write_plain_str(&mut plain, &text);
            write_str(&mut escaped, &text);
            prop_assert_eq!(plain, escaped);
        }
    }
}
