//! `beacon-processor eventlogging-processor`: Python eventlogging-processor's command line
//! (`FORMAT INPUT_URI OUTPUT_URI... --output-invalid [URI] --sid GROUP`), translated into this
//! project's configuration and run as the daemon. An operator swaps the binary in the systemd
//! unit and keeps the argument file; with the same `--sid` on the same cluster, the consumer
//! group continues from the offsets the Python processors committed.
//!
//! What translates to what is in docs/MIGRATING.md; everything that cannot be honoured is an
//! error naming the URI, never silently dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::cli::{Cli, EventloggingProcessorArgs};
use crate::config::eventlogging_uri::{Endpoint, EventloggingUri, UriError};
use crate::config::{
    self, ConfigFile, CopyRouteConfig, FilesInputConfig, InputConfig, KafkaInputConfig,
    KafkaOutputConfig, OptionValue, OutputConfig, StartFromConfig,
};
use crate::logging;
use crate::topic::TopicTemplate;

use super::lifecycle::install_signal_handlers;
use super::run::run_daemon;
use super::CommandError;

/// The plugin function of eventlogging's production units that beacon-processor implements:
/// it dropped the valid events of schemas moved to the Event Platform.
pub const DISABLED_FILTER: &str = "eventlogging_schemas_disabled_filter";

/// The schema name eventlogging gave error events (`eventlogging_{schema}` ->
/// `eventlogging_EventError`).
const ERROR_SCHEMA: &str = "EventError";

/// Runs the translated command line until SIGTERM/SIGINT (or the input's end).
pub fn eventlogging_processor(
    cli: &Cli,
    args: &EventloggingProcessorArgs,
) -> Result<(), CommandError> {
    let stop = Arc::new(AtomicBool::new(false));
    install_signal_handlers(&stop)?;
    let mut loaded = config::load_or_defaults(args.config.config.as_deref())?;
    let as_read = loaded.file.clone();
    let cwd = std::env::current_dir()
        .map_err(|e| CommandError::Other(format!("cannot read the working directory: {e}")))?;
    let notes = translate(args, &mut loaded.file, &cwd)
        .map_err(|e| CommandError::Other(format!("eventlogging-processor: {e}")))?;
    if let Some(listen) = &args.http {
        loaded.file.http.listen = Some(listen.clone());
    }
    logging::init(cli, &loaded.file.logging);
    for note in notes {
        tracing::warn!("{note}");
    }
    let reload = loaded.path.clone().map(|path| (path, as_read));
    run_daemon(&loaded, reload, stop)
}

/// The kinds of output a command line can have (one sink per run).
enum Outputs {
    /// Kafka topics on one cluster.
    Kafka {
        brokers: String,
        options: BTreeMap<String, OptionValue>,
    },
    /// Files: topic label -> path.
    Files(BTreeMap<String, PathBuf>),
    /// Standard output.
    Stdout,
}

/// One output URI as a route: its topic (template or fixed), exclusions and the disabled
/// filter.
struct OutputRoute {
    topic: String,
    exclude: Option<String>,
    disabled_filter: bool,
}

/// Replaces `file`'s format, input, output and routing by what the command line says; returns
/// notes for the operator (settings ignored, behaviour that differs from eventlogging).
pub fn translate(
    args: &EventloggingProcessorArgs,
    file: &mut ConfigFile,
    cwd: &Path,
) -> Result<Vec<String>, UriError> {
    let mut notes = Vec::new();
    file.format = args.format.clone();
    file.input = input(args, file, cwd, &mut notes)?;

    let mut outputs: Option<Outputs> = None;
    let mut routes = Vec::new();
    for text in &args.outputs {
        let uri = EventloggingUri::parse(text)?;
        routes.push(output(&uri, &mut outputs, cwd, routes.len(), &mut notes)?);
    }
    let Some(first) = routes.first() else {
        return Err(UriError {
            uri: String::new(),
            message: "at least one output URI is needed".into(),
        });
    };
    let first_topic =
        TopicTemplate::parse_fixed_or_template(&first.topic).map_err(|e| UriError {
            uri: args.outputs.first().cloned().unwrap_or_default(),
            message: e.to_string(),
        })?;
    let error_topic = match args.output_invalid.as_deref() {
        None => {
            let topic = first_topic
                .topic_for(ERROR_SCHEMA)
                .map_err(|e| invalid_error(&args.outputs, e))?;
            notes.push(format!(
                "--output-invalid not given: eventlogging-processor only logged invalid events; \
                 beacon-processor writes them to {topic} (as with --output-invalid) and never \
                 drops an input line"
            ));
            topic
        }
        Some("") => first_topic
            .topic_for(ERROR_SCHEMA)
            .map_err(|e| invalid_error(&args.outputs, e))?,
        Some(text) => {
            let uri = EventloggingUri::parse(text)?;
            let route = output(&uri, &mut outputs, cwd, usize::MAX, &mut notes)?;
            if route.exclude.is_some() || route.disabled_filter {
                notes.push(format!(
                    "{text}: blacklist= and map:// filters do not apply to error events"
                ));
            }
            TopicTemplate::parse_fixed_or_template(&route.topic)
                .and_then(|t| t.topic_for(ERROR_SCHEMA))
                .map_err(|e| uri.error(e.to_string()))?
        }
    };

    let mut routes = routes.into_iter();
    if let Some(main) = routes.next() {
        file.routing.valid_topic = main.topic;
        file.routing.exclude = main.exclude;
        if main.disabled_filter {
            file.routing
                .disabled_schemas
                .extend(args.disabled_schemas.iter().cloned());
        }
    }
    file.routing.error_topic = error_topic;
    file.routing.copies = routes
        .map(|route| {
            let mut exclude = route.exclude;
            if route.disabled_filter && !args.disabled_schemas.is_empty() {
                let names: Vec<String> = args
                    .disabled_schemas
                    .iter()
                    .map(|name| regex::escape(name))
                    .collect();
                let disabled = format!("(?:{})$", names.join("|"));
                exclude = Some(match exclude {
                    Some(pattern) => format!("(?:{pattern})|{disabled}"),
                    None => disabled,
                });
            }
            CopyRouteConfig {
                topic: route.topic,
                exclude,
            }
        })
        .collect();
    let uses_disabled_filter = args
        .outputs
        .iter()
        .any(|text| text.contains(DISABLED_FILTER));
    if uses_disabled_filter
        && args.disabled_schemas.is_empty()
        && file.routing.disabled_schemas.is_empty()
    {
        notes.push(format!(
            "function={DISABLED_FILTER} with no schema disabled: give them with \
             --disabled-schemas A,B (the list was in eventlogging's plugins.py)"
        ));
    }

    file.output = match outputs {
        Some(Outputs::Kafka { brokers, options }) => {
            let mut kafka = match &file.output {
                OutputConfig::Kafka(kept) => kept.clone(),
                _ => KafkaOutputConfig::with_brokers(&brokers),
            };
            kafka.brokers = brokers;
            kafka.options.extend(options);
            OutputConfig::Kafka(kafka)
        }
        Some(Outputs::Files(files)) => {
            let dir = files
                .values()
                .next()
                .and_then(|path| path.parent())
                .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
            OutputConfig::Directory {
                path: dir.display().to_string(),
                fsync: false,
                files: files
                    .into_iter()
                    .map(|(topic, path)| (topic, path.display().to_string()))
                    .collect(),
            }
        }
        Some(Outputs::Stdout) | None => OutputConfig::Stdout,
    };
    Ok(notes)
}

fn invalid_error(outputs: &[String], e: crate::topic::TopicError) -> UriError {
    UriError {
        uri: outputs.first().cloned().unwrap_or_default(),
        message: format!("no error topic can be made from it for --output-invalid: {e}"),
    }
}

/// The input URI as an input section.
fn input(
    args: &EventloggingProcessorArgs,
    file: &ConfigFile,
    cwd: &Path,
    notes: &mut Vec<String>,
) -> Result<InputConfig, UriError> {
    let uri = EventloggingUri::parse(&args.input)?;
    if let Some(function) = &uri.map_function {
        return Err(uri.error(format!(
            "map:// inputs (function={function}) are not supported"
        )));
    }
    match &uri.endpoint {
        Endpoint::Kafka { brokers, confluent } => {
            let mut kafka = match &file.input {
                InputConfig::Kafka(kept) => kept.clone(),
                _ => KafkaInputConfig::with_brokers(brokers),
            };
            kafka.brokers = brokers.clone();
            let topics = uri.param("topics").or_else(|| uri.param("topic"));
            let Some(topics) = topics.filter(|t| !t.trim().is_empty()) else {
                return Err(uri.error("a Kafka input needs ?topic=RAW_TOPIC"));
            };
            kafka.topics = topics.split(',').map(|t| t.trim().to_owned()).collect();
            kafka.group_id = match (&args.sid, uri.param("identity")) {
                (Some(sid), _) => sid.clone(),
                (None, Some(identity)) => identity.to_owned(),
                (None, None) => {
                    let group = format!("eventlogging-{}", uuid::Uuid::new_v4());
                    notes.push(format!(
                        "no --sid: consumer group {group}, new at each start (as eventlogging \
                         did); give --sid to continue where the last run stopped"
                    ));
                    group
                }
            };
            // kafka-python started a group without committed offsets at the latest message.
            kafka.start_from = StartFromConfig::Latest;
            for (key, value) in &uri.params {
                match key.as_str() {
                    "topic" | "topics" | "identity" | "raw" => {}
                    "auto_offset_reset" | "auto.offset.reset" => {
                        kafka.start_from = match value.as_str() {
                            "earliest" | "smallest" | "beginning" | "-2" => {
                                StartFromConfig::Earliest
                            }
                            "latest" | "largest" | "end" | "-1" => StartFromConfig::Latest,
                            other => {
                                return Err(uri
                                    .error(format!("{key}={other}: expected earliest or latest")))
                            }
                        }
                    }
                    "auto_commit_interval_ms" | "auto.commit.interval.ms" => {
                        kafka.commit_interval_ms = value.parse().map_err(|_| {
                            uri.error(format!("{key}={value}: expected milliseconds"))
                        })?;
                    }
                    "enable_auto_commit" | "enable.auto.commit" => notes.push(format!(
                        "{}: {key} ignored: offsets are committed once their lines are delivered",
                        uri.text
                    )),
                    _ if *confluent => {
                        kafka
                            .options
                            .insert(key.clone(), OptionValue::Text(value.clone()));
                    }
                    "client_id" => {
                        kafka
                            .options
                            .insert("client.id".into(), OptionValue::Text(value.clone()));
                    }
                    _ => notes.push(format!(
                        "{}: kafka-python consumer setting {key}={value} ignored (use \
                         kafka-confluent:// to pass librdkafka properties)",
                        uri.text
                    )),
                }
            }
            Ok(InputConfig::Kafka(kafka))
        }
        Endpoint::File(path) => {
            let path = absolute(cwd, path);
            let files: FilesInputConfig = serde_json::from_value(serde_json::json!({
                "include": [glob::Pattern::escape(&path.display().to_string())],
                "follow": false,
            }))
            .map_err(|e| uri.error(format!("cannot describe the file input: {e}")))?;
            Ok(InputConfig::Files(files))
        }
        Endpoint::Stdin => Ok(InputConfig::Stdin),
        Endpoint::Stdout => Err(uri.error("stdout:// is an output, not an input")),
    }
}

/// One output URI: adds its sink to `outputs` (all outputs must share one sink) and returns its
/// route. `index` numbers file outputs (`usize::MAX` for --output-invalid).
fn output(
    uri: &EventloggingUri,
    outputs: &mut Option<Outputs>,
    cwd: &Path,
    index: usize,
    notes: &mut Vec<String>,
) -> Result<OutputRoute, UriError> {
    let disabled_filter = match uri.map_function.as_deref() {
        None => false,
        Some(DISABLED_FILTER) => true,
        Some(other) => {
            return Err(uri.error(format!(
                "function={other} is a plugin of the Python processor; beacon-processor knows \
                 only {DISABLED_FILTER} (schemas from --disabled-schemas); a blacklist=REGEX \
                 parameter excludes schemas by name"
            )))
        }
    };
    let exclude = uri.param("blacklist").map(str::to_owned);
    let mixed = || {
        uri.error(
            "all outputs must be of one kind: Kafka topics on one cluster, files, or a single \
             stdout://",
        )
    };
    match &uri.endpoint {
        Endpoint::Kafka { brokers, confluent } => {
            let topic = uri
                .param("topic")
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    uri.error(
                        "a Kafka output needs ?topic=NAME or ?topic=eventlogging_{schema} (the \
                         event's own meta topic is not supported)",
                    )
                })?
                .to_owned();
            if uri.param("key").is_some() {
                return Err(uri.error("key= (a message key format) is not supported"));
            }
            let mut producer = BTreeMap::new();
            for (key, value) in &uri.params {
                match key.as_str() {
                    "topic" | "blacklist" | "raw" | "identity" => {}
                    "async_mode" | "sync_timeout" => notes.push(format!(
                        "{}: {key} ignored: records are acknowledged by delivery reports",
                        uri.text
                    )),
                    // kafka-python's names are librdkafka's with `_` for `.`.
                    _ => {
                        let property = if *confluent {
                            key.clone()
                        } else {
                            key.replace('_', ".")
                        };
                        producer.insert(property, OptionValue::Text(value.clone()));
                    }
                }
            }
            match outputs {
                None => {
                    *outputs = Some(Outputs::Kafka {
                        brokers: brokers.clone(),
                        options: producer,
                    })
                }
                Some(Outputs::Kafka {
                    brokers: known,
                    options,
                }) => {
                    if known != brokers {
                        return Err(uri.error(format!(
                            "all Kafka outputs must be on one cluster; an earlier one is at \
                             {known} (run one beacon-processor per cluster)"
                        )));
                    }
                    options.extend(producer);
                }
                Some(_) => return Err(mixed()),
            }
            Ok(OutputRoute {
                topic,
                exclude,
                disabled_filter,
            })
        }
        Endpoint::File(path) => {
            let path = absolute(cwd, path);
            let label = file_label(&path, index);
            match outputs {
                None => *outputs = Some(Outputs::Files(BTreeMap::from([(label.clone(), path)]))),
                Some(Outputs::Files(files)) => {
                    if files.values().any(|known| *known == path) {
                        return Err(uri.error("this file is already an output"));
                    }
                    files.insert(label.clone(), path);
                }
                Some(_) => return Err(mixed()),
            }
            Ok(OutputRoute {
                topic: label,
                exclude,
                disabled_filter,
            })
        }
        Endpoint::Stdout => {
            match outputs {
                None => *outputs = Some(Outputs::Stdout),
                // --output-invalid stdout:// beside a stdout:// output: the same stream.
                Some(Outputs::Stdout) if index == usize::MAX => {}
                Some(_) => return Err(mixed()),
            }
            Ok(OutputRoute {
                topic: "eventlogging_{schema}".into(),
                exclude,
                disabled_filter,
            })
        }
        Endpoint::Stdin => Err(uri.error("stdin:// is an input, not an output")),
    }
}

/// The internal topic name of a file output (a legal topic name, unique per output): it labels
/// the file's records in metrics and on the status page.
fn file_label(path: &Path, index: usize) -> String {
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if crate::topic::is_topic_char(c) {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    let name = if name.is_empty() || name == "." || name == ".." {
        "file".to_owned()
    } else {
        name
    };
    if index == usize::MAX {
        format!("invalid.{name}")
    } else {
        format!("output{index}.{name}")
    }
}

fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadedConfig;
    use clap::Parser;

    fn parse(line: &[&str]) -> EventloggingProcessorArgs {
        let mut argv = vec!["beacon-processor", "eventlogging-processor"];
        argv.extend_from_slice(line);
        match Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::EventloggingProcessor(args) => args,
            other => panic!("{other:?}"),
        }
    }

    fn translated(line: &[&str]) -> (ConfigFile, Vec<String>) {
        let mut file = LoadedConfig::defaults().file;
        let notes = translate(&parse(line), &mut file, Path::new("/work")).unwrap();
        (file, notes)
    }

    fn refused(line: &[&str]) -> String {
        let mut file = LoadedConfig::defaults().file;
        translate(&parse(line), &mut file, Path::new("/work"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_production_command_line_translates() {
        let (file, notes) = translated(&[
            "--sid",
            "eventlogging_processor_client_side_00",
            "%q %{recvFrom}s %{seqId}d %D %{ip}i %u",
            "kafka:///k1:9092,k2:9092?topic=eventlogging-client-side",
            "map://kafka:///k1:9092,k2:9092?topic=eventlogging_{schema}&retries=6&retry_backoff_ms=200&function=eventlogging_schemas_disabled_filter",
            "--output-invalid",
            "--disabled-schemas",
            "Edit,Popups",
        ]);
        assert_eq!(file.format, "%q %{recvFrom}s %{seqId}d %D %{ip}i %u");
        let InputConfig::Kafka(input) = &file.input else {
            panic!("{:?}", file.input)
        };
        assert_eq!(input.brokers, "k1:9092,k2:9092");
        assert_eq!(input.topics, vec!["eventlogging-client-side"]);
        assert_eq!(input.group_id, "eventlogging_processor_client_side_00");
        assert_eq!(input.start_from, StartFromConfig::Latest);
        let OutputConfig::Kafka(output) = &file.output else {
            panic!("{:?}", file.output)
        };
        assert_eq!(output.brokers, "k1:9092,k2:9092");
        assert_eq!(
            output.options.get("retry.backoff.ms"),
            Some(&OptionValue::Text("200".into()))
        );
        assert_eq!(
            output.options.get("retries"),
            Some(&OptionValue::Text("6".into()))
        );
        assert_eq!(file.routing.valid_topic, "eventlogging_{schema}");
        assert_eq!(file.routing.error_topic, "eventlogging_EventError");
        assert_eq!(file.routing.disabled_schemas, vec!["Edit", "Popups"]);
        assert!(file.routing.copies.is_empty());
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn further_outputs_become_copies_with_their_own_exclusions() {
        let (file, _) = translated(&[
            "%q %{recvFrom}s %{seqId}d %D %{ip}i %u",
            "kafka:///k:9092?topic=raw",
            "kafka-confluent:///k:9092?topic=eventlogging_{schema}&message.send.max.retries=6",
            "map://kafka:///k:9092?topic=eventlogging-valid-mixed&blacklist=Nav&function=eventlogging_schemas_disabled_filter",
            "--disabled-schemas=Edit",
            "--sid=g",
        ]);
        assert!(file.routing.disabled_schemas.is_empty());
        assert_eq!(
            file.routing.copies,
            vec![CopyRouteConfig {
                topic: "eventlogging-valid-mixed".into(),
                exclude: Some("(?:Nav)|(?:Edit)$".into()),
            }]
        );
        let OutputConfig::Kafka(output) = &file.output else {
            panic!()
        };
        assert!(output.options.contains_key("message.send.max.retries"));
    }

    #[test]
    fn files_and_standard_streams_translate() {
        let (file, notes) = translated(&[
            "%q %{recvFrom}s %{seqId}d %D %{ip}i %u",
            "stdin://",
            "file://out/valid.log",
            "--output-invalid",
            "file:///tmp/invalid.log",
        ]);
        assert_eq!(file.input, InputConfig::Stdin);
        let OutputConfig::Directory { files, .. } = &file.output else {
            panic!("{:?}", file.output)
        };
        assert_eq!(
            files.get("output0.valid.log").map(String::as_str),
            Some("/work/out/valid.log")
        );
        assert_eq!(
            files.get("invalid.invalid.log").map(String::as_str),
            Some("/tmp/invalid.log")
        );
        assert_eq!(file.routing.valid_topic, "output0.valid.log");
        assert_eq!(file.routing.error_topic, "invalid.invalid.log");
        assert!(notes.is_empty(), "{notes:?}");

        let (file, notes) = translated(&["%q", "file:///var/log/raw.log", "stdout://"]);
        let InputConfig::Files(files) = &file.input else {
            panic!()
        };
        assert!(!files.follow);
        assert_eq!(files.include, vec!["/var/log/raw.log"]);
        assert_eq!(file.output, OutputConfig::Stdout);
        assert!(notes
            .iter()
            .any(|n| n.contains("--output-invalid not given")));
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_uri() {
        for (line, says) in [
            (
                vec!["%q", "kafka:///k:1", "stdout://"],
                "needs ?topic=RAW_TOPIC",
            ),
            (
                vec![
                    "%q",
                    "stdin://",
                    "kafka:///k:1?topic=a_{schema}",
                    "kafka:///other:1?topic=b",
                ],
                "one cluster",
            ),
            (
                vec![
                    "%q",
                    "stdin://",
                    "kafka:///k:1?topic=a_{schema}",
                    "stdout://",
                ],
                "one kind",
            ),
            (
                vec![
                    "%q",
                    "stdin://",
                    "map://kafka:///k:1?topic=x&function=mysql_mapper",
                ],
                "mysql_mapper is a plugin",
            ),
            (vec!["%q", "stdin://", "kafka:///k:1"], "needs ?topic=NAME"),
            (
                vec!["%q", "stdin://", "kafka:///k:1?topic={meta[topic]}"],
                "{meta[topic]}",
            ),
            (vec!["%q", "stdout://", "stdout://"], "is an output"),
        ] {
            let error = refused(&line);
            assert!(error.contains(says), "{line:?}: {error}");
        }
    }

    #[test]
    fn argument_files_hold_one_argument_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client-side-00");
        std::fs::write(
            &path,
            "--sid eventlogging_processor_client_side_00\n%q %{recvFrom}s %{seqId}d %D %{ip}i %u\nstdin://\nstdout://\n--output-invalid\n",
        )
        .unwrap();
        let argv: Vec<std::ffi::OsString> = [
            "beacon-processor".to_owned(),
            "eventlogging-processor".to_owned(),
            format!("@{}", path.display()),
        ]
        .into_iter()
        .map(Into::into)
        .collect();
        let expanded = crate::cli::expand_argument_files(argv).unwrap();
        assert_eq!(expanded.len(), 8);
        assert_eq!(expanded[2], "--sid");
        assert_eq!(expanded[3], "eventlogging_processor_client_side_00");
        assert_eq!(expanded[4], "%q %{recvFrom}s %{seqId}d %D %{ip}i %u");
        let Ok(cli) = Cli::try_parse_from(expanded) else {
            panic!("the argument file does not parse")
        };
        let crate::cli::Command::EventloggingProcessor(args) = cli.command else {
            panic!()
        };
        assert_eq!(
            args.sid.as_deref(),
            Some("eventlogging_processor_client_side_00")
        );
        assert_eq!(args.output_invalid.as_deref(), Some(""));
    }
}
