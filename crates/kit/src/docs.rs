//! The published contract: the spec as served at `/openapi.json` (the same text `cargo xtask
//! openapi write` checks in) and interactive docs at `/docs`.

use actix_web::{HttpResponse, web};
use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The spec's canonical text. The checked-in file and `/openapi.json` are both exactly this.
pub fn spec_json(spec: &OpenApi) -> String {
    let mut text = spec.to_pretty_json().expect("an OpenAPI document always serializes");
    text.push('\n');
    text
}

/// What every Chorus spec shares: the `user`, `app`, `service` and `operator` bearer schemes, the problem-details schemas
/// (with every stable problem `type`), the reusable error responses and `GET /v1/usage`, which
/// every service serves. Add it to a service's `#[openapi(modifiers(&Conventions))]`.
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        use crate::problem::{FieldError, Problem, ProblemType, responses};
        use crate::usage::{__path_get_usage, UsageReport, UsageRow};
        use utoipa::{PartialSchema, Path, ToResponse, ToSchema};

        openapi.paths.add_path_operation(
            __path_get_usage::path(),
            __path_get_usage::methods(),
            __path_get_usage::operation(),
        );
        if let Some(tags) = openapi.tags.as_mut()
            && !tags.iter().any(|tag| tag.name == "usage")
        {
            let mut tag = utoipa::openapi::tag::Tag::new("usage");
            tag.description = Some("Who calls which operations".into());
            tags.push(tag);
        }

        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in [
            (Problem::name(), Problem::schema()),
            (ProblemType::name(), ProblemType::schema()),
            (FieldError::name(), FieldError::schema()),
            (UsageReport::name(), UsageReport::schema()),
            (UsageRow::name(), UsageRow::schema()),
        ] {
            components.schemas.insert(name.into_owned(), schema);
        }
        for (name, response) in [
            responses::BadRequest::response(),
            responses::Unauthorized::response(),
            responses::Forbidden::response(),
            responses::NotFound::response(),
            responses::Conflict::response(),
            responses::IdempotencyKeyReused::response(),
            responses::RateLimited::response(),
            responses::Gone::response(),
            responses::PayloadTooLarge::response(),
            responses::UnsupportedMediaType::response(),
            responses::Unavailable::response(),
        ] {
            components.responses.insert(name.to_owned(), response);
        }
        // Four kinds of caller, each a bearer token; an operation names the ones it accepts.
        for (name, description) in [
            ("user", "A user's session token (`POST /v1/sessions`), bound to one app."),
            ("app", "An app token (`POST /v1/tokens/app`, from the app's API key and secret), for the app's servers."),
            (
                "service",
                "A service token (`POST /v1/tokens/service`) with internal scopes such as `events:read` and `usage:read`.",
            ),
            ("operator", "The operator token from the service's config (`auth.operator_token`)."),
        ] {
            let format = if name == "operator" { "opaque" } else { "JWT" };
            let scheme =
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format(format).description(Some(description));
            components.add_security_scheme(name, SecurityScheme::Http(scheme.build()));
        }
        declare_generic_statuses(openapi);
    }
}

/// Declares, on every operation, the statuses the kit itself can answer, so a generated client
/// never meets one it could not know about:
/// - 400 where the operation takes parameters or a body (they are parsed before the handler);
/// - 401 where it needs a token;
/// - 404 where its path names a resource;
/// - 413 and 415 where it takes a body (size limit and media type);
/// - 429 and 503 everywhere (rate limits; a busy database).
///
/// An operation's own declaration of one of these (with a more precise description) is kept.
fn declare_generic_statuses(openapi: &mut OpenApi) {
    use utoipa::openapi::{Ref, RefOr};

    for (path, item) in openapi.paths.paths.iter_mut() {
        let names_resource = path.contains('{');
        for operation in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            let has_body = operation.request_body.is_some();
            let has_input = has_body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let needs_token = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let generic = [
                ("400", "BadRequest", has_input),
                ("401", "Unauthorized", needs_token),
                ("404", "NotFound", names_resource),
                ("413", "PayloadTooLarge", has_body),
                ("415", "UnsupportedMediaType", has_body),
                ("429", "RateLimited", true),
                ("503", "Unavailable", true),
            ];
            for (status, response, applies) in generic {
                if applies && !operation.responses.responses.contains_key(status) {
                    let reference = RefOr::Ref(Ref::from_response_name(response));
                    operation.responses.responses.insert(status.to_owned(), reference);
                }
            }
        }
    }
}

pub(crate) struct SpecText(pub String);

pub(crate) async fn openapi_json(spec: web::Data<SpecText>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(spec.0.clone())
}

pub(crate) async fn docs_page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(DOCS_HTML)
}

const DOCS_HTML: &str = r#"<!doctype html>
<html>
  <head>
    <title>Chorus API reference</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  </body>
</html>
"#;
