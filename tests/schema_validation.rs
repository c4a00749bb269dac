//! Integration test of the schema registry on the shipped sample schemas (`config/schemas`),
//! with the reference's validation test vectors (TV-1, TV-3, TV-5 to TV-10), and of start-up
//! load errors on a broken schema directory (`tests/fixtures/schemas/broken`).

use std::path::PathBuf;

use beacon_processor::schema::{
    CapsuleValidationError, LegacyDirSource, LegacySchemaSource, SchemaRegistry,
};
use serde_json::{json, Map, Value};

fn manifest_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn sample_source() -> LegacyDirSource {
    LegacyDirSource::load(manifest_path("config/schemas")).expect("config/schemas loads")
}

fn sample_registry() -> SchemaRegistry {
    SchemaRegistry::new(vec![Box::new(sample_source())])
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected an object, got {other}"),
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

fn user_agent_chrome79() -> Value {
    json!({"browser_family": "Chrome", "browser_major": "79", "browser_minor": "0",
           "device_family": "Other", "is_bot": false, "is_mediawiki": false,
           "os_family": "Windows", "os_major": "10", "os_minor": null, "wmf_app_version": "-"})
}

/// TV-3 output (reference §10), built by hand.
fn tv3() -> Map<String, Value> {
    let mut capsule = object(parse(
        r#"{"dt": "2019-12-20T10:11:12Z",
            "event": {"deliveryMethod": "web", "eventId": 5, "notificationGroup": "interactive",
                      "notificationType": "edit-user-talk", "recipientUserId": 42, "sender": "123",
                      "version": "1.1"},
            "ip": "192.0.2.1", "recvFrom": "cp3030.esams.wmnet", "revision": 7731316,
            "schema": "Echo", "seqId": 12345678,
            "uuid": "c30e6e3cd2785ebe8f7933b22114e742", "webHost": "en.wikipedia.org",
            "wiki": "enwiki"}"#,
    ));
    capsule.insert("userAgent".to_owned(), user_agent_chrome79());
    capsule
}

/// A capsule around `event` with the TV-3 envelope.
fn capsule_of(schema: &str, revision: i64, event: Value) -> Map<String, Value> {
    let mut capsule = tv3();
    capsule.insert("schema".to_owned(), json!(schema));
    capsule.insert("revision".to_owned(), json!(revision));
    capsule.insert("event".to_owned(), event);
    capsule
}

fn invalid(message: &str) -> Result<(), CapsuleValidationError> {
    Err(CapsuleValidationError::Invalid {
        message: message.to_owned(),
    })
}

#[test]
fn sample_schemas_load_and_all_compile() {
    let source = sample_source();
    assert_eq!(
        source.known_scids(),
        vec![
            ("Echo".to_owned(), 7731316),
            ("EditAttemptStep".to_owned(), 18530416),
            ("Generic".to_owned(), 13),
            ("NavigationTiming".to_owned(), 18988839),
            ("SearchSatisfaction".to_owned(), 19240639),
        ]
    );
    let property_count = |name: &str, revision: i64| {
        source
            .lookup(name, revision)
            .ok()
            .flatten()
            .and_then(|schema| {
                schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(Map::len)
            })
    };
    assert_eq!(property_count("Echo", 7731316), Some(10));
    assert_eq!(property_count("NavigationTiming", 18988839), Some(30));
    assert_eq!(property_count("SearchSatisfaction", 19240639), Some(12));
    assert_eq!(property_count("EditAttemptStep", 18530416), Some(14));
    assert_eq!(property_count("Generic", 13), Some(2));

    let registry = SchemaRegistry::new(vec![Box::new(source)]);
    let (compiled, failures) = registry.precompile_known();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(compiled, 5);
    assert_eq!(registry.compiled_count(), 5);
}

#[test]
fn tv3_is_valid() {
    assert_eq!(sample_registry().validate_capsule(&tv3()), Ok(()));
}

#[test]
fn tv1_generic_capsule_is_valid() {
    let capsule = object(parse(
        r#"{"dt": "2013-01-19T23:16:38Z", "event": {"articleId": 1, "articleTitle": "Héctor Elizondo"},
            "recvFrom": "srv0.example.org", "revision": 13, "schema": "Generic", "seqId": 132073,
            "userAgent": {"browser_family": "Firefox", "browser_major": "10", "browser_minor": "0",
                          "device_family": "Other", "is_bot": false, "is_mediawiki": false,
                          "os_family": "Linux", "os_major": null, "os_minor": null,
                          "wmf_app_version": "-"},
            "uuid": "749684341abf513186c71f74c6a09502", "webHost": "test.wikipedia.org",
            "wiki": "testwiki"}"#,
    ));
    let registry = sample_registry();
    assert_eq!(registry.validate_capsule(&capsule), Ok(()));
    let mut bad = capsule;
    bad.insert("event".to_owned(), json!({"articleTitle": "no id"}));
    assert_eq!(
        registry.validate_capsule(&bad),
        invalid("/event: \"articleId\" is a required property")
    );
}

#[test]
fn tv5_to_tv7_schema_violations() {
    let registry = sample_registry();
    let mut missing_wiki = tv3();
    missing_wiki.remove("wiki");
    assert_eq!(
        registry.validate_capsule(&missing_wiki),
        invalid("\"wiki\" is a required property")
    );

    let mut bogus_event = tv3();
    if let Some(Value::Object(event)) = bogus_event.get_mut("event") {
        event.insert("bogus".to_owned(), json!(1));
    }
    assert_eq!(
        registry.validate_capsule(&bogus_event),
        invalid("/event: Additional properties are not allowed ('bogus' was unexpected)")
    );

    let mut bogus_capsule = tv3();
    bogus_capsule.insert("bogusCapsule".to_owned(), json!(1));
    assert_eq!(
        registry.validate_capsule(&bogus_capsule),
        invalid("Additional properties are not allowed ('bogusCapsule' was unexpected)")
    );
}

#[test]
fn tv8_event_missing_empty_array_or_string_is_valid() {
    let registry = sample_registry();
    let mut missing = tv3();
    missing.remove("event");
    assert_eq!(registry.validate_capsule(&missing), Ok(()));
    for event in [json!([]), json!("str")] {
        let mut capsule = tv3();
        capsule.insert("event".to_owned(), event);
        assert_eq!(registry.validate_capsule(&capsule), Ok(()));
    }
}

#[test]
fn tv9_and_tv10_scid_errors() {
    let registry = sample_registry();
    let with_raw_revision = |text: &str| {
        object(parse(
            &serde_json::to_string(&tv3())
                .expect("serialise")
                .replace("\"revision\":7731316", &format!("\"revision\":{text}")),
        ))
    };
    assert_eq!(
        registry.validate_capsule(&with_raw_revision("\"7731316\"")),
        invalid("Invalid revision ID type: <class 'str'>")
    );
    assert_eq!(
        registry.validate_capsule(&with_raw_revision("7731316.0")),
        invalid("Invalid revision ID type: <class 'float'>")
    );
    assert_eq!(
        registry.validate_capsule(&with_raw_revision("-1")),
        invalid("Invalid revision ID -1")
    );
    let mut bad_name = tv3();
    bad_name.insert("schema".to_owned(), json!("Bad Name!"));
    assert_eq!(
        registry.validate_capsule(&bad_name),
        invalid("Invalid schema name: Bad Name!")
    );
    assert_eq!(registry.compiled_count(), 0);
}

#[test]
fn formats_are_not_enforced() {
    let mut capsule = tv3();
    capsule.insert("dt".to_owned(), json!("not-a-date"));
    assert_eq!(sample_registry().validate_capsule(&capsule), Ok(()));
}

#[test]
fn unknown_scid_is_schema_unavailable() {
    let registry = sample_registry();
    let directory = manifest_path("config/schemas");
    let capsule = capsule_of("NoSuchSchemaXyz", 7731316, json!({}));
    assert_eq!(
        registry.validate_capsule(&capsule),
        Err(CapsuleValidationError::SchemaUnavailable {
            name: "NoSuchSchemaXyz".to_owned(),
            revision: 7731316,
            message: format!(
                "Schema NoSuchSchemaXyz revision 7731316 not found \
                 (searched: legacy schema directory {})",
                directory.display()
            ),
        })
    );
    let capsule = capsule_of("Echo", 1, json!({}));
    let error = registry
        .validate_capsule(&capsule)
        .expect_err("no such revision");
    assert_eq!(error.code(), "processor");
}

#[test]
fn navigation_timing_sample() {
    let registry = sample_registry();
    let event = json!({"isAnon": true, "isOversample": false, "mediaWikiVersion": "1.35.0-wmf.10",
                       "responseStart": 120, "responseEnd": 180, "domComplete": 950,
                       "action": "view", "netinfoEffectiveConnectionType": "4g",
                       "deviceMemory": 8, "namespaceId": -1, "originCountry": "NL"});
    assert_eq!(
        registry.validate_capsule(&capsule_of("NavigationTiming", 18988839, event.clone())),
        Ok(())
    );
    let mut negative = event.clone();
    negative["domComplete"] = json!(-5);
    assert_eq!(
        registry.validate_capsule(&capsule_of("NavigationTiming", 18988839, negative)),
        invalid("/event/domComplete: -5 is less than the minimum of 0")
    );
    let mut missing = event;
    if let Value::Object(map) = &mut missing {
        map.remove("isAnon");
    }
    assert_eq!(
        registry.validate_capsule(&capsule_of("NavigationTiming", 18988839, missing)),
        invalid("/event: \"isAnon\" is a required property")
    );
}

#[test]
fn search_satisfaction_sample() {
    let registry = sample_registry();
    let event = json!({"action": "searchResultPage", "source": "fulltext",
                       "searchSessionId": "0123456789abcdefghij0123",
                       "pageViewId": "0123456789abcdef0123", "uniqueId": "abc",
                       "query": "hello", "hitsReturned": 20, "inputLocation": "header-moved"});
    assert_eq!(
        registry.validate_capsule(&capsule_of("SearchSatisfaction", 19240639, event.clone())),
        Ok(())
    );
    let mut bad_pattern = event.clone();
    bad_pattern["pageViewId"] = json!("XYZ");
    assert_eq!(
        registry.validate_capsule(&capsule_of("SearchSatisfaction", 19240639, bad_pattern)),
        invalid("/event/pageViewId: \"XYZ\" does not match \"^[0-9a-f]{20}$\"")
    );
    let mut too_long = event.clone();
    too_long["uniqueId"] = json!("x".repeat(41));
    let error = registry
        .validate_capsule(&capsule_of("SearchSatisfaction", 19240639, too_long))
        .expect_err("too long");
    assert!(error.message().starts_with("/event/uniqueId: "), "{error}");
    let mut bad_enum = event;
    bad_enum["checkin"] = json!(15);
    let error = registry
        .validate_capsule(&capsule_of("SearchSatisfaction", 19240639, bad_enum))
        .expect_err("not an allowed checkin");
    assert!(
        error
            .message()
            .starts_with("/event/checkin: 15 is not one of"),
        "{error}"
    );
}

#[test]
fn edit_attempt_step_yaml_sample_with_nested_object() {
    let registry = sample_registry();
    let event = json!({"version": 1, "action": "ready",
                       "editing_session_id": "0123456789abcdef0123456789abcdef",
                       "editor_interface": "visualeditor", "platform": "desktop",
                       "page_id": 15580374, "page_title": "Main_Page", "page_ns": 0,
                       "revision_id": 932001234, "user_id": 0, "user_editcount": 0,
                       "timing": {"ready": 850, "loaded": 1200}});
    assert_eq!(
        registry.validate_capsule(&capsule_of("EditAttemptStep", 18530416, event.clone())),
        Ok(())
    );
    // Nested objects do not get additionalProperties: false by default.
    let mut nested_extra = event.clone();
    nested_extra["timing"]["firstChange"] = json!(3);
    assert_eq!(
        registry.validate_capsule(&capsule_of("EditAttemptStep", 18530416, nested_extra)),
        Ok(())
    );
    let mut nested_negative = event.clone();
    nested_negative["timing"]["ready"] = json!(-1);
    assert_eq!(
        registry.validate_capsule(&capsule_of("EditAttemptStep", 18530416, nested_negative)),
        invalid("/event/timing/ready: -1 is less than the minimum of 0")
    );
    let mut top_extra = event;
    top_extra["extra"] = json!(true);
    assert_eq!(
        registry.validate_capsule(&capsule_of("EditAttemptStep", 18530416, top_extra)),
        invalid("/event: Additional properties are not allowed ('extra' was unexpected)")
    );
}

#[test]
fn broken_schema_directory_is_a_load_error_naming_each_file() {
    let directory = manifest_path("tests/fixtures/schemas/broken");
    let error = LegacyDirSource::load(&directory).expect_err("broken directory");
    let problems: Vec<(PathBuf, &str)> = error
        .problems
        .iter()
        .map(|p| {
            (
                p.path
                    .strip_prefix(&directory)
                    .map(PathBuf::from)
                    .unwrap_or_default(),
                p.problem.as_str(),
            )
        })
        .collect();
    assert_eq!(problems.len(), 4, "{error}");
    assert_eq!(problems[0].0, PathBuf::from("Broken/1.json"));
    assert!(
        problems[0].1.starts_with("invalid JSON: "),
        "{}",
        problems[0].1
    );
    assert_eq!(problems[1].0, PathBuf::from("Broken/2.yaml"));
    assert_eq!(
        problems[1].1,
        "invalid draft-3 schema at #/properties/a/type: unknown type name \"float\""
    );
    assert_eq!(problems[2].0, PathBuf::from("Dup/5.yml"));
    assert_eq!(
        problems[2].1,
        format!(
            "defines the same schema revision as {}",
            directory.join("Dup/5.json").display()
        )
    );
    assert_eq!(problems[3].0, PathBuf::from("README.txt"));
    assert!(
        problems[3].1.starts_with("not a schema file"),
        "{}",
        problems[3].1
    );
    assert!(error.to_string().contains("(4 problems)"), "{error}");
}
