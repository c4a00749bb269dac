//! A fast, randomly seeded hasher for the user-agent cache's string keys.
//!
//! The standard library's SipHash costs more than the rest of a cache hit together for a
//! 100-150 byte user agent. This hasher reads eight bytes at a time and mixes each word with a
//! folded 64×64→128-bit multiplication (the construction of foldhash and of ahash's fallback),
//! seeded per cache from the standard library's random keys, so that which user agents collide
//! cannot be predicted from outside. It is not a cryptographic hash; the cache is bounded and a
//! collision only costs a slower lookup.

use std::hash::{BuildHasher, Hasher};

/// Odd 64-bit constants (from the digits of pi) used as multipliers.
const MULTIPLIER: u64 = 0x243f_6a88_85a3_08d3;
const FINAL_MULTIPLIER: u64 = 0x1319_8a2e_0370_7344 | 1;

/// The high and low halves of the full product, xored: every input bit affects every output
/// bit of the multiplication.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a).wrapping_mul(u128::from(b));
    // Truncation to the low half is the point of the fold.
    #[allow(clippy::cast_possible_truncation)]
    let (low, high) = (product as u64, (product >> 64) as u64);
    low ^ high
}

/// Builds [`KeyHasher`]s with seeds drawn once, at construction.
#[derive(Debug, Clone)]
pub struct RandomKeyState {
    seed: u64,
    word_seed: u64,
}

impl RandomKeyState {
    /// Fresh random seeds (from the standard library's per-process random keys, varied per
    /// instance).
    pub fn new() -> Self {
        let random = std::collections::hash_map::RandomState::new();
        RandomKeyState {
            seed: random.hash_one(0x5eed_u64),
            word_seed: random.hash_one(0x3070_u64) | 1,
        }
    }
}

impl Default for RandomKeyState {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildHasher for RandomKeyState {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher {
            state: self.seed,
            word_seed: self.word_seed,
        }
    }
}

/// The hasher of [`RandomKeyState`].
#[derive(Debug, Clone)]
pub struct KeyHasher {
    state: u64,
    word_seed: u64,
}

impl KeyHasher {
    fn mix(&mut self, word: u64) {
        self.state = folded_multiply(self.state ^ word ^ self.word_seed, MULTIPLIER);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0_u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        let mut word = [0_u8; 8];
        if let Some(head) = word.get_mut(..tail.len()) {
            head.copy_from_slice(tail);
        }
        // The length goes into the last word, so that inputs differing only by trailing zero
        // bytes differ.
        let length = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.mix(u64::from_le_bytes(word) ^ length.rotate_left(56));
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte) ^ 0x0100);
    }

    fn finish(&self) -> u64 {
        folded_multiply(self.state, FINAL_MULTIPLIER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn same_state_same_hash() {
        let state = RandomKeyState::new();
        let ua = "\"Mozilla/5.0 (X11; Linux x86_64; rv:10.0) Gecko/20100101 Firefox/10.0\"";
        assert_eq!(state.hash_one(ua), state.hash_one(ua));
        assert_eq!(state.hash_one(ua), state.hash_one(String::from(ua)));
    }

    #[test]
    fn seeds_differ_between_states() {
        let (a, b) = (RandomKeyState::new(), RandomKeyState::new());
        assert_ne!((a.seed, a.word_seed), (b.seed, b.word_seed));
    }

    #[test]
    fn near_identical_keys_do_not_collide() {
        let state = RandomKeyState::new();
        let mut hashes = HashSet::new();
        let mut keys = 0;
        for major in 0..200 {
            for suffix in ["", "\0", "\0\0", " ", "a"] {
                let ua = format!("Mozilla/5.0 Chrome/{major}.0{suffix}");
                hashes.insert(state.hash_one(&ua));
                keys += 1;
            }
        }
        for length in 0..64 {
            hashes.insert(state.hash_one("\0".repeat(length)));
            keys += 1;
        }
        assert_eq!(hashes.len(), keys);
    }
}
