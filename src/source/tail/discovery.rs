//! Discovery: which files the glob patterns name right now. Re-run periodically; this scan, not
//! filesystem notifications, decides which files exist.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use super::identity::FileId;

/// A regular file matched by the patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The path it matched under.
    pub path: PathBuf,
    /// Device and inode.
    pub id: FileId,
}

/// Include and exclude glob patterns.
#[derive(Debug, Clone)]
pub struct Discovery {
    include: Vec<String>,
    exclude: Vec<glob::Pattern>,
}

impl Discovery {
    /// Patterns that fail to parse are reported once here and then ignored (configuration
    /// checking refuses them before a run starts).
    pub fn new(include: &[String], exclude: &[String]) -> Self {
        let exclude = exclude
            .iter()
            .filter_map(|p| match glob::Pattern::new(p) {
                Ok(pattern) => Some(pattern),
                Err(e) => {
                    tracing::warn!(pattern = %p, error = %e, "invalid exclude pattern ignored");
                    None
                }
            })
            .collect();
        Discovery {
            include: include.to_vec(),
            exclude,
        }
    }

    /// Every regular file (symbolic links followed) matching an include pattern and no exclude
    /// pattern, sorted by path, each file (device and inode) once. `Err` when a directory could
    /// not be listed (e.g. "too many open files"): the list would be incomplete, and a file
    /// missing from it would look rotated away.
    pub fn scan(&self) -> Result<Vec<Found>, String> {
        let mut found = Vec::new();
        for pattern in &self.include {
            let paths = match glob::glob(pattern) {
                Ok(paths) => paths,
                Err(e) => {
                    tracing::debug!(pattern, error = %e, "invalid include pattern");
                    continue;
                }
            };
            for path in paths {
                let path = match path {
                    Ok(path) => path,
                    // A directory that vanished while being listed is no failure.
                    Err(e) if e.error().kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(format!(
                            "cannot list {} for {pattern}: {}",
                            e.path().display(),
                            e.error()
                        ))
                    }
                };
                if self.exclude.iter().any(|ex| ex.matches_path(&path)) {
                    continue;
                }
                // Vanished between listing and stat: the next scan settles it.
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if meta.is_file() {
                    found.push(Found {
                        path,
                        id: FileId::of(&meta),
                    });
                }
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        let mut seen = HashSet::new();
        found.retain(|f| seen.insert(f.id));
        Ok(found)
    }

    /// Directories to watch for notifications: for each include pattern, the deepest directory
    /// before its first wildcard, and whether files below it can match at any depth (`**`).
    pub fn watch_roots(&self) -> Vec<(PathBuf, bool)> {
        let mut roots: Vec<(PathBuf, bool)> = Vec::new();
        for pattern in &self.include {
            let root = literal_directory(Path::new(pattern));
            let recursive = pattern.contains("**");
            if let Some(existing) = roots.iter_mut().find(|(p, _)| *p == root) {
                existing.1 |= recursive;
            } else {
                roots.push((root, recursive));
            }
        }
        roots
    }
}

/// The leading components of `pattern` without glob metacharacters, minus the last one (which
/// names the file when nothing is wild).
fn literal_directory(pattern: &Path) -> PathBuf {
    let mut literal = PathBuf::new();
    let mut components = pattern.components().peekable();
    while let Some(component) = components.next() {
        let wild = match component {
            Component::Normal(part) => part.to_string_lossy().contains(['*', '?', '[']),
            _ => false,
        };
        if wild || components.peek().is_none() {
            break;
        }
        literal.push(component);
    }
    if literal.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        literal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_matching_regular_files_sorted_without_excluded_ones() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().display().to_string();
        for name in ["b.log", "a.log", "c.log.1", "skip.log"] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.log")).unwrap();
        std::fs::hard_link(dir.path().join("a.log"), dir.path().join("z.log")).unwrap();
        let discovery = Discovery::new(
            &[format!("{base}/*.log"), format!("{base}/*.log.*")],
            &[format!("{base}/skip*")],
        );
        let names: Vec<String> = discovery
            .scan()
            .unwrap()
            .into_iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        // The hard link z.log is the same file as a.log: listed once.
        assert_eq!(names, ["a.log", "b.log", "c.log.1"]);
    }

    #[test]
    fn watch_roots_stop_at_the_first_wildcard() {
        let discovery = Discovery::new(
            &[
                "/var/log/cdn/*.log".to_owned(),
                "/var/log/cdn/*.log.1".to_owned(),
                "/srv/**/beacon.log".to_owned(),
                "/srv/exact.log".to_owned(),
                "rel*.log".to_owned(),
            ],
            &[],
        );
        assert_eq!(
            discovery.watch_roots(),
            vec![
                (PathBuf::from("/var/log/cdn"), false),
                (PathBuf::from("/srv"), true),
                (PathBuf::from("."), false),
            ]
        );
    }
}
