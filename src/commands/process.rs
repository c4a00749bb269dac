//! `beacon-processor process`: files or standard input, once, with a summary.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::app;
use crate::cli::{Cli, ProcessArgs};
use crate::config::{self, InputConfig, LoadedConfig, OutputConfig};
use crate::logging;
use crate::pipeline::{self, RunReport};
use crate::sink::SinkSpec;
use crate::source::SourceSpec;
use crate::stats::Stats;

use super::lifecycle::{install_signal_handlers, start_http, Progress, Watchdog};
use super::CommandError;

/// Processes the inputs to their end and prints a summary to standard error.
pub fn process(cli: &Cli, args: &ProcessArgs) -> Result<(), CommandError> {
    let stop = Arc::new(AtomicBool::new(false));
    install_signal_handlers(&stop)?;
    let mut loaded = config::load_or_defaults(args.config.config.as_deref())?;
    let without_config = args.config.config.is_none() && loaded.path.is_none();
    apply_overrides(&mut loaded, args);
    logging::init(cli, &loaded.file.logging);
    if without_config && args.schemas.is_none() {
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        tracing::warn!(
            "no configuration: {} is not in {cwd} and neither --config nor --schemas was given, \
             so no schema is loaded and every event will be an error (schema_unknown)",
            config::DEFAULT_CONFIG_PATH
        );
    }
    let mut assembled = app::assemble(&loaded, false).map_err(|mut error| {
        // A problem with the directory given by --schemas is the flag's, not a YAML key's.
        if let Some(dir) = &args.schemas {
            for problem in &mut error.problems {
                if problem.key.starts_with("schemas.legacy_dirs") {
                    problem.key = String::new();
                    problem.line = None;
                    problem.message = format!("--schemas {}: {}", dir.display(), problem.message);
                }
            }
        }
        error
    })?;
    assembled.input = match assembled.input {
        // A Kafka input is read to its end when no files are named.
        SourceSpec::Kafka(kafka) if args.inputs.is_empty() => SourceSpec::Kafka(kafka),
        _ if args.inputs.is_empty() => SourceSpec::Stdin,
        _ => SourceSpec::FilesOnce(args.inputs.clone()),
    };
    if let Some(dir) = &args.out {
        refuse_a_used_directory(dir, args.append)?;
        assembled.output = SinkSpec::Directory {
            path: dir.clone(),
            named: Vec::new(),
            fsync: false,
        };
    } else if args.stdout {
        assembled.output = SinkSpec::Stdout;
    }

    // An unreachable cluster is an error at once, not a wait (the daemon waits instead).
    for (_, brokers) in assembled.kafka_clusters() {
        crate::kafka::probe(brokers, crate::kafka::PROBE_TIMEOUT).map_err(CommandError::Other)?;
    }

    let stats = Arc::new(Stats::default());
    let _http = start_http(assembled.http_listen, assembled.http_limits, &stats)?;
    let _watchdog = Watchdog::start(Arc::clone(&stop), assembled.shutdown_timeout);
    // Error events are counted by reason in the summary; a warning per reason would break the
    // progress line.
    if args.quiet || Progress::wanted() {
        stats.quiet_error_log();
    }
    let progress = if args.quiet {
        None
    } else {
        Some(Progress::start(&stats, input_size(&assembled.input)))
    };
    let started = Instant::now();
    let stats_handle = Arc::clone(&stats);
    let result = pipeline::run(
        &assembled.input,
        assembled.source_settings,
        Arc::clone(&assembled.processor),
        &assembled.output,
        assembled.pipeline_settings,
        Arc::clone(&stop),
        stats,
    );
    drop(progress);
    let report = match result {
        Err(pipeline::PipelineError::Sink(e))
            if matches!(assembled.output, SinkSpec::Stdout)
                && e.error.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            // `process --stdout | head`: the reader has what it wanted. A clean stop.
            let _ = writeln!(
                std::io::stderr(),
                "beacon-processor: standard output was closed by its reader; stopped \
                 ({} lines read, {} records written before it closed)",
                stats_handle.lines_read(),
                stats_handle.lines_delivered()
            );
            return Ok(());
        }
        other => other?,
    };
    let elapsed = started.elapsed().as_secs_f64();
    if !args.quiet {
        let summary = summary(&report, elapsed, &assembled.output);
        let _ = std::io::stderr().write_all(summary.as_bytes());
    }
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(CommandError::Interrupted(format!(
            "interrupted before the end of the input: {} lines read were all delivered; the \
             rest was not read",
            report.lines_read
        )));
    }
    Ok(())
}

/// The input's size in bytes, when it is known: named files, or standard input redirected
/// from a file (not a pipe).
fn input_size(input: &SourceSpec) -> Option<u64> {
    let size = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    };
    match input {
        SourceSpec::Stdin => size(Path::new("/dev/stdin")),
        SourceSpec::FilesOnce(paths) => paths
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    size(Path::new("/dev/stdin"))
                } else {
                    size(p)
                }
            })
            .sum(),
        _ => None,
    }
}

/// `--out DIR` without `--append`: DIR must not hold files already (the directory sink appends,
/// so a second run into it would leave every record twice).
fn refuse_a_used_directory(dir: &Path, append: bool) -> Result<(), CommandError> {
    if append {
        return Ok(());
    }
    let used = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => false,
    };
    if used {
        return Err(CommandError::Other(format!(
            "--out {}: the directory is not empty; records would be added to its files (a \
             second run doubles them). Choose an empty or new directory, or add --append",
            dir.display()
        )));
    }
    Ok(())
}

fn apply_overrides(loaded: &mut LoadedConfig, args: &ProcessArgs) {
    let file = &mut loaded.file;
    if let Some(format) = &args.format {
        file.format = format.clone();
    }
    if let Some(workers) = args.workers {
        file.pipeline.workers = workers;
    }
    if let Some(dir) = &args.schemas {
        // Command-line paths are relative to the current directory, not the config file.
        let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
        file.schemas.legacy_dirs = vec![absolute.display().to_string()];
    }
    if args.out.is_some() || args.stdout {
        // The output is replaced after assembly; make sure the configured one is not checked.
        file.output = OutputConfig::Stdout;
    }
    if let Some(brokers) = &args.kafka {
        super::run::set_kafka_output(file, brokers);
    }
    // A one-shot run serves HTTP only when asked on the command line: the configured address
    // belongs to the daemon, which may be running on the same host.
    file.http.listen = args.http.clone();
    if !args.inputs.is_empty() && matches!(file.input, InputConfig::Kafka(_)) {
        // Named files replace the configured Kafka input; do not check or connect it.
        file.input = InputConfig::Stdin;
    }
}

/// The end-of-run summary table.
pub fn summary(report: &RunReport, elapsed_seconds: f64, output: &SinkSpec) -> String {
    use std::fmt::Write as _;
    let totals = &report.totals;
    let lines = totals.total_lines();
    let errors = totals.total_errors();
    let mut out = String::new();
    let _ = writeln!(out, "{:<32} {:>12}", "lines read", report.lines_read);
    let _ = writeln!(out, "{:<32} {:>12}", "valid events", totals.valid);
    let _ = writeln!(out, "{:<32} {:>12}", "error events", errors);
    for (reason, count) in &totals.errors {
        let _ = writeln!(out, "  {:<30} {:>12}", reason, count);
    }
    if totals.skipped > 0 {
        let _ = writeln!(
            out,
            "{:<32} {:>12}",
            "skipped (disabled schemas)", totals.skipped
        );
        let _ = writeln!(
            out,
            "{:<32} {:>12}",
            "lines (valid + errors + skipped)", lines
        );
    } else {
        let _ = writeln!(out, "{:<32} {:>12}", "delivered (valid + errors)", lines);
    }
    let _ = writeln!(out, "per topic:");
    for (topic, count) in &totals.topics {
        let _ = writeln!(out, "  {:<30} {:>12}", topic, count);
    }
    let rate = if elapsed_seconds > 0.0 {
        lines as f64 / elapsed_seconds
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "{:<32} {:>12.2} s ({:.0} lines/s)",
        "elapsed", elapsed_seconds, rate
    );
    if let Some(first) = report.first_line_after {
        let busy = elapsed_seconds - first.as_secs_f64();
        if busy > 0.0 && first.as_secs_f64() >= 0.5 {
            // Start-up (schema loading, joining a consumer group) took a noticeable share.
            let _ = writeln!(
                out,
                "{:<32} {:>12.2} s ({:.0} lines/s after the first line)",
                "from the first line",
                busy,
                lines as f64 / busy
            );
        }
    }
    if let SinkSpec::Directory { path, .. } = output {
        let _ = writeln!(out, "{:<32} {}", "output directory", path.display());
    }
    if report.lines_read != lines {
        let _ = writeln!(
            out,
            "WARNING: {} lines read but {} delivered",
            report.lines_read, lines
        );
    }
    out
}
