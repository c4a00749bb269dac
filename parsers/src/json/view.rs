//! Read access to a JSON value, whether it is a `serde_json::Value` or a [`Document`] node, so
//! that one validator can check both.

use std::borrow::Cow;

use serde_json::Value;

use super::document::{Items, JsonKind, MembersWithWords, NodeRef};
use super::key_order::sort_word;
#[cfg(doc)]
use super::Document;

/// A JSON value that can be looked at without knowing how it is stored.
pub trait JsonView<'a>: Copy {
    /// The members of an object, in key order, with their keys'
    /// [`sort_word`](super::key_order::sort_word)s.
    type Members: Iterator<Item = (&'a str, u64, Self)>;
    /// The items of an array.
    type Items: Iterator<Item = Self>;

    /// The value's kind.
    fn kind(self) -> JsonKind;
    /// The text of a string.
    fn as_str(self) -> Option<&'a str>;
    /// The text of a number, as serde_json's `arbitrary_precision` keeps it.
    fn number_text(self) -> Option<&'a str>;
    /// The members of an object in key order, with their keys' sort words (none for other
    /// kinds).
    fn members(self) -> Self::Members;
    /// The items of an array (none for other kinds).
    fn items(self) -> Self::Items;
    /// Whether the value is an object with a member `key`.
    fn has_member(self, key: &str) -> bool;
    /// The value as a `serde_json::Value`, borrowed when it is one.
    fn to_value(self) -> Cow<'a, Value>;
}

type ValueMembers<'a> = std::iter::Map<
    std::iter::Flatten<std::option::IntoIter<serde_json::map::Iter<'a>>>,
    fn((&'a String, &'a Value)) -> (&'a str, u64, &'a Value),
>;

type ValueItems<'a> = std::iter::Flatten<std::option::IntoIter<std::slice::Iter<'a, Value>>>;

impl<'a> JsonView<'a> for &'a Value {
    type Members = ValueMembers<'a>;
    type Items = ValueItems<'a>;

    fn kind(self) -> JsonKind {
        match self {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }

    fn as_str(self) -> Option<&'a str> {
        Value::as_str(self)
    }

    fn number_text(self) -> Option<&'a str> {
        match self {
            Value::Number(number) => Some(number.as_str()),
            _ => None,
        }
    }

    fn members(self) -> Self::Members {
        let to_str: fn((&'a String, &'a Value)) -> (&'a str, u64, &'a Value) =
            |(key, value)| (key.as_str(), sort_word(key.as_bytes()), value);
        self.as_object()
            .map(|map| map.iter())
            .into_iter()
            .flatten()
            .map(to_str)
    }

    fn items(self) -> Self::Items {
        self.as_array()
            .map(|items| items.iter())
            .into_iter()
            .flatten()
    }

    fn has_member(self, key: &str) -> bool {
        self.as_object().is_some_and(|map| map.contains_key(key))
    }

    fn to_value(self) -> Cow<'a, Value> {
        Cow::Borrowed(self)
    }
}

impl<'a> JsonView<'a> for NodeRef<'a> {
    type Members = MembersWithWords<'a>;
    type Items = Items<'a>;

    fn kind(self) -> JsonKind {
        NodeRef::kind(self)
    }

    fn as_str(self) -> Option<&'a str> {
        NodeRef::as_str(self)
    }

    fn number_text(self) -> Option<&'a str> {
        NodeRef::number_text(self)
    }

    fn members(self) -> Self::Members {
        NodeRef::members(self).with_words()
    }

    fn items(self) -> Self::Items {
        NodeRef::items(self)
    }

    fn has_member(self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn to_value(self) -> Cow<'a, Value> {
        Cow::Owned(NodeRef::to_value(self))
    }
}
