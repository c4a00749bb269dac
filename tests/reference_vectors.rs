//! The test vectors of the reference specification (eventlogging-processor.md §10), run through
//! the whole per-line function: raw line in, output record out. Byte-exact on uuid, dt, seqId,
//! recvFrom, ip and userAgent; the valid/invalid outcome as the reference, or a documented
//! deviation (docs/COMPATIBILITY.md).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use beacon_processor::app;
use beacon_processor::clock::Clock;
use beacon_processor::config::LoadedConfig;
use beacon_processor::processor::Processor;
use beacon_processor::record::Outcome;

mod common;

const P: &str = "%q %{recvFrom}s %{seqId}d %D %{ip}i %u";

const ECHO_Q: &str = "?%7B%22event%22%3A%7B%22version%22%3A%221.1%22%2C%22eventId%22%3A5%2C%22notificationType%22%3A%22edit-user-talk%22%2C%22notificationGroup%22%3A%22interactive%22%2C%22sender%22%3A%22123%22%2C%22recipientUserId%22%3A42%2C%22deliveryMethod%22%3A%22web%22%7D%2C%22revision%22%3A7731316%2C%22schema%22%3A%22Echo%22%2C%22webHost%22%3A%22en.wikipedia.org%22%2C%22wiki%22%3A%22enwiki%22%7D;";

const UA: &str = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36\"";

fn chrome79() -> Value {
    json!({"browser_family": "Chrome", "browser_major": "79", "browser_minor": "0", "device_family": "Other", "is_bot": false, "is_mediawiki": false, "os_family": "Windows", "os_major": "10", "os_minor": null, "wmf_app_version": "-"})
}

fn processor(format: &str) -> Arc<Processor> {
    // Building the user-agent parser is the slow part: share one processor per format.
    static PROCESSORS: Mutex<BTreeMap<String, Arc<Processor>>> = Mutex::new(BTreeMap::new());
    let mut processors = PROCESSORS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    processors
        .entry(format.to_owned())
        .or_insert_with(|| build_processor(format))
        .clone()
}

fn build_processor(format: &str) -> Arc<Processor> {
    let mut loaded = LoadedConfig::defaults();
    loaded.file.format = format.to_owned();
    loaded.file.schemas.legacy_dirs = vec![common::legacy_schemas().display().to_string()];
    match app::assemble(&loaded, false) {
        Ok(assembled) => assembled.processor,
        Err(e) => panic!("test configuration does not assemble: {e}"),
    }
}

/// Processes one line; returns the outcome and the output event.
fn run(processor: &Processor, line: &str) -> (Outcome, String, Value) {
    common::process_line(processor, line, 1_700_000_000_000_000)
}

fn tv3_line(seq: &str) -> String {
    format!("{ECHO_Q}\tcp3030.esams.wmnet\t{seq}\t2019-12-20T10:11:12\t192.0.2.1\t{UA}")
}

fn echo_capsule_with(extra: &str) -> String {
    // ECHO_Q with `extra` (already percent-encoded, starting with %2C) added before the final }.
    let base = ECHO_Q.trim_end_matches(';').trim_end_matches("%7D");
    format!("{base}{extra}%7D;")
}

fn assert_processor_error(outcome: Outcome, event: &Value, reason: &str) {
    assert_eq!(
        outcome,
        Outcome::Error {
            reason: match reason {
                "parse" => "parse",
                "json" => "json",
                "not_object" => "not_object",
                "decode" => "decode",
                "dt" => "dt",
                "ua_too_long" => "ua_too_long",
                "user_agent" => "user_agent",
                other => panic!("unexpected reason {other}"),
            }
        },
        "{event}"
    );
    assert_eq!(event["schema"], "EventError");
    assert_eq!(event["revision"], 14035058);
    assert_eq!(event["event"]["code"], "processor");
}

#[test]
fn tv1_space_separated_repo_fixture() {
    let p = processor("%q %{recvFrom}s %{seqId}d %D %o %u");
    let line = "?%7B%22wiki%22%3A%22testwiki%22%2C%22schema%22%3A%22Generic%22%2C%22revision%22%3A13%2C%22event%22%3A%7B%22articleId%22%3A1%2C%22articleTitle%22%3A%22H%C3%A9ctor%20Elizondo%22%7D%2C%22webHost%22%3A%22test.wikipedia.org%22%7D; srv0.example.org 132073 2013-01-19T23:16:38 - Mozilla/5.0 (X11; Linux x86_64; rv:10.0) Gecko/20100101 Firefox/10.0";
    let (outcome, topic, event) = run(&p, line);
    assert_eq!(outcome, Outcome::Valid, "{event}");
    assert_eq!(topic, "eventlogging_Generic");
    assert_eq!(
        event,
        json!({"dt": "2013-01-19T23:16:38Z", "event": {"articleId": 1, "articleTitle": "Héctor Elizondo"}, "recvFrom": "srv0.example.org", "revision": 13, "schema": "Generic", "seqId": 132073, "userAgent": {"browser_family": "Firefox", "browser_major": "10", "browser_minor": "0", "device_family": "Other", "is_bot": false, "is_mediawiki": false, "os_family": "Linux", "os_major": null, "os_minor": null, "wmf_app_version": "-"}, "uuid": "749684341abf513186c71f74c6a09502", "webHost": "test.wikipedia.org", "wiki": "testwiki"})
    );
}

#[test]
fn tv2_client_user_agent_wins_and_is_parsed() {
    let p = processor("%q %{recvFrom}s %{seqId}d %D %o %u");
    let line = "?%7B%22wiki%22%3A%22testwiki%22%2C%22schema%22%3A%22Generic%22%2C%22revision%22%3A13%2C%22event%22%3A%7B%22articleId%22%3A1%2C%22articleTitle%22%3A%22H%C3%A9ctor%20Elizondo%22%7D%2C%22webHost%22%3A%22test.wikipedia.org%22%2C%22userAgent%22%3A%22Mozilla%2F5.0%5Cu0020%28Windows%5Cu0020NT%5Cu00206.1%3B%5Cu0020WOW64%29%5Cu0020AppleWebKit%2F537.36%5Cu0020%28KHTML%2C%5Cu0020like%5Cu0020Gecko%29%5Cu0020Chrome%2F61.0.3163.100%5Cu0020Safari%2F537.36%22%7D; srv0.example.org 132073 2013-01-19T23:16:38 - Mozilla/5.0 (X11; Linux x86_64; rv:10.0) Gecko/20100101 Firefox/10.0";
    let (outcome, _, event) = run(&p, line);
    assert_eq!(outcome, Outcome::Valid, "{event}");
    assert_eq!(event["uuid"], "749684341abf513186c71f74c6a09502");
    assert_eq!(
        event["userAgent"],
        json!({"browser_family": "Chrome", "browser_major": "61", "browser_minor": "0", "device_family": "Other", "is_bot": false, "is_mediawiki": false, "os_family": "Windows", "os_major": "7", "os_minor": null, "wmf_app_version": "-"})
    );
}

fn tv3_expected() -> Value {
    json!({"dt": "2019-12-20T10:11:12Z", "event": {"deliveryMethod": "web", "eventId": 5, "notificationGroup": "interactive", "notificationType": "edit-user-talk", "recipientUserId": 42, "sender": "123", "version": "1.1"}, "ip": "192.0.2.1", "recvFrom": "cp3030.esams.wmnet", "revision": 7731316, "schema": "Echo", "seqId": 12345678, "userAgent": chrome79(), "uuid": "c30e6e3cd2785ebe8f7933b22114e742", "webHost": "en.wikipedia.org", "wiki": "enwiki"})
}

#[test]
fn tv3_production_tab_line_is_valid() {
    let p = processor(P);
    let (outcome, topic, event) = run(&p, &tv3_line("12345678"));
    assert_eq!(outcome, Outcome::Valid, "{event}");
    assert_eq!(topic, "eventlogging_Echo");
    assert_eq!(event, tv3_expected());
}

#[test]
fn tv3_double_semicolon_gives_the_same_output() {
    let p = processor(P);
    let line = tv3_line("12345678").replacen(";\t", ";;\t", 1);
    let (outcome, _, event) = run(&p, &line);
    assert_eq!(outcome, Outcome::Valid);
    assert_eq!(event, tv3_expected());
}

#[test]
fn tv4_client_validated_and_is_truncated_are_dropped() {
    let p = processor(P);
    let q = echo_capsule_with("%2C%22clientValidated%22%3Atrue%2C%22isTruncated%22%3Afalse");
    let line = format!("{q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, _, event) = run(&p, &line);
    assert_eq!(outcome, Outcome::Valid, "{event}");
    assert!(event.get("clientValidated").is_none() && event.get("isTruncated").is_none());
    assert_eq!(event["uuid"], "5e9004f6963f5d80a7508833046e8558");
}

#[test]
fn tv5_missing_wiki_is_a_validation_error() {
    let p = processor(P);
    let q = ECHO_Q.replace("%2C%22wiki%22%3A%22enwiki%22", "");
    let line = format!("{q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, topic, event) = run(&p, &line);
    assert_eq!(
        outcome,
        Outcome::Error {
            reason: "validation"
        }
    );
    assert_eq!(topic, "eventlogging_EventError");
    let inner = &event["event"];
    assert_eq!(inner["code"], "validation");
    assert_eq!(inner["schema"], "Echo");
    assert_eq!(inner["revision"], 7731316);
    assert!(
        inner["message"].as_str().unwrap().contains("wiki"),
        "{inner}"
    );
    // rawEvent is the parsed capsule re-serialised (sorted keys), uuid included.
    let raw: Value = serde_json::from_str(inner["rawEvent"].as_str().unwrap()).unwrap();
    assert_eq!(raw["uuid"], "5e9004f6963f5d80a7508833046e8558");
    assert_eq!(raw["dt"], "2019-12-20T10:11:12Z");
    assert!(raw.get("wiki").is_none());
    assert_eq!(event["wiki"], "");
    assert_eq!(event["uuid"].as_str().map(str::len), Some(32));
}

#[test]
fn tv6_extra_event_property_is_a_validation_error() {
    let p = processor(P);
    let q = ECHO_Q.replace(
        "%22deliveryMethod%22%3A%22web%22",
        "%22deliveryMethod%22%3A%22web%22%2C%22bogus%22%3A1",
    );
    let line = format!("{q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, _, event) = run(&p, &line);
    assert_eq!(
        outcome,
        Outcome::Error {
            reason: "validation"
        }
    );
    let message = event["event"]["message"].as_str().unwrap();
    assert!(
        message.contains("bogus") && message.contains("Additional properties"),
        "{message}"
    );
}

#[test]
fn tv7_extra_capsule_key_is_a_validation_error() {
    let p = processor(P);
    let q = echo_capsule_with("%2C%22bogusCapsule%22%3A1");
    let line = format!("{q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, _, event) = run(&p, &line);
    assert_eq!(
        outcome,
        Outcome::Error {
            reason: "validation"
        }
    );
    let message = event["event"]["message"].as_str().unwrap();
    assert!(message.contains("bogusCapsule"), "{message}");
}

#[test]
fn tv8_event_missing_array_or_string_is_valid() {
    let p = processor(P);
    let start = ECHO_Q.find("%22event%22").unwrap();
    let end = ECHO_Q.find("%2C%22revision%22").unwrap();
    let event_part = &ECHO_Q[start..end];
    for replacement in ["", "%22event%22%3A%5B%5D", "%22event%22%3A%22str%22"] {
        let mut q = ECHO_Q.replacen(event_part, replacement, 1);
        if replacement.is_empty() {
            q = q.replacen("%7B%2C", "%7B", 1);
        }
        let line = format!("{q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
        let (outcome, _, event) = run(&p, &line);
        assert_eq!(outcome, Outcome::Valid, "{replacement}: {event}");
        if replacement.is_empty() {
            assert!(event.get("event").is_none());
        }
    }
}

#[test]
fn tv9_revision_must_be_an_integer() {
    let p = processor(P);
    for (revision, class) in [("%227731316%22", "str"), ("7731316.0", "float")] {
        let q = ECHO_Q.replace(
            "%22revision%22%3A7731316",
            &format!("%22revision%22%3A{revision}"),
        );
        let line = format!("{q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
        let (outcome, _, event) = run(&p, &line);
        assert_eq!(
            outcome,
            Outcome::Error {
                reason: "validation"
            }
        );
        assert_eq!(
            event["event"]["message"],
            format!("Invalid revision ID type: <class '{class}'>")
        );
        if class == "str" {
            assert_eq!(event["event"]["revision"], "7731316");
        }
    }
}

#[test]
fn tv10_bad_schema_name() {
    let p = processor(P);
    let q = ECHO_Q.replace(
        "%22schema%22%3A%22Echo%22",
        "%22schema%22%3A%22Bad%20Name!%22",
    );
    let line = format!("{q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, _, event) = run(&p, &line);
    assert_eq!(
        outcome,
        Outcome::Error {
            reason: "validation"
        }
    );
    assert_eq!(event["event"]["message"], "Invalid schema name: Bad Name!");
    assert_eq!(event["event"]["schema"], "Bad Name!");
}

#[test]
fn tv11_client_overrides() {
    let p = processor(P);
    let q = echo_capsule_with("%2C%22userAgent%22%3A%22WikipediaApp%2F5.3.3.1038%20(iOS%2010.2%3B%20Phone)%22%2C%22recvFrom%22%3A%22spoofed.example%22%2C%22seqId%22%3A%2277%22%2C%22dt%22%3A%222020-01-01T00%3A00%3A00.5%2B02%3A00%22%2C%22ip%22%3A%2210.0.0.1%22");
    let line = format!("{q}\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (outcome, _, event) = run(&p, &line);
    assert_eq!(outcome, Outcome::Valid, "{event}");
    assert_eq!(event["recvFrom"], "spoofed.example");
    assert_eq!(event["seqId"], 77);
    assert_eq!(event["dt"], "2020-01-01T00:00:00.500000+02:00");
    assert_eq!(event["ip"], "10.0.0.1");
    assert_eq!(event["uuid"], "02d76777449451cf93ce8e3072bb8be8");
    let ua = &event["userAgent"];
    assert_eq!(ua["wmf_app_version"], "5.3.3.1038");
    assert_eq!(ua["os_family"], "iOS");
    assert_eq!(ua["os_major"], "10");
    assert_eq!(ua["os_minor"], "2");
    assert_eq!(ua["is_bot"], false);
    assert_eq!(ua["is_mediawiki"], false);
}

#[test]
fn tv12_no_question_mark_or_empty_query() {
    let p = processor(P);
    for line in [
        format!("%7B%7D;\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}"),
        format!("\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}"),
    ] {
        let (outcome, _, event) = run(&p, &line);
        assert_processor_error(outcome, &event, "parse");
        assert_eq!(
            event["event"]["message"],
            r"(?P<capsule>\?\S+)\s+(?P<recvFrom>\S+)\s+(?P<seqId>\d+)\s+(?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s+(?P<ip>[^\t]+)\s+(?P<userAgent>[^\t]+)"
        );
        assert_eq!(event["event"]["schema"], "unknown");
        assert_eq!(event["event"]["revision"], -1);
        assert_eq!(event["event"]["rawEvent"], line.as_str());
    }
}

#[test]
fn tv13_tv14_tv15_tv16_decode_and_json_errors() {
    let p = processor(P);
    let rest = format!("\tcp3030.esams.wmnet\t1\t2019-12-20T10:11:12\t192.0.2.1\t{UA}");
    let (o, _, e) = run(&p, &format!("?%7Bnot-json;{rest}"));
    assert_processor_error(o, &e, "json");
    let (o, _, e) = run(&p, &format!("{}{rest}", &ECHO_Q[..60]));
    assert_processor_error(o, &e, "json");
    assert_eq!(e["event"]["schema"], "unknown");
    for q in ["?%5B1%2C2%5D;", "?%22hi%22;"] {
        let (o, _, e) = run(&p, &format!("{q}{rest}"));
        assert_processor_error(o, &e, "not_object");
        assert!(e["event"]["message"]
            .as_str()
            .unwrap()
            .starts_with("capsule was successfully parsed, but not as an object."));
    }
    let (o, _, e) = run(&p, &format!("?%7B%22a%22%3A%22%C3%28%22%7D;{rest}"));
    assert_processor_error(o, &e, "decode");
}

#[test]
fn tv17_corrupted_fixture_recovers_the_scid() {
    let p = processor(P);
    let line = "?%7B%22event%22%3A%7B%22mobileMode%22%3A%22stable%22%2C%22name%22%3A%22home%22%2C%22destination%22%3A%22%2Fwiki%2FPagina_principale%22%7D%2C%22revision%22%3A11568715%2C%22schema%22%3A%22MobileWebMainMenuClickTracking%22%2C%22webHost%22%3A%12345terfdit.m.wikipedia.org%22%2C%22wiki%22%3A%22itwiki%22%7D;\tcp3013.esams.wmnet\t4724275\t2015-09-21T21:55:27\t1.2.3.4\t\"Mozilla\"";
    let (o, _, e) = run(&p, line);
    assert_processor_error(o, &e, "json");
    assert_eq!(e["event"]["schema"], "MobileWebMainMenuClickTracking");
    assert_eq!(e["event"]["revision"], 11568715);
}

#[test]
fn tv18_bad_date_from_the_line() {
    let p = processor(P);
    let line = tv3_line("12345678").replace("2019-12-20T10:11:12", "2019-13-45T10:11:12");
    let (o, _, e) = run(&p, &line);
    assert_processor_error(o, &e, "dt");
    assert!(
        e["event"]["message"]
            .as_str()
            .unwrap()
            .contains("month must be in 1..12"),
        "{e}"
    );
    assert_eq!(e["event"]["schema"], "Echo");
    assert_eq!(e["event"]["revision"], 7731316);
}

#[test]
fn tv19_user_agent_edge_cases() {
    let p = processor(P);
    let long_ua = format!("\"{}\"", "a".repeat(800));
    let line = tv3_line("1").replace(UA, &long_ua);
    let (o, _, e) = run(&p, &line);
    assert_processor_error(o, &e, "ua_too_long");
    assert_eq!(
        e["event"]["message"],
        "User Agent string length (802) longer than the allowed 800 chars"
    );

    let line = tv3_line("1").replace(UA, "\"Foo WikipediaApp/1.0\"");
    let (o, _, e) = run(&p, &line);
    assert_processor_error(o, &e, "user_agent");

    let line = tv3_line("1").replace("192.0.2.1", "-").replace(UA, "\"-\"");
    let (o, _, e) = run(&p, &line);
    assert_eq!(o, Outcome::Valid, "{e}");
    assert_eq!(e["ip"], "-");
    assert_eq!(e["userAgent"]["browser_family"], "Other");
    assert_eq!(e["userAgent"]["os_family"], "Other");
    assert_eq!(e["userAgent"]["device_family"], "Other");
}

#[test]
fn tv20_space_separators_backtrack_like_the_regex() {
    let p = processor(P);
    let line = tv3_line("12345678").replace('\t', " ");
    let (o, _, e) = run(&p, &line);
    assert_eq!(o, Outcome::Valid, "{e}");
    assert_eq!(e["ip"], "192.0.2.1 \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88");
    assert_eq!(e["userAgent"]["browser_family"], "Safari");
    assert_eq!(e["userAgent"]["os_family"], "Other");
}

#[test]
fn tv21_legacy_timestamp_format() {
    let p = processor("%q %{recvFrom}s %{seqId}d %t %o %{userAgent}i");
    let (o, _, e) = run(&p, &tv3_line("1"));
    assert_eq!(o, Outcome::Valid, "{e}");
    assert_eq!(e["timestamp"], 1576836672);
    assert!(e.get("dt").is_none() && e.get("ip").is_none());
    assert_eq!(e["userAgent"], UA);
    assert_eq!(e["uuid"], "5e9004f6963f5d80a7508833046e8558");
}

#[test]
fn tv22_json_format_needs_compact_json() {
    let p = processor("%{seqId}d EventLogging %j");
    let line = r#"99 EventLogging {"revision":123,"timestamp":1358627115,"schema":"FakeSchema","wiki":"enwiki","event":{"action":"save\u0020page"},"recvFrom":"fenari"}"#;
    let mut worker = p.worker();
    let record = worker.process_line(line.as_bytes(), None, Clock { unix_micros: 0 });
    let e: Value = serde_json::from_slice(&record.payload).unwrap();
    // FakeSchema/123 is not in the schema directory: a processor error whose rawEvent is the line,
    // but the capsule itself parsed (the uuid is checked through a schema that exists below).
    assert_eq!(
        record.outcome,
        Outcome::Error {
            reason: "schema_unknown"
        },
        "{e}"
    );
    assert_eq!(e["event"]["schema"], "FakeSchema");
    assert_eq!(e["event"]["revision"], 123);

    let line = line
        .replace("FakeSchema", "Generic")
        .replace(r#""revision":123"#, r#""revision":13"#)
        .replace(r#""action":"save\u0020page""#, r#""articleId":7"#);
    let (o, _, e) = run(&p, &line);
    assert_eq!(o, Outcome::Valid, "{e}");
    assert_eq!(e["seqId"], 99);
    assert_eq!(e["uuid"], "96270ff278b057bbb100ebb41239a83a");

    let spaced = r#"99 EventLogging {"revision":13,"schema":"Generic","wiki":"enwiki","event":{"articleId": 7},"recvFrom":"fenari"}"#;
    let (o, _, e) = run(&p, spaced);
    assert_processor_error(o, &e, "json");
}
