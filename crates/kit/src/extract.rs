//! The request extractors every handler uses for its input: [`Json`] bodies and [`Query`]
//! strings, plus the error handler for actix's own path extractor.
//!
//! Each failure is a [`Problem`] that names the field at fault, as a dotted path
//! (`settings.notifications_enabled`, `items[2].name`), whether the value is missing, unknown or
//! of the wrong type: `?limit=abc` names `limit`, and `{"text": 5}` names `text`. The path comes
//! from `serde_path_to_error`, which tracks it while the input is deserialized.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::future::{Ready, ready};
use std::ops::{Deref, DerefMut};

use crate::problem::{Problem, ProblemType};

/// The default largest body, in bytes, when the service sets no [`BodyLimit`].
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// The largest JSON body a service accepts, in bytes (`http.max_body_bytes`); larger bodies get
/// 413 before they are read to the end.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body of type `T`. The body must be sent as `application/json` (or another
/// `+json` type), else 415; at most [`BodyLimit`] bytes, else 413; and it must match `T`, else 400
/// naming the field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(DEFAULT_BODY_LIMIT, |limit| limit.0);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let is_json = is_json(req);
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(
                    Problem::new(ProblemType::UnsupportedMediaType).with_detail("send the body as application/json")
                );
            }
            if declared_length.is_some_and(|length| length > limit) {
                return Err(too_large(limit));
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| Problem::new(ProblemType::InvalidRequest).with_detail(e.to_string()))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

fn too_large(limit: usize) -> Problem {
    Problem::new(ProblemType::PayloadTooLarge).with_detail(format!("the body must be at most {limit} bytes"))
}

/// `application/json`, or any `+json` type (`application/merge-patch+json`, say).
fn is_json(req: &HttpRequest) -> bool {
    let Some(content_type) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body, naming the field of the first error.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        // Broken JSON is the body's fault, not a field's.
        let field = if error.inner().is_syntax() || error.inner().is_eof() {
            "body".to_owned()
        } else {
            field_of(&error.path().to_string(), &error.inner().to_string())
        };
        let message = strip_position(&error.inner().to_string());
        Problem::invalid(field, message)
    })?;
    deserializer.end().map_err(|error| Problem::invalid("body", strip_position(&error.to_string())))?;
    Ok(value)
}

/// A query string of type `T`; a value of the wrong type, a missing required parameter or an
/// unknown one (where `T` denies them) gets 400 naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parses a query string, naming the parameter of the first error.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = error.inner().to_string();
        Problem::invalid(field_of(&error.path().to_string(), &message), message)
    })
}

/// The error handler for actix's `web::Path`: every Chorus path parameter is a string, so the
/// only failure is a segment that is not valid percent-encoded UTF-8.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|error, _req| Problem::invalid("path", format!("a path parameter is invalid: {error}")).into())
}

/// The field a deserialization error is about. serde reports a missing field at the path of the
/// object that should hold it, naming the field only in its message; join the two. (An unknown
/// field's path already ends with its name.)
fn field_of(path: &str, message: &str) -> String {
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// serde_json ends its messages with ` at line 1 column 12`, which means nothing to a caller who
/// is told the field.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Comment {
        text: String,
        parent_id: Option<String>,
        settings: Option<Settings>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        notifications_enabled: bool,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        cursor: Option<String>,
        limit: Option<u32>,
    }

    fn field<T: std::fmt::Debug>(outcome: Result<T, Problem>) -> String {
        outcome.unwrap_err().errors[0].field.clone()
    }

    #[test]
    fn body_errors_name_the_field() {
        assert_eq!(field(parse_json::<Comment>(br#"{"text": 5}"#)), "text");
        assert_eq!(field(parse_json::<Comment>(br#"{}"#)), "text");
        assert_eq!(field(parse_json::<Comment>(br#"{"text": "a", "colour": 1}"#)), "colour");
        assert_eq!(
            field(parse_json::<Comment>(br#"{"text": "a", "settings": {"notifications_enabled": "no"}}"#)),
            "settings.notifications_enabled"
        );
        assert_eq!(field(parse_json::<Comment>(br#"{"text": "a", "settings": {}}"#)), "settings.notifications_enabled");
        assert_eq!(field(parse_json::<Comment>(b"not json")), "body");
        assert_eq!(field(parse_json::<Comment>(b"{not json")), "body");
        assert_eq!(field(parse_json::<Comment>(br#"{"text": "a""#)), "body");
        assert_eq!(field(parse_json::<Comment>(br#"{"text": "a"} trailing"#)), "body");
        assert!(parse_json::<Comment>(br#"{"text": "a", "parent_id": null}"#).is_ok());
    }

    #[test]
    fn query_errors_name_the_parameter() {
        assert_eq!(field(parse_query::<Page>("limit=abc")), "limit");
        assert_eq!(field(parse_query::<Page>("limit=-1")), "limit");
        let page: Page = parse_query("cursor=abc&limit=5").unwrap();
        assert_eq!(page.limit, Some(5));
    }

    #[test]
    fn messages_drop_the_parser_position() {
        let problem = parse_json::<Comment>(br#"{"text": 5}"#).unwrap_err();
        assert!(!problem.errors[0].message.contains("line"), "{}", problem.errors[0].message);
    }
}
