//! The EventLogging line-format language and its matcher.
//!
//! A format such as `%q %{recvFrom}s %{seqId}d %D %{ip}i %u` is compiled once, at start-up, into a
//! list of elements (capture fields, whitespace runs and literal text). Each raw line is then
//! matched against that list with the semantics of the reference's Python `re.match` on the
//! regular expression it built from the same format (see [`LineFormat::regex_equivalent`]):
//! anchored at the start but not at the end, leftmost-first, greedy quantifiers with full
//! backtracking, Python's Unicode notion of whitespace.
//!
//! The matcher is a backtracking search over the element list. Greedy runs are tried longest
//! first. An ordinary line is matched in about one pass without any heap allocation. If a line
//! needs much backtracking, the search restarts in a memoised mode that records, per greedy element
//! and character run, which end positions are already known to fail. Each (element, position)
//! state is then evaluated at most once, so even adversarial lines cost time linear in
//! `line length × number of elements` instead of the polynomial blow-up of a plain backtracking
//! regex engine.
//!
//! Deliberate differences from the reference are listed in `docs/COMPATIBILITY.md`.

use std::cell::RefCell;
use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{take_till, take_while, take_while1};
use nom::character::complete::{anychar, char, satisfy};
use nom::combinator::{map, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::sequence::pair;
use nom::{IResult, Parser};

/// The largest number of fields (specifiers) a format may have.
pub const MAX_FIELDS: usize = 16;

/// The largest number of segments (fields, whitespace runs and literal-text runs) a format may
/// compile to. It bounds the matcher's recursion depth.
pub const MAX_SEGMENTS: usize = 64;

/// The kind of a format field: which specifier produced it, and so what it matches and how its
/// value is later cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// `%q`: query-string-encoded JSON capsule. Group `capsule`, regex `\?\S+`.
    Qson,
    /// `%j`: compact JSON capsule. Group `capsule`, regex `\S+`.
    Json,
    /// `%{name}s`: a string without whitespace. Regex `\S+`.
    Str,
    /// `%{name}i`: a string that ends only at a TAB or at the end of the line. Regex `[^\t]+`.
    Text,
    /// `%{name}d`: an integer. Regex `\d+` (ASCII digits).
    Int,
    /// `%t`: NCSA-style timestamp cast to unix seconds. Group `timestamp`, regex
    /// `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}`.
    NcsaTimestamp,
    /// `%D`: ISO-8601 date-time. Group `dt`, same regex as [`FieldKind::NcsaTimestamp`].
    IsoDateTime,
    /// `%u`: user agent, parsed later. Group `userAgent`, regex `[^\t]+`.
    UserAgent,
    /// `%o`: a field that is matched and dropped. Group `omit`, regex `\S+`.
    Omit,
}

impl FieldKind {
    /// The specifier letter of this kind (`q` for [`FieldKind::Qson`], ...).
    pub fn letter(self) -> char {
        match self {
            FieldKind::Qson => 'q',
            FieldKind::Json => 'j',
            FieldKind::Str => 's',
            FieldKind::Text => 'i',
            FieldKind::Int => 'd',
            FieldKind::NcsaTimestamp => 't',
            FieldKind::IsoDateTime => 'D',
            FieldKind::UserAgent => 'u',
            FieldKind::Omit => 'o',
        }
    }

    /// The kind written with `letter`, if `letter` is a specifier letter.
    pub fn from_letter(letter: char) -> Option<FieldKind> {
        Some(match letter {
            'q' => FieldKind::Qson,
            'j' => FieldKind::Json,
            's' => FieldKind::Str,
            'i' => FieldKind::Text,
            'd' => FieldKind::Int,
            't' => FieldKind::NcsaTimestamp,
            'D' => FieldKind::IsoDateTime,
            'u' => FieldKind::UserAgent,
            'o' => FieldKind::Omit,
            _ => return None,
        })
    }

    /// The group name this kind always has, or `None` for the kinds named in the format
    /// (`%{name}s`, `%{name}i`, `%{name}d`).
    pub fn fixed_group_name(self) -> Option<&'static str> {
        match self {
            FieldKind::Qson | FieldKind::Json => Some("capsule"),
            FieldKind::NcsaTimestamp => Some("timestamp"),
            FieldKind::IsoDateTime => Some("dt"),
            FieldKind::UserAgent => Some("userAgent"),
            FieldKind::Omit => Some("omit"),
            FieldKind::Str | FieldKind::Text | FieldKind::Int => None,
        }
    }

    /// The Python regular expression the reference used for this kind (without the group).
    pub fn regex(self) -> &'static str {
        match self {
            FieldKind::Qson => r"\?\S+",
            FieldKind::Json | FieldKind::Str | FieldKind::Omit => r"\S+",
            FieldKind::Text | FieldKind::UserAgent => r"[^\t]+",
            FieldKind::Int => r"\d+",
            FieldKind::NcsaTimestamp | FieldKind::IsoDateTime => {
                r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"
            }
        }
    }

    /// Whether this kind is the event capsule (`%q` or `%j`).
    pub fn is_capsule(self) -> bool {
        matches!(self, FieldKind::Qson | FieldKind::Json)
    }
}

/// One field of a compiled format: its group name and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The group name: fixed by the kind (`capsule`, `dt`, ...) or given as `%{name}X`.
    pub name: String,
    /// What the field matches and how it is cast.
    pub kind: FieldKind,
}

/// Why a format string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatErrorKind {
    /// The format is the empty string.
    Empty,
    /// `%X` or `%{name}X` where `X` is not a specifier letter.
    UnknownSpecifier(char),
    /// A `%` or `%{name}` at the end of the format, with no specifier letter after it.
    MissingSpecifier,
    /// A `%{` with no closing `}`.
    UnterminatedBrace,
    /// `%{}`.
    EmptyName,
    /// A name that is not `[A-Za-z_][A-Za-z0-9_]*`.
    InvalidName(String),
    /// A name given to a specifier whose group name is fixed (`%{x}q`); holds the letter.
    NameNotAllowed(char),
    /// Two fields with the same group name (the reference failed with "redefinition of group
    /// name").
    DuplicateGroup(String),
    /// No `%q` or `%j` field, so no line could ever yield a capsule.
    MissingCapsule,
    /// More than [`MAX_FIELDS`] fields.
    TooManyFields,
    /// More than [`MAX_SEGMENTS`] fields, whitespace runs and literal runs.
    TooManySegments,
}

impl fmt::Display for FormatErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatErrorKind::Empty => f.write_str("the format is empty"),
            FormatErrorKind::UnknownSpecifier(letter) => write!(
                f,
                "unknown specifier letter {letter:?} (expected one of d i j q s t D u o, or %% for a literal %)"
            ),
            FormatErrorKind::MissingSpecifier => {
                f.write_str("\"%\" with no specifier letter at the end of the format")
            }
            FormatErrorKind::UnterminatedBrace => f.write_str("unterminated \"%{\""),
            FormatErrorKind::EmptyName => f.write_str("empty field name in \"%{}\""),
            FormatErrorKind::InvalidName(name) => write!(
                f,
                "invalid field name {name:?} (expected [A-Za-z_][A-Za-z0-9_]*)"
            ),
            FormatErrorKind::NameNotAllowed(letter) => {
                let fixed = FieldKind::from_letter(*letter)
                    .and_then(FieldKind::fixed_group_name)
                    .unwrap_or("fixed");
                write!(
                    f,
                    "\"%{letter}\" takes no name: its group name is always {fixed:?}"
                )
            }
            FormatErrorKind::DuplicateGroup(name) => {
                write!(f, "redefinition of group name {name:?}")
            }
            FormatErrorKind::MissingCapsule => {
                f.write_str("no %q or %j field: no line could yield an event capsule")
            }
            FormatErrorKind::TooManyFields => write!(f, "more than {MAX_FIELDS} fields"),
            FormatErrorKind::TooManySegments => write!(
                f,
                "more than {MAX_SEGMENTS} segments (fields, whitespace runs and literal text runs)"
            ),
        }
    }
}

/// A format string that cannot be compiled: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    format: String,
    kind: FormatErrorKind,
    column: usize,
}

impl FormatError {
    /// The rejected format string, as given.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// What is wrong.
    pub fn kind(&self) -> &FormatErrorKind {
        &self.kind
    }

    /// The human-readable description of what is wrong (without the format and column).
    pub fn message(&self) -> String {
        self.kind.to_string()
    }

    /// The 1-based column, in characters, of the offending place in the format. Errors about
    /// the format as a whole point at column 1 (empty format) or just past its end (no capsule).
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid line format {:?}: {} at column {}",
            self.format, self.kind, self.column
        )
    }
}

impl std::error::Error for FormatError {}

/// A compiled line format, ready to match lines.
#[derive(Debug, Clone)]
pub struct LineFormat {
    source: String,
    fields: Vec<Field>,
    capsule_index: usize,
    regex_equivalent: String,
    elements: Vec<Element>,
    /// Which character classes the greedy elements scan, indexed by `CharClass as usize`.
    used_classes: [bool; CLASS_COUNT],
    /// How many greedy elements there are (rows of the memoisation table).
    greedy_rows: usize,
}

/// The captured text of each field of one matched line, in format order. Lives on the stack: a
/// fixed array of [`MAX_FIELDS`] slices into the line.
#[derive(Debug, Clone, Copy)]
pub struct Captures<'a> {
    values: [&'a str; MAX_FIELDS],
    len: usize,
}

impl<'a> Captures<'a> {
    fn with_len(len: usize) -> Captures<'a> {
        Captures {
            values: [""; MAX_FIELDS],
            len: len.min(MAX_FIELDS),
        }
    }

    /// The number of captures (the number of fields of the format).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no captures (never the case for a compiled format).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The text captured by field `field_index` (an index into [`LineFormat::fields`]).
    pub fn get(&self, field_index: usize) -> Option<&'a str> {
        if field_index < self.len {
            self.values.get(field_index).copied()
        } else {
            None
        }
    }

    /// The captured texts in format order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.values.iter().take(self.len).copied()
    }
}

impl LineFormat {
    /// Compiles a format string. Fails with the reason and column for anything the reference
    /// would have rejected at start-up, and for formats that could never yield a capsule.
    pub fn compile(format: &str) -> Result<LineFormat, FormatError> {
        Compiler::new(format).run(CapsuleRule::Required)
    }

    /// The format string, as given to [`LineFormat::compile`].
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The fields, in format order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The index in [`LineFormat::fields`] of the capsule field (`%q` or `%j`).
    pub fn capsule_index(&self) -> usize {
        self.capsule_index
    }

    /// The Python regular expression the reference compiled from this format, e.g.
    /// `(?P<capsule>\?\S+)\s+(?P<recvFrom>\S+)...`. The reference used it as the error message
    /// for lines that do not match. Literal text appears verbatim, as it did in the reference.
    pub fn regex_equivalent(&self) -> &str {
        &self.regex_equivalent
    }

    /// Matches `line` from its start (text after the last field is ignored) and returns the
    /// captured text of every field, exactly as the reference's backtracking `re.match` would
    /// capture it, or `None` if the line does not match.
    pub fn match_line<'a>(&self, line: &'a str) -> Option<Captures<'a>> {
        let mut captures = Captures::with_len(self.fields.len());
        let mut fast = Budgeted::new(fast_path_budget(line.len()));
        match self.match_at(0, 0, line, &mut captures.values, &mut fast) {
            Ok(true) => Some(captures),
            Ok(false) => None,
            Err(Exhausted) => self.match_line_memoised(line, captures),
        }
    }

    /// The slow path: the same search, with memoisation of failed states.
    fn match_line_memoised<'a>(
        &self,
        line: &'a str,
        mut captures: Captures<'a>,
    ) -> Option<Captures<'a>> {
        let mut search_with = |memo: &mut Memo| -> Option<Captures<'a>> {
            let outcome = if memo.prepare(line, self.used_classes, self.greedy_rows) {
                self.match_at(0, 0, line, &mut captures.values, memo)
            } else {
                // A line too long for the memo's 32-bit positions: plain unbounded search.
                let mut unbounded = Budgeted::new(usize::MAX);
                self.match_at(0, 0, line, &mut captures.values, &mut unbounded)
            };
            memo.release_if_large();
            matches!(outcome, Ok(true)).then_some(captures)
        };
        SCRATCH
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut memo) => search_with(&mut memo),
                Err(_) => search_with(&mut Memo::default()),
            })
            .unwrap_or_else(|_| search_with(&mut Memo::default()))
    }

    /// Whether elements `index..` match `line` starting at byte offset `pos` (a char boundary).
    /// Writes the capture slots along the way; on success they hold the successful path.
    fn match_at<'a, S: Search>(
        &self,
        index: usize,
        pos: usize,
        line: &'a str,
        captures: &mut [&'a str; MAX_FIELDS],
        search: &mut S,
    ) -> Result<bool, Exhausted> {
        let Some(element) = self.elements.get(index) else {
            return Ok(true);
        };
        search.charge(1)?;
        let next = index.saturating_add(1);
        match element {
            Element::Literal(text) => {
                let matches = line
                    .get(pos..)
                    .is_some_and(|rest| rest.starts_with(&**text));
                if !matches {
                    return Ok(false);
                }
                self.match_at(next, pos.saturating_add(text.len()), line, captures, search)
            }
            Element::Timestamp { slot } => {
                let Some(end) = timestamp_end(line, pos) else {
                    return Ok(false);
                };
                set_capture(captures, *slot, line, pos, end);
                self.match_at(next, end, line, captures, search)
            }
            Element::Greedy(greedy) => {
                self.match_greedy(index, greedy, pos, line, captures, search)
            }
        }
    }

    /// A greedy run at `pos`: tries every possible end, longest first, skipping the ends the
    /// memo already knows to fail.
    fn match_greedy<'a, S: Search>(
        &self,
        index: usize,
        greedy: &Greedy,
        pos: usize,
        line: &'a str,
        captures: &mut [&'a str; MAX_FIELDS],
        search: &mut S,
    ) -> Result<bool, Exhausted> {
        let run_start = match greedy.prefix {
            Some(prefix) => {
                if line.as_bytes().get(pos) != Some(&prefix) {
                    return Ok(false);
                }
                pos.saturating_add(1)
            }
            None => pos,
        };
        let run_end = search.run_end(line, greedy.class, run_start)?;
        let Some(min_end) = advance_chars(line, run_start, run_end, greedy.min_chars) else {
            return Ok(false);
        };
        let mut end = match search.lowest_failed_end(greedy.row, run_end) {
            Some(lowest) if lowest <= min_end => return Ok(false),
            Some(lowest) => previous_char_boundary(line, lowest),
            None => run_end,
        };
        let next = index.saturating_add(1);
        loop {
            if let Some(slot) = greedy.capture {
                set_capture(captures, slot, line, pos, end);
            }
            if self.match_at(next, end, line, captures, search)? {
                return Ok(true);
            }
            if end <= min_end {
                break;
            }
            end = previous_char_boundary(line, end);
        }
        search.record_failed_down_to(greedy.row, run_end, min_end);
        Ok(false)
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled elements and character classes
// ---------------------------------------------------------------------------------------------

/// One segment of a compiled format.
#[derive(Debug, Clone)]
enum Element {
    /// Text matched literally.
    Literal(Box<str>),
    /// `%t` / `%D`: exactly `dddd-dd-ddTdd:dd:dd`.
    Timestamp { slot: usize },
    /// A greedy run of one character class (a field, or `\s+` for format spaces).
    Greedy(Greedy),
}

/// A greedy run: an optional one-byte prefix (the `?` of `%q`) then at least `min_chars`
/// characters of `class`, as many as possible first.
#[derive(Debug, Clone)]
struct Greedy {
    capture: Option<usize>,
    prefix: Option<u8>,
    class: CharClass,
    min_chars: usize,
    /// Row of this element in the memoisation table.
    row: usize,
}

/// The character classes the format language needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharClass {
    /// `\S`: not Python whitespace.
    NonSpace = 0,
    /// `[^\t]`: anything but TAB (including `\n`).
    NonTab = 1,
    /// `\d`, ASCII digits only.
    Digit = 2,
    /// `\s`: Python whitespace.
    Space = 3,
}

const CLASS_COUNT: usize = 4;
const ALL_CLASSES: [CharClass; CLASS_COUNT] = [
    CharClass::NonSpace,
    CharClass::NonTab,
    CharClass::Digit,
    CharClass::Space,
];

impl CharClass {
    fn contains(self, c: char) -> bool {
        match self {
            CharClass::NonSpace => !is_python_whitespace(c),
            CharClass::NonTab => c != '\t',
            CharClass::Digit => c.is_ascii_digit(),
            CharClass::Space => is_python_whitespace(c),
        }
    }

    /// The end (byte offset) of the maximal run of this class starting at `from`.
    fn scan_end(self, line: &str, from: usize) -> usize {
        let Some(rest) = line.get(from..) else {
            return from;
        };
        let run_len = match self {
            CharClass::NonTab => memchr::memchr(b'\t', rest.as_bytes()).unwrap_or(rest.len()),
            CharClass::Digit => rest
                .bytes()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(rest.len()),
            CharClass::NonSpace => non_space_run_len(rest),
            CharClass::Space => rest
                .char_indices()
                .find(|&(_, c)| !is_python_whitespace(c))
                .map_or(rest.len(), |(at, _)| at),
        };
        from.saturating_add(run_len)
    }
}

/// The length of the run of non-whitespace characters at the start of `text`. Only some ASCII
/// bytes and the lead bytes 0xC2, 0xE1, 0xE2 and 0xE3 can start a Python whitespace character,
/// so every other byte is skipped without decoding; the run can only end at a char boundary.
fn non_space_run_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut at = 0;
    loop {
        let Some(stop) = bytes.get(at..).and_then(first_may_start_whitespace) else {
            return bytes.len();
        };
        at = at.saturating_add(stop);
        match text.get(at..).and_then(|rest| rest.chars().next()) {
            Some(c) if is_python_whitespace(c) => return at,
            Some(c) => at = at.saturating_add(c.len_utf8()),
            None => at = at.saturating_add(1),
        }
    }
}

/// The index of the first byte of `bytes` that may start a Python whitespace character. Words
/// of eight printable ASCII bytes (0x21-0x7E, none of which can) are skipped whole.
fn first_may_start_whitespace(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut offset = 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // Some byte is below 0x21, or is 0x7F or above: look at this word byte by byte.
        let below = word.wrapping_sub(ONES.wrapping_mul(0x21)) & !word;
        let del_or_above = word.wrapping_add(ONES) | word;
        if (below | del_or_above) & HIGHS != 0 {
            break;
        }
        offset += 8;
    }
    bytes
        .get(offset..)?
        .iter()
        .position(|&byte| MAY_START_WHITESPACE[usize::from(byte)])
        .map(|position| offset + position)
}

/// Bytes that can start a Python whitespace character: the ASCII ones and the lead bytes of
/// U+0085, U+00A0 (0xC2), U+1680 (0xE1), U+2000–U+205F (0xE2) and U+3000 (0xE3).
static MAY_START_WHITESPACE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = matches!(byte, 0x09..=0x0d | 0x1c..=0x20 | 0xc2 | 0xe1 | 0xe2 | 0xe3);
        byte += 1;
    }
    table
};

/// Exactly the characters for which Python's `str.isspace()` is true, which is what `\s` means
/// in a Python `str` regex.
fn is_python_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// The end of a `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}` match at `from`, if there is one.
fn timestamp_end(line: &str, from: usize) -> Option<usize> {
    const SHAPE: &[u8; 19] = b"0000-00-00T00:00:00";
    let end = from.checked_add(SHAPE.len())?;
    let candidate = line.as_bytes().get(from..end)?;
    let matches = candidate.iter().zip(SHAPE.iter()).all(|(&byte, &shape)| {
        if shape == b'0' {
            byte.is_ascii_digit()
        } else {
            byte == shape
        }
    });
    matches.then_some(end)
}

/// The offset `count` characters after `from`, if those characters all lie before `limit`.
fn advance_chars(line: &str, from: usize, limit: usize, count: usize) -> Option<usize> {
    let span = line.get(from..limit)?;
    if count == 0 {
        return Some(from);
    }
    let (last_at, last) = span.char_indices().nth(count - 1)?;
    Some(from.saturating_add(last_at).saturating_add(last.len_utf8()))
}

/// The char boundary just before `offset` (`offset` > 0 and a char boundary of `line`).
fn previous_char_boundary(line: &str, offset: usize) -> usize {
    (0..offset)
        .rev()
        .find(|&at| line.is_char_boundary(at))
        .unwrap_or(0)
}

fn set_capture<'a>(
    captures: &mut [&'a str; MAX_FIELDS],
    slot: usize,
    line: &'a str,
    start: usize,
    end: usize,
) {
    if let (Some(capture), Some(text)) = (captures.get_mut(slot), line.get(start..end)) {
        *capture = text;
    }
}

// ---------------------------------------------------------------------------------------------
// Search strategies: budgeted fast path and memoised slow path
// ---------------------------------------------------------------------------------------------

/// The fast path ran out of budget; the search must restart with memoisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exhausted;

/// What the backtracking search needs from its strategy.
trait Search {
    /// Accounts for `units` of work.
    fn charge(&mut self, units: usize) -> Result<(), Exhausted>;
    /// The end of the maximal run of `class` starting at `from`.
    fn run_end(&mut self, line: &str, class: CharClass, from: usize) -> Result<usize, Exhausted>;
    /// The lowest end offset of greedy element `row` already known to fail for the run that
    /// ends at `run_end` (every end from it up to `run_end` failed), if any.
    fn lowest_failed_end(&self, row: usize, run_end: usize) -> Option<usize>;
    /// Records that every end from `lowest` up to `run_end` failed for greedy element `row`.
    fn record_failed_down_to(&mut self, row: usize, run_end: usize, lowest: usize);
}

/// Plain backtracking that gives up after a budget of work proportional to the line length.
/// Allocates nothing.
struct Budgeted {
    remaining: usize,
}

impl Budgeted {
    fn new(budget: usize) -> Budgeted {
        Budgeted { remaining: budget }
    }
}

/// Work allowed to the fast path: generous for ordinary lines (about one pass plus some
/// backtracking), small enough that falling back to the memoised search stays cheap.
fn fast_path_budget(line_len: usize) -> usize {
    line_len.saturating_mul(4).saturating_add(1024)
}

impl Search for Budgeted {
    fn charge(&mut self, units: usize) -> Result<(), Exhausted> {
        self.remaining = self.remaining.checked_sub(units).ok_or(Exhausted)?;
        Ok(())
    }

    fn run_end(&mut self, line: &str, class: CharClass, from: usize) -> Result<usize, Exhausted> {
        let end = class.scan_end(line, from);
        self.charge(end.saturating_sub(from).saturating_add(1))?;
        Ok(end)
    }

    fn lowest_failed_end(&self, _row: usize, _run_end: usize) -> Option<usize> {
        None
    }

    fn record_failed_down_to(&mut self, _row: usize, _run_end: usize, _lowest: usize) {}
}

/// Memoisation tables for one line, reused across lines of a thread.
#[derive(Debug, Default)]
struct Memo {
    /// Per class: for every char-boundary offset, the end of the class run starting there.
    run_ends: [Vec<u32>; CLASS_COUNT],
    /// Per greedy element (row) and run end: the lowest end known to fail, or `NOT_TRIED`.
    failed_floor: Vec<u32>,
    /// Row length of `failed_floor`: line length + 1.
    stride: usize,
}

const NOT_TRIED: u32 = u32::MAX;

/// Tables larger than this many entries are freed after use rather than kept for the next line.
const MEMO_KEEP_LIMIT: usize = 1 << 22;

thread_local! {
    static SCRATCH: RefCell<Memo> = RefCell::new(Memo::default());
}

impl Memo {
    /// Fills the tables for `line`. Returns false if the line is too long for 32-bit offsets.
    fn prepare(&mut self, line: &str, used_classes: [bool; CLASS_COUNT], rows: usize) -> bool {
        let Some(stride) = line.len().checked_add(1) else {
            return false;
        };
        if u32::try_from(stride).is_err() {
            return false;
        }
        let Some(floor_len) = rows.checked_mul(stride) else {
            return false;
        };
        self.stride = stride;
        self.failed_floor.clear();
        self.failed_floor.resize(floor_len, NOT_TRIED);
        for (class, table) in ALL_CLASSES.iter().zip(self.run_ends.iter_mut()) {
            table.clear();
            if used_classes.get(*class as usize).copied().unwrap_or(false) {
                fill_run_ends(table, line, *class);
            }
        }
        true
    }

    fn release_if_large(&mut self) {
        let total: usize = self
            .run_ends
            .iter()
            .map(Vec::capacity)
            .fold(self.failed_floor.capacity(), usize::saturating_add);
        if total > MEMO_KEEP_LIMIT {
            *self = Memo::default();
        }
    }

    fn floor_index(&self, row: usize, run_end: usize) -> Option<usize> {
        row.checked_mul(self.stride)?.checked_add(run_end)
    }
}

/// Backward pass: `table[i]` = end of the `class` run starting at char boundary `i`.
fn fill_run_ends(table: &mut Vec<u32>, line: &str, class: CharClass) {
    let len = line.len();
    table.resize(len.saturating_add(1), 0);
    let mut following_end = u32::try_from(len).unwrap_or(u32::MAX);
    if let Some(last) = table.last_mut() {
        *last = following_end;
    }
    for (at, c) in line.char_indices().rev() {
        let at32 = u32::try_from(at).unwrap_or(u32::MAX);
        if !class.contains(c) {
            following_end = at32;
        }
        if let Some(slot) = table.get_mut(at) {
            *slot = following_end;
        }
    }
}

impl Search for Memo {
    fn charge(&mut self, _units: usize) -> Result<(), Exhausted> {
        Ok(())
    }

    fn run_end(&mut self, line: &str, class: CharClass, from: usize) -> Result<usize, Exhausted> {
        let cached = self
            .run_ends
            .get(class as usize)
            .and_then(|table| table.get(from))
            .map(|&end| end as usize);
        Ok(cached.unwrap_or_else(|| class.scan_end(line, from)))
    }

    fn lowest_failed_end(&self, row: usize, run_end: usize) -> Option<usize> {
        let index = self.floor_index(row, run_end)?;
        match self.failed_floor.get(index) {
            Some(&NOT_TRIED) | None => None,
            Some(&lowest) => Some(lowest as usize),
        }
    }

    fn record_failed_down_to(&mut self, row: usize, run_end: usize, lowest: usize) {
        let Some(index) = self.floor_index(row, run_end) else {
            return;
        };
        if let (Some(slot), Ok(lowest)) = (self.failed_floor.get_mut(index), u32::try_from(lowest))
        {
            *slot = lowest;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Format-string syntax (nom)
// ---------------------------------------------------------------------------------------------

/// One lexical item of a format string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'f> {
    /// A run of literal space characters: each one means `\s+`.
    Spaces(usize),
    /// Literal text (no space, no `%`).
    Literal(&'f str),
    /// `%%`: one literal `%`.
    PercentEscape,
    /// `%X` or `%{name}X`.
    Specifier {
        kind: FieldKind,
        name: Option<&'f str>,
    },
}

/// A syntax error at a position (the unparsed rest of the format).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SyntaxError<'f> {
    at: &'f str,
    kind: Option<FormatErrorKind>,
}

impl<'f> ParseError<&'f str> for SyntaxError<'f> {
    fn from_error_kind(input: &'f str, _kind: ErrorKind) -> Self {
        SyntaxError {
            at: input,
            kind: None,
        }
    }

    fn append(_input: &'f str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type SyntaxResult<'f, T> = IResult<&'f str, T, SyntaxError<'f>>;

fn syntax_failure<T>(at: &str, kind: FormatErrorKind) -> SyntaxResult<'_, T> {
    Err(nom::Err::Failure(SyntaxError {
        at,
        kind: Some(kind),
    }))
}

/// `token := spaces | literal | specifier`
fn token(input: &str) -> SyntaxResult<'_, Token<'_>> {
    alt((
        map(take_while1(|c| c == ' '), |spaces: &str| {
            Token::Spaces(spaces.len())
        }),
        map(take_while1(|c| c != ' ' && c != '%'), Token::Literal),
        specifier,
    ))
    .parse(input)
}

/// `specifier := "%%" | "%" ("{" name "}")? letter`; anything else after `%` is a failure.
fn specifier(input: &str) -> SyntaxResult<'_, Token<'_>> {
    let (after_percent, _) = char('%').parse(input)?;
    if let Ok((rest, _)) = char::<_, SyntaxError>('%').parse(after_percent) {
        return Ok((rest, Token::PercentEscape));
    }
    let (before_letter, name) = match char::<_, SyntaxError>('{').parse(after_percent) {
        Ok((inside, _)) => {
            let (rest, name) = braced_name(input, inside)?;
            (rest, Some(name))
        }
        Err(_) => (after_percent, None),
    };
    let Ok((rest, letter)) = anychar::<_, SyntaxError>(before_letter) else {
        return syntax_failure(input, FormatErrorKind::MissingSpecifier);
    };
    let Some(kind) = FieldKind::from_letter(letter) else {
        return syntax_failure(before_letter, FormatErrorKind::UnknownSpecifier(letter));
    };
    if name.is_some() && kind.fixed_group_name().is_some() {
        return syntax_failure(input, FormatErrorKind::NameNotAllowed(letter));
    }
    Ok((rest, Token::Specifier { kind, name }))
}

/// The `name}` part after `%{`; `percent` is the input at the `%` (for error positions).
fn braced_name<'f>(percent: &'f str, inside: &'f str) -> SyntaxResult<'f, &'f str> {
    let (at_brace, content) = take_till(|c| c == '}').parse(inside)?;
    let Ok((rest, _)) = char::<_, SyntaxError>('}').parse(at_brace) else {
        return syntax_failure(percent, FormatErrorKind::UnterminatedBrace);
    };
    if content.is_empty() {
        return syntax_failure(inside, FormatErrorKind::EmptyName);
    }
    let invalid = |at| syntax_failure(at, FormatErrorKind::InvalidName(content.to_owned()));
    match identifier(content) {
        Ok(("", name)) => Ok((rest, name)),
        Ok((unexpected, _)) => invalid(unexpected),
        Err(_) => invalid(content),
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`
fn identifier(input: &str) -> SyntaxResult<'_, &str> {
    recognize(pair(
        satisfy(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(input)
}

// ---------------------------------------------------------------------------------------------
// Compiler: tokens to elements
// ---------------------------------------------------------------------------------------------

/// Whether a format must have a `%q`/`%j` field. Only tests exercise the matcher on formats
/// without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CapsuleRule {
    Required,
    #[cfg(test)]
    Optional,
}

struct Compiler<'f> {
    format: &'f str,
    fields: Vec<Field>,
    capsule_index: Option<usize>,
    regex: String,
    elements: Vec<Element>,
    used_classes: [bool; CLASS_COUNT],
    greedy_rows: usize,
    /// Literal text not yet pushed as an element, and where it started.
    pending_literal: Option<(String, &'f str)>,
}

impl<'f> Compiler<'f> {
    fn new(format: &'f str) -> Compiler<'f> {
        Compiler {
            format,
            fields: Vec::new(),
            capsule_index: None,
            regex: String::new(),
            elements: Vec::new(),
            used_classes: [false; CLASS_COUNT],
            greedy_rows: 0,
            pending_literal: None,
        }
    }

    fn run(mut self, capsule_rule: CapsuleRule) -> Result<LineFormat, FormatError> {
        if self.format.is_empty() {
            return Err(self.error_at(self.format, FormatErrorKind::Empty));
        }
        let mut rest = self.format;
        while !rest.is_empty() {
            let (next, item) = token(rest).map_err(|error| self.syntax_error(error))?;
            self.add(rest, item)?;
            rest = next;
        }
        self.flush_literal()?;
        let end = self.format.get(self.format.len()..).unwrap_or_default();
        let capsule_index = match (self.capsule_index, capsule_rule) {
            (Some(index), _) => index,
            #[cfg(test)]
            (None, CapsuleRule::Optional) => 0,
            (None, _) => return Err(self.error_at(end, FormatErrorKind::MissingCapsule)),
        };
        Ok(LineFormat {
            source: self.format.to_owned(),
            fields: self.fields,
            capsule_index,
            regex_equivalent: self.regex,
            elements: self.elements,
            used_classes: self.used_classes,
            greedy_rows: self.greedy_rows,
        })
    }

    /// Adds one token found at `at`.
    fn add(&mut self, at: &'f str, item: Token<'f>) -> Result<(), FormatError> {
        match item {
            Token::Spaces(count) => {
                self.flush_literal()?;
                for _ in 0..count {
                    self.regex.push_str(r"\s+");
                }
                self.push_greedy(at, None, None, CharClass::Space, count)
            }
            Token::Literal(text) => {
                self.regex.push_str(text);
                self.pending_literal_mut(at).push_str(text);
                Ok(())
            }
            Token::PercentEscape => {
                self.regex.push_str("%%");
                self.pending_literal_mut(at).push('%');
                Ok(())
            }
            Token::Specifier { kind, name } => {
                self.flush_literal()?;
                self.add_field(at, kind, name)
            }
        }
    }

    fn add_field(
        &mut self,
        at: &'f str,
        kind: FieldKind,
        name: Option<&'f str>,
    ) -> Result<(), FormatError> {
        let group = kind.fixed_group_name().or(name).unwrap_or_default();
        if self.fields.iter().any(|field| field.name == group) {
            return Err(self.error_at(at, FormatErrorKind::DuplicateGroup(group.to_owned())));
        }
        if self.fields.len() >= MAX_FIELDS {
            return Err(self.error_at(at, FormatErrorKind::TooManyFields));
        }
        let slot = self.fields.len();
        if kind.is_capsule() {
            self.capsule_index = Some(slot);
        }
        self.regex.push_str("(?P<");
        self.regex.push_str(group);
        self.regex.push('>');
        self.regex.push_str(kind.regex());
        self.regex.push(')');
        self.fields.push(Field {
            name: group.to_owned(),
            kind,
        });
        let capture = Some(slot);
        match kind {
            FieldKind::Qson => self.push_greedy(at, capture, Some(b'?'), CharClass::NonSpace, 1),
            FieldKind::Json | FieldKind::Str | FieldKind::Omit => {
                self.push_greedy(at, capture, None, CharClass::NonSpace, 1)
            }
            FieldKind::Text | FieldKind::UserAgent => {
                self.push_greedy(at, capture, None, CharClass::NonTab, 1)
            }
            FieldKind::Int => self.push_greedy(at, capture, None, CharClass::Digit, 1),
            FieldKind::NcsaTimestamp | FieldKind::IsoDateTime => {
                self.push_element(at, Element::Timestamp { slot })
            }
        }
    }

    fn push_greedy(
        &mut self,
        at: &'f str,
        capture: Option<usize>,
        prefix: Option<u8>,
        class: CharClass,
        min_chars: usize,
    ) -> Result<(), FormatError> {
        if let Some(used) = self.used_classes.get_mut(class as usize) {
            *used = true;
        }
        let row = self.greedy_rows;
        self.greedy_rows = self.greedy_rows.saturating_add(1);
        self.push_element(
            at,
            Element::Greedy(Greedy {
                capture,
                prefix,
                class,
                min_chars,
                row,
            }),
        )
    }

    fn push_element(&mut self, at: &'f str, element: Element) -> Result<(), FormatError> {
        if self.elements.len() >= MAX_SEGMENTS {
            return Err(self.error_at(at, FormatErrorKind::TooManySegments));
        }
        self.elements.push(element);
        Ok(())
    }

    fn pending_literal_mut(&mut self, at: &'f str) -> &mut String {
        &mut self
            .pending_literal
            .get_or_insert_with(|| (String::new(), at))
            .0
    }

    fn flush_literal(&mut self) -> Result<(), FormatError> {
        match self.pending_literal.take() {
            Some((text, at)) => self.push_element(at, Element::Literal(text.into_boxed_str())),
            None => Ok(()),
        }
    }

    fn syntax_error(&self, error: nom::Err<SyntaxError<'f>>) -> FormatError {
        match error {
            nom::Err::Error(error) | nom::Err::Failure(error) => {
                let kind = error.kind.unwrap_or_else(|| match error.at.chars().next() {
                    Some(c) => FormatErrorKind::UnknownSpecifier(c),
                    None => FormatErrorKind::MissingSpecifier,
                });
                self.error_at(error.at, kind)
            }
            nom::Err::Incomplete(_) => {
                self.error_at(self.format, FormatErrorKind::MissingSpecifier)
            }
        }
    }

    /// An error located at `at`, a suffix of (or position inside) the format.
    fn error_at(&self, at: &str, kind: FormatErrorKind) -> FormatError {
        let offset = (at.as_ptr() as usize)
            .saturating_sub(self.format.as_ptr() as usize)
            .min(self.format.len());
        let column = self
            .format
            .get(..offset)
            .map_or(1, |before| before.chars().count().saturating_add(1));
        FormatError {
            format: self.format.to_owned(),
            kind,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PRODUCTION: &str = "%q %{recvFrom}s %{seqId}d %D %{ip}i %u";
    const PRODUCTION_REGEX: &str = r"(?P<capsule>\?\S+)\s+(?P<recvFrom>\S+)\s+(?P<seqId>\d+)\s+(?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s+(?P<ip>[^\t]+)\s+(?P<userAgent>[^\t]+)";
    const ECHO_Q: &str = "?%7B%22event%22%3A%7B%22version%22%3A%221.1%22%2C%22eventId%22%3A5%2C%22notificationType%22%3A%22edit-user-talk%22%2C%22notificationGroup%22%3A%22interactive%22%2C%22sender%22%3A%22123%22%2C%22recipientUserId%22%3A42%2C%22deliveryMethod%22%3A%22web%22%7D%2C%22revision%22%3A7731316%2C%22schema%22%3A%22Echo%22%2C%22webHost%22%3A%22en.wikipedia.org%22%2C%22wiki%22%3A%22enwiki%22%7D;";
    const UA: &str = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36\"";

    fn first_may_start_whitespace_bytewise(bytes: &[u8]) -> Option<usize> {
        bytes
            .iter()
            .position(|&byte| MAY_START_WHITESPACE[usize::from(byte)])
    }

    #[test]
    fn word_skipping_finds_every_byte_that_may_start_whitespace() {
        for byte in 0..=255_u8 {
            for length in 1..20 {
                for position in 0..length {
                    let mut bytes = vec![b'x'; length];
                    if let Some(slot) = bytes.get_mut(position) {
                        *slot = byte;
                    }
                    assert_eq!(
                        first_may_start_whitespace(&bytes),
                        first_may_start_whitespace_bytewise(&bytes),
                        "byte {byte:#x} at {position} of {length}"
                    );
                }
            }
        }
        assert_eq!(first_may_start_whitespace(b""), None);
        assert_eq!(first_may_start_whitespace(ECHO_Q.as_bytes()), None);
        assert_eq!(first_may_start_whitespace(UA.as_bytes()), Some(12));
    }

    fn compile(format: &str) -> LineFormat {
        match LineFormat::compile(format) {
            Ok(compiled) => compiled,
            Err(error) => panic!("{error}"),
        }
    }

    /// The captures of `line`, as owned strings, or `None` when it does not match.
    fn captures(format: &str, line: &str) -> Option<Vec<String>> {
        compile(format)
            .match_line(line)
            .map(|found| found.iter().map(str::to_owned).collect())
    }

    fn owned(values: &[&str]) -> Option<Vec<String>> {
        Some(values.iter().map(|value| (*value).to_owned()).collect())
    }

    fn tv3_line() -> String {
        format!("{ECHO_Q}\tcp3030.esams.wmnet\t12345678\t2019-12-20T10:11:12\t192.0.2.1\t{UA}")
    }

    /// Matches with the memoised search only.
    fn memoised<'a>(format: &LineFormat, line: &'a str) -> Option<Vec<&'a str>> {
        let mut found = Captures::with_len(format.fields().len());
        let mut memo = Memo::default();
        assert!(memo.prepare(line, format.used_classes, format.greedy_rows));
        match format.match_at(0, 0, line, &mut found.values, &mut memo) {
            Ok(true) => Some(found.iter().collect()),
            Ok(false) => None,
            Err(Exhausted) => panic!("the memoised search has no budget"),
        }
    }

    /// Matches with plain, unbudgeted backtracking only.
    fn plain<'a>(format: &LineFormat, line: &'a str) -> Option<Vec<&'a str>> {
        let mut found = Captures::with_len(format.fields().len());
        let mut unbounded = Budgeted::new(usize::MAX);
        match format.match_at(0, 0, line, &mut found.values, &mut unbounded) {
            Ok(true) => Some(found.iter().collect()),
            Ok(false) => None,
            Err(Exhausted) => panic!("an unbounded budget ran out"),
        }
    }

    fn error(format: &str) -> FormatError {
        match LineFormat::compile(format) {
            Ok(compiled) => panic!("{format:?} compiled to {compiled:?}"),
            Err(error) => error,
        }
    }

    // ----- compilation ---------------------------------------------------------------------

    #[test]
    fn production_format_compiles_to_the_reference_regex() {
        let format = compile(PRODUCTION);
        assert_eq!(format.source(), PRODUCTION);
        assert_eq!(format.regex_equivalent(), PRODUCTION_REGEX);
        assert_eq!(format.capsule_index(), 0);
        let fields: Vec<(&str, FieldKind)> = format
            .fields()
            .iter()
            .map(|field| (field.name.as_str(), field.kind))
            .collect();
        assert_eq!(
            fields,
            [
                ("capsule", FieldKind::Qson),
                ("recvFrom", FieldKind::Str),
                ("seqId", FieldKind::Int),
                ("dt", FieldKind::IsoDateTime),
                ("ip", FieldKind::Text),
                ("userAgent", FieldKind::UserAgent),
            ]
        );
    }

    #[test]
    fn every_specifier_has_its_group_name_and_regex() {
        let format = compile("%{n}d %t %o %{x}i %j %{s}s %u");
        assert_eq!(format.capsule_index(), 4);
        let names: Vec<&str> = format.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["n", "timestamp", "omit", "x", "capsule", "s", "userAgent"]
        );
        assert_eq!(
            format.regex_equivalent(),
            r"(?P<n>\d+)\s+(?P<timestamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s+(?P<omit>\S+)\s+(?P<x>[^\t]+)\s+(?P<capsule>\S+)\s+(?P<s>\S+)\s+(?P<userAgent>[^\t]+)"
        );
        for letter in "qjsidtDuo".chars() {
            let kind = FieldKind::from_letter(letter);
            assert_eq!(kind.map(FieldKind::letter), Some(letter));
        }
        assert_eq!(FieldKind::from_letter('h'), None);
    }

    #[test]
    fn legacy_and_server_side_formats_compile() {
        let legacy = compile("%q %{recvFrom}s %{seqId}d %t %o %{userAgent}i");
        let kinds: Vec<FieldKind> = legacy.fields().iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FieldKind::Qson,
                FieldKind::Str,
                FieldKind::Int,
                FieldKind::NcsaTimestamp,
                FieldKind::Omit,
                FieldKind::Text,
            ]
        );
        let server = compile("%{seqId}d EventLogging %j");
        assert_eq!(server.capsule_index(), 1);
        assert_eq!(
            server.regex_equivalent(),
            r"(?P<seqId>\d+)\s+EventLogging\s+(?P<capsule>\S+)"
        );
    }

    #[test]
    fn percent_escape_is_one_literal_percent() {
        let format = compile("%q %%%{a}s");
        assert_eq!(
            format.regex_equivalent(),
            r"(?P<capsule>\?\S+)\s+%%(?P<a>\S+)"
        );
        assert_eq!(format.fields().len(), 2);
        assert_eq!(captures("%q %%%{a}s", "?x %abc"), owned(&["?x", "abc"]));
        assert_eq!(captures("%q %%%{a}s", "?x %%abc"), owned(&["?x", "%abc"]));
        assert_eq!(captures("%q %%%{a}s", "?x abc"), None);
        // `%%q` is a literal "%q", not a capsule field.
        assert_eq!(error("%%q").kind(), &FormatErrorKind::MissingCapsule);
    }

    // ----- compile errors ------------------------------------------------------------------

    #[test]
    fn error_display_names_the_format_problem_and_column() {
        let unterminated = error("%q %{x");
        assert_eq!(
            unterminated.to_string(),
            "invalid line format \"%q %{x\": unterminated \"%{\" at column 4"
        );
        assert_eq!(unterminated.kind(), &FormatErrorKind::UnterminatedBrace);
        assert_eq!(unterminated.column(), 4);
        assert_eq!(unterminated.format(), "%q %{x");
        assert_eq!(unterminated.message(), "unterminated \"%{\"");
    }

    #[test]
    fn each_start_up_error_reports_its_column() {
        let cases: Vec<(&str, FormatErrorKind, usize)> = vec![
            ("", FormatErrorKind::Empty, 1),
            ("%q %x", FormatErrorKind::UnknownSpecifier('x'), 5),
            ("%q %h", FormatErrorKind::UnknownSpecifier('h'), 5),
            ("%q %{a}x", FormatErrorKind::UnknownSpecifier('x'), 8),
            ("%q %", FormatErrorKind::MissingSpecifier, 4),
            ("%q %{a}", FormatErrorKind::MissingSpecifier, 4),
            ("%q %{x", FormatErrorKind::UnterminatedBrace, 4),
            ("%q %{", FormatErrorKind::UnterminatedBrace, 4),
            ("%q %{}s", FormatErrorKind::EmptyName, 6),
            (
                "%q %{1x}s",
                FormatErrorKind::InvalidName("1x".to_owned()),
                6,
            ),
            (
                "%q %{a-b}s",
                FormatErrorKind::InvalidName("a-b".to_owned()),
                7,
            ),
            ("%q %{é}s", FormatErrorKind::InvalidName("é".to_owned()), 6),
            ("%{x}q", FormatErrorKind::NameNotAllowed('q'), 1),
            ("%q %{ts}D", FormatErrorKind::NameNotAllowed('D'), 4),
            (
                "%q %j",
                FormatErrorKind::DuplicateGroup("capsule".to_owned()),
                4,
            ),
            (
                "%q %o %o",
                FormatErrorKind::DuplicateGroup("omit".to_owned()),
                7,
            ),
            (
                "%q %t %t",
                FormatErrorKind::DuplicateGroup("timestamp".to_owned()),
                7,
            ),
            (
                "%q %{seqId}d %{seqId}d",
                FormatErrorKind::DuplicateGroup("seqId".to_owned()),
                14,
            ),
            (
                "%q %{dt}s %D",
                FormatErrorKind::DuplicateGroup("dt".to_owned()),
                11,
            ),
            ("%{seqId}d", FormatErrorKind::MissingCapsule, 10),
            ("   ", FormatErrorKind::MissingCapsule, 4),
            // Columns count characters, not bytes.
            ("é %q %x", FormatErrorKind::UnknownSpecifier('x'), 7),
        ];
        for (format, kind, column) in cases {
            let found = error(format);
            assert_eq!(
                (found.kind(), found.column()),
                (&kind, column),
                "{format:?}"
            );
            assert!(found.to_string().ends_with(&format!(" at column {column}")));
        }
    }

    #[test]
    fn more_than_max_fields_is_rejected_at_the_first_extra_field() {
        let mut format = String::from("%q");
        for n in 1..MAX_FIELDS {
            format.push_str(&format!(" %{{f{n}}}s"));
        }
        assert_eq!(compile(&format).fields().len(), MAX_FIELDS);
        format.push_str(" %{extra}s");
        let found = error(&format);
        assert_eq!(found.kind(), &FormatErrorKind::TooManyFields);
        let extra_column = format.find("%{extra}s").map(|at| at + 1);
        assert_eq!(Some(found.column()), extra_column);
    }

    #[test]
    fn more_than_max_segments_is_rejected() {
        // "%q" then 40 × " a": the 65th segment is the 32nd "a", at column 4 + 2 × 31.
        let format = format!("%q{}", " a".repeat(40));
        let found = error(&format);
        assert_eq!(found.kind(), &FormatErrorKind::TooManySegments);
        assert_eq!(found.column(), 66);
        assert!(LineFormat::compile(&format!("%q{}", " a".repeat(31))).is_ok());
    }

    // ----- matching: reference test vectors ------------------------------------------------

    #[test]
    fn tv3_production_tab_line() {
        let line = tv3_line();
        let expected = owned(&[
            ECHO_Q,
            "cp3030.esams.wmnet",
            "12345678",
            "2019-12-20T10:11:12",
            "192.0.2.1",
            UA,
        ]);
        assert_eq!(captures(PRODUCTION, &line), expected);
        let format = compile(PRODUCTION);
        let found = format.match_line(&line);
        assert_eq!(found.map(|c| c.len()), Some(6));
        assert_eq!(
            found.and_then(|c| c.get(format.capsule_index())),
            Some(ECHO_Q)
        );
    }

    #[test]
    fn tv3_with_trailing_newline_keeps_it_in_the_user_agent() {
        let line = format!("{}\n", tv3_line());
        let found = captures(PRODUCTION, &line);
        let user_agent = found.as_ref().and_then(|values| values.get(5)).cloned();
        assert_eq!(user_agent, Some(format!("{UA}\n")));
        assert_eq!(
            found.as_ref().and_then(|v| v.get(4)).map(String::as_str),
            Some("192.0.2.1")
        );
    }

    #[test]
    fn tv1_space_separated_line_with_omit() {
        let line = "?%7B%22wiki%22%3A%22testwiki%22%2C%22schema%22%3A%22Generic%22%2C%22revision%22%3A13%2C%22event%22%3A%7B%22articleId%22%3A1%2C%22articleTitle%22%3A%22H%C3%A9ctor%20Elizondo%22%7D%2C%22webHost%22%3A%22test.wikipedia.org%22%7D; srv0.example.org 132073 2013-01-19T23:16:38 - Mozilla/5.0 (X11; Linux x86_64; rv:10.0) Gecko/20100101 Firefox/10.0";
        let capsule = line.split(' ').next().unwrap_or_default();
        assert_eq!(
            captures("%q %{recvFrom}s %{seqId}d %D %o %u", line),
            owned(&[
                capsule,
                "srv0.example.org",
                "132073",
                "2013-01-19T23:16:38",
                "-",
                "Mozilla/5.0 (X11; Linux x86_64; rv:10.0) Gecko/20100101 Firefox/10.0",
            ])
        );
    }

    #[test]
    fn tv20_space_separators_let_ip_swallow_most_of_the_user_agent() {
        let line = tv3_line().replace('\t', " ");
        assert_eq!(
            captures(PRODUCTION, &line),
            owned(&[
                ECHO_Q,
                "cp3030.esams.wmnet",
                "12345678",
                "2019-12-20T10:11:12",
                "192.0.2.1 \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88",
                "Safari/537.36\"",
            ])
        );
    }

    #[test]
    fn tv21_legacy_format_on_the_tv3_line() {
        let line = tv3_line();
        assert_eq!(
            captures("%q %{recvFrom}s %{seqId}d %t %o %{userAgent}i", &line),
            owned(&[
                ECHO_Q,
                "cp3030.esams.wmnet",
                "12345678",
                "2019-12-20T10:11:12",
                "192.0.2.1",
                UA,
            ])
        );
    }

    #[test]
    fn tv12_missing_question_mark_or_empty_query_does_not_match() {
        let tail = format!("\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
        assert_eq!(captures(PRODUCTION, &format!("%7B%7D;{tail}")), None);
        assert_eq!(captures(PRODUCTION, &tail), None);
        assert_eq!(captures(PRODUCTION, &format!(" ?%7B%7D;{tail}")), None);
        assert_eq!(captures(PRODUCTION, &format!("?{tail}")), None);
    }

    #[test]
    fn tv22_server_side_format_and_json_cut_at_a_space() {
        let format = "%{seqId}d EventLogging %j";
        let compact = r#"{"revision":123,"timestamp":1358627115,"schema":"FakeSchema","wiki":"enwiki","event":{"action":"save\u0020page"},"recvFrom":"fenari"}"#;
        assert_eq!(
            captures(format, &format!("99 EventLogging {compact}")),
            owned(&["99", compact])
        );
        let spaced = r#"{"revision":123,"timestamp":1358627115,"schema":"FakeSchema","wiki":"enwiki","event":{"version": "1.1"},"recvFrom":"fenari"}"#;
        assert_eq!(
            captures(format, &format!("99 EventLogging {spaced}")),
            owned(&[
                "99",
                r#"{"revision":123,"timestamp":1358627115,"schema":"FakeSchema","wiki":"enwiki","event":{"version":"#
            ])
        );
        assert_eq!(captures(format, "99 EventLog {}"), None);
    }

    // ----- matching: field rules -----------------------------------------------------------

    #[test]
    fn each_specifier_matches_its_own_shape() {
        let cases: Vec<(&str, &str, Option<Vec<String>>)> = vec![
            ("%q", "?a=1&b", owned(&["?a=1&b"])),
            ("%q", "?", None),
            ("%q", "a", None),
            ("%j", "{\"a\":1}", owned(&["{\"a\":1}"])),
            (
                "%j %{s}s",
                "[1] x\u{200b}y z",
                owned(&["[1]", "x\u{200b}y"]),
            ),
            ("%j %{i}i", "{} a b\u{a0}c\td", owned(&["{}", "a b\u{a0}c"])),
            ("%j %{d}d", "{} 0123 rest", owned(&["{}", "0123"])),
            ("%j %{d}d", "{} x123", None),
            (
                "%j %t",
                "{} 2015-09-21T21:55:27Z",
                owned(&["{}", "2015-09-21T21:55:27"]),
            ),
            (
                "%j %D",
                "{} 2015-09-21T21:55:27.123",
                owned(&["{}", "2015-09-21T21:55:27"]),
            ),
            ("%j %D", "{} 2015-09-21 21:55:27", None),
            ("%j %D", "{} 99999-09-21T21:55:27", None),
            (
                "%j %u",
                "{} \"UA (x; y)\"\t-",
                owned(&["{}", "\"UA (x; y)\""]),
            ),
            (
                "%j %o %{s}s",
                "{} 1.2.3.4 h",
                owned(&["{}", "1.2.3.4", "h"]),
            ),
        ];
        for (format, line, expected) in cases {
            assert_eq!(captures(format, line), expected, "{format:?} on {line:?}");
        }
    }

    #[test]
    fn seq_id_that_is_not_all_digits_does_not_match() {
        let line =
            format!("{ECHO_Q}\tcp3030.esams.wmnet\t12a45\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
        assert_eq!(captures(PRODUCTION, &line), None);
        let line =
            format!("{ECHO_Q}\tcp3030.esams.wmnet\t-1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
        assert_eq!(captures(PRODUCTION, &line), None);
    }

    #[test]
    fn eighteen_char_timestamp_does_not_match() {
        let line = format!("{ECHO_Q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:1\t192.0.2.1\t{UA}");
        assert_eq!(captures(PRODUCTION, &line), None);
    }

    #[test]
    fn non_ascii_digits_are_not_digits() {
        assert_eq!(captures("%q %{n}d", "?a \u{661}\u{662}\u{663}"), None);
        assert_eq!(captures("%q %{n}d", "?a 123"), owned(&["?a", "123"]));
    }

    #[test]
    fn trailing_text_after_the_last_field_is_ignored() {
        assert_eq!(
            captures("%q %{seqId}d", "?abc 123xyz"),
            owned(&["?abc", "123"])
        );
        assert_eq!(
            captures("%q %D", "?a 2019-12-20T10:11:12.5Z trailing\tjunk"),
            owned(&["?a", "2019-12-20T10:11:12"])
        );
        let line = format!("{}\textra\tcolumns", tv3_line());
        let found = captures(PRODUCTION, &line);
        assert_eq!(
            found.as_ref().and_then(|v| v.get(4)).map(String::as_str),
            Some("192.0.2.1")
        );
        assert_eq!(
            found.as_ref().and_then(|v| v.get(5)).map(String::as_str),
            Some(UA)
        );
    }

    #[test]
    fn python_exotic_whitespace_separates_fields() {
        // U+00A0 and U+001F are whitespace for Python's `\s`; U+200B is not.
        let line = "?a\u{a0}host\u{1f}42\u{a0}\u{1f}2019-12-20T10:11:12\u{a0}192.0.2.1\t\"UA x\"";
        assert_eq!(
            captures(PRODUCTION, line),
            owned(&[
                "?a",
                "host",
                "42",
                "2019-12-20T10:11:12",
                "192.0.2.1",
                "\"UA x\""
            ])
        );
        assert_eq!(
            captures("%q %{a}s", "?a\u{200b}b\u{85}c"),
            owned(&["?a\u{200b}b", "c"])
        );
        // `[^\t]+` crosses every whitespace but TAB, newlines included.
        assert_eq!(
            captures("%q %{ip}i %u", "?a 1\u{a0}2\n3\u{2028}4"),
            owned(&["?a", "1\u{a0}2\n3", "4"])
        );
    }

    #[test]
    fn each_format_space_needs_its_own_whitespace_character() {
        assert_eq!(captures("%q  %{x}s", "?a b"), None);
        assert_eq!(captures("%q  %{x}s", "?a \tb"), owned(&["?a", "b"]));
        assert_eq!(
            captures("%q  %{x}s", "?a\u{3000}\u{2029}\u{85}b"),
            owned(&["?a", "b"])
        );
    }

    #[test]
    fn literal_text_is_matched_literally() {
        assert_eq!(captures("%q a.b %{x}s", "?q a.b y"), owned(&["?q", "y"]));
        assert_eq!(captures("%q a.b %{x}s", "?q axb y"), None);
        // A TAB in the format is literal text: exactly one TAB.
        assert_eq!(captures("%q\t%{a}s", "?x\tb"), owned(&["?x", "b"]));
        assert_eq!(captures("%q\t%{a}s", "?x b"), None);
        assert_eq!(captures("%q\t%{a}s", "?x\t\tb"), None);
    }

    #[test]
    fn adjacent_fields_backtrack_like_a_regex() {
        // `\?\S+\S+`: the capsule gives back exactly one character.
        assert_eq!(captures("%q%{a}s", "?abc"), owned(&["?ab", "c"]));
        assert_eq!(captures("%q%{a}s", "?a"), None);
        // `\S+\d+`: the digits field gets only the last digit.
        assert_eq!(
            captures("%q %{a}s%{n}d", "?x ab123"),
            owned(&["?x", "ab12", "3"])
        );
    }

    #[test]
    fn captures_accessors() {
        let format = compile("%q %{a}s");
        let found = format.match_line("?x y");
        assert_eq!(found.map(|c| c.len()), Some(2));
        assert_eq!(found.map(|c| c.is_empty()), Some(false));
        assert_eq!(found.and_then(|c| c.get(1)), Some("y"));
        assert_eq!(found.and_then(|c| c.get(2)), None);
        assert_eq!(found.and_then(|c| c.get(MAX_FIELDS + 1)), None);
        assert_eq!(
            found.map(|c| c.iter().collect::<Vec<_>>()),
            Some(vec!["?x", "y"])
        );
        assert!(format.match_line("").is_none());
    }

    #[test]
    fn ordinary_lines_stay_on_the_allocation_free_fast_path() {
        let format = compile(PRODUCTION);
        let tv3 = tv3_line();
        let lines = [
            (tv3.clone(), true),
            (format!("{tv3}\n"), true),
            (tv3.replace('\t', " "), true),
            (tv3.replace("12345678", "12a45678"), false),
            (
                tv3.replace("2019-12-20T10:11:12", "2019-12-20T10:11:1"),
                false,
            ),
            (tv3.replace('?', "%"), false),
        ];
        for (line, matches) in &lines {
            let mut captures = Captures::with_len(format.fields().len());
            let mut fast = Budgeted::new(fast_path_budget(line.len()));
            let outcome = format.match_at(0, 0, line, &mut captures.values, &mut fast);
            assert_eq!(outcome, Ok(*matches), "{line:?}");
            assert!(
                fast.remaining > fast_path_budget(line.len()) / 2,
                "{line:?}"
            );
        }
    }

    // ----- pathological lines --------------------------------------------------------------

    #[test]
    fn pathological_100kb_lines_complete_with_the_right_answer() {
        let production = compile(PRODUCTION);
        // No capsule field, so `compile` would reject it; the matcher is the same.
        let four_texts = Compiler::new("%{a}i %{b}i %{c}i %{d}i").run(CapsuleRule::Optional);
        let Ok(four_texts) = four_texts else {
            panic!("{four_texts:?}");
        };
        let prefix = "?a b 1 2019-12-20T10:11:12 ";

        let digits_and_spaces = "1 ".repeat(50_000);
        assert_eq!(
            production
                .match_line(&format!("?{digits_and_spaces}"))
                .map(|c| c.len()),
            None
        );

        let line = format!("{prefix}{digits_and_spaces}");
        let found = production.match_line(&line);
        assert_eq!(
            found.and_then(|c| c.get(4)).map(str::len),
            Some(100_000 - 3)
        );
        assert_eq!(found.and_then(|c| c.get(5)), Some("1 "));

        let line = format!("{prefix}{}", " ".repeat(100_000));
        let found = production.match_line(&line);
        assert_eq!(
            found.map(|c| [c.get(4), c.get(5)]),
            Some([Some(" "), Some(" ")])
        );

        let line = format!("{prefix}{}", "1\t ".repeat(33_000));
        let found = production.match_line(&line);
        assert_eq!(
            found.map(|c| [c.get(4), c.get(5)]),
            Some([Some("1"), Some("1")])
        );

        let found = four_texts.match_line(&digits_and_spaces);
        assert_eq!(
            found.and_then(|c| c.get(0)).map(str::len),
            Some(100_000 - 7)
        );
        assert_eq!(
            found.map(|c| [c.get(1), c.get(2), c.get(3)]),
            Some([Some("1"), Some("1"), Some("1 ")])
        );

        let spaces = " ".repeat(100_000);
        let found = four_texts.match_line(&spaces);
        assert_eq!(
            found.and_then(|c| c.get(0)).map(str::len),
            Some(100_000 - 6)
        );
        assert_eq!(
            found.map(|c| [c.get(1), c.get(2), c.get(3)]),
            Some([Some(" "); 3])
        );

        // Only two whitespace characters in 100 KB: catastrophic for a plain backtracker.
        let ones = "1".repeat(33_000);
        let two_gaps = format!("{ones} {ones} {ones}");
        assert!(four_texts.match_line(&two_gaps).is_none());
        let mut captures = Captures::with_len(4);
        let mut fast = Budgeted::new(fast_path_budget(two_gaps.len()));
        let outcome = four_texts.match_at(0, 0, &two_gaps, &mut captures.values, &mut fast);
        assert_eq!(
            outcome,
            Err(Exhausted),
            "the fast path gives up and hands over"
        );
        let with_trailing_literal = compile("%q %{a}i %{b}i %{c}i %{d}i x");
        let line = format!("?{}", "1 ".repeat(50_000));
        assert!(with_trailing_literal.match_line(&line).is_none());
        let line = format!("?{}x", "1 ".repeat(50_000));
        let found = with_trailing_literal.match_line(&line);
        assert_eq!(
            found.map(|c| [c.get(2), c.get(3), c.get(4)]),
            Some([Some("1"), Some("1"), Some("1")])
        );
    }

    // ----- properties ----------------------------------------------------------------------

    fn non_space_text(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            any::<char>().prop_filter("not whitespace", |c| !is_python_whitespace(*c)),
            1..max,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    /// Words of non-whitespace joined by single spaces: a `[^\t]+` value that a TAB-separated
    /// line gives back exactly.
    fn spaced_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(non_space_text(8), 1..4).prop_map(|words| words.join(" "))
    }

    fn timestamp() -> impl Strategy<Value = String> {
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    }

    proptest! {
        #[test]
        fn word_skipping_agrees_with_the_bytewise_search(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(
                first_may_start_whitespace(&bytes),
                first_may_start_whitespace_bytewise(&bytes)
            );
        }

        #[test]
        fn tab_joined_values_round_trip(
            capsule in non_space_text(40),
            recv_from in non_space_text(20),
            seq_id in "[0-9]{1,25}",
            dt in timestamp(),
            ip in spaced_text(),
            user_agent in spaced_text(),
            trailing_newline in any::<bool>(),
        ) {
            let capsule = format!("?{capsule}");
            let user_agent = if trailing_newline { format!("{user_agent}\n") } else { user_agent };
            let values = [capsule.as_str(), &recv_from, &seq_id, &dt, &ip, &user_agent];
            let line = values.join("\t");
            let format = compile(PRODUCTION);
            let found = format.match_line(&line).map(|c| c.iter().collect::<Vec<_>>());
            prop_assert_eq!(found, Some(values.to_vec()));
        }

        #[test]
        fn matching_never_panics_and_captures_fit_their_fields(
            line in prop_oneof![
                any::<String>(),
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        ' ', ' ', '\t', '\n', '?', '1', '2', '0', 'a', '-', 'T', ':', '%', 'x',
                        '\u{a0}', '\u{1f}', '\u{2028}', '\u{85}', 'é', '"', '\u{661}',
                        '\u{a9}', '\u{2014}', '\u{3001}', '\u{200b}', '\u{3000}',
                    ]),
                    0..120,
                ).prop_map(|chars| chars.into_iter().collect::<String>()),
                (timestamp(), "[ \t0-9a?]{0,30}").prop_map(|(dt, rest)| format!("?x h 1 {dt} {rest}")),
            ],
            format_index in 0usize..8,
        ) {
            let formats = [
                PRODUCTION,
                "%q %{recvFrom}s %{seqId}d %D %o %u",
                "%q %{a}i %{b}i %{c}i %{d}i",
                "%{seqId}d EventLogging %j",
                "%q%{a}s",
                "%q  %{n}d-%t",
                "%q\t%{a}i %o",
                "%q %%%{x}i é %u",
            ];
            let format = compile(formats.get(format_index).copied().unwrap_or(PRODUCTION));
            let found = format.match_line(&line).map(|c| c.iter().collect::<Vec<_>>());
            prop_assert_eq!(&found, &memoised(&format, &line));
            prop_assert_eq!(&found, &plain(&format, &line));
            if let Some(values) = found {
                let mut previous_end = line.as_ptr() as usize;
                for (value, field) in values.iter().zip(format.fields()) {
                    let start = value.as_ptr() as usize;
                    prop_assert!(start >= previous_end, "captures are in order and disjoint");
                    previous_end = start + value.len();
                    prop_assert!(!value.is_empty());
                    let fits = match field.kind {
                        FieldKind::Qson => value.starts_with('?') && !value.chars().any(is_python_whitespace),
                        FieldKind::Json | FieldKind::Str | FieldKind::Omit => !value.chars().any(is_python_whitespace),
                        FieldKind::Text | FieldKind::UserAgent => !value.contains('\t'),
                        FieldKind::Int => value.bytes().all(|b| b.is_ascii_digit()),
                        FieldKind::NcsaTimestamp | FieldKind::IsoDateTime => timestamp_end(value, 0) == Some(value.len()),
                    };
                    prop_assert!(fits, "{:?} does not fit {:?}", value, field.kind);
                }
                prop_assert!(previous_end <= line.as_ptr() as usize + line.len());
            }
        }

        #[test]
        fn arbitrary_formats_never_panic(format in "[%{}a-zA-Z_ 0-9\t.é]{0,40}") {
            if let Ok(compiled) = LineFormat::compile(&format) {
                prop_assert!(compiled.fields().len() <= MAX_FIELDS);
                prop_assert!(compiled.fields().get(compiled.capsule_index()).is_some_and(|f| f.kind.is_capsule()));
                let _ = compiled.match_line("?a b 1 2019-12-20T10:11:12 x y");
            }
        }
    }
}
