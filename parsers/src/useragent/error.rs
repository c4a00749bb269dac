//! Errors of user-agent parsing (per string) and of loading the uap-core data (once, at start).

use std::fmt;

/// Why one user agent could not be turned into a [`super::UserAgentInfo`].
///
/// Both cases are processor errors of the event in the reference (§3.4, TV-19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAgentError {
    /// The user agent, measured in characters *including* its surrounding quotes, is over the cap.
    TooLong {
        /// Length of the string as captured, in Unicode scalar values (Python `len`).
        length: usize,
        /// The configured cap (800 by default).
        max: usize,
    },
    /// `WikipediaApp/` occurs in the user agent, but its first whitespace-separated token has no
    /// `/` to take the app version from (Python raised `IndexError: list index out of range`).
    AppVersionWithoutSlash,
}

impl fmt::Display for UserAgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserAgentError::TooLong { length, max } => write!(
                f,
                "User Agent string length ({length}) longer than the allowed {max} chars"
            ),
            UserAgentError::AppVersionWithoutSlash => f.write_str(
                "user agent contains WikipediaApp/ but its first token has no '/' to take the app version from",
            ),
        }
    }
}

impl std::error::Error for UserAgentError {}

/// Why the uap-core regexes could not be loaded into a [`super::UserAgentParser`].
#[derive(Debug)]
pub enum UserAgentLoadError {
    /// The YAML text is not a uap-core `regexes.yaml` document.
    Yaml(serde_saphyr::Error),
    /// A uap-core regex (or its replacement template) could not be compiled.
    Regexes(ua_parser::Error),
    /// The built-in bot pattern could not be compiled (a bug, never input-dependent).
    BotPattern(regex::Error),
}

impl fmt::Display for UserAgentLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserAgentLoadError::Yaml(e) => write!(f, "cannot read the uap-core regexes YAML: {e}"),
            UserAgentLoadError::Regexes(e) => {
                write!(f, "cannot compile the uap-core regexes: {e}")
            }
            UserAgentLoadError::BotPattern(e) => {
                write!(f, "cannot compile the bot user-agent pattern: {e}")
            }
        }
    }
}

impl std::error::Error for UserAgentLoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UserAgentLoadError::Yaml(e) => Some(e),
            UserAgentLoadError::Regexes(e) => Some(e),
            UserAgentLoadError::BotPattern(e) => Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_message_is_the_reference_text() {
        let error = UserAgentError::TooLong {
            length: 802,
            max: 800,
        };
        assert_eq!(
            error.to_string(),
            "User Agent string length (802) longer than the allowed 800 chars"
        );
    }

    #[test]
    fn app_version_message_names_the_problem() {
        assert_eq!(
            UserAgentError::AppVersionWithoutSlash.to_string(),
            "user agent contains WikipediaApp/ but its first token has no '/' to take the app version from"
        );
    }
}
