//! The lines one request brings into the pipeline (its events as compact JSON, or its one
//! beacon line), kept in one buffer with their ends, the way a pipeline batch keeps its lines:
//! one allocation per request instead of one per event, and one copy into the batch.

/// The lines of one request, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestLines {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl RequestLines {
    /// Room for `lines` lines of `bytes` bytes in all.
    pub fn with_capacity(lines: usize, bytes: usize) -> Self {
        RequestLines {
            data: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(lines),
        }
    }

    /// One line.
    pub fn one(line: &[u8]) -> Self {
        let mut lines = RequestLines::with_capacity(1, line.len());
        lines.push(line);
        lines
    }

    /// Appends a line.
    pub fn push(&mut self, line: &[u8]) {
        self.data.extend_from_slice(line);
        self.ends.push(self.data.len());
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The lines.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let line = self.data.get(start..end).unwrap_or_default();
            start = end;
            line
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_back_as_pushed() {
        let mut lines = RequestLines::with_capacity(3, 8);
        for line in [&b"{}"[..], b"", b"{\"a\":1}"] {
            lines.push(line);
        }
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines.iter().collect::<Vec<_>>(),
            vec![&b"{}"[..], b"", b"{\"a\":1}"]
        );
        assert_eq!(RequestLines::default().len(), 0);
        assert_eq!(RequestLines::one(b"x").iter().collect::<Vec<_>>(), [b"x"]);
    }
}
