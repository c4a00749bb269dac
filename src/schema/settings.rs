//! Settings of a [`SchemaRegistry`](super::SchemaRegistry): the schema sources in the order
//! they are consulted, what absolute `$schema` URIs may point at, and how remote fetches
//! behave. Plain data: the configuration module fills it (resolving relative paths), and
//! building a registry from it checks it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// One schema source. Legacy lookups (name, revision) consult the legacy kinds, Event Platform
/// lookups (`$schema` paths) the Event Platform kinds, each in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSourceSettings {
    /// A local legacy schema directory, `<dir>/<Name>/<revision>.json|yaml|yml`, loaded
    /// eagerly (every file is checked when the registry is built).
    LegacyDirectory(PathBuf),
    /// A remote legacy schema API: a URL template with `{name}` and `{revision}`, e.g.
    /// `https://meta.wikimedia.org/w/api.php?action=jsonschema&title={name}&revid={revision}&formatversion=2&format=json`.
    /// The body (JSON or YAML) is the schema object.
    LegacyHttp {
        /// The URL template.
        url_template: String,
    },
    /// A local Event Platform schema repository (the directory containing `jsonschema/`),
    /// read lazily.
    EventPlatformRepository(PathBuf),
    /// A remote Event Platform schema base URI: a `$schema` path is appended to it, e.g.
    /// `https://schema.wikimedia.org/repositories/primary/jsonschema`.
    EventPlatformHttp {
        /// The base URI (http or https).
        base_uri: String,
    },
}

/// Everything a schema registry is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRegistrySettings {
    /// Schema sources, in the order they are consulted.
    pub sources: Vec<SchemaSourceSettings>,
    /// Appended to remote Event Platform URLs whose last segment has no extension (e.g.
    /// `.yaml`); none by default.
    pub schema_file_extension: Option<String>,
    /// Hosts (`host` or `host:port`) that absolute `http(s)` `$schema` URIs from events may
    /// point at; empty (none) by default. `file://` URIs are always refused.
    pub allowed_schema_hosts: Vec<String>,
    /// TCP connect timeout of remote fetches.
    pub connect_timeout: Duration,
    /// Total timeout of one remote fetch (DNS, connect, TLS, headers and body).
    pub fetch_timeout: Duration,
    /// How long a failed lookup (unknown schema, failed fetch, broken document) is
    /// remembered before it is tried again; zero disables the negative cache.
    pub negative_cache_ttl: Duration,
    /// Most failed lookups remembered at once.
    pub negative_cache_capacity: usize,
    /// Background threads running remote lookups.
    pub fetch_threads: usize,
    /// Most remote lookups waiting for a thread; more fail at once with `schema_fetch`.
    pub fetch_queue: usize,
    /// Largest remote schema document accepted, in bytes.
    pub max_schema_bytes: u64,
    /// `User-Agent` of remote fetches.
    pub user_agent: String,
    /// Whether the `HTTP(S)_PROXY`/`ALL_PROXY`/`NO_PROXY` environment variables apply to
    /// remote fetches.
    pub use_environment_proxy: bool,
}

impl Default for SchemaRegistrySettings {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            schema_file_extension: None,
            allowed_schema_hosts: Vec::new(),
            connect_timeout: Duration::from_secs(2),
            fetch_timeout: Duration::from_secs(5),
            negative_cache_ttl: Duration::from_secs(60),
            negative_cache_capacity: 10_000,
            fetch_threads: 4,
            fetch_queue: 256,
            max_schema_bytes: 4 * 1024 * 1024,
            user_agent: concat!("beacon-processor/", env!("CARGO_PKG_VERSION")).to_owned(),
            use_environment_proxy: true,
        }
    }
}

/// One problem with the settings: which setting (`sources[2]`,
/// `allowed_schema_hosts[0]`, `fetch_timeout`, …) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaSettingsProblem {
    /// The setting, as a path into [`SchemaRegistrySettings`].
    pub setting: String,
    /// What is wrong (may span several lines, e.g. every broken file of a legacy directory).
    pub message: String,
}

impl fmt::Display for SchemaSettingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

/// The settings could not be turned into a registry; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct SchemaSettingsError {
    /// Every problem (at least one), in settings order.
    pub problems: Vec<SchemaSettingsProblem>,
}

impl fmt::Display for SchemaSettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for problem in &self.problems {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Checks a remote URL setting: `http://` or `https://` with a host.
pub(crate) fn check_http_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

/// Checks a `schema_file_extension`: a `.` followed by letters and digits.
pub(crate) fn check_extension(extension: &str) -> Result<(), String> {
    match extension.strip_prefix('.') {
        Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(()),
        _ => Err(format!(
            "{extension:?} is not a file extension such as \".yaml\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_and_extension_checks() {
        assert_eq!(
            check_http_url("https://schema.example.org/jsonschema"),
            Ok(())
        );
        assert_eq!(check_http_url("http://127.0.0.1:8080"), Ok(()));
        assert!(check_http_url("file:///srv/schemas").is_err());
        assert!(check_http_url("https:///x").is_err());
        assert!(check_http_url("schema.example.org").is_err());
        assert_eq!(check_extension(".yaml"), Ok(()));
        assert!(check_extension("yaml").is_err());
        assert!(check_extension(".").is_err());
        assert!(check_extension(".ya/ml").is_err());
    }

    #[test]
    fn errors_list_every_problem() {
        let error = SchemaSettingsError {
            problems: vec![
                SchemaSettingsProblem {
                    setting: "sources[0]".to_owned(),
                    message: "broken".to_owned(),
                },
                SchemaSettingsProblem {
                    setting: "fetch_timeout".to_owned(),
                    message: "must be positive".to_owned(),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "sources[0]: broken\nfetch_timeout: must be positive"
        );
    }
}
