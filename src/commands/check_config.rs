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
    let assembled = app::assemble(&loaded, true)?;
    let mut out = std::io::stdout();
    // Valid, but worth knowing before `run` sits waiting.
    if let crate::source::SourceSpec::FilesTail(tail) = &assembled.input {
        let matched = tail
            .include
            .iter()
            .filter_map(|pattern| glob::glob(pattern).ok())
            .flat_map(|paths| paths.flatten())
            .any(|path| path.is_file());
        if !matched {
            let _ = writeln!(
                out,
                "{}: warning: input.include matches no file now ({}); `run` will wait for files \
                 to appear",
                loaded.display_name(),
                tail.include.join(", ")
            );
        }
    }
    let _ = writeln!(out, "{}: configuration is valid", loaded.display_name());
    Ok(())
}
