//! `beacon-processor check-config [FILE]`: load and assemble everything, start nothing; report
//! every problem, or what was loaded. `--probe` also asks the Kafka brokers and resolves the
//! input globs.

use std::io::Write;

use crate::app;
use crate::cli::{CheckConfigArgs, Cli};
use crate::config;
use crate::source::SourceSpec;

use super::CommandError;

/// Reports every problem of the configuration, or that it is fine and what it holds.
pub fn check_config(_cli: &Cli, args: &CheckConfigArgs) -> Result<(), CommandError> {
    let path = args
        .file
        .clone()
        .or_else(|| args.config.config.clone())
        .unwrap_or_else(|| config::DEFAULT_CONFIG_PATH.into());
    let loaded = config::load(&path)?;
    let assembled = app::assemble(&loaded, true)?;
    let name = loaded.display_name();
    let mut out = std::io::stdout();
    // Valid, but worth knowing before `run` sits waiting.
    if let SourceSpec::FilesTail(tail) = &assembled.input {
        let matched = app::expand_globs(&tail.include, &tail.exclude).len();
        if matched == 0 {
            let _ = writeln!(
                out,
                "{name}: warning: input.include matches no file now ({}); `run` will wait for \
                 files to appear",
                tail.include.join(", ")
            );
        } else if args.probe {
            let _ = writeln!(out, "{name}: probe: input.include matches {matched} files");
        }
    }
    if args.probe {
        for (role, brokers) in assembled.kafka_clusters() {
            crate::kafka::probe(brokers, crate::kafka::PROBE_TIMEOUT)
                .map_err(|e| CommandError::Other(format!("{name}: {role}: {e}")))?;
            let _ = writeln!(out, "{name}: probe: {role} brokers {brokers} answer");
        }
    }
    let _ = writeln!(out, "{name}: configuration is valid");
    for (what, value) in assembled.describe() {
        let _ = writeln!(out, "  {:<8} {value}", format!("{what}:"));
    }
    Ok(())
}
