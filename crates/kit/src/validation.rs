//! Field checks every service's domain uses. They name the field at fault, so the problem the
//! caller gets can too.
//!
//! Each check has a twin in the published schema, so a request the schema allows is never
//! refused for a reason the schema does not state. Write the pattern next to the field:
//! - [`text`]: `#[schema(min_length = 1, max_length = N, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]`
//!   (not blank, no NUL; "blank" is the ECMAScript `\s` of JSON Schema patterns);
//! - [`max_chars`]: `#[schema(max_length = N, pattern = r"^[^\u0000]*$")]`;
//! - [`http_url`]: `#[schema(max_length = N, pattern = …)]` with [`HTTP_URL_PATTERN`], written
//!   out (utoipa takes only literals there; a test in each service compares the two).

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
    if value.chars().all(is_blank) {
        return Err(Invalid::new(field, "must not be empty"));
    }
    max_chars(field, value, max)
}

/// Whitespace as JSON Schema patterns see it (ECMAScript `\s`: WhiteSpace and LineTerminator,
/// ECMA-262 sections 12.2 and 12.3), so "blank" means the same to the schema and to us.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// The schema pattern of [`http_url`]: `http` or `https`; a host name whose last label starts
/// with a letter (WHATWG URL parsing reads a name ending in a number as an IPv4 address), or an
/// IPv4 address in dotted-decimal form (no IPv6 literals); an optional port up to 65535; and a
/// path, query or fragment without whitespace.
pub const HTTP_URL_PATTERN: &str = r"^https?://(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?([/?#][^\s\u0000]*)?$";

/// An absolute `http` or `https` URL of at most `max` characters, exactly as
/// [`HTTP_URL_PATTERN`] allows.
pub fn http_url(field: &'static str, value: &str, max: usize) -> Result<url::Url, Invalid> {
    max_chars(field, value, max)?;
    let invalid = || Invalid::new(field, "must be an http or https URL with a host name");
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://")).ok_or_else(invalid)?;
    if value.chars().any(is_blank) {
        return Err(invalid());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let label_ok = |label: &str| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let starts_with_letter = |label: &str| label.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
    let octet_ok = |octet: &str| {
        (1..=3).contains(&octet.len())
            && octet.bytes().all(|b| b.is_ascii_digit())
            && (octet == "0" || !octet.starts_with('0'))
            && octet.parse::<u8>().is_ok()
    };
    let is_ipv4 = host.split('.').count() == 4 && host.split('.').all(octet_ok);
    let last_ok = is_ipv4 || host.rsplit('.').next().is_some_and(starts_with_letter);
    // As the pattern has it: at most 65535, and five digits only without a leading zero.
    let port_ok = port.is_none_or(|p| {
        (1..=5).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && !(p.len() == 5 && p.starts_with('0'))
            && p.parse::<u32>().is_ok_and(|p| p <= 65_535)
    });
    if !host.split('.').all(label_ok) || !last_ok || !port_ok {
        return Err(invalid());
    }
    url::Url::parse(value).map_err(|error| Invalid::new(field, format!("must be a URL ({error})")))
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

/// Deserializes an unsigned integer that a client may also write with a zero fraction (`26.0`):
/// JSON Schema's `integer` admits both (JSON Schema 2020-12, section 6.1.1), so we do too. For
/// `#[serde(deserialize_with = "chorus_kit::validation::integral")]`.
pub fn integral<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::Deserialize;
    use serde::de::Error;
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = number.as_u64().or_else(|| {
        number.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64).map(|f| f as u64)
    });
    let whole = whole.ok_or_else(|| D::Error::custom(format!("expected a non-negative integer, got {number}")))?;
    T::try_from(whole).map_err(|_| D::Error::custom(format!("{whole} is out of range")))
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
        assert!(text("name", "\u{3000}\u{FEFF}", 5).is_err());
        #[derive(serde::Deserialize)]
        struct Ttl {
            #[serde(deserialize_with = "integral")]
            days: u32,
        }
        assert_eq!(serde_json::from_str::<Ttl>(r#"{"days": 26.0}"#).unwrap().days, 26);
        assert!(serde_json::from_str::<Ttl>(r#"{"days": 26.5}"#).is_err());
        assert!(serde_json::from_str::<Ttl>(r#"{"days": -1}"#).is_err());
        assert!(text("name", "\u{85}", 5).is_ok(), "NEL is not blank to an ECMAScript pattern");
        assert!(http_url("url", "https://example.com/a?b#c", 100).is_ok());
        assert_eq!(http_url("url", "ftp://example.com", 100).unwrap_err().field, "url");
        assert!(http_url("url", "not a url", 100).is_err());
        assert!(http_url("url", "http://10.0.0.1/x", 100).is_ok());
        for refused in [
            "http://[::1]/",
            "http://01.2.3.4/",
            "http://1.2.3.256/",
            "HTTP://example.com",
            "http://a.b/c d",
            "http://a:70000",
        ] {
            assert!(http_url("url", refused, 100).is_err(), "{refused}");
        }
        assert!(http_url("url", "http://hooks.example.com:8443/in?x=1", 100).is_ok());
    }
}
