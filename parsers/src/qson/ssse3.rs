//! Percent-decoding sixteen bytes at a time with SSSE3 (x86-64).
//!
//! The byte-wise decoder spends most of its time on mispredicted branches: in an encoded JSON
//! capsule about a third of the bytes start an escape, at no predictable distance from each
//! other. This decoder has no data-dependent branch. It relies on one property of the format:
//! **escapes are independent of each other**. Whether the `%` at position `j` starts an escape
//! depends only on the bytes at `j + 1` and `j + 2` (both hex digits), and those two bytes, being
//! hex digits, are never a `%` themselves; so no escape can swallow the start of another, and
//! the sequential definition (scan left to right, a valid `%XX` is one byte and skips three) is
//! the same as this parallel one:
//!
//! - `start[j]` = the byte at `j` is `%` and the bytes at `j + 1`, `j + 2` are hex digits;
//! - `consumed[j]` = `start[j - 1]` or `start[j - 2]` (the two digits of an escape);
//! - every position that is not consumed writes one byte: the escape's value where `start[j]`,
//!   a space for `+`, the byte itself otherwise.
//!
//! Each step loads the sixteen bytes at `p`, `p + 1` and `p + 2`, computes the sixteen output
//! candidates and the sixteen-bit mask of positions kept, and packs the kept bytes together with
//! one `pshufb` per step: each eight-lane half is compacted through a 256-entry table of shuffle
//! indices and stored as eight bytes, the next store starting where the kept bytes end. Escapes in
//! the last two lanes consume positions of the next step, carried over as a mask.
//!
//! Only whole steps are decoded here (as long as eighteen bytes are left); the caller finishes the
//! rest with the byte-wise decoder, from the position returned.

use std::arch::x86_64::{
    __m128i, _mm_add_epi8, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8,
    _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
    _mm_shuffle_epi8, _mm_slli_epi16,
};

/// Input bytes decoded per step.
const STEP: usize = 16;
/// Bytes read per step: the step's sixteen and the two digits an escape in its last lane needs.
const WINDOW: usize = STEP + 2;

/// For every eight-bit mask of kept lanes, the `pshufb` indices that gather those lanes to the
/// front (as the little-endian bytes of a `u64`); the unused tail selects zero (index 0x80).
const COMPACT: [u64; 256] = {
    let mut table = [0_u64; 256];
    let mut mask = 0;
    while mask < 256 {
        let mut indices = [0x80_u8; 8];
        let mut out = 0;
        let mut lane = 0;
        while lane < 8 {
            if mask & (1 << lane) != 0 {
                indices[out] = lane as u8;
                out += 1;
            }
            lane += 1;
        }
        table[mask] = u64::from_le_bytes(indices);
        mask += 1;
    }
    table
};

/// Added to the high half's indices: its lanes are 8..16 of the vector.
const HIGH_HALF: u64 = 0x0808_0808_0808_0808;

/// Whether this CPU can run [`decode_steps`]. (`is_x86_feature_detected!` caches its answer.)
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("ssse3")
}

/// Decodes whole steps of `bytes` into `out` from its start; returns `(read, written)`: the input
/// position where the byte-wise decoder must go on (past digits already consumed by an escape of
/// the last step) and the number of bytes written. `out` must be at least as long as `bytes`;
/// if it is not, nothing is decoded.
///
/// Outside code compiled for SSSE3, calling it is `unsafe`: only call it where [`available`].
#[target_feature(enable = "ssse3")]
pub(super) fn decode_steps(bytes: &[u8], out: &mut [u8]) -> (usize, usize) {
    let mut read = 0;
    let mut written = 0;
    // Positions of the next step consumed by escapes of this one (bit 0: its first byte).
    let mut carried: u32 = 0;
    if out.len() < bytes.len() {
        return (0, 0);
    }
    while let Some(window) = bytes.get(read..read + WINDOW) {
        let (Some(here), Some(next), Some(after_next)) =
            (load(window, 0), load(window, 1), load(window, 2))
        else {
            break;
        };
        // Written bytes never outrun read ones, so these sixteen output bytes exist.
        let Some(target) = out.get_mut(written..written + STEP) else {
            break;
        };

        let starts = _mm_and_si128(
            _mm_cmpeq_epi8(here, _mm_set1_epi8(b'%' as i8)),
            _mm_and_si128(is_hex_digit(next), is_hex_digit(after_next)),
        );
        let start_bits = _mm_movemask_epi8(starts) as u32;
        let digits = (start_bits << 1) | (start_bits << 2);
        let kept = !(digits | carried) & 0xFFFF;
        carried = digits >> STEP;

        let escaped = _mm_or_si128(
            _mm_and_si128(
                _mm_slli_epi16(hex_value(next), 4),
                _mm_set1_epi8(0xF0_u8 as i8),
            ),
            hex_value(after_next),
        );
        let plus = _mm_cmpeq_epi8(here, _mm_set1_epi8(b'+' as i8));
        let literal = select(plus, _mm_set1_epi8(b' ' as i8), here);
        let decoded = select(starts, escaped, literal);

        let low = (kept & 0xFF) as usize;
        let high = (kept >> 8) as usize;
        let (Some(&low_indices), Some(&high_indices)) = (COMPACT.get(low), COMPACT.get(high))
        else {
            break;
        };
        let shuffle = _mm_set_epi64x((high_indices + HIGH_HALF) as i64, low_indices as i64);
        let packed: [u8; STEP] = bytemuck::cast(_mm_shuffle_epi8(decoded, shuffle));
        let low_kept = low.count_ones() as usize;
        let (packed_low, packed_high) = packed.split_at(STEP / 2);
        if let Some(slot) = target.get_mut(..STEP / 2) {
            slot.copy_from_slice(packed_low);
        }
        if let Some(slot) = target.get_mut(low_kept..low_kept + STEP / 2) {
            slot.copy_from_slice(packed_high);
        }
        written += low_kept + high.count_ones() as usize;
        read += STEP;
    }
    (read + carried.count_ones() as usize, written)
}

/// The sixteen bytes of `window` from `at`.
#[inline]
#[target_feature(enable = "ssse3")]
fn load(window: &[u8], at: usize) -> Option<__m128i> {
    let bytes: &[u8; STEP] = window.get(at..)?.first_chunk()?;
    Some(bytemuck::cast(*bytes))
}

/// All ones in the lanes of `bytes` that are ASCII hex digits (either case).
#[inline]
#[target_feature(enable = "ssse3")]
fn is_hex_digit(bytes: __m128i) -> __m128i {
    // Signed comparisons: bytes from 0x80 up are negative, so they are never in range.
    let digit = _mm_and_si128(
        _mm_cmpgt_epi8(bytes, _mm_set1_epi8(b'0' as i8 - 1)),
        _mm_cmplt_epi8(bytes, _mm_set1_epi8(b'9' as i8 + 1)),
    );
    // Or-ing 0x20 folds `A-F` onto `a-f`; only those twelve bytes land in `a-f`.
    let folded = _mm_or_si128(bytes, _mm_set1_epi8(0x20));
    let letter = _mm_and_si128(
        _mm_cmpgt_epi8(folded, _mm_set1_epi8(b'a' as i8 - 1)),
        _mm_cmplt_epi8(folded, _mm_set1_epi8(b'f' as i8 + 1)),
    );
    _mm_or_si128(digit, letter)
}

/// The value of each lane read as a hex digit (meaningless in lanes that are not one): the low
/// nibble, plus 9 for letters (`A` = 0x41 and `a` = 0x61 have low nibble 1 and bit 0x40 set).
#[inline]
#[target_feature(enable = "ssse3")]
fn hex_value(bytes: __m128i) -> __m128i {
    let letter_bit = _mm_set1_epi8(0x40);
    let is_letter = _mm_cmpeq_epi8(_mm_and_si128(bytes, letter_bit), letter_bit);
    _mm_add_epi8(
        _mm_and_si128(bytes, _mm_set1_epi8(0x0F)),
        _mm_and_si128(is_letter, _mm_set1_epi8(9)),
    )
}

/// `when_set` in the lanes where `mask` is all ones, `otherwise` elsewhere.
#[inline]
#[target_feature(enable = "ssse3")]
fn select(mask: __m128i, when_set: __m128i, otherwise: __m128i) -> __m128i {
    _mm_or_si128(
        _mm_and_si128(mask, when_set),
        _mm_andnot_si128(mask, otherwise),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_table_gathers_the_set_lanes_in_order() {
        let entry = COMPACT.get(0b1010_0110).copied().unwrap_or_default();
        assert_eq!(entry.to_le_bytes(), [1, 2, 5, 7, 0x80, 0x80, 0x80, 0x80]);
        assert_eq!(
            COMPACT.get(0xFF).copied().unwrap_or_default().to_le_bytes(),
            [0, 1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(COMPACT.first().copied(), Some(0x8080_8080_8080_8080));
    }
}
