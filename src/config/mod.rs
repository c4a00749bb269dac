//! Configuration: loading the YAML file, resolving its paths, and reporting problems with the
//! file, the key and what was expected — all of them at once, before anything starts.

mod model;

use std::fmt;
use std::path::{Path, PathBuf};

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
                limits: LimitsConfig::default(),
                schemas: SchemasConfig::default(),
                routing: RoutingConfig::default(),
                user_agent: UserAgentConfig::default(),
                pipeline: PipelineConfig::default(),
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
        serde_saphyr::from_str(text).map_err(|e| parse_error(&name, &e))?
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

fn parse_error(file: &str, error: &serde_saphyr::Error) -> ConfigError {
    let location = error
        .location()
        .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
        .unwrap_or_default();
    ConfigError::single(file, "", format!("{error}{location}"))
}
