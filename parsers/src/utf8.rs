//! UTF-8 validation of whole lines and decoded capsules, the two texts every line is checked as.

use std::str::Utf8Error;

/// `bytes` as text if they are valid UTF-8: the same answer as [`std::str::from_utf8`], found
/// with SIMD validation (the `simdutf8` crate, which picks AVX2 or SSE 4.2 at run time).
/// Only invalid input is looked at again by the standard library, for its error's position.
pub fn from_utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => std::str::from_utf8(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn agrees_with_the_standard_library_on_edge_cases() {
        let cases: &[&[u8]] = &[
            b"",
            b"plain ascii text that is longer than one SIMD register of sixty-four bytes....",
            "é☆😀 mixed with ascii".as_bytes(),
            b"\xC3\x28",
            b"\xED\xA0\xBD",
            b"\xF4\x90\x80\x80",
            b"\xC0\xAF",
            b"ab\xE2\x98",
            b"\xFF",
        ];
        for case in cases {
            assert_eq!(from_utf8(case), std::str::from_utf8(case), "{case:?}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_standard_library(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(from_utf8(&bytes), std::str::from_utf8(&bytes));
        }

        #[test]
        fn agrees_on_mostly_valid_text(text in any::<String>(), flip in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let at = flip.index(bytes.len());
                bytes[at] = byte;
            }
            prop_assert_eq!(from_utf8(&bytes), std::str::from_utf8(&bytes));
        }
    }
}
