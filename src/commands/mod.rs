//! The subcommands.

pub mod check_config;
pub mod dev_kafka;
pub mod eventlogging_processor;
pub mod generate;
pub mod lifecycle;
pub mod process;
pub mod run;
pub mod tap;
pub mod top;

use std::fmt;

use crate::config::ConfigError;
use crate::pipeline::PipelineError;

/// Why a command failed.
#[derive(Debug)]
pub enum CommandError {
    /// The configuration is unusable (nothing was started).
    Config(ConfigError),
    /// The run failed.
    Pipeline(PipelineError),
    /// Anything else (I/O of the generator, signal set-up, ...).
    Other(String),
    /// Stopped by SIGINT or SIGTERM before the input's end (what was read was delivered).
    Interrupted(String),
}

impl CommandError {
    /// Process exit code: 2 for configuration problems, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Config(_) => 2,
            // 128 + SIGINT, as shells report a command stopped by Ctrl-C.
            CommandError::Interrupted(_) => 130,
            _ => 1,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Config(e) => write!(f, "{e}"),
            CommandError::Pipeline(e) => write!(f, "{e}"),
            CommandError::Other(e) | CommandError::Interrupted(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<ConfigError> for CommandError {
    fn from(e: ConfigError) -> Self {
        CommandError::Config(e)
    }
}

impl From<PipelineError> for CommandError {
    fn from(e: PipelineError) -> Self {
        CommandError::Pipeline(e)
    }
}
