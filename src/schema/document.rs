//! Parsing of schema documents (files and HTTP bodies) into JSON values.
//!
//! JSON is parsed with serde_json (numbers keep their text), YAML with serde-saphyr. A document
//! of unknown syntax (an extensionless file or symlink, an HTTP body) is tried as JSON first,
//! then as YAML (a JSON superset, so only real YAML gets there). A schema document must be an
//! object.

use serde_json::Value;

/// Syntax of a schema document, usually from its file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentSyntax {
    /// `.json`.
    Json,
    /// `.yaml` or `.yml`.
    Yaml,
    /// No (known) extension: JSON, else YAML.
    Unknown,
}

impl DocumentSyntax {
    /// The syntax a file name's extension announces (`json`, `yaml`, `yml`; anything else is
    /// [`Unknown`](Self::Unknown)).
    pub fn from_file_name(file_name: &str) -> Self {
        match file_name.rsplit_once('.').map(|(_, extension)| extension) {
            Some("json") => Self::Json,
            Some("yaml" | "yml") => Self::Yaml,
            _ => Self::Unknown,
        }
    }
}

/// Parses `bytes` as a schema document of `syntax`. The error text says what is wrong
/// (`file is not valid UTF-8`, `invalid JSON: …`, `invalid YAML: …`, `a schema must be an
/// object (a YAML mapping), found an array`).
pub fn parse_schema_document(bytes: Vec<u8>, syntax: DocumentSyntax) -> Result<Value, String> {
    let text = String::from_utf8(bytes).map_err(|_| "file is not valid UTF-8".to_owned())?;
    let document = parse_text(&text, syntax)?;
    if document.is_object() {
        Ok(document)
    } else {
        Err(format!(
            "a schema must be an object (a YAML mapping), found {}",
            document_kind(&document)
        ))
    }
}

fn parse_text(text: &str, syntax: DocumentSyntax) -> Result<Value, String> {
    match syntax {
        DocumentSyntax::Json => {
            serde_json::from_str(text).map_err(|error| format!("invalid JSON: {error}"))
        }
        DocumentSyntax::Yaml => {
            serde_saphyr::from_str(text).map_err(|error| format!("invalid YAML: {error}"))
        }
        DocumentSyntax::Unknown => match serde_json::from_str(text) {
            Ok(document) => Ok(document),
            Err(_) => serde_saphyr::from_str(text)
                .map_err(|error| format!("neither JSON nor valid YAML: {error}")),
        },
    }
}

/// How a document's kind is named in messages: [`json_kind`](crate::json_kind::json_kind), with
/// a hint for `null` (what an empty YAML file parses to).
fn document_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null (an empty document?)",
        other => crate::json_kind::json_kind(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn syntax_from_file_name() {
        assert_eq!(
            DocumentSyntax::from_file_name("1.0.0.json"),
            DocumentSyntax::Json
        );
        assert_eq!(
            DocumentSyntax::from_file_name("1.0.0.yaml"),
            DocumentSyntax::Yaml
        );
        assert_eq!(
            DocumentSyntax::from_file_name("12.yml"),
            DocumentSyntax::Yaml
        );
        assert_eq!(
            DocumentSyntax::from_file_name("1.0.0"),
            DocumentSyntax::Unknown
        );
        assert_eq!(
            DocumentSyntax::from_file_name("latest"),
            DocumentSyntax::Unknown
        );
    }

    #[test]
    fn parses_each_syntax() {
        let big = "{\"n\": 123456789012345678901234567890}";
        let parsed = parse_schema_document(big.into(), DocumentSyntax::Unknown).expect("JSON");
        assert_eq!(parsed["n"].to_string(), "123456789012345678901234567890");
        assert_eq!(
            parse_schema_document(
                b"title: t\ntype: object\n".to_vec(),
                DocumentSyntax::Unknown
            ),
            Ok(json!({"title": "t", "type": "object"}))
        );
        assert_eq!(
            parse_schema_document(b"title: t\n".to_vec(), DocumentSyntax::Yaml),
            Ok(json!({"title": "t"}))
        );
        let error = parse_schema_document(b"title: t\n".to_vec(), DocumentSyntax::Json)
            .expect_err("YAML is not JSON");
        assert!(error.starts_with("invalid JSON: "), "{error}");
    }

    #[test]
    fn rejects_non_objects_and_garbage() {
        assert_eq!(
            parse_schema_document(b"[1]".to_vec(), DocumentSyntax::Unknown),
            Err("a schema must be an object (a YAML mapping), found an array".to_owned())
        );
        assert_eq!(
            parse_schema_document(b"".to_vec(), DocumentSyntax::Yaml),
            Err(
                "a schema must be an object (a YAML mapping), found null (an empty document?)"
                    .to_owned()
            )
        );
        assert_eq!(
            parse_schema_document(vec![0xff, 0xfe], DocumentSyntax::Unknown),
            Err("file is not valid UTF-8".to_owned())
        );
        let error = parse_schema_document(b"a: [unclosed\n".to_vec(), DocumentSyntax::Unknown)
            .expect_err("broken");
        assert!(
            error.starts_with("neither JSON nor valid YAML: "),
            "{error}"
        );
    }
}
