//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Parse, enrich, validate and route client-side analytics beacons (EventLogging).
#[derive(Debug, Parser)]
#[command(name = "beacon-processor", version, about, long_about = None)]
pub struct Cli {
    /// Log format (overrides the configuration file).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Log level filter, e.g. `info` or `beacon_processor=debug` (overrides the configuration
    /// file; the RUST_LOG environment variable overrides both).
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a daemon: read the configured input (following files), write the configured
    /// output, until SIGTERM or SIGINT.
    Run(RunArgs),
    /// Process files (or standard input) once, to their end, and print a summary.
    Process(ProcessArgs),
    /// Generate realistic raw beacon lines for the schemas of a legacy schema directory.
    Generate(GenerateArgs),
    /// Check a configuration file and report every problem found.
    CheckConfig(CheckConfigArgs),
    /// Python eventlogging-processor's command line, for a drop-in replacement:
    /// `FORMAT INPUT_URI OUTPUT_URI... [--output-invalid [URI]] [--sid GROUP]`, also read from
    /// an `@FILE` of one argument per line (docs/MIGRATING.md).
    EventloggingProcessor(EventloggingProcessorArgs),
    /// A terminal view of a running instance (its `/api/status`), redrawn every second.
    Top(TopArgs),
    /// Print live records of output topics, or of the error topics, as they are written.
    Tap(TapArgs),
    /// Development Kafka broker: librdkafka's mock cluster on loopback. Prints
    /// `bootstrap.servers=<address>` and runs until SIGTERM/SIGINT; SIGUSR1 takes the brokers
    /// down, SIGUSR2 brings them back (outage tests).
    DevKafka(DevKafkaArgs),
}

/// Arguments of `dev-kafka`.
#[derive(Debug, Args)]
pub struct DevKafkaArgs {
    /// Number of brokers.
    #[arg(long, default_value_t = 1)]
    pub brokers: i32,
    /// Topics to create, as NAME or NAME:PARTITIONS (others are created on first use).
    #[arg(long = "topic", value_name = "NAME[:PARTITIONS]")]
    pub topics: Vec<String>,
    /// Also write the bootstrap address to this file (written atomically once ready).
    #[arg(long)]
    pub address_file: Option<PathBuf>,
}

/// Arguments of `eventlogging-processor`, as Python eventlogging-processor took them.
#[derive(Debug, Args)]
pub struct EventloggingProcessorArgs {
    /// The line format, e.g. `%q %{recvFrom}s %{seqId}d %D %{ip}i %u`.
    pub format: String,
    /// Where raw lines come from: `kafka:///BROKERS?topic=TOPIC` (also `kafka-confluent://`),
    /// `file://PATH` (read once) or `stdin://`.
    pub input: String,
    /// Where valid events go, one or more: `kafka:///BROKERS?topic=eventlogging_{schema}`
    /// (also `kafka-confluent://`, and `map://<uri>&function=eventlogging_schemas_disabled_filter`),
    /// `file://PATH` or `stdout://`.
    #[arg(required = true, value_name = "OUTPUT")]
    pub outputs: Vec<String>,
    /// Where error events go; without a value, the first output (`eventlogging_{schema}` gives
    /// `eventlogging_EventError`). Without the flag they go there too (eventlogging only logged
    /// them; beacon-processor never drops an input line).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "URI")]
    pub output_invalid: Option<String>,
    /// The consumer group of a Kafka input (eventlogging's identity). Without it, a new group
    /// `eventlogging-<uuid>` each start, as eventlogging did.
    #[arg(long, value_name = "GROUP")]
    pub sid: Option<String>,
    /// Schemas whose valid events `function=eventlogging_schemas_disabled_filter` drops
    /// (comma-separated, repeatable; added to the configuration's `routing.disabled_schemas`).
    #[arg(long, value_delimiter = ',', value_name = "SCHEMA,...")]
    pub disabled_schemas: Vec<String>,
    /// Schemas, streams, limits and the rest from this configuration file (its input and
    /// output sections are replaced by the URIs) [default: config/beacon-processor.yaml if it
    /// exists].
    #[command(flatten)]
    pub config: ConfigArg,
    /// Serve the status page, /metrics, /healthz and /ready on this address.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Accepted for compatibility: beacon-processor loads no Python plugins.
    #[arg(long)]
    pub no_plugins: bool,
}

/// Arguments of `top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The instance's status server (`http.listen` or `--http` of `run`).
    #[arg(value_name = "ADDR", default_value = "127.0.0.1:9102")]
    pub address: String,
    /// Print one view and exit (the default when standard output is not a terminal).
    #[arg(long)]
    pub once: bool,
}

/// Arguments of `tap`.
#[derive(Debug, Args)]
pub struct TapArgs {
    /// Topics to print records of.
    #[arg(value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// Also (or only) the error topics: `routing.error_topic` and the topic of
    /// `streams.error_stream`.
    #[arg(long)]
    pub errors: bool,
    /// The Kafka cluster (default: the configuration's Kafka output, else its Kafka input).
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,
    /// The configuration (brokers and error topics).
    #[command(flatten)]
    pub config: ConfigArg,
    /// Records to print before exiting; 0: until Ctrl-C.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub count: u64,
    /// Start at the oldest retained records instead of the ones written from now on.
    #[arg(long)]
    pub from_beginning: bool,
    /// Print each record's topic and a tab before it.
    #[arg(long)]
    pub with_topic: bool,
}

/// Replaces each `@FILE` argument of `eventlogging-processor` by the lines of FILE, one
/// argument per line, as Python's argparse (`fromfile_prefix_chars='@'`) read the argument
/// files of eventlogging's systemd units. Other commands' arguments are left alone.
pub fn expand_argument_files(
    args: Vec<std::ffi::OsString>,
) -> Result<Vec<std::ffi::OsString>, String> {
    let is_compat = |arg: &std::ffi::OsString| arg == "eventlogging-processor";
    let Some(command_at) = args.iter().position(is_compat) else {
        return Ok(args);
    };
    let mut expanded = Vec::with_capacity(args.len());
    for (index, arg) in args.into_iter().enumerate() {
        match arg.to_str().and_then(|text| text.strip_prefix('@')) {
            Some(path) if index > command_at => read_argument_file(path, &mut expanded, 0)?,
            _ => expanded.push(arg),
        }
    }
    Ok(expanded)
}

fn read_argument_file(
    path: &str,
    into: &mut Vec<std::ffi::OsString>,
    depth: usize,
) -> Result<(), String> {
    if depth > 8 {
        return Err(format!("@{path}: argument files nested more than 8 deep"));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the argument file @{path}: {e}"))?;
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        if let Some(inner) = line.strip_prefix('@') {
            read_argument_file(inner, into, depth + 1)?;
            continue;
        }
        // `--sid NAME` on one line: the option and its value (eventlogging's unit files were
        // written that way); `--sid=NAME` and a value on the next line work as well.
        match line.split_once(' ') {
            Some((option, value)) if option.starts_with("--") && !option.contains('=') => {
                into.push(option.into());
                into.push(value.trim().into());
            }
            _ => into.push(line.into()),
        }
    }
    Ok(())
}

/// `--config`.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Configuration file [default: config/beacon-processor.yaml].
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}

/// Arguments of `check-config`.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The configuration file (like `--config`) [default: config/beacon-processor.yaml].
    #[arg(value_name = "FILE", conflicts_with = "config")]
    pub file: Option<PathBuf>,
    /// The configuration file.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also connect to the Kafka brokers and resolve the input globs, as `run` would.
    #[arg(long)]
    pub probe: bool,
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Consume the raw topic from, and produce to, the Kafka cluster at these bootstrap
    /// servers (topics, group and producer settings from the configuration's Kafka sections
    /// if present, otherwise the defaults: raw topic eventlogging-client-side, group
    /// beacon-processor).
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,
    /// The consumer group of the Kafka input (overrides `input.group_id`).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// A raw topic of the Kafka input (repeatable; overrides `input.topics`).
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// The line format (overrides `format`).
    #[arg(long)]
    pub format: Option<String>,
    /// A librdkafka property for both Kafka clients, `KEY=VALUE` (repeatable); prefix the key
    /// with `consumer.` or `producer.` for one of them (e.g. `-X producer.acks=all`).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_options: Vec<String>,
    /// Serve the status page, /metrics, /healthz and /ready on this address (overrides
    /// `http.listen`; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
}

/// Arguments of `process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// The configuration (schemas, format, output). Without one, config/beacon-processor.yaml
    /// is used if it exists, else built-in defaults.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Input files; `-` is standard input. None: standard input.
    pub inputs: Vec<PathBuf>,
    /// Line format (overrides the configuration).
    #[arg(long)]
    pub format: Option<String>,
    /// Write one JSON-lines file per topic into this directory (overrides the configuration).
    #[arg(long, conflicts_with = "stdout")]
    pub out: Option<PathBuf>,
    /// Add to the files already in the `--out` directory (without it, a directory holding
    /// files is refused: a second run would double their records).
    #[arg(long, requires = "out")]
    pub append: bool,
    /// Write every event to standard output (overrides the configuration).
    #[arg(long, conflicts_with = "kafka")]
    pub stdout: bool,
    /// Produce every event to the Kafka cluster at these bootstrap servers (overrides the
    /// configuration's output; its Kafka producer settings are kept if it has them).
    #[arg(long, value_name = "BROKERS", conflicts_with = "out")]
    pub kafka: Option<String>,
    /// Serve the status page, /metrics, /healthz and /ready on this address while processing
    /// (`process` ignores the configuration's `http.listen`, which is the daemon's).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Worker threads (0: one per core; overrides the configuration).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Legacy schema directory (overrides the configuration's list).
    #[arg(long)]
    pub schemas: Option<PathBuf>,
    /// No progress line, no warning per error reason and no summary: only problems are
    /// printed (the exit status says how it ended).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of lines.
    #[arg(long, short = 'n', default_value_t = 10_000)]
    pub lines: u64,
    /// Random seed; the same seed generates the same lines.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Percent of lines that parse but fail validation.
    #[arg(long, default_value_t = 3.0)]
    pub invalid_percent: f64,
    /// Percent of lines that do not parse.
    #[arg(long, default_value_t = 2.0)]
    pub malformed_percent: f64,
    /// Distinct user agents in the popular pool.
    #[arg(long, default_value_t = 5_000)]
    pub user_agents: usize,
    /// Percent of lines with a one-off user agent.
    #[arg(long, default_value_t = 5.0)]
    pub fresh_user_agent_percent: f64,
    /// Percent of lines carrying Event Platform events (stream `test.event`) instead of legacy
    /// capsules.
    #[arg(long, default_value_t = 0.0)]
    pub event_platform_percent: f64,
    /// Legacy schema directory to generate events for.
    #[arg(long, default_value = "config/schemas")]
    pub schemas: PathBuf,
    /// Output file (default: standard output).
    #[arg(long, short = 'o', conflicts_with = "kafka")]
    pub output: Option<PathBuf>,
    /// Produce the lines to a raw topic of the Kafka cluster at these bootstrap servers instead,
    /// one message per line.
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,
    /// The raw topic for --kafka.
    #[arg(long, default_value = crate::config::DEFAULT_RAW_TOPIC, requires = "kafka")]
    pub topic: String,
}
