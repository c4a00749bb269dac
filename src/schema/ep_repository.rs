//! A local Event Platform schema repository (a checkout of a WMF-style schema repository),
//! read lazily.
//!
//! Layout: `<repo>/jsonschema/<title>/<version>.yaml` or `.json`, plus `latest` and
//! extensionless `<version>` entries (symlinks or files) and `latest.yaml`/`latest.json`. A
//! schema path `/analytics/legacy/test/1.3.0` (leading `/` optional) resolves to
//! `<repo>/jsonschema/analytics/legacy/test/1.3.0` followed by `.yaml`, `.json`, or nothing,
//! tried in that order; a path whose basename already has an extension (`1.3.0.json`) is tried
//! as is only. Opening the repository only checks that `jsonschema/` is a directory; files are
//! read when a lookup asks for them (repositories can be large), so a broken file is reported,
//! with its path, on first use. Paths are [`SchemaPath`]s, which cannot contain `.` or `..`
//! segments, so a lookup never leaves the repository (symlinks inside it are trusted: they
//! are the repository's own `latest` links).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::document::{parse_schema_document, DocumentSyntax};
use super::error::SchemaSourceError;
use super::schema_uri::SchemaPath;

/// Extensions tried, in order, for a schema path without one.
const CANDIDATE_EXTENSIONS: [&str; 3] = [".yaml", ".json", ""];

/// A local Event Platform schema repository.
#[derive(Debug, Clone)]
pub struct EventPlatformRepository {
    root: PathBuf,
    schema_dir: PathBuf,
}

impl EventPlatformRepository {
    /// Opens the repository at `root` (the directory that contains `jsonschema/`). Fails when
    /// `root/jsonschema` is not a readable directory; reads no schema file.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, String> {
        let root = root.into();
        let schema_dir = root.join("jsonschema");
        match fs::metadata(&schema_dir) {
            Ok(metadata) if metadata.is_dir() => Ok(Self { root, schema_dir }),
            Ok(_) => Err(format!("{} is not a directory", schema_dir.display())),
            Err(error) => Err(format!(
                "{} is not a schema repository: cannot read {}: {error}",
                root.display(),
                schema_dir.display()
            )),
        }
    }

    /// The repository directory (the one containing `jsonschema/`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Description used in error messages.
    pub fn describe(&self) -> String {
        format!("schema repository {}", self.root.display())
    }

    /// The files a schema path may be stored in, in the order they are tried.
    pub fn candidate_files(&self, path: &SchemaPath) -> Vec<PathBuf> {
        let mut base = self.schema_dir.clone();
        for segment in path.segments() {
            base.push(segment);
        }
        if path.has_extension() {
            return vec![base];
        }
        CANDIDATE_EXTENSIONS
            .iter()
            .map(|extension| {
                let mut candidate = base.clone().into_os_string();
                candidate.push(extension);
                PathBuf::from(candidate)
            })
            .collect()
    }

    /// The schema document at `path` and the file it was read from: `Ok(None)` when no
    /// candidate file exists (a directory does not count), `Err` when the first existing file
    /// cannot be read or parsed.
    pub fn lookup(&self, path: &SchemaPath) -> Result<Option<(Value, PathBuf)>, SchemaSourceError> {
        for file in self.candidate_files(path) {
            let metadata = match fs::metadata(&file) {
                Ok(metadata) => metadata,
                Err(error) if is_absent(&error) => continue,
                Err(error) => return Err(unreadable(&file, &error)),
            };
            if !metadata.is_file() {
                continue;
            }
            let bytes = fs::read(&file).map_err(|error| unreadable(&file, &error))?;
            let file_name = file
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or_default();
            let document = parse_schema_document(bytes, DocumentSyntax::from_file_name(file_name))
                .map_err(|reason| SchemaSourceError::Malformed {
                    location: file.display().to_string(),
                    reason,
                })?;
            return Ok(Some((document, file)));
        }
        Ok(None)
    }
}

/// Whether an I/O error means "no such file" (including a path through a regular file).
fn is_absent(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn unreadable(file: &Path, error: &io::Error) -> SchemaSourceError {
    SchemaSourceError::Unreachable {
        location: file.display().to_string(),
        reason: error.to_string(),
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

    fn path(uri: &str) -> SchemaPath {
        SchemaPath::parse(uri).expect("valid path")
    }

    fn found(repo: &EventPlatformRepository, uri: &str) -> Option<(Value, String)> {
        repo.lookup(&path(uri))
            .expect("readable")
            .map(|(document, file)| {
                let relative = file
                    .strip_prefix(repo.root())
                    .map(|r| r.display().to_string())
                    .unwrap_or_default();
                (document, relative)
            })
    }

    #[test]
    fn opening_needs_a_jsonschema_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = EventPlatformRepository::open(dir.path()).expect_err("no jsonschema/");
        assert!(error.contains("is not a schema repository"), "{error}");
        write(dir.path(), "jsonschema", "a file");
        let error = EventPlatformRepository::open(dir.path()).expect_err("a file");
        assert!(error.ends_with("is not a directory"), "{error}");
    }

    #[test]
    fn resolves_yaml_then_json_then_bare_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "jsonschema/a/1.0.0.yaml", "title: a-yaml\n");
        write(root, "jsonschema/a/1.0.0.json", r#"{"title": "a-json"}"#);
        write(root, "jsonschema/b/1.0.0.json", r#"{"title": "b-json"}"#);
        write(root, "jsonschema/c/latest", "title: c-bare\n");
        write(
            root,
            "jsonschema/analytics/legacy/x/2.0.0.yaml",
            "title: nested\n",
        );
        let repo = EventPlatformRepository::open(root).expect("opens");
        assert_eq!(
            found(&repo, "/a/1.0.0"),
            Some((
                json!({"title": "a-yaml"}),
                "jsonschema/a/1.0.0.yaml".to_owned()
            ))
        );
        assert_eq!(
            found(&repo, "a/1.0.0.json"),
            Some((
                json!({"title": "a-json"}),
                "jsonschema/a/1.0.0.json".to_owned()
            ))
        );
        assert_eq!(
            found(&repo, "/b/1.0.0"),
            Some((
                json!({"title": "b-json"}),
                "jsonschema/b/1.0.0.json".to_owned()
            ))
        );
        assert_eq!(
            found(&repo, "/c/latest"),
            Some((json!({"title": "c-bare"}), "jsonschema/c/latest".to_owned()))
        );
        assert_eq!(
            found(&repo, "analytics/legacy/x/2.0.0").map(|(d, _)| d),
            Some(json!({"title": "nested"}))
        );
        assert_eq!(found(&repo, "/a/2.0.0"), None);
        assert_eq!(found(&repo, "/a"), None, "a directory is not a schema");
        assert_eq!(found(&repo, "/a/1.0.0.yaml/x"), None);
        assert_eq!(found(&repo, "/a/1.0.0.txt"), None);
    }

    #[cfg(unix)]
    #[test]
    fn latest_and_version_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "jsonschema/t/1.0.0.yaml", "title: t\n$id: /t/1.0.0\n");
        write(root, "jsonschema/t/1.1.0.yaml", "title: t\n$id: /t/1.1.0\n");
        for (link, target) in [
            ("latest", "1.1.0.yaml"),
            ("latest.yaml", "1.1.0.yaml"),
            ("1.1.0", "1.1.0.yaml"),
        ] {
            std::os::unix::fs::symlink(target, root.join("jsonschema/t").join(link))
                .expect("symlink");
        }
        let repo = EventPlatformRepository::open(root).expect("opens");
        for uri in ["/t/latest", "/t/latest.yaml", "/t/1.1.0"] {
            assert_eq!(
                found(&repo, uri).map(|(d, _)| d["$id"].clone()),
                Some(json!("/t/1.1.0")),
                "{uri}"
            );
        }
        // `latest` resolves through `latest.yaml` first.
        assert_eq!(
            found(&repo, "/t/latest").map(|(_, file)| file),
            Some("jsonschema/t/latest.yaml".to_owned())
        );
    }

    #[test]
    fn broken_files_are_reported_with_their_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "jsonschema/bad/1.0.0.yaml", "title: [unclosed\n");
        write(root, "jsonschema/list/1.0.0.json", "[1]");
        let repo = EventPlatformRepository::open(root).expect("opening reads no file");
        match repo.lookup(&path("/bad/1.0.0")) {
            Err(SchemaSourceError::Malformed { location, reason }) => {
                assert_eq!(
                    location,
                    root.join("jsonschema/bad/1.0.0.yaml").display().to_string()
                );
                assert!(reason.starts_with("invalid YAML: "), "{reason}");
            }
            other => panic!("expected a malformed file, got {other:?}"),
        }
        assert_eq!(
            repo.lookup(&path("/list/1.0.0")),
            Err(SchemaSourceError::Malformed {
                location: root
                    .join("jsonschema/list/1.0.0.json")
                    .display()
                    .to_string(),
                reason: "a schema must be an object (a YAML mapping), found an array".to_owned(),
            })
        );
        assert_eq!(
            repo.describe(),
            format!("schema repository {}", root.display())
        );
    }
}
