//! Python-style formatting of JSON values: `str()`, `repr()`, type names, float repr and the
//! `int()` caster.
//!
//! The Python processor turns client values into strings with `str()` (the `%{n}s` caster, the
//! uuid name) and into integers with `int()` (the `%{n}d` caster), and its error messages name
//! Python types and show Python reprs. These functions reproduce that for the values a JSON
//! parser can produce (`None`, `bool`, `int`, `float`, `str`, `list`, `dict`).
//!
//! Numbers rely on serde_json's `arbitrary_precision` feature: a [`Number`] keeps its JSON text,
//! and it is a Python `int` exactly when that text has no `.`, `e` or `E` (as with `json.loads`).

use serde_json::{Map, Number, Value};

/// Python `str(value)` of a JSON value: `None`, `True`/`False`, integers verbatim (any size),
/// floats as their shortest repr, strings unchanged, lists and dicts as their repr.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => py_repr(other),
    }
}

/// Python `repr(value)` of a JSON value: like [`py_str`] but strings are quoted Python-style
/// (`'abc'`, `"it's"`, escapes such as `\n`, `\x00`, `\\`).
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    push_repr(&mut out, value);
    out
}

/// Python type name of a JSON value: `NoneType`, `bool`, `int`, `float`, `str`, `list`, `dict`.
pub fn py_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(number) if is_py_int(number) => "int",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python `repr()` of a float: the shortest digits that round-trip, in positional notation when
/// the decimal exponent is in `-4..16` (always with a fractional part, `3.0`), otherwise in
/// exponent notation with a signed, at least two-digit exponent (`1e+16`, `1.5e-07`);
/// `inf`, `-inf`, `nan`.
pub fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }

    // Rust's `{:e}` prints the shortest round-tripping digits, e.g. "-1.5e-7".
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();

    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if !(-4..16).contains(&exponent) {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
    } else if exponent >= 0 {
        // `exponent` is in 0..16, so this conversion cannot fail.
        let integer_digits = usize::try_from(exponent).unwrap_or(0) + 1;
        if digits.len() > integer_digits {
            let (integer, fraction) = digits.split_at(integer_digits);
            out.push_str(integer);
            out.push('.');
            out.push_str(fraction);
        } else {
            out.push_str(&digits);
            for _ in digits.len()..integer_digits {
                out.push('0');
            }
            out.push_str(".0");
        }
    } else {
        out.push_str("0.");
        for _ in 1..exponent.unsigned_abs() {
            out.push('0');
        }
        out.push_str(&digits);
    }
    out
}

/// Python `int(value)`, the `%{n}d` caster applied to a client value.
///
/// - integers stay exactly as they are (any size; `-0` becomes `0`);
/// - floats are truncated toward zero (`7.9` → `7`, exactly, even for `1e300`);
/// - `true`/`false` → `1`/`0`;
/// - strings: optional surrounding whitespace, optional sign, ASCII decimal digits with single
///   `_` separators allowed between digits (`" 77 "` → `77`, `"1_000"` → `1000`); anything else
///   is `invalid literal for int() with base 10: '7.5'`;
/// - `null`, lists and dicts: `int() argument must be a string, a bytes-like object or a number,
///   not 'NoneType'` (Python 3.7's wording).
pub fn py_int(value: &Value) -> Result<Value, String> {
    let digits = match value {
        Value::Bool(flag) => return Ok(Value::Number(Number::from(u8::from(*flag)))),
        Value::Number(number) if is_py_int(number) => canonical_integer(number.as_str())
            .ok_or_else(|| format!("invalid integer {}", number.as_str()))?,
        Value::Number(number) => {
            let x: f64 = number
                .as_str()
                .parse()
                .map_err(|_| format!("invalid number {number}"))?;
            float_to_integer_text(x)?
        }
        Value::String(text) => parse_int_literal(text).ok_or_else(|| {
            format!(
                "invalid literal for int() with base 10: {}",
                truncate_chars(&py_repr(value), 200)
            )
        })?,
        Value::Null | Value::Array(_) | Value::Object(_) => {
            return Err(format!(
                "int() argument must be a string, a bytes-like object or a number, not '{}'",
                py_type_name(value)
            ))
        }
    };
    integer_number(&digits).map(Value::Number)
}

/// Whether a JSON number is a Python `int` (its text has no fraction or exponent).
fn is_py_int(number: &Number) -> bool {
    !number.as_str().contains(['.', 'e', 'E'])
}

/// Builds a [`Number`] from canonical integer text (`-?[0-9]+`, no leading zeros).
fn integer_number(digits: &str) -> Result<Number, String> {
    serde_json::from_str::<Number>(digits)
        .map_err(|error| format!("cannot represent integer {digits}: {error}"))
}

/// Canonical text of an integer given as `[+-]?[0-9]+`: no `+`, no leading zeros, no `-0`.
fn canonical_integer(text: &str) -> Option<String> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = unsigned.trim_start_matches('0');
    if significant.is_empty() {
        return Some("0".to_owned());
    }
    let mut out = String::with_capacity(significant.len() + 1);
    if negative {
        out.push('-');
    }
    out.push_str(significant);
    Some(out)
}

/// Python's `str.isspace()` set: Rust's White_Space plus the ASCII separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Parses a Python base-10 integer literal as `int(str)` does, returning canonical digits.
fn parse_int_literal(text: &str) -> Option<String> {
    let trimmed = text.trim_matches(is_py_space);
    let (sign, body) = match trimmed.as_bytes().first() {
        Some(b'-') => ("-", trimmed.get(1..)?),
        Some(b'+') => ("", trimmed.get(1..)?),
        _ => ("", trimmed),
    };
    // Digits, with single underscores allowed only between two digits.
    let mut digits = String::with_capacity(body.len() + 1);
    digits.push_str(sign);
    let mut previous_was_digit = false;
    for byte in body.bytes() {
        match byte {
            b'0'..=b'9' => {
                digits.push(char::from(byte));
                previous_was_digit = true;
            }
            b'_' if previous_was_digit => previous_was_digit = false,
            _ => return None,
        }
    }
    if !previous_was_digit {
        // Empty, or ends with `_`.
        return None;
    }
    canonical_integer(&digits)
}

/// The exact integer part of a float, as Python's `int(float)` computes it.
fn float_to_integer_text(x: f64) -> Result<String, String> {
    if x.is_nan() {
        return Err("cannot convert float NaN to integer".to_owned());
    }
    if x.is_infinite() {
        return Err("cannot convert float infinity to integer".to_owned());
    }
    let truncated = x.trunc();
    // Below 2^63 in magnitude the conversion is exact.
    if truncated.abs() < 9_223_372_036_854_775_808.0 {
        #[allow(clippy::cast_possible_truncation)]
        let small = truncated as i64;
        return Ok(small.to_string());
    }
    // Larger floats are integers of the form mantissa * 2^exponent with exponent > 0.
    let bits = truncated.to_bits();
    let biased_exponent = i32::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let mantissa = (bits & ((1_u64 << 52) - 1)) | (1_u64 << 52);
    let shift = biased_exponent - 1075;
    let mut text = String::new();
    if truncated < 0.0 {
        text.push('-');
    }
    text.push_str(&decimal_of_shifted(
        mantissa,
        u32::try_from(shift).unwrap_or(0),
    ));
    Ok(text)
}

/// Decimal text of `mantissa * 2^shift`, computed with base-10^9 limbs.
fn decimal_of_shifted(mantissa: u64, shift: u32) -> String {
    const LIMB: u64 = 1_000_000_000;
    let mut limbs: Vec<u64> = Vec::new(); // little-endian, each < LIMB
    let mut rest = mantissa;
    while rest > 0 {
        limbs.push(rest % LIMB);
        rest /= LIMB;
    }
    let mut remaining = shift;
    while remaining > 0 {
        // limb * 2^step + carry stays far below u64::MAX for step <= 30.
        let step = remaining.min(30);
        let mut carry = 0_u64;
        for limb in &mut limbs {
            let product = (*limb << step) + carry;
            *limb = product % LIMB;
            carry = product / LIMB;
        }
        while carry > 0 {
            limbs.push(carry % LIMB);
            carry /= LIMB;
        }
        remaining -= step;
    }
    let mut out = String::with_capacity(limbs.len() * 9);
    let mut iter = limbs.iter().rev();
    if let Some(most_significant) = iter.next() {
        out.push_str(&most_significant.to_string());
    } else {
        out.push('0');
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    out
}

/// The first `max` characters of `text` (Python's `%.200R` truncation).
fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => text.get(..end).unwrap_or(text),
        None => text,
    }
}

fn push_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(number) => push_number(out, number),
        Value::String(text) => push_str_repr(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                push_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => push_dict_repr(out, map),
    }
}

fn push_dict_repr(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (index, (key, item)) in map.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        push_str_repr(out, key);
        out.push_str(": ");
        push_repr(out, item);
    }
    out.push('}');
}

fn push_number(out: &mut String, number: &Number) {
    let text = number.as_str();
    if is_py_int(number) {
        match canonical_integer(text) {
            Some(canonical) => out.push_str(&canonical),
            None => out.push_str(text),
        }
    } else {
        // Out-of-range texts such as 1e400 parse to ±inf, as in Python's json.loads.
        match text.parse::<f64>() {
            Ok(x) => out.push_str(&py_float_repr(x)),
            Err(_) => out.push_str(text),
        }
    }
}

/// Appends Python's `repr()` of a `str`.
fn push_str_repr(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.reserve(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_py_printable(c) => out.push(c),
            c => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
        }
    }
    out.push(quote);
}

/// Approximates Python's `str.isprintable()` for one character: everything except control
/// (Cc), format (Cf), private-use (Co), line/paragraph separators (Zl, Zp), spaces other than
/// U+0020 (Zs) and noncharacters. Unassigned code points (the rest of Cn) are treated as
/// printable, since that needs the Unicode database.
fn is_py_printable(c: char) -> bool {
    let code = u32::from(c);
    if (0x20..0x7f).contains(&code) {
        return true;
    }
    !matches!(code,
        // Cc
        0x00..=0x1f | 0x7f..=0x9f
        // Zs other than the ASCII space
        | 0xa0 | 0x1680 | 0x2000..=0x200a | 0x202f | 0x205f | 0x3000
        // Zl, Zp
        | 0x2028 | 0x2029
        // Cf
        | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x8e2 | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb
        | 0x110bd | 0x110cd | 0x13430..=0x13438 | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a
        | 0xe0001 | 0xe0020..=0xe007f
        // Co
        | 0xe000..=0xf8ff | 0xf0000..=0xffffd | 0x100000..=0x10fffd
        // Noncharacters (Cn)
        | 0xfdd0..=0xfdef
    ) && (code & 0xfffe) != 0xfffe
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        match serde_json::from_str(text) {
            Ok(value) => value,
            Err(error) => panic!("bad test JSON {text:?}: {error}"),
        }
    }

    #[test]
    fn str_of_scalars() {
        assert_eq!(py_str(&Value::Null), "None");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(false)), "False");
        assert_eq!(py_str(&value("132073")), "132073");
        assert_eq!(py_str(&value("-5")), "-5");
        assert_eq!(py_str(&value("-0")), "0");
        assert_eq!(
            py_str(&value("12345678901234567890123")),
            "12345678901234567890123"
        );
        assert_eq!(py_str(&value("1.5")), "1.5");
        assert_eq!(py_str(&value("1.50")), "1.5");
        assert_eq!(py_str(&value("3.0")), "3.0");
        assert_eq!(py_str(&value("1E5")), "100000.0");
        assert_eq!(py_str(&value("1e16")), "1e+16");
        assert_eq!(py_str(&value("-0.0")), "-0.0");
        assert_eq!(py_str(&value("1e400")), "inf");
        assert_eq!(py_str(&value("-1e400")), "-inf");
        assert_eq!(py_str(&json!("spoofed.example")), "spoofed.example");
        assert_eq!(py_str(&json!("it's")), "it's");
    }

    #[test]
    fn str_of_containers_is_their_repr() {
        assert_eq!(
            py_str(&value(r#"{"a": 1, "b": [true, null]}"#)),
            "{'a': 1, 'b': [True, None]}"
        );
        assert_eq!(py_str(&value("[]")), "[]");
        assert_eq!(py_str(&value("{}")), "{}");
        assert_eq!(
            py_str(&value(r#"["x", 1.0, {"k": "it's"}]"#)),
            r#"['x', 1.0, {'k': "it's"}]"#
        );
        // Keys come out in the map's (sorted) order.
        assert_eq!(py_str(&value(r#"{"b": 1, "a": 2}"#)), "{'a': 2, 'b': 1}");
    }

    #[test]
    fn repr_of_strings() {
        assert_eq!(py_repr(&json!("abc")), "'abc'");
        assert_eq!(py_repr(&json!("")), "''");
        assert_eq!(py_repr(&json!("it's")), r#""it's""#);
        assert_eq!(py_repr(&json!("say \"hi\"")), r#"'say "hi"'"#);
        assert_eq!(py_repr(&json!("both ' and \"")), r#"'both \' and "'"#);
        assert_eq!(py_repr(&json!("back\\slash")), r"'back\\slash'");
        assert_eq!(py_repr(&json!("a\tb\nc\rd")), r"'a\tb\nc\rd'");
        assert_eq!(py_repr(&json!("\u{0}\u{1f}\u{7f}")), r"'\x00\x1f\x7f'");
        assert_eq!(py_repr(&json!("\u{85}\u{a0}é")), r"'\x85\xa0é'");
        assert_eq!(py_repr(&json!("☆😀")), "'☆😀'");
        assert_eq!(py_repr(&json!("\u{2028}\u{feff}")), r"'\u2028\ufeff'");
        assert_eq!(py_repr(&json!("\u{e0001}")), r"'\U000e0001'");
        assert_eq!(py_repr(&json!("\u{ffff}")), r"'\uffff'");
        assert_eq!(py_repr(&json!("7.5")), "'7.5'");
    }

    #[test]
    fn repr_of_non_strings_equals_str() {
        assert_eq!(py_repr(&Value::Null), "None");
        assert_eq!(py_repr(&value("1358791834.5")), "1358791834.5");
        assert_eq!(py_repr(&json!({"a": 1})), "{'a': 1}");
    }

    #[test]
    fn type_names() {
        assert_eq!(py_type_name(&Value::Null), "NoneType");
        assert_eq!(py_type_name(&json!(true)), "bool");
        assert_eq!(py_type_name(&value("7")), "int");
        assert_eq!(py_type_name(&value("-12345678901234567890123")), "int");
        assert_eq!(py_type_name(&value("7.0")), "float");
        assert_eq!(py_type_name(&value("7e0")), "float");
        assert_eq!(py_type_name(&value("7E0")), "float");
        assert_eq!(py_type_name(&json!("7")), "str");
        assert_eq!(py_type_name(&json!([])), "list");
        assert_eq!(py_type_name(&json!({})), "dict");
    }

    #[test]
    fn float_repr() {
        assert_eq!(py_float_repr(1.5), "1.5");
        assert_eq!(py_float_repr(1e16), "1e+16");
        assert_eq!(py_float_repr(1e15), "1000000000000000.0");
        assert_eq!(py_float_repr(1e-5), "1e-05");
        assert_eq!(py_float_repr(1e-4), "0.0001");
        assert_eq!(py_float_repr(0.00012), "0.00012");
        assert_eq!(py_float_repr(1.5e-7), "1.5e-07");
        assert_eq!(py_float_repr(3.0), "3.0");
        assert_eq!(py_float_repr(0.1), "0.1");
        assert_eq!(py_float_repr(2.5e-3), "0.0025");
        assert_eq!(py_float_repr(1234.5678), "1234.5678");
        assert_eq!(py_float_repr(123456789012345.0), "123456789012345.0");
        assert_eq!(py_float_repr(1234567890123456.7), "1234567890123456.8");
        assert_eq!(py_float_repr(12345678901234567.0), "1.2345678901234568e+16");
        assert_eq!(py_float_repr(1e100), "1e+100");
        assert_eq!(py_float_repr(-2.5e-300), "-2.5e-300");
        assert_eq!(py_float_repr(5e-324), "5e-324");
        assert_eq!(py_float_repr(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(py_float_repr(0.0), "0.0");
        assert_eq!(py_float_repr(-0.0), "-0.0");
        assert_eq!(py_float_repr(-1.0), "-1.0");
        assert_eq!(py_float_repr(f64::INFINITY), "inf");
        assert_eq!(py_float_repr(f64::NEG_INFINITY), "-inf");
        assert_eq!(py_float_repr(f64::NAN), "nan");
        assert_eq!(py_float_repr(1358791834.5), "1358791834.5");
        assert_eq!(py_float_repr(0.1 + 0.2), "0.30000000000000004");
    }

    fn int_text(input: &Value) -> Result<String, String> {
        py_int(input).map(|v| v.to_string())
    }

    #[test]
    fn int_of_strings() {
        assert_eq!(int_text(&json!("77")), Ok("77".to_owned()));
        assert_eq!(int_text(&json!(" 77 ")), Ok("77".to_owned()));
        assert_eq!(int_text(&json!("\t+77\n")), Ok("77".to_owned()));
        assert_eq!(int_text(&json!("-77")), Ok("-77".to_owned()));
        assert_eq!(int_text(&json!("-0")), Ok("0".to_owned()));
        assert_eq!(int_text(&json!("007")), Ok("7".to_owned()));
        assert_eq!(int_text(&json!("1_000_000")), Ok("1000000".to_owned()));
        assert_eq!(int_text(&json!("\u{a0}5\u{2003}")), Ok("5".to_owned()));
        assert_eq!(int_text(&json!("\u{1c}5")), Ok("5".to_owned()));
        assert_eq!(
            int_text(&json!("123456789012345678901234567890")),
            Ok("123456789012345678901234567890".to_owned())
        );
        assert_eq!(
            int_text(&json!("7.5")),
            Err("invalid literal for int() with base 10: '7.5'".to_owned())
        );
        for bad in [
            "", " ", "+", "-", "_1", "1_", "1__0", "1e5", "0x10", "1 2", "١٢٣",
        ] {
            assert_eq!(
                int_text(&json!(bad)),
                Err(format!(
                    "invalid literal for int() with base 10: {}",
                    py_repr(&json!(bad))
                )),
                "{bad:?}"
            );
        }
        assert_eq!(
            int_text(&json!("it's")),
            Err(r#"invalid literal for int() with base 10: "it's""#.to_owned())
        );
        // Python truncates the repr in the message to 200 characters.
        let long = "x".repeat(300);
        assert_eq!(
            int_text(&json!(long)),
            Err(format!(
                "invalid literal for int() with base 10: '{}",
                "x".repeat(199)
            ))
        );
    }

    #[test]
    fn int_of_numbers_and_bools() {
        assert_eq!(int_text(&value("77")), Ok("77".to_owned()));
        assert_eq!(int_text(&value("-0")), Ok("0".to_owned()));
        assert_eq!(
            int_text(&value("12345678901234567890123")),
            Ok("12345678901234567890123".to_owned())
        );
        assert_eq!(int_text(&value("7.9")), Ok("7".to_owned()));
        assert_eq!(int_text(&value("-7.9")), Ok("-7".to_owned()));
        assert_eq!(int_text(&value("-0.5")), Ok("0".to_owned()));
        assert_eq!(int_text(&value("1e5")), Ok("100000".to_owned()));
        assert_eq!(
            int_text(&value("1e20")),
            Ok("100000000000000000000".to_owned())
        );
        assert_eq!(
            int_text(&value("-9223372036854775808.0")),
            Ok("-9223372036854775808".to_owned())
        );
        assert_eq!(
            int_text(&value("1e23")),
            Ok("99999999999999991611392".to_owned())
        );
        assert_eq!(
            int_text(&value("1.7976931348623157e308")).map(|t| t.len()),
            Ok(309)
        );
        assert_eq!(
            int_text(&value("1e400")),
            Err("cannot convert float infinity to integer".to_owned())
        );
        assert_eq!(int_text(&json!(true)), Ok("1".to_owned()));
        assert_eq!(int_text(&json!(false)), Ok("0".to_owned()));
    }

    #[test]
    fn int_of_other_types() {
        assert_eq!(
            int_text(&Value::Null),
            Err(
                "int() argument must be a string, a bytes-like object or a number, \
                 not 'NoneType'"
                    .to_owned()
            )
        );
        assert_eq!(
            int_text(&json!([1])),
            Err(
                "int() argument must be a string, a bytes-like object or a number, not 'list'"
                    .to_owned()
            )
        );
        assert_eq!(
            int_text(&json!({"a": 1})),
            Err(
                "int() argument must be a string, a bytes-like object or a number, not 'dict'"
                    .to_owned()
            )
        );
    }

    #[test]
    fn int_results_are_json_integers() {
        assert_eq!(py_int(&json!("77")), Ok(value("77")));
        assert_eq!(
            py_type_name(&py_int(&value("7.9")).unwrap_or_default()),
            "int"
        );
    }
}
