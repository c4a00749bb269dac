//! Configuration: loading the YAML file, resolving its paths, and reporting problems with the
//! file, the key and what was expected — all of them at once, before anything starts.

mod kafka_model;
mod model;

use std::fmt;
use std::path::{Path, PathBuf};

pub use kafka_model::*;
pub use model::*;

/// The configuration file used when none is named: `config/beacon-processor.yaml` under the
/// current directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/beacon-processor.yaml";

/// One thing wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key path, e.g. `input.include`, or empty for the whole file.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ConfigProblem {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A configuration that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<built-in defaults>`).
    pub file: String,
    /// The problems, in file order where known.
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// An error with one problem.
    pub fn single(
        file: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            file: file.into(),
            problems: vec![ConfigProblem::new(key, message)],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        let plural = if count == 1 { "" } else { "s" };
        write!(f, "{}: {count} configuration problem{plural}", self.file)?;
        for problem in &self.problems {
            if problem.key.is_empty() {
                write!(f, "\n  {}: {}", self.file, problem.message)?;
            } else {
                write!(
                    f,
                    "\n  {}: key `{}`: {}",
                    self.file, problem.key, problem.message
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A parsed configuration and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    /// The file, or `None` for built-in defaults.
    pub path: Option<PathBuf>,
    /// Directory that relative paths in the file are resolved against.
    pub base_dir: PathBuf,
    /// The parsed content.
    pub file: ConfigFile,
}

impl LoadedConfig {
    /// Built-in defaults (stdin to stdout, production format, no schemas), paths relative to the
    /// current directory.
    pub fn defaults() -> Self {
        LoadedConfig {
            path: None,
            base_dir: PathBuf::from("."),
            file: ConfigFile {
                format: DEFAULT_FORMAT.to_owned(),
                input: InputConfig::default(),
                output: OutputConfig::default(),
                delivery: DeliveryConfig::default(),
                limits: LimitsConfig::default(),
                schemas: SchemasConfig::default(),
                routing: RoutingConfig::default(),
                streams: StreamsConfig::default(),
                legacy: LegacyConfig::default(),
                reload: ReloadConfig::default(),
                user_agent: UserAgentConfig::default(),
                pipeline: PipelineConfig::default(),
                http: HttpConfig::default(),
                logging: LoggingConfig::default(),
            },
        }
    }

    /// How to name this configuration in messages.
    pub fn display_name(&self) -> String {
        self.path.as_ref().map_or_else(
            || "<built-in defaults>".to_owned(),
            |p| p.display().to_string(),
        )
    }

    /// A path from the file, resolved against the file's directory.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// A glob pattern from the file, resolved against the file's directory.
    pub fn resolve_pattern(&self, pattern: &str) -> String {
        if Path::new(pattern).is_absolute() {
            pattern.to_owned()
        } else {
            let base = self.base_dir.display().to_string();
            let escaped = glob::Pattern::escape(&base);
            if escaped.is_empty() || escaped == "." {
                pattern.to_owned()
            } else {
                format!("{escaped}/{pattern}")
            }
        }
    }

    /// An error about this configuration.
    pub fn error(&self, problems: Vec<ConfigProblem>) -> ConfigError {
        ConfigError {
            file: self.display_name(),
            problems,
        }
    }
}

/// Reads and parses a configuration file.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::single(
            &name,
            "",
            format!("cannot read the configuration file: {e}"),
        )
    })?;
    parse(&text, path)
}

/// Parses configuration text as if read from `path`.
pub fn parse(text: &str, path: &Path) -> Result<LoadedConfig, ConfigError> {
    let name = path.display().to_string();
    let file: ConfigFile = if text.trim().is_empty() {
        LoadedConfig::defaults().file
    } else {
        serde_saphyr::from_str(text).map_err(|e| parse_error(&name, text, &e))?
    };
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok(LoadedConfig {
        path: Some(path.to_path_buf()),
        base_dir,
        file,
    })
}

fn parse_error(file: &str, text: &str, error: &serde_saphyr::Error) -> ConfigError {
    let rendered = error.to_string();
    // The first line says what and where; the rest is a source snippet.
    let first = rendered.lines().next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    let key = error
        .location()
        .and_then(|l| usize::try_from(l.line()).ok())
        .map(|line| key_path_at(text, line))
        .unwrap_or_default();
    ConfigError::single(file, key, message)
}

/// The dotted key path of the YAML mapping entry on (1-based) `line`, found from indentation:
/// `pipeline:\n  workers: many` at line 2 gives `pipeline.workers`.
pub fn key_path_at(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(mut index) = line.checked_sub(1).filter(|&i| i < lines.len()) else {
        return String::new();
    };
    let mut path = Vec::new();
    let mut limit = usize::MAX;
    loop {
        if let Some(raw) = lines.get(index) {
            let content = raw.trim_start();
            let indent = raw.len() - content.len();
            let content = content.trim_start_matches("- ");
            let is_entry = !content.starts_with('#') && content.contains(':');
            if is_entry && indent < limit {
                if let Some((key, _)) = content.split_once(':') {
                    path.push(key.trim().trim_matches('"').to_owned());
                }
                limit = indent;
            }
        }
        if index == 0 || limit == 0 {
            break;
        }
        index -= 1;
    }
    path.reverse();
    path.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_from_indentation() {
        let text = "format: x\npipeline:\n  # comment: here\n  workers: many\ninput:\n  type: files\n  include:\n    - a\n";
        assert_eq!(key_path_at(text, 1), "format");
        assert_eq!(key_path_at(text, 4), "pipeline.workers");
        assert_eq!(key_path_at(text, 6), "input.type");
        assert_eq!(key_path_at(text, 8), "input.include");
        assert_eq!(key_path_at(text, 99), "");
    }

    #[test]
    fn parse_errors_name_the_key() {
        let err = parse("pipeline:\n  workers: many\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(err.file, "x.yaml");
        assert_eq!(err.problems[0].key, "pipeline.workers");
        let err = parse("input:\n  type: file\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(err.problems[0].key, "input.type");
        assert!(
            err.problems[0].message.contains("unknown variant `file`"),
            "{err}"
        );
        let err = parse("inptu: 1\n", Path::new("x.yaml")).unwrap_err();
        assert!(
            err.problems[0].message.contains("unknown field `inptu`"),
            "{err}"
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let loaded = parse("format: \"%q\"\n", Path::new("conf/dir/x.yaml")).unwrap();
        assert_eq!(loaded.resolve("schemas"), PathBuf::from("conf/dir/schemas"));
        assert_eq!(loaded.resolve("/abs"), PathBuf::from("/abs"));
        assert_eq!(
            loaded.resolve_pattern("../logs/*.log"),
            "conf/dir/../logs/*.log"
        );
    }
}
