//! Kafka message keys (`output.message_key`): none, the event's uuid, or the stream
//! configuration's `message_key_fields` (EventGate's convention: a JSON object of the named event
//! fields, so that events with the same values land in the same partition).

use serde_json::{Map, Value};

use crate::event_platform::get_path;

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
        match self {
            MessageKey::None => None,
            MessageKey::Uuid => self.uuid_key(get_path(event, "meta.id")),
            MessageKey::StreamFields if fields.is_empty() => None,
            MessageKey::StreamFields => {
                let key: Map<String, Value> = fields
                    .iter()
                    .map(|(name, path)| {
                        (
                            name.clone(),
                            get_path(event, path).cloned().unwrap_or(Value::Null),
                        )
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
        assert_eq!(
            MessageKey::Uuid.uuid_key(Some(&json!("u"))),
            Some(b"u".to_vec())
        );
        assert_eq!(MessageKey::StreamFields.uuid_key(Some(&json!("u"))), None);
    }
}
