//! The parsed user-agent object that goes into the capsule's `userAgent` field.

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
    fn to_json_agrees_with_the_serde_derive() {
        let info = firefox_10();
        let via_serde = serde_json::to_value(&info).expect("plain struct serialises");
        assert_eq!(info.to_json(), via_serde);
        assert_eq!(info.to_json().as_object().map(Map::len), Some(10));
    }
}
