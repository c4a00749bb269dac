//! The configured schema sources, in order, and the walk of one lookup through them.
//!
//! A walk records what it searched and what failed in a [`Trail`], which becomes the
//! lookup's error if no source has the schema. The registry first walks *locally*: it stops
//! at the first remote source ([`Step::NeedsRemote`]), and the rest of the walk (remote and
//! later local sources, in order) runs on a background thread.

use std::sync::Arc;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::ep_repository::EventPlatformRepository;
use super::error::{SchemaLookupError, SchemaSourceError, SchemaSubject};
use super::remote::http_fetch::HttpFetched;
use super::remote::remote_fetcher::RemoteFetcher;
use super::schema_uri::{join_base, with_extension, SchemaPath};
use super::source::LegacySchemaSource;

/// Characters percent-encoded in a legacy schema name put into a URL template: everything
/// but unreserved characters.
const NAME_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A remote legacy schema API (URL template with `{name}` and `{revision}`).
#[derive(Debug, Clone)]
pub(crate) struct LegacyHttpSource {
    pub(crate) url_template: String,
}

impl LegacyHttpSource {
    fn url(&self, name: &str, revision: i64) -> String {
        self.url_template
            .replace(
                "{name}",
                &utf8_percent_encode(name, NAME_ENCODE).to_string(),
            )
            .replace("{revision}", &revision.to_string())
    }
}

/// A remote Event Platform base URI.
#[derive(Debug, Clone)]
pub(crate) struct EventHttpSource {
    pub(crate) base_uri: String,
}

/// One configured source.
pub(crate) enum SourceEntry {
    /// Local (or in-memory) legacy schemas.
    Legacy(Box<dyn LegacySchemaSource>),
    /// Remote legacy schema API.
    LegacyHttp(LegacyHttpSource),
    /// Local Event Platform repository.
    Repository(EventPlatformRepository),
    /// Remote Event Platform base URI.
    EventHttp(EventHttpSource),
}

/// What a lookup is looking for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Query<'a> {
    Legacy { name: &'a str, revision: i64 },
    Event(&'a SchemaPath),
}

/// A schema document found by a source.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) document: Value,
    /// File path or URL (or the source description for in-memory sources).
    pub(crate) origin: String,
}

/// Outcome of asking one source.
enum Answer {
    Found(Found),
    /// Not here; the text names what was searched (source or URL with status).
    NotHere(String),
    /// The source failed; its description and error.
    Failed(String, SchemaSourceError),
}

/// Outcome of a walk.
pub(crate) enum Step {
    Found(Found),
    /// Local sources are exhausted up to the remote source at this index.
    NeedsRemote(usize),
    Exhausted,
}

/// What a lookup searched so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trail {
    searched: Vec<String>,
    failures: Vec<(String, SchemaSourceError)>,
}

impl Trail {
    fn record(&mut self, answer: Answer) -> Option<Found> {
        match answer {
            Answer::Found(found) => return Some(found),
            Answer::NotHere(searched) => self.searched.push(searched),
            Answer::Failed(source, error) => {
                tracing::warn!(source = %source, %error, "schema source failed");
                self.failures.push((source, error));
            }
        }
        None
    }

    /// The lookup's error: the first failure if a source failed (the rest listed as also
    /// searched), else "not found" listing everything searched.
    pub(crate) fn into_error(self, subject: SchemaSubject) -> SchemaLookupError {
        let mut failures = self.failures.into_iter();
        match failures.next() {
            None => SchemaLookupError::NotFound {
                subject,
                searched: self.searched,
            },
            Some((source_description, error)) => {
                let mut also_searched = self.searched;
                also_searched.extend(failures.map(|(source, error)| format!("{source}: {error}")));
                SchemaLookupError::Source {
                    subject,
                    source_description,
                    error: Box::new(error),
                    also_searched,
                }
            }
        }
    }
}

/// The configured sources, in order.
pub(crate) struct SourceChain {
    entries: Vec<SourceEntry>,
    remote: Arc<RemoteFetcher>,
    schema_file_extension: Option<String>,
}

impl SourceChain {
    pub(crate) fn new(
        entries: Vec<SourceEntry>,
        remote: Arc<RemoteFetcher>,
        schema_file_extension: Option<String>,
    ) -> Self {
        Self {
            entries,
            remote,
            schema_file_extension,
        }
    }

    /// The shared remote fetcher.
    pub(crate) fn remote(&self) -> &Arc<RemoteFetcher> {
        &self.remote
    }

    /// Every source's description, in order.
    pub(crate) fn descriptions(&self) -> Vec<String> {
        self.entries.iter().map(SourceEntry::describe).collect()
    }

    /// The local legacy sources (for start-up precompilation).
    pub(crate) fn legacy_sources(&self) -> impl Iterator<Item = &dyn LegacySchemaSource> {
        self.entries.iter().filter_map(|entry| match entry {
            SourceEntry::Legacy(source) => Some(source.as_ref()),
            _ => None,
        })
    }

    /// Asks the sources serving `query`, from index `from`, in order. Without
    /// `remote_allowed`, stops before the first remote source.
    pub(crate) fn walk(
        &self,
        query: Query<'_>,
        from: usize,
        remote_allowed: bool,
        trail: &mut Trail,
    ) -> Step {
        for (index, entry) in self.entries.iter().enumerate().skip(from) {
            if !entry.serves(query) {
                continue;
            }
            if entry.is_remote() && !remote_allowed {
                return Step::NeedsRemote(index);
            }
            if let Some(found) = trail.record(self.ask(entry, query)) {
                return Step::Found(found);
            }
        }
        Step::Exhausted
    }

    /// Fetches an (allowed) absolute schema URL.
    pub(crate) fn fetch_url(&self, url: &str, trail: &mut Trail) -> Option<Found> {
        trail.record(self.fetch(url, "absolute schema URI".to_owned()))
    }

    fn ask(&self, entry: &SourceEntry, query: Query<'_>) -> Answer {
        match (entry, query) {
            (SourceEntry::Legacy(source), Query::Legacy { name, revision }) => {
                match source.lookup(name, revision) {
                    Ok(Some(document)) => Answer::Found(Found {
                        document,
                        origin: source.describe(),
                    }),
                    Ok(None) => Answer::NotHere(source.describe()),
                    Err(error) => Answer::Failed(source.describe(), error),
                }
            }
            (SourceEntry::LegacyHttp(source), Query::Legacy { name, revision }) => {
                match self.fetch(&source.url(name, revision), "legacy schema API".to_owned()) {
                    Answer::Found(found) => match mediawiki_api_error(&found.document) {
                        Some(error) => Answer::NotHere(format!("{} ({error})", found.origin)),
                        None => Answer::Found(found),
                    },
                    other => other,
                }
            }
            (SourceEntry::Repository(repository), Query::Event(path)) => {
                match repository.lookup(path) {
                    Ok(Some((document, file))) => Answer::Found(Found {
                        document,
                        origin: file.display().to_string(),
                    }),
                    Ok(None) => Answer::NotHere(repository.describe()),
                    Err(error) => Answer::Failed(repository.describe(), error),
                }
            }
            (SourceEntry::EventHttp(source), Query::Event(path)) => {
                let url = with_extension(
                    join_base(&source.base_uri, path.as_str()),
                    self.schema_file_extension.as_deref(),
                );
                self.fetch(&url, format!("schema base {}", source.base_uri))
            }
            _ => Answer::NotHere(entry.describe()),
        }
    }

    fn fetch(&self, url: &str, source: String) -> Answer {
        match self.remote.http.fetch(url) {
            Ok(HttpFetched::Document(document)) => Answer::Found(Found {
                document: Value::clone(&document),
                origin: url.to_owned(),
            }),
            Ok(HttpFetched::Missing { status }) => {
                Answer::NotHere(format!("{url} (HTTP {status})"))
            }
            Err(error) => Answer::Failed(source, error),
        }
    }
}

/// The MediaWiki API's error object (`{"error": {"code": …, "info": …}}`) in a body that is
/// not a schema, as `API error <code>: <info>`.
fn mediawiki_api_error(document: &Value) -> Option<String> {
    let error = document.get("error")?;
    if document.get("properties").is_some() {
        return None;
    }
    let code = error
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let info = error
        .get("info")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(format!("API error {code}: {info}"))
}

impl SourceEntry {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Legacy(source) => source.describe(),
            Self::LegacyHttp(source) => format!("legacy schema API {}", source.url_template),
            Self::Repository(repository) => repository.describe(),
            Self::EventHttp(source) => format!("schema base {}", source.base_uri),
        }
    }

    fn serves(&self, query: Query<'_>) -> bool {
        match self {
            Self::Legacy(_) | Self::LegacyHttp(_) => matches!(query, Query::Legacy { .. }),
            Self::Repository(_) | Self::EventHttp(_) => matches!(query, Query::Event(_)),
        }
    }

    fn is_remote(&self) -> bool {
        matches!(self, Self::LegacyHttp(_) | Self::EventHttp(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn legacy_url_template_encodes_the_name() {
        let source = LegacyHttpSource {
            url_template: "https://meta.example.org/w/api.php?action=jsonschema&title={name}&revid={revision}&formatversion=2&format=json".to_owned(),
        };
        assert_eq!(
            source.url("Echo", 7731316),
            "https://meta.example.org/w/api.php?action=jsonschema&title=Echo&revid=7731316&formatversion=2&format=json"
        );
        assert_eq!(
            source.url("a b&c=d/é", 1),
            "https://meta.example.org/w/api.php?action=jsonschema&title=a%20b%26c%3Dd%2F%C3%A9&revid=1&formatversion=2&format=json"
        );
    }

    #[test]
    fn mediawiki_errors_are_not_schemas() {
        assert_eq!(
            mediawiki_api_error(
                &json!({"error": {"code": "badrevid", "info": "No such revision"}})
            ),
            Some("API error badrevid: No such revision".to_owned())
        );
        assert_eq!(
            mediawiki_api_error(&json!({"title": "Echo", "properties": {}})),
            None
        );
        assert_eq!(
            mediawiki_api_error(&json!({"properties": {"error": {}}, "error": 1})),
            None
        );
    }

    #[test]
    fn trail_errors() {
        let subject = SchemaSubject::EventPlatform {
            uri: "/x/1".to_owned(),
        };
        let mut trail = Trail::default();
        assert!(trail.record(Answer::NotHere("repo A".to_owned())).is_none());
        assert_eq!(
            trail.clone().into_error(subject.clone()).to_string(),
            "Schema at /x/1 not found (searched: repo A)"
        );
        trail.record(Answer::Failed(
            "schema base https://b".to_owned(),
            SchemaSourceError::Unreachable {
                location: "https://b/x/1".to_owned(),
                reason: "timed out".to_owned(),
            },
        ));
        trail.record(Answer::NotHere("https://c/x/1 (HTTP 404)".to_owned()));
        let error = trail.into_error(subject);
        assert_eq!(error.reason(), "schema_fetch");
        assert_eq!(
            error.to_string(),
            "Schema at /x/1: schema base https://b: Schema fetch from https://b/x/1 failed: \
             timed out (also searched: repo A; https://c/x/1 (HTTP 404))"
        );
    }
}
