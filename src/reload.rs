//! Reloading schemas and stream configuration while running: on SIGHUP, and every
//! `reload.interval_s` seconds if set. The configuration file is read again and a complete new
//! catalog is built from its `schemas` and `streams` sections; only if that succeeds does it
//! replace the running one. A broken configuration is rejected with a log line naming every
//! problem, and the old catalog keeps serving.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::app;
use crate::catalog::Catalog;
use crate::config::{self, ConfigFile, LoadedConfig};

/// Why a reload was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadRejected(pub String);

impl std::fmt::Display for ReloadRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads the configuration at `path` again and swaps in a new catalog built from it. Returns
/// the sections that changed but only take effect after a restart.
pub fn reload_once(
    path: &Path,
    running: &ConfigFile,
    catalog: &Catalog,
) -> Result<Vec<&'static str>, ReloadRejected> {
    let loaded: LoadedConfig = config::load(path).map_err(|e| ReloadRejected(e.to_string()))?;
    let previous = catalog.snapshot();
    let snapshot = app::catalog_snapshot(&loaded, Some(&previous.registry))
        .map_err(|problems| ReloadRejected(loaded.error(problems).to_string()))?;
    catalog.replace(snapshot);
    Ok(restart_only_changes(running, &loaded.file))
}

fn restart_only_changes(running: &ConfigFile, new: &ConfigFile) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if running.format != new.format {
        changed.push("format");
    }
    if running.input != new.input {
        changed.push("input");
    }
    if running.output != new.output {
        changed.push("output");
    }
    if running.routing != new.routing {
        changed.push("routing");
    }
    if running.legacy != new.legacy {
        changed.push("legacy");
    }
    if running.pipeline != new.pipeline {
        changed.push("pipeline");
    }
    if running.delivery != new.delivery {
        changed.push("delivery");
    }
    if running.limits != new.limits {
        changed.push("limits");
    }
    if running.user_agent != new.user_agent {
        changed.push("user_agent");
    }
    if running.http != new.http {
        changed.push("http");
    }
    if running.logging != new.logging {
        changed.push("logging");
    }
    if running.reload != new.reload {
        changed.push("reload");
    }
    if running.streams.topic_prefix != new.streams.topic_prefix
        || running.streams.error_stream != new.streams.error_stream
        || running.streams.emitter_id != new.streams.emitter_id
    {
        changed.push("streams (other than streams.config)");
    }
    changed
}

/// Starts the reload thread: it reloads on SIGHUP and every `interval` (if not zero) until
/// `stop` is set.
pub fn spawn(
    path: PathBuf,
    running: ConfigFile,
    catalog: Arc<Catalog>,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    let hangup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hangup))?;
    std::thread::Builder::new()
        .name("reload".into())
        .spawn(move || {
            let mut next = (!interval.is_zero()).then(|| Instant::now() + interval);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let timer = next.is_some_and(|at| Instant::now() >= at);
                let signalled = hangup.swap(false, Ordering::Relaxed);
                if !(timer || signalled) {
                    continue;
                }
                if let Some(at) = next.as_mut() {
                    *at = Instant::now() + interval;
                }
                let trigger = if signalled { "SIGHUP" } else { "interval" };
                match reload_once(&path, &running, &catalog) {
                    Ok(restart_only) => {
                        tracing::info!(trigger, config = %path.display(), "reloaded schemas and stream configuration");
                        if !restart_only.is_empty() {
                            tracing::warn!(sections = ?restart_only, "these configuration changes take effect only after a restart");
                        }
                    }
                    Err(rejected) => {
                        tracing::error!(trigger, config = %path.display(), problems = %rejected, "reload rejected; the previous schemas and stream configuration stay in use");
                    }
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_a_reload_cannot_apply_is_named() {
        let running = LoadedConfig::defaults().file;
        assert!(restart_only_changes(&running, &running).is_empty());
        let mut new = running.clone();
        new.limits.max_line_bytes += 1;
        new.logging.level = "debug".into();
        new.http.max_connections += 1;
        new.user_agent.max_length += 1;
        new.reload.interval_s += 1;
        let changed = restart_only_changes(&running, &new);
        for section in ["limits", "logging", "http", "user_agent", "reload"] {
            assert!(
                changed.contains(&section),
                "{section} missing from {changed:?}"
            );
        }
    }
}
