//! Synthesises a valid instance of a draft-3 event schema: required properties always, optional
//! ones often, values within `enum`, `minimum`/`maximum`, `minLength`/`maxLength` and `pattern`.

use regex::Regex;
use serde_json::{Map, Value};

use super::rng::Rng;

const WORDS: &[&str] = &[
    "alpha",
    "main",
    "search",
    "edit",
    "click",
    "view",
    "desktop",
    "mobile",
    "init",
    "save",
    "Main_Page",
    "Special:Search",
    "vector-2022",
    "minerva",
    "default",
    "ready",
    "loaded",
];

const PATTERN_CANDIDATES: &[fn(&mut Rng) -> String] = &[
    |r| hex(r, 20),
    |r| hex(r, 32),
    |r| hex(r, 16),
    |r| r.pick(WORDS).copied().unwrap_or("x").to_owned(),
    |r| r.between(1, 99_999).to_string(),
    |r| format!("{}-{}", hex(r, 8), hex(r, 4)),
    |r| format!("2026-{:02}-{:02}", r.between(1, 12), r.between(1, 28)),
    |r| format!("{}wiki", ["en", "de", "fr", "ja", "es"][r.index(5)]),
    |r| ["en", "de", "fr", "ja", "es"][r.index(5)].to_owned(),
];

/// Lower-case hexadecimal digits.
pub fn hex(rng: &mut Rng, digits: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..digits)
        .map(|_| char::from(HEX[rng.index(16)]))
        .collect()
}

/// A valid instance of `schema`, or `None` if no value could be made (e.g. an unsatisfiable
/// pattern).
pub fn synthesize(schema: &Value, rng: &mut Rng, depth: usize) -> Option<Value> {
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        return rng.pick(choices).cloned();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null" && *t != "any")
            .unwrap_or("string"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match ty {
        "integer" => {
            let low = schema.get("minimum").and_then(Value::as_i64).unwrap_or(0);
            let high = schema
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(low.saturating_add(100_000));
            Some(Value::from(rng.between(low, high)))
        }
        "number" => {
            let low = schema.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
            let high = schema
                .get("maximum")
                .and_then(Value::as_f64)
                .unwrap_or(low + 10_000.0);
            let x = low + rng.unit() * (high - low);
            Some(Value::from((x * 1000.0).round() / 1000.0))
        }
        "boolean" => Some(Value::Bool(rng.chance(0.5))),
        "object" => Some(Value::Object(object(schema, rng, depth))),
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            let n = rng.below(4) as usize;
            Some(Value::Array(
                (0..n)
                    .filter_map(|_| synthesize(&items, rng, depth + 1))
                    .collect(),
            ))
        }
        _ => string(schema, rng).map(Value::String),
    }
}

/// An object with every required property and most optional ones.
pub fn object(schema: &Value, rng: &mut Rng, depth: usize) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return out;
    };
    for (name, property) in properties {
        let required = property.get("required").and_then(Value::as_bool) == Some(true);
        if depth > 4 || (!required && !rng.chance(0.6)) {
            continue;
        }
        if let Some(value) = synthesize(property, rng, depth + 1) {
            out.insert(name.clone(), value);
        }
    }
    out
}

/// Compiles each pattern once per thread (the generator calls this for every event).
fn compiled(pattern: &str) -> Option<Regex> {
    thread_local! {
        static PATTERNS: std::cell::RefCell<std::collections::HashMap<String, Option<Regex>>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    PATTERNS.with(|cache| {
        cache
            .borrow_mut()
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(pattern).ok())
            .clone()
    })
}

fn string(schema: &Value, rng: &mut Rng) -> Option<String> {
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .map_or(usize::MAX, |m| m as usize);
    let fits = |s: &str| (min..=max).contains(&s.chars().count());
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        let re = compiled(pattern)?;
        for _ in 0..4 {
            for candidate in PATTERN_CANDIDATES {
                let s = candidate(rng);
                if re.is_match(&s) && fits(&s) {
                    return Some(s);
                }
            }
        }
        return None;
    }
    for _ in 0..8 {
        let s = rng.pick(WORDS).copied().unwrap_or("x").to_owned();
        if fits(&s) {
            return Some(s);
        }
    }
    Some("x".repeat(min.max(1)).chars().take(max.max(1)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn respects_constraints() {
        let schema = json!({"properties": {
            "a": {"type": "integer", "required": true, "minimum": 5, "maximum": 7},
            "b": {"type": "string", "required": true, "enum": ["x", "y"]},
            "c": {"type": "string", "required": true, "pattern": "^[0-9a-f]{20}$"},
            "d": {"type": "boolean", "required": true},
            "e": {"type": "string", "required": true, "maxLength": 4}
        }});
        let mut rng = Rng::new(1);
        for _ in 0..200 {
            let v = object(&schema, &mut rng, 0);
            let a = v["a"].as_i64().unwrap();
            assert!((5..=7).contains(&a));
            assert!(["x", "y"].contains(&v["b"].as_str().unwrap()));
            assert_eq!(v["c"].as_str().unwrap().len(), 20);
            assert!(v["d"].is_boolean());
            assert!(v["e"].as_str().unwrap().chars().count() <= 4);
        }
    }
}
