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

/// A live progress line on standard error when it is a terminal (nothing otherwise): lines
/// delivered and lines/s, and, when the input's size is known, a bar with the share read and
/// the time left.
pub struct Progress {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How often the progress line is redrawn.
const PROGRESS_TICK: Duration = Duration::from_millis(200);

impl Progress {
    /// Whether a progress line would be shown (standard error is a terminal).
    pub fn wanted() -> bool {
        std::io::stderr().is_terminal()
    }

    /// Starts showing the progress of `stats`; `total_bytes` is the input's size when known.
    pub fn start(stats: &Arc<Stats>, total_bytes: Option<u64>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        if !Self::wanted() {
            return Progress { done, thread: None };
        }
        let finished = Arc::clone(&done);
        let stats = Arc::clone(stats);
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                let bar = match total_bytes.filter(|&t| t > 0) {
                    Some(total) => {
                        let bar = indicatif::ProgressBar::new(total);
                        bar.set_style(
                            indicatif::ProgressStyle::with_template(
                                "{elapsed_precise} [{bar:20}] {percent:>3}% {msg}, {eta} left",
                            )
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        bar
                    }
                    None => {
                        let bar = indicatif::ProgressBar::new_spinner();
                        bar.set_style(
                            indicatif::ProgressStyle::with_template(
                                "{spinner} {elapsed_precise} {msg}",
                            )
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                        );
                        bar
                    }
                };
                let mut rate = LineRate::default();
                while !finished.load(Ordering::Relaxed) {
                    let delivered = stats.lines_delivered();
                    bar.set_position(stats.bytes_read());
                    bar.set_message(format!(
                        "{} lines delivered, {}/s",
                        thousands(delivered),
                        thousands(rate.update(delivered))
                    ));
                    if total_bytes.is_none() {
                        bar.tick();
                    }
                    std::thread::sleep(PROGRESS_TICK);
                }
                bar.finish_and_clear();
            })
            .ok();
        Progress { done, thread }
    }
}

/// Lines per second over the last few seconds, as a whole number.
#[derive(Default)]
struct LineRate {
    samples: std::collections::VecDeque<(Instant, u64)>,
}

impl LineRate {
    fn update(&mut self, delivered: u64) -> u64 {
        let now = Instant::now();
        self.samples.push_back((now, delivered));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > Duration::from_secs(3))
        {
            self.samples.pop_front();
        }
        match self.samples.front() {
            Some((at, before)) if now.duration_since(*at) > Duration::from_millis(100) => {
                let seconds = now.duration_since(*at).as_secs_f64();
                (delivered.saturating_sub(*before) as f64 / seconds).round() as u64
            }
            _ => 0,
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
