//! The last bytes read from a file, kept so that the window fingerprint before any recent line
//! boundary can be computed without reading the file again, and so that a copy of the file can be
//! checked against what was actually read.

use super::fingerprint::Fingerprint;

/// Up to `capacity` bytes ending at `end` (the read position).
#[derive(Debug, Clone)]
pub struct RecentBytes {
    capacity: usize,
    bytes: Vec<u8>,
    end: u64,
}

impl RecentBytes {
    /// Nothing known yet; the read position is `end`.
    pub fn new(capacity: usize, end: u64) -> Self {
        RecentBytes {
            capacity,
            bytes: Vec::with_capacity(capacity),
            end,
        }
    }

    /// Known bytes `bytes` ending at `end` (only the last `capacity` are kept).
    pub fn with_bytes(capacity: usize, end: u64, bytes: &[u8]) -> Self {
        let mut recent = RecentBytes::new(capacity, end.saturating_sub(bytes.len() as u64));
        recent.push(bytes);
        recent
    }

    /// How many bytes are kept at most (the window length).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The read position the kept bytes end at.
    #[cfg(test)]
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Appends the bytes just read.
    pub fn push(&mut self, data: &[u8]) {
        self.end += data.len() as u64;
        if data.len() >= self.capacity {
            self.bytes.clear();
            let start = data.len() - self.capacity;
            self.bytes
                .extend_from_slice(data.get(start..).unwrap_or_default());
            return;
        }
        self.bytes.extend_from_slice(data);
        if self.bytes.len() > self.capacity {
            let excess = self.bytes.len() - self.capacity;
            self.bytes.drain(..excess);
        }
    }

    /// The fingerprint of the `min(offset, capacity)` bytes ending at `offset`, when they are all
    /// kept.
    pub fn window_before(&self, offset: u64) -> Option<Fingerprint> {
        let len = offset.min(self.capacity as u64);
        let behind = self.end.checked_sub(offset)?;
        let kept = self.bytes.len() as u64;
        let stop = kept.checked_sub(behind)?;
        let start = stop.checked_sub(len)?;
        let slice = self
            .bytes
            .get(usize::try_from(start).ok()?..usize::try_from(stop).ok()?)?;
        Some(Fingerprint::of(slice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes_and_answers_windows_inside_them() {
        let mut recent = RecentBytes::new(4, 0);
        recent.push(b"ab");
        assert_eq!(recent.window_before(2), Some(Fingerprint::of(b"ab")));
        assert_eq!(recent.window_before(1), Some(Fingerprint::of(b"a")));
        recent.push(b"cdef");
        assert_eq!(recent.end(), 6);
        assert_eq!(recent.window_before(6), Some(Fingerprint::of(b"cdef")));
        // Needs bytes that are no longer kept.
        assert_eq!(recent.window_before(5), None);
        recent.push(b"0123456789");
        assert_eq!(recent.window_before(16), Some(Fingerprint::of(b"6789")));
        assert_eq!(recent.window_before(17), None);
    }

    #[test]
    fn starts_at_a_resume_position() {
        let recent = RecentBytes::with_bytes(3, 10, b"xyz");
        assert_eq!(recent.end(), 10);
        assert_eq!(recent.window_before(10), Some(Fingerprint::of(b"xyz")));
        assert_eq!(
            RecentBytes::new(3, 0).window_before(0),
            Some(Fingerprint::EMPTY)
        );
    }
}
