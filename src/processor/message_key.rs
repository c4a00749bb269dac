//! Kafka message keys (`output.message_key`): none, the event's uuid, or the stream
//! configuration's `message_key_fields` (EventGate's convention: a JSON object of the named event
//! fields, so that events with the same values land in the same partition).

use std::borrow::Cow;

use beacon_parsers::json::NodeRef;
use serde_json::{Map, Value};

use crate::event_platform::{get_document_path, get_path};

/// Which key output records carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MessageKey {
    /// No key: records are spread over partitions.
    #[default]
    None,
    /// The event's uuid (`uuid` of legacy capsules, `meta.id` of Event Platform events).
    Uuid,
    /// A JSON object of the stream's `message_key_fields`; no key for streams without them
    /// (and for legacy capsules, which have no stream configuration).
    StreamFields,
}

impl MessageKey {
    /// The key of an event whose uuid is `uuid`, for modes that do not look at streams.
    pub fn uuid_key(self, uuid: Option<&Value>) -> Option<Vec<u8>> {
        self.uuid_key_bytes(uuid.and_then(Value::as_str))
            .map(<[u8]>::to_vec)
    }

    /// [`uuid_key`](Self::uuid_key) of a uuid given as text (`None` when it is not a string),
    /// borrowed from it.
    pub fn uuid_key_bytes(self, uuid: Option<&str>) -> Option<&[u8]> {
        match self {
            MessageKey::Uuid => uuid.map(str::as_bytes),
            MessageKey::None | MessageKey::StreamFields => None,
        }
    }

    /// The key of a valid Event Platform event of a stream with `fields` (key name, dotted
    /// event path). A missing field becomes `null`.
    pub fn event_key(
        self,
        event: &Map<String, Value>,
        fields: &[(String, String)],
    ) -> Option<Vec<u8>> {
        self.key_of(fields, |path| get_path(event, path).map(Cow::Borrowed))
    }

    /// [`event_key`](Self::event_key) of an event parsed into a document (`event` is its
    /// top-level value).
    pub fn event_key_document(
        self,
        event: NodeRef<'_>,
        fields: &[(String, String)],
    ) -> Option<Vec<u8>> {
        self.key_of(fields, |path| {
            get_document_path(event, path.split('.')).map(|node| Cow::Owned(node.to_value()))
        })
    }

    /// The key of an event whose value at a dotted path `value_at` gives.
    fn key_of<'e>(
        self,
        fields: &[(String, String)],
        value_at: impl Fn(&str) -> Option<Cow<'e, Value>>,
    ) -> Option<Vec<u8>> {
        match self {
            MessageKey::None => None,
            MessageKey::Uuid => match value_at("meta.id")?.as_ref() {
                Value::String(id) => Some(id.as_bytes().to_vec()),
                _ => None,
            },
            MessageKey::StreamFields if fields.is_empty() => None,
            MessageKey::StreamFields => {
                let key: Map<String, Value> = fields
                    .iter()
                    .map(|(name, path)| {
                        let value = value_at(path).map(Cow::into_owned);
                        (name.clone(), value.unwrap_or(Value::Null))
                    })
                    .collect();
                serde_json::to_vec(&Value::Object(key)).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_per_mode() {
        let Value::Object(event) =
            json!({"meta": {"id": "abc"}, "wiki_id": "enwiki", "page": {"page_id": 7}})
        else {
            unreachable!()
        };
        let fields = vec![
            ("wiki_id".to_owned(), "wiki_id".to_owned()),
            ("page_id".to_owned(), "page.page_id".to_owned()),
            ("absent".to_owned(), "nope".to_owned()),
        ];
        assert_eq!(MessageKey::None.event_key(&event, &fields), None);
        assert_eq!(
            MessageKey::Uuid.event_key(&event, &fields),
            Some(b"abc".to_vec())
        );
        assert_eq!(
            MessageKey::StreamFields.event_key(&event, &fields),
            Some(br#"{"absent":null,"page_id":7,"wiki_id":"enwiki"}"#.to_vec())
        );
        assert_eq!(MessageKey::StreamFields.event_key(&event, &[]), None);
        let mut document = beacon_parsers::json::Document::new();
        assert!(document.parse(&Value::Object(event.clone()).to_string()));
        let Some(root) = document.root() else {
            unreachable!()
        };
        for mode in [MessageKey::None, MessageKey::Uuid, MessageKey::StreamFields] {
            assert_eq!(
                mode.event_key_document(root, &fields),
                mode.event_key(&event, &fields),
                "{mode:?}"
            );
        }
        assert_eq!(
            MessageKey::Uuid.uuid_key(Some(&json!("u"))),
            Some(b"u".to_vec())
        );
        assert_eq!(MessageKey::StreamFields.uuid_key(Some(&json!("u"))), None);
    }
}
