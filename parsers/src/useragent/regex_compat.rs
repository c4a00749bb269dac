//! Respells uap-core regexes so the `ua-parser` crate matches them the way Python's `re` did.
//!
//! The reference implementation ran uap-core through Python's `ua_parser`, so Python's regex
//! semantics are the spec. Two differences between that and `ua-parser` 0.2 + the `regex` crate
//! change results on plausible input; both are fixed here by rewriting a regex into a form that
//! means the same thing to Python but survives the crate unchanged:
//!
//! 1. **Leading position bounds.** To save memory, `ua-parser` rewrites every bounded repetition
//!    `{0,N}` / `{1,N}` with a three-digit `N` into `*` / `+`. For most regexes that changes
//!    nothing on real user agents, but a few uap-core regexes *start* with `^.{0,N}` (or
//!    `^(.{0,N})`) to say "within the first N characters". Unbounded, the generic Spider device
//!    regex `^.{0,100}(bot|…|crawl|…)` calls `Mozilla/4.0 (compatible; MSIE 6.0; …; Media Center
//!    PC 3.1; Googlebot/2.1)` a `Spider` where Python says `Other`. Spelled `{00,N}` the bound
//!    means the same to every engine, but the crate's rewriter (which only recognises a single
//!    `0`/`1` digit) leaves it alone. Only these leading bounds are kept: there are 9 of them in
//!    uap-core 0.18.0, so the extra automaton memory is small (measured: +7 MB, against +150 MB
//!    for keeping every bound).
//! 2. **End anchors.** Python's `$` (no MULTILINE) matches at the end *or before a final
//!    newline*; the `regex` crate's `$` only at the very end. A client-sent user agent ending in
//!    `\n` would otherwise match differently, so every `$` becomes `(?:\n?\z)`.
//!
//! Remaining engine differences (Unicode digits and case folding) are listed in
//! `docs/COMPATIBILITY.md`.

use std::borrow::Cow;

/// The leading forms that carry a position bound, with and without a capture group.
const LEADING_FORMS: [&str; 4] = ["^.{0,", "^(.{0,", "^.{1,", "^(.{1,"];

/// Python's end anchor (no MULTILINE) in `regex` crate syntax.
const PYTHON_END_ANCHOR: &str = r"(?:\n?\z)";

/// Applies [`keep_leading_position_bound`] and [`python_end_anchors`] to every regex of a
/// uap-core document.
pub fn apply_python_semantics(regexes: &mut ua_parser::Regexes<'_>) {
    fn fix(regex: &mut Cow<'_, str>) {
        let fixed = python_end_anchors(&keep_leading_position_bound(regex)).into_owned();
        if fixed != **regex {
            *regex = Cow::Owned(fixed);
        }
    }
    regexes
        .user_agent_parsers
        .iter_mut()
        .for_each(|p| fix(&mut p.regex));
    regexes
        .os_parsers
        .iter_mut()
        .for_each(|p| fix(&mut p.regex));
    regexes
        .device_parsers
        .iter_mut()
        .for_each(|p| fix(&mut p.regex));
}

/// `regex` with a leading `^.{0,N}` / `^(.{0,N})` (or `{1,N}`) bound spelled `{00,N}` /
/// `{01,N}`; any other regex unchanged.
pub fn keep_leading_position_bound(regex: &str) -> Cow<'_, str> {
    for form in LEADING_FORMS {
        let Some(rest) = regex.strip_prefix(form) else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || rest.as_bytes().get(digits) != Some(&b'}') {
            continue;
        }
        // `form` ends in "{0," or "{1,": insert a 0 right after the brace.
        let (head, tail) = form.split_at(form.len().saturating_sub(2));
        return Cow::Owned(format!("{head}0{tail}{rest}"));
    }
    Cow::Borrowed(regex)
}

/// `regex` with every end anchor `$` (not escaped, not inside a character class) replaced by
/// Python's "end, or before a final newline".
pub fn python_end_anchors(regex: &str) -> Cow<'_, str> {
    if !regex.contains('$') {
        return Cow::Borrowed(regex);
    }
    let mut out = String::with_capacity(regex.len().saturating_add(16));
    let mut escaped = false;
    let mut class_depth = 0usize;
    for c in regex.chars() {
        if escaped {
            escaped = false;
            out.push(c);
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                out.push(c);
            }
            '[' => {
                class_depth = class_depth.saturating_add(1);
                out.push(c);
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(c);
            }
            '$' if class_depth == 0 => out.push_str(PYTHON_END_ANCHOR),
            _ => out.push(c),
        }
    }
    if out == regex {
        Cow::Borrowed(regex)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_bounds_get_a_second_digit() {
        assert_eq!(
            keep_leading_position_bound("^.{0,100}(bot|crawl)"),
            "^.{00,100}(bot|crawl)"
        );
        assert_eq!(
            keep_leading_position_bound("^.{0,200}?((?:x)[Bb]ot)"),
            "^.{00,200}?((?:x)[Bb]ot)"
        );
        assert_eq!(
            keep_leading_position_bound("^(.{0,200})/(\\d+) CFNetwork"),
            "^(.{00,200})/(\\d+) CFNetwork"
        );
        assert_eq!(keep_leading_position_bound("^.{1,50}x"), "^.{01,50}x");
    }

    #[test]
    fn regexes_without_a_leading_bound_are_untouched() {
        for regex in [
            "(Firefox)/(\\d+)\\.(\\d+)",
            "Mozilla.{0,200}(AspiegelBot|PetalBot)",
            "^(Luminary)/(\\d+)",
            "^.{0,}x",
            "^.{0,100",
            "^.{2,100}x",
            "",
        ] {
            assert!(
                matches!(keep_leading_position_bound(regex), Cow::Borrowed(r) if r == regex),
                "{regex}"
            );
        }
    }

    #[test]
    fn both_bound_spellings_mean_the_same_to_the_regex_engine() {
        let original = regex::Regex::new("^.{0,3}(bot)").expect("valid");
        let kept = regex::Regex::new(&keep_leading_position_bound("^.{0,3}(bot)")).expect("valid");
        for haystack in ["bot", "abcbot", "abcdbot", "", "xx bot"] {
            assert_eq!(
                original.is_match(haystack),
                kept.is_match(haystack),
                "{haystack}"
            );
        }
        assert!(kept.is_match("abcbot"));
        assert!(!kept.is_match("abcdbot"));
    }

    #[test]
    fn end_anchors_are_rewritten_outside_classes_and_escapes() {
        assert_eq!(
            python_end_anchors(r"(Firefox)/(\d+)\.(\d+)(?:\.(\d+)|$)"),
            r"(Firefox)/(\d+)\.(\d+)(?:\.(\d+)|(?:\n?\z))"
        );
        assert_eq!(python_end_anchors(r"^(bPod)$"), r"^(bPod)(?:\n?\z)");
        // Escaped and in-class dollars are literal characters.
        for literal in [r"BotName\/\$BotVersion", r"[$]x", r"[\]$]x", "no anchor"] {
            assert!(
                matches!(python_end_anchors(literal), Cow::Borrowed(r) if r == literal),
                "{literal}"
            );
        }
        assert_eq!(python_end_anchors(r"\\$"), r"\\(?:\n?\z)");
    }

    #[test]
    fn end_anchor_matches_like_python() {
        let anchored = regex::Regex::new(&python_end_anchors("^(HTC)[a-zA-Z ]*$")).expect("valid");
        assert!(anchored.is_match("HTC One"));
        assert!(anchored.is_match("HTC One\n"));
        assert!(!anchored.is_match("HTC One\n\n"));
        assert!(!anchored.is_match("HTC One\nx"));
        let captured = anchored
            .captures("HTC\n")
            .and_then(|c| c.get(1))
            .map(|m| m.as_str());
        assert_eq!(captured, Some("HTC"));
    }
}
