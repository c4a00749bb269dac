//! `is_mediawiki`: requests made by MediaWiki itself.
//!
//! Python: `'mediawiki' in user_agent.lower()`, on the string as captured.

/// The needle, already lower-case.
const NEEDLE: &str = "mediawiki";

/// Whether `user_agent` contains `mediawiki` after Unicode lower-casing (Python `str.lower`).
///
/// ASCII user agents (nearly all of them) are searched in place; others are lower-cased first,
/// because full Unicode lower-casing can turn non-ASCII characters into the needle's letters
/// (e.g. KELVIN SIGN U+212A lower-cases to `k`).
pub fn is_mediawiki(user_agent: &str) -> bool {
    if user_agent.is_ascii() {
        user_agent
            .as_bytes()
            .windows(NEEDLE.len())
            .any(|window| window.eq_ignore_ascii_case(NEEDLE.as_bytes()))
    } else {
        user_agent.to_lowercase().contains(NEEDLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_substring() {
        assert!(is_mediawiki("MediaWiki 1.28"));
        assert!(is_mediawiki("\"MediaWiki/1.35.0-wmf.10\""));
        assert!(is_mediawiki("x MEDIAWIKI y"));
        assert!(is_mediawiki("mediawiki"));
        assert!(!is_mediawiki("Media Wiki"));
        assert!(!is_mediawiki("mediawik"));
        assert!(!is_mediawiki(""));
    }

    #[test]
    fn unicode_lowercasing_like_python() {
        // U+212A KELVIN SIGN lower-cases to ASCII 'k'.
        assert!(is_mediawiki("MediaWi\u{212a}i ☆"));
        assert!(is_mediawiki("☆ mediawiki"));
        assert!(!is_mediawiki("☆ mediawikı"));
    }
}
