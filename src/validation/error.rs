//! Why a validator cannot be built from a schema document: a draft-3 document that does not
//! convert to draft 4, or a document the JSON-Schema library refuses.

use thiserror::Error;

/// A draft-3 schema that cannot be converted to draft 4, because a keyword the converter must
/// interpret has a value draft 3 does not allow (the draft-3 metaschema would reject it too).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid draft-3 schema at {}: {problem}", display_pointer(.location))]
pub struct SchemaConversionError {
    /// JSON pointer (RFC 6901) of the offending value inside the converted document; `""` is the
    /// document root.
    pub location: String,
    /// What is wrong with it.
    pub problem: String,
}

fn display_pointer(pointer: &str) -> String {
    format!("#{pointer}")
}

/// Why a compiled validator (legacy or Event Platform) could not be built from its schema
/// document.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchemaCompileError {
    /// The draft-3 document could not be converted to draft 4.
    #[error(transparent)]
    Conversion(#[from] SchemaConversionError),
    /// The document was rejected by the JSON-Schema library (metaschema violation, invalid
    /// regular expression, unresolvable `$ref`, …).
    #[error("invalid schema: {0}")]
    Library(String),
    /// The document's `$schema` names a dialect this processor does not implement.
    #[error(
        "unsupported $schema {0:?}: expected a JSON Schema draft-04, draft-06, draft-07, \
         2019-09 or 2020-12 URI"
    )]
    UnsupportedDialect(String),
    /// The document is not a JSON object.
    #[error("a schema must be an object, found {0}")]
    NotAnObject(&'static str),
}
