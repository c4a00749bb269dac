//! Finding the subschema that describes an instance location: "does this schema declare
//! `/meta/id`?", as EventGate's enrichment asks before setting a field (eventgate.md §5).
//!
//! An instance JSON pointer (RFC 6901) is followed segment by segment. At each object schema
//! the segment is looked up in `properties`, in the schema itself and then in its `allOf`
//! branches (depth first, in order); local `$ref`s (`#/definitions/x`) are followed. When no
//! `properties` entry has the name, an `additionalProperties` *schema* (an object, as in the
//! `http.request_headers` string map) describes it. `patternProperties`, `anyOf`, `oneOf` and
//! `if`/`then` are not followed (materialized WMF schemas do not use them for declared fields).

use serde_json::Value;

use std::cell::Cell;

/// Deepest chain of `allOf`/`$ref` hops followed at one location.
const MAX_HOPS: usize = 32;

/// Most schema nodes probed for one segment (bounds `allOf` fan-out in hostile schemas).
const MAX_VISITS: usize = 512;

/// The subschema describing the instance location `pointer` (`""` is the root), if the schema
/// declares it.
pub fn property_schema<'s>(root: &'s Value, pointer: &str) -> Option<&'s Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let mut current = root;
    for raw in pointer.strip_prefix('/')?.split('/') {
        let segment = unescape(raw);
        current = child_schema(root, current, &segment)?;
    }
    Some(current)
}

/// RFC 6901 unescaping of one reference token (`~1` is `/`, `~0` is `~`).
fn unescape(token: &str) -> String {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~")
    } else {
        token.to_owned()
    }
}

/// The schema of property `name` of instances of `schema`.
fn child_schema<'s>(root: &'s Value, schema: &'s Value, name: &str) -> Option<&'s Value> {
    let budget = Cell::new(MAX_VISITS);
    find_in_branches(root, schema, 0, &budget, &|node| {
        node.get("properties")
            .and_then(|properties| properties.get(name))
    })
    .or_else(|| {
        budget.set(MAX_VISITS);
        find_in_branches(root, schema, 0, &budget, &|node| {
            node.get("additionalProperties").filter(|a| a.is_object())
        })
    })
}

/// The first answer of `probe` on `schema` (after following its `$ref`) or on its `allOf`
/// branches, depth first.
fn find_in_branches<'s>(
    root: &'s Value,
    schema: &'s Value,
    hops: usize,
    budget: &Cell<usize>,
    probe: &dyn Fn(&'s Value) -> Option<&'s Value>,
) -> Option<&'s Value> {
    if hops > MAX_HOPS || budget.get() == 0 {
        return None;
    }
    budget.set(budget.get() - 1);
    let schema = follow_local_ref(root, schema, hops)?;
    if let Some(found) = probe(schema) {
        return Some(found);
    }
    schema
        .get("allOf")
        .and_then(Value::as_array)?
        .iter()
        .find_map(|branch| find_in_branches(root, branch, hops + 1, budget, probe))
}

/// `schema`, or the target of its local `$ref` (`#` or `#/json/pointer`), following chains.
/// Remote `$ref`s are not followed (the schema itself is returned).
pub(crate) fn follow_local_ref<'s>(
    root: &'s Value,
    schema: &'s Value,
    hops: usize,
) -> Option<&'s Value> {
    let mut current = schema;
    for _ in hops..=MAX_HOPS {
        match current.get("$ref").and_then(Value::as_str) {
            Some(reference) if reference.starts_with('#') => {
                let pointer = reference.get(1..).unwrap_or_default();
                current = root.pointer(pointer)?;
            }
            _ => return Some(current),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn legacy_like() -> Value {
        json!({
            "type": "object",
            "properties": {
                "dt": {"type": "string", "format": "date-time"},
                "meta": {"type": "object", "properties": {
                    "id": {"type": "string"}, "dt": {"type": "string"}
                }},
                "http": {"type": "object", "properties": {
                    "request_headers": {"type": "object", "additionalProperties": {"type": "string"}}
                }},
                "a/b": {"type": "integer"},
                "shared": {"$ref": "#/definitions/shared"}
            },
            "allOf": [
                {"properties": {"client_dt": {"type": "string"}}},
                {"allOf": [{"properties": {"deep": {"type": "boolean"}}}]}
            ],
            "definitions": {"shared": {"type": "object", "properties": {"x": {"type": "number"}}}}
        })
    }

    #[test]
    fn follows_properties_allof_maps_and_local_refs() {
        let schema = legacy_like();
        assert_eq!(property_schema(&schema, ""), Some(&schema));
        assert_eq!(
            property_schema(&schema, "/meta/id"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(
            property_schema(&schema, "/dt"),
            Some(&json!({"type": "string", "format": "date-time"}))
        );
        assert_eq!(
            property_schema(&schema, "/http/request_headers/user-agent"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(property_schema(&schema, "/http/client_ip"), None);
        assert_eq!(
            property_schema(&schema, "/client_dt"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(
            property_schema(&schema, "/deep"),
            Some(&json!({"type": "boolean"}))
        );
        assert_eq!(
            property_schema(&schema, "/a~1b"),
            Some(&json!({"type": "integer"}))
        );
        assert_eq!(
            property_schema(&schema, "/shared/x"),
            Some(&json!({"type": "number"}))
        );
        assert_eq!(property_schema(&schema, "/meta/nope"), None);
        assert_eq!(property_schema(&schema, "/nope/id"), None);
        assert_eq!(property_schema(&schema, "meta"), None, "not a pointer");
    }

    #[test]
    fn ref_loops_end() {
        let schema = json!({
            "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}},
            "properties": {"x": {"$ref": "#/definitions/a"}},
            "allOf": [{"$ref": "#"}]
        });
        assert_eq!(property_schema(&schema, "/x/y"), None);
        assert_eq!(property_schema(&schema, "/missing"), None);
        assert_eq!(
            property_schema(&json!({"properties": {"x": {"$ref": "#/nowhere"}}}), "/x/y"),
            None
        );
        // Exponential allOf fan-out is cut by the visit budget.
        let fan_out = json!({"allOf": [{"$ref": "#"}, {"$ref": "#"}, {"$ref": "#"}]});
        assert_eq!(property_schema(&fan_out, "/x"), None);
    }
}
