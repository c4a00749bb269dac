//! `beacon-processor run`: the daemon.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::app;
use crate::cli::{Cli, RunArgs};
use crate::config::{
    self, ConfigFile, InputConfig, KafkaInputConfig, KafkaOutputConfig, OutputConfig,
};
use crate::logging;
use crate::pipeline;
use crate::reload;
use crate::stats::Stats;

use super::lifecycle::{install_signal_handlers, start_http, Watchdog};
use super::CommandError;

/// Runs until SIGTERM/SIGINT, then drains, flushes and exits.
pub fn run(cli: &Cli, args: &RunArgs) -> Result<(), CommandError> {
    // First of all: a SIGTERM during start-up also means a clean stop (not the default death).
    let stop = Arc::new(AtomicBool::new(false));
    install_signal_handlers(&stop)?;
    let path = args
        .config
        .config
        .clone()
        .unwrap_or_else(|| config::DEFAULT_CONFIG_PATH.into());
    let mut loaded = config::load(&path)?;
    if let Some(brokers) = &args.kafka {
        use_kafka_brokers(&mut loaded.file, brokers);
    }
    if let Some(listen) = &args.http {
        loaded.file.http.listen = Some(listen.clone());
    }
    logging::init(cli, &loaded.file.logging);
    let assembled = app::assemble(&loaded, true)?;

    let stats = Arc::new(Stats::default());
    let _http = start_http(assembled.http_listen, assembled.http_limits, &stats)?;
    let watchdog = Watchdog::start(Arc::clone(&stop), assembled.shutdown_timeout);
    for (what, value) in assembled.describe() {
        tracing::info!("{what}: {value}");
    }
    tracing::info!(config = %loaded.display_name(), "beacon-processor running; SIGTERM or SIGINT stops it");
    let reloader = reload::spawn(
        path.clone(),
        loaded.file.clone(),
        Arc::clone(assembled.processor.catalog()),
        Duration::from_secs(loaded.file.reload.interval_s),
        Arc::clone(&stop),
    )
    .map_err(|e| CommandError::Other(format!("cannot start the reload thread: {e}")))?;
    let result = pipeline::run(
        &assembled.input,
        assembled.source_settings,
        Arc::clone(&assembled.processor),
        &assembled.output,
        assembled.pipeline_settings,
        Arc::clone(&stop),
        stats,
    );
    stop.store(true, Ordering::Relaxed);
    drop(watchdog);
    if reloader.join().is_err() {
        tracing::error!("the reload thread panicked");
    }
    let report = result?;
    let totals = &report.totals;
    tracing::info!(
        lines = totals.total_lines(),
        valid = totals.valid,
        errors = totals.total_errors(),
        acknowledged = report.lines_acknowledged,
        "stopped after draining"
    );
    Ok(())
}

/// `--kafka BROKERS`: Kafka in and out at `brokers`, keeping configured Kafka settings.
fn use_kafka_brokers(file: &mut ConfigFile, brokers: &str) {
    match &mut file.input {
        InputConfig::Kafka(input) => input.brokers = brokers.to_owned(),
        other => *other = InputConfig::Kafka(KafkaInputConfig::with_brokers(brokers)),
    }
    set_kafka_output(file, brokers);
}

/// Kafka output at `brokers`, keeping configured Kafka producer settings.
pub fn set_kafka_output(file: &mut ConfigFile, brokers: &str) {
    match &mut file.output {
        OutputConfig::Kafka(output) => output.brokers = brokers.to_owned(),
        other => *other = OutputConfig::Kafka(KafkaOutputConfig::with_brokers(brokers)),
    }
}
