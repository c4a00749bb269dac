//! Filling schema `default`s into events, like AJV's `useDefaults` (eventgate.md §2.4, §5 step
//! 7): for every object the schema describes *that exists in the event*, each property that has
//! a `default` and is missing from the object gets a copy of it. Present values (including
//! `null`) are never overwritten and absent intermediate objects are never created; a default
//! that is itself an object is then filled in turn, as AJV does.
//!
//! The walk is planned once per schema ([`DefaultsPlan::build`]): only the paths that lead to
//! a `default` are kept, so an event of a schema without defaults costs nothing. Followed:
//! `properties`, `allOf` branches, local `$ref`s, `additionalProperties` schemas (map values)
//! and `items` (one schema for every element, or one per position). As in AJV, `anyOf`,
//! `oneOf`, `not` and `if`/`then`/`else` are not.

use std::cell::Cell;

use beacon_parsers::json::{Document, JsonKind, NewValue, NodeId, NodeRef};
use serde_json::{Map, Value};

use super::schema_pointer::follow_local_ref;

/// Deepest schema nesting planned (recursive schemas are cut there).
const MAX_DEPTH: usize = 32;

/// Most schema nodes visited while planning (bounds hostile `allOf`/`$ref` fan-out).
const MAX_VISITS: usize = 10_000;

/// Where the defaults of one schema go, for instances of that schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DefaultsPlan {
    /// Property name → default value, for properties of this object.
    fills: Vec<(String, Value)>,
    /// Property name → plan for the property's value.
    properties: Vec<(String, DefaultsPlan)>,
    /// Plan for the values of properties not in `declared` (an `additionalProperties` schema).
    additional: Option<Box<DefaultsPlan>>,
    /// Every name in `properties` of the schema (only kept when `additional` is set).
    declared: Vec<String>,
    /// Plan for every array element (`items` schema).
    items: Option<Box<DefaultsPlan>>,
    /// Plans for array elements by position (`items` array).
    tuple: Vec<(usize, DefaultsPlan)>,
}

impl DefaultsPlan {
    /// The plan of `root` (a whole schema document).
    pub fn build(root: &Value) -> Self {
        let budget = Cell::new(MAX_VISITS);
        let mut plan = Self::default();
        plan.merge_schema(root, root, 0, &budget);
        plan
    }

    /// Whether there is nothing to fill.
    pub fn is_empty(&self) -> bool {
        self.fills.is_empty()
            && self.properties.is_empty()
            && self.additional.is_none()
            && self.items.is_none()
            && self.tuple.is_empty()
    }

    /// Adds what `schema` (and its `allOf` branches and local `$ref`) contributes.
    fn merge_schema(&mut self, root: &Value, schema: &Value, depth: usize, budget: &Cell<usize>) {
        if depth > MAX_DEPTH || budget.get() == 0 {
            return;
        }
        budget.set(budget.get() - 1);
        let Some(schema) = follow_local_ref(root, schema, 0) else {
            return;
        };
        if let Some(Value::Object(properties)) = schema.get("properties") {
            self.merge_properties(root, properties, depth, budget);
        }
        if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            let mut plan = self.additional.take().map(|b| *b).unwrap_or_default();
            plan.merge_schema(root, additional, depth + 1, budget);
            if !plan.is_empty() {
                self.additional = Some(Box::new(plan));
            }
        }
        match schema.get("items") {
            Some(items @ Value::Object(_)) => {
                let mut plan = self.items.take().map(|b| *b).unwrap_or_default();
                plan.merge_schema(root, items, depth + 1, budget);
                if !plan.is_empty() {
                    self.items = Some(Box::new(plan));
                }
            }
            Some(Value::Array(positions)) => {
                for (index, item) in positions.iter().enumerate() {
                    let mut plan = DefaultsPlan::default();
                    plan.merge_schema(root, item, depth + 1, budget);
                    if !plan.is_empty() {
                        merge_keyed(&mut self.tuple, index, plan);
                    }
                }
            }
            _ => {}
        }
        if let Some(Value::Array(branches)) = schema.get("allOf") {
            for branch in branches {
                self.merge_schema(root, branch, depth + 1, budget);
            }
        }
    }

    fn merge_properties(
        &mut self,
        root: &Value,
        properties: &Map<String, Value>,
        depth: usize,
        budget: &Cell<usize>,
    ) {
        for (name, property) in properties {
            if !self.declared.contains(name) {
                self.declared.push(name.clone());
            }
            let target = follow_local_ref(root, property, 0).unwrap_or(property);
            let default = property.get("default").or_else(|| target.get("default"));
            if let Some(default) = default {
                if !self.fills.iter().any(|(filled, _)| filled == name) {
                    self.fills.push((name.clone(), default.clone()));
                }
            }
            let mut plan = DefaultsPlan::default();
            plan.merge_schema(root, property, depth + 1, budget);
            if !plan.is_empty() {
                merge_keyed(&mut self.properties, name.clone(), plan);
            }
        }
    }

    /// Fills the defaults into `instance` (see the module docs).
    pub fn apply(&self, instance: &mut Value) {
        match instance {
            Value::Object(object) => self.apply_to_object(object),
            Value::Array(elements) => {
                for (index, plan) in &self.tuple {
                    if let Some(element) = elements.get_mut(*index) {
                        plan.apply(element);
                    }
                }
                if let Some(plan) = &self.items {
                    for element in elements.iter_mut() {
                        plan.apply(element);
                    }
                }
            }
            _ => {}
        }
    }

    fn apply_to_object(&self, object: &mut Map<String, Value>) {
        for (name, default) in &self.fills {
            if !object.contains_key(name) {
                object.insert(name.clone(), default.clone());
            }
        }
        for (name, plan) in &self.properties {
            if let Some(value) = object.get_mut(name) {
                plan.apply(value);
            }
        }
        if let Some(plan) = &self.additional {
            for (name, value) in object.iter_mut() {
                if !self.declared.contains(name) {
                    plan.apply(value);
                }
            }
        }
    }
}

impl DefaultsPlan {
    /// [`apply`](Self::apply) to the value `node` of a parsed [`Document`]: the same members
    /// are added, in the same places.
    pub fn apply_to_document(&self, doc: &mut Document, node: NodeId) {
        match doc.at(node).kind() {
            JsonKind::Object => self.apply_to_document_object(doc, node),
            JsonKind::Array if !self.tuple.is_empty() || self.items.is_some() => {
                let elements: Vec<NodeId> = doc.at(node).items().map(NodeRef::id).collect();
                for (index, plan) in &self.tuple {
                    if let Some(&element) = elements.get(*index) {
                        plan.apply_to_document(doc, element);
                    }
                }
                if let Some(plan) = &self.items {
                    for &element in &elements {
                        plan.apply_to_document(doc, element);
                    }
                }
            }
            _ => {}
        }
    }

    fn apply_to_document_object(&self, doc: &mut Document, object: NodeId) {
        for (name, default) in &self.fills {
            doc.member_or_insert(object, name, NewValue::Value(default));
        }
        for (name, plan) in &self.properties {
            if let Some(value) = doc.at(object).get(name).map(NodeRef::id) {
                plan.apply_to_document(doc, value);
            }
        }
        if let Some(plan) = &self.additional {
            let undeclared: Vec<NodeId> = doc
                .at(object)
                .members()
                .filter(|(name, _)| !self.declared.iter().any(|declared| declared == name))
                .map(|(_, value)| value.id())
                .collect();
            for value in undeclared {
                plan.apply_to_document(doc, value);
            }
        }
    }
}

/// Adds `plan` under `key`, merging with an existing plan for the same key.
fn merge_keyed<K: PartialEq>(plans: &mut Vec<(K, DefaultsPlan)>, key: K, plan: DefaultsPlan) {
    match plans.iter_mut().find(|(existing, _)| *existing == key) {
        Some((_, existing)) => existing.absorb(plan),
        None => plans.push((key, plan)),
    }
}

impl DefaultsPlan {
    /// Merges `other` into `self`; on conflicting defaults the first one wins.
    fn absorb(&mut self, other: DefaultsPlan) {
        for (name, default) in other.fills {
            if !self.fills.iter().any(|(filled, _)| *filled == name) {
                self.fills.push((name, default));
            }
        }
        for (name, plan) in other.properties {
            merge_keyed(&mut self.properties, name, plan);
        }
        for name in other.declared {
            if !self.declared.contains(&name) {
                self.declared.push(name);
            }
        }
        if let Some(plan) = other.additional {
            match &mut self.additional {
                Some(existing) => existing.absorb(*plan),
                None => self.additional = Some(plan),
            }
        }
        if let Some(plan) = other.items {
            match &mut self.items {
                Some(existing) => existing.absorb(*plan),
                None => self.items = Some(plan),
            }
        }
        for (index, plan) in other.tuple {
            merge_keyed(&mut self.tuple, index, plan);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The instance with its defaults filled; checks that filling them into a parsed
    /// document gives the same value.
    fn filled(schema: &Value, mut instance: Value) -> Value {
        let plan = DefaultsPlan::build(schema);
        let mut doc = Document::new();
        assert!(doc.parse(&instance.to_string()));
        let root = doc.root().map(NodeRef::id);
        if let Some(root) = root {
            plan.apply_to_document(&mut doc, root);
        }
        plan.apply(&mut instance);
        assert_eq!(doc.root().map(NodeRef::to_value), Some(instance.clone()));
        instance
    }

    #[test]
    fn fills_missing_properties_only() {
        let schema = json!({"properties": {
            "test": {"type": "string"},
            "test_default": {"type": "string", "default": "default_value"},
            "n": {"default": 0}
        }});
        assert_eq!(
            filled(&schema, json!({"test": "x"})),
            json!({"test": "x", "test_default": "default_value", "n": 0})
        );
        assert_eq!(
            filled(&schema, json!({"test_default": 67890, "n": null})),
            json!({"test_default": 67890, "n": null}),
            "present values, even null or of the wrong type, are kept"
        );
        assert_eq!(
            filled(&schema, json!("not an object")),
            json!("not an object")
        );
        assert!(DefaultsPlan::build(&json!({"properties": {"a": {"type": "string"}}})).is_empty());
    }

    #[test]
    fn nested_objects_are_filled_only_when_present() {
        let schema = json!({"properties": {
            "meta": {"type": "object", "properties": {"domain": {"default": "unknown"}}},
            "outer": {"default": {}, "properties": {"inner": {"default": 1}}}
        }});
        assert_eq!(
            filled(&schema, json!({})),
            json!({"outer": {"inner": 1}}),
            "meta is not created; a default object is filled in turn"
        );
        assert_eq!(
            filled(&schema, json!({"meta": {}})),
            json!({"meta": {"domain": "unknown"}, "outer": {"inner": 1}})
        );
    }

    #[test]
    fn allof_refs_maps_and_arrays() {
        let schema = json!({
            "allOf": [
                {"properties": {"a": {"default": "from-allOf"}}},
                {"properties": {"a": {"default": "second loses"}, "r": {"$ref": "#/definitions/r"}}}
            ],
            "properties": {
                "map": {"type": "object", "additionalProperties": {"properties": {"k": {"default": true}}},
                        "properties": {"fixed": {"type": "object"}}},
                "list": {"items": {"properties": {"i": {"default": 0}}}},
                "pair": {"items": [{"properties": {"first": {"default": 1}}}]}
            },
            "definitions": {"r": {"default": "ref-default", "type": "string"}}
        });
        assert_eq!(
            filled(
                &schema,
                json!({"map": {"x": {}, "fixed": {}}, "list": [{}, {"i": 5}, 3], "pair": [{}, {}]})
            ),
            json!({
                "a": "from-allOf",
                "r": "ref-default",
                "map": {"x": {"k": true}, "fixed": {}},
                "list": [{"i": 0}, {"i": 5}, 3],
                "pair": [{"first": 1}, {}]
            })
        );
    }

    #[test]
    fn recursive_and_hostile_schemas_terminate() {
        let recursive = json!({"properties": {"child": {"$ref": "#"}, "d": {"default": 1}}});
        assert_eq!(
            filled(&recursive, json!({"child": {"child": {}}})),
            json!({"d": 1, "child": {"d": 1, "child": {"d": 1}}})
        );
        let fan_out =
            json!({"allOf": [{"$ref": "#"}, {"$ref": "#"}], "properties": {"d": {"default": 1}}});
        assert_eq!(filled(&fan_out, json!({})), json!({"d": 1}));
    }
}
