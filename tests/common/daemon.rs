//! A `beacon-processor run` daemon under test, its standard error written to a log file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::binary;

/// How often [`Daemon::terminate`] checks whether the daemon has exited.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// A running daemon. Dropping it kills the process (SIGKILL) and reaps it, so a failing test
/// leaves nothing behind; the log file stays where the test put it (normally in its temporary
/// directory).
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

/// How a daemon ended: its exit status and everything it logged.
pub struct Stopped {
    pub status: ExitStatus,
    pub log: String,
}

impl Daemon {
    /// Starts `beacon-processor run --config CONFIG`, its standard error written to `log`
    /// (created or truncated) and its standard output discarded.
    pub fn start(config: &Path, log: PathBuf) -> Daemon {
        Daemon::spawn(
            binary().args(["run", "--config", config.to_str().expect("utf-8 temp path")]),
            log,
        )
    }

    /// Starts `command` (the binary with the test's own arguments and environment) as the
    /// daemon, its standard error written to `log` (created or truncated) and its standard
    /// output discarded.
    pub fn spawn(command: &mut Command, log: PathBuf) -> Daemon {
        let child = command
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("create the daemon's log file"))
            .spawn()
            .expect("the binary starts");
        Daemon { child, log }
    }

    /// Everything the daemon has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends the signal `name` (`"TERM"`, `"HUP"`, …) with `kill`; panics if that fails.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Panics with the log if the daemon has exited.
    #[track_caller]
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("wait on the daemon") {
            // Let the last words reach the log.
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "the daemon exited early ({status}); its log:\n{}",
                self.log()
            );
        }
    }

    /// Calls `probe` every `interval` until it gives a value, and returns it. Panics with the
    /// log if the daemon exits meanwhile, or if `timeout` passes first.
    #[track_caller]
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        interval: Duration,
        mut probe: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = probe() {
                return value;
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; daemon log:\n{}",
                self.log()
            );
            std::thread::sleep(interval);
        }
    }

    /// Like [`Daemon::wait_for`], with a probe that looks at the log so far: waits until `find`
    /// finds what it looks for in it, and returns that.
    #[track_caller]
    pub fn wait_for_log<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        interval: Duration,
        mut find: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let log = self.log.clone();
        self.wait_for(what, timeout, interval, || {
            find(&fs::read_to_string(&log).unwrap_or_default())
        })
    }

    /// The status page's address (`host:port`), from the daemon's log line "status page at
    /// http://…/" (waits up to 30 s for it).
    pub fn status_address(&mut self) -> String {
        const LINE: &str = "status page at http://";
        self.wait_for_log(
            "the status page address",
            Duration::from_secs(30),
            Duration::from_millis(50),
            |log| {
                let rest = &log[log.find(LINE)? + LINE.len()..];
                Some(rest[..rest.find('/')?].to_owned())
            },
        )
    }

    /// SIGTERM, then waits up to `timeout` for the daemon to exit (panics with the log if it
    /// does not) and returns how it ended.
    #[track_caller]
    pub fn terminate(mut self, timeout: Duration) -> Stopped {
        self.signal("TERM");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait on the daemon") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not stop within {timeout:?} after SIGTERM; its log:\n{}",
                self.log()
            );
            std::thread::sleep(EXIT_POLL);
        };
        Stopped {
            status,
            log: self.log(),
        }
    }

    /// SIGKILL (no drain, no final checkpoint), and waits for the process to end.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill the daemon");
        self.child.wait().expect("wait on the daemon");
    }
}

impl Stopped {
    /// Panics with the log unless the daemon exited successfully; returns `self` for further
    /// checks.
    #[track_caller]
    pub fn assert_success(self) -> Stopped {
        assert!(
            self.status.success(),
            "the daemon exited with {}; its log:\n{}",
            self.status,
            self.log
        );
        self
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
