//! Timestamp normalisation: the `%D` caster (ISO-8601 `dt`), the legacy `%t` caster (unix
//! seconds) and epoch-number conversion, with small self-contained calendar arithmetic.
//!
//! Output follows Python's `datetime.isoformat()` with `+00:00` written as `Z` (reference §3.3):
//! `YYYY-MM-DDTHH:MM:SS`, then `.ffffff` only when the microseconds are non-zero, then `Z` for
//! UTC or naive values, or the kept offset `+HH:MM`.
//!
//! Strings are accepted in a documented ISO-8601 subset (Python used the lenient dateutil parser;
//! see `docs/COMPATIBILITY.md`):
//!
//! - `YYYY-MM-DD`, optionally followed by `T`, `t` or one space and `HH:MM`, `HH:MM:SS` or
//!   `HH:MM:SS.f` with 1–9 fraction digits (digits past the sixth are dropped, as dateutil does);
//! - after a time, an optional zone `Z`, `z`, `±HH:MM`, `±HHMM` or `±HH` (`+00:00`, `-00:00` and
//!   `Z` all give `Z`);
//! - surrounding ASCII whitespace is ignored.
//!
//! Out-of-range fields give Python's `datetime` messages (`month must be in 1..12`, …).

use std::fmt;

use serde_json::Value;

use crate::python::{py_repr, py_type_name};

/// A timestamp that could not be converted. [`fmt::Display`] gives the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeError {
    message: String,
}

impl DateTimeError {
    fn new(message: impl Into<String>) -> Self {
        DateTimeError {
            message: message.into(),
        }
    }

    /// The human-readable message (the same text as [`fmt::Display`]).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DateTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DateTimeError {}

const SECONDS_PER_DAY: i64 = 86_400;
const MICROS_PER_SECOND: u32 = 1_000_000;

/// A validated calendar date and time of day, with an optional UTC offset in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CivilDateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    microsecond: u32,
    /// `None` for naive and UTC values (both printed as `Z`); never `Some(0)`.
    offset_minutes: Option<i32>,
}

impl CivilDateTime {
    /// Checks the fields in the order Python's `datetime` constructor does, with its messages.
    fn validate(&self) -> Result<(), DateTimeError> {
        if !(1..=9999).contains(&self.year) {
            return Err(DateTimeError::new(format!(
                "year {} is out of range",
                self.year
            )));
        }
        if !(1..=12).contains(&self.month) {
            return Err(DateTimeError::new("month must be in 1..12"));
        }
        if self.day < 1 || self.day > days_in_month(self.year, self.month) {
            return Err(DateTimeError::new("day is out of range for month"));
        }
        if self.hour > 23 {
            return Err(DateTimeError::new("hour must be in 0..23"));
        }
        if self.minute > 59 {
            return Err(DateTimeError::new("minute must be in 0..59"));
        }
        if self.second > 59 {
            return Err(DateTimeError::new("second must be in 0..59"));
        }
        if self.microsecond >= MICROS_PER_SECOND {
            return Err(DateTimeError::new("microsecond must be in 0..999999"));
        }
        Ok(())
    }

    /// Python `isoformat()` with `+00:00` → `Z`.
    fn to_iso(self) -> String {
        let mut out = String::with_capacity(32);
        push_padded(&mut out, self.year, 4);
        out.push('-');
        push_padded(&mut out, i64::from(self.month), 2);
        out.push('-');
        push_padded(&mut out, i64::from(self.day), 2);
        out.push('T');
        push_padded(&mut out, i64::from(self.hour), 2);
        out.push(':');
        push_padded(&mut out, i64::from(self.minute), 2);
        out.push(':');
        push_padded(&mut out, i64::from(self.second), 2);
        if self.microsecond != 0 {
            out.push('.');
            push_padded(&mut out, i64::from(self.microsecond), 6);
        }
        match self.offset_minutes {
            None | Some(0) => out.push('Z'),
            Some(offset) => {
                out.push(if offset < 0 { '-' } else { '+' });
                let magnitude = i64::from(offset.unsigned_abs());
                push_padded(&mut out, magnitude / 60, 2);
                out.push(':');
                push_padded(&mut out, magnitude % 60, 2);
            }
        }
        out
    }

    /// The UTC date-time of a unix timestamp (seconds plus microseconds), any year.
    fn from_unix(seconds: i64, microsecond: u32) -> CivilDateTime {
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        // second_of_day is in 0..86400, so these conversions cannot fail.
        let hour = u32::try_from(second_of_day / 3600).unwrap_or(0);
        let minute = u32::try_from(second_of_day % 3600 / 60).unwrap_or(0);
        let second = u32::try_from(second_of_day % 60).unwrap_or(0);
        CivilDateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            microsecond,
            offset_minutes: None,
        }
    }
}

/// Appends `value` in decimal, zero-padded to at least `width` digits (negative values get a
/// leading `-`, which only happens for out-of-range years in error paths).
fn push_padded(out: &mut String, value: i64, width: usize) {
    let digits = value.unsigned_abs().to_string();
    if value < 0 {
        out.push('-');
    }
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
/// `year` must be within a few billion years of the epoch (callers validate 1..=9999).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let month = i64::from(month);
    let day = i64::from(day);
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400; // 0..=399
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
/// Works for every `i64` day count that `seconds / 86400` can produce.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days.saturating_add(719_468);
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097; // 0..=146096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0..=11, March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(0),
        u32::try_from(day).unwrap_or(0),
    )
}

/// The `%D` caster on the 19-character `YYYY-MM-DDTHH:MM:SS` value captured from the line:
/// validates the ranges and returns the same text with `Z` appended.
///
/// Anything else falls back to the general string parser of [`normalize_dt`].
///
/// ```
/// use beacon_parsers::datetime::normalize_line_dt;
/// assert_eq!(normalize_line_dt("2019-12-20T10:11:12").unwrap(), "2019-12-20T10:11:12Z");
/// assert_eq!(normalize_line_dt("2019-13-45T10:11:12").unwrap_err().to_string(),
///            "month must be in 1..12");
/// ```
pub fn normalize_line_dt(text: &str) -> Result<String, DateTimeError> {
    let Some(fields) = fixed_line_fields(text.as_bytes()) else {
        return normalize_dt_str(text);
    };
    let [year, month, day, hour, minute, second] = fields;
    CivilDateTime {
        year: i64::from(year),
        month,
        day,
        hour,
        minute,
        second,
        microsecond: 0,
        offset_minutes: None,
    }
    .validate()?;
    let mut out = String::with_capacity(text.len() + 1);
    out.push_str(text);
    out.push('Z');
    Ok(out)
}

/// The fields of an exact `DDDD-DD-DDTDD:DD:DD` (ASCII digits), or `None` for any other shape.
fn fixed_line_fields(bytes: &[u8]) -> Option<[u32; 6]> {
    let &[y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T', h1, h2, b':', mi1, mi2, b':', s1, s2] =
        bytes
    else {
        return None;
    };
    Some([
        digits_value(&[y1, y2, y3, y4])?,
        digits_value(&[mo1, mo2])?,
        digits_value(&[d1, d2])?,
        digits_value(&[h1, h2])?,
        digits_value(&[mi1, mi2])?,
        digits_value(&[s1, s2])?,
    ])
}

/// The value of a short run of ASCII digits (at most 9, so it cannot overflow).
fn digits_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0_u32, |acc, &byte| {
        byte.is_ascii_digit()
            .then(|| acc * 10 + u32::from(byte - b'0'))
    })
}

/// The `%D` caster on a client-supplied value: strings are parsed as ISO-8601 (the subset
/// described in the module docs), numbers are epoch seconds (see [`unix_value_to_iso`]), other
/// types are an error naming the Python type.
///
/// ```
/// use beacon_parsers::datetime::normalize_dt;
/// use serde_json::json;
/// assert_eq!(normalize_dt(&json!("2020-01-01T00:00:00.5+02:00")).unwrap(),
///            "2020-01-01T00:00:00.500000+02:00");
/// assert_eq!(normalize_dt(&json!(1577836800)).unwrap(), "2020-01-01T00:00:00Z");
/// ```
pub fn normalize_dt(value: &Value) -> Result<String, DateTimeError> {
    match value {
        Value::String(text) => normalize_dt_str(text),
        Value::Number(_) => unix_value_to_iso(value),
        other => Err(DateTimeError::new(format!(
            "Parser must be a string or character stream, not {}",
            py_type_name(other)
        ))),
    }
}

/// Parses and normalises one ISO-8601 string.
fn normalize_dt_str(text: &str) -> Result<String, DateTimeError> {
    parse_iso(text.trim_matches(|c: char| c.is_ascii_whitespace()))
        .ok_or_else(|| unrecognised(text))?
        .checked()
        .map(CivilDateTime::to_iso)
}

/// The error for a string outside the accepted ISO-8601 subset.
fn unrecognised(text: &str) -> DateTimeError {
    const SHOWN_CHARS: usize = 100;
    let shown: String = text.chars().take(SHOWN_CHARS).collect();
    let ellipsis = if text.chars().nth(SHOWN_CHARS).is_some() {
        "…"
    } else {
        ""
    };
    DateTimeError::new(format!(
        "unrecognised date-time {shown:?}{ellipsis} (expected ISO-8601 such as 2019-12-20T10:11:12Z)"
    ))
}

/// Milliseconds since the Unix epoch of an ISO-8601 date-time (the forms [`normalize_dt`]
/// accepts; naive values are UTC), for Kafka message timestamps. `None` if it does not parse.
pub fn iso_to_unix_millis(text: &str) -> Option<i64> {
    let civil = parse_iso(text)?.checked().ok()?;
    let days = days_from_civil(civil.year, civil.month, civil.day);
    let seconds = days
        .checked_mul(86_400)?
        .checked_add(
            i64::from(civil.hour) * 3600 + i64::from(civil.minute) * 60 + i64::from(civil.second),
        )?
        .checked_sub(i64::from(civil.offset_minutes.unwrap_or(0)) * 60)?;
    seconds
        .checked_mul(1000)?
        .checked_add(i64::from(civil.microsecond / 1000))
}

/// The syntactic result of parsing an ISO-8601 string, before range checks.
struct ParsedIso {
    fields: CivilDateTime,
    /// Offset as written: sign (+1/-1), hours, minutes.
    offset: Option<(i32, u32, u32)>,
}

impl ParsedIso {
    /// Applies the range checks and resolves the offset.
    fn checked(self) -> Result<CivilDateTime, DateTimeError> {
        let mut fields = self.fields;
        fields.validate()?;
        if let Some((sign, hours, minutes)) = self.offset {
            if minutes > 59 {
                return Err(DateTimeError::new("UTC offset minutes must be in 0..59"));
            }
            if hours > 23 {
                let sign_char = if sign < 0 { '-' } else { '+' };
                return Err(DateTimeError::new(format!(
                    "UTC offset {sign_char}{hours:02}:{minutes:02} is out of range \
                     (must be strictly between -24:00 and +24:00)"
                )));
            }
            // hours <= 23 and minutes <= 59, so this fits easily.
            let total = i32::try_from(hours * 60 + minutes).unwrap_or(0) * sign;
            fields.offset_minutes = (total != 0).then_some(total);
        }
        Ok(fields)
    }
}

/// A tiny cursor over ASCII bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn at_end(&self) -> bool {
        self.position >= self.bytes.len()
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    /// Consumes exactly `count` ASCII digits and returns their value.
    fn digits(&mut self, count: usize) -> Option<u32> {
        let end = self.position.checked_add(count)?;
        let value = digits_value(self.bytes.get(self.position..end)?)?;
        self.position = end;
        Some(value)
    }

    /// Consumes a run of ASCII digits and returns it.
    fn digit_run(&mut self) -> &[u8] {
        let start = self.position;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.position += 1;
        }
        self.bytes.get(start..self.position).unwrap_or_default()
    }
}

/// Parses the accepted ISO-8601 subset; `None` if the text does not have that shape.
fn parse_iso(text: &str) -> Option<ParsedIso> {
    let mut cursor = Cursor {
        bytes: text.as_bytes(),
        position: 0,
    };
    let year = cursor.digits(4)?;
    let mut fields = CivilDateTime {
        year: i64::from(year),
        month: 0,
        day: 0,
        hour: 0,
        minute: 0,
        second: 0,
        microsecond: 0,
        offset_minutes: None,
    };
    let mut offset = None;
    if !cursor.eat(b'-') {
        return None;
    }
    fields.month = cursor.digits(2)?;
    if !cursor.eat(b'-') {
        return None;
    }
    fields.day = cursor.digits(2)?;
    if cursor.at_end() {
        return Some(ParsedIso { fields, offset });
    }

    if !(cursor.eat(b'T') || cursor.eat(b't') || cursor.eat(b' ')) {
        return None;
    }
    fields.hour = cursor.digits(2)?;
    if !cursor.eat(b':') {
        return None;
    }
    fields.minute = cursor.digits(2)?;
    if cursor.eat(b':') {
        fields.second = cursor.digits(2)?;
        if cursor.eat(b'.') {
            let fraction = cursor.digit_run();
            if fraction.is_empty() || fraction.len() > 9 {
                return None;
            }
            // Keep the first six digits (truncating, like dateutil), padded to microseconds.
            let kept = fraction.get(..fraction.len().min(6)).unwrap_or_default();
            let mut micro = digits_value(kept)?;
            for _ in kept.len()..6 {
                micro *= 10;
            }
            fields.microsecond = micro;
        }
    }

    match cursor.peek() {
        None => {}
        Some(b'Z' | b'z') => {
            cursor.position += 1;
        }
        Some(sign_byte @ (b'+' | b'-')) => {
            cursor.position += 1;
            let sign = if sign_byte == b'-' { -1 } else { 1 };
            let hours = cursor.digits(2)?;
            let minutes = if cursor.at_end() {
                0
            } else {
                cursor.eat(b':');
                cursor.digits(2)?
            };
            offset = Some((sign, hours, minutes));
        }
        Some(_) => return None,
    }
    if !cursor.at_end() {
        return None;
    }
    Some(ParsedIso { fields, offset })
}

/// The legacy `%t` caster: Python's `time.strptime(text, '%Y-%m-%dT%H:%M:%S')` read as UTC
/// (`calendar.timegm`), giving unix seconds.
///
/// Like strptime, single-digit month/day/hour/minute/second fields are accepted, the `T` is
/// case-insensitive, seconds 60 and 61 are accepted (and roll over), and the messages are
/// Python's: `time data '…' does not match format '%Y-%m-%dT%H:%M:%S'`,
/// `unconverted data remains: …`, `day is out of range for month`, `year 0 is out of range`.
///
/// ```
/// use beacon_parsers::datetime::ncsa_to_unix;
/// assert_eq!(ncsa_to_unix("2013-01-19T23:16:38").unwrap(), 1358637398);
/// ```
pub fn ncsa_to_unix(text: &str) -> Result<i64, DateTimeError> {
    let bytes = text.as_bytes();
    let mut values = [0_u32; 6];
    let Some(end) = match_strptime_field(bytes, 0, 0, &mut values) else {
        return Err(DateTimeError::new(format!(
            "time data {} does not match format '%Y-%m-%dT%H:%M:%S'",
            py_repr(&Value::String(text.to_owned()))
        )));
    };
    if let Some(rest) = text.get(end..).filter(|rest| !rest.is_empty()) {
        return Err(DateTimeError::new(format!(
            "unconverted data remains: {rest}"
        )));
    }
    let [year, month, day, hour, minute, second] = values;
    let year = i64::from(year);
    if year < 1 {
        return Err(DateTimeError::new(format!("year {year} is out of range")));
    }
    if day > days_in_month(year, month) {
        return Err(DateTimeError::new("day is out of range for month"));
    }
    Ok(days_from_civil(year, month, day) * SECONDS_PER_DAY
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second))
}

/// One alternative of a strptime field regex: an inclusive byte range per matched byte.
type StrptimeAlternative = &'static [(u8, u8)];

const DIGIT: (u8, u8) = (b'0', b'9');

/// The `%Y %m %d %H %M %S` regexes of Python's `_strptime`, alternatives in regex order.
const STRPTIME_FIELDS: [&[StrptimeAlternative]; 6] = [
    // %Y: \d\d\d\d
    &[&[DIGIT, DIGIT, DIGIT, DIGIT]],
    // %m: 1[0-2]|0[1-9]|[1-9]
    &[
        &[(b'1', b'1'), (b'0', b'2')],
        &[(b'0', b'0'), (b'1', b'9')],
        &[(b'1', b'9')],
    ],
    // %d: 3[01]|[12]\d|0[1-9]|[1-9]| [1-9]
    &[
        &[(b'3', b'3'), (b'0', b'1')],
        &[(b'1', b'2'), DIGIT],
        &[(b'0', b'0'), (b'1', b'9')],
        &[(b'1', b'9')],
        &[(b' ', b' '), (b'1', b'9')],
    ],
    // %H: 2[0-3]|[0-1]\d|\d
    &[
        &[(b'2', b'2'), (b'0', b'3')],
        &[(b'0', b'1'), DIGIT],
        &[DIGIT],
    ],
    // %M: [0-5]\d|\d
    &[&[(b'0', b'5'), DIGIT], &[DIGIT]],
    // %S: 6[0-1]|[0-5]\d|\d
    &[
        &[(b'6', b'6'), (b'0', b'1')],
        &[(b'0', b'5'), DIGIT],
        &[DIGIT],
    ],
];

/// The literal after each field but the last (`T` matches case-insensitively).
const STRPTIME_SEPARATORS: [u8; 5] = [b'-', b'-', b'T', b':', b':'];

/// Backtracking match of fields `field..` at `position`, like Python's `re.match` on the
/// strptime regex. Fills `values` and returns the end of the match.
fn match_strptime_field(
    bytes: &[u8],
    position: usize,
    field: usize,
    values: &mut [u32; 6],
) -> Option<usize> {
    let alternatives = STRPTIME_FIELDS.get(field)?;
    for alternative in alternatives.iter() {
        let end = position + alternative.len();
        let Some(candidate) = bytes.get(position..end) else {
            continue;
        };
        let matches = candidate
            .iter()
            .zip(alternative.iter())
            .all(|(&byte, &(low, high))| (low..=high).contains(&byte));
        if !matches {
            continue;
        }
        let value = candidate
            .iter()
            .filter(|b| b.is_ascii_digit())
            .fold(0_u32, |acc, &b| acc * 10 + u32::from(b - b'0'));
        if let Some(slot) = values.get_mut(field) {
            *slot = value;
        }
        let Some(&separator) = STRPTIME_SEPARATORS.get(field) else {
            // The last field: re.match succeeds with the first matching alternative.
            return Some(end);
        };
        let separator_matches = bytes
            .get(end)
            .is_some_and(|b| b.eq_ignore_ascii_case(&separator));
        if separator_matches {
            if let Some(found) = match_strptime_field(bytes, end + 1, field + 1, values) {
                return Some(found);
            }
        }
    }
    None
}

/// Unix seconds to `YYYY-MM-DDTHH:MM:SSZ`; `None` when the year falls outside 1..=9999.
///
/// ```
/// use beacon_parsers::datetime::unix_to_iso;
/// assert_eq!(unix_to_iso(1358637398).as_deref(), Some("2013-01-19T23:16:38Z"));
/// ```
pub fn unix_to_iso(seconds: i64) -> Option<String> {
    let civil = CivilDateTime::from_unix(seconds, 0);
    (1..=9999).contains(&civil.year).then(|| civil.to_iso())
}

/// The `%D` caster on a number: epoch seconds, int or float (Python's `fromtimestamp` in UTC).
///
/// - ints give whole seconds; floats keep microseconds, rounded half-to-even;
/// - a value whose year falls outside 1..=9999 is retried as milliseconds (value / 1000 as a
///   float, like Python's true division): `1358791834912` → `2013-01-21T18:10:34.912000Z`;
/// - values that are still out of range give `year N is out of range`; values beyond the
///   64-bit `time_t` range give `timestamp out of range for platform time_t`.
///
/// Non-numbers are an error naming their Python type.
pub fn unix_value_to_iso(value: &Value) -> Result<String, DateTimeError> {
    let Value::Number(number) = value else {
        return Err(DateTimeError::new(format!(
            "epoch timestamp must be a number, not '{}'",
            py_type_name(value)
        )));
    };
    let text = number.as_str();
    let is_int = !text.contains(['.', 'e', 'E']);
    if is_int {
        let seconds: i64 = text
            .parse()
            .map_err(|_| DateTimeError::new("timestamp out of range for platform time_t"))?;
        let civil = CivilDateTime::from_unix(seconds, 0);
        if civil.validate().is_ok() {
            return Ok(civil.to_iso());
        }
        // Retry as milliseconds; `as f64` is exact below 2^53 and beyond that the year is far
        // out of range either way.
        #[allow(clippy::cast_precision_loss)]
        let milliseconds = seconds as f64;
        return float_seconds_to_civil(milliseconds / 1000.0).map(CivilDateTime::to_iso);
    }
    let seconds: f64 = text
        .parse()
        .map_err(|_| DateTimeError::new(format!("invalid number {text}")))?;
    match float_seconds_to_civil(seconds) {
        Ok(civil) => Ok(civil.to_iso()),
        Err(_) if seconds.is_finite() => {
            float_seconds_to_civil(seconds / 1000.0).map(CivilDateTime::to_iso)
        }
        Err(error) => Err(error),
    }
}

/// Python's `datetime.fromtimestamp(seconds)` in UTC: splits off the fraction, rounds it to
/// microseconds half-to-even and checks the ranges.
fn float_seconds_to_civil(seconds: f64) -> Result<CivilDateTime, DateTimeError> {
    if seconds.is_nan() {
        return Err(DateTimeError::new("cannot convert float NaN to integer"));
    }
    if seconds.is_infinite() {
        return Err(DateTimeError::new(
            "cannot convert float infinity to integer",
        ));
    }
    let mut whole = seconds.trunc();
    let mut micros = ((seconds - whole) * 1e6).round_ties_even();
    if micros >= 1e6 {
        micros -= 1e6;
        whole += 1.0;
    } else if micros < 0.0 {
        micros += 1e6;
        whole -= 1.0;
    }
    // Exactly representable bounds of i64 (−2^63 inclusive, 2^63 exclusive).
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&whole) {
        return Err(DateTimeError::new(
            "timestamp out of range for platform time_t",
        ));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (whole, micros) = (whole as i64, micros as u32);
    let civil = CivilDateTime::from_unix(whole, micros);
    civil.validate()?;
    Ok(civil)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn number(text: &str) -> Value {
        match serde_json::from_str(text) {
            Ok(value) => value,
            Err(error) => panic!("bad test number {text:?}: {error}"),
        }
    }

    fn dt(value: &Value) -> Result<String, String> {
        normalize_dt(value).map_err(|e| e.to_string())
    }

    fn dt_str(text: &str) -> Result<String, String> {
        dt(&json!(text))
    }

    fn line_dt(text: &str) -> Result<String, String> {
        normalize_line_dt(text).map_err(|e| e.to_string())
    }

    fn ok(text: &str) -> Result<String, String> {
        Ok(text.to_owned())
    }

    fn err(text: &str) -> Result<String, String> {
        Err(text.to_owned())
    }

    #[test]
    fn reference_table_section_3_3() {
        assert_eq!(dt_str("2013-01-19T23:16:38"), ok("2013-01-19T23:16:38Z"));
        assert_eq!(
            dt_str("2020-01-01T00:00:00.5+02:00"),
            ok("2020-01-01T00:00:00.500000+02:00")
        );
        assert_eq!(
            dt_str("2020-01-01T00:00:00.123456Z"),
            ok("2020-01-01T00:00:00.123456Z")
        );
        assert_eq!(dt(&number("1358791834")), ok("2013-01-21T18:10:34Z"));
        assert_eq!(
            dt(&number("1358791834.5")),
            ok("2013-01-21T18:10:34.500000Z")
        );
        assert_eq!(
            dt(&number("1358791834912")),
            ok("2013-01-21T18:10:34.912000Z")
        );
        assert_eq!(
            line_dt("2019-13-45T10:11:12"),
            err("month must be in 1..12")
        );
        // §2.3 examples.
        assert_eq!(dt(&number("1577836800")), ok("2020-01-01T00:00:00Z"));
        assert!(dt_str("not a date").is_err());
    }

    #[test]
    fn line_values() {
        assert_eq!(line_dt("2019-12-20T10:11:12"), ok("2019-12-20T10:11:12Z"));
        assert_eq!(line_dt("2013-01-19T23:16:38"), ok("2013-01-19T23:16:38Z"));
        assert_eq!(line_dt("0001-01-01T00:00:00"), ok("0001-01-01T00:00:00Z"));
        assert_eq!(line_dt("9999-12-31T23:59:59"), ok("9999-12-31T23:59:59Z"));
        // TV-18.
        assert_eq!(
            line_dt("2019-13-45T10:11:12"),
            err("month must be in 1..12")
        );
        assert_eq!(
            line_dt("2019-00-10T10:11:12"),
            err("month must be in 1..12")
        );
        assert_eq!(
            line_dt("2019-04-31T10:11:12"),
            err("day is out of range for month")
        );
        assert_eq!(
            line_dt("2019-04-00T10:11:12"),
            err("day is out of range for month")
        );
        assert_eq!(line_dt("2019-04-30T24:00:00"), err("hour must be in 0..23"));
        assert_eq!(
            line_dt("2019-04-30T23:60:00"),
            err("minute must be in 0..59")
        );
        assert_eq!(
            line_dt("2019-04-30T23:59:60"),
            err("second must be in 0..59")
        );
        assert_eq!(
            line_dt("0000-01-01T00:00:00"),
            err("year 0 is out of range")
        );
        // Python checks the month before the day, the date before the time.
        assert_eq!(
            line_dt("2019-13-45T99:99:99"),
            err("month must be in 1..12")
        );
        assert_eq!(
            line_dt("2019-02-30T99:99:99"),
            err("day is out of range for month")
        );
        // Other shapes go through the general parser.
        assert_eq!(line_dt("2019-12-20 10:11:12"), ok("2019-12-20T10:11:12Z"));
        assert_eq!(
            line_dt("2019-12-2010:11:12"),
            err("unrecognised date-time \"2019-12-2010:11:12\" \
                 (expected ISO-8601 such as 2019-12-20T10:11:12Z)")
        );
        assert!(line_dt("٢٠١٩-12-20T10:11:12").is_err());
    }

    #[test]
    fn leap_years() {
        assert_eq!(line_dt("2020-02-29T00:00:00"), ok("2020-02-29T00:00:00Z"));
        assert_eq!(
            line_dt("2019-02-29T00:00:00"),
            err("day is out of range for month")
        );
        assert_eq!(line_dt("2000-02-29T00:00:00"), ok("2000-02-29T00:00:00Z"));
        assert_eq!(
            line_dt("1900-02-29T00:00:00"),
            err("day is out of range for month")
        );
        assert_eq!(dt_str("2024-02-29"), ok("2024-02-29T00:00:00Z"));
        assert_eq!(dt_str("2023-02-29"), err("day is out of range for month"));
    }

    #[test]
    fn accepted_string_forms() {
        assert_eq!(dt_str("2019-12-20"), ok("2019-12-20T00:00:00Z"));
        assert_eq!(dt_str("2019-12-20T10:11"), ok("2019-12-20T10:11:00Z"));
        assert_eq!(dt_str("2019-12-20t10:11:12"), ok("2019-12-20T10:11:12Z"));
        assert_eq!(dt_str("2019-12-20 10:11:12"), ok("2019-12-20T10:11:12Z"));
        assert_eq!(
            dt_str("  2019-12-20T10:11:12\n"),
            ok("2019-12-20T10:11:12Z")
        );
        assert_eq!(dt_str("2019-12-20T10:11:12Z"), ok("2019-12-20T10:11:12Z"));
        assert_eq!(dt_str("2019-12-20T10:11:12z"), ok("2019-12-20T10:11:12Z"));
        assert_eq!(dt_str("2019-12-20T10:11Z"), ok("2019-12-20T10:11:00Z"));
        assert_eq!(
            dt_str("2019-12-20T10:11:12+00:00"),
            ok("2019-12-20T10:11:12Z")
        );
        assert_eq!(
            dt_str("2019-12-20T10:11:12-00:00"),
            ok("2019-12-20T10:11:12Z")
        );
        assert_eq!(
            dt_str("2019-12-20T10:11:12+0000"),
            ok("2019-12-20T10:11:12Z")
        );
        assert_eq!(dt_str("2019-12-20T10:11:12+00"), ok("2019-12-20T10:11:12Z"));
        assert_eq!(
            dt_str("2019-12-20T10:11:12+05:30"),
            ok("2019-12-20T10:11:12+05:30")
        );
        assert_eq!(
            dt_str("2019-12-20T10:11:12+0530"),
            ok("2019-12-20T10:11:12+05:30")
        );
        assert_eq!(
            dt_str("2019-12-20T10:11:12-08"),
            ok("2019-12-20T10:11:12-08:00")
        );
        assert_eq!(
            dt_str("2019-12-20T10:11:12-23:59"),
            ok("2019-12-20T10:11:12-23:59")
        );
    }

    #[test]
    fn fractions() {
        assert_eq!(dt_str("2020-01-01T00:00:00.0"), ok("2020-01-01T00:00:00Z"));
        assert_eq!(
            dt_str("2020-01-01T00:00:00.000000Z"),
            ok("2020-01-01T00:00:00Z")
        );
        assert_eq!(
            dt_str("2020-01-01T00:00:00.000001"),
            ok("2020-01-01T00:00:00.000001Z")
        );
        assert_eq!(
            dt_str("2020-01-01T00:00:00.12"),
            ok("2020-01-01T00:00:00.120000Z")
        );
        // Digits past the sixth are dropped, not rounded.
        assert_eq!(
            dt_str("2020-01-01T00:00:00.123456789+01:00"),
            ok("2020-01-01T00:00:00.123456+01:00")
        );
        assert_eq!(
            dt_str("2020-01-01T00:00:00.9999999"),
            ok("2020-01-01T00:00:00.999999Z")
        );
        assert!(dt_str("2020-01-01T00:00:00.").is_err());
        assert!(dt_str("2020-01-01T00:00:00.1234567890").is_err());
        assert!(dt_str("2020-01-01T00:00.5").is_err());
    }

    #[test]
    fn range_errors_in_strings() {
        assert_eq!(dt_str("2019-13-01"), err("month must be in 1..12"));
        assert_eq!(
            dt_str("2019-06-31T00:00"),
            err("day is out of range for month")
        );
        assert_eq!(dt_str("2019-06-30T25:00"), err("hour must be in 0..23"));
        assert_eq!(dt_str("2019-06-30T23:61"), err("minute must be in 0..59"));
        assert_eq!(
            dt_str("2019-06-30T23:59:60Z"),
            err("second must be in 0..59")
        );
        assert_eq!(dt_str("0000-06-30"), err("year 0 is out of range"));
        assert_eq!(
            dt_str("2019-06-30T23:59:59+24:00"),
            err("UTC offset +24:00 is out of range (must be strictly between -24:00 and +24:00)")
        );
        assert_eq!(
            dt_str("2019-06-30T23:59:59-0575"),
            err("UTC offset minutes must be in 0..59")
        );
    }

    #[test]
    fn unrecognised_strings() {
        assert_eq!(
            dt_str("not a date"),
            err("unrecognised date-time \"not a date\" (expected ISO-8601 such as 2019-12-20T10:11:12Z)")
        );
        for bad in [
            "",
            "2019",
            "2019-12",
            "19-12-20",
            "2019-1-20",
            "2019-12-20T",
            "2019-12-20T10",
            "2019-12-20T10:1",
            "2019-12-20T10:11:1",
            "2019-12-20X10:11:12",
            "2019-12-20  10:11:12",
            "2019-12-20T10:11:12 Z",
            "2019-12-20T10:11:12+5",
            "2019-12-20T10:11:12+05:3",
            "2019-12-20T10:11:12+05:300",
            "2019-12-20T10:11:12Zx",
            "2019-12-20Z",
            "20191220T101112Z",
            "2019/12/20",
            "+2019-12-20",
        ] {
            assert!(
                dt_str(bad).is_err_and(|m| m.starts_with("unrecognised date-time")),
                "{bad:?} should be unrecognised"
            );
        }
        let long = "x".repeat(500);
        assert_eq!(
            dt_str(&long),
            Err(format!(
                "unrecognised date-time \"{}\"… (expected ISO-8601 such as 2019-12-20T10:11:12Z)",
                "x".repeat(100)
            ))
        );
    }

    #[test]
    fn other_json_types_name_the_python_type() {
        assert_eq!(
            dt(&Value::Null),
            err("Parser must be a string or character stream, not NoneType")
        );
        assert_eq!(
            dt(&json!(true)),
            err("Parser must be a string or character stream, not bool")
        );
        assert_eq!(
            dt(&json!([1])),
            err("Parser must be a string or character stream, not list")
        );
        assert_eq!(
            dt(&json!({"a": 1})),
            err("Parser must be a string or character stream, not dict")
        );
        assert_eq!(
            unix_value_to_iso(&json!("1")).map_err(|e| e.to_string()),
            err("epoch timestamp must be a number, not 'str'")
        );
    }

    #[test]
    fn epoch_numbers() {
        assert_eq!(dt(&number("0")), ok("1970-01-01T00:00:00Z"));
        assert_eq!(dt(&number("-1")), ok("1969-12-31T23:59:59Z"));
        assert_eq!(dt(&number("-0.5")), ok("1969-12-31T23:59:59.500000Z"));
        assert_eq!(dt(&number("1e9")), ok("2001-09-09T01:46:40Z"));
        assert_eq!(dt(&number("1358637398")), ok("2013-01-19T23:16:38Z"));
        assert_eq!(dt(&number("1358627115")), ok("2013-01-19T20:25:15Z"));
        // Rounding to the microsecond, half to even (like fromtimestamp).
        assert_eq!(dt(&number("0.0000005")), ok("1970-01-01T00:00:00Z"));
        assert_eq!(dt(&number("0.0000015")), ok("1970-01-01T00:00:00.000002Z"));
        assert_eq!(dt(&number("0.9999996")), ok("1970-01-01T00:00:01Z"));
        assert_eq!(
            dt(&number("1358791834.123456")),
            ok("2013-01-21T18:10:34.123456Z")
        );
        // Year bounds for seconds.
        assert_eq!(dt(&number("253402300799")), ok("9999-12-31T23:59:59Z"));
        assert_eq!(dt(&number("-62135596800")), ok("0001-01-01T00:00:00Z"));
        // Just past them: retried (and valid) as milliseconds.
        assert_eq!(
            dt(&number("253402300800")),
            ok("1978-01-11T21:31:40.800000Z")
        );
        assert_eq!(
            dt(&number("-62135596801")),
            ok("1968-01-12T20:06:43.199000Z")
        );
        // Milliseconds that are out of range too.
        // Milliseconds that are out of range too: the message is about the retried value.
        assert_eq!(
            dt(&number("253402300800000000")),
            err("year 8031969 is out of range")
        );
        assert_eq!(
            dt(&number("12345678901234567890123")),
            err("timestamp out of range for platform time_t")
        );
        assert_eq!(
            dt(&number("1e400")),
            err("cannot convert float infinity to integer")
        );
        assert_eq!(
            dt(&number("1e300")),
            err("timestamp out of range for platform time_t")
        );
        // Floats are retried as milliseconds as well.
        assert_eq!(
            dt(&number("1358791834912.0")),
            ok("2013-01-21T18:10:34.912000Z")
        );
    }

    #[test]
    fn unix_to_iso_bounds() {
        assert_eq!(
            unix_to_iso(1358637398).as_deref(),
            Some("2013-01-19T23:16:38Z")
        );
        assert_eq!(
            unix_to_iso(1576836672).as_deref(),
            Some("2019-12-20T10:11:12Z")
        );
        assert_eq!(unix_to_iso(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            unix_to_iso(951782400).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(
            unix_to_iso(253402300799).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(unix_to_iso(253402300800), None);
        assert_eq!(
            unix_to_iso(-62135596800).as_deref(),
            Some("0001-01-01T00:00:00Z")
        );
        assert_eq!(unix_to_iso(-62135596801), None);
        assert_eq!(unix_to_iso(i64::MAX), None);
        assert_eq!(unix_to_iso(i64::MIN), None);
    }

    #[test]
    fn ncsa_timestamps() {
        let unix = |text: &str| ncsa_to_unix(text).map_err(|e| e.to_string());
        assert_eq!(unix("2013-01-19T23:16:38"), Ok(1358637398));
        assert_eq!(unix("2019-12-20T10:11:12"), Ok(1576836672));
        assert_eq!(unix("1970-01-01T00:00:00"), Ok(0));
        assert_eq!(unix("1969-12-31T23:59:59"), Ok(-1));
        assert_eq!(unix("0001-01-01T00:00:00"), Ok(-62135596800));
        assert_eq!(unix("9999-12-31T23:59:59"), Ok(253402300799));
        // strptime leniency: one-digit fields, lower-case t, a space-padded day, leap seconds.
        assert_eq!(unix("2013-1-9T3:6:8"), Ok(1357700768));
        assert_eq!(unix("2013-01-19t23:16:38"), Ok(1358637398));
        assert_eq!(unix("2013-01- 9T00:00:00"), Ok(1357689600));
        assert_eq!(unix("2016-12-31T23:59:60"), Ok(1483228800));
        assert_eq!(unix("2016-12-31T23:59:61"), Ok(1483228801));
        // Python's messages.
        assert_eq!(
            unix("2019-13-45T10:11:12"),
            Err(
                "time data '2019-13-45T10:11:12' does not match format '%Y-%m-%dT%H:%M:%S'"
                    .to_owned()
            )
        );
        assert_eq!(
            unix("2019-12-20T24:11:12"),
            Err(
                "time data '2019-12-20T24:11:12' does not match format '%Y-%m-%dT%H:%M:%S'"
                    .to_owned()
            )
        );
        assert_eq!(
            unix("it's"),
            Err(r#"time data "it's" does not match format '%Y-%m-%dT%H:%M:%S'"#.to_owned())
        );
        assert_eq!(
            unix("2019-12-20T10:11:123"),
            Err("unconverted data remains: 3".to_owned())
        );
        assert_eq!(
            unix("2019-12-20T10:11:12Z"),
            Err("unconverted data remains: Z".to_owned())
        );
        assert_eq!(
            unix("2019-12-20T10:11:62"),
            Err("unconverted data remains: 2".to_owned())
        );
        assert_eq!(
            unix("2019-02-29T10:11:12"),
            Err("day is out of range for month".to_owned())
        );
        assert_eq!(
            unix("0000-01-01T00:00:00"),
            Err("year 0 is out of range".to_owned())
        );
        assert!(unix("").is_err());
        assert!(unix("2019-12-20").is_err());
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(civil_from_days(11017), (2000, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(1, 1, 1), -719162);
    }

    proptest! {
        #[test]
        fn normalize_dt_never_panics_on_strings(text in any::<String>()) {
            let _ = normalize_dt(&Value::String(text.clone()));
            let _ = normalize_line_dt(&text);
            let _ = ncsa_to_unix(&text);
        }

        #[test]
        fn normalize_dt_never_panics_on_date_like_strings(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,10})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?"
        ) {
            let _ = normalize_dt(&Value::String(text.clone()));
            let _ = ncsa_to_unix(&text);
        }

        #[test]
        fn normalize_dt_never_panics_on_numbers(seconds in any::<i64>(), float in any::<f64>()) {
            let _ = normalize_dt(&json!(seconds));
            if let Some(value) = serde_json::Number::from_f64(float) {
                let _ = normalize_dt(&Value::Number(value));
            }
            let _ = unix_to_iso(seconds);
        }

        #[test]
        fn unix_seconds_round_trip_through_ncsa(seconds in -62_135_596_800_i64..=253_402_300_799) {
            let iso = unix_to_iso(seconds);
            prop_assert!(iso.is_some());
            let iso = iso.unwrap_or_default();
            let naive = iso.strip_suffix('Z').unwrap_or_default();
            prop_assert_eq!(ncsa_to_unix(naive).ok(), Some(seconds));
            prop_assert_eq!(normalize_line_dt(naive).ok(), Some(iso.clone()));
            prop_assert_eq!(normalize_dt(&json!(seconds)).ok(), Some(iso));
        }

        #[test]
        fn days_round_trip(days in -3_000_000_i64..3_000_000) {
            let (year, month, day) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(year, month, day), days);
        }
    }

    #[test]
    fn iso_to_unix_millis_for_kafka_timestamps() {
        assert_eq!(
            iso_to_unix_millis("2019-12-20T10:11:12Z"),
            Some(1_576_836_672_000)
        );
        assert_eq!(
            iso_to_unix_millis("2019-12-20T10:11:12"),
            Some(1_576_836_672_000)
        );
        assert_eq!(
            iso_to_unix_millis("2013-01-21T18:10:34.912000Z"),
            Some(1_358_791_834_912)
        );
        assert_eq!(
            iso_to_unix_millis("2020-01-01T00:00:00.500000+02:00"),
            Some(1_577_829_600_500)
        );
        assert_eq!(iso_to_unix_millis("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(iso_to_unix_millis("not a date"), None);
        assert_eq!(iso_to_unix_millis("2019-13-01T00:00:00Z"), None);
    }
}
