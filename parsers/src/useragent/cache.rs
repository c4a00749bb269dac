//! Per-worker bounded cache of parsed user agents, in front of a shared [`UserAgentParser`].
//!
//! Eviction is CLOCK (second chance): every slot has a "referenced" bit set on each hit; when the
//! cache is full, the clock hand sweeps the slots, clearing set bits, and evicts the first slot
//! whose bit was already clear. Entries that keep being hit survive; one-off user agents (most of
//! a realistic mix) are the first to go. A hit is one hash lookup (with the fast seeded
//! [`RandomKeyState`] hasher), one flag store and one `Arc` clone: no allocation, no lock (the
//! cache belongs to a single worker thread).
//!
//! Entries are [`RenderedUserAgent`]s: the parse and its JSON object rendered once, so that a
//! capsule's `userAgent` can be written by copying bytes.

use std::collections::HashMap;
use std::sync::Arc;

use super::error::UserAgentError;
use super::info::{RenderedUserAgent, UserAgentInfo};
use super::key_hasher::RandomKeyState;
use super::parser::UserAgentParser;

/// Bytes per character at most in UTF-8: a string of more bytes than `4 × max_length` is always
/// over the length cap, so it can never be in the cache.
const MAX_UTF8_BYTES_PER_CHAR: usize = 4;

/// One cached user agent.
struct Slot {
    /// The raw user agent, shared with the index's key.
    key: Arc<str>,
    entry: Arc<RenderedUserAgent>,
    /// Set on every hit, cleared when the clock hand passes.
    referenced: bool,
}

/// A bounded CLOCK cache of successful parses, keyed by the raw user agent (quotes included).
///
/// Only `Ok` results are cached: errors are cheap to recompute and rare. Capacity 0 disables
/// caching (every call parses).
pub struct UserAgentCache {
    parser: Arc<UserAgentParser>,
    capacity: usize,
    /// Raw user agent → index in `slots`.
    index: HashMap<Arc<str>, usize, RandomKeyState>,
    slots: Vec<Slot>,
    /// Next slot the clock hand looks at when evicting.
    hand: usize,
    hits: u64,
    misses: u64,
    /// The last parse that could not be cached (capacity 0, or a user agent too long to keep),
    /// held so that [`rendered`](UserAgentCache::rendered) can lend it like a cached one.
    uncached: Option<Arc<RenderedUserAgent>>,
}

impl std::fmt::Debug for UserAgentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentCache")
            .field("capacity", &self.capacity)
            .field("len", &self.slots.len())
            .field("hits", &self.hits)
            .field("misses", &self.misses)
            .finish_non_exhaustive()
    }
}

impl UserAgentCache {
    /// A cache of at most `capacity` entries in front of `parser`. Memory is allocated as
    /// entries arrive, not up front.
    pub fn new(parser: Arc<UserAgentParser>, capacity: usize) -> Self {
        UserAgentCache {
            parser,
            capacity,
            index: HashMap::with_hasher(RandomKeyState::new()),
            slots: Vec::new(),
            hand: 0,
            hits: 0,
            misses: 0,
            uncached: None,
        }
    }

    /// Parses `raw` (see [`UserAgentParser::parse`]), answering from the cache when possible.
    pub fn parse(&mut self, raw: &str) -> Result<Arc<UserAgentInfo>, UserAgentError> {
        if self.capacity == 0 || !self.may_be_cached(raw) {
            self.misses = self.misses.saturating_add(1);
            return self.parser.parse(raw).map(Arc::new);
        }
        self.parse_rendered(raw)
            .map(|entry| Arc::clone(entry.info()))
    }

    /// Like [`parse`](Self::parse), with the parse's JSON object rendered (see
    /// [`RenderedUserAgent`]); a hit renders nothing.
    pub fn parse_rendered(&mut self, raw: &str) -> Result<Arc<RenderedUserAgent>, UserAgentError> {
        self.rendered(raw).map(Arc::clone)
    }

    /// [`parse_rendered`](Self::parse_rendered), lent from the cache: a hit touches no
    /// reference count.
    pub fn rendered(&mut self, raw: &str) -> Result<&Arc<RenderedUserAgent>, UserAgentError> {
        if self.capacity == 0 || !self.may_be_cached(raw) {
            self.misses = self.misses.saturating_add(1);
            let entry = Arc::new(RenderedUserAgent::new(self.parser.parse(raw)?));
            return Ok(self.uncached.insert(entry));
        }
        let position = match self.index.get(raw) {
            Some(&position) => {
                self.hits = self.hits.saturating_add(1);
                if let Some(slot) = self.slots.get_mut(position) {
                    slot.referenced = true;
                }
                Some(position)
            }
            None => {
                self.misses = self.misses.saturating_add(1);
                let entry = Arc::new(RenderedUserAgent::new(self.parser.parse(raw)?));
                match self.insert(raw, Arc::clone(&entry)) {
                    Some(position) => Some(position),
                    None => return Ok(self.uncached.insert(entry)),
                }
            }
        };
        match position.and_then(|position| self.slots.get(position)) {
            Some(slot) => Ok(&slot.entry),
            // The index and the slots always agree; parse again rather than fail if not.
            None => {
                let entry = Arc::new(RenderedUserAgent::new(self.parser.parse(raw)?));
                Ok(self.uncached.insert(entry))
            }
        }
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups that had to parse (including those that failed, and all of them at capacity 0).
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Entries currently cached (never more than the capacity).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The most entries this cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The shared parser behind this cache.
    pub fn parser(&self) -> &Arc<UserAgentParser> {
        &self.parser
    }

    /// Cheap pre-check: strings too long to ever parse successfully are not worth hashing.
    fn may_be_cached(&self, raw: &str) -> bool {
        self.parser
            .max_length()
            .checked_mul(MAX_UTF8_BYTES_PER_CHAR)
            .is_none_or(|max_bytes| raw.len() <= max_bytes)
    }

    /// Stores a fresh parse, evicting by CLOCK when full; returns its slot.
    fn insert(&mut self, raw: &str, entry: Arc<RenderedUserAgent>) -> Option<usize> {
        let key: Arc<str> = Arc::from(raw);
        let slot = Slot {
            key: Arc::clone(&key),
            entry,
            referenced: false,
        };
        if self.slots.len() < self.capacity {
            let position = self.slots.len();
            self.index.insert(key, position);
            self.slots.push(slot);
            return Some(position);
        }
        let victim = self.choose_victim()?;
        let old = self.slots.get_mut(victim)?;
        let evicted = std::mem::replace(old, slot);
        self.index.remove(&evicted.key);
        self.index.insert(key, victim);
        Some(victim)
    }

    /// Advances the clock hand to the first slot without its referenced bit (clearing bits on
    /// the way) and returns it; the hand then points past it. `None` only if there are no slots.
    fn choose_victim(&mut self) -> Option<usize> {
        let len = self.slots.len();
        if len == 0 {
            return None;
        }
        // After one full sweep every bit is clear, so two sweeps always find a victim.
        for _ in 0..len.saturating_mul(2) {
            let position = self.hand % len;
            self.hand = (position + 1) % len;
            match self.slots.get_mut(position) {
                Some(slot) if slot.referenced => slot.referenced = false,
                Some(_) => return Some(position),
                None => {}
            }
        }
        Some(self.hand % len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn shared_parser() -> Arc<UserAgentParser> {
        static PARSER: OnceLock<Arc<UserAgentParser>> = OnceLock::new();
        Arc::clone(
            PARSER.get_or_init(|| {
                Arc::new(UserAgentParser::builtin().expect("vendored regexes load"))
            }),
        )
    }

    const FIREFOX: &str =
        "\"Mozilla/5.0 (X11; Linux x86_64; rv:10.0) Gecko/20100101 Firefox/10.0\"";
    const CHROME: &str = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36\"";

    fn distinct_ua(n: usize) -> String {
        format!("\"Mozilla/5.0 (X11; Linux x86_64; rv:{n}.0) Gecko/20100101 Firefox/{n}.0\"")
    }

    #[test]
    fn cache_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<UserAgentCache>();
    }

    #[test]
    fn counts_hits_and_misses() {
        let mut cache = UserAgentCache::new(shared_parser(), 10);
        assert!(cache.is_empty());
        let first = cache.parse(FIREFOX).expect("parses");
        assert_eq!((cache.hits(), cache.misses(), cache.len()), (0, 1, 1));
        let second = cache.parse(FIREFOX).expect("parses");
        assert_eq!((cache.hits(), cache.misses(), cache.len()), (1, 1, 1));
        cache.parse(CHROME).expect("parses");
        cache.parse(CHROME).expect("parses");
        cache.parse(FIREFOX).expect("parses");
        assert_eq!((cache.hits(), cache.misses(), cache.len()), (3, 2, 2));
        assert_eq!(first.browser_family, "Firefox");
        assert_eq!(second.browser_major.as_deref(), Some("10"));
    }

    #[test]
    fn a_hit_returns_the_same_arc() {
        let mut cache = UserAgentCache::new(shared_parser(), 4);
        let first = cache.parse(CHROME).expect("parses");
        let second = cache.parse(CHROME).expect("parses");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(second.browser_major.as_deref(), Some("79"));
    }

    #[test]
    fn rendered_hits_share_the_entry_and_its_info() {
        let mut cache = UserAgentCache::new(shared_parser(), 4);
        let first = cache.parse_rendered(CHROME).expect("parses");
        let second = cache.parse_rendered(CHROME).expect("parses");
        assert!(Arc::ptr_eq(&first, &second));
        let info = cache.parse(CHROME).expect("parses");
        assert!(Arc::ptr_eq(&info, first.info()));
        assert_eq!((cache.hits(), cache.misses(), cache.len()), (2, 1, 1));
        assert_eq!(
            first.json(),
            r#"{"browser_family":"Chrome","browser_major":"79","browser_minor":"0","device_family":"Other","is_bot":false,"is_mediawiki":false,"os_family":"Windows","os_major":"10","os_minor":null,"wmf_app_version":"-"}"#
        );
        let mut uncached = UserAgentCache::new(shared_parser(), 0);
        assert_eq!(uncached.parse_rendered(CHROME), Ok(first));
        assert_eq!(
            uncached.parse_rendered("\"Foo WikipediaApp/1.0\""),
            Err(UserAgentError::AppVersionWithoutSlash)
        );
    }

    #[test]
    fn cached_result_equals_uncached_result() {
        let parser = shared_parser();
        let mut cache = UserAgentCache::new(Arc::clone(&parser), 4);
        for _ in 0..3 {
            let cached = cache.parse(CHROME).expect("parses");
            assert_eq!(Ok(&*cached), parser.parse(CHROME).as_ref());
        }
    }

    #[test]
    fn capacity_is_respected_under_ten_times_as_many_keys() {
        let capacity = 16;
        let mut cache = UserAgentCache::new(shared_parser(), capacity);
        for n in 0..capacity * 10 {
            let info = cache.parse(&distinct_ua(n)).expect("parses");
            assert_eq!(info.browser_major.as_deref(), Some(n.to_string().as_str()));
            assert!(cache.len() <= capacity);
        }
        assert_eq!(cache.len(), capacity);
        assert_eq!(cache.index.len(), capacity);
        assert_eq!(cache.misses(), (capacity * 10) as u64);
        assert_eq!(cache.hits(), 0);
        // The index and the slots agree.
        for (key, &position) in &cache.index {
            assert_eq!(cache.slots.get(position).map(|s| &s.key), Some(key));
        }
    }

    #[test]
    fn frequently_hit_entries_survive_a_scan() {
        let mut cache = UserAgentCache::new(shared_parser(), 8);
        cache.parse(FIREFOX).expect("parses");
        for n in 0..80 {
            // Keep Firefox hot while one-off user agents stream through.
            cache.parse(FIREFOX).expect("parses");
            cache.parse(&distinct_ua(n + 100)).expect("parses");
        }
        assert_eq!(cache.hits(), 80);
        let hits_before = cache.hits();
        cache.parse(FIREFOX).expect("parses");
        assert_eq!(cache.hits(), hits_before + 1);
        assert_eq!(cache.len(), 8);
    }

    #[test]
    fn capacity_zero_never_caches() {
        let mut cache = UserAgentCache::new(shared_parser(), 0);
        let first = cache.parse(FIREFOX).expect("parses");
        let second = cache.parse(FIREFOX).expect("parses");
        assert_eq!(first, second);
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!((cache.hits(), cache.misses(), cache.len()), (0, 2, 0));
        assert!(cache.is_empty());
    }

    #[test]
    fn capacity_one_keeps_the_latest() {
        let mut cache = UserAgentCache::new(shared_parser(), 1);
        cache.parse(FIREFOX).expect("parses");
        cache.parse(CHROME).expect("parses");
        cache.parse(CHROME).expect("parses");
        assert_eq!((cache.hits(), cache.misses(), cache.len()), (1, 2, 1));
    }

    #[test]
    fn errors_are_returned_and_not_cached() {
        let mut cache = UserAgentCache::new(shared_parser(), 4);
        for _ in 0..2 {
            assert_eq!(
                cache.parse("\"Foo WikipediaApp/1.0\""),
                Err(UserAgentError::AppVersionWithoutSlash)
            );
        }
        let too_long = format!("\"{}\"", "a".repeat(800));
        assert_eq!(
            cache.parse(&too_long),
            Err(UserAgentError::TooLong {
                length: 802,
                max: 800
            })
        );
        // Far beyond 4 × 800 bytes: rejected without hashing, same error.
        let huge = "a".repeat(10_000);
        assert_eq!(
            cache.parse(&huge),
            Err(UserAgentError::TooLong {
                length: 10_000,
                max: 800
            })
        );
        assert_eq!((cache.hits(), cache.misses(), cache.len()), (0, 4, 0));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]
            #[test]
            fn bounded_and_consistent_for_any_access_sequence(
                capacity in 0usize..6,
                keys in proptest::collection::vec(0usize..12, 0..60),
            ) {
                let parser = shared_parser();
                let mut cache = UserAgentCache::new(Arc::clone(&parser), capacity);
                for &k in &keys {
                    let ua = distinct_ua(k);
                    let cached = cache.parse(&ua).expect("parses");
                    let uncached = parser.parse(&ua).expect("parses");
                    prop_assert_eq!(&*cached, &uncached);
                    prop_assert!(cache.len() <= capacity);
                    prop_assert_eq!(cache.index.len(), cache.len());
                }
                prop_assert_eq!(cache.hits() + cache.misses(), keys.len() as u64);
            }
        }
    }
}
