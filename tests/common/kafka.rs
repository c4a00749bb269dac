//! Apache Kafka for the integration tests: a real broker started by `scripts/kafka.sh`.
//!
//! [`shared_brokers`] is one single-node cluster per test process: the one named by the
//! `BEACON_TEST_KAFKA` environment variable (bootstrap servers; `.ci/run` starts one for the
//! whole suite), or else one this process starts and that stops, its files removed, once the
//! process has exited (`kafka.sh --owner-pid`). Tests sharing it keep apart by [`namespace`]:
//! every topic and consumer group name of a test starts with its own prefix.
//! [`Cluster::start`] starts a cluster of its own (3 nodes for fault tests), stopped on drop.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

use super::repo;

/// A cluster started by `scripts/kafka.sh start`.
pub struct Cluster {
    /// Its bootstrap servers.
    pub bootstrap: String,
    /// Its directory (node configurations, data, logs), removed when it stops.
    pub dir: PathBuf,
}

impl Cluster {
    /// Starts a cluster of `nodes` nodes that stops when this value is dropped, or at the latest
    /// once this process has exited.
    pub fn start(nodes: u32) -> Result<Cluster, String> {
        let out = Command::new("bash")
            .arg(repo().join("scripts/kafka.sh"))
            .args(["start", "--nodes", &nodes.to_string()])
            .args(["--owner-pid", &std::process::id().to_string()])
            .output()
            .map_err(|e| format!("cannot run scripts/kafka.sh: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::to_owned)
        };
        match (
            out.status.success(),
            field("bootstrap.servers="),
            field("dir="),
        ) {
            (true, Some(bootstrap), Some(dir)) => Ok(Cluster {
                bootstrap,
                dir: PathBuf::from(dir),
            }),
            _ => Err(format!(
                "scripts/kafka.sh start failed ({}): {}{}",
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }

    /// Runs `scripts/kafka.sh ACTION --dir DIR ARGS...` (kill-node, stop-node, start-node,
    /// leader) and returns its standard output; panics if it fails.
    pub fn script(&self, action: &str, args: &[&str]) -> String {
        let out = Command::new("bash")
            .arg(repo().join("scripts/kafka.sh"))
            .args([action, "--dir", &self.dir.display().to_string()])
            .args(args)
            .output()
            .expect("scripts/kafka.sh runs");
        assert!(
            out.status.success(),
            "kafka.sh {action} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo().join("scripts/kafka.sh"))
            .args(["stop", "--dir", &self.dir.display().to_string()])
            .output();
    }
}

/// Bootstrap servers of this process's shared single-node cluster (see the module comment).
/// Panics, saying why, if there is none and none can be started.
pub fn shared_brokers() -> String {
    static SHARED: OnceLock<Result<String, String>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        if let Some(brokers) = std::env::var("BEACON_TEST_KAFKA")
            .ok()
            .filter(|b| !b.trim().is_empty())
        {
            return Ok(brokers);
        }
        // Stopped by kafka.sh's watchdog once this process has exited: statics are never
        // dropped.
        Cluster::start(1).map(|cluster| {
            let brokers = cluster.bootstrap.clone();
            std::mem::forget(cluster);
            brokers
        })
    });
    match shared {
        Ok(brokers) => brokers.clone(),
        Err(why) => panic!(
            "these tests need Apache Kafka (Java 17 and Maven, or BEACON_TEST_KAFKA=HOST:PORT \
             of a running broker): {why}"
        ),
    }
}

/// A prefix for the topic and group names of one test, unique on a shared cluster:
/// `{name}-{pid}-{n}`.
pub fn namespace(name: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates `topics` (name, partitions) with the cluster's default replication; panics if any
/// cannot be created.
pub fn create_topics(brokers: &str, topics: &[(String, i32)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(-1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let results = runtime
        .block_on(admin.create_topics(&new, &options))
        .expect("create topics");
    for result in results {
        if let Err((topic, error)) = result {
            panic!("creating topic {topic}: {error}");
        }
    }
}
