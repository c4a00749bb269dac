//! Log set-up: tracing to standard error, text or JSON.

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, LogFormatArg};
use crate::config::{LogFormat, LoggingConfig};

/// Installs the global subscriber. The command line overrides the configuration, and RUST_LOG
/// overrides both. Calling it twice is harmless (the second call does nothing).
pub fn init(cli: &Cli, config: &LoggingConfig) {
    let level = cli
        .log_level
        .clone()
        .unwrap_or_else(|| config.level.clone());
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match cli.log_format {
        Some(LogFormatArg::Json) => true,
        Some(LogFormatArg::Text) => false,
        None => config.format == LogFormat::Json,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A closed standard error (`... 2>&1 | head -1`) must not stop the run: tracing's own
        // report of a failed write would go to standard error with `eprintln!`, which panics.
        .log_internal_errors(false)
        // Colours only on a terminal (and never with NO_COLOR): log files stay plain text.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        );
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
