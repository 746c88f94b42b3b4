//! Field checks every service's domain uses. They name the field at fault, so the problem the
//! caller gets can too.

/// A field that failed a check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// A required text: not blank, at most `max` characters.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    max_chars(field, value, max)
}

/// At most `max` characters (not bytes), and no NUL, which PostgreSQL cannot store.
pub fn max_chars(field: &'static str, value: &str, max: usize) -> Result<(), Invalid> {
    if value.contains('\0') {
        return Err(Invalid::new(field, "must not contain NUL (U+0000) characters"));
    }
    if value.chars().count() > max {
        return Err(Invalid::new(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

/// A JSON object of at most `max_bytes` as serialized JSON (free-form `meta`, say).
pub fn json_object(field: &'static str, value: &serde_json::Value, max_bytes: usize) -> Result<(), Invalid> {
    if !value.is_object() {
        return Err(Invalid::new(field, "must be a JSON object"));
    }
    if value.to_string().len() > max_bytes {
        return Err(Invalid::new(field, format!("must be at most {max_bytes} bytes as JSON")));
    }
    Ok(())
}

impl From<Invalid> for crate::Problem {
    fn from(invalid: Invalid) -> Self {
        crate::Problem::invalid(invalid.field, invalid.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_their_field() {
        assert_eq!(text("name", "  ", 5).unwrap_err().field, "name");
        assert!(text("name", "héllo", 5).is_ok());
        assert!(max_chars("bio", "toolong", 3).is_err());
        assert_eq!(text("text", "a\0b", 10).unwrap_err().field, "text");
        assert!(json_object("meta", &serde_json::json!([1]), 10).is_err());
        assert!(json_object("meta", &serde_json::json!({"a": "b"}), 10).is_ok());
        assert!(json_object("meta", &serde_json::json!({"a": "bbbbbbbbbb"}), 10).is_err());
    }
}
