//! Error types of the schema module: SCID problems, schema-source failures, lookup failures,
//! start-up load failures of a legacy schema directory, and the per-event validation outcome the
//! pipeline turns into an `EventError`. (Problems with the registry *settings* are in
//! [`settings`](super::settings); why a schema does not compile is
//! [`crate::validation::SchemaCompileError`].)

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::validation::SchemaCompileError;

/// Why the SCID (schema name, revision) of a capsule is unusable. The `Display` texts are the
/// reference processor's ValidationError messages (§4.1), so they can go into
/// `EventError.event.message` unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScidError {
    /// No `schema` or no `revision` key, or a meta-style (`"meta": {…}`) event.
    #[error("scid could not be extracted from event.")]
    NotExtractable,
    /// The revision is not an integer; `python_type` is the Python class name of the value
    /// (`str`, `float`, `NoneType`, `list`, `dict`, and `bool`, which Python would accept).
    #[error("Invalid revision ID type: <class '{python_type}'>")]
    RevisionType {
        /// Python class name of the offending value.
        python_type: &'static str,
    },
    /// The revision is an integer below 1 (`text` is its decimal text, e.g. `-1`).
    #[error("Invalid revision ID {text}")]
    RevisionTooSmall {
        /// The revision as Python prints it.
        text: String,
    },
    /// The revision is an integer that does not fit in an `i64` (no such revision can exist).
    #[error("Invalid revision ID {text} (larger than {max})", max = i64::MAX)]
    RevisionOutOfRange {
        /// The revision's decimal text.
        text: String,
    },
    /// The schema name is not a string matching `^[./a-zA-Z0-9_-]{1,63}$`; `shown` is Python's
    /// `str()` of the value (`Bad Name!`, `None`, `5`, …).
    #[error("Invalid schema name: {shown}")]
    SchemaName {
        /// Python `str()` of the offending value.
        shown: String,
    },
}

/// A schema source could not answer a lookup (as opposed to answering "not here").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SchemaSourceError {
    /// The source could not be read or reached (I/O error, network error, HTTP status).
    #[error("Schema fetch from {location} failed: {reason}")]
    Unreachable {
        /// Where the schema was looked for (file path or URL).
        location: String,
        /// What went wrong.
        reason: String,
    },
    /// The source answered with something that is not a schema document (syntax error, not a
    /// JSON object).
    #[error("Schema fetch from {location} failed: {reason}")]
    Malformed {
        /// Where the schema came from (file path or URL).
        location: String,
        /// What is wrong with the document.
        reason: String,
    },
}

/// What a schema lookup was looking for: a legacy SCID or an Event Platform schema URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemaSubject {
    /// A legacy EventLogging schema revision.
    Legacy {
        /// Schema name.
        name: String,
        /// Revision.
        revision: i64,
    },
    /// An Event Platform schema, by the `$schema` URI the event used.
    EventPlatform {
        /// The URI as the event wrote it.
        uri: String,
    },
}

impl fmt::Display for SchemaSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Legacy { name, revision } => write!(f, "Schema {name} revision {revision}"),
            Self::EventPlatform { uri } => write!(f, "Schema at {uri}"),
        }
    }
}

/// Why no validator is available for a schema. The pipeline turns these into error records;
/// [`reason`](Self::reason) is the bounded metrics label.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchemaLookupError {
    /// No source has the schema (every source answered "not here").
    #[error("{subject} not found (searched: {})", searched_list(.searched))]
    NotFound {
        /// What was looked up.
        subject: SchemaSubject,
        /// Every source or URL searched, in search order (remote ones with the HTTP status).
        searched: Vec<String>,
    },
    /// A source failed while looking the schema up, and no other source had it.
    #[error("{subject}: {source_description}: {error}{}", also_list(.also_searched))]
    Source {
        /// What was looked up.
        subject: SchemaSubject,
        /// Description of the (first) failing source.
        source_description: String,
        /// The source's error (`Schema fetch from <location> failed: <reason>`), boxed to keep
        /// the error type small.
        error: Box<SchemaSourceError>,
        /// The other sources or URLs searched without success, in search order.
        also_searched: Vec<String>,
    },
    /// The schema was found but could not be compiled.
    #[error("{subject} from {source_description} is unusable: {error}")]
    Compile {
        /// What was looked up.
        subject: SchemaSubject,
        /// The source (file path or URL) that supplied the document.
        source_description: String,
        /// The compile error.
        error: SchemaCompileError,
    },
    /// An event's `$schema` URI was refused before any source was asked (absolute URI to a
    /// host that is not allowed, `file://`, `..` segment, …).
    #[error("Schema URI {uri:?} refused: {reason}")]
    Refused {
        /// The URI as the event wrote it.
        uri: String,
        /// Why it was refused.
        reason: String,
    },
}

fn searched_list(searched: &[String]) -> String {
    if searched.is_empty() {
        "no schema sources configured".to_owned()
    } else {
        searched.join("; ")
    }
}

fn also_list(also: &[String]) -> String {
    if also.is_empty() {
        String::new()
    } else {
        format!(" (also searched: {})", also.join("; "))
    }
}

impl SchemaLookupError {
    /// What was looked up.
    pub fn subject(&self) -> SchemaSubject {
        match self {
            Self::NotFound { subject, .. }
            | Self::Source { subject, .. }
            | Self::Compile { subject, .. } => subject.clone(),
            Self::Refused { uri, .. } => SchemaSubject::EventPlatform { uri: uri.clone() },
        }
    }

    /// Bounded label for metrics and error records:
    /// - `schema_unknown`: not found in any source;
    /// - `schema_fetch`: a source could not be read or reached (I/O error, timeout, HTTP
    ///   error status, too many fetches queued);
    /// - `schema_uri_refused`: the `$schema` URI was refused;
    /// - `schema_invalid`: the document could not be parsed or compiled.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "schema_unknown",
            Self::Source { error, .. } => match **error {
                SchemaSourceError::Unreachable { .. } => "schema_fetch",
                SchemaSourceError::Malformed { .. } => "schema_invalid",
            },
            Self::Compile { .. } => "schema_invalid",
            Self::Refused { .. } => "schema_uri_refused",
        }
    }
}

/// Outcome of validating one capsule that did not pass: what the pipeline needs to build an
/// `EventError` (§5.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CapsuleValidationError {
    /// The event is invalid: a SCID problem or a schema violation. EventError code `validation`.
    #[error("{message}")]
    Invalid {
        /// The one error message (reference: `e.args[0]`).
        message: String,
    },
    /// No validator could be obtained for the event's SCID: not found in any source, or the
    /// schema failed to load or compile. EventError code `processor`.
    #[error("{message}")]
    SchemaUnavailable {
        /// Schema name of the event.
        name: String,
        /// Revision of the event.
        revision: i64,
        /// Human-readable reason, naming the sources searched.
        message: String,
    },
}

impl CapsuleValidationError {
    /// The `EventError.event.code` for this error: `validation` or `processor`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "validation",
            Self::SchemaUnavailable { .. } => "processor",
        }
    }

    /// The `EventError.event.message` for this error.
    pub fn message(&self) -> &str {
        match self {
            Self::Invalid { message } | Self::SchemaUnavailable { message, .. } => message,
        }
    }
}

impl From<ScidError> for CapsuleValidationError {
    fn from(error: ScidError) -> Self {
        Self::Invalid {
            message: error.to_string(),
        }
    }
}

impl From<SchemaLookupError> for CapsuleValidationError {
    fn from(error: SchemaLookupError) -> Self {
        let (name, revision) = match error.subject() {
            SchemaSubject::Legacy { name, revision } => (name, revision),
            SchemaSubject::EventPlatform { uri } => (uri, -1),
        };
        Self::SchemaUnavailable {
            name,
            revision,
            message: error.to_string(),
        }
    }
}

/// One file or directory of a legacy schema directory that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyDirProblem {
    /// The offending file or directory.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for LegacyDirProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

/// A legacy schema directory could not be loaded at start-up; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct LegacyDirLoadError {
    /// The directory that was scanned.
    pub directory: PathBuf,
    /// Every problem found (at least one), in path order.
    pub problems: Vec<LegacyDirProblem>,
}

impl fmt::Display for LegacyDirLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "legacy schema directory {} could not be loaded ({} problem{})",
            self.directory.display(),
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}
