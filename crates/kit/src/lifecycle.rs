//! Telling callers before anything breaks. A service lists its deprecated operations once, in
//! code; from that one list the kit marks them deprecated in the published spec and adds
//! `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and `Link` headers to their responses.

use actix_web::http::header::HeaderValue;
use chrono::NaiveDate;
use utoipa::openapi::{Deprecated, OpenApi};

/// One deprecated operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    pub operation_id: &'static str,
    /// The day it was deprecated, `YYYY-MM-DD`.
    pub since: &'static str,
    /// The day after which it may be removed, `YYYY-MM-DD`.
    pub sunset: &'static str,
    /// Where callers read what to use instead.
    pub link: &'static str,
}

/// The response headers of a deprecated operation.
#[derive(Debug, Clone)]
pub struct DeprecationHeaders {
    pub deprecation: HeaderValue,
    pub sunset: HeaderValue,
    pub link: HeaderValue,
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("deprecation of `{operation}`: `{value}` is not a YYYY-MM-DD date")]
    BadDate { operation: &'static str, value: &'static str },
    #[error("deprecation of `{0}`: no such operation in the spec")]
    UnknownOperation(&'static str),
    #[error("deprecation of `{0}`: the link is not a valid header value")]
    BadLink(&'static str),
}

impl Deprecation {
    fn date(&self, value: &'static str) -> Result<NaiveDate, LifecycleError> {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| LifecycleError::BadDate { operation: self.operation_id, value })
    }

    pub fn headers(&self) -> Result<DeprecationHeaders, LifecycleError> {
        let since = self.date(self.since)?.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        let sunset = self.date(self.sunset)?.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        let value = |text: String| HeaderValue::from_str(&text).map_err(|_| LifecycleError::BadLink(self.operation_id));
        Ok(DeprecationHeaders {
            // RFC 9745: a structured-field date, seconds since the epoch.
            deprecation: value(format!("@{}", since.timestamp()))?,
            // RFC 8594: an HTTP date.
            sunset: value(sunset.format("%a, %d %b %Y %H:%M:%S GMT").to_string())?,
            link: value(format!("<{}>; rel=\"deprecation\"; type=\"text/html\"", self.link))?,
        })
    }
}

/// Marks each listed operation deprecated in `spec`, with the dates in its description.
pub fn apply_to_spec(spec: &mut OpenApi, deprecations: &[Deprecation]) -> Result<(), LifecycleError> {
    for deprecation in deprecations {
        deprecation.headers()?;
        let operation = spec
            .paths
            .paths
            .values_mut()
            .flat_map(|item| {
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            })
            .find(|operation| operation.operation_id.as_deref() == Some(deprecation.operation_id))
            .ok_or(LifecycleError::UnknownOperation(deprecation.operation_id))?;
        operation.deprecated = Some(Deprecated::True);
        let note = format!(
            "Deprecated since {}; may be removed after {}. See {}.",
            deprecation.since, deprecation.sunset, deprecation.link
        );
        operation.description = Some(match operation.description.take() {
            Some(description) => format!("{description}\n\n{note}"),
            None => note,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: Deprecation = Deprecation {
        operation_id: "get_thing",
        since: "2026-11-01",
        sunset: "2027-05-01",
        link: "https://chorus.dev/changes/things",
    };

    #[test]
    fn headers_follow_the_rfcs() {
        let headers = OLD.headers().unwrap();
        assert_eq!(headers.deprecation, "@1793491200");
        assert_eq!(headers.sunset, "Sat, 01 May 2027 00:00:00 GMT");
        assert_eq!(headers.link, "<https://chorus.dev/changes/things>; rel=\"deprecation\"; type=\"text/html\"");
        let bad = Deprecation { sunset: "someday", ..OLD };
        assert!(matches!(bad.headers(), Err(LifecycleError::BadDate { .. })));
    }

    #[test]
    fn marks_the_operation_in_the_spec() {
        let operation = utoipa::openapi::path::OperationBuilder::new().operation_id(Some("get_thing")).build();
        let mut spec = utoipa::openapi::OpenApiBuilder::new()
            .paths(
                utoipa::openapi::PathsBuilder::new()
                    .path("/v1/things", utoipa::openapi::PathItem::new(utoipa::openapi::HttpMethod::Get, operation)),
            )
            .build();
        apply_to_spec(&mut spec, &[OLD]).unwrap();
        let marked = spec.paths.paths["/v1/things"].get.as_ref().unwrap();
        assert!(matches!(marked.deprecated, Some(Deprecated::True)));
        assert!(marked.description.as_deref().unwrap().contains("2027-05-01"));
        let unknown = Deprecation { operation_id: "nope", ..OLD };
        assert!(matches!(apply_to_spec(&mut spec, &[unknown]), Err(LifecycleError::UnknownOperation("nope"))));
    }
}
