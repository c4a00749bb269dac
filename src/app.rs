//! Assembly: turns a loaded configuration into the running parts (processor, source, sink,
//! settings), checking everything first and reporting every problem at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use beacon_parsers::capsule::CapsuleParser;
use beacon_parsers::format::LineFormat;
use beacon_parsers::useragent::UserAgentParser;

use crate::config::{
    ConfigError, ConfigProblem, InputConfig, LoadedConfig, OutputConfig, ReadFromConfig,
};
use crate::pipeline::PipelineSettings;
use crate::processor::{Processor, Routing};
use crate::schema::{LegacyDirSource, LegacySchemaSource, SchemaRegistry};
use crate::sink::SinkSpec;
use crate::source::{FollowSettings, ReadFrom, SourceSettings, SourceSpec};
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
}

/// Builds every part from `loaded`. `daemon` selects following files (`run`) rather than
/// reading them once. All problems are collected before failing.
pub fn assemble(loaded: &LoadedConfig, daemon: bool) -> Result<Assembled, ConfigError> {
    let file = &loaded.file;
    let mut problems = Vec::new();

    let format = LineFormat::compile(&file.format)
        .map_err(|e| problems.push(ConfigProblem::new("format", e.to_string())))
        .ok();
    let valid_topic = TopicTemplate::parse(&file.routing.valid_topic)
        .map_err(|e| problems.push(ConfigProblem::new("routing.valid_topic", e.to_string())))
        .ok();
    if let Err(e) = check_topic_name(&file.routing.error_topic) {
        problems.push(ConfigProblem::new("routing.error_topic", e.to_string()));
    }
    let user_agents = user_agent_parser(loaded, &mut problems);
    let registry = schema_registry(loaded, &mut problems);
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
        OutputConfig::Directory { path, fsync } => SinkSpec::Directory {
            path: loaded.resolve(path),
            fsync: *fsync,
        },
        OutputConfig::Stdout => SinkSpec::Stdout,
    };

    let (Some(format), Some(valid_topic), Some(user_agents), Some(registry), Some(input)) =
        (format, valid_topic, user_agents, registry, input)
    else {
        return Err(loaded.error(problems));
    };
    if !problems.is_empty() {
        return Err(loaded.error(problems));
    }
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let processor = Processor::new(
        CapsuleParser::new(format),
        Arc::new(registry),
        Routing {
            valid_topic,
            error_topic: file.routing.error_topic.clone(),
        },
        Arc::new(user_agents),
        file.user_agent.cache_size,
        host,
        file.limits.max_line_bytes,
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
    })
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

fn schema_registry(
    loaded: &LoadedConfig,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SchemaRegistry> {
    let mut sources: Vec<Box<dyn LegacySchemaSource>> = Vec::new();
    let mut ok = true;
    for (index, dir) in loaded.file.schemas.legacy_dirs.iter().enumerate() {
        let path = loaded.resolve(dir);
        match LegacyDirSource::load(&path) {
            Ok(source) => sources.push(Box::new(source)),
            Err(e) => {
                ok = false;
                problems.push(ConfigProblem::new(
                    format!("schemas.legacy_dirs[{index}]"),
                    e.to_string(),
                ));
            }
        }
    }
    ok.then(|| SchemaRegistry::new(sources))
}

fn input_spec(
    loaded: &LoadedConfig,
    daemon: bool,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SourceSpec> {
    match &loaded.file.input {
        InputConfig::Stdin => Some(SourceSpec::Stdin),
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
            if files.poll_interval_ms == 0 {
                problems.push(ConfigProblem::new(
                    "input.poll_interval_ms",
                    "expected a number of milliseconds greater than 0",
                ));
                bad = true;
            }
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
                Some(SourceSpec::FilesFollow(FollowSettings {
                    include,
                    exclude,
                    poll_interval: Duration::from_millis(files.poll_interval_ms),
                    rescan_interval: Duration::from_millis(files.rescan_interval_ms.max(1)),
                    read_from: match files.read_from {
                        ReadFromConfig::Beginning => ReadFrom::Beginning,
                        ReadFromConfig::End => ReadFrom::End,
                    },
                }))
            } else {
                Some(SourceSpec::FilesOnce(expand_globs(&include, &exclude)))
            }
        }
    }
}

/// The files matching `include` and not `exclude`, sorted, each once.
fn expand_globs(include: &[String], exclude: &[String]) -> Vec<PathBuf> {
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
