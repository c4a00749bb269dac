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
    /// The delivery guarantee.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Input limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Where schemas come from.
    #[serde(default)]
    pub schemas: SchemasConfig,
    /// Topic names of legacy events.
    #[serde(default)]
    pub routing: RoutingConfig,
    /// Event Platform streams.
    #[serde(default)]
    pub streams: StreamsConfig,
    /// Legacy -> Event Platform conversion.
    #[serde(default)]
    pub legacy: LegacyConfig,
    /// Reloading schemas and streams.
    #[serde(default)]
    pub reload: ReloadConfig,
    /// User-agent parsing.
    #[serde(default)]
    pub user_agent: UserAgentConfig,
    /// Threads and queues.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// The HTTP server.
    #[serde(default)]
    pub http: HttpConfig,
    /// Log output.
    #[serde(default)]
    pub logging: LoggingConfig,
}

/// `delivery`: what a reader of the output can rely on across crashes and restarts.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryConfig {
    /// Every line's output is delivered; a crash delivers what was processed since the last
    /// commit again (duplicates, never loss).
    #[default]
    AtLeastOnce,
    /// Kafka -> Kafka with transactions: a `read_committed` reader sees every line's output
    /// exactly once, whatever crashes.
    ExactlyOnce,
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
    /// Raw topics consumed in a consumer group.
    Kafka(super::KafkaInputConfig),
    /// The HTTP intake: EventGate's `POST /v1/events` (README, "HTTP intake").
    Http(HttpInputConfig),
}

/// The HTTP intake's listener and limits.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpInputConfig {
    /// Address and port to listen on.
    #[serde(default = "default_intake_listen")]
    pub listen: String,
    /// Connections served at once; more wait in the kernel's accept queue.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Time for a request's headers to arrive; also closes idle keep-alive connections.
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// Time for a request's body to arrive (408 beyond).
    #[serde(default = "default_body_timeout_ms")]
    pub body_timeout_ms: u64,
    /// Time for a request's events to be delivered before it is answered 503.
    #[serde(default = "default_delivery_timeout_ms")]
    pub delivery_timeout_ms: u64,
    /// Request body size limit in bytes (413 beyond).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// What a gzip body may decompress to, in bytes (413 beyond).
    #[serde(default = "default_max_decoded_bytes")]
    pub max_decoded_bytes: usize,
    /// Events per request at most (413 beyond).
    #[serde(default = "default_max_events_per_request")]
    pub max_events_per_request: usize,
    /// Proxies (IP addresses) whose `X-Client-IP` / `X-Forwarded-For` are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// `Access-Control-Allow-Origin` of every answer; `null` for no CORS headers.
    #[serde(default = "default_cors_origin")]
    pub cors_origin: Option<String>,
    /// Events `GET /v1/_test/events` posts (canary/readiness checks); unset: no such route.
    #[serde(default)]
    pub test_events: Option<Vec<serde_json::Value>>,
    /// Requests per second per client address (0: no limit); over it, 429 with Retry-After.
    #[serde(default)]
    pub rate_limit_per_second: f64,
    /// Requests a client address may send at once before the rate applies.
    #[serde(default = "default_rate_limit_burst")]
    pub rate_limit_burst: u32,
    /// Threads reading, parsing and answering requests (the pipeline's workers validate the
    /// events). 1 measured cheapest per event on 2 cores; more for many cores and connections.
    #[serde(default = "default_intake_threads")]
    pub threads: usize,
}

fn default_intake_threads() -> usize {
    1
}

fn default_rate_limit_burst() -> u32 {
    100
}

fn default_intake_listen() -> String {
    "127.0.0.1:8192".to_owned()
}
fn default_max_connections() -> usize {
    1024
}
fn default_header_timeout_ms() -> u64 {
    10_000
}
fn default_body_timeout_ms() -> u64 {
    30_000
}
fn default_delivery_timeout_ms() -> u64 {
    30_000
}
fn default_max_body_bytes() -> usize {
    4 * 1024 * 1024
}
fn default_max_decoded_bytes() -> usize {
    16 * 1024 * 1024
}
fn default_max_events_per_request() -> usize {
    5000
}
fn default_cors_origin() -> Option<String> {
    Some("*".to_owned())
}

/// File input. With `follow` (the `run` command) the files are tailed: see the README section
/// "File tailing".
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
    /// `beginning` or `end`: where to start in files found at the first start (no checkpoint
    /// file yet). Files appearing later, or while stopped, are always read from their beginning.
    #[serde(default)]
    pub read_from: ReadFromConfig,
    /// Pause between reads when there is nothing new, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// How often the glob patterns are re-evaluated, in milliseconds.
    #[serde(default = "default_rescan_ms")]
    pub rescan_interval_ms: u64,
    /// Directory of the checkpoint file (relative to the config file's directory).
    #[serde(default = "default_data_dir")]
    pub data_dir: String,
    /// Bytes at the start of a file (and before a resume position) whose checksum identifies it.
    #[serde(default = "default_fingerprint_bytes")]
    pub fingerprint_bytes: usize,
    /// Bytes read from one file per pass before moving to the next (fairness).
    #[serde(default = "default_read_budget_bytes")]
    pub read_budget_bytes: u64,
    /// How long a rotated-away or deleted file is still read after it stops growing, in
    /// milliseconds; then its unterminated last line is emitted and it is closed.
    #[serde(default = "default_rotate_wait_ms")]
    pub rotate_wait_ms: u64,
    /// How often the checkpoint file is written (when it changed), in milliseconds.
    #[serde(default = "default_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
    /// Checkpoint entries of files no longer seen are dropped after this many seconds.
    #[serde(default = "default_checkpoint_retention_s")]
    pub checkpoint_retention_s: u64,
    /// At shutdown, how long to wait for outstanding acknowledgements before the final
    /// checkpoint, in milliseconds.
    #[serde(default = "default_shutdown_timeout_ms")]
    pub shutdown_timeout_ms: u64,
    /// Use filesystem notifications (inotify) to notice changes before the next poll.
    #[serde(default = "yes")]
    pub notify: bool,
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
fn default_data_dir() -> String {
    "data".to_owned()
}
fn default_fingerprint_bytes() -> usize {
    1024
}
fn default_read_budget_bytes() -> u64 {
    256 * 1024
}
fn default_rotate_wait_ms() -> u64 {
    5000
}
fn default_checkpoint_interval_ms() -> u64 {
    1000
}
fn default_checkpoint_retention_s() -> u64 {
    3600
}
fn default_shutdown_timeout_ms() -> u64 {
    10_000
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
        /// Topics written to a file of their own (path relative to the config file's
        /// directory) instead of `<path>/<topic>.jsonl`.
        #[serde(default)]
        files: std::collections::BTreeMap<String, String>,
    },
    /// JSON lines on standard output.
    #[default]
    Stdout,
    /// Kafka topics.
    Kafka(super::KafkaOutputConfig),
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

/// Where schemas come from. Sources are searched in this order: legacy directories (legacy
/// SCIDs) or Event Platform repositories (`$schema` URIs), then the remote ones.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SchemasConfig {
    /// Directories laid out `<Name>/<revision>.json|yaml|yml` (draft-3 legacy schemas).
    #[serde(default)]
    pub legacy_dirs: Vec<String>,
    /// Event Platform schema repositories: directories holding `jsonschema/<title>/<version>`.
    #[serde(default)]
    pub event_repositories: Vec<String>,
    /// Remote bases a `$schema` path is appended to, tried in order.
    #[serde(default)]
    pub schema_base_uris: Vec<String>,
    /// URL of a legacy schema, with `{name}` and `{revision}` placeholders (e.g. the MediaWiki
    /// `action=jsonschema` API).
    #[serde(default)]
    pub legacy_url_template: Option<String>,
    /// Hosts that absolute `$schema` URIs in events may point at (anything else is refused).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Extension appended to extensionless remote `$schema` URIs (e.g. `.yaml`).
    #[serde(default)]
    pub schema_file_extension: Option<String>,
    /// Timeout of one remote fetch, in milliseconds.
    #[serde(default = "default_fetch_timeout_ms")]
    pub fetch_timeout_ms: u64,
    /// How long a failed remote lookup is remembered before it is tried again, in seconds.
    #[serde(default = "default_negative_ttl_s")]
    pub negative_cache_ttl_s: u64,
}

fn default_fetch_timeout_ms() -> u64 {
    2000
}
fn default_negative_ttl_s() -> u64 {
    60
}

impl Default for SchemasConfig {
    fn default() -> Self {
        SchemasConfig {
            legacy_dirs: Vec::new(),
            event_repositories: Vec::new(),
            schema_base_uris: Vec::new(),
            legacy_url_template: None,
            allowed_hosts: Vec::new(),
            schema_file_extension: None,
            fetch_timeout_ms: default_fetch_timeout_ms(),
            negative_cache_ttl_s: default_negative_ttl_s(),
        }
    }
}

/// Event Platform streams.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StreamsConfig {
    /// Stream configuration file (EventStreamConfig format, YAML or JSON). Without one, any
    /// `$schema` may be sent to any stream.
    #[serde(default)]
    pub config: Option<String>,
    /// Prefix of every topic except `eventlogging_*` streams (EventGate's per-datacenter prefix,
    /// e.g. `eqiad.`).
    #[serde(default)]
    pub topic_prefix: String,
    /// Stream that Event Platform error events go to.
    #[serde(default = "default_error_stream")]
    pub error_stream: String,
    /// `emitter_id` of error events.
    #[serde(default = "default_emitter_id")]
    pub emitter_id: String,
}

fn default_error_stream() -> String {
    "beacon-processor.error.validation".to_owned()
}
fn default_emitter_id() -> String {
    "beacon-processor".to_owned()
}

impl Default for StreamsConfig {
    fn default() -> Self {
        StreamsConfig {
            config: None,
            topic_prefix: String::new(),
            error_stream: default_error_stream(),
            emitter_id: default_emitter_id(),
        }
    }
}

/// Legacy EventLogging -> Event Platform conversion.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LegacyConfig {
    /// `true` converts every legacy schema, a list converts those schemas, `false` none.
    #[serde(default)]
    pub convert_to_event_platform: ConvertSelection,
    /// `analytics/legacy/<name>` version per legacy schema name.
    #[serde(default)]
    pub versions: std::collections::BTreeMap<String, String>,
    /// Version for schemas not listed (`latest` by default).
    #[serde(default = "default_conversion_version")]
    pub default_version: String,
}

fn default_conversion_version() -> String {
    "latest".to_owned()
}

impl Default for LegacyConfig {
    fn default() -> Self {
        LegacyConfig {
            convert_to_event_platform: ConvertSelection::default(),
            versions: std::collections::BTreeMap::new(),
            default_version: default_conversion_version(),
        }
    }
}

/// Which legacy schemas to convert.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ConvertSelection {
    /// All (`true`) or none (`false`).
    All(bool),
    /// These schema names.
    Only(Vec<String>),
}

impl Default for ConvertSelection {
    fn default() -> Self {
        ConvertSelection::All(false)
    }
}

/// Reloading schemas and stream configuration without a restart (SIGHUP always reloads).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReloadConfig {
    /// Also reload every this many seconds (0: only on SIGHUP).
    #[serde(default)]
    pub interval_s: u64,
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
    /// Schemas (or streams) whose valid events are not written (counted as skipped); their
    /// error events still are.
    #[serde(default)]
    pub disabled_schemas: Vec<String>,
    /// Schemas (or streams) whose valid events are not written to `valid_topic`: a regular
    /// expression matched at the start of the name (eventlogging's `blacklist`).
    #[serde(default)]
    pub exclude: Option<String>,
    /// Further topics every valid event is also written to.
    #[serde(default)]
    pub copies: Vec<CopyRouteConfig>,
}

/// One further topic of `routing.copies`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CopyRouteConfig {
    /// A fixed topic (`eventlogging-valid-mixed`) or a template with `{schema}`.
    pub topic: String,
    /// Schemas not copied: a regular expression matched at the start of the schema name.
    #[serde(default)]
    pub exclude: Option<String>,
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
            disabled_schemas: Vec::new(),
            exclude: None,
            copies: Vec::new(),
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
    /// After SIGTERM/SIGINT, the longest the drain (delivery of what is in flight, final
    /// checkpoint or offset commit) may take before the process exits anyway (with status 1;
    /// what was not delivered is read again at the next start).
    #[serde(default = "default_drain_timeout_ms")]
    pub shutdown_timeout_ms: u64,
}

fn default_drain_timeout_ms() -> u64 {
    30_000
}

/// The HTTP server: status page, metrics, health.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to listen on (`127.0.0.1:9102`); absent or null: no server.
    #[serde(default)]
    pub listen: Option<String>,
    /// Connections served at once; more wait in the kernel's accept queue.
    #[serde(default = "default_status_max_connections")]
    pub max_connections: usize,
    /// Time for a request's headers to arrive; also closes idle keep-alive connections.
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: None,
            max_connections: default_status_max_connections(),
            header_timeout_ms: default_header_timeout_ms(),
        }
    }
}

fn default_status_max_connections() -> usize {
    64
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
            shutdown_timeout_ms: default_drain_timeout_ms(),
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
