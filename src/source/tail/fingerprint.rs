//! Content fingerprints: a checksum (XXH3, 64 bits) of a byte range of a file, with the range's
//! length. Two are used per file: the *head* (its first bytes, which identify the content whatever
//! the file's name or inode) and the *window* (the bytes just before a read position, which
//! confirm that a file really continues the content read so far).

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;

use serde::{Deserialize, Serialize};

/// Checksum of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Number of bytes covered.
    pub len: u64,
    /// XXH3-64 of those bytes.
    pub hash: u64,
}

impl Fingerprint {
    /// The fingerprint of no bytes at all (an empty file, the start of a file).
    pub const EMPTY: Fingerprint = Fingerprint {
        len: 0,
        hash: 0x2D06_8005_38D3_94C2,
    };

    /// Stands for bytes that could not be read: matches no real content (a real fingerprint of
    /// zero bytes is [`Fingerprint::EMPTY`]).
    pub const UNKNOWN: Fingerprint = Fingerprint { len: 0, hash: 0 };

    /// The fingerprint of `bytes`.
    pub fn of(bytes: &[u8]) -> Fingerprint {
        Fingerprint {
            len: bytes.len() as u64,
            hash: xxhash_rust::xxh3::xxh3_64(bytes),
        }
    }

    /// The fingerprint of `file`'s bytes `[start, start + len)`, or `None` when the file ends
    /// before that range does.
    pub fn read(file: &File, start: u64, len: u64) -> std::io::Result<Option<Fingerprint>> {
        let Ok(size) = usize::try_from(len) else {
            return Ok(None);
        };
        let mut buffer = vec![0u8; size];
        if read_exact_at(file, &mut buffer, start)? {
            Ok(Some(Fingerprint::of(&buffer)))
        } else {
            Ok(None)
        }
    }

    /// The head fingerprint of a file `file_len` bytes long: its first `min(file_len, max)` bytes.
    /// `None` when the file turned out shorter than `file_len` while reading.
    pub fn head(file: &File, file_len: u64, max: u64) -> std::io::Result<Option<Fingerprint>> {
        Fingerprint::read(file, 0, file_len.min(max))
    }

    /// The window fingerprint before `offset`: the `min(offset, max)` bytes that end there.
    pub fn window_before(
        file: &File,
        offset: u64,
        max: u64,
    ) -> std::io::Result<Option<Fingerprint>> {
        let len = offset.min(max);
        Fingerprint::read(file, offset.saturating_sub(len), len)
    }
}

/// Reads exactly `buffer.len()` bytes at `offset`. `Ok(false)` when the file is shorter.
fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<bool> {
    let mut filled = 0usize;
    while filled < buffer.len() {
        let Some(rest) = buffer.get_mut(filled..) else {
            break;
        };
        match file.read_at(rest, offset + filled as u64) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn empty_constant_is_the_checksum_of_nothing() {
        assert_eq!(Fingerprint::of(b""), Fingerprint::EMPTY);
    }

    #[test]
    fn head_and_window_cover_the_expected_bytes() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        assert_eq!(
            Fingerprint::head(&file, 10, 4).unwrap(),
            Some(Fingerprint::of(b"0123"))
        );
        assert_eq!(
            Fingerprint::head(&file, 10, 64).unwrap(),
            Some(Fingerprint::of(b"0123456789"))
        );
        assert_eq!(
            Fingerprint::window_before(&file, 7, 3).unwrap(),
            Some(Fingerprint::of(b"456"))
        );
        assert_eq!(
            Fingerprint::window_before(&file, 2, 3).unwrap(),
            Some(Fingerprint::of(b"01"))
        );
        assert_eq!(Fingerprint::window_before(&file, 12, 3).unwrap(), None);
        assert_eq!(
            Fingerprint::head(&file, 0, 8).unwrap(),
            Some(Fingerprint::EMPTY)
        );
    }
}
