//! Configuration: loading the YAML file, resolving its paths, and reporting problems with the
//! file, the key and what was expected — all of them at once, before anything starts.

pub mod eventlogging_uri;
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
    /// The (1-based) line of the file it is at, when known.
    pub line: Option<usize>,
}

impl ConfigProblem {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            key: key.into(),
            message: message.into(),
            line: None,
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
            let at = match problem.line {
                Some(line) => format!("{}:{line}", self.file),
                None => self.file.clone(),
            };
            if problem.key.is_empty() {
                write!(f, "\n  {at}: {}", problem.message)?;
            } else {
                write!(f, "\n  {at}: key `{}`: {}", problem.key, problem.message)?;
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
    /// The file's text (to find the line of a key in reports).
    pub text: String,
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
            text: String::new(),
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
    pub fn error(&self, mut problems: Vec<ConfigProblem>) -> ConfigError {
        for problem in &mut problems {
            if problem.line.is_none() && !problem.key.is_empty() {
                problem.line = line_of_key(&self.text, &problem.key);
            }
        }
        ConfigError {
            file: self.display_name(),
            problems,
        }
    }
}

/// The configuration of a one-shot command: `path` if given, else the default file when it
/// exists (commands run from the repository), else built-in defaults.
pub fn load_or_defaults(path: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
    match path {
        Some(path) => load(path),
        None if Path::new(DEFAULT_CONFIG_PATH).exists() => load(Path::new(DEFAULT_CONFIG_PATH)),
        None => Ok(LoadedConfig::defaults()),
    }
}

/// Reads and parses a configuration file. An empty file is refused: it is almost always a
/// mistake (a wrong path, a truncated copy), and built-in defaults would run without schemas.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::single(
            &name,
            "",
            format!("cannot read the configuration file: {e}"),
        )
    })?;
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    }) {
        return Err(ConfigError::single(
            &name,
            "",
            "the configuration file is empty: expected a YAML mapping with at least `input` and \
             `output` (config/beacon-processor.yaml documents every key)",
        ));
    }
    let text =
        interpolate(&text, |name| std::env::var(name).ok()).map_err(|problems| ConfigError {
            file: name.clone(),
            problems,
        })?;
    parse(&text, path)
}

/// Replaces `${NAME}` by the environment variable `NAME` and `${NAME:-default}` by it or the
/// default when it is unset or empty; `$${` writes a literal `${`. An unset variable without a
/// default is a problem at its line.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<ConfigProblem>> {
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("${") {
            if rest[..at].ends_with('$') {
                // `$${`: a literal `${`.
                out.push_str(&rest[..at - 1]);
                out.push_str("${");
                rest = &rest[at + 2..];
                continue;
            }
            out.push_str(&rest[..at]);
            let Some(end) = rest[at..].find('}') else {
                problems.push(ConfigProblem {
                    key: String::new(),
                    message: "`${` without its closing `}` (write `$${` for a literal `${`)".into(),
                    line: Some(index + 1),
                });
                out.push_str(&rest[at..]);
                rest = "";
                break;
            };
            let inner = &rest[at + 2..at + end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            match (valid, lookup(name).filter(|v| !v.is_empty()), default) {
                (true, Some(value), _) => out.push_str(&value),
                (true, None, Some(default)) => out.push_str(default),
                (true, None, None) => problems.push(ConfigProblem {
                    key: String::new(),
                    message: format!(
                        "the environment variable {name} is not set (use ${{{name}:-default}} \
                         for a default)"
                    ),
                    line: Some(index + 1),
                }),
                (false, _, _) => problems.push(ConfigProblem {
                    key: String::new(),
                    message: format!("`${{{inner}}}`: expected an environment variable name (letters, digits, _)"),
                    line: Some(index + 1),
                }),
            }
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Parses configuration text as if read from `path`. Every top-level section is checked on its
/// own, so that one run reports a problem in each section that has one, at its key and line.
pub fn parse(text: &str, path: &Path) -> Result<LoadedConfig, ConfigError> {
    let name = path.display().to_string();
    let file: ConfigFile = if text.trim().is_empty() {
        LoadedConfig::defaults().file
    } else {
        match serde_saphyr::from_str(text) {
            Ok(file) => file,
            Err(first) => {
                let mut problems: Vec<ConfigProblem> = section_problems(text);
                if problems.is_empty() {
                    problems.push(parse_problem(text, &first));
                }
                return Err(ConfigError {
                    file: name,
                    problems,
                });
            }
        }
    };
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok(LoadedConfig {
        path: Some(path.to_path_buf()),
        base_dir,
        file,
        text: text.to_owned(),
    })
}

/// The problems of each top-level section parsed alone (the other sections' lines blanked, so
/// line numbers stay those of the file), in file order.
fn section_problems(text: &str) -> Vec<ConfigProblem> {
    let lines: Vec<&str> = text.lines().collect();
    // Start line index of each top-level entry.
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            !l.starts_with(' ') && !l.starts_with('\t') && !l.starts_with('#') && l.contains(':')
        })
        .map(|(i, _)| i)
        .collect();
    let mut problems = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        problems.extend(problems_of_section(&lines, start..end, text));
    }
    problems
}

/// Most problems reported for one section.
const MAX_PROBLEMS_PER_SECTION: usize = 16;

/// The problems of the section on `section`'s lines: parsed alone, then again without each
/// offending key's line (and the block under it), until it parses or nothing more can be told
/// apart. A "missing field" that only the removal of a line caused is not reported.
fn problems_of_section(
    lines: &[&str],
    section: std::ops::Range<usize>,
    text: &str,
) -> Vec<ConfigProblem> {
    let mut problems: Vec<ConfigProblem> = Vec::new();
    let mut removed: Vec<std::ops::Range<usize>> = Vec::new();
    let mut removed_keys: Vec<String> = Vec::new();
    let indent = |l: &str| l.len() - l.trim_start().len();
    while problems.len() < MAX_PROBLEMS_PER_SECTION {
        let masked: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let kept = section.contains(&i) && !removed.iter().any(|r| r.contains(&i));
                if kept {
                    *l
                } else {
                    ""
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let Err(e) = serde_saphyr::from_str::<ConfigFile>(&masked) else {
            break;
        };
        let problem = parse_problem(text, &e);
        if !problems.is_empty()
            && removed_keys
                .iter()
                .any(|key| problem.message.contains(&format!("missing field `{key}`")))
        {
            break;
        }
        let Some(index) = problem.line.and_then(|line| line.checked_sub(1)) else {
            problems.push(problem);
            break;
        };
        let repeated = problems.iter().any(|known| known.line == problem.line);
        // After a removal, a complaint about the line above a removed block is about the
        // block having been emptied by the removal, not about the file.
        let emptied = !problems.is_empty()
            && (index == section.start
                || removed.iter().any(|r| {
                    let parent = index < r.start
                        && lines.get(index).map(|l| indent(l))
                            < lines.get(r.start).map(|l| indent(l));
                    parent
                        && (index + 1..r.start)
                            .all(|i| lines.get(i).is_none_or(|l| l.trim().is_empty()))
                }));
        if repeated || emptied || index < section.start || !section.contains(&index) {
            if !repeated && !emptied {
                problems.push(problem);
            }
            break;
        }
        if index == section.start {
            problems.push(problem);
            break;
        }
        // The offending line and the lines nested under it.
        let own = lines.get(index).map_or(0, |l| indent(l));
        let block_end = (index + 1..section.end)
            .find(|&i| {
                lines
                    .get(i)
                    .is_some_and(|l| !l.trim().is_empty() && indent(l) <= own)
            })
            .unwrap_or(section.end);
        if let Some((key, _)) = lines.get(index).and_then(|l| l.split_once(':')) {
            removed_keys.push(key.trim().trim_start_matches("- ").to_owned());
        }
        removed.push(index..block_end);
        problems.push(problem);
    }
    problems
}

fn parse_problem(text: &str, error: &serde_saphyr::Error) -> ConfigProblem {
    let rendered = error.to_string();
    // The first line says what and where; the rest is a source snippet.
    let first = rendered.lines().next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    let line = error
        .location()
        .and_then(|l| usize::try_from(l.line()).ok())
        .filter(|&line| line > 0);
    // Inside an internally tagged section (`input: {type: ...}`) the parser reports the
    // section's first line: find the line holding the offending value instead.
    let line = line.map(|line| line_of_value(text, line, &message).unwrap_or(line));
    let key = line.map(|line| key_path_at(text, line)).unwrap_or_default();
    ConfigProblem {
        key,
        message: with_suggestion(message),
        line,
    }
}

/// The line, in the block starting at (1-based) `line`, whose value is the one `message`
/// quotes (`invalid value: integer `-5``, `invalid type: string "x"`).
fn line_of_value(text: &str, line: usize, message: &str) -> Option<usize> {
    if let Some(rest) = message.split("unknown field `").nth(1) {
        let key = rest.split('`').next()?;
        return line_of_key_in_block(text, line, key);
    }
    let quoted = message
        .split_once("invalid value: ")
        .or_else(|| message.split_once("invalid type: "))?
        .1;
    let value = match quoted.split_once('`') {
        Some((_, rest)) => rest.split('`').next()?,
        None => quoted.split('"').nth(1)?,
    };
    let lines: Vec<&str> = text.lines().collect();
    let start = line.checked_sub(1)?;
    for (offset, raw) in lines.iter().enumerate().skip(start + 1) {
        if !raw.starts_with(' ') && !raw.trim().is_empty() && !raw.starts_with('#') {
            break;
        }
        let written = raw
            .split_once(':')
            .map(|(_, v)| v.trim().trim_matches('"').trim_matches('\''));
        if written == Some(value) {
            return Some(offset + 1);
        }
    }
    None
}

/// The line, in the block starting at (1-based) `line`, that writes `key`.
fn line_of_key_in_block(text: &str, line: usize, key: &str) -> Option<usize> {
    let start = line.checked_sub(1)?;
    for (offset, raw) in text.lines().enumerate().skip(start + 1) {
        if !raw.starts_with(' ') && !raw.trim().is_empty() && !raw.starts_with('#') {
            break;
        }
        let written = raw.trim_start().trim_start_matches("- ");
        if written
            .strip_prefix(key)
            .is_some_and(|after| after.trim_start().starts_with(':'))
        {
            return Some(offset + 1);
        }
    }
    None
}

/// Adds "did you mean `x`?" to serde's `unknown field `y`, expected one of ...` messages.
fn with_suggestion(message: String) -> String {
    let Some(rest) = message.split("unknown field `").nth(1) else {
        return message;
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message;
    };
    let list = expected
        .split_once("expected one of ")
        .map_or(expected, |(_, list)| list);
    let candidates: Vec<&str> = list
        .split(',')
        .map(|c| c.trim().trim_matches('`'))
        .filter(|c| !c.is_empty())
        .collect();
    let nearest = candidates
        .iter()
        .map(|c| (edit_distance(unknown, c), *c))
        .min()
        .filter(|(d, c)| *d <= 2.max(c.len() / 3));
    match nearest {
        Some((_, c)) => format!("{message} (did you mean `{c}`?)"),
        None => message,
    }
}

/// Levenshtein distance (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let value = (previous + cost).min(above + 1).min(left + 1);
            previous = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// The (1-based) line of the entry at dotted `key` (`input.include[2]` looks for `include`
/// inside `input`), when it is written in block style.
pub fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let parts: Vec<&str> = key
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .filter(|p| !p.is_empty())
        .collect();
    let mut depth = 0;
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    for (index, raw) in text.lines().enumerate() {
        let Some(part) = parts.get(depth) else {
            break;
        };
        let content = raw.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = raw.len() - content.len();
        if parent_indent.is_some_and(|p| indent <= p) {
            // Left the parent's block without finding the key.
            return found;
        }
        let entry = content
            .split_once(':')
            .map(|(k, _)| k.trim().trim_matches('"'));
        if entry == Some(*part) {
            found = Some(index + 1);
            depth += 1;
            parent_indent = Some(indent);
        }
    }
    found
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
    fn every_section_with_a_problem_is_reported_at_its_key_and_line() {
        let text = "pipeline:\n  workers: many\ninput:\n  type: files\n  include: [\"a\"]\n  poll_interval_ms: -5\nlimits:\n  max_line_bytes: lots\n";
        let err = parse(text, Path::new("x.yaml")).unwrap_err();
        let found: Vec<(&str, Option<usize>)> = err
            .problems
            .iter()
            .map(|p| (p.key.as_str(), p.line))
            .collect();
        assert_eq!(
            found,
            [
                ("pipeline.workers", Some(2)),
                ("input.poll_interval_ms", Some(6)),
                ("limits.max_line_bytes", Some(8)),
            ],
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("x.yaml:6: key `input.poll_interval_ms`"),
            "{err}"
        );
    }

    #[test]
    fn every_problem_inside_one_section_is_reported() {
        // Three wrong types and a misspelt key in one section, and a required key whose
        // removal must not be reported as missing.
        let text = "input:\n  type: files\n  include: 5\n  poll_interval_ms: -5\n  rescan_interval_ms: often\n  folow: true\npipeline:\n  workers: many\n  batch_lines: lots\n";
        let err = parse(text, Path::new("x.yaml")).unwrap_err();
        let found: Vec<(&str, Option<usize>)> = err
            .problems
            .iter()
            .map(|p| (p.key.as_str(), p.line))
            .collect();
        assert_eq!(
            found,
            [
                ("input.include", Some(3)),
                ("input.poll_interval_ms", Some(4)),
                ("input.rescan_interval_ms", Some(5)),
                ("input.folow", Some(6)),
                ("pipeline.workers", Some(8)),
                ("pipeline.batch_lines", Some(9)),
            ],
            "{err}"
        );
        assert!(err.to_string().contains("did you mean `follow`?"), "{err}");
        assert!(!err.to_string().contains("missing field"), "{err}");
    }

    #[test]
    fn a_misspelt_key_gets_the_nearest_valid_one() {
        let err = parse("pipeline:\n  wrokers: 2\n", Path::new("x.yaml")).unwrap_err();
        assert!(err.to_string().contains("did you mean `workers`?"), "{err}");
        let err = parse("pipeline:\n  zzzzzzzz: 2\n", Path::new("x.yaml")).unwrap_err();
        assert!(!err.to_string().contains("did you mean"), "{err}");
    }

    #[test]
    fn lines_of_keys() {
        let text =
            "input:\n  type: files\n  include:\n    - a\noutput:\n  type: kafka\n  brokers: x\n";
        assert_eq!(line_of_key(text, "input.include[0]"), Some(3));
        assert_eq!(line_of_key(text, "output.brokers"), Some(7));
        assert_eq!(line_of_key(text, "output"), Some(5));
        // Not written: its parent's line.
        assert_eq!(line_of_key(text, "input.brokers"), Some(1));
        assert_eq!(line_of_key(text, "logging"), None);
    }

    #[test]
    fn environment_variables_are_interpolated() {
        let env = |name: &str| match name {
            "BROKERS" => Some("kafka1:9092".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            interpolate(
                "brokers: ${BROKERS}\ngroup: ${GROUP:-processors}\nx: ${EMPTY:-d} $${LITERAL}\n",
                env
            )
            .unwrap(),
            "brokers: kafka1:9092\ngroup: processors\nx: d ${LITERAL}\n"
        );
        let problems = interpolate("a: 1\nb: ${MISSING}\nc: ${bad-name}\n", env).unwrap_err();
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].line, Some(2));
        assert!(problems[0].message.contains("MISSING is not set"));
        assert_eq!(problems[1].line, Some(3));
    }

    #[test]
    fn an_empty_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.yaml");
        std::fs::write(&path, "# nothing\n\n").unwrap();
        let err = load(&path).unwrap_err();
        assert!(
            err.to_string().contains("the configuration file is empty"),
            "{err}"
        );
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
