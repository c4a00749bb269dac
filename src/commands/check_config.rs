//! `beacon-processor check-config`: load and assemble everything, start nothing.

use crate::app;
use crate::cli::{Cli, ConfigArg};
use crate::config;
use std::io::Write;

use super::CommandError;

/// Reports every problem of the configuration, or that it is fine.
pub fn check_config(_cli: &Cli, args: &ConfigArg) -> Result<(), CommandError> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| config::DEFAULT_CONFIG_PATH.into());
    let loaded = config::load(&path)?;
    app::assemble(&loaded, true)?;
    let _ = writeln!(
        std::io::stdout(),
        "{}: configuration is valid",
        loaded.display_name()
    );
    Ok(())
}
