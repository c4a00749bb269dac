#[derive(Default)]
pub struct IntSet {
    sparse: Vec<usize>,
    dense: Vec<usize>,
}

impl IntSet {
    pub fn new(capacity: usize) -> Self {
        Self {
            sparse: vec![usize::MAX; capacity],
            dense: Vec::with_capacity(capacity),
        }
    }

    pub fn insert(&mut self, value: usize) -> bool {
        let idx = self.sparse[value];
        if self.dense.get(idx) != Some(&value) {
            self.sparse[value] = self.dense.len();
            self.dense.push(value);
            true
        } else {
            false
        }
    }

    pub fn len(&self) -> usize {
        self.dense.len()
    }

    /// Empties the set without touching `sparse`: `insert` only trusts a `sparse` slot that
    /// `dense` confirms, so stale slots are harmless and clearing costs nothing.
    /// (beacon-processor patch, see PATCHED.md.)
    pub fn clear(&mut self) {
        self.dense.clear();
    }

    /// Makes room for values below `capacity`. (beacon-processor patch, see PATCHED.md.)
    pub fn ensure_capacity(&mut self, capacity: usize) {
        if self.sparse.len() < capacity {
            self.sparse.resize(capacity, usize::MAX);
            self.dense.reserve(capacity.saturating_sub(self.dense.capacity()));
        }
    }
}

impl std::ops::Index<usize> for IntSet {
    type Output = usize;

    fn index(&self, index: usize) -> &Self::Output {
        self.dense.index(index)
    }
}

impl std::iter::Extend<usize> for IntSet {
    fn extend<T: IntoIterator<Item = usize>>(&mut self, iter: T) {
        for val in iter {
            self.insert(val);
        }
    }
}

impl<'a> std::iter::Extend<&'a usize> for IntSet {
    fn extend<T: IntoIterator<Item = &'a usize>>(&mut self, iter: T) {
        for val in iter {
            self.insert(*val);
        }
    }
}
