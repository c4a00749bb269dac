//! Comparing object keys in `String` order (bytes) with few `memcmp` calls.
//!
//! Walks over sorted members compare many short keys; with a key's first eight bytes packed in
//! a word, nearly every comparison is settled in a register.

use std::cmp::Ordering;

/// The first (up to) eight bytes of `bytes`, big-endian, zero-padded: comparing two of these
/// orders names by their first eight bytes.
pub fn sort_word(bytes: &[u8]) -> u64 {
    if let Some(word) = bytes.first_chunk::<8>() {
        return u64::from_be_bytes(*word);
    }
    let mut word = [0_u8; 8];
    for (slot, byte) in word.iter_mut().zip(bytes) {
        *slot = *byte;
    }
    u64::from_be_bytes(word)
}

/// `a.cmp(b)` (byte order) for names whose [`sort_word`]s are known.
pub fn compare_keys(a: &str, a_word: u64, b: &str, b_word: u64) -> Ordering {
    match a_word.cmp(&b_word) {
        Ordering::Equal => {}
        // Where the zero-padded words first differ, either both bytes are real, or the shorter
        // name (a prefix of the other so far) has padding against a non-zero byte.
        unequal => return unequal,
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() < 8 || b.len() < 8 {
        // Equal words with a short side: the shorter name is a prefix of the other (whose
        // bytes up to the eighth, if any, are zeros).
        a.len().cmp(&b.len())
    } else {
        a.get(8..).cmp(&b.get(8..))
    }
}

/// `a.cmp(b)` (byte order), through [`compare_keys`].
pub fn cmp_keys(a: &str, b: &str) -> Ordering {
    compare_keys(a, sort_word(a.as_bytes()), b, sort_word(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn orders_like_str() {
        let keys = [
            "",
            "a",
            "a\0",
            "a\0\0",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefgi",
            "b",
            "é",
            "\u{7f}",
            "zzzzzzzzzzzz",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(cmp_keys(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn compares_keys_like_str(
            a in "[ab\\x00é]{0,20}",
            b in "[ab\\x00é]{0,20}",
            prefix in "[a-z]{0,9}",
        ) {
            let (a, b) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
            prop_assert_eq!(cmp_keys(&a, &b), a.as_str().cmp(b.as_str()));
            prop_assert_eq!(cmp_keys(&a, &a), Ordering::Equal);
        }
    }
}
