//! The common intake event on the worker's reusable [`Document`]: parse, enrich, validate and
//! write an accepted event without building a `serde_json::Value` tree (building, writing and
//! dropping the tree was half of the worker's instructions per event at 100 events per
//! request, docs/BENCHMARKS.md).
//!
//! Only an event that is accepted is finished here, and a failed schema lookup (answered the
//! way the general path answers it). Whenever anything else needs judgement (text the direct
//! parser leaves to serde_json, no `$schema` or `meta.stream`, a stream the configuration
//! refuses, a schema without a quick validator, an invalid event, a bad topic) this path gives
//! up with no side effect other than the user-agent cache's counters, and the general path
//! ([`Worker::intake_general`]) processes the event from its text: it gives the records and
//! verdicts it always gave, error messages included.

use std::borrow::Cow;
use std::sync::Arc;

use beacon_parsers::datetime::iso_to_unix_millis;
use beacon_parsers::json::{Document, JsonKind, NodeRef};
use serde_json::Value;

use crate::catalog::CatalogSnapshot;
use crate::clock::Clock;
use crate::event_platform::enrich::{enrich_document, RequestFacts};
use crate::event_platform::get_document_path;
use crate::intake_request::{IntakeRequest, Verdict};
use crate::record::batch::{RecordBatch, RecordMeta};
use crate::record::Outcome;
use crate::streams::topic_for_stream;
use crate::validation::EventSchema;

use super::event_platform::{stream_settings, Failure};
use super::intake::{user_agent_object, Received};
use super::{MessageKey, Worker};

/// Room for what the output has beyond the document's text: punctuation of the members
/// enrichment adds, escapes.
const PAYLOAD_SLACK_BYTES: usize = 256;

impl Worker<'_> {
    /// The verdict of the event `text` when this path finished it (its record is in
    /// `records`); `None` when the general path must process it, and `records` is unchanged.
    pub(super) fn intake_document(
        &mut self,
        snapshot: &CatalogSnapshot,
        request: &IntakeRequest,
        received: &Received<'_>,
        text: &str,
        clock: Clock,
        records: &mut RecordBatch,
    ) -> Option<Verdict> {
        let mut document = std::mem::take(&mut self.scratch.document);
        let verdict = self.intake_in_document(
            &mut document,
            snapshot,
            request,
            received,
            text,
            clock,
            records,
        );
        self.scratch.document = document;
        verdict
    }

    #[allow(clippy::too_many_arguments)]
    fn intake_in_document(
        &mut self,
        document: &mut Document,
        snapshot: &CatalogSnapshot,
        request: &IntakeRequest,
        received: &Received<'_>,
        text: &str,
        clock: Clock,
        records: &mut RecordBatch,
    ) -> Option<Verdict> {
        if !document.parse(text) {
            return None;
        }
        let root = document
            .root()
            .filter(|root| root.kind() == JsonKind::Object)?;
        let uri = root.get("$schema")?.as_str()?;
        // Borrowed from the memo: no reference count shared with the other workers is touched.
        let looked_up: Arc<EventSchema>;
        let schema: &EventSchema = match self.event_schemas.get(uri) {
            Some(schema) => schema,
            // A request waits for its schema (bounded by the fetch timeout): never pending.
            None => match snapshot.registry.event_schema(uri) {
                Ok(found) => {
                    self.event_schemas.remember(uri, Arc::clone(&found));
                    looked_up = found;
                    &looked_up
                }
                Err(error) => {
                    // Answered here: the general path would look the schema up again.
                    let Value::Object(event) = root.to_value() else {
                        return None;
                    };
                    let failure = Failure::lookup(&error);
                    let original = || Value::Object(event.clone());
                    let verdict =
                        self.intake_failed(failure, Some(&event), original, text, clock, records);
                    return Some(verdict);
                }
            },
        };
        let stream = get_document_path(root, ["meta", "stream"])?.as_str()?;
        let settings = &self.processor.settings;
        let key_mode = settings.message_key;
        let memoised = self.stream_routes.position(stream, uri);
        // The stream check runs once per route and batch; the configuration is read again
        // only for keys made of the stream's fields.
        let configured = match memoised {
            Some(_) if key_mode != MessageKey::StreamFields => None,
            _ => stream_settings(snapshot, Some(uri), stream, schema).ok()?,
        };
        let key_fields = configured.map_or(&[][..], |s| s.message_key_fields.as_slice());
        // The topic and the stream are lent by the memo: the stream outlives the changes to
        // the document without a copy per event.
        let not_memoised: (String, String);
        let (topic, stream): (&str, &str) = match memoised {
            Some(index) => self.stream_routes.route(index)?,
            None => {
                let topic = topic_for_stream(&settings.topic_prefix, stream, configured).ok()?;
                match self.stream_routes.remember(stream, uri, topic) {
                    Ok(index) => self.stream_routes.route(index)?,
                    Err(topic) => {
                        not_memoised = (topic, stream.to_owned());
                        (&not_memoised.0, &not_memoised.1)
                    }
                }
            }
        };
        let user_agent_object = user_agent_object(&mut self.user_agents, request, schema);
        let mut id_buffer = uuid::Uuid::encode_buffer();
        let event_id = uuid::Uuid::new_v4()
            .hyphenated()
            .encode_lower(&mut id_buffer);
        let facts = RequestFacts {
            event_id: Some(Cow::Borrowed(event_id)),
            received_dt: Some(received.dt),
            user_agent: request.user_agent.as_deref(),
            client_ip: Some(request.client_ip.as_str()),
            user_agent_object,
            request_id: Some(request.request_id.as_str()),
        };
        enrich_document(document, schema, &facts, || clock.iso());
        let event = document.root()?;
        if !schema.is_valid_document(event)? {
            return None;
        }
        let key = key_mode.event_key_document(event, key_fields);
        // `meta.dt` is most often the receive time enrichment set, read once per request.
        let timestamp_ms = match get_document_path(event, ["meta", "dt"]).and_then(NodeRef::as_str)
        {
            Some(dt) if dt == received.dt => received.millis,
            dt => dt.and_then(iso_to_unix_millis),
        };
        let meta = RecordMeta {
            topic,
            schema: Some(stream),
            key: key.as_deref(),
            timestamp_ms,
            outcome: Outcome::Valid,
        };
        records.push_written(meta, |payload| {
            payload.reserve(document.text_bytes() + PAYLOAD_SLACK_BYTES);
            event.write_json(payload);
        });
        Some(Verdict::Accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadedConfig;
    use crate::processor::{MessageKey, Processor};
    use proptest::prelude::*;
    use std::path::PathBuf;

    const NOW: Clock = Clock {
        unix_micros: 1_767_225_600_000_000,
    };

    /// Processors of the repository's Event Platform schemas and stream configuration, one
    /// per message key mode (assembled once: loading the user-agent rules takes a while).
    fn processor(message_key: MessageKey) -> &'static Processor {
        static PROCESSORS: std::sync::OnceLock<[Processor; 3]> = std::sync::OnceLock::new();
        let [none, uuid, fields] = PROCESSORS.get_or_init(|| {
            [
                assemble(MessageKey::None),
                assemble(MessageKey::Uuid),
                assemble(MessageKey::StreamFields),
            ]
        });
        match message_key {
            MessageKey::None => none,
            MessageKey::Uuid => uuid,
            MessageKey::StreamFields => fields,
        }
    }

    fn assemble(message_key: MessageKey) -> Processor {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut loaded = LoadedConfig::defaults();
        loaded.file.schemas.legacy_dirs = vec![repo.join("config/schemas").display().to_string()];
        loaded.file.schemas.event_repositories =
            vec![repo.join("config/event-schemas").display().to_string()];
        loaded.file.streams.config =
            Some(repo.join("config/stream-config.yaml").display().to_string());
        let assembled = match crate::app::assemble(&loaded, false) {
            Ok(assembled) => assembled,
            Err(e) => panic!("the test configuration does not assemble: {e}"),
        };
        let Ok(processor) = Arc::try_unwrap(assembled.processor) else {
            panic!("the assembled processor is shared");
        };
        let mut processor = processor;
        processor.settings.message_key = message_key;
        processor
    }

    fn request(user_agent: Option<&str>) -> IntakeRequest {
        IntakeRequest::new(
            "198.51.100.7".to_owned(),
            user_agent.map(str::to_owned),
            "req-7".to_owned(),
            NOW,
        )
    }

    /// A record as comparable text: `meta.id`s that neither path could have taken from the
    /// event (generated uuids) are blanked.
    fn comparable(records: &RecordBatch, text: &str) -> Vec<String> {
        records
            .iter()
            .map(|record| {
                let mut payload: Value =
                    serde_json::from_slice(record.payload).unwrap_or(Value::Null);
                let mut key = record
                    .key
                    .map(|key| String::from_utf8_lossy(key).into_owned());
                if let Some(Value::String(id)) = payload.pointer_mut("/meta/id") {
                    if !text.contains(id.as_str()) {
                        if key.as_deref() == Some(id.as_str()) {
                            key = Some("generated".to_owned());
                        }
                        *id = "generated".to_owned();
                    }
                }
                format!(
                    "{} {:?} {:?} {:?} {:?} {}",
                    record.topic, record.schema, key, record.timestamp_ms, record.outcome, payload
                )
            })
            .collect()
    }

    /// Runs `text` through the document path; when it finishes the event, checks that the
    /// general path gives the same verdict and record. Whether it finished.
    fn agrees(worker: &mut Worker<'_>, text: &str, user_agent: Option<&str>) -> bool {
        let snapshot = worker.processor.catalog.snapshot();
        let request = request(user_agent);
        let received_dt = request.received.iso();
        let received = Received {
            dt: &received_dt,
            millis: iso_to_unix_millis(&received_dt),
        };
        let mut by_document = RecordBatch::with_capacity(1, 0);
        let finished =
            worker.intake_document(&snapshot, &request, &received, text, NOW, &mut by_document);
        let Some(verdict) = finished else {
            assert!(
                by_document.is_empty(),
                "nothing is written when given up: {text}"
            );
            return false;
        };
        let mut general = RecordBatch::with_capacity(1, 0);
        let expected =
            worker.intake_general(&snapshot, &request, &received_dt, text, NOW, &mut general);
        assert_eq!(verdict, expected, "{text}");
        assert_eq!(
            comparable(&by_document, text),
            comparable(&general, text),
            "{text}"
        );
        true
    }

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    #[test]
    fn accepted_events_are_written_as_the_general_path_writes_them() {
        for key in [MessageKey::None, MessageKey::Uuid, MessageKey::StreamFields] {
            let processor = processor(key);
            let mut worker = processor.worker();
            let accepted = [
                r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","domain":"en.wikipedia.org","uri":"https://en.wikipedia.org/wiki/Special:Random"},"test":"bench event 1","test_map":{"k1":"v1","k2":"v2"}}"#,
                r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"}}"#,
                r#" { "meta" : { "stream" : "test.event", "id" : "11111111-2222-4333-8444-555555555555", "dt" : "2026-01-01 00:00:00Z" } , "$schema" : "/test/event/1.0.0" } "#,
                r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","domain":"de.wikipedia.org"},"test":"\u00e9\n\"q\" 😀 \u20ac","test_map":{"\u006b":"v","k":"w"}}"#,
                r#"{"$schema":"/test/event/1.0.0","test":"a","test":"last wins","meta":{"stream":"test.event"},"http":{"request_headers":{"user-agent":"kept"}}}"#,
                r#"{"$schema":"/test/event/1.0.0?a=b","meta":{"stream":"test.event"}}"#,
                r#"{"$schema":"/analytics/legacy/test/1.3.0","meta":{"stream":"eventlogging_Test"},"event":{"OtherMessage":"hi"},"client_dt":"2026-01-01T00:00:00.123Z"}"#,
            ];
            for text in accepted {
                for user_agent in [None, Some(CHROME), Some("")] {
                    assert!(
                        agrees(&mut worker, text, user_agent),
                        "the document path accepts {text} ({user_agent:?}, {key:?})"
                    );
                }
            }
            // More schema URIs (as sent) than the batch's memos hold: the later events are
            // routed without the memos, the same way.
            for n in 0..40 {
                let text = format!(
                    r#"{{"$schema":"/test/event/1.0.0?n={n}","meta":{{"stream":"test.event"}}}}"#
                );
                assert!(agrees(&mut worker, &text, None), "{text}");
            }
            let failed_lookup =
                r#"{"$schema":"/no/such/schema/1.0.0","meta":{"stream":"test.event"}}"#;
            assert!(agrees(&mut worker, failed_lookup, None));
            let left = [
                r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"},"test":5}"#,
                r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"no.such.stream"}}"#,
                r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"eventlogging_Test"}}"#,
                r#"{"$schema":"/test/event/1.0.0","meta":{"stream":5}}"#,
                r#"{"$schema":5,"meta":{"stream":"test.event"}}"#,
                r#"{"meta":{"stream":"test.event"}}"#,
                r#"[{"$schema":"/test/event/1.0.0"}]"#,
                r#"{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"},}"#,
                "not json",
            ];
            for text in left {
                assert!(
                    !agrees(&mut worker, text, Some(CHROME)),
                    "the general path judges {text}"
                );
            }
        }
    }

    fn one_of(choices: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        proptest::sample::select(choices)
    }

    proptest! {
        /// Events of every shape: whatever the document path finishes, it finishes as the
        /// general path does.
        #[test]
        fn the_document_path_agrees_with_the_general_path(
            schema in one_of(&[
                "", r#""$schema":"/test/event/1.0.0","#, r#""$schema":"/analytics/legacy/test/1.3.0","#,
                r#""$schema":"/test/event/1.0.0?x","#, r#""$schema":"/nope/1.0.0","#, r#""$schema":1,"#,
            ]),
            stream in one_of(&[
                "", r#""stream":"test.event","#, r#""stream":"eventlogging_Test","#,
                r#""stream":"nope","#, r#""stream":null,"#,
            ]),
            meta_id in one_of(&["", r#""id":"11111111-2222-4333-8444-555555555555","#, r#""id":5,"#, r#""id":null,"#]),
            meta_dt in one_of(&[
                "", r#""dt":"2026-01-01T00:00:00Z","#, r#""dt":"2026-01-01 00:00:00+0100","#,
                r#""dt":"yesterday","#, r#""dt":null,"#,
            ]),
            domain in one_of(&["", r#""domain":"en.wikipedia.org","#, r#""domain":"","#, r#""domain":[1],"#]),
            test in one_of(&["", r#""test":"x","#, r#""test":1.5e3,"#, r#""test":"\u0000\t","#, r#""test":null,"#]),
            test_map in one_of(&["", r#""test_map":{},"#, r#""test_map":{"a":"b","c":"d"},"#, r#""test_map":{"a":1},"#, r#""test_map":[],"#]),
            http in one_of(&["", r#""http":{},"#, r#""http":1,"#, r#""http":{"client_ip":"192.0.2.1"},"#, r#""http":{"request_headers":"x"},"#]),
            event in one_of(&["", r#""event":{"OtherMessage":"m"},"#, r#""event":{"OtherMessage":1},"#, r#""event":{},"#]),
            extra in one_of(&["", r#""extra":[1,{"b":2}],"#, r#""useragent":{},"#, r#""dt":"2026-01-01T00:00:00Z","#]),
            user_agent in proptest::option::of(one_of(&[CHROME, "", "curl/8.0"])),
            key in one_of(&["none", "uuid", "fields"]),
        ) {
            let text = format!(
                "{{{schema}{extra}{event}{http}{test}{test_map}\"meta\":{{{stream}{meta_id}{meta_dt}{domain}\"x\":0}}}}"
            );
            let key = match key {
                "uuid" => MessageKey::Uuid,
                "fields" => MessageKey::StreamFields,
                _ => MessageKey::None,
            };
            let processor = processor(key);
            let mut worker = processor.worker();
            agrees(&mut worker, &text, user_agent);
        }
    }
}
