//! What `run` and `process` share around a pipeline run: signal handling, the HTTP server, the
//! shutdown watchdog and the progress display.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::http::HttpServer;
use crate::stats::Stats;

use super::CommandError;

/// SIGTERM and SIGINT set `stop` (graceful drain); a second one exits at once (status 130).
pub fn install_signal_handlers(stop: &Arc<AtomicBool>) -> Result<(), CommandError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGTERM, SIGINT] {
        // Order matters: the conditional shutdown must be registered first so that it only
        // fires when the flag was already set by an earlier signal.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(stop)))
            .map_err(|e| CommandError::Other(format!("cannot install signal handlers: {e}")))?;
    }
    Ok(())
}

/// Starts the HTTP server if an address is configured.
pub fn start_http(
    listen: Option<SocketAddr>,
    limits: crate::http::bounded_server::ConnectionLimits,
    stats: &Arc<Stats>,
) -> Result<Option<HttpServer>, CommandError> {
    listen
        .map(|address| {
            HttpServer::start(address, limits, Arc::clone(stats)).map_err(CommandError::Other)
        })
        .transpose()
}

/// Bounds a graceful stop: once `stop` is set, the run has `timeout` to finish, else the
/// process exits with status 1 (undelivered input is not acknowledged: it is read again).
pub struct Watchdog {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching `stop`.
    pub fn start(stop: Arc<AtomicBool>, timeout: Duration) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let finished = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("shutdown-watchdog".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if finished.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                tracing::info!(
                    timeout_ms = timeout.as_millis() as u64,
                    "stopping: draining what is in flight"
                );
                let deadline = Instant::now() + timeout;
                while Instant::now() < deadline {
                    if finished.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                tracing::error!(
                    timeout_ms = timeout.as_millis() as u64,
                    "the drain did not finish within the shutdown timeout; exiting without \
                     acknowledging what was not delivered (it will be read again)"
                );
                std::process::exit(1);
            })
            .ok();
        Watchdog { done, thread }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A live progress line (lines delivered and lines/s) on standard error when it is a
/// terminal; nothing otherwise.
pub struct Progress {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts showing the progress of `stats`.
    pub fn start(stats: &Arc<Stats>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress { done, thread: None };
        }
        let finished = Arc::clone(&done);
        let stats = Arc::clone(stats);
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {elapsed_precise} {pos} lines delivered ({per_sec}) {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                while !finished.load(Ordering::Relaxed) {
                    bar.set_position(stats.lines_delivered());
                    let read = stats.lines_read();
                    bar.set_message(format!("{read} read"));
                    std::thread::sleep(Duration::from_millis(200));
                }
                bar.finish_and_clear();
            })
            .ok();
        Progress { done, thread }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
