//! Problem details (RFC 9457): the one error type every handler returns.
//!
//! Every error response in Chorus is `application/problem+json`. A problem has a stable `type`
//! (listed in each spec through [`ProblemType`]), a human title, an optional detail and, for bad
//! input, the names of the offending fields. Internal causes are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The stable problem types. Their URIs never change once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ProblemType {
    #[serde(rename = "https://chorus.dev/problems/invalid-request")]
    InvalidRequest,
    #[serde(rename = "https://chorus.dev/problems/unauthenticated")]
    Unauthenticated,
    #[serde(rename = "https://chorus.dev/problems/forbidden")]
    Forbidden,
    #[serde(rename = "https://chorus.dev/problems/not-found")]
    NotFound,
    #[serde(rename = "https://chorus.dev/problems/method-not-allowed")]
    MethodNotAllowed,
    #[serde(rename = "https://chorus.dev/problems/conflict")]
    Conflict,
    #[serde(rename = "https://chorus.dev/problems/gone")]
    Gone,
    #[serde(rename = "https://chorus.dev/problems/payload-too-large")]
    PayloadTooLarge,
    #[serde(rename = "https://chorus.dev/problems/unsupported-media-type")]
    UnsupportedMediaType,
    #[serde(rename = "https://chorus.dev/problems/idempotency-key-reused")]
    IdempotencyKeyReused,
    #[serde(rename = "https://chorus.dev/problems/rate-limited")]
    RateLimited,
    #[serde(rename = "https://chorus.dev/problems/internal")]
    Internal,
    #[serde(rename = "https://chorus.dev/problems/unavailable")]
    Unavailable,
}

impl ProblemType {
    fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Gone => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::InvalidRequest => "The request is invalid",
            Self::Unauthenticated => "Authentication is required",
            Self::Forbidden => "The caller may not do this",
            Self::NotFound => "No such resource",
            Self::MethodNotAllowed => "Method not allowed on this resource",
            Self::Conflict => "The request conflicts with the current state",
            Self::Gone => "The resource is no longer available",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "The request body must be application/json",
            Self::IdempotencyKeyReused => "The Idempotency-Key was used with a different request",
            Self::RateLimited => "Too many requests",
            Self::Internal => "Internal error",
            Self::Unavailable => "The service is temporarily unavailable",
        }
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field, as a JSON pointer-like dotted path (`profile.display_name`), or a parameter name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem details body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: ProblemType,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The invalid fields, for bad input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request id, to quote when reporting the problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    pub fn new(problem_type: ProblemType) -> Self {
        Self {
            problem_type,
            title: problem_type.title().to_owned(),
            status: problem_type.status().as_u16(),
            detail: None,
            errors: Vec::new(),
            request_id: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Bad input in one named field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field_error = FieldError { field: field.into(), message: message.into() };
        Self::new(ProblemType::InvalidRequest)
            .with_detail(format!("{}: {}", field_error.field, field_error.message))
            .with_errors(vec![field_error])
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Unauthenticated).with_detail(detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Forbidden).with_detail(detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::NotFound).with_detail(detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Conflict).with_detail(detail)
    }

    /// An unexpected failure. The cause is logged here, with the request's span, and never sent.
    pub fn internal(cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ProblemType::Internal)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{} ({}): {}", self.title, self.status, detail),
            None => write!(f, "{} ({})", self.title, self.status),
        }
    }
}

impl std::error::Error for Problem {}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        Problem::status_code(self)
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = self.clone();
        body.request_id = crate::telemetry::current_request_id();
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if self.status == StatusCode::UNAUTHORIZED.as_u16() {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(body)
    }
}

impl From<crate::db::DbError> for Problem {
    fn from(error: crate::db::DbError) -> Self {
        if error.is_unique_violation() {
            return Self::conflict("a concurrent request changed the same data; retry the request");
        }
        if error.is_nul_in_text() {
            return Self::invalid("body", "text must not contain NUL (U+0000) characters");
        }
        match error {
            crate::db::DbError::PoolTimeout(_) => {
                tracing::warn!(%error, "database pool exhausted");
                Self::new(ProblemType::Unavailable).with_detail("the database is busy, retry shortly")
            }
            other => Self::internal(&other),
        }
    }
}

/// Reusable error responses for `#[utoipa::path(responses(...))]`.
pub mod responses {
    use super::Problem;
    use utoipa::ToResponse;

    /// The request is invalid; `errors` names the offending fields. Nothing was changed.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct BadRequest(#[allow(dead_code)] Problem);

    /// No valid credentials were sent.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unauthorized(#[allow(dead_code)] Problem);

    /// The caller may not do this.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Forbidden(#[allow(dead_code)] Problem);

    /// No such resource in the caller's app.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct NotFound(#[allow(dead_code)] Problem);

    /// The request conflicts with the current state.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Conflict(#[allow(dead_code)] Problem);

    /// The Idempotency-Key was first used with a different request.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct IdempotencyKeyReused(#[allow(dead_code)] Problem);

    /// A quota or rate limit was reached; retry after the time the `Retry-After` header gives.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct RateLimited(#[allow(dead_code)] Problem);

    /// The resume point is older than the feed's retention; resync from the service's API.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Gone(#[allow(dead_code)] Problem);

    /// The body is larger than the service accepts (`http.max_body_bytes`, 64 KiB by default).
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct PayloadTooLarge(#[allow(dead_code)] Problem);

    /// The body was not sent as `application/json`.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct UnsupportedMediaType(#[allow(dead_code)] Problem);

    /// The service is briefly unable to answer (its database is busy, say); retry shortly.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unavailable(#[allow(dead_code)] Problem);
}
