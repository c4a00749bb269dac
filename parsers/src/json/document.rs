//! A JSON document held in a few flat, reusable arrays instead of a tree of `Value`s.
//!
//! Parsing into a [`Document`] allocates nothing once its buffers have grown to the size of the
//! events seen: strings without escapes and plain integers stay slices of the parsed text, and
//! objects are runs of (key, node) members. A worker parses every line into the same document,
//! validates it (through [`JsonView`](super::JsonView)) and writes it out; dropping it costs
//! nothing per key. This is the processor's common path; `Value` trees are still built where an
//! error message or anything unusual needs one ([`NodeRef::to_value`]).
//!
//! Accepts exactly what the direct `Value` parser accepts (the same tokenizer), and means the same
//! value: object members sorted by key bytes with the last of duplicate keys kept (a
//! `serde_json::Map`), number texts as serde_json's `arbitrary_precision` keeps them. Written out
//! ([`NodeRef::write_json`]) it gives the bytes `serde_json::to_vec` gives for that value.

use std::str::FromStr;

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::fast_path::{NumberToken, Parser, StringToken};
use super::key_order::{compare_keys, sort_word};
use crate::json_writer;

/// A piece of text: a slice of the parsed source, or of the document's own arena (unescaped
/// strings, normalised numbers, members added after parsing).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
    in_arena: bool,
}

#[derive(Debug, Clone, Copy)]
enum Node {
    Null,
    Bool(bool),
    /// The number's text, as serde_json keeps it.
    Number(Span),
    String(Span),
    /// `items[start..start + len]`.
    Array {
        start: u32,
        len: u32,
    },
    /// `members[start..start + len]`, sorted by key, keys unique.
    Object {
        start: u32,
        len: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Member {
    key: Span,
    /// [`sort_word`] of the key: most key comparisons need only this.
    word: u64,
    value: u32,
}

/// A parsed JSON document (see the module docs). Reuse one for many texts:
/// [`parse`](Self::parse) clears it first.
#[derive(Debug, Default)]
pub struct Document {
    source: String,
    arena: String,
    nodes: Vec<Node>,
    members: Vec<Member>,
    items: Vec<u32>,
    /// Members of the objects being parsed, innermost last.
    open_members: Vec<Member>,
    /// Items of the arrays being parsed, innermost last.
    open_items: Vec<u32>,
    root: Option<u32>,
}

/// Objects with at most this many members are searched in order rather than by bisection.
const LINEAR_LOOKUP_MEMBERS: usize = 24;

/// Buffers of a document grown past this many bytes are given back after the line.
const MAX_KEPT_BYTES: usize = 1 << 20;

/// Texts longer than this are not parsed into a document (spans are 32-bit).
const MAX_TEXT_BYTES: usize = (u32::MAX / 4) as usize;

impl Document {
    /// An empty document.
    pub fn new() -> Self {
        Document::default()
    }

    /// Parses `text` (one JSON value with optional surrounding whitespace). `false` when the
    /// direct parser does not accept it: then serde_json must decide (see `fast_path`), and the
    /// document is empty.
    pub fn parse(&mut self, text: &str) -> bool {
        self.clear();
        if text.len() > MAX_TEXT_BYTES {
            return false;
        }
        self.source.push_str(text);
        let source = std::mem::take(&mut self.source);
        let root = Builder { doc: self }.document(&mut Parser::new(&source));
        self.source = source;
        self.root = root;
        if root.is_none() {
            self.clear();
        }
        root.is_some()
    }

    /// Empties the document, keeping its buffers (unless one grew very large).
    pub fn clear(&mut self) {
        for text in [&mut self.source, &mut self.arena] {
            text.clear();
            if text.capacity() > MAX_KEPT_BYTES {
                *text = String::new();
            }
        }
        self.nodes.clear();
        self.members.clear();
        self.items.clear();
        self.open_members.clear();
        self.open_items.clear();
        self.root = None;
        if self.nodes.capacity() > MAX_KEPT_BYTES / 16 {
            self.nodes = Vec::new();
        }
        if self.members.capacity() > MAX_KEPT_BYTES / 16 {
            self.members = Vec::new();
        }
        if self.items.capacity() > MAX_KEPT_BYTES / 4 {
            self.items = Vec::new();
        }
    }

    /// The bytes of text the document holds (parsed text and added or unescaped text): about
    /// the size of the document written out.
    pub fn text_bytes(&self) -> usize {
        self.source.len() + self.arena.len()
    }

    /// The top-level value, if a text was parsed.
    pub fn root(&self) -> Option<NodeRef<'_>> {
        self.root.map(|index| NodeRef { doc: self, index })
    }

    /// Makes the value of the top-level object's existing member `key` the string `text`;
    /// `false` when there is no such member.
    pub fn set_root_string(&mut self, key: &str, text: &str) -> bool {
        let Some(index) = self
            .root()
            .and_then(|root| root.get(key))
            .map(|node| node.index)
        else {
            return false;
        };
        let span = self.push_arena(text);
        match self.nodes.get_mut(index as usize) {
            Some(node) => {
                *node = Node::String(span);
                true
            }
            None => false,
        }
    }

    /// Changes the top-level object's members in one pass: the members named in `remove` are
    /// dropped, then every addition is set (replacing a member of its name, as `Map::insert`
    /// does; of additions with the same name the last one counts). `false` when the top-level
    /// value is not an object.
    pub fn extend_root(&mut self, remove: &[&str], additions: &[(&str, NewValue<'_>)]) -> bool {
        let Some(Node::Object { start, len }) = self.root.map(|index| self.node(index)) else {
            return false;
        };
        let mut added = std::mem::take(&mut self.open_members);
        added.clear();
        for (key, value) in additions {
            let value = self.push_new_value(value);
            let word = sort_word(key.as_bytes());
            let key = self.push_arena(key);
            added.push(Member { key, word, value });
        }
        added.sort_by(|a, b| self.compare_member(a, self.text(b.key), b.word));
        let (start, len) = (start as usize, len as usize);
        let new_start = self.members.len();
        let mut old = start;
        let mut new = added.iter().peekable();
        loop {
            let kept = self.members.get(old).copied().filter(|_| old < start + len);
            let Some(kept) = kept else {
                break;
            };
            let removed = remove
                .iter()
                .any(|key| kept.key.len as usize == key.len() && self.text(kept.key) == *key);
            if removed {
                old += 1;
                continue;
            }
            let Some(&&next) = new.peek() else {
                self.members.push(kept);
                old += 1;
                continue;
            };
            match self.compare_member(&kept, self.text(next.key), next.word) {
                Ordering::Less => {
                    self.members.push(kept);
                    old += 1;
                }
                Ordering::Equal => old += 1,
                Ordering::Greater => {
                    self.push_last_of_equal(&mut new, next);
                }
            }
        }
        while let Some(&&next) = new.peek() {
            self.push_last_of_equal(&mut new, next);
        }
        added.clear();
        self.open_members = added;
        let new_len = self.members.len() - new_start;
        self.set_root(new_start, new_len);
        true
    }

    /// The value `id` names (ids come from [`NodeRef::id`] of this document and stay valid
    /// until the next [`parse`](Self::parse) or [`clear`](Self::clear)).
    pub fn at(&self, id: NodeId) -> NodeRef<'_> {
        NodeRef {
            doc: self,
            index: id.0,
        }
    }

    /// The member `key` of the object `object`, added with `value` when the object has no
    /// such member (the object's members stay in key order). `None` when `object` is not an
    /// object; otherwise the member's node, and whether it was added.
    pub fn member_or_insert(
        &mut self,
        object: NodeId,
        key: &str,
        value: NewValue<'_>,
    ) -> Option<(NodeId, bool)> {
        let Node::Object { start, len } = self.node(object.0) else {
            return None;
        };
        let word = sort_word(key.as_bytes());
        let (start, len) = (start as usize, len as usize);
        let run = self.members.get(start..start + len).unwrap_or_default();
        // One search finds the member or where it goes (keys are unique in a run); short runs
        // in order, as `NodeRef::get` does.
        let before = |member: &Member| self.compare_member(member, key, word) == Ordering::Less;
        let position = if run.len() <= LINEAR_LOOKUP_MEMBERS {
            run.iter()
                .position(|member| !before(member))
                .unwrap_or(run.len())
        } else {
            run.partition_point(before)
        };
        if let Some(found) = run
            .get(position)
            .filter(|member| self.compare_member(member, key, word) == Ordering::Equal)
        {
            return Some((NodeId(found.value), false));
        }
        let value = self.push_new_value(&value);
        let key = self.push_arena(key);
        let member = Member { key, word, value };
        let new_start = if start + len == self.members.len() {
            // The object's run is the last one (it was just parsed, or moved here by an earlier
            // insertion): the member goes in place.
            self.members.insert(start + position, member);
            start
        } else {
            // The object's run is copied to the end with the new member in place: members of
            // other objects follow it, and runs are small.
            let new_start = self.members.len();
            self.members.extend_from_within(start..start + position);
            self.members.push(member);
            self.members
                .extend_from_within(start + position..start + len);
            new_start
        };
        if let Some(slot) = self.nodes.get_mut(object.0 as usize) {
            *slot = Node::Object {
                start: to_u32(new_start),
                len: to_u32(len + 1),
            };
        }
        Some((NodeId(value), true))
    }

    /// Sets `value` at `path` (`["meta", "id"]` for `/meta/id`) of the top-level value unless
    /// something is already there, adding empty objects for missing intermediate members.
    /// Nothing is set when the top-level value or an intermediate value is not an object.
    pub fn set_if_absent(&mut self, path: &[&str], value: NewValue<'_>) {
        let Some(mut current) = self.root.map(NodeId) else {
            return;
        };
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        for part in parents {
            match self.member_or_insert(current, part, NewValue::EmptyObject) {
                Some((child, _)) => current = child,
                None => return,
            }
        }
        self.member_or_insert(current, last, value);
    }

    /// Pushes the last of the additions equal in key to `first` (the next one) and moves past
    /// them all.
    fn push_last_of_equal(
        &mut self,
        additions: &mut std::iter::Peekable<std::slice::Iter<'_, Member>>,
        first: Member,
    ) {
        let mut last = first;
        additions.next();
        while let Some(&&next) = additions.peek() {
            if next.word != first.word || self.text(next.key) != self.text(first.key) {
                break;
            }
            last = next;
            additions.next();
        }
        self.members.push(last);
    }

    fn push_new_value(&mut self, value: &NewValue<'_>) -> u32 {
        match *value {
            NewValue::Null => self.push_node(Node::Null),
            NewValue::String(text) => {
                let span = self.push_arena(text);
                self.push_node(Node::String(span))
            }
            NewValue::Integer(digits) if is_canonical_digits(digits) => {
                let span = self.push_arena(digits);
                self.push_node(Node::Number(span))
            }
            NewValue::Integer(text) => match Number::from_str(text) {
                Ok(number) => {
                    let span = self.push_arena(number.as_str());
                    self.push_node(Node::Number(span))
                }
                Err(_) => {
                    let span = self.push_arena(text);
                    self.push_node(Node::String(span))
                }
            },
            NewValue::Value(value) => self.push_value(value),
            NewValue::EmptyObject => self.push_node(Node::Object {
                start: to_u32(self.members.len()),
                len: 0,
            }),
        }
    }

    fn set_root(&mut self, start: usize, len: usize) {
        if let Some(slot) = self
            .root
            .and_then(|index| self.nodes.get_mut(index as usize))
        {
            *slot = Node::Object {
                start: to_u32(start),
                len: to_u32(len),
            };
        }
    }

    fn push_arena(&mut self, text: &str) -> Span {
        let start = self.arena.len();
        self.arena.push_str(text);
        Span {
            start: to_u32(start),
            len: to_u32(text.len()),
            in_arena: true,
        }
    }

    fn push_node(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        to_u32(self.nodes.len() - 1)
    }

    /// Adds `value` (a whole tree) to the document and returns its node.
    fn push_value(&mut self, value: &Value) -> u32 {
        match value {
            Value::Null => self.push_node(Node::Null),
            Value::Bool(flag) => self.push_node(Node::Bool(*flag)),
            Value::Number(number) => {
                let span = self.push_arena(number.as_str());
                self.push_node(Node::Number(span))
            }
            Value::String(text) => {
                let span = self.push_arena(text);
                self.push_node(Node::String(span))
            }
            Value::Array(values) => {
                let nodes: Vec<u32> = values.iter().map(|item| self.push_value(item)).collect();
                let start = self.items.len();
                self.items.extend_from_slice(&nodes);
                self.push_node(Node::Array {
                    start: to_u32(start),
                    len: to_u32(nodes.len()),
                })
            }
            Value::Object(map) => {
                // A `Map` iterates in key order with unique keys: already a member run.
                let members: Vec<Member> = map
                    .iter()
                    .map(|(key, value)| Member {
                        key: self.push_arena(key),
                        word: sort_word(key.as_bytes()),
                        value: self.push_value(value),
                    })
                    .collect();
                let start = self.members.len();
                self.members.extend_from_slice(&members);
                self.push_node(Node::Object {
                    start: to_u32(start),
                    len: to_u32(members.len()),
                })
            }
        }
    }

    /// Orders `member`'s key against `key` (whose [`sort_word`] is `word`), looking at the key's
    /// text only when the words are equal.
    fn compare_member(&self, member: &Member, key: &str, word: u64) -> Ordering {
        match member.word.cmp(&word) {
            Ordering::Equal => compare_keys(self.text(member.key), member.word, key, word),
            unequal => unequal,
        }
    }

    /// The text of `span` while `source` is taken out of the document (during parsing).
    fn text_in<'t>(&'t self, source: &'t str, span: Span) -> &'t str {
        let text = if span.in_arena { &self.arena } else { source };
        let start = span.start as usize;
        text.get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn text(&self, span: Span) -> &str {
        let text = if span.in_arena {
            &self.arena
        } else {
            &self.source
        };
        let start = span.start as usize;
        text.get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn node(&self, index: u32) -> Node {
        self.nodes
            .get(index as usize)
            .copied()
            .unwrap_or(Node::Null)
    }

    fn member_run(&self, start: u32, len: u32) -> &[Member] {
        let start = start as usize;
        self.members
            .get(start..start + len as usize)
            .unwrap_or_default()
    }

    fn item_run(&self, start: u32, len: u32) -> &[u32] {
        let start = start as usize;
        self.items
            .get(start..start + len as usize)
            .unwrap_or_default()
    }
}

/// A value added to a document after parsing ([`Document::extend_root`]).
#[derive(Debug, Clone, Copy)]
pub enum NewValue<'s> {
    /// `null`
    Null,
    /// A string.
    String(&'s str),
    /// An integer given as its digits: canonical ones (no sign, no leading zero) are kept as
    /// they are, anything else is read as serde_json reads a number (and kept as a string when
    /// it is not one).
    Integer(&'s str),
    /// Any value.
    Value(&'s Value),
    /// `{}`
    EmptyObject,
}

/// Names one value of a [`Document`] while the document changes ([`Document::at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(u32);

/// `0`, or ASCII digits without a leading zero.
fn is_canonical_digits(text: &str) -> bool {
    match text.as_bytes() {
        [b'0'] => true,
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
        [] => false,
    }
}

/// Indices and lengths are bounded by [`MAX_TEXT_BYTES`] (every node, member and item takes at
/// least one byte of text, and added members are few), so they fit.
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Fills a document from the tokenizer (which is passed to every step, so that the steps can
/// run inside the tokenizer's [`Parser::elements`]).
struct Builder<'d> {
    doc: &'d mut Document,
}

impl Builder<'_> {
    fn document(&mut self, parser: &mut Parser<'_>) -> Option<u32> {
        parser.skip_whitespace();
        let root = self.value(parser)?;
        parser.skip_whitespace();
        (parser.at == parser.text().len()).then_some(root)
    }

    fn value(&mut self, parser: &mut Parser<'_>) -> Option<u32> {
        let node = match parser.peek()? {
            b'{' => return self.object(parser),
            b'[' => return self.array(parser),
            b'"' => Node::String(self.string(parser)?),
            b't' => {
                parser.keyword(b"true")?;
                Node::Bool(true)
            }
            b'f' => {
                parser.keyword(b"false")?;
                Node::Bool(false)
            }
            b'n' => {
                parser.keyword(b"null")?;
                Node::Null
            }
            b'-' | b'0'..=b'9' => Node::Number(self.number(parser)?),
            _ => return None,
        };
        Some(self.doc.push_node(node))
    }

    fn string(&mut self, parser: &mut Parser<'_>) -> Option<Span> {
        let before = self.doc.arena.len();
        match parser.string_token(&mut self.doc.arena)? {
            StringToken::Plain { start, end } => Some(Span {
                start: to_u32(start),
                len: to_u32(end - start),
                in_arena: false,
            }),
            StringToken::Escaped => Some(Span {
                start: to_u32(before),
                len: to_u32(self.doc.arena.len() - before),
                in_arena: true,
            }),
        }
    }

    fn number(&mut self, parser: &mut Parser<'_>) -> Option<Span> {
        let NumberToken {
            start,
            end,
            integer,
        } = parser.number_token()?;
        let text = parser.text().get(start..end)?;
        let digits = text.strip_prefix('-').unwrap_or(text);
        // Integers that fit an i64 keep their text in serde_json (it writes back the same
        // digits; JSON has no leading zeros), except `-0`. Everything else takes serde_json's
        // normalised text.
        if integer && digits.len() <= 18 && text != "-0" {
            return Some(Span {
                start: to_u32(start),
                len: to_u32(end - start),
                in_arena: false,
            });
        }
        let number = Number::from_str(text).ok()?;
        Some(self.doc.push_arena(number.as_str()))
    }

    fn array(&mut self, parser: &mut Parser<'_>) -> Option<u32> {
        let mark = self.doc.open_items.len();
        parser.elements(b']', |parser| {
            let item = self.value(parser)?;
            self.doc.open_items.push(item);
            Some(())
        })?;
        let doc = &mut *self.doc;
        let start = doc.items.len();
        let open = doc.open_items.get(mark..).unwrap_or_default();
        doc.items.extend_from_slice(open);
        let len = doc.items.len() - start;
        doc.open_items.truncate(mark);
        Some(doc.push_node(Node::Array {
            start: to_u32(start),
            len: to_u32(len),
        }))
    }

    fn object(&mut self, parser: &mut Parser<'_>) -> Option<u32> {
        let mark = self.doc.open_members.len();
        parser.elements(b'}', |parser| {
            if parser.peek()? != b'"' {
                return None;
            }
            let key = self.string(parser)?;
            parser.member_colon()?;
            let value = self.value(parser)?;
            let word = sort_word(self.doc.text_in(parser.text(), key).as_bytes());
            self.doc.open_members.push(Member { key, word, value });
            Some(())
        })?;
        let (start, len) = self.close_object(parser.text(), mark);
        Some(self.doc.push_node(Node::Object {
            start: to_u32(start),
            len: to_u32(len),
        }))
    }

    /// Moves the members opened since `mark` into a sorted run with unique keys (the last of
    /// duplicate keys kept), like building a `Map` from them in order.
    fn close_object(&mut self, source: &str, mark: usize) -> (usize, usize) {
        let Document {
            arena,
            members,
            open_members,
            ..
        } = &mut *self.doc;
        let key = |member: &Member| -> &[u8] {
            let text: &str = if member.key.in_arena { arena } else { source };
            let start = member.key.start as usize;
            text.as_bytes()
                .get(start..start + member.key.len as usize)
                .unwrap_or_default()
        };
        let start = members.len();
        let open = open_members.get_mut(mark..).unwrap_or_default();
        let less =
            |a: &Member, b: &Member| a.word < b.word || (a.word == b.word && key(a) < key(b));
        if open.windows(2).all(|pair| match pair {
            [a, b] => less(a, b),
            _ => true,
        }) {
            members.extend_from_slice(open);
        } else {
            open.sort_by(|a, b| a.word.cmp(&b.word).then_with(|| key(a).cmp(key(b))));
            let mut iter = open.iter().peekable();
            while let Some(member) = iter.next() {
                let superseded = iter
                    .peek()
                    .is_some_and(|next| next.word == member.word && key(next) == key(member));
                if !superseded {
                    members.push(*member);
                }
            }
        }
        open_members.truncate(mark);
        (start, members.len() - start)
    }
}

/// The kind of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `null`
    Null,
    /// `true` or `false`
    Bool,
    /// a number
    Number,
    /// a string
    String,
    /// an array
    Array,
    /// an object
    Object,
}

/// One value of a [`Document`].
#[derive(Debug, Clone, Copy)]
pub struct NodeRef<'d> {
    doc: &'d Document,
    index: u32,
}

impl<'d> NodeRef<'d> {
    fn node(self) -> Node {
        self.doc.node(self.index)
    }

    fn at(self, index: u32) -> NodeRef<'d> {
        NodeRef {
            doc: self.doc,
            index,
        }
    }

    /// The value's id, to find it again after the document was changed.
    pub fn id(self) -> NodeId {
        NodeId(self.index)
    }

    /// The value's kind.
    pub fn kind(self) -> JsonKind {
        match self.node() {
            Node::Null => JsonKind::Null,
            Node::Bool(_) => JsonKind::Bool,
            Node::Number(_) => JsonKind::Number,
            Node::String(_) => JsonKind::String,
            Node::Array { .. } => JsonKind::Array,
            Node::Object { .. } => JsonKind::Object,
        }
    }

    /// The text of a string.
    pub fn as_str(self) -> Option<&'d str> {
        match self.node() {
            Node::String(span) => Some(self.doc.text(span)),
            _ => None,
        }
    }

    /// The text of a number (serde_json's `Number::as_str`).
    pub fn number_text(self) -> Option<&'d str> {
        match self.node() {
            Node::Number(span) => Some(self.doc.text(span)),
            _ => None,
        }
    }

    /// An integer number that fits an `i64`, as serde_json's `as_i64` reads it.
    pub fn as_i64(self) -> Option<i64> {
        self.number_text()?.parse().ok()
    }

    /// The members of an object, in key order (none for other kinds).
    pub fn members(self) -> Members<'d> {
        let run = match self.node() {
            Node::Object { start, len } => self.doc.member_run(start, len),
            _ => &[],
        };
        Members {
            doc: self.doc,
            run: run.iter(),
        }
    }

    /// The items of an array (none for other kinds).
    pub fn items(self) -> Items<'d> {
        let run = match self.node() {
            Node::Array { start, len } => self.doc.item_run(start, len),
            _ => &[],
        };
        Items {
            doc: self.doc,
            run: run.iter(),
        }
    }

    /// The member `key` of an object.
    pub fn get(self, key: &str) -> Option<NodeRef<'d>> {
        let Node::Object { start, len } = self.node() else {
            return None;
        };
        let run = self.doc.member_run(start, len);
        let word = sort_word(key.as_bytes());
        if run.len() <= LINEAR_LOOKUP_MEMBERS {
            // A short run is scanned in order: one predictable word comparison per member
            // beats a binary search's mispredicted branches.
            for member in run {
                if member.word < word {
                    continue;
                }
                match self.doc.compare_member(member, key, word) {
                    Ordering::Equal => return Some(self.at(member.value)),
                    // Equal words with a smaller tail: a later member may still match.
                    Ordering::Less => {}
                    Ordering::Greater => return None,
                }
            }
            return None;
        }
        let found = run
            .binary_search_by(|member| self.doc.compare_member(member, key, word))
            .ok()?;
        run.get(found).map(|member| self.at(member.value))
    }

    /// The value as a `serde_json::Value` (what serde_json would have parsed).
    pub fn to_value(self) -> Value {
        match self.node() {
            Node::Null => Value::Null,
            Node::Bool(flag) => Value::Bool(flag),
            Node::Number(span) => Number::from_str(self.doc.text(span))
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Node::String(span) => Value::String(self.doc.text(span).to_owned()),
            Node::Array { .. } => Value::Array(self.items().map(NodeRef::to_value).collect()),
            Node::Object { .. } => Value::Object(
                self.members()
                    .map(|(key, value)| (key.to_owned(), value.to_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// Appends the value as compact JSON: the bytes `serde_json::to_vec(&self.to_value())`
    /// gives.
    pub fn write_json(self, out: &mut Vec<u8>) {
        self.write_substituting(out, None);
    }

    /// Like [`write_json`](Self::write_json), but the member `key` of this object is written
    /// as `raw_json` (already valid JSON text) instead of its value.
    pub fn write_json_substituting(self, out: &mut Vec<u8>, key: &str, raw_json: &str) {
        self.write_substituting(out, Some((key, raw_json)));
    }

    fn write_substituting(self, out: &mut Vec<u8>, substitute: Option<(&str, &str)>) {
        match self.node() {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Number(span) => out.extend_from_slice(self.doc.text(span).as_bytes()),
            Node::String(span) => self.write_string(out, span),
            Node::Array { start, len } => {
                out.push(b'[');
                for (position, &item) in self.doc.item_run(start, len).iter().enumerate() {
                    if position > 0 {
                        out.push(b',');
                    }
                    self.at(item).write_substituting(out, None);
                }
                out.push(b']');
            }
            Node::Object { start, len } => {
                out.push(b'{');
                for (position, member) in self.doc.member_run(start, len).iter().enumerate() {
                    if position > 0 {
                        out.push(b',');
                    }
                    self.write_string(out, member.key);
                    out.push(b':');
                    match substitute {
                        Some((key, raw)) if self.doc.text(member.key) == key => {
                            out.extend_from_slice(raw.as_bytes());
                        }
                        _ => self.at(member.value).write_substituting(out, None),
                    }
                }
                out.push(b'}');
            }
        }
    }

    /// A string of the source text without escapes holds no byte that needs escaping (no `"`,
    /// `\` or control character: the tokenizer stopped at those), so it is copied as it is.
    fn write_string(self, out: &mut Vec<u8>, span: Span) {
        let text = self.doc.text(span);
        if span.in_arena {
            json_writer::write_str(out, text);
        } else {
            json_writer::write_plain_str(out, text);
        }
    }
}

/// The members of an object node, in key order.
#[derive(Debug, Clone)]
pub struct Members<'d> {
    doc: &'d Document,
    run: std::slice::Iter<'d, Member>,
}

impl<'d> Members<'d> {
    /// The members with their keys' [`sort_word`]s.
    pub fn with_words(self) -> MembersWithWords<'d> {
        MembersWithWords { members: self }
    }
}

/// [`Members`] with each key's [`sort_word`].
#[derive(Debug, Clone)]
pub struct MembersWithWords<'d> {
    members: Members<'d>,
}

impl<'d> Iterator for MembersWithWords<'d> {
    type Item = (&'d str, u64, NodeRef<'d>);

    fn next(&mut self) -> Option<Self::Item> {
        let member = self.members.run.next()?;
        let doc = self.members.doc;
        Some((
            doc.text(member.key),
            member.word,
            NodeRef {
                doc,
                index: member.value,
            },
        ))
    }
}

impl<'d> Iterator for Members<'d> {
    type Item = (&'d str, NodeRef<'d>);

    fn next(&mut self) -> Option<Self::Item> {
        let member = self.run.next()?;
        Some((
            self.doc.text(member.key),
            NodeRef {
                doc: self.doc,
                index: member.value,
            },
        ))
    }
}

/// The items of an array node.
#[derive(Debug, Clone)]
pub struct Items<'d> {
    doc: &'d Document,
    run: std::slice::Iter<'d, u32>,
}

impl<'d> Iterator for Items<'d> {
    type Item = NodeRef<'d>;

    fn next(&mut self) -> Option<Self::Item> {
        let &index = self.run.next()?;
        Some(NodeRef {
            doc: self.doc,
            index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::fast_path::tests::json_text;
    use proptest::prelude::*;

    /// The document accepts what the direct `Value` parser accepts, means the same value and
    /// writes serde_json's bytes for it.
    fn agrees(text: &str) -> Result<(), TestCaseError> {
        let mut doc = Document::new();
        // Something left over from an earlier line must not leak into the next.
        doc.parse(r#"{"left":["over",1.5e3,{"x":"\u00e9"}]}"#);
        let parsed = doc.parse(text);
        let fast = super::super::fast_path::parse(text);
        prop_assert_eq!(parsed, fast.is_some(), "{}", text);
        if let (Some(root), Some(expected)) = (doc.root(), fast) {
            prop_assert_eq!(&root.to_value(), &expected, "{}", text);
            let mut written = Vec::new();
            root.write_json(&mut written);
            prop_assert_eq!(
                String::from_utf8_lossy(&written),
                expected.to_string(),
                "{}",
                text
            );
        }
        Ok(())
    }

    #[test]
    fn builds_and_writes_what_serde_json_does() {
        for text in [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-2.5e-3,"g":""}"#,
            " \t\r\n{ \"a\" : [ 1 , { } , [ ] ] } \n",
            r#"{"b": 1, "a": 2, "b": 3, "a": {"x": 1, "x": [2]}}"#,
            r#"{"esc":"q\" b\\ s\/ \b\f\n\r\t u\u00e9\u0000\u20ac","plain":"☆ é 😀"}"#,
            r#"{"n":[0,-0,-1,123456789012345678,1234567890123456789,12345678901234567890123,-98765432109876543210,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809]}"#,
            r#"{"f":[1.0,1E5,1e5,1E+5,1e-5,0.10,-0.0,2.5E-300,1e999999]}"#,
            r#"{"k\u00e9y":1,"k\"":2,"ké":3,"":4}"#,
            "[]",
            r#""just a string""#,
            "17",
            "true",
            "{}",
            "{\"a\":1,}",
            "[1,]",
        ] {
            if let Err(error) = agrees(text) {
                panic!("{error}");
            }
        }
    }

    #[test]
    fn lookups_follow_map_semantics() {
        let mut doc = Document::new();
        assert!(doc.parse(r#"{"b":{"y":1,"x":2},"a":[3,"4"],"b2":null,"a":5}"#));
        let Some(root) = doc.root() else {
            panic!("no root");
        };
        assert_eq!(root.kind(), JsonKind::Object);
        let keys: Vec<&str> = root.members().map(|(key, _)| key).collect();
        assert_eq!(keys, ["a", "b", "b2"]);
        assert_eq!(root.get("a").and_then(NodeRef::as_i64), Some(5));
        assert_eq!(root.get("a").map(NodeRef::kind), Some(JsonKind::Number));
        assert_eq!(root.get("b2").map(NodeRef::kind), Some(JsonKind::Null));
        assert!(root.get("c").is_none());
        let inner: Vec<&str> = root
            .get("b")
            .map(|b| b.members().map(|(key, _)| key).collect())
            .unwrap_or_default();
        assert_eq!(inner, ["x", "y"]);
        assert_eq!(
            root.get("b")
                .and_then(|b| b.get("x"))
                .and_then(NodeRef::as_i64),
            Some(2)
        );
        assert_eq!(root.items().count(), 0);
        assert!(!doc.parse("{"));
        assert!(doc.root().is_none());
    }

    #[test]
    fn the_user_agent_member_can_be_written_from_raw_json() {
        let mut doc = Document::new();
        assert!(doc.parse(r#"{"z":1,"userAgent":null,"a":{"userAgent":2}}"#));
        let mut out = Vec::new();
        if let Some(root) = doc.root() {
            root.write_json_substituting(&mut out, "userAgent", r#"{"browser":"x"}"#);
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"a":{"userAgent":2},"userAgent":{"browser":"x"},"z":1}"#
        );
    }

    fn edit() -> impl Strategy<Value = (String, Option<Value>)> {
        let value = prop_oneof![
            Just(Value::Null),
            any::<u32>().prop_map(Value::from),
            "[a-z\"\\\n é]{0,6}".prop_map(Value::String),
            Just(serde_json::json!({"n": [1, "x", {"b": 2, "a": null}]})),
        ];
        ("[a-e]{1,2}|uuid|", prop::option::of(value))
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json_on_valid_json(text in json_text()) {
            agrees(&text)?;
        }

        #[test]
        fn agrees_with_serde_json_on_any_text(text in any::<String>()) {
            agrees(&text)?;
        }

        #[test]
        fn lookups_find_what_the_map_has(
            keys in prop::collection::vec("(abcdefgh)?[a-c]{0,3}", 0..40),
            probes in prop::collection::vec("(abcdefgh)?[a-c]{0,3}", 0..10),
        ) {
            let members: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(index, key)| format!("\"{key}\":{index}"))
                .collect();
            let text = format!("{{{}}}", members.join(","));
            let mut doc = Document::new();
            prop_assert!(doc.parse(&text));
            let expected: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let root = doc.root();
            for key in keys.iter().chain(&probes) {
                let found = root.and_then(|root| root.get(key)).map(NodeRef::to_value);
                prop_assert_eq!(found.as_ref(), expected.get(key), "{} in {}", key, text);
            }
        }

        #[test]
        fn extending_the_root_is_removing_then_inserting(
            text in json_text(),
            remove in prop::collection::vec("[a-e]{1,2}", 0..3),
            additions in prop::collection::vec(
                ("[a-e]{1,2}|uuid", prop_oneof![
                    Just(None),
                    "[a-z\"é]{0,5}".prop_map(|s| Some(Value::String(s))),
                    "0|[1-9][0-9]{0,22}|007|-3|1e5|x".prop_map(|digits| Some(Value::from(digits))),
                    Just(Some(serde_json::json!({"n": [1, {"b": 2, "a": null}]}))),
                ]),
                0..6,
            ),
        ) {
            let mut doc = Document::new();
            if !doc.parse(&text) {
                return Ok(());
            }
            let mut expected = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            let new_values: Vec<(&str, NewValue<'_>)> = additions
                .iter()
                .map(|(key, value)| {
                    let value = match value {
                        None => NewValue::Null,
                        Some(Value::String(text)) => NewValue::String(text),
                        Some(other) => NewValue::Value(other),
                    };
                    (key.as_str(), value)
                })
                .collect();
            let removed: Vec<&str> = remove.iter().map(String::as_str).collect();
            let changed = doc.extend_root(&removed, &new_values);
            prop_assert_eq!(changed, expected.is_object());
            if let Some(map) = expected.as_object_mut() {
                for key in &remove {
                    map.remove(key);
                }
                for (key, value) in &additions {
                    map.insert(key.clone(), value.clone().unwrap_or(Value::Null));
                }
            }
            let root = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            prop_assert_eq!(&root, &expected);
            let mut written = Vec::new();
            if let Some(root) = doc.root() {
                root.write_json(&mut written);
            }
            prop_assert_eq!(String::from_utf8_lossy(&written), expected.to_string());
        }

        #[test]
        fn setting_a_root_string_replaces_only_that_value(text in json_text(), value in "[a-z\"é]{0,6}") {
            let mut doc = Document::new();
            if !doc.parse(&text) {
                return Ok(());
            }
            let mut expected = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            let present = expected.get("a").is_some();
            prop_assert_eq!(doc.set_root_string("a", &value), present);
            if let Some(slot) = expected.get_mut("a") {
                *slot = Value::String(value.clone());
            }
            let root = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            prop_assert_eq!(root, expected);
        }

        #[test]
        fn integers_are_added_as_serde_json_reads_them(digits in "0|[1-9][0-9]{0,22}|007|-3|1e5|x|") {
            let mut doc = Document::new();
            let parsed = doc.parse("{}");
            prop_assert!(parsed);
            prop_assert!(doc.extend_root(&[], &[("n", NewValue::Integer(&digits))]));
            let expected = Number::from_str(&digits)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(digits.clone()));
            let root = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            prop_assert_eq!(root.get("n"), Some(&expected));
        }

        #[test]
        fn root_edits_behave_like_map_insert_and_remove(
            text in json_text(),
            edits in prop::collection::vec(edit(), 0..8),
        ) {
            let mut doc = Document::new();
            if !doc.parse(&text) {
                return Ok(());
            }
            let mut expected = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            for (key, value) in &edits {
                match (value, expected.as_object_mut()) {
                    (Some(value), Some(map)) => {
                        map.insert(key.clone(), value.clone());
                        prop_assert!(doc.extend_root(&[], &[(key, NewValue::Value(value))]));
                    }
                    (Some(value), None) => {
                        prop_assert!(!doc.extend_root(&[], &[(key, NewValue::Value(value))]));
                    }
                    (None, map) => {
                        if let Some(map) = map {
                            map.remove(key);
                        }
                        doc.extend_root(&[key.as_str()], &[]);
                    }
                }
            }
            let root = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            prop_assert_eq!(&root, &expected);
            let mut written = Vec::new();
            if let Some(root) = doc.root() {
                root.write_json(&mut written);
            }
            prop_assert_eq!(String::from_utf8_lossy(&written), expected.to_string());
        }
    }

    /// `set_if_absent` on a `Value`, the way the Event Platform enrichment does it.
    fn set_if_absent_in_value(root: &mut Value, pointer: &str, value: &Value) {
        let path = pointer.strip_prefix('/').unwrap_or(pointer);
        let parts: Vec<&str> = path.split('/').collect();
        let Some((last, parents)) = parts.split_last() else {
            return;
        };
        let mut current = root;
        for part in parents {
            let Some(map) = current.as_object_mut() else {
                return;
            };
            current = map
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        if let Some(map) = current.as_object_mut() {
            map.entry(last.to_string()).or_insert_with(|| value.clone());
        }
    }

    #[test]
    fn set_if_absent_keeps_present_values_and_adds_missing_objects() {
        let mut doc = Document::new();
        assert!(doc.parse(r#"{"meta":{"stream":"s","dt":null},"x":1,"z":[{}]}"#));
        doc.set_if_absent(&["meta", "id"], NewValue::String("i"));
        doc.set_if_absent(&["meta", "dt"], NewValue::String("now"));
        doc.set_if_absent(&["meta", "stream"], NewValue::String("other"));
        doc.set_if_absent(
            &["http", "request_headers", "user-agent"],
            NewValue::String("ua"),
        );
        doc.set_if_absent(&["x", "y"], NewValue::String("not under a number"));
        doc.set_if_absent(&["a"], NewValue::EmptyObject);
        let expected = serde_json::json!({
            "a": {},
            "http": {"request_headers": {"user-agent": "ua"}},
            "meta": {"dt": null, "id": "i", "stream": "s"},
            "x": 1,
            "z": [{}],
        });
        let root = doc.root().map(NodeRef::to_value);
        assert_eq!(root.as_ref(), Some(&expected));
        let mut written = Vec::new();
        if let Some(root) = doc.root() {
            root.write_json(&mut written);
        }
        assert_eq!(String::from_utf8_lossy(&written), expected.to_string());
        // Not an object at the top: nothing to set.
        assert!(doc.parse("[1]"));
        doc.set_if_absent(&["a"], NewValue::Null);
        assert_eq!(
            doc.root().map(NodeRef::to_value),
            Some(serde_json::json!([1]))
        );
    }

    #[test]
    fn a_node_id_finds_its_value_after_its_object_moved() {
        let mut doc = Document::new();
        assert!(doc.parse(r#"{"m":{"b":1,"d":2},"n":[3]}"#));
        let m = doc.root().and_then(|root| root.get("m")).map(NodeRef::id);
        let Some(m) = m else {
            panic!("no m");
        };
        assert_eq!(
            doc.member_or_insert(m, "b", NewValue::Null)
                .map(|(_, added)| added),
            Some(false)
        );
        let added = doc.member_or_insert(m, "c", NewValue::String("x"));
        assert!(matches!(added, Some((_, true))));
        assert_eq!(
            doc.at(m).to_value(),
            serde_json::json!({"b": 1, "c": "x", "d": 2})
        );
        let n = doc.root().and_then(|root| root.get("n")).map(NodeRef::id);
        let Some(n) = n else {
            panic!("no n");
        };
        assert_eq!(doc.member_or_insert(n, "a", NewValue::Null), None);
    }

    proptest! {
        /// Members added anywhere, with missing objects on the way, give what the same
        /// additions to serde_json's `Map`s give, written as serde_json writes it.
        #[test]
        fn set_if_absent_agrees_with_maps(
            text in json_text(),
            edits in proptest::collection::vec(
                (proptest::collection::vec("[a-c]{0,2}", 1..4), json_text()),
                0..6,
            ),
        ) {
            let mut doc = Document::new();
            if !doc.parse(&text) {
                return Ok(());
            }
            let mut expected = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            for (path, value_text) in &edits {
                let Ok(value) = serde_json::from_str::<Value>(value_text) else {
                    continue;
                };
                let pointer = format!("/{}", path.join("/"));
                set_if_absent_in_value(&mut expected, &pointer, &value);
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                doc.set_if_absent(&path, NewValue::Value(&value));
            }
            let root = doc.root().map(NodeRef::to_value).unwrap_or(Value::Null);
            prop_assert_eq!(&root, &expected);
            let mut written = Vec::new();
            if let Some(root) = doc.root() {
                root.write_json(&mut written);
            }
            prop_assert_eq!(String::from_utf8_lossy(&written), expected.to_string());
        }
    }
}
