//! Event `$schema` URIs: checking them, and turning them into repository paths and URLs.
//!
//! A `$schema` from an event is untrusted input. It is either
//! - a **path** (`/analytics/legacy/test/1.3.0`, or without the leading `/`), resolved against
//!   the configured repositories and base URIs; every segment must be non-empty, must not be
//!   `.` or `..`, and may only use unreserved and sub-delimiter URI characters plus `:` and `@`
//!   (no `%`, `?`, `#`, `\`, spaces or non-ASCII), so it cannot escape a repository, change a
//!   URL's query, or come in endless spellings (a query or fragment is cut off before lookup,
//!   [`without_query`]); or
//! - an **absolute URI** (`^[a-zA-Z][a-zA-Z0-9+.-]*://`), fetched as is only when it is
//!   `http`/`https`, has no user info, its host (and port) is on the allowlist, and its path
//!   passes the same segment rules. `file://` is always refused.

use std::fmt;

/// A `$schema` without its query and fragment: `/test/event/1.0.0?x=1#y` names
/// `/test/event/1.0.0`. EventGate resolved such URIs (the query went to a schema server that
/// ignored it). Here a schema is named by its path alone, so a query reaches no server and
/// makes no new cache entry.
pub fn without_query(uri: &str) -> &str {
    uri.find(['?', '#'])
        .and_then(|at| uri.get(..at))
        .unwrap_or(uri)
}

/// Longest `$schema` accepted, in bytes.
pub const MAX_SCHEMA_URI_BYTES: usize = 1024;

/// A checked relative (repository) schema path, without its leading `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaPath {
    path: String,
}

impl SchemaPath {
    /// Checks `uri` as a schema path (one leading `/` is optional). The error says what is
    /// wrong.
    pub fn parse(uri: &str) -> Result<Self, String> {
        if uri.len() > MAX_SCHEMA_URI_BYTES {
            return Err(format!("longer than {MAX_SCHEMA_URI_BYTES} bytes"));
        }
        let path = uri.strip_prefix('/').unwrap_or(uri);
        check_path_segments(path)?;
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// The path without a leading `/` (`analytics/legacy/test/1.3.0`).
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The path's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> + '_ {
        self.path.split('/')
    }

    /// The last segment (`1.3.0`, `latest`).
    pub fn basename(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// Whether the last segment has a file extension, EventGate's way: the text after the
    /// last `.` of the basename, unless it is numeric (so `1.0.0` has none, `1.0.0.yaml` has
    /// `yaml`).
    pub fn has_extension(&self) -> bool {
        has_extension(self.basename())
    }
}

impl fmt::Display for SchemaPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.path)
    }
}

fn has_extension(basename: &str) -> bool {
    match basename.rsplit_once('.') {
        Some((_, extension)) => {
            !extension.is_empty() && !extension.bytes().all(|byte| byte.is_ascii_digit())
        }
        None => false,
    }
}

/// Checks every `/`-separated segment of `path`.
fn check_path_segments(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".to_owned());
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err("empty path segment (`//` or a trailing `/`)".to_owned()),
            "." | ".." => return Err(format!("`{segment}` path segment")),
            _ => {}
        }
        if let Some(bad) = segment.chars().find(|c| !is_path_char(*c)) {
            return Err(format!("character {bad:?} is not allowed in a schema path"));
        }
    }
    Ok(())
}

/// RFC 3986 `pchar` without percent-encoding: unreserved, sub-delims, `:` and `@`.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | '!'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | ';'
                | '='
                | ':'
                | '@'
        )
}

/// Where an event's `$schema` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaUriTarget {
    /// A path, resolved against the configured sources in order.
    Path(SchemaPath),
    /// An absolute `http(s)` URL on an allowed host, fetched as is.
    Absolute(String),
}

/// Whether `uri` starts with a scheme and `://`.
pub fn is_absolute_uri(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once("://") else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

/// Hosts (with optional port) that absolute `$schema` URIs may point at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    /// Lower-cased `host` or `host:port` entries.
    entries: Vec<String>,
}

impl HostAllowlist {
    /// An allowlist of `host` or `host:port` entries (IPv6 hosts in brackets). An entry
    /// without a port allows only the scheme's default port. Fails on a malformed entry.
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut checked = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry.as_ref();
            let (host, port) = split_host_port(entry)
                .ok_or_else(|| format!("{entry:?} is not a host or host:port"))?;
            if host.is_empty() || entry.contains(['/', '@', '?', '#', ' ']) {
                return Err(format!("{entry:?} is not a host or host:port"));
            }
            checked.push(match port {
                Some(port) => format!("{}:{port}", host.to_ascii_lowercase()),
                None => host.to_ascii_lowercase(),
            });
        }
        Ok(Self { entries: checked })
    }

    /// Whether no host is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `host` on `port` (the URL's explicit port, if any) is allowed, given the
    /// scheme's `default_port`.
    fn allows(&self, host: &str, port: Option<u16>, default_port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let port = port.unwrap_or(default_port);
        let with_port = format!("{host}:{port}");
        self.entries
            .iter()
            .any(|entry| *entry == with_port || (*entry == host && port == default_port))
    }
}

/// `host` and optional port of `host[:port]` or `[v6]:port`; `None` when the port is not a
/// number.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let host = authority.get(..inside.len() + 2)?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

/// Classifies an event's `$schema`: a checked path, an allowed absolute URL, or a refusal
/// (the text says why).
pub fn classify_schema_uri(
    uri: &str,
    allowlist: &HostAllowlist,
) -> Result<SchemaUriTarget, String> {
    if !is_absolute_uri(uri) {
        return SchemaPath::parse(uri)
            .map(SchemaUriTarget::Path)
            .map_err(|problem| format!("not a valid schema path: {problem}"));
    }
    if uri.len() > MAX_SCHEMA_URI_BYTES {
        return Err(format!("longer than {MAX_SCHEMA_URI_BYTES} bytes"));
    }
    let (scheme, rest) = uri.split_once("://").unwrap_or((uri, ""));
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "file" => return Err("file:// schema URIs from events are never allowed".to_owned()),
        "http" => 80,
        "https" => 443,
        _ => {
            return Err(format!(
                "absolute schema URIs must be http or https, not {scheme}"
            ))
        }
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err("absolute schema URIs must not contain user information".to_owned());
    }
    let Some((host, port)) = split_host_port(authority).filter(|(host, _)| !host.is_empty()) else {
        return Err(format!("{authority:?} is not a valid host"));
    };
    if !allowlist.allows(host, port, default_port) {
        return Err(format!(
            "absolute schema URIs are only allowed for the configured hosts, and {authority} \
             is not one of them"
        ));
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    check_path_segments(path)
        .map_err(|problem| format!("not a valid schema URL path: {problem}"))?;
    Ok(SchemaUriTarget::Absolute(uri.to_owned()))
}

/// `base` and `path` joined with exactly one `/`.
pub fn join_base(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// `url` with `extension` (e.g. `.yaml`) appended when its last path segment has no
/// extension (see [`SchemaPath::has_extension`]).
pub fn with_extension(url: String, extension: Option<&str>) -> String {
    match extension {
        Some(extension) if !has_extension(url.rsplit('/').next().unwrap_or(&url)) => {
            url + extension
        }
        _ => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(entries: &[&str]) -> HostAllowlist {
        HostAllowlist::new(entries).expect("valid allowlist")
    }

    #[test]
    fn paths_with_and_without_leading_slash_are_the_same() {
        let with = SchemaPath::parse("/analytics/legacy/test/1.3.0").expect("valid");
        let without = SchemaPath::parse("analytics/legacy/test/1.3.0").expect("valid");
        assert_eq!(with, without);
        assert_eq!(with.as_str(), "analytics/legacy/test/1.3.0");
        assert_eq!(with.to_string(), "/analytics/legacy/test/1.3.0");
        assert_eq!(with.basename(), "1.3.0");
        assert_eq!(
            with.segments().collect::<Vec<_>>(),
            ["analytics", "legacy", "test", "1.3.0"]
        );
        assert!(SchemaPath::parse("bad/uri/right/here@@@").is_ok());
    }

    #[test]
    fn escaping_or_ambiguous_paths_are_refused() {
        for (uri, problem) in [
            ("", "empty path"),
            ("/", "empty path"),
            ("/test/../secret", "`..` path segment"),
            ("../x", "`..` path segment"),
            ("/test/./0.0.1", "`.` path segment"),
            ("//evil.example/x", "empty path segment"),
            ("/test/0.0.1/", "empty path segment"),
            ("/test/%2e%2e/x", "character '%'"),
            ("/test/0.0.1?x=1", "character '?'"),
            ("/test/0.0.1#frag", "character '#'"),
            ("/test\\..\\x", "character '\\\\'"),
            ("/té/1", "character 'é'"),
            ("/a b/1", "character ' '"),
        ] {
            let error = SchemaPath::parse(uri).expect_err(uri);
            assert!(error.starts_with(problem), "{uri:?}: {error}");
        }
        assert!(SchemaPath::parse(&"a/".repeat(600)).is_err());
    }

    #[test]
    fn extensions_follow_eventgate() {
        for (path, expected) in [
            ("test/event/1.0.0", false),
            ("x/latest", false),
            ("x/1.0.0.yaml", true),
            ("x/current.yaml", true),
            ("x/13", false),
        ] {
            let parsed = SchemaPath::parse(path).expect("valid");
            assert_eq!(parsed.has_extension(), expected, "{path}");
        }
        assert_eq!(
            with_extension("https://h/x/1.0.0".to_owned(), Some(".yaml")),
            "https://h/x/1.0.0.yaml"
        );
        assert_eq!(
            with_extension("https://h/x/1.0.0.json".to_owned(), Some(".yaml")),
            "https://h/x/1.0.0.json"
        );
        assert_eq!(
            with_extension("https://h/x/1.0.0".to_owned(), None),
            "https://h/x/1.0.0"
        );
    }

    #[test]
    fn join_uses_one_slash() {
        for base in ["https://h/jsonschema", "https://h/jsonschema/"] {
            for path in ["/test/0.0.1", "test/0.0.1"] {
                assert_eq!(join_base(base, path), "https://h/jsonschema/test/0.0.1");
            }
        }
    }

    #[test]
    fn absolute_uri_detection() {
        assert!(is_absolute_uri("https://schema.example/x"));
        assert!(is_absolute_uri("file:///etc/passwd"));
        assert!(is_absolute_uri("git+ssh://host/x"));
        assert!(!is_absolute_uri("/test/0.0.1"));
        assert!(!is_absolute_uri("test/0.0.1"));
        assert!(!is_absolute_uri("1http://x"));
        assert!(!is_absolute_uri("://x"));
        assert!(!is_absolute_uri("a/b://c"));
    }

    #[test]
    fn absolute_uris_need_an_allowed_host() {
        let allowlist = allow(&["schema.example.org", "127.0.0.1:8080", "[::1]:9000"]);
        for uri in [
            "https://schema.example.org/test/0.0.1",
            "https://SCHEMA.example.org:443/test/0.0.1",
            "http://schema.example.org/test/0.0.1",
            "http://127.0.0.1:8080/x/1.0.0",
            "http://[::1]:9000/x/1.0.0",
        ] {
            assert_eq!(
                classify_schema_uri(uri, &allowlist),
                Ok(SchemaUriTarget::Absolute(uri.to_owned())),
                "{uri}"
            );
        }
        for (uri, problem) in [
            (
                "https://evil.example/test/0.0.1",
                "absolute schema URIs are only allowed",
            ),
            (
                "https://schema.example.org:8443/x",
                "absolute schema URIs are only allowed",
            ),
            (
                "http://127.0.0.1/x",
                "absolute schema URIs are only allowed",
            ),
            (
                "http://127.0.0.1:8081/x",
                "absolute schema URIs are only allowed",
            ),
            (
                "http://schema.example.org@evil.example/x",
                "absolute schema URIs must not contain user",
            ),
            (
                "file:///etc/passwd",
                "file:// schema URIs from events are never allowed",
            ),
            ("FILE://schema.example.org/x", "file:// schema URIs"),
            (
                "ftp://schema.example.org/x",
                "absolute schema URIs must be http or https",
            ),
            (
                "https://schema.example.org/a/../b",
                "not a valid schema URL path: `..`",
            ),
            (
                "https://schema.example.org/a?b",
                "not a valid schema URL path: character '?'",
            ),
            ("https:///x", "\"\" is not a valid host"),
            ("https://host:port/x", "\"host:port\" is not a valid host"),
        ] {
            let error = classify_schema_uri(uri, &allowlist).expect_err(uri);
            assert!(error.starts_with(problem), "{uri}: {error}");
        }
        let nothing = HostAllowlist::default();
        assert!(nothing.is_empty());
        assert!(classify_schema_uri("https://schema.example.org/x", &nothing).is_err());
        assert_eq!(
            classify_schema_uri("/test/0.0.1", &nothing),
            Ok(SchemaUriTarget::Path(
                SchemaPath::parse("test/0.0.1").expect("valid")
            ))
        );
    }

    #[test]
    fn malformed_allowlist_entries_are_rejected() {
        for entry in ["", "https://h", "h/x", "user@h", "h:port", "[::1"] {
            assert!(HostAllowlist::new(&[entry]).is_err(), "{entry:?}");
        }
    }
}
