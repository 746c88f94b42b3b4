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

/// What every Chorus spec shares: the `bearer` security scheme, the problem-details schemas
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
        ] {
            components.responses.insert(name.to_owned(), response);
        }
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A Chorus access token (user, app or service), or the operator token."))
                    .build(),
            ),
        );
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
