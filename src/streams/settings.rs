//! Parsing and lookup of stream configuration.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use regex::Regex;
use serde_json::{Map, Value};

/// The settings of one stream (or one regex family of streams).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSettings {
    /// The key the settings were found under (a name, or `/regex/`).
    pub stream: String,
    /// The JSON Schema `title` every event of the stream must have.
    pub schema_title: Option<String>,
    /// `topic_prefixes: null` or `[]` means the stream's topic has no datacenter prefix.
    pub unprefixed: bool,
    /// Message key: key field name -> dotted path in the event.
    pub message_key_fields: Vec<(String, String)>,
    /// Everything else, kept for operators (destination_event_service, sample, consumers, ...).
    pub other: Map<String, Value>,
}

impl StreamSettings {
    /// The settings as the configuration file states them.
    pub fn to_json(&self) -> Value {
        let mut map = self.other.clone();
        if let Some(title) = &self.schema_title {
            map.insert("schema_title".into(), Value::from(title.as_str()));
        }
        if self.unprefixed {
            map.insert("topic_prefixes".into(), Value::Null);
        }
        if !self.message_key_fields.is_empty() {
            let fields: Map<String, Value> = self
                .message_key_fields
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            map.insert("message_key_fields".into(), Value::Object(fields));
        }
        Value::Object(map)
    }
}

/// A problem with a stream configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfigError {
    /// The file.
    pub file: String,
    /// The stream key, or empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for StreamConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: stream `{}`: {}", self.file, self.key, self.message)
        }
    }
}

impl std::error::Error for StreamConfigError {}

/// All configured streams.
#[derive(Debug, Clone, Default)]
pub struct StreamConfigs {
    exact: HashMap<String, StreamSettings>,
    patterns: Vec<(Regex, StreamSettings)>,
    /// The whole configuration as served to clients, serialised on first use: building and
    /// serialising it cost about 12 µs of CPU per `GET /v1/stream-configs`, and a loaded
    /// configuration never changes (a reload builds a new one).
    served: std::sync::OnceLock<Vec<u8>>,
}

impl StreamConfigs {
    /// Reads a stream configuration file (YAML or JSON).
    pub fn load(path: &Path) -> Result<Self, StreamConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StreamConfigError {
            file: file.clone(),
            key: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, &file)
    }

    /// Parses stream configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, StreamConfigError> {
        let error = |key: &str, message: String| StreamConfigError {
            file: file.to_owned(),
            key: key.to_owned(),
            message,
        };
        let entries = ordered_entries(text).map_err(|m| error("", m))?;
        let mut configs = StreamConfigs::default();
        for (key, value) in entries {
            let settings = settings_of(&key, value).map_err(|m| error(&key, m))?;
            if let Some(pattern) = key.strip_prefix('/').and_then(|k| k.strip_suffix('/')) {
                let regex = Regex::new(pattern)
                    .map_err(|e| error(&key, format!("invalid regular expression: {e}")))?;
                configs.patterns.push((regex, settings));
            } else {
                configs.exact.insert(key, settings);
            }
        }
        Ok(configs)
    }

    /// The settings for `stream`: an exact entry, else the first matching regex entry.
    pub fn lookup(&self, stream: &str) -> Option<&StreamSettings> {
        self.exact.get(stream).or_else(|| {
            self.patterns
                .iter()
                .find(|(regex, _)| regex.is_match(stream))
                .map(|(_, settings)| settings)
        })
    }

    /// The configuration the way the EventStreamConfig API serves it to clients
    /// (`{"streams": {...}}`): every entry by its key, or, given `names`, the settings each name
    /// resolves to (names without settings left out).
    pub fn to_json(&self, names: Option<&[&str]>) -> Value {
        let mut streams = std::collections::BTreeMap::new();
        match names {
            Some(names) => {
                for name in names {
                    if let Some(settings) = self.lookup(name) {
                        streams.insert((*name).to_owned(), settings.to_json());
                    }
                }
            }
            None => {
                for settings in self
                    .exact
                    .values()
                    .chain(self.patterns.iter().map(|(_, s)| s))
                {
                    streams.insert(settings.stream.clone(), settings.to_json());
                }
            }
        }
        serde_json::json!({ "streams": streams })
    }

    /// [`to_json`](Self::to_json) of every entry, serialised, computed once.
    pub fn served_json(&self) -> &[u8] {
        self.served
            .get_or_init(|| serde_json::to_vec(&self.to_json(None)).unwrap_or_default())
    }

    /// Number of entries (names and patterns).
    pub fn len(&self) -> usize {
        self.exact.len() + self.patterns.len()
    }

    /// Whether no stream is configured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The top-level entries in file order (the MediaWiki API's `{"streams": {...}}` is unwrapped).
fn ordered_entries(text: &str) -> Result<Vec<(String, Value)>, String> {
    // serde_json's Map sorts keys; read the mapping as a sequence of pairs to keep file order.
    #[derive(serde::Deserialize)]
    #[serde(transparent)]
    struct Ordered(#[serde(with = "ordered_map")] Vec<(String, Value)>);

    mod ordered_map {
        use serde::de::{Deserializer, MapAccess, Visitor};
        use serde_json::Value;
        use std::fmt;

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<(String, Value)>, D::Error> {
            struct Pairs;
            impl<'de> Visitor<'de> for Pairs {
                type Value = Vec<(String, Value)>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a mapping of stream names to settings")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, Value>()? {
                        out.push((k, v));
                    }
                    Ok(out)
                }
            }
            d.deserialize_map(Pairs)
        }
    }

    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let Ordered(entries) = serde_saphyr::from_str(text).map_err(|e| {
        let rendered = e.to_string();
        rendered.lines().next().unwrap_or_default().to_owned()
    })?;
    if let [(key, Value::Object(_))] = entries.as_slice() {
        if key == "streams" {
            // MediaWiki API response: read the inner mapping, again in file order.
            #[derive(serde::Deserialize)]
            struct Api {
                #[serde(with = "ordered_map")]
                streams: Vec<(String, Value)>,
            }
            let api: Api = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
            return Ok(api.streams);
        }
    }
    Ok(entries)
}

fn settings_of(key: &str, value: Value) -> Result<StreamSettings, String> {
    let mut map = match value {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            return Err(format!(
                "expected a mapping of settings, found {}",
                kind(&other)
            ))
        }
    };
    let schema_title = match map.remove("schema_title") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return Err(format!(
                "schema_title: expected a string, found {}",
                kind(&other)
            ))
        }
    };
    let unprefixed = match map.get("topic_prefixes") {
        Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        None => false,
        Some(other) => {
            return Err(format!(
                "topic_prefixes: expected a list or null, found {}",
                kind(other)
            ))
        }
    };
    let message_key_fields = match map.remove("message_key_fields") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(fields)) => fields
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(path) => Ok((k, path)),
                other => Err(format!(
                    "message_key_fields.{k}: expected a dotted event path, found {}",
                    kind(&other)
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "message_key_fields: expected a mapping, found {}",
                kind(&other)
            ))
        }
    };
    map.remove("stream");
    Ok(StreamSettings {
        stream: key.to_owned(),
        schema_title,
        unprefixed,
        message_key_fields,
        other: map,
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
eventlogging_SearchSatisfaction:
  schema_title: analytics/legacy/searchsatisfaction
  topic_prefixes: null
test.event:
  schema_title: test/event
/^mediawiki\.job\..+/:
  schema_title: mediawiki/job
/^mediawiki\..+/:
  schema_title: other
empty.stream:
keyed:
  schema_title: k
  message_key_fields: {wiki_id: wiki_id, page_id: page.page_id}
"#;

    #[test]
    fn lookup_exact_then_first_regex_in_file_order() {
        let c = StreamConfigs::parse(SAMPLE, "streams.yaml").unwrap();
        assert_eq!(c.len(), 6);
        let s = c.lookup("eventlogging_SearchSatisfaction").unwrap();
        assert_eq!(
            s.schema_title.as_deref(),
            Some("analytics/legacy/searchsatisfaction")
        );
        assert!(s.unprefixed);
        assert!(!c.lookup("test.event").unwrap().unprefixed);
        assert_eq!(
            c.lookup("mediawiki.job.refreshLinks")
                .unwrap()
                .schema_title
                .as_deref(),
            Some("mediawiki/job")
        );
        assert_eq!(
            c.lookup("mediawiki.page-create")
                .unwrap()
                .schema_title
                .as_deref(),
            Some("other")
        );
        assert!(c.lookup("unknown.stream").is_none());
        assert_eq!(c.lookup("empty.stream").unwrap().schema_title, None);
        assert_eq!(
            c.lookup("keyed").unwrap().message_key_fields,
            vec![
                ("page_id".to_owned(), "page.page_id".to_owned()),
                ("wiki_id".to_owned(), "wiki_id".to_owned())
            ]
        );
    }

    #[test]
    fn mediawiki_api_response_shape() {
        let text = r#"{"streams":{"eventlogging_SearchSatisfaction":{"stream":"eventlogging_SearchSatisfaction","schema_title":"analytics/legacy/searchsatisfaction","topics":["eventlogging_SearchSatisfaction"]},"test.event":{"stream":"test.event","schema_title":"test/event","topics":["eqiad.test.event","codfw.test.event"]},"/^mediawiki\\.job\\..+/":{"stream":"/^mediawiki\\.job\\..+/","schema_title":"error","topics":["/^(eqiad\\.|codfw\\.)mediawiki\\.job\\..+/"]}}}"#;
        let c = StreamConfigs::parse(text, "api.json").unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(
            c.lookup("mediawiki.job.refreshLinks")
                .unwrap()
                .schema_title
                .as_deref(),
            Some("error")
        );
        assert_eq!(
            c.lookup("test.event").unwrap().schema_title.as_deref(),
            Some("test/event")
        );
    }

    #[test]
    fn errors_name_the_stream() {
        let e = StreamConfigs::parse("a:\n  schema_title: [1]\n", "s.yaml").unwrap_err();
        assert_eq!(e.key, "a");
        assert!(
            e.to_string()
                .starts_with("s.yaml: stream `a`: schema_title"),
            "{e}"
        );
        let e = StreamConfigs::parse("/(/:\n  schema_title: x\n", "s.yaml").unwrap_err();
        assert!(e.message.contains("invalid regular expression"), "{e}");
        let e = StreamConfigs::parse("- a\n- b\n", "s.yaml").unwrap_err();
        assert!(e.key.is_empty());
    }
}
