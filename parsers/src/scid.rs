//! Schema identifiers (SCIDs) of legacy events: the schema-name rule and the recovery of the
//! schema and revision from a raw line that could not be parsed.

/// Whether `name` is a legal legacy schema name: `^[./a-zA-Z0-9_-]{1,63}$`.
pub fn is_valid_schema_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'_' | b'-'))
}

/// Schema and revision recovered from a raw line, for error events about lines that never parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredScid<'a> {
    /// The schema name, or `None` when the line carries none the reference's search would find.
    pub schema: Option<&'a str>,
    /// The revision digits (unbounded, kept as text), or `None`.
    pub revision: Option<&'a str>,
}

const SCHEMA_NEEDLE: &str = "%22schema%22%3A%22";
const REVISION_NEEDLE: &str = "%22revision%22%3A";

/// Searches the raw line the way the reference does: for `%22schema%22%3A%22(<name>)%22` and
/// `%22revision%22%3A(\d+)` (upper-case percent-encoding only, i.e. encodeURIComponent output).
/// The first occurrence that is followed by a well-formed value wins.
pub fn recover_from_raw_line(line: &str) -> RecoveredScid<'_> {
    RecoveredScid {
        schema: find_schema(line),
        revision: find_revision(line),
    }
}

fn find_schema(line: &str) -> Option<&str> {
    line.match_indices(SCHEMA_NEEDLE).find_map(|(at, _)| {
        let rest = &line[at + SCHEMA_NEEDLE.len()..];
        let end = rest.find("%22")?;
        let name = &rest[..end];
        is_valid_schema_name(name).then_some(name)
    })
}

fn find_revision(line: &str) -> Option<&str> {
    line.match_indices(REVISION_NEEDLE).find_map(|(at, _)| {
        let rest = &line[at + REVISION_NEEDLE.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        (digits > 0).then(|| &rest[..digits])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_name_rule() {
        assert!(is_valid_schema_name("Echo"));
        assert!(is_valid_schema_name("analytics/legacy/test"));
        assert!(is_valid_schema_name("a.b-c_d"));
        assert!(
            is_valid_schema_name("123"),
            "digits alone pass the name pattern"
        );
        assert!(!is_valid_schema_name(""));
        assert!(!is_valid_schema_name("Foo%"));
        assert!(!is_valid_schema_name("Bad Name!"));
        assert!(!is_valid_schema_name(&"X".repeat(64)));
        assert!(is_valid_schema_name(&"X".repeat(63)));
    }

    #[test]
    fn recovers_from_reference_fixture_line() {
        // Reference §1.1 / TV-17: the repo's corrupted fixture line.
        let line = "?%7B%22event%22%3A%7B%22mobileMode%22%3A%22stable%22%2C%22name%22%3A%22home%22%2C%22destination%22%3A%22%2Fwiki%2FPagina_principale%22%7D%2C%22revision%22%3A11568715%2C%22schema%22%3A%22MobileWebMainMenuClickTracking%22%2C%22webHost%22%3A%12345terfdit.m.wikipedia.org%22%2C%22wiki%22%3A%22itwiki%22%7D;\tcp3013.esams.wmnet\t4724275\t2015-09-21T21:55:27\t1.2.3.4\t\"Mozilla\"";
        let got = recover_from_raw_line(line);
        assert_eq!(got.schema, Some("MobileWebMainMenuClickTracking"));
        assert_eq!(got.revision, Some("11568715"));
    }

    #[test]
    fn nothing_to_recover() {
        let got =
            recover_from_raw_line("?%7B%22event%22%3A%7B%22version%22%3A%221.1%22%2C%22eventId%");
        assert_eq!(
            got,
            RecoveredScid {
                schema: None,
                revision: None
            }
        );
        // Lower-case encodings are not searched, like the reference.
        let got = recover_from_raw_line("?%7b%22schema%22%3a%22Echo%22");
        assert_eq!(got.schema, None);
    }

    #[test]
    fn skips_invalid_names_and_empty_revisions() {
        let got = recover_from_raw_line("%22schema%22%3A%22Bad Name%22 %22schema%22%3A%22Good%22 %22revision%22%3Ax %22revision%22%3A42");
        assert_eq!(got.schema, Some("Good"));
        assert_eq!(got.revision, Some("42"));
    }
}
