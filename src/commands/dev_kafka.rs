//! `beacon-processor dev-kafka`: a Kafka broker for development and tests (librdkafka's mock
//! cluster) that outlives the processors using it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{Cli, DevKafkaArgs};
use crate::kafka::mock_broker::{parse_topic_spec, MockBroker};

use super::CommandError;

/// Runs the mock cluster until SIGTERM/SIGINT.
pub fn dev_kafka(_cli: &Cli, args: &DevKafkaArgs) -> Result<(), CommandError> {
    let topics = args
        .topics
        .iter()
        .map(|spec| parse_topic_spec(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CommandError::Other(format!("--topic {e}")))?;
    let broker =
        MockBroker::start(args.brokers, &topics).map_err(|e| CommandError::Other(e.to_string()))?;
    let servers = broker.bootstrap_servers();

    let stop = Arc::new(AtomicBool::new(false));
    let down = Arc::new(AtomicBool::new(false));
    let up = Arc::new(AtomicBool::new(false));
    let register = |signal, flag: &Arc<AtomicBool>| {
        signal_hook::flag::register(signal, Arc::clone(flag))
            .map(|_| ())
            .map_err(|e| CommandError::Other(format!("cannot install signal handlers: {e}")))
    };
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
    register(SIGTERM, &stop)?;
    register(SIGINT, &stop)?;
    register(SIGUSR1, &down)?;
    register(SIGUSR2, &up)?;

    if let Some(path) = &args.address_file {
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, format!("{servers}\n"))
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|e| CommandError::Other(format!("cannot write {}: {e}", path.display())))?;
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "bootstrap.servers={servers}");
    let _ = stdout.flush();
    eprintln!(
        "mock Kafka cluster with {} broker(s) on {servers}; SIGUSR1: brokers down, SIGUSR2: \
         brokers up, SIGTERM: stop",
        args.brokers.max(1)
    );
    while !stop.load(Ordering::Relaxed) {
        if down.swap(false, Ordering::Relaxed) {
            match broker.set_available(false) {
                Ok(()) => eprintln!("brokers down"),
                Err(e) => eprintln!("taking brokers down failed: {e}"),
            }
        }
        if up.swap(false, Ordering::Relaxed) {
            match broker.set_available(true) {
                Ok(()) => eprintln!("brokers up"),
                Err(e) => eprintln!("bringing brokers up failed: {e}"),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
