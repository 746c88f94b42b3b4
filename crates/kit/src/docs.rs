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

/// Adds the `bearer` security scheme every Chorus operation refers to.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
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
