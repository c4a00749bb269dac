//! `is_bot`: uap's `Spider` device, extended with Wikimedia's own bot pattern.
//!
//! The token list comes from refinery's `Webrequest.java` (reference §3.4). Python applied it
//! with `re.match` (anchored at the start, case-sensitive) to the user agent with every leading
//! and trailing `"` stripped, and only when uap's device family is `Other`.

use regex::Regex;

/// Wikimedia's bot pattern, translated from Python `re` to the `regex` crate:
///
/// - `re.match` anchors at the start: `^`;
/// - Python's `$` (no MULTILINE) matches at the end *or before one final newline*: `\n?$`,
///   because the crate's `$` is the end of the text only;
/// - `.` excludes only `\n` in both engines;
/// - Python's `\S` excludes `str.isspace()` characters, which are Unicode `White_Space` (the
///   crate's `\s`) plus U+001C..U+001F: `[^\s\x1C-\x1F]`.
///
/// Branch (a) finds a token anywhere, branch (b) requires it at the start. In `tools.wmflabs.org`
/// the dots are unescaped, as in the original, so they match any character.
const BOT_PATTERN: &str = concat!(
    r"^(?:",
    r".*(?:bot|spider|WordPress|AppEngine|AppleDictionaryService|Python-urllib|python-requests",
    r"|Google-HTTP-Java-Client|[Ff]acebook|[Yy]ahoo|RockPeaks|http).*",
    r"|(?:goo wikipedia|MediaWikiCrawler-Google|wikiwix-bot|Java|curl|PHP|Faraday|HTTPC|Ruby",
    r"|\.NET|Python|Apache|Scrapy|PycURL|libwww|Zend|wget|nodemw|WinHttpRaw|Twisted|com\.eusoft",
    r"|Lagotto|Peggo|Recuweb|check_http|Magnus|MLD|Jakarta|find-link|J\. River|projectplan9",
    r"|ADmantX|httpunit|LWP|iNaturalist|WikiDemo|FSResearchIt|livedoor|Microsoft Monitoring",
    r"|MediaWiki|User:|User_talk:|github|tools.wmflabs.org|Blackboard Safeassign|Damn Small XSS",
    r"|[^\s\x1C-\x1F]+@[^\s\x1C-\x1F]+\.[a-zA-Z]{2,3}",
    r").*",
    r")\n?$",
);

/// uap's device family for crawlers; always a bot.
const SPIDER_DEVICE: &str = "Spider";

/// uap's device family when no device regex matched; the only case the bot pattern is tried.
const UNKNOWN_DEVICE: &str = super::info::OTHER;

/// The compiled bot pattern (linear-time `regex` engine, no catastrophic backtracking).
#[derive(Debug, Clone)]
pub struct BotPattern {
    regex: Regex,
}

impl BotPattern {
    /// Compiles the pattern; only fails if the constant itself is broken.
    pub fn new() -> Result<Self, regex::Error> {
        Regex::new(BOT_PATTERN).map(|regex| BotPattern { regex })
    }

    /// Whether a user agent with device family `device_family` is a bot. `user_agent` is the
    /// string as captured; the surrounding quotes are stripped here.
    pub fn is_bot(&self, device_family: &str, user_agent: &str) -> bool {
        match device_family {
            SPIDER_DEVICE => true,
            UNKNOWN_DEVICE => self.matches(user_agent.trim_matches('"')),
            _ => false,
        }
    }

    /// Whether the pattern alone matches `unquoted` (already stripped of its quotes).
    pub fn matches(&self, unquoted: &str) -> bool {
        self.regex.is_match(unquoted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern() -> BotPattern {
        BotPattern::new().expect("the constant pattern compiles")
    }

    #[test]
    fn anywhere_tokens_match_anywhere() {
        let p = pattern();
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1)",
            "x spider y",
            "WordPress/5.3; https://example.org",
            "something AppEngine",
            "AppleDictionaryService/1.0",
            "Python-urllib/3.7",
            "lib python-requests/2.22.0",
            "Google-HTTP-Java-Client/1.0",
            "facebookexternalhit/1.1",
            "Facebook",
            "yahoo",
            "Yahoo! Slurp",
            "RockPeaks",
            "see http://example.org",
        ] {
            assert!(p.matches(ua), "{ua}");
        }
    }

    #[test]
    fn start_tokens_match_only_at_the_start() {
        let p = pattern();
        for ua in [
            "goo wikipedia",
            "MediaWikiCrawler-Google",
            "wikiwix-bot",
            "Java/1.8.0_151",
            "curl/7.64.0",
            "PHP/7.2",
            "Faraday v0.9.2",
            "HTTPClient",
            "Ruby",
            ".NET Framework",
            "Python/3.7 aiohttp/3.6.2",
            "Apache-HttpClient/4.5.2",
            "Scrapy/1.5",
            "PycURL/7.43",
            "libwww-perl/6.05",
            "Zend_Http_Client",
            "wget",
            "nodemw",
            "WinHttpRaw",
            "Twisted PageGetter",
            "com.eusoft.dict",
            "Lagotto",
            "Peggo",
            "Recuweb",
            "check_http/v2.2",
            "Magnus labs tools",
            "MLD",
            "Jakarta Commons-HttpClient/3.1",
            "find-link",
            "J. River Internet Reader/2.0",
            "projectplan9",
            "ADmantX Platform",
            "httpunit/1.7",
            "LWP::Simple/6.00",
            "iNaturalist/1.0",
            "WikiDemo/10.2.0;",
            "FSResearchIt",
            "livedoor ScreenShot",
            "Microsoft Monitoring Agent",
            "MediaWiki/1.35.0-wmf.10",
            "User:Example",
            "User_talk:Example",
            "github.com/foo",
            "tools.wmflabs.org/xtools",
            "toolsXwmflabsYorg",
            "Blackboard Safeassign",
            "Damn Small XSS Scanner",
            "me@example.org",
            "me@example.co.uk (MyTool/1.0)",
        ] {
            assert!(p.matches(ua), "{ua}");
        }
        for ua in [
            "Mozilla curl/7.64.0",
            "x Java",
            "Mozilla/5.0 (X11; Linux x86_64; rv:10.0) Gecko/20100101 Firefox/10.0",
            "",
            "-",
            "me@example",
            "me @example.org",
            "@example.org",
            "me@.org",
            "CURL/7.64.0",
            // The e-mail-like token must be the start of the user agent.
            "MyTool/1.0 me@example.co.uk (x)",
        ] {
            assert!(!p.matches(ua), "{ua}");
        }
    }

    #[test]
    fn newlines_follow_python_dollar_semantics() {
        let p = pattern();
        // One final newline is allowed by Python's `$`.
        assert!(p.matches("curl/7.64.0\n"));
        assert!(p.matches("Googlebot\n"));
        // Any other newline breaks the `.*`.
        assert!(!p.matches("curl/7.64.0\nmore"));
        assert!(!p.matches("curl/7.64.0\n\n"));
        assert!(!p.matches("Googlebot\nmore"));
        assert!(!p.matches("x\nGooglebot"));
    }

    #[test]
    fn email_like_uses_python_non_space() {
        let p = pattern();
        // U+001F is whitespace for Python's \S, so it breaks the e-mail token.
        assert!(!p.matches("me\u{1f}@example.org"));
        assert!(p.matches("mé@exämple.org"));
    }

    #[test]
    fn is_bot_uses_device_family_and_strips_quotes() {
        let p = pattern();
        assert!(p.is_bot("Spider", "\"Mozilla/5.0\""));
        assert!(p.is_bot("Other", "\"curl/7.64.0\""));
        assert!(p.is_bot("Other", "\"\"curl/7.64.0\"\""));
        assert!(!p.is_bot("Other", "\"-\""));
        // Any real device wins over the pattern (reference: MediaWiki → Generic Feature Phone).
        assert!(!p.is_bot("Generic Feature Phone", "MediaWiki/1.35.0-wmf.10"));
        // Quotes are stripped only at the ends.
        assert!(!p.is_bot("Other", "x\"curl/7.64.0\""));
    }
}
