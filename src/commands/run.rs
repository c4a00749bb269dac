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
    // SIGHUP compares the file with the file as it was read, not with the flags' changes.
    let as_read = loaded.file.clone();
    if let Some(brokers) = &args.kafka {
        use_kafka_brokers(&mut loaded.file, brokers);
    }
    if let Some(listen) = &args.http {
        loaded.file.http.listen = Some(listen.clone());
    }
    apply_flags(&mut loaded.file, args)?;
    logging::init(cli, &loaded.file.logging);
    run_daemon(&loaded, Some((path, as_read)), stop)
}

/// Runs the assembled `loaded` configuration until SIGTERM/SIGINT (or the input's end). With
/// `reload` (the configuration file and its content as read), SIGHUP reloads schemas and
/// streams from it.
pub fn run_daemon(
    loaded: &config::LoadedConfig,
    reload: Option<(std::path::PathBuf, ConfigFile)>,
    stop: Arc<AtomicBool>,
) -> Result<(), CommandError> {
    let assembled = app::assemble(loaded, true)?;

    let stats = Arc::new(Stats::default());
    let _http = start_http(assembled.http_listen, assembled.http_limits, &stats)?;
    let watchdog = Watchdog::start(Arc::clone(&stop), assembled.shutdown_timeout);
    for (what, value) in assembled.describe() {
        tracing::info!("{what}: {value}");
    }
    tracing::info!(config = %loaded.display_name(), "beacon-processor running; SIGTERM or SIGINT stops it");
    let reloader = match reload {
        Some((path, as_read)) => Some(
            reload::spawn(
                path,
                as_read,
                Arc::clone(assembled.processor.catalog()),
                Duration::from_secs(loaded.file.reload.interval_s),
                Arc::clone(&stop),
            )
            .map_err(|e| CommandError::Other(format!("cannot start the reload thread: {e}")))?,
        ),
        None => {
            // Nothing to reload; SIGHUP must not end the process either.
            signal_hook::flag::register(
                signal_hook::consts::SIGHUP,
                Arc::new(AtomicBool::new(false)),
            )
            .map_err(|e| CommandError::Other(format!("cannot handle SIGHUP: {e}")))?;
            None
        }
    };
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
    if reloader.is_some_and(|reloader| reloader.join().is_err()) {
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

/// `--group`, `--topic`, `--format` and `-X KEY=VALUE` over the configuration.
fn apply_flags(file: &mut ConfigFile, args: &RunArgs) -> Result<(), CommandError> {
    if let Some(format) = &args.format {
        file.format = format.clone();
    }
    let kafka_input = |file: &mut ConfigFile, flag: &str| -> Result<(), CommandError> {
        match &file.input {
            InputConfig::Kafka(_) => Ok(()),
            _ => Err(CommandError::Other(format!(
                "{flag} needs a Kafka input (`input.type: kafka` or --kafka BROKERS)"
            ))),
        }
    };
    if let Some(group) = &args.group {
        kafka_input(file, "--group")?;
        if let InputConfig::Kafka(input) = &mut file.input {
            input.group_id = group.clone();
        }
    }
    if !args.topics.is_empty() {
        kafka_input(file, "--topic")?;
        if let InputConfig::Kafka(input) = &mut file.input {
            input.topics = args.topics.clone();
        }
    }
    for option in &args.kafka_options {
        let Some((key, value)) = option.split_once('=').filter(|(k, _)| !k.trim().is_empty())
        else {
            return Err(CommandError::Other(format!(
                "-X {option}: expected KEY=VALUE, a librdkafka property"
            )));
        };
        let value = crate::config::OptionValue::Text(value.to_owned());
        let (consumer, producer, key) = match key.trim() {
            k if k.starts_with("consumer.") => (true, false, &k["consumer.".len()..]),
            k if k.starts_with("producer.") => (false, true, &k["producer.".len()..]),
            k => (true, true, k),
        };
        let mut applied = false;
        if let (true, InputConfig::Kafka(input)) = (consumer, &mut file.input) {
            input.options.insert(key.to_owned(), value.clone());
            applied = true;
        }
        if let (true, OutputConfig::Kafka(output)) = (producer, &mut file.output) {
            output.options.insert(key.to_owned(), value);
            applied = true;
        }
        if !applied {
            return Err(CommandError::Other(format!(
                "-X {option}: no Kafka client of this run takes it (the input or output is not \
                 Kafka)"
            )));
        }
    }
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
