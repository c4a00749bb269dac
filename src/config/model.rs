//! The configuration file's structure (YAML). Unknown keys are errors.

use serde::Deserialize;

/// The production varnishkafka line format (reference §1.2).
pub const DEFAULT_FORMAT: &str = "%q %{recvFrom}s %{seqId}d %D %{ip}i %u";

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// EventLogging line format of the raw input.
    #[serde(default = "default_format")]
    pub format: String,
    /// Where raw lines come from.
    #[serde(default)]
    pub input: InputConfig,
    /// Where events go.
    #[serde(default)]
    pub output: OutputConfig,
    /// Input limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Where schemas come from.
    #[serde(default)]
    pub schemas: SchemasConfig,
    /// Topic names.
    #[serde(default)]
    pub routing: RoutingConfig,
    /// User-agent parsing.
    #[serde(default)]
    pub user_agent: UserAgentConfig,
    /// Threads and queues.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// Log output.
    #[serde(default)]
    pub logging: LoggingConfig,
}

fn default_format() -> String {
    DEFAULT_FORMAT.to_owned()
}

/// Where raw lines come from.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum InputConfig {
    /// Standard input, to its end.
    #[default]
    Stdin,
    /// Files matched by glob patterns.
    Files(FilesInputConfig),
}

/// File input.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FilesInputConfig {
    /// Glob patterns of files to read (relative to the config file's directory).
    pub include: Vec<String>,
    /// Glob patterns of files to skip.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Keep reading as the files grow (`run`), instead of reading them once.
    #[serde(default = "yes")]
    pub follow: bool,
    /// `beginning` or `end`: where to start in files that exist at start-up.
    #[serde(default)]
    pub read_from: ReadFromConfig,
    /// Pause between reads when there is nothing new, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// How often the glob patterns are re-evaluated, in milliseconds.
    #[serde(default = "default_rescan_ms")]
    pub rescan_interval_ms: u64,
}

fn yes() -> bool {
    true
}
fn default_poll_ms() -> u64 {
    250
}
fn default_rescan_ms() -> u64 {
    1000
}

/// Where to start in files that exist at start-up.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadFromConfig {
    /// From the first byte.
    #[default]
    Beginning,
    /// Only what is appended later.
    End,
}

/// Where events go.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputConfig {
    /// One JSON-lines file per topic in a directory.
    Directory {
        /// The directory (relative to the config file's directory).
        path: String,
        /// fsync before acknowledging.
        #[serde(default)]
        fsync: bool,
    },
    /// JSON lines on standard output.
    #[default]
    Stdout,
}

/// Input limits.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longer lines become error events holding their first `max_line_bytes` bytes.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
}

fn default_max_line_bytes() -> usize {
    64 * 1024
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_line_bytes: default_max_line_bytes(),
        }
    }
}

/// Where schemas come from.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SchemasConfig {
    /// Directories laid out `<Name>/<revision>.json|yaml|yml`, searched in order.
    #[serde(default)]
    pub legacy_dirs: Vec<String>,
}

/// Topic names.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Topic of valid events; `{schema}` is replaced by the schema name.
    #[serde(default = "default_valid_topic")]
    pub valid_topic: String,
    /// Topic of error events.
    #[serde(default = "default_error_topic")]
    pub error_topic: String,
}

fn default_valid_topic() -> String {
    "eventlogging_{schema}".to_owned()
}
fn default_error_topic() -> String {
    "eventlogging_EventError".to_owned()
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            valid_topic: default_valid_topic(),
            error_topic: default_error_topic(),
        }
    }
}

/// User-agent parsing.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserAgentConfig {
    /// Parsed user agents kept per worker thread.
    #[serde(default = "default_ua_cache")]
    pub cache_size: usize,
    /// Longer user agents (counted with their quotes) are errors.
    #[serde(default = "default_ua_max")]
    pub max_length: usize,
    /// A uap-core `regexes.yaml` to use instead of the embedded copy.
    #[serde(default)]
    pub regexes: Option<String>,
}

fn default_ua_cache() -> usize {
    20_000
}
fn default_ua_max() -> usize {
    800
}

impl Default for UserAgentConfig {
    fn default() -> Self {
        UserAgentConfig {
            cache_size: default_ua_cache(),
            max_length: default_ua_max(),
            regexes: None,
        }
    }
}

/// Threads and queues.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Worker threads; 0 means one per core.
    #[serde(default)]
    pub workers: usize,
    /// Lines per batch.
    #[serde(default = "default_batch_lines")]
    pub batch_lines: usize,
    /// Batches that may wait in each queue.
    #[serde(default = "default_queue_batches")]
    pub queue_batches: usize,
}

fn default_batch_lines() -> usize {
    1024
}
fn default_queue_batches() -> usize {
    8
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: 0,
            batch_lines: default_batch_lines(),
            queue_batches: default_queue_batches(),
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    /// `text` or `json`.
    #[serde(default)]
    pub format: LogFormat,
    /// Default level filter (`error`, `warn`, `info`, `debug`, `trace`, or an EnvFilter
    /// directive); the `RUST_LOG` environment variable overrides it.
    #[serde(default = "default_level")]
    pub level: String,
}

fn default_level() -> String {
    "info".to_owned()
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            format: LogFormat::default(),
            level: default_level(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}
