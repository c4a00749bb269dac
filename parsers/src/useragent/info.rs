//! The parsed user-agent object that goes into the capsule's `userAgent` field.

use std::sync::Arc;

use serde_json::{Map, Value};

/// The family every uap domain falls back to when no regex matches (same as uap's convention).
pub const OTHER: &str = "Other";

/// The `wmf_app_version` value of a user agent that is not one of the Wikipedia apps.
pub const NO_APP_VERSION: &str = "-";

/// The 10-key object of reference §3.4.
///
/// The fields are declared in the reference's order; the JSON output is key-sorted anyway (the
/// workspace uses serde_json's default sorted `Map`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserAgentInfo {
    /// uap `user_agent.family` (`"Other"` when nothing matched).
    pub browser_family: String,
    /// uap `user_agent.major`.
    pub browser_major: Option<String>,
    /// uap `user_agent.minor`.
    pub browser_minor: Option<String>,
    /// uap `device.family` (`"Other"` when nothing matched).
    pub device_family: String,
    /// uap `os.family` (`"Other"` when nothing matched).
    pub os_family: String,
    /// uap `os.major`.
    pub os_major: Option<String>,
    /// uap `os.minor`.
    pub os_minor: Option<String>,
    /// Version of the Wikipedia app that sent the request, `"-"` for everything else.
    pub wmf_app_version: String,
    /// uap says `Spider`, or the device is unknown and Wikimedia's bot pattern matches.
    pub is_bot: bool,
    /// The user agent contains `mediawiki` in any case.
    pub is_mediawiki: bool,
}

impl UserAgentInfo {
    /// The JSON object with exactly the 10 keys; absent versions are `null`.
    pub fn to_json(&self) -> Value {
        fn optional(value: &Option<String>) -> Value {
            value
                .as_ref()
                .map_or(Value::Null, |s| Value::String(s.clone()))
        }
        let mut object = Map::new();
        object.insert(
            "browser_family".to_owned(),
            Value::String(self.browser_family.clone()),
        );
        object.insert("browser_major".to_owned(), optional(&self.browser_major));
        object.insert("browser_minor".to_owned(), optional(&self.browser_minor));
        object.insert(
            "device_family".to_owned(),
            Value::String(self.device_family.clone()),
        );
        object.insert(
            "os_family".to_owned(),
            Value::String(self.os_family.clone()),
        );
        object.insert("os_major".to_owned(), optional(&self.os_major));
        object.insert("os_minor".to_owned(), optional(&self.os_minor));
        object.insert(
            "wmf_app_version".to_owned(),
            Value::String(self.wmf_app_version.clone()),
        );
        object.insert("is_bot".to_owned(), Value::Bool(self.is_bot));
        object.insert("is_mediawiki".to_owned(), Value::Bool(self.is_mediawiki));
        Value::Object(object)
    }
}

/// A parsed user agent together with its JSON object rendered once (compact, sorted keys,
/// exactly what serialising [`UserAgentInfo::to_json`] gives). This is what the per-worker cache
/// keeps, so that writing a capsule's `userAgent` costs one copy of the rendered bytes instead of
/// building and serialising a 10-key object for every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedUserAgent {
    info: Arc<UserAgentInfo>,
    json: Box<str>,
}

impl RenderedUserAgent {
    /// Renders `info`.
    pub fn new(info: UserAgentInfo) -> Self {
        let json = render(&info);
        RenderedUserAgent {
            info: Arc::new(info),
            // The writer only ever writes UTF-8 (JSON text of UTF-8 strings).
            json: String::from_utf8(json).unwrap_or_default().into_boxed_str(),
        }
    }

    /// The parsed fields.
    pub fn info(&self) -> &Arc<UserAgentInfo> {
        &self.info
    }

    /// The JSON object, compact with sorted keys.
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// The JSON object of `info` written directly, members in sorted key order: the bytes of
/// serialising [`UserAgentInfo::to_json`], without building the object.
fn render(info: &UserAgentInfo) -> Vec<u8> {
    use crate::json_writer::write_str;
    fn optional(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            Some(text) => write_str(out, text),
            None => out.extend_from_slice(b"null"),
        }
    }
    fn flag(out: &mut Vec<u8>, value: bool) {
        out.extend_from_slice(if value { b"true" } else { b"false" });
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"browser_family\":");
    write_str(&mut out, &info.browser_family);
    out.extend_from_slice(b",\"browser_major\":");
    optional(&mut out, info.browser_major.as_deref());
    out.extend_from_slice(b",\"browser_minor\":");
    optional(&mut out, info.browser_minor.as_deref());
    out.extend_from_slice(b",\"device_family\":");
    write_str(&mut out, &info.device_family);
    out.extend_from_slice(b",\"is_bot\":");
    flag(&mut out, info.is_bot);
    out.extend_from_slice(b",\"is_mediawiki\":");
    flag(&mut out, info.is_mediawiki);
    out.extend_from_slice(b",\"os_family\":");
    write_str(&mut out, &info.os_family);
    out.extend_from_slice(b",\"os_major\":");
    optional(&mut out, info.os_major.as_deref());
    out.extend_from_slice(b",\"os_minor\":");
    optional(&mut out, info.os_minor.as_deref());
    out.extend_from_slice(b",\"wmf_app_version\":");
    write_str(&mut out, &info.wmf_app_version);
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firefox_10() -> UserAgentInfo {
        UserAgentInfo {
            browser_family: "Firefox".to_owned(),
            browser_major: Some("10".to_owned()),
            browser_minor: Some("0".to_owned()),
            device_family: OTHER.to_owned(),
            os_family: "Linux".to_owned(),
            os_major: None,
            os_minor: None,
            wmf_app_version: NO_APP_VERSION.to_owned(),
            is_bot: false,
            is_mediawiki: false,
        }
    }

    #[test]
    fn to_json_serialises_the_reference_example_byte_for_byte() {
        // Reference §3.4, first example (compact, sorted keys).
        let expected = r#"{"browser_family":"Firefox","browser_major":"10","browser_minor":"0","device_family":"Other","is_bot":false,"is_mediawiki":false,"os_family":"Linux","os_major":null,"os_minor":null,"wmf_app_version":"-"}"#;
        assert_eq!(firefox_10().to_json().to_string(), expected);
    }

    #[test]
    fn rendered_json_is_the_serialised_object() {
        let rendered = RenderedUserAgent::new(firefox_10());
        assert_eq!(
            rendered.json(),
            r#"{"browser_family":"Firefox","browser_major":"10","browser_minor":"0","device_family":"Other","is_bot":false,"is_mediawiki":false,"os_family":"Linux","os_major":null,"os_minor":null,"wmf_app_version":"-"}"#
        );
        assert_eq!(**rendered.info(), firefox_10());
        let escaped = RenderedUserAgent::new(UserAgentInfo {
            browser_family: "Say \"hi\"\n".to_owned(),
            ..firefox_10()
        });
        assert_eq!(
            escaped.json(),
            escaped.info().to_json().to_string(),
            "escaping as serde_json does"
        );
        assert!(escaped
            .json()
            .starts_with(r#"{"browser_family":"Say \"hi\"\n","#));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn rendering_is_serialising_the_object(
                texts in proptest::collection::vec(any::<String>(), 4),
                optionals in proptest::collection::vec(proptest::option::of("[ -~\\n\"\\\\é]{0,12}"), 4),
                is_bot in any::<bool>(),
                is_mediawiki in any::<bool>(),
            ) {
                let text = |i: usize| texts.get(i).cloned().unwrap_or_default();
                let optional = |i: usize| optionals.get(i).cloned().flatten();
                let info = UserAgentInfo {
                    browser_family: text(0),
                    browser_major: optional(0),
                    browser_minor: optional(1),
                    device_family: text(1),
                    os_family: text(2),
                    os_major: optional(2),
                    os_minor: optional(3),
                    wmf_app_version: text(3),
                    is_bot,
                    is_mediawiki,
                };
                let rendered = RenderedUserAgent::new(info.clone());
                prop_assert_eq!(rendered.json(), info.to_json().to_string());
            }
        }
    }

    #[test]
    fn to_json_agrees_with_the_serde_derive() {
        let info = firefox_10();
        let via_serde = serde_json::to_value(&info).expect("plain struct serialises");
        assert_eq!(info.to_json(), via_serde);
        assert_eq!(info.to_json().as_object().map(Map::len), Some(10));
    }
}
