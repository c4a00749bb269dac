//! `format` checks added to the JSON-Schema library's own, so that Event Platform schemas are
//! checked like AJV v6 (`format: 'fast'`) checks them (eventgate.md §2.4).
//!
//! The library checks `date-time`, `date`, `time`, `uri`, `uri-reference`, `email`, `hostname`,
//! `ipv4`, `ipv6`, `regex`, `json-pointer`, … itself (RFC 3339 / RFC 3986 strict). AJV v6 also
//! checks `uuid` in draft-04/06/07 schemas, which the library only knows from 2019-09 on;
//! [`is_ajv_uuid`] fills that gap.

/// AJV v6's `uuid` format: optional `urn:uuid:` prefix, then `8-4-4-4-12` hexadecimal digits,
/// case-insensitive.
pub fn is_ajv_uuid(value: &str) -> bool {
    let value = match value.get(..9) {
        Some(prefix) if prefix.eq_ignore_ascii_case("urn:uuid:") => value.get(9..).unwrap_or(""),
        _ => value,
    };
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_like_ajv() {
        for valid in [
            "5e1dd101-641c-11e8-ab6c-b083fecf1287",
            "5E1DD101-641C-11E8-AB6C-B083FECF1287",
            "urn:uuid:5e1dd101-641c-11e8-ab6c-b083fecf1287",
            "URN:UUID:5e1dd101-641c-11e8-ab6c-b083fecf1287",
        ] {
            assert!(is_ajv_uuid(valid), "{valid}");
        }
        for invalid in [
            "",
            "5e1dd101641c11e8ab6cb083fecf1287",
            "5e1dd101-641c-11e8-ab6c-b083fecf128",
            "5e1dd101-641c-11e8-ab6c-b083fecf1287-",
            "5e1dd101-641c-11e8-ab6c-b083fecf128g",
            "urn:uuid:",
            "é1dd101-641c-11e8-ab6c-b083fecf1287",
        ] {
            assert!(!is_ajv_uuid(invalid), "{invalid}");
        }
    }
}
