//! Properties of the whole per-line function on arbitrary input: it never panics, and every line
//! yields exactly one record whose payload is valid JSON, on the error topic exactly when it is an
//! error.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use serde_json::Value;

use beacon_processor::app;
use beacon_processor::clock::Clock;
use beacon_processor::config::LoadedConfig;
use beacon_processor::processor::Processor;
use beacon_processor::record::Outcome;

const VALID: &str = "?%7B%22event%22%3A%7B%22version%22%3A%221.1%22%2C%22eventId%22%3A5%2C%22notificationType%22%3A%22edit-user-talk%22%2C%22notificationGroup%22%3A%22interactive%22%2C%22sender%22%3A%22123%22%2C%22recipientUserId%22%3A42%2C%22deliveryMethod%22%3A%22web%22%7D%2C%22revision%22%3A7731316%2C%22schema%22%3A%22Echo%22%2C%22webHost%22%3A%22en.wikipedia.org%22%2C%22wiki%22%3A%22enwiki%22%7D;\tcp3030.esams.wmnet\t12345678\t2019-12-20T10:11:12\t192.0.2.1\t\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36\"";

fn processor() -> Arc<Processor> {
    static PROCESSOR: OnceLock<Arc<Processor>> = OnceLock::new();
    PROCESSOR
        .get_or_init(|| {
            let mut loaded = LoadedConfig::defaults();
            let schemas = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/schemas");
            loaded.file.schemas.legacy_dirs = vec![schemas.display().to_string()];
            match app::assemble(&loaded, false) {
                Ok(a) => a.processor,
                Err(e) => panic!("{e}"),
            }
        })
        .clone()
}

fn check_one_record(line: &[u8]) -> Result<(), TestCaseError> {
    let p = processor();
    let mut worker = p.worker();
    let record = worker.process_line(
        line,
        None,
        Clock {
            unix_micros: 1_700_000_000_000_000,
        },
    );
    let event: Value = serde_json::from_slice(&record.payload)
        .map_err(|e| TestCaseError::fail(format!("payload is not JSON: {e}")))?;
    prop_assert!(event.is_object());
    match record.outcome {
        Outcome::Valid => {
            prop_assert!(record.topic.starts_with("eventlogging_"));
            prop_assert_ne!(record.topic.as_str(), "eventlogging_EventError");
            prop_assert_eq!(event["uuid"].as_str().map(str::len), Some(32));
        }
        Outcome::Error { .. } => {
            prop_assert_eq!(record.topic.as_str(), "eventlogging_EventError");
            prop_assert_eq!(&event["schema"], "EventError");
            prop_assert!(event["event"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
        Outcome::Copy => prop_assert!(false, "the worker made a copy: copies come from routes"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(line in prop::collection::vec(any::<u8>(), 0..600)) {
        check_one_record(&line)?;
    }

    #[test]
    fn mutated_valid_lines(edits in prop::collection::vec((0usize..900, any::<u8>(), 0u8..4), 1..6)) {
        let mut line = VALID.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            let at = at % (line.len() + 1);
            match kind {
                0 => line.insert(at, byte),
                1 if at < line.len() => { line.remove(at); }
                2 if at < line.len() => line[at] = byte,
                _ => line.truncate(at),
            }
        }
        check_one_record(&line)?;
    }

    #[test]
    fn arbitrary_text_in_each_field(field in 0usize..6, text in "\\PC{0,80}") {
        let mut fields: Vec<String> = VALID.split('\t').map(str::to_owned).collect();
        if let Some(slot) = fields.get_mut(field) {
            *slot = text;
        }
        check_one_record(fields.join("\t").as_bytes())?;
    }
}
