//! `wmf_app_version`: the Wikipedia apps' version, read from their `WikipediaApp/<version>` prefix.
//!
//! Python did `ua.split()[0].split("/")[1]` whenever `WikipediaApp/` occurs anywhere in the user
//! agent, on the string as captured (so with varnishkafka's leading `"` still in place).

use super::error::UserAgentError;

/// The marker that turns the rule on (case-sensitive, anywhere in the user agent).
const APP_MARKER: &str = "WikipediaApp/";

/// Python `str.isspace()`, which is what `str.split()` with no argument splits on: Unicode
/// `White_Space` plus the four ASCII information separators U+001C..U+001F.
pub fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The app version of `user_agent` (as captured, quotes included), or `None` when it does not
/// contain `WikipediaApp/`.
///
/// The version is the segment between the first and the second `/` of the first
/// whitespace-separated token (Python `split("/")[1]`), so `"WikipediaApp/6.5.1.1375 (…)`
/// gives `6.5.1.1375` and an unspaced `"WikipediaApp/1.0"` gives `1.0"` (quote kept, as Python
/// did).
pub fn wmf_app_version(user_agent: &str) -> Result<Option<&str>, UserAgentError> {
    if !user_agent.contains(APP_MARKER) {
        return Ok(None);
    }
    let first_token = user_agent
        .split(is_python_whitespace)
        .find(|token| !token.is_empty())
        .ok_or(UserAgentError::AppVersionWithoutSlash)?;
    first_token
        .split('/')
        .nth(1)
        .map(Some)
        .ok_or(UserAgentError::AppVersionWithoutSlash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_android_app_gives_the_version_without_the_quote() {
        // Reference §3.4.
        assert_eq!(
            wmf_app_version(r#""WikipediaApp/6.5.1.1375 (Android 9; Phone) Google Play""#),
            Ok(Some("6.5.1.1375"))
        );
    }

    #[test]
    fn unquoted_client_values_work_too() {
        assert_eq!(
            wmf_app_version("WikipediaApp/5.3.3.1038 (iOS 10.2; Phone)"),
            Ok(Some("5.3.3.1038"))
        );
        assert_eq!(
            wmf_app_version("WikipediaApp/2.4.160-r-2016-10-14 (Android 4.4.2; Phone)"),
            Ok(Some("2.4.160-r-2016-10-14"))
        );
    }

    #[test]
    fn non_app_user_agents_have_no_version() {
        assert_eq!(wmf_app_version(r#""Mozilla/5.0 (X11)""#), Ok(None));
        assert_eq!(wmf_app_version(""), Ok(None));
        // The marker is case-sensitive.
        assert_eq!(wmf_app_version("wikipediaapp/1.0"), Ok(None));
    }

    #[test]
    fn first_token_without_slash_is_an_error() {
        // Reference TV-19.
        assert_eq!(
            wmf_app_version(r#""Foo WikipediaApp/1.0""#),
            Err(UserAgentError::AppVersionWithoutSlash)
        );
    }

    #[test]
    fn python_split_semantics_are_kept() {
        // Only the segment up to the next '/' is taken.
        assert_eq!(wmf_app_version("WikipediaApp/1.2/x y"), Ok(Some("1.2")));
        // An unspaced quoted UA keeps its closing quote.
        assert_eq!(
            wmf_app_version(r#""WikipediaApp/1.0""#),
            Ok(Some(r#"1.0""#))
        );
        // Leading whitespace and the ASCII separators Python also splits on.
        assert_eq!(
            wmf_app_version(" \u{1f}WikipediaApp/7.0\u{1c}rest"),
            Ok(Some("7.0"))
        );
        // The marker may be anywhere, the version still comes from the first token.
        assert_eq!(wmf_app_version("Foo/9 WikipediaApp/1.0"), Ok(Some("9")));
        // An empty segment is a valid (empty) version, like Python's "".
        assert_eq!(wmf_app_version("WikipediaApp//x"), Ok(Some("")));
    }

    #[test]
    fn python_whitespace_matches_str_isspace() {
        for c in [
            '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{1c}', '\u{1f}', '\u{85}', '\u{a0}',
            '\u{3000}',
        ] {
            assert!(is_python_whitespace(c), "{c:?}");
        }
        for c in ['a', '/', '"', '\u{0}', '\u{1b}', '\u{200b}'] {
            assert!(!is_python_whitespace(c), "{c:?}");
        }
    }
}
