//! A local directory of legacy (draft-3) event schemas, loaded eagerly at start-up.
//!
//! Layout (reference §4.1): `<dir>/<Name...>/<revision>.(json|yaml|yml)`. The schema name is
//! the directory path below `<dir>` and may contain `/` (nested directories); the revision is
//! the decimal file stem. Every file is read, parsed (JSON with serde_json, YAML with
//! serde-saphyr) and checked structurally as a draft-3 schema when the source is loaded; every
//! file or directory that does not fit is reported, with what is wrong, in one
//! [`LegacyDirLoadError`]. Entries whose name starts with `.` are skipped.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use beacon_parsers::scid::is_valid_schema_name;
use serde_json::Value;

use super::document::{parse_schema_document, DocumentSyntax};
use super::error::{LegacyDirLoadError, LegacyDirProblem, SchemaSourceError};
use super::source::LegacySchemaSource;
use crate::validation::draft3_to_draft4;

/// Deepest directory nesting below the root that is scanned (a schema name has at most 63
/// characters, so real layouts are far shallower; this also stops symlink loops).
pub const MAX_DIRECTORY_DEPTH: usize = 32;

/// One loaded schema document and the file it came from.
#[derive(Debug, Clone)]
struct LoadedSchema {
    document: Value,
    file: PathBuf,
}

/// Legacy schemas loaded from a local directory.
#[derive(Debug, Clone)]
pub struct LegacyDirSource {
    directory: PathBuf,
    schemas: HashMap<String, HashMap<i64, LoadedSchema>>,
}

impl LegacyDirSource {
    /// Scans and loads every schema file below `directory`. Fails, listing every problem, if
    /// the directory cannot be read, or any file does not fit the layout, cannot be read or
    /// parsed, is not a draft-3 schema object, or defines the same SCID as another file.
    pub fn load(directory: impl Into<PathBuf>) -> Result<Self, LegacyDirLoadError> {
        let directory = directory.into();
        let mut scan = Scan::default();
        match fs::metadata(&directory) {
            Ok(metadata) if metadata.is_dir() => scan.directory(&directory, &mut Vec::new()),
            Ok(_) => scan.problem(&directory, "not a directory"),
            Err(error) => scan.problem(&directory, format!("cannot read: {error}")),
        }
        if !scan.problems.is_empty() {
            return Err(LegacyDirLoadError {
                directory,
                problems: scan.problems,
            });
        }
        let source = Self {
            directory,
            schemas: scan.schemas,
        };
        if source.is_empty() {
            tracing::warn!(directory = %source.directory.display(), "legacy schema directory holds no schemas");
        } else {
            tracing::info!(directory = %source.directory.display(), schemas = source.len(), "loaded legacy schemas");
        }
        Ok(source)
    }

    /// The directory the schemas were loaded from.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Number of schemas (SCIDs) loaded.
    pub fn len(&self) -> usize {
        self.schemas.values().map(HashMap::len).sum()
    }

    /// Whether no schema was found.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every loaded schema as (name, revision, document), sorted by name then revision.
    pub fn schemas(&self) -> impl Iterator<Item = (&str, i64, &Value)> + '_ {
        let mut all: Vec<(&str, i64, &Value)> = self
            .schemas
            .iter()
            .flat_map(|(name, revisions)| {
                revisions
                    .iter()
                    .map(move |(revision, loaded)| (name.as_str(), *revision, &loaded.document))
            })
            .collect();
        all.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        all.into_iter()
    }

    /// The file the schema of `name` at `revision` was loaded from.
    pub fn file_of(&self, name: &str, revision: i64) -> Option<&Path> {
        self.schemas
            .get(name)
            .and_then(|revisions| revisions.get(&revision))
            .map(|loaded| loaded.file.as_path())
    }
}

impl LegacySchemaSource for LegacyDirSource {
    fn describe(&self) -> String {
        format!("legacy schema directory {}", self.directory.display())
    }

    fn lookup(&self, name: &str, revision: i64) -> Result<Option<Value>, SchemaSourceError> {
        Ok(self
            .schemas
            .get(name)
            .and_then(|revisions| revisions.get(&revision))
            .map(|loaded| loaded.document.clone()))
    }

    fn known_scids(&self) -> Vec<(String, i64)> {
        self.schemas()
            .map(|(name, revision, _)| (name.to_owned(), revision))
            .collect()
    }
}

/// Syntax of a schema file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileSyntax {
    Json,
    Yaml,
}

/// State of one directory scan.
#[derive(Default)]
struct Scan {
    schemas: HashMap<String, HashMap<i64, LoadedSchema>>,
    problems: Vec<LegacyDirProblem>,
}

impl Scan {
    fn problem(&mut self, path: &Path, problem: impl Into<String>) {
        self.problems.push(LegacyDirProblem {
            path: path.to_path_buf(),
            problem: problem.into(),
        });
    }

    /// Scans `dir`, whose path below the root is `name_parts`.
    fn directory(&mut self, dir: &Path, name_parts: &mut Vec<String>) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => return self.problem(dir, format!("cannot read directory: {error}")),
        };
        let mut entries: Vec<_> = match entries.collect::<Result<_, _>>() {
            Ok(entries) => entries,
            Err(error) => return self.problem(dir, format!("cannot read directory: {error}")),
        };
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
                self.problem(&path, "file name is not valid UTF-8");
                continue;
            };
            if file_name.starts_with('.') {
                tracing::debug!(path = %path.display(), "skipping hidden entry in legacy schema directory");
                continue;
            }
            // `fs::metadata` follows symlinks; loops end at MAX_DIRECTORY_DEPTH.
            let metadata = match fs::metadata(&path) {
                Ok(metadata) => metadata,
                Err(error) => {
                    self.problem(&path, format!("cannot read: {error}"));
                    continue;
                }
            };
            if metadata.is_dir() {
                if name_parts.len() >= MAX_DIRECTORY_DEPTH {
                    self.problem(
                        &path,
                        format!("directories nested more than {MAX_DIRECTORY_DEPTH} levels deep"),
                    );
                    continue;
                }
                name_parts.push(file_name);
                self.directory(&path, name_parts);
                name_parts.pop();
            } else if metadata.is_file() {
                match load_file(&path, name_parts, &file_name) {
                    Ok((name, revision, document)) => self.add(path, name, revision, document),
                    Err(problem) => self.problem(&path, problem),
                }
            } else {
                self.problem(&path, "neither a regular file nor a directory");
            }
        }
    }

    fn add(&mut self, file: PathBuf, name: String, revision: i64, document: Value) {
        let revisions = self.schemas.entry(name).or_default();
        if let Some(existing) = revisions.get(&revision) {
            let problem = format!(
                "defines the same schema revision as {}",
                existing.file.display()
            );
            return self.problem(&file, problem);
        }
        revisions.insert(revision, LoadedSchema { document, file });
    }
}

/// The SCID a file's place in the layout gives, then its parsed and checked document.
fn load_file(
    path: &Path,
    name_parts: &[String],
    file_name: &str,
) -> Result<(String, i64, Value), String> {
    let (revision, syntax) = parse_file_name(file_name)?;
    if name_parts.is_empty() {
        return Err("not inside a schema directory: expected <Name>/<revision>.json".to_owned());
    }
    let name = name_parts.join("/");
    if !is_valid_schema_name(&name) {
        return Err(format!(
            "schema name {name:?} (the directory path) does not match ^[./a-zA-Z0-9_-]{{1,63}}$"
        ));
    }
    let bytes = fs::read(path).map_err(|error| format!("cannot read file: {error}"))?;
    let document = parse_schema_document(
        bytes,
        match syntax {
            FileSyntax::Json => DocumentSyntax::Json,
            FileSyntax::Yaml => DocumentSyntax::Yaml,
        },
    )?;
    draft3_to_draft4(&document).map_err(|error| error.to_string())?;
    Ok((name, revision, document))
}

/// Revision and syntax from `<revision>.(json|yaml|yml)`.
fn parse_file_name(file_name: &str) -> Result<(i64, FileSyntax), String> {
    const EXPECTED: &str = "expected <revision>.json, <revision>.yaml or <revision>.yml";
    let Some((stem, extension)) = file_name.rsplit_once('.') else {
        return Err(format!("not a schema file: {EXPECTED}"));
    };
    let syntax = match extension {
        "json" => FileSyntax::Json,
        "yaml" | "yml" => FileSyntax::Yaml,
        _ => return Err(format!("not a schema file: {EXPECTED}")),
    };
    if stem.is_empty() || !stem.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!(
            "not a schema file: the file name must be a decimal revision number ({EXPECTED})"
        ));
    }
    match stem.parse::<i64>() {
        Ok(0) => Err("revision 0 is not a valid revision (revisions start at 1)".to_owned()),
        Ok(revision) => Ok((revision, syntax)),
        Err(_) => Err(format!("revision {stem} is too large")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(root: &Path, relative: &str, contents: &str) {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create test dirs");
        }
        fs::write(path, contents).expect("write test file");
    }

    fn problems_of(root: &Path) -> Vec<(String, String)> {
        let error = LegacyDirSource::load(root).expect_err("load should fail");
        assert_eq!(error.directory, root);
        error
            .problems
            .into_iter()
            .map(|p| {
                let relative = p
                    .path
                    .strip_prefix(root)
                    .map(|r| r.display().to_string())
                    .unwrap_or_else(|_| p.path.display().to_string());
                (relative, p.problem)
            })
            .collect()
    }

    #[test]
    fn loads_json_yaml_and_nested_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(
            root,
            "Echo/7731316.json",
            r#"{"properties": {"a": {"type": "string", "required": true}}}"#,
        );
        write(
            root,
            "Echo/7731317.yaml",
            "properties:\n  a:\n    type: integer\n",
        );
        write(
            root,
            "analytics/legacy/test/5.yml",
            "description: nested name\nproperties: {}\n",
        );
        write(root, ".git/config", "not a schema");
        write(root, "Echo/.7731316.json.swp", "editor junk");

        let source = LegacyDirSource::load(root).expect("loads");
        assert_eq!(source.len(), 3);
        assert!(!source.is_empty());
        assert_eq!(source.directory(), root);
        assert_eq!(
            source.known_scids(),
            vec![
                ("Echo".to_owned(), 7731316),
                ("Echo".to_owned(), 7731317),
                ("analytics/legacy/test".to_owned(), 5)
            ]
        );
        assert_eq!(
            source.lookup("Echo", 7731316),
            Ok(Some(
                json!({"properties": {"a": {"type": "string", "required": true}}})
            ))
        );
        assert_eq!(
            source.lookup("Echo", 7731317),
            Ok(Some(json!({"properties": {"a": {"type": "integer"}}})))
        );
        assert_eq!(
            source.lookup("analytics/legacy/test", 5),
            Ok(Some(
                json!({"description": "nested name", "properties": {}})
            ))
        );
        let listed: Vec<(&str, i64)> = source.schemas().map(|(n, r, _)| (n, r)).collect();
        assert_eq!(
            listed,
            [
                ("Echo", 7731316),
                ("Echo", 7731317),
                ("analytics/legacy/test", 5)
            ]
        );
        assert_eq!(source.lookup("Echo", 1), Ok(None));
        assert_eq!(source.lookup("Nope", 7731316), Ok(None));
        assert_eq!(
            source.file_of("Echo", 7731317),
            Some(root.join("Echo/7731317.yaml").as_path())
        );
        assert_eq!(
            source.describe(),
            format!("legacy schema directory {}", root.display())
        );
    }

    #[test]
    fn empty_directory_is_fine() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = LegacyDirSource::load(dir.path()).expect("loads");
        assert!(source.is_empty());
        assert!(source.known_scids().is_empty());
    }

    #[test]
    fn missing_directory_or_plain_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let error = LegacyDirSource::load(&missing).expect_err("missing");
        assert_eq!(error.problems.len(), 1);
        assert!(
            error.problems[0].problem.starts_with("cannot read: "),
            "{error}"
        );

        write(dir.path(), "file", "x");
        let error = LegacyDirSource::load(dir.path().join("file")).expect_err("a file");
        assert_eq!(error.problems[0].problem, "not a directory");
    }

    #[test]
    fn files_outside_the_layout_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "README.md", "docs");
        write(root, "12.json", "{}");
        write(root, "Echo/latest.json", "{}");
        write(root, "Echo/12", "{}");
        write(root, "Echo/12.txt", "{}");
        write(root, "Echo/0.json", "{}");
        write(root, "Echo/99999999999999999999.json", "{}");
        write(root, "Bad Name/1.json", "{}");
        let problems = problems_of(root);
        let expected: Vec<(&str, &str)> = vec![
            ("12.json", "not inside a schema directory"),
            ("Bad Name/1.json", "schema name \"Bad Name\""),
            ("Echo/0.json", "revision 0 is not a valid revision"),
            ("Echo/12", "not a schema file"),
            ("Echo/12.txt", "not a schema file"),
            (
                "Echo/99999999999999999999.json",
                "revision 99999999999999999999 is too large",
            ),
            (
                "Echo/latest.json",
                "not a schema file: the file name must be a decimal revision",
            ),
            ("README.md", "not a schema file"),
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for ((path, problem), (expected_path, expected_start)) in problems.iter().zip(expected) {
            assert_eq!(path, expected_path);
            assert!(problem.starts_with(expected_start), "{path}: {problem}");
        }
    }

    #[test]
    fn unparsable_and_non_schema_files_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "A/1.json", "{\"properties\": ");
        write(root, "A/2.yaml", "properties: [unclosed\n");
        write(root, "A/3.json", "[1, 2]");
        write(root, "A/4.yaml", "");
        write(
            root,
            "A/5.json",
            r#"{"properties": {"x": {"type": "float"}}}"#,
        );
        write(
            root,
            "A/6.json",
            r#"{"properties": {"x": {"required": "yes"}}}"#,
        );
        write(root, "A/7.yaml", "a: 1\na: 2\n");
        fs::write(root.join("A/8.json"), [0xff_u8, 0xfe]).expect("write");
        write(root, "B/1.json", r#"{"properties": {}}"#);
        let problems = problems_of(root);
        let paths: Vec<&str> = problems.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "A/1.json", "A/2.yaml", "A/3.json", "A/4.yaml", "A/5.json", "A/6.json", "A/7.yaml",
                "A/8.json"
            ]
        );
        let texts: Vec<&str> = problems
            .iter()
            .map(|(_, problem)| problem.as_str())
            .collect();
        assert!(texts[0].starts_with("invalid JSON: "), "{}", texts[0]);
        assert!(texts[1].starts_with("invalid YAML: "), "{}", texts[1]);
        assert_eq!(
            texts[2],
            "a schema must be an object (a YAML mapping), found an array"
        );
        assert!(
            texts[3].starts_with("a schema must be an object"),
            "{}",
            texts[3]
        );
        assert_eq!(
            texts[4],
            "invalid draft-3 schema at #/properties/x/type: unknown type name \"float\""
        );
        assert_eq!(
            texts[5],
            "invalid draft-3 schema at #/properties/x/required: \
             `required` must be a boolean, found a string"
        );
        assert!(texts[6].contains("duplicate"), "{}", texts[6]);
        assert_eq!(texts[7], "file is not valid UTF-8");
    }

    #[test]
    fn duplicate_scid_from_json_and_yaml_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "Dup/10.json", "{}");
        write(root, "Dup/10.yaml", "{}");
        write(root, "Dup/10.yml", "{}");
        let error = LegacyDirSource::load(root).expect_err("duplicates");
        assert_eq!(error.problems.len(), 2, "{error}");
        assert_eq!(error.problems[0].path, root.join("Dup/10.yaml"));
        assert_eq!(
            error.problems[0].problem,
            format!(
                "defines the same schema revision as {}",
                root.join("Dup/10.json").display()
            )
        );
        assert_eq!(error.problems[1].path, root.join("Dup/10.yml"));
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "legacy schema directory {} could not be loaded (2 problems)\n  ",
                root.display()
            )),
            "{text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_stop_at_the_depth_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "A/1.json", "{}");
        std::os::unix::fs::symlink(root.join("A"), root.join("A/loop")).expect("symlink");
        let error = LegacyDirSource::load(root).expect_err("loop");
        assert!(
            error
                .problems
                .iter()
                .any(|p| p.problem.contains("nested more than")),
            "{error}"
        );
    }
}
