//! A direct JSON-to-[`Value`] parser for the common case, with serde_json as the authority.
//!
//! Deserialising a `Value` through serde's visitor machinery copies every string twice (into a
//! scratch buffer, then into its `String`) and goes through several layers of generic calls per
//! token; for the processor it was the largest single step of a line. This parser builds the
//! same `Value` directly from the text.
//!
//! It only ever *accepts* input that serde_json accepts, and then builds exactly the value
//! serde_json would (same map semantics: sorted, the last duplicate key wins; numbers with
//! `arbitrary_precision` text, normalised as serde_json normalises it). On anything it is not
//! sure about (any syntax error, nesting deeper than [`MAX_DEPTH`], a `\u` escape that is part
//! of a surrogate pair, ...) it gives up and returns `None`, and the caller parses the text with
//! serde_json, which then yields the value or the exact error it always did.

use std::str::FromStr;

use serde_json::{Map, Number, Value};

use crate::json_writer::{escape_mask, first_flagged_byte};

/// Nesting depth at which the fast path gives up (serde_json's own limit is 128 levels).
pub const MAX_DEPTH: usize = 100;

/// Parses `text` as one JSON value surrounded by optional whitespace, or returns `None` when
/// serde_json must decide (see the module docs).
pub fn parse(text: &str) -> Option<Value> {
    let mut parser = Parser::new(text);
    parser.skip_whitespace();
    let value = parser.value()?;
    parser.skip_whitespace();
    (parser.at == parser.bytes.len()).then_some(value)
}

/// The tokenizer, shared with the document parser (`super::document`), and the `Value` builder.
pub(super) struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Offset of the next byte to read (always a char boundary between tokens).
    pub(super) at: usize,
    /// Arrays and objects currently open.
    depth: usize,
}

/// A string token: its text is a plain slice of the input, or had escapes and was unescaped.
pub(super) enum StringToken {
    /// The text is `input[start..end]`, without escapes.
    Plain { start: usize, end: usize },
    /// The unescaped text was appended to the caller's buffer.
    Escaped,
}

/// A number token: `input[start..end]`, and whether it has neither fraction nor exponent.
pub(super) struct NumberToken {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) integer: bool,
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            at: 0,
            depth: 0,
        }
    }

    /// The input text.
    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    pub(super) fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    /// JSON whitespace, as serde_json defines it.
    pub(super) fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'{' => self.object().map(Value::Object),
            b'[' => self.array().map(Value::Array),
            b'"' => self.string().map(Value::String),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Option<Value> {
        self.keyword(word)?;
        Some(value)
    }

    /// Consumes `word` (`true`, `false` or `null`), which must come next.
    pub(super) fn keyword(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        if self.bytes.get(self.at..end)? != word {
            return None;
        }
        self.at = end;
        Some(())
    }

    /// Opens an array or object: `None` past [`MAX_DEPTH`].
    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// The elements of an array or object whose opening bracket is next, up to its `close`
    /// bracket: `element` reads each one (an item, or a member with its key), this reads the
    /// brackets, commas and whitespace around them. Shared by the `Value` builder and the
    /// document parser (`super::document`).
    pub(super) fn elements(
        &mut self,
        close: u8,
        mut element: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.at += 1;
        self.enter()?;
        self.skip_whitespace();
        if self.peek()? == close {
            self.at += 1;
        } else {
            loop {
                element(self)?;
                self.skip_whitespace();
                match self.next_byte()? {
                    b',' => self.skip_whitespace(),
                    byte if byte == close => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// The `:` between a member's key and value, with the whitespace around it.
    pub(super) fn member_colon(&mut self) -> Option<()> {
        self.skip_whitespace();
        if self.next_byte()? != b':' {
            return None;
        }
        self.skip_whitespace();
        Some(())
    }

    /// An object. Its members are collected in order and the map is built from them in one go
    /// (a stable sort, then a bulk build that keeps the last of duplicate keys): the same map as
    /// inserting them one by one, without a search from the root for every key.
    fn object(&mut self) -> Option<Map<String, Value>> {
        let mut members = Vec::with_capacity(16);
        self.elements(b'}', |parser| {
            if parser.peek()? != b'"' {
                return None;
            }
            let key = parser.string()?;
            parser.member_colon()?;
            members.push((key, parser.value()?));
            Some(())
        })?;
        Some(members.into_iter().collect())
    }

    fn array(&mut self) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        self.elements(b']', |parser| {
            items.push(parser.value()?);
            Some(())
        })?;
        Some(items)
    }

    /// The length of the run at `from` of bytes that can be copied into a string as they are
    /// (not `"`, `\` or a control character), checked eight bytes at a time.
    fn plain_run(&self, from: usize) -> usize {
        let rest = self.bytes.get(from..).unwrap_or_default();
        let mut length = 0;
        let mut words = rest.chunks_exact(8);
        for chunk in &mut words {
            let mut word = [0_u8; 8];
            word.copy_from_slice(chunk);
            let mask = escape_mask(u64::from_le_bytes(word));
            if mask != 0 {
                return length + first_flagged_byte(mask);
            }
            length += 8;
        }
        length
            + words
                .remainder()
                .iter()
                .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
                .unwrap_or(words.remainder().len())
    }

    /// A string token (the next byte is its opening quote).
    fn string(&mut self) -> Option<String> {
        let mut escaped = String::new();
        match self.string_token(&mut escaped)? {
            // Both ends are ASCII bytes, hence char boundaries.
            StringToken::Plain { start, end } => Some(self.text.get(start..end)?.to_owned()),
            StringToken::Escaped => Some(escaped),
        }
    }

    /// A string token (the next byte is its opening quote). The text of a string with escapes
    /// is appended, unescaped, to `escaped`.
    pub(super) fn string_token(&mut self, escaped: &mut String) -> Option<StringToken> {
        let start = self.at + 1;
        let end = start + self.plain_run(start);
        match self.peek_at(end)? {
            b'"' => {
                self.at = end + 1;
                Some(StringToken::Plain { start, end })
            }
            b'\\' => {
                escaped.reserve(end - start + 16);
                escaped.push_str(self.text.get(start..end)?);
                self.at = end;
                self.escaped_rest(escaped)?;
                Some(StringToken::Escaped)
            }
            // A raw control character: serde_json rejects it.
            _ => None,
        }
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(offset).copied()
    }

    /// The rest of a string that has escapes, appended to `text` (which holds what was read so
    /// far); the next byte is a backslash.
    fn escaped_rest(&mut self, text: &mut String) -> Option<()> {
        loop {
            match self.next_byte()? {
                b'"' => return Some(()),
                b'\\' => {
                    let unescaped = match self.next_byte()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    text.push(unescaped);
                }
                _ => return None,
            }
            let end = self.at + self.plain_run(self.at);
            text.push_str(self.text.get(self.at..end)?);
            self.at = end;
        }
    }

    /// The character of a `\uXXXX` escape (after the `u`). Surrogates, paired or not, are left
    /// to serde_json.
    fn unicode_escape(&mut self) -> Option<char> {
        let end = self.at.checked_add(4)?;
        let digits = self.bytes.get(self.at..end)?;
        let mut code = 0_u32;
        for &digit in digits {
            code = code * 16 + char::from(digit).to_digit(16)?;
        }
        self.at = end;
        char::from_u32(code)
    }

    /// A number token, with the text serde_json's `arbitrary_precision` keeps.
    fn number(&mut self) -> Option<Number> {
        let NumberToken {
            start,
            end,
            integer,
        } = self.number_token()?;
        let text = self.text.get(start..end)?;
        if integer {
            // serde_json makes these from a u64 or an i64 (`-0` stays text): the same digits.
            if !text.starts_with('-') {
                if let Ok(unsigned) = text.parse::<u64>() {
                    return Some(Number::from(unsigned));
                }
            } else if text != "-0" {
                if let Ok(signed) = text.parse::<i64>() {
                    return Some(Number::from(signed));
                }
            }
        }
        // Big integers, fractions and exponents: serde_json's own number parser normalises the
        // text (`1E5` is kept as `1e+5`) exactly as in a whole-document parse.
        Number::from_str(text).ok()
    }

    /// A number token (the next byte is `-` or a digit), checked against JSON's grammar.
    pub(super) fn number_token(&mut self) -> Option<NumberToken> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        match self.next_byte()? {
            b'0' => {
                // A leading zero must not be followed by another digit.
                if self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                    return None;
                }
            }
            b'1'..=b'9' => self.skip_digits(),
            _ => return None,
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.require_digits()?;
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.require_digits()?;
            integer = false;
        }
        Some(NumberToken {
            start,
            end: self.at,
            integer,
        })
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn require_digits(&mut self) -> Option<()> {
        if !self.peek()?.is_ascii_digit() {
            return None;
        }
        self.skip_digits();
        Some(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fast path either gives up or agrees with serde_json.
    fn agrees(text: &str) -> bool {
        match parse(text) {
            None => true,
            Some(fast) => serde_json::from_str::<Value>(text).ok() == Some(fast),
        }
    }

    fn accepted(text: &str) -> Value {
        match parse(text) {
            Some(value) => value,
            None => panic!("fast path gave up on {text:?}"),
        }
    }

    #[test]
    fn builds_what_serde_json_builds() {
        for text in [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-2.5e-3,"g":""}"#,
            " \t\r\n{ \"a\" : [ 1 , { } , [ ] ] } \n",
            r#"{"a": 1, "a": 2, "b": 3, "a": {"x": 1}}"#,
            r#"{"esc":"q\" b\\ s\/ \b\f\n\r\t u\u00e9\u0000\u20ac","plain":"☆ é 😀"}"#,
            r#"{"n":[0,-0,-1,12345678901234567890123,-98765432109876543210,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809]}"#,
            r#"{"f":[1.0,1E5,1e5,1E+5,1e-5,0.10,-0.0,2.5E-300,1e999999]}"#,
            r#"[]"#,
            r#""just a string""#,
            "17",
            "true",
        ] {
            let expected: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            assert_eq!(accepted(text), expected, "{text}");
            assert_eq!(
                accepted(text).to_string(),
                expected.to_string(),
                "number texts of {text}"
            );
        }
    }

    #[test]
    fn number_texts_are_normalised_like_serde_json() {
        let value = accepted(r#"[1E5,1e5,1E+5,1e-5,-0,0.10]"#);
        assert_eq!(value.to_string(), "[1e+5,1e+5,1e+5,1e-5,-0,0.10]");
    }

    #[test]
    fn gives_up_on_what_serde_json_rejects_or_must_judge() {
        for text in [
            "",
            " ",
            "{",
            "{\"a\":1,}",
            "[1,]",
            "{\"a\" 1}",
            "{a:1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":1e}",
            "{\"a\":-}",
            "{\"a\":+1}",
            "{\"a\":.5}",
            "{\"a\":tru}",
            "{\"a\":truex}",
            "{\"a\":NaN}",
            "{\"a\":\"x\ty\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\ud83d\"}",
            "{\"a\":\"\\ud83d\\ude00\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"unterminated",
            "{}{}",
            "{} x",
            "{\"a\":1}\u{a0}",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn nesting_beyond_the_limit_is_left_to_serde_json() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_some());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&deep), None);
        assert_eq!(parse(&"[".repeat(100_000)), None);
    }

    #[test]
    fn strings_around_word_boundaries() {
        for length in 0..24 {
            for special in ["\\\"", "\\\\", "\\n", "\\u0041", "é"] {
                let text = format!(
                    "{{\"k{}\":\"{}{special}{}\"}}",
                    "x".repeat(length),
                    "y".repeat(length),
                    "z".repeat(length % 7)
                );
                let expected: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                assert_eq!(accepted(&text), expected, "{text}");
            }
        }
    }

    /// JSON texts of every kind, with whitespace, escapes, duplicate keys and odd numbers.
    pub(in crate::json) fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,3})?",
            any::<String>().prop_map(|s| Value::String(s).to_string()),
            "\"([a-z]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}){0,12}\"",
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec(("[a-c]{0,2}", inner), 0..6).prop_map(|members| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(key, value)| format!("\"{key}\" : {value}"))
                        .collect();
                    format!("{{ {} }}", members.join(" ,\n"))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json_on_valid_json(text in json_text()) {
            prop_assert!(agrees(&text), "{}", text);
        }

        #[test]
        fn agrees_with_serde_json_on_mutated_json(
            text in json_text(),
            position in any::<prop::sample::Index>(),
            byte in prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b','), Just(b':'), Just(b'}'), Just(b']'),
                Just(b'0'), Just(b'-'), Just(b'.'), Just(b'e'), Just(b' '), Just(b'\t'),
                Just(0x01), Just(b'u'), Just(b'x')
            ],
            delete in any::<bool>(),
        ) {
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let at = position.index(bytes.len());
                if delete {
                    bytes.remove(at);
                } else if let Some(slot) = bytes.get_mut(at) {
                    *slot = byte;
                }
            }
            if let Ok(text) = String::from_utf8(bytes) {
                prop_assert!(agrees(&text), "{}", text);
            }
        }

        #[test]
        fn agrees_with_serde_json_on_any_text(text in any::<String>()) {
            prop_assert!(agrees(&text), "{}", text);
        }
    }
}
