//! How the kind of a JSON value is named in messages ("found a number", "found an array").

use serde_json::Value;

/// The kind of `value` with its article: `null`, `a boolean`, `a number`, `a string`, `an
/// array`, `an object`.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
