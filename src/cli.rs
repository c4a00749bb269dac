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
    CheckConfig(ConfigArg),
}

/// `--config`.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Configuration file [default: config/beacon-processor.yaml].
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArg,
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
    /// Write every event to standard output (overrides the configuration).
    #[arg(long)]
    pub stdout: bool,
    /// Worker threads (0: one per core; overrides the configuration).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Legacy schema directory (overrides the configuration's list).
    #[arg(long)]
    pub schemas: Option<PathBuf>,
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
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}
