//! Assembly: turns a loaded configuration into the running parts (processor, source, sink,
//! settings), checking everything first and reporting every problem at once. The Kafka source
//! and sink settings are built in `kafka_settings`.

mod kafka_settings;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use beacon_parsers::capsule::CapsuleParser;
use beacon_parsers::format::LineFormat;
use beacon_parsers::useragent::UserAgentParser;

use crate::catalog::{Catalog, CatalogSnapshot};
use crate::config::{
    ConfigError, ConfigProblem, ConvertSelection, DeliveryConfig, InputConfig, LoadedConfig,
    MessageKeyConfig, OutputConfig, ReadFromConfig,
};
use crate::pipeline::PipelineSettings;
use crate::processor::{LegacyConversion, MessageKey, Processor, ProcessorSettings};
use crate::route::{CopyRoute, RouteError, Routes};
use crate::schema::{SchemaRegistry, SchemaRegistrySettings, SchemaSourceSettings};
use crate::sink::{SinkSpec, TransactionSettings};
use crate::source::{ReadFrom, SourceSettings, SourceSpec, TailSettings};
use crate::streams::StreamConfigs;
use crate::topic::{check_topic_name, TopicTemplate};

/// Everything a run needs, built from a configuration.
pub struct Assembled {
    /// The per-line processing.
    pub processor: Arc<Processor>,
    /// Batch and line limits.
    pub source_settings: SourceSettings,
    /// Threads and queues.
    pub pipeline_settings: PipelineSettings,
    /// What to read.
    pub input: SourceSpec,
    /// Where to write.
    pub output: SinkSpec,
    /// The HTTP server's address, if it is enabled.
    pub http_listen: Option<SocketAddr>,
    /// The status server's connection cap and header timeout.
    pub http_limits: crate::http::bounded_server::ConnectionLimits,
    /// The longest a graceful stop may take.
    pub shutdown_timeout: Duration,
}

/// `routing.disabled_schemas` and `routing.copies`.
fn routes(routing: &crate::config::RoutingConfig, problems: &mut Vec<ConfigProblem>) -> Routes {
    let mut copies = Vec::new();
    for (index, copy) in routing.copies.iter().enumerate() {
        match CopyRoute::new(&copy.topic, copy.exclude.as_deref()) {
            Ok(route) => copies.push(route),
            Err(e) => {
                let key = match e {
                    RouteError::Topic(_) => "topic",
                    RouteError::Pattern(_) => "exclude",
                };
                problems.push(ConfigProblem::new(
                    format!("routing.copies[{index}].{key}"),
                    e.to_string(),
                ));
            }
        }
    }
    let exclude = routing.exclude.as_deref().and_then(|pattern| {
        crate::route::exclusion_pattern(pattern)
            .map_err(|e| problems.push(ConfigProblem::new("routing.exclude", e.to_string())))
            .ok()
    });
    Routes::new(routing.disabled_schemas.iter().cloned(), exclude, copies)
}

/// Builds every part from `loaded`. `daemon` selects following files (`run`) rather than
/// reading them once. All problems are collected before failing.
pub fn assemble(loaded: &LoadedConfig, daemon: bool) -> Result<Assembled, ConfigError> {
    let file = &loaded.file;
    let mut problems = Vec::new();

    let format = LineFormat::compile(&file.format)
        .map_err(|e| problems.push(ConfigProblem::new("format", e.to_string())))
        .ok();
    let valid_topic = TopicTemplate::parse_fixed_or_template(&file.routing.valid_topic)
        .map_err(|e| problems.push(ConfigProblem::new("routing.valid_topic", e.to_string())))
        .ok();
    if let Err(e) = check_topic_name(&file.routing.error_topic) {
        problems.push(ConfigProblem::new("routing.error_topic", e.to_string()));
    }
    let routes = routes(&file.routing, &mut problems);
    let user_agents = user_agent_parser(loaded, &mut problems);
    let snapshot = catalog_snapshot(loaded, None)
        .map_err(|found| problems.extend(found))
        .ok();
    if let Err(e) = check_topic_name(&file.streams.error_stream) {
        problems.push(ConfigProblem::new("streams.error_stream", e.to_string()));
    }
    if !file
        .streams
        .topic_prefix
        .chars()
        .all(crate::topic::is_topic_char)
    {
        problems.push(ConfigProblem::new(
            "streams.topic_prefix",
            "expected only topic-name characters (a-z A-Z 0-9 . _ -)",
        ));
    }
    check_positive(
        &mut problems,
        "limits.max_line_bytes",
        file.limits.max_line_bytes,
    );
    check_positive(
        &mut problems,
        "pipeline.batch_lines",
        file.pipeline.batch_lines,
    );
    check_positive(
        &mut problems,
        "pipeline.queue_batches",
        file.pipeline.queue_batches,
    );
    let input = input_spec(loaded, daemon, &mut problems);
    let output = match &file.output {
        OutputConfig::Directory { path, fsync, files } => Some(SinkSpec::Directory {
            path: loaded.resolve(path),
            named: files
                .iter()
                .map(|(topic, file)| (topic.clone(), loaded.resolve(file)))
                .collect(),
            fsync: *fsync,
        }),
        OutputConfig::Stdout => Some(SinkSpec::Stdout),
        OutputConfig::Kafka(kafka) => {
            kafka_settings::sink_settings(kafka, &mut problems).map(SinkSpec::Kafka)
        }
    };
    let (input, output) = apply_delivery(file, input, output, &mut problems);
    let http_listen = match &file.http.listen {
        None => None,
        Some(text) => {
            match text.parse::<SocketAddr>() {
                Ok(address) => Some(address),
                Err(_) => {
                    problems.push(ConfigProblem::new(
                    "http.listen",
                    format!("expected an IP address and port such as 127.0.0.1:9102, found {text:?}"),
                ));
                    None
                }
            }
        }
    };
    let message_key = match &file.output {
        OutputConfig::Kafka(kafka) => match kafka.message_key {
            MessageKeyConfig::None => MessageKey::None,
            MessageKeyConfig::Uuid => MessageKey::Uuid,
            MessageKeyConfig::StreamFields => MessageKey::StreamFields,
        },
        _ => MessageKey::None,
    };

    let (
        Some(format),
        Some(valid_topic),
        Some(user_agents),
        Some(snapshot),
        Some(input),
        Some(output),
    ) = (format, valid_topic, user_agents, snapshot, input, output)
    else {
        return Err(loaded.error(problems));
    };
    if !problems.is_empty() {
        return Err(loaded.error(problems));
    }
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let settings = ProcessorSettings {
        valid_topic,
        error_topic: file.routing.error_topic.clone(),
        topic_prefix: file.streams.topic_prefix.clone(),
        error_stream: file.streams.error_stream.clone(),
        emitter_id: file.streams.emitter_id.clone(),
        conversion: match &file.legacy.convert_to_event_platform {
            ConvertSelection::All(false) => LegacyConversion::Off,
            ConvertSelection::All(true) => LegacyConversion::All,
            ConvertSelection::Only(names) => {
                LegacyConversion::Only(names.iter().cloned().collect())
            }
        },
        conversion_versions: file.legacy.versions.clone().into_iter().collect(),
        conversion_default_version: file.legacy.default_version.clone(),
        user_agent_cache_size: file.user_agent.cache_size,
        host,
        max_line_bytes: file.limits.max_line_bytes,
        fetch_wait: Duration::from_millis(file.schemas.fetch_timeout_ms.saturating_mul(2)),
        message_key,
        routes,
    };
    let processor = Processor::new(
        CapsuleParser::new(format),
        Arc::new(Catalog::new(snapshot)),
        settings,
        Arc::new(user_agents),
    );
    Ok(Assembled {
        processor: Arc::new(processor),
        source_settings: SourceSettings {
            batch_lines: file.pipeline.batch_lines,
            batch_bytes: SourceSettings::default().batch_bytes,
            max_line_bytes: file.limits.max_line_bytes,
        },
        pipeline_settings: PipelineSettings {
            workers: file.pipeline.workers,
            queue_batches: file.pipeline.queue_batches,
            ..PipelineSettings::default()
        },
        input,
        output,
        http_listen,
        http_limits: crate::http::bounded_server::ConnectionLimits {
            max_connections: file.http.max_connections.max(1),
            header_timeout: Duration::from_millis(file.http.header_timeout_ms.max(1)),
            drain_timeout: Duration::from_secs(1),
        },
        shutdown_timeout: Duration::from_millis(file.pipeline.shutdown_timeout_ms),
    })
}

/// Builds the reloadable part (schema registry and stream configuration) from `loaded`,
/// compiling every local legacy schema so that broken ones are reported now. With `previous`,
/// remote caches are shared with that registry.
pub fn catalog_snapshot(
    loaded: &LoadedConfig,
    previous: Option<&SchemaRegistry>,
) -> Result<CatalogSnapshot, Vec<ConfigProblem>> {
    let schemas = &loaded.file.schemas;
    let mut problems = Vec::new();
    let mut keys = Vec::new();
    let mut sources = Vec::new();
    for (index, dir) in schemas.legacy_dirs.iter().enumerate() {
        keys.push(format!("schemas.legacy_dirs[{index}]"));
        sources.push(SchemaSourceSettings::LegacyDirectory(loaded.resolve(dir)));
    }
    for (index, dir) in schemas.event_repositories.iter().enumerate() {
        keys.push(format!("schemas.event_repositories[{index}]"));
        sources.push(SchemaSourceSettings::EventPlatformRepository(
            loaded.resolve(dir),
        ));
    }
    if let Some(template) = &schemas.legacy_url_template {
        keys.push("schemas.legacy_url_template".to_owned());
        sources.push(SchemaSourceSettings::LegacyHttp {
            url_template: template.clone(),
        });
    }
    for (index, base) in schemas.schema_base_uris.iter().enumerate() {
        keys.push(format!("schemas.schema_base_uris[{index}]"));
        sources.push(SchemaSourceSettings::EventPlatformHttp {
            base_uri: base.clone(),
        });
    }
    if schemas.fetch_timeout_ms == 0 {
        problems.push(ConfigProblem::new(
            "schemas.fetch_timeout_ms",
            "expected a number of milliseconds greater than 0",
        ));
    }
    let settings = SchemaRegistrySettings {
        sources,
        schema_file_extension: schemas.schema_file_extension.clone(),
        allowed_schema_hosts: schemas.allowed_hosts.clone(),
        fetch_timeout: Duration::from_millis(schemas.fetch_timeout_ms.max(1)),
        connect_timeout: Duration::from_millis(schemas.fetch_timeout_ms.clamp(1, 2000)),
        negative_cache_ttl: Duration::from_secs(schemas.negative_cache_ttl_s),
        ..SchemaRegistrySettings::default()
    };
    let built = match previous {
        Some(previous) => SchemaRegistry::from_settings_sharing(&settings, previous),
        None => SchemaRegistry::from_settings(&settings),
    };
    let registry = match built {
        Ok(registry) => {
            let (_, failures) = registry.precompile_known();
            for failure in failures {
                problems.push(ConfigProblem::new(
                    "schemas.legacy_dirs",
                    failure.to_string(),
                ));
            }
            Some(registry)
        }
        Err(error) => {
            for problem in error.problems {
                let key = problem
                    .setting
                    .strip_prefix("sources[")
                    .and_then(|rest| rest.strip_suffix(']'))
                    .and_then(|index| index.parse::<usize>().ok())
                    .and_then(|index| keys.get(index).cloned())
                    .unwrap_or_else(|| match problem.setting.as_str() {
                        "allowed_schema_hosts" => "schemas.allowed_hosts".to_owned(),
                        "schema_file_extension" => "schemas.schema_file_extension".to_owned(),
                        other => format!("schemas ({other})"),
                    });
                problems.push(ConfigProblem::new(key, problem.message));
            }
            None
        }
    };
    let streams = match &loaded.file.streams.config {
        None => None,
        Some(path) => match StreamConfigs::load(&loaded.resolve(path)) {
            Ok(streams) => Some(Arc::new(streams)),
            Err(error) => {
                problems.push(ConfigProblem::new("streams.config", error.to_string()));
                None
            }
        },
    };
    match registry {
        Some(registry) if problems.is_empty() => Ok(CatalogSnapshot {
            registry: Arc::new(registry),
            streams,
        }),
        _ => Err(problems),
    }
}

fn check_positive(problems: &mut Vec<ConfigProblem>, key: &str, value: usize) {
    if value == 0 {
        problems.push(ConfigProblem::new(
            key,
            "expected a number greater than 0, found 0",
        ));
    }
}

fn user_agent_parser(
    loaded: &LoadedConfig,
    problems: &mut Vec<ConfigProblem>,
) -> Option<UserAgentParser> {
    let settings = &loaded.file.user_agent;
    let parser = match &settings.regexes {
        None => UserAgentParser::builtin().map_err(|e| e.to_string()),
        Some(path) => {
            let path = loaded.resolve(path);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|yaml| {
                    UserAgentParser::from_yaml(&yaml).map_err(|e| {
                        format!(
                            "{} is not a usable uap-core regexes.yaml: {e}",
                            path.display()
                        )
                    })
                })
        }
    };
    match parser {
        Ok(parser) => Some(parser.with_max_length(settings.max_length)),
        Err(message) => {
            problems.push(ConfigProblem::new("user_agent.regexes", message));
            None
        }
    }
}

/// `delivery: exactly_once`: Kafka output in transactions, committing with the records either
/// the Kafka source's offsets (input and output on one cluster) or the tailed files' checkpoints
/// (in the output cluster's checkpoint topic).
fn apply_delivery(
    file: &crate::config::ConfigFile,
    input: Option<SourceSpec>,
    output: Option<SinkSpec>,
    problems: &mut Vec<ConfigProblem>,
) -> (Option<SourceSpec>, Option<SinkSpec>) {
    if file.delivery != DeliveryConfig::ExactlyOnce {
        return (input, output);
    }
    let OutputConfig::Kafka(out) = &file.output else {
        problems.push(ConfigProblem::new(
            "delivery",
            "exactly_once needs `output.type: kafka` (transactions are Kafka's)",
        ));
        return (input, output);
    };
    let default_id = match (&file.input, &input) {
        (InputConfig::Kafka(inp), _) => {
            let servers = |list: &str| -> std::collections::BTreeSet<String> {
                list.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            if servers(&inp.brokers).is_disjoint(&servers(&out.brokers)) {
                problems.push(ConfigProblem::new(
                    "output.brokers",
                    format!(
                        "with delivery: exactly_once the output must be the input's cluster (no \
                         bootstrap server in common with input.brokers {:?}): one transaction \
                         commits the records and the input offsets",
                        inp.brokers
                    ),
                ));
            }
            format!(
                "beacon-processor-{}-{}-{}",
                inp.group_id,
                gethostname::gethostname().to_string_lossy(),
                std::process::id()
            )
        }
        (InputConfig::Files(_), Some(SourceSpec::FilesTail(tail))) => {
            if out.checkpoint_topic.trim().is_empty()
                || check_topic_name(&out.checkpoint_topic).is_err()
            {
                problems.push(ConfigProblem::new(
                    "output.checkpoint_topic",
                    format!(
                        "expected a Kafka topic name, found {:?}",
                        out.checkpoint_topic
                    ),
                ));
            }
            // Stable across restarts (the next start fences the previous one's open
            // transaction at once) and unique among running instances (one tailer per data
            // directory).
            format!(
                "beacon-processor-files-{}-{}",
                gethostname::gethostname().to_string_lossy(),
                tail.data_dir.display()
            )
        }
        (InputConfig::Files(_), _) => {
            problems.push(ConfigProblem::new(
                "delivery",
                "exactly_once with file input needs the files followed by `run` \
                 (`input.follow: true`): its checkpoints are committed with the records",
            ));
            return (input, output);
        }
        (InputConfig::Http(_), _) => {
            problems.push(ConfigProblem::new(
                "delivery",
                "exactly_once is not available with the HTTP intake: a client that gets no \
                 answer sends again, and Kafka transactions cannot tell",
            ));
            return (input, output);
        }
        (InputConfig::Stdin, _) => {
            problems.push(ConfigProblem::new(
                "delivery",
                "exactly_once needs `input.type: kafka` or followed `files`: standard input \
                 cannot be read again from a committed position",
            ));
            return (input, output);
        }
    };
    if out.transaction_interval_ms == 0 {
        problems.push(ConfigProblem::new(
            "output.transaction_interval_ms",
            "expected a number of milliseconds greater than 0",
        ));
    }
    if out.transaction_timeout_ms <= out.transaction_interval_ms.saturating_mul(2) {
        problems.push(ConfigProblem::new(
            "output.transaction_timeout_ms",
            format!(
                "expected more than twice output.transaction_interval_ms ({}), found {}",
                out.transaction_interval_ms, out.transaction_timeout_ms
            ),
        ));
    }
    let transactional_id = out.transactional_id.clone().unwrap_or(default_id);
    let files = matches!(input, Some(SourceSpec::FilesTail(_)));
    let input = input.map(|spec| match spec {
        SourceSpec::Kafka(mut settings) => {
            settings.offsets_in_transactions = true;
            SourceSpec::Kafka(settings)
        }
        other => other,
    });
    let output = output.map(|spec| match spec {
        SinkSpec::Kafka(mut settings) => {
            settings.transactions = Some(TransactionSettings {
                transactional_id,
                interval: Duration::from_millis(out.transaction_interval_ms),
                timeout: Duration::from_millis(out.transaction_timeout_ms),
                checkpoint_topic: files.then(|| out.checkpoint_topic.clone()),
            });
            SinkSpec::Kafka(settings)
        }
        other => other,
    });
    (input, output)
}

fn input_spec(
    loaded: &LoadedConfig,
    daemon: bool,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SourceSpec> {
    match &loaded.file.input {
        InputConfig::Stdin => Some(SourceSpec::Stdin),
        InputConfig::Http(http) => {
            http_intake_spec(http, &loaded.file.format, problems).map(SourceSpec::Http)
        }
        InputConfig::Kafka(kafka) => {
            kafka_settings::source_settings(kafka, !daemon, problems).map(SourceSpec::Kafka)
        }
        InputConfig::Files(files) => {
            if files.include.is_empty() {
                problems.push(ConfigProblem::new(
                    "input.include",
                    "expected at least one glob pattern",
                ));
                return None;
            }
            let mut bad = false;
            for (index, pattern) in files.include.iter().chain(&files.exclude).enumerate() {
                if let Err(e) = glob::Pattern::new(pattern) {
                    bad = true;
                    let key = if index < files.include.len() {
                        format!("input.include[{index}]")
                    } else {
                        format!("input.exclude[{}]", index - files.include.len())
                    };
                    problems.push(ConfigProblem::new(
                        key,
                        format!("invalid glob pattern {pattern:?}: {e}"),
                    ));
                }
            }
            let mut require = |ok: bool, key: &str, expected: &str| {
                if !ok {
                    bad = true;
                    problems.push(ConfigProblem::new(format!("input.{key}"), expected));
                }
            };
            require(
                files.poll_interval_ms > 0,
                "poll_interval_ms",
                "expected a number of milliseconds greater than 0",
            );
            require(
                files.checkpoint_interval_ms > 0,
                "checkpoint_interval_ms",
                "expected a number of milliseconds greater than 0",
            );
            require(
                (1..=65_536).contains(&files.fingerprint_bytes),
                "fingerprint_bytes",
                "expected a number of bytes from 1 to 65536",
            );
            require(
                files.read_budget_bytes > 0,
                "read_budget_bytes",
                "expected a number of bytes greater than 0",
            );
            require(
                !files.data_dir.trim().is_empty(),
                "data_dir",
                "expected a directory path",
            );
            if bad {
                return None;
            }
            let include: Vec<String> = files
                .include
                .iter()
                .map(|p| loaded.resolve_pattern(p))
                .collect();
            let exclude: Vec<String> = files
                .exclude
                .iter()
                .map(|p| loaded.resolve_pattern(p))
                .collect();
            if daemon && files.follow {
                Some(SourceSpec::FilesTail(TailSettings {
                    include,
                    exclude,
                    poll_interval: Duration::from_millis(files.poll_interval_ms),
                    rescan_interval: Duration::from_millis(files.rescan_interval_ms.max(1)),
                    read_from: match files.read_from {
                        ReadFromConfig::Beginning => ReadFrom::Beginning,
                        ReadFromConfig::End => ReadFrom::End,
                    },
                    data_dir: loaded.resolve(&files.data_dir),
                    fingerprint_bytes: files.fingerprint_bytes,
                    read_budget_bytes: files.read_budget_bytes,
                    rotate_wait: Duration::from_millis(files.rotate_wait_ms),
                    checkpoint_interval: Duration::from_millis(files.checkpoint_interval_ms),
                    checkpoint_retention: Duration::from_secs(files.checkpoint_retention_s),
                    shutdown_timeout: Duration::from_millis(files.shutdown_timeout_ms),
                    notify: files.notify,
                }))
            } else {
                Some(SourceSpec::FilesOnce(expand_globs(&include, &exclude)))
            }
        }
    }
}

/// The files matching `include` and not `exclude`, sorted, each once.
pub fn expand_globs(include: &[String], exclude: &[String]) -> Vec<PathBuf> {
    let excludes: Vec<glob::Pattern> = exclude
        .iter()
        .filter_map(|p| glob::Pattern::new(p).ok())
        .collect();
    let mut paths: Vec<PathBuf> = include
        .iter()
        .filter_map(|p| glob::glob(p).ok())
        .flat_map(|paths| paths.flatten())
        .filter(|p| p.is_file() && !excludes.iter().any(|ex| ex.matches_path(p)))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The HTTP intake's settings, every problem reported at its key.
fn http_intake_spec(
    http: &crate::config::HttpInputConfig,
    format: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<crate::source::http::HttpIntakeSettings> {
    let before = problems.len();
    let listen = http.listen.parse::<SocketAddr>().map_err(|_| {
        problems.push(ConfigProblem::new(
            "input.listen",
            format!(
                "expected an IP address and port such as 0.0.0.0:8192, found {:?}",
                http.listen
            ),
        ))
    });
    let mut positive = |key: &str, value: u64| {
        if value == 0 {
            problems.push(ConfigProblem::new(
                format!("input.{key}"),
                "expected a number greater than 0",
            ));
        }
    };
    positive("max_connections", http.max_connections as u64);
    positive("header_timeout_ms", http.header_timeout_ms);
    positive("body_timeout_ms", http.body_timeout_ms);
    positive("delivery_timeout_ms", http.delivery_timeout_ms);
    positive("max_body_bytes", http.max_body_bytes as u64);
    positive("max_decoded_bytes", http.max_decoded_bytes as u64);
    positive("max_events_per_request", http.max_events_per_request as u64);
    positive("threads", http.threads as u64);
    if !(http.rate_limit_per_second.is_finite() && http.rate_limit_per_second >= 0.0) {
        problems.push(ConfigProblem::new(
            "input.rate_limit_per_second",
            "expected a number of requests per second, 0 or more (0: no limit)",
        ));
    }
    let mut trusted = Vec::new();
    for (index, proxy) in http.trusted_proxies.iter().enumerate() {
        match proxy.parse::<std::net::IpAddr>() {
            Ok(ip) => trusted.push(ip),
            Err(_) => problems.push(ConfigProblem::new(
                format!("input.trusted_proxies[{index}]"),
                format!("expected an IP address, found {proxy:?}"),
            )),
        }
    }
    if let Some(origin) = &http.cors_origin {
        if axum::http::HeaderValue::from_str(origin).is_err() {
            problems.push(ConfigProblem::new(
                "input.cors_origin",
                format!(
                    "expected an origin such as \"*\" or \"https://example.org\", found {origin:?}"
                ),
            ));
        }
    }
    let listen = listen.ok()?;
    if problems.len() > before {
        return None;
    }
    let mut settings = crate::source::http::HttpIntakeSettings::new(listen);
    settings.connections.max_connections = http.max_connections;
    settings.connections.header_timeout = Duration::from_millis(http.header_timeout_ms);
    settings.connections.drain_timeout = Duration::from_millis(http.delivery_timeout_ms);
    settings.body_timeout = Duration::from_millis(http.body_timeout_ms);
    settings.delivery_timeout = Duration::from_millis(http.delivery_timeout_ms);
    settings.max_body_bytes = http.max_body_bytes;
    settings.max_decoded_bytes = http.max_decoded_bytes;
    settings.max_events = http.max_events_per_request;
    settings.trusted_proxies = trusted;
    settings.cors_origin = http.cors_origin.clone();
    settings.line_format = format.to_owned();
    settings.test_events = http.test_events.clone();
    settings.rate_limit = (http.rate_limit_per_second > 0.0)
        .then_some((http.rate_limit_per_second, http.rate_limit_burst.max(1)));
    settings.threads = http.threads;
    Some(settings)
}

impl Assembled {
    /// The Kafka clusters the run talks to, by role (`input`, `output`): what a one-shot
    /// command or `check-config --probe` asks before starting.
    pub fn kafka_clusters(&self) -> Vec<(&'static str, &str)> {
        let mut clusters = Vec::new();
        if let SourceSpec::Kafka(kafka) = &self.input {
            clusters.push(("input", kafka.brokers.as_str()));
        }
        if let SinkSpec::Kafka(kafka) = &self.output {
            clusters.push(("output", kafka.brokers.as_str()));
        }
        clusters
    }

    /// What the configuration sets up, as (what, value) pairs: the input, the output, the
    /// schema sources, the streams and the workers (for check-config and the start-up log).
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let input = match &self.input {
            SourceSpec::Stdin => "standard input".to_owned(),
            SourceSpec::FilesOnce(paths) => format!("{} files, read once", paths.len()),
            SourceSpec::FilesTail(tail) => format!(
                "files followed: {} (checkpoints in {})",
                tail.include.join(", "),
                tail.data_dir.display()
            ),
            SourceSpec::Kafka(kafka) => format!(
                "Kafka {} topics {} as group {}",
                kafka.brokers,
                kafka.topics.join(", "),
                kafka.group_id
            ),
            SourceSpec::Http(http) => format!(
                "HTTP intake on {} (at most {} connections, {} bytes and {} events per request)",
                http.listen, http.connections.max_connections, http.max_body_bytes, http.max_events
            ),
        };
        let output = match &self.output {
            SinkSpec::Directory { path, .. } => format!("directory {}", path.display()),
            SinkSpec::Stdout => "standard output".to_owned(),
            SinkSpec::Kafka(kafka) => match &kafka.transactions {
                Some(t) => format!(
                    "Kafka {} in transactions (exactly once, transactional.id {})",
                    kafka.brokers, t.transactional_id
                ),
                None => format!("Kafka {} (at least once)", kafka.brokers),
            },
        };
        let catalog = self.processor.catalog().snapshot();
        let sources = catalog.registry.source_descriptions();
        let schemas = if sources.is_empty() {
            "none (every event will be schema_unknown)".to_owned()
        } else {
            sources.join("; ")
        };
        let streams = catalog.streams.as_ref().map_or(0, |s| s.len());
        let settings = self.processor.settings();
        let mut described = vec![
            ("input", input),
            ("output", output),
            (
                "topics",
                format!(
                    "valid events to {}, error events to {}",
                    settings.valid_topic, settings.error_topic
                ),
            ),
        ];
        if let Some(routes) = settings.routes.describe() {
            described.push(("routes", routes));
        }
        described.extend([
            ("schemas", schemas),
            ("streams", format!("{streams} configured")),
            ("workers", self.pipeline_settings.worker_count().to_string()),
        ]);
        described
    }
}
