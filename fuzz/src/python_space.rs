//! Python's notion of whitespace (`str.isspace()`, what `\s` means in the reference's `str`
//! regular expressions), written out independently of the code under test.

/// Every character for which Python's `str.isspace()` is true.
pub const PYTHON_SPACES: [char; 29] = [
    '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', ' ', '\u{85}',
    '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}',
    '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}',
    '\u{205f}', '\u{3000}',
];

/// The same set as a `regex` crate character class body (without the brackets).
pub const PYTHON_SPACE_CLASS: &str = r"\t\n\x0B\x0C\r\x1C-\x1F \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";

/// Whether `c` is Python whitespace.
pub fn is_python_space(c: char) -> bool {
    PYTHON_SPACES.contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_and_the_list_agree() {
        let class = regex::Regex::new(&format!("^[{PYTHON_SPACE_CLASS}]$"))
            .unwrap_or_else(|e| panic!("{e}"));
        let from_class: Vec<char> = ('\0'..=char::MAX)
            .filter(|c| class.is_match(c.encode_utf8(&mut [0; 4])))
            .collect();
        assert_eq!(from_class, PYTHON_SPACES);
    }
}
