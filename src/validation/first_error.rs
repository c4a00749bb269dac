//! The one validation message reported for an invalid instance, shared by the legacy and the
//! Event Platform validators.

use serde_json::Value;

/// Validates `instance` with `validator`. On failure returns exactly one message: the first
/// error the library yields, as `<instance pointer>: <message>` (e.g.
/// `/event/recipientUserId: "12" is not of type "integer"`), or the bare message when the error
/// is about the instance root (e.g. `"wiki" is a required property`).
pub fn first_error_message(
    validator: &jsonschema::Validator,
    instance: &Value,
) -> Result<(), String> {
    // `is_valid` is cheaper than building an error for the (common) valid case.
    if validator.is_valid(instance) {
        return Ok(());
    }
    match validator.validate(instance) {
        Ok(()) => Ok(()),
        Err(error) => {
            let path = error.instance_path().to_string();
            Err(if path.is_empty() {
                error.to_string()
            } else {
                format!("{path}: {error}")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn root_errors_are_bare_and_nested_errors_name_the_pointer() {
        let validator = jsonschema::draft7::new(&json!({
            "type": "object",
            "required": ["a"],
            "properties": {"a": {"type": "object", "properties": {"b/c": {"type": "string"}}}}
        }))
        .expect("compiles");
        assert_eq!(first_error_message(&validator, &json!({"a": {}})), Ok(()));
        assert_eq!(
            first_error_message(&validator, &json!({})),
            Err("\"a\" is a required property".to_owned())
        );
        assert_eq!(
            first_error_message(&validator, &json!({"a": {"b/c": 1}})),
            Err("/a/b~1c: 1 is not of type \"string\"".to_owned())
        );
    }
}
