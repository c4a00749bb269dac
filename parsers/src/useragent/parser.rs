//! The user-agent parser: uap-core regexes plus the EventLogging-specific fields (reference §3.4).

use super::app_version::wmf_app_version;
use super::bot::BotPattern;
use super::error::{UserAgentError, UserAgentLoadError};
use super::info::{UserAgentInfo, NO_APP_VERSION, OTHER};
use super::mediawiki::is_mediawiki;
use super::regex_compat::apply_python_semantics;

/// uap-core `regexes.yaml` 0.18.0, vendored (see `parsers/data/uap-core/README.md`).
const BUILTIN_REGEXES_YAML: &str = include_str!("../../data/uap-core/regexes.yaml");

/// Longest user agent accepted, in characters of the string as captured (quotes included).
pub const DEFAULT_MAX_LENGTH: usize = 800;

/// Parses raw user agents into [`UserAgentInfo`].
///
/// Immutable after construction, `Send + Sync`: build it once and share it between worker
/// threads with an `Arc` (each worker keeps its own [`super::UserAgentCache`] in front of it).
pub struct UserAgentParser {
    extractor: ua_parser::Extractor<'static>,
    bot: BotPattern,
    max_length: usize,
}

impl std::fmt::Debug for UserAgentParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentParser")
            .field("max_length", &self.max_length)
            .finish_non_exhaustive()
    }
}

impl UserAgentParser {
    /// The parser over the vendored uap-core 0.18.0 regexes. Takes a few hundred milliseconds
    /// (YAML load and regex compilation): call it once at start-up.
    pub fn builtin() -> Result<Self, UserAgentLoadError> {
        Self::from_yaml(BUILTIN_REGEXES_YAML)
    }

    /// The parser over a uap-core `regexes.yaml` document given as text.
    pub fn from_yaml(yaml: &str) -> Result<Self, UserAgentLoadError> {
        let mut regexes: ua_parser::Regexes<'static> =
            serde_saphyr::from_str(yaml).map_err(UserAgentLoadError::Yaml)?;
        apply_python_semantics(&mut regexes);
        let extractor =
            ua_parser::Extractor::try_from(regexes).map_err(UserAgentLoadError::Regexes)?;
        let bot = BotPattern::new().map_err(UserAgentLoadError::BotPattern)?;
        Ok(UserAgentParser {
            extractor,
            bot,
            max_length: DEFAULT_MAX_LENGTH,
        })
    }

    /// Replaces the length cap (default [`DEFAULT_MAX_LENGTH`], the reference's 800).
    pub fn with_max_length(self, max_chars: usize) -> Self {
        UserAgentParser {
            max_length: max_chars,
            ..self
        }
    }

    /// The length cap, in characters of the user agent as captured.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Parses one user agent, `raw` being the value as captured: from a log line usually with
    /// its surrounding double quotes, from a client capsule without.
    ///
    /// Like the Python processor, uap matching, `wmf_app_version` and `is_mediawiki` see `raw`
    /// unchanged (quotes included); only the bot pattern sees it with its quotes stripped.
    pub fn parse(&self, raw: &str) -> Result<UserAgentInfo, UserAgentError> {
        self.check_length(raw)?;
        let wmf_app_version = wmf_app_version(raw)?.unwrap_or(NO_APP_VERSION).to_owned();

        let browser = self.extractor.ua.extract(raw);
        let os = self.extractor.os.extract(raw);
        let device = self.extractor.dev.extract(raw);

        let device_family = family_or_other(device.as_ref().map(|d| d.device.as_ref()));
        let is_bot = self.bot.is_bot(&device_family, raw);
        Ok(UserAgentInfo {
            browser_family: family_or_other(browser.as_ref().map(|b| b.family.as_ref())),
            browser_major: browser.as_ref().and_then(|b| b.major).map(str::to_owned),
            browser_minor: browser.as_ref().and_then(|b| b.minor).map(str::to_owned),
            device_family,
            os_family: family_or_other(os.as_ref().map(|o| o.os.as_ref())),
            os_major: os
                .as_ref()
                .and_then(|o| o.major.as_deref())
                .map(str::to_owned),
            os_minor: os
                .as_ref()
                .and_then(|o| o.minor.as_deref())
                .map(str::to_owned),
            wmf_app_version,
            is_bot,
            is_mediawiki: is_mediawiki(raw),
        })
    }

    /// The length guard: more than `max_length` characters (Python `len`) is an error.
    fn check_length(&self, raw: &str) -> Result<(), UserAgentError> {
        // A string of at most `max_length` bytes has at most that many characters.
        if raw.len() <= self.max_length {
            return Ok(());
        }
        let length = raw.chars().count();
        if length > self.max_length {
            Err(UserAgentError::TooLong {
                length,
                max: self.max_length,
            })
        } else {
            Ok(())
        }
    }
}

/// uap's family, or `Other` when nothing matched or the match resolved to an empty family.
fn family_or_other(family: Option<&str>) -> String {
    family.filter(|f| !f.is_empty()).unwrap_or(OTHER).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// Built once for the whole test binary: compiling the regexes is the slow part.
    fn parser() -> &'static UserAgentParser {
        static PARSER: OnceLock<UserAgentParser> = OnceLock::new();
        PARSER.get_or_init(|| UserAgentParser::builtin().expect("vendored regexes load"))
    }

    fn parse(raw: &str) -> UserAgentInfo {
        parser()
            .parse(raw)
            .unwrap_or_else(|e| panic!("{raw:?} should parse: {e}"))
    }

    fn json(raw: &str) -> String {
        parse(raw).to_json().to_string()
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    /// An all-`Other`, no-version object with the given flags.
    fn all_other(is_bot: bool, is_mediawiki: bool) -> UserAgentInfo {
        UserAgentInfo {
            browser_family: "Other".to_owned(),
            browser_major: None,
            browser_minor: None,
            device_family: "Other".to_owned(),
            os_family: "Other".to_owned(),
            os_major: None,
            os_minor: None,
            wmf_app_version: "-".to_owned(),
            is_bot,
            is_mediawiki,
        }
    }

    #[test]
    fn parser_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<UserAgentParser>();
    }

    #[test]
    fn firefox_reference_example_and_tv1() {
        // Reference §3.4 first example; TV-1 (unquoted, space-separated format).
        let expected = r#"{"browser_family":"Firefox","browser_major":"10","browser_minor":"0","device_family":"Other","is_bot":false,"is_mediawiki":false,"os_family":"Linux","os_major":null,"os_minor":null,"wmf_app_version":"-"}"#;
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:10.0) Gecko/20100101 Firefox/10.0";
        assert_eq!(json(ua), expected);
        assert_eq!(json(&format!("\"{ua}\"")), expected);
    }

    #[test]
    fn chrome79_is_uaobj_chrome79() {
        // Reference §10 `UA` (quoted, as captured) and `UAOBJ_CHROME79`.
        let ua = r#""Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36""#;
        assert_eq!(
            json(ua),
            r#"{"browser_family":"Chrome","browser_major":"79","browser_minor":"0","device_family":"Other","is_bot":false,"is_mediawiki":false,"os_family":"Windows","os_major":"10","os_minor":null,"wmf_app_version":"-"}"#
        );
    }

    #[test]
    fn chrome61_on_windows_7_tv2() {
        // TV-2: the client-sent userAgent (unquoted).
        let ua = "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3163.100 Safari/537.36";
        assert_eq!(
            json(ua),
            r#"{"browser_family":"Chrome","browser_major":"61","browser_minor":"0","device_family":"Other","is_bot":false,"is_mediawiki":false,"os_family":"Windows","os_major":"7","os_minor":null,"wmf_app_version":"-"}"#
        );
    }

    #[test]
    fn ios_app_tv11() {
        // Reference §3.4 and TV-11.
        assert_eq!(
            parse("WikipediaApp/5.3.3.1038 (iOS 10.2; Phone)"),
            UserAgentInfo {
                os_family: "iOS".to_owned(),
                os_major: some("10"),
                os_minor: some("2"),
                wmf_app_version: "5.3.3.1038".to_owned(),
                ..all_other(false, false)
            }
        );
    }

    #[test]
    fn android_app_with_uap_core_0_18() {
        // Reference §3.4 example: same as ua-parser 0.8.0 except the device, which 0.8.0 called
        // "Generic Smartphone" and uap-core 0.18.0 calls "Phone" (see the compat notes).
        let info = parse("WikipediaApp/2.4.160-r-2016-10-14 (Android 4.4.2; Phone)");
        assert_eq!(
            info,
            UserAgentInfo {
                browser_family: "Android".to_owned(),
                browser_major: some("4"),
                browser_minor: some("4"),
                device_family: "Phone".to_owned(),
                os_family: "Android".to_owned(),
                os_major: some("4"),
                os_minor: some("4"),
                wmf_app_version: "2.4.160-r-2016-10-14".to_owned(),
                is_bot: false,
                is_mediawiki: false,
            }
        );
    }

    #[test]
    fn quoted_android_app_version() {
        let info = parse(r#""WikipediaApp/6.5.1.1375 (Android 9; Phone) Google Play""#);
        assert_eq!(info.wmf_app_version, "6.5.1.1375");
        assert_eq!(info.os_family, "Android");
        assert_eq!(info.os_major, some("9"));
    }

    #[test]
    fn empty_and_dash_are_all_other() {
        // Reference §3.4 "" example and TV-19 `"-"`.
        assert_eq!(parse(""), all_other(false, false));
        assert_eq!(parse("\"-\""), all_other(false, false));
        assert_eq!(parse("-"), all_other(false, false));
    }

    #[test]
    fn mediawiki_is_a_feature_phone_not_a_bot() {
        // Reference §3.4: device "Generic Feature Phone", is_bot false, is_mediawiki true.
        let info = parse("MediaWiki 1.28");
        assert_eq!(info.device_family, "Generic Feature Phone");
        assert!(!info.is_bot);
        assert!(info.is_mediawiki);
        let info = parse("MediaWiki/1.35.0-wmf.10");
        assert_eq!(info.device_family, "Generic Feature Phone");
        assert!(!info.is_bot);
        assert!(info.is_mediawiki);
    }

    #[test]
    fn appengine_is_a_spider() {
        let info = parse("AppEngine-Google; (+http://code.google.com/appengine; appid: webetrex)");
        assert_eq!(info.browser_family, "AppEngine-Google");
        assert_eq!(info.device_family, "Spider");
        assert!(info.is_bot);
    }

    #[test]
    fn wikidemo_is_a_bot_by_the_start_pattern() {
        let info = parse("WikiDemo/10.2.0;");
        assert_eq!(info.device_family, "Other");
        assert!(info.is_bot);
    }

    #[test]
    fn quoted_curl_and_python_requests_are_bots() {
        let info = parse("\"curl/7.64.0\"");
        assert_eq!(
            (
                info.browser_family.as_str(),
                info.browser_major.as_deref(),
                info.browser_minor.as_deref()
            ),
            ("curl", Some("7"), Some("64"))
        );
        assert!(info.is_bot);
        let info = parse("\"python-requests/2.22.0\"");
        assert_eq!(
            (
                info.browser_family.as_str(),
                info.browser_major.as_deref(),
                info.browser_minor.as_deref()
            ),
            ("Python Requests", Some("2"), Some("22"))
        );
        assert!(info.is_bot);
    }

    #[test]
    fn tv20_trailing_safari_fragment() {
        // TV-20: with spaces instead of TABs the UA field is `Safari/537.36"`.
        let info = parse("Safari/537.36\"");
        assert_eq!(info.browser_family, "Safari");
        assert_eq!(info.os_family, "Other");
    }

    #[test]
    fn uap_sees_the_quotes_like_python_did() {
        // Python passed the quoted UA to ua-parser, so regexes anchored with `^` do not match
        // a quoted UA. Checked against Python ua-parser 0.18.0 on the same regexes.yaml.
        let unquoted = parse("NING/1.0");
        assert_eq!(
            (
                unquoted.browser_family.as_str(),
                unquoted.device_family.as_str(),
                unquoted.is_bot
            ),
            ("NING", "Spider", true)
        );
        assert_eq!(parse("\"NING/1.0\""), all_other(false, false));
        // ... and an unspaced quoted app UA keeps the closing quote in its version.
        assert_eq!(parse("\"WikipediaApp/1.0\"").wmf_app_version, "1.0\"");
    }

    #[test]
    fn leading_position_bounds_are_kept() {
        // uap-core's generic Spider regex only looks at the first 100 characters; the crate
        // alone would drop that bound (see regex_compat). Python: device Other.
        let info = parse("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; CDSource=v9e.03; .NET CLR 1.0.3705; .NET CLR 1.1.4322; MSIECrawler)");
        assert_eq!(info.browser_family, "MSIECrawler");
        assert_eq!(info.device_family, "Other");
        assert!(!info.is_bot);
        // Same here, but Wikimedia's own pattern still finds "bot".
        let info = parse("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1; .NET CLR 1.0.3705; .NET CLR 1.1.4322; Media Center PC 3.1; Googlebot/2.1)");
        assert_eq!(info.browser_family, "Googlebot");
        assert_eq!(info.device_family, "Other");
        assert!(info.is_bot);
    }

    #[test]
    fn end_anchors_allow_a_final_newline_like_python() {
        // Values checked against Python ua-parser 0.18.0.
        assert_eq!(parse("\"HTC\n").device_family, "HTC");
        assert_eq!(
            parse("Mozilla/5.0 (Linux; U; Android 4.3; de-de; Archos 50 Hel\n").device_family,
            "Archos 50 Hel"
        );
    }

    #[test]
    fn length_guard_counts_the_quotes() {
        // TV-19: 800 'a's plus the two quotes.
        let ua = format!("\"{}\"", "a".repeat(800));
        assert_eq!(
            parser().parse(&ua),
            Err(UserAgentError::TooLong {
                length: 802,
                max: 800
            })
        );
        assert_eq!(
            parser().parse(&ua).map_err(|e| e.to_string()),
            Err("User Agent string length (802) longer than the allowed 800 chars".to_owned())
        );
        // Exactly 800 characters is allowed.
        let ua = format!("\"{}\"", "a".repeat(798));
        assert!(parser().parse(&ua).is_ok());
    }

    #[test]
    fn length_guard_counts_characters_not_bytes() {
        // 800 two-byte characters: 1600 bytes but 800 characters, so allowed.
        assert!(parser().parse(&"é".repeat(800)).is_ok());
        assert_eq!(
            parser().parse(&"é".repeat(801)),
            Err(UserAgentError::TooLong {
                length: 801,
                max: 800
            })
        );
    }

    #[test]
    fn max_length_is_configurable() {
        let small = UserAgentParser::builtin()
            .expect("vendored regexes load")
            .with_max_length(5);
        assert_eq!(small.max_length(), 5);
        assert!(small.parse("\"abc\"").is_ok());
        assert_eq!(
            small.parse("\"abcd\""),
            Err(UserAgentError::TooLong { length: 6, max: 5 })
        );
    }

    #[test]
    fn app_marker_without_slash_in_first_token_is_an_error() {
        // TV-19.
        assert_eq!(
            parser().parse("\"Foo WikipediaApp/1.0\""),
            Err(UserAgentError::AppVersionWithoutSlash)
        );
    }

    #[test]
    fn from_yaml_accepts_a_minimal_document() {
        let yaml = r#"
user_agent_parsers:
  - regex: '(Foo)/(\d+)\.(\d+)'
os_parsers:
  - regex: '(BarOS) (\d+)'
device_parsers:
  - regex: '(Gadget)'
    device_replacement: 'Generic $1'
"#;
        let p = UserAgentParser::from_yaml(yaml).expect("minimal document loads");
        let info = p.parse("Foo/1.2 BarOS 3 Gadget").expect("short UA parses");
        assert_eq!(info.browser_family, "Foo");
        assert_eq!(info.browser_major, some("1"));
        assert_eq!(info.browser_minor, some("2"));
        assert_eq!(info.os_family, "BarOS");
        assert_eq!(info.os_major, some("3"));
        assert_eq!(info.os_minor, None);
        assert_eq!(info.device_family, "Generic Gadget");
        assert_eq!(p.parse("nothing"), Ok(all_other(false, false)));
    }

    #[test]
    fn from_yaml_rejects_bad_input() {
        assert!(matches!(
            UserAgentParser::from_yaml("user_agent_parsers: 3"),
            Err(UserAgentLoadError::Yaml(_))
        ));
        let bad_regex =
            "user_agent_parsers:\n  - regex: '(unclosed'\nos_parsers: []\ndevice_parsers: []\n";
        assert!(matches!(
            UserAgentParser::from_yaml(bad_regex),
            Err(UserAgentLoadError::Regexes(_))
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(raw in any::<String>()) {
                let _ = parser().parse(&raw);
            }

            #[test]
            fn parse_never_panics_on_ua_like_text(
                raw in r#""?(WikipediaApp/|Mozilla/5\.0 |curl/|MediaWiki|[ -~]|\s|é|\u{1f}){0,60}"?"#
            ) {
                match parser().parse(&raw) {
                    Ok(info) => {
                        prop_assert_eq!(info.to_json().as_object().map(serde_json::Map::len), Some(10));
                        prop_assert!(!info.browser_family.is_empty());
                        prop_assert!(!info.device_family.is_empty());
                        prop_assert!(!info.os_family.is_empty());
                    }
                    Err(e) => prop_assert_eq!(e, UserAgentError::AppVersionWithoutSlash),
                }
            }
        }
    }

    /// The prefilter under uap (parsers/vendor/regex-filtered, patched) reuses its matching
    /// state from one call to the next on a thread. Parsing many different user agents in a row
    /// on one thread must give what each gives alone on a fresh thread (fresh state).
    #[test]
    fn reused_matching_state_gives_the_same_results_as_fresh_state() {
        let agents = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.111 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 12; Pixel 6 Build/SQ3A.220705.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/103.0.5060.71 Mobile Safari/537.36",
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            "WikipediaApp/7.4.2.5133 (iOS 17.1; Phone)",
            "WikipediaApp/2.7.50459-r-2023-09-27 (Android 13; Phone) Google Play",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
            "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
            "Opera/9.80 (Android; Opera Mini/7.5.33361/31.1448; U; en) Presto/2.8.119 Version/11.1010",
            "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
            "Mozilla/5.0 (PlayStation 4 3.11) AppleWebKit/537.73 (KHTML, like Gecko)",
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
            "MediaWiki/1.41.0",
            "curl/7.88.1",
            "python-requests/2.31.0",
            "",
            "-",
            "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36\"",
        ];
        let fresh: Vec<_> = agents
            .iter()
            .map(|ua| {
                let ua = ua.to_string();
                std::thread::spawn(move || parser().parse(&ua))
                    .join()
                    .expect("parse thread")
            })
            .collect();
        // Twice over, forwards then backwards, on this one thread.
        for round in 0..2 {
            let order: Vec<usize> = if round == 0 {
                (0..agents.len()).collect()
            } else {
                (0..agents.len()).rev().collect()
            };
            for index in order {
                assert_eq!(
                    parser().parse(agents[index]),
                    fresh[index],
                    "{}",
                    agents[index]
                );
            }
        }
        // Most of them must be recognised, or the set would not exercise the prefilter.
        let recognised = fresh
            .iter()
            .filter(|info| matches!(info, Ok(info) if info.browser_family != OTHER))
            .count();
        assert!(recognised >= 15, "only {recognised} user agents recognised");
    }
}
