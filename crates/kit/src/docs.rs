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
        if let Some(utoipa::openapi::RefOr::T(rate_limited)) = components.responses.get_mut("RateLimited") {
            declare_rate_limit_headers(rate_limited);
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

/// The headers of a 429: `Retry-After` (RFC 9110, section 10.2.3) and the quota in `RateLimit`
/// and `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-09), as [`crate::rate_limit`]
/// writes them. Answers under the limit carry the two `RateLimit` headers too.
fn declare_rate_limit_headers(response: &mut utoipa::openapi::Response) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    let integer = || ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).build();
    let text = || ObjectBuilder::new().schema_type(Type::String).build();
    let headers = [
        ("Retry-After", integer(), "Seconds until the caller may try again."),
        (
            "RateLimit",
            text(),
            "The quota left, such as `\"writes\";r=0;t=5`: `r` requests remain, and the bucket is full again in `t` seconds.",
        ),
        (
            "RateLimit-Policy",
            text(),
            "The budget, such as `\"writes\";q=100;w=5`: `q` requests at once, refilled over `w` seconds.",
        ),
    ];
    for (name, schema, description) in headers {
        let header = HeaderBuilder::new().schema(Some(schema)).description(Some(description)).build();
        response.headers.insert(name.to_owned(), utoipa::openapi::RefOr::T(header));
    }
}

/// Marks `additionalProperties: false` on every object schema that only requests use, since
/// request bodies refuse unknown fields (`#[serde(deny_unknown_fields)]`), and the schema must
/// say so. Schemas that responses use too stay open, so a field added to a response later is
/// not a break for clients generated today; their request side ignores unknown members.
/// Runs on the finished document ([`crate::server::spec`]).
pub fn close_request_schemas(openapi: &mut OpenApi) {
    let mut document = serde_json::to_value(&*openapi).expect("an OpenAPI document serializes");
    let mut requests = std::collections::BTreeSet::new();
    let mut responses = std::collections::BTreeSet::new();
    let schemas = document["components"]["schemas"].clone();
    for item in document["paths"].as_object().into_iter().flat_map(|paths| paths.values()) {
        for operation in item.as_object().into_iter().flat_map(|item| item.values()) {
            referenced(&operation["requestBody"], &schemas, &mut requests);
            referenced(&operation["responses"], &schemas, &mut responses);
        }
    }
    referenced(&document["components"]["responses"], &schemas, &mut responses);
    let mut changed = false;
    for name in requests.difference(&responses) {
        if let Some(schema) = document["components"]["schemas"].get_mut(name) {
            changed |= close(schema);
        }
    }
    for item in document["paths"].as_object_mut().into_iter().flat_map(|paths| paths.values_mut()) {
        for operation in item.as_object_mut().into_iter().flat_map(|item| item.values_mut()) {
            if let Some(body) = operation.get_mut("requestBody") {
                changed |= close(body);
            }
        }
    }
    if changed {
        *openapi = serde_json::from_value(document).expect("a closed document is still a document");
    }
}

/// The schema names `node` refers to, transitively.
fn referenced(node: &serde_json::Value, schemas: &serde_json::Value, found: &mut std::collections::BTreeSet<String>) {
    match node {
        serde_json::Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix("#/components/schemas/"))
                && found.insert(name.to_owned())
            {
                referenced(&schemas[name], schemas, found);
            }
            map.values().for_each(|value| referenced(value, schemas, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|value| referenced(value, schemas, found)),
        _ => {}
    }
}

/// Closes every inline object with named properties in `node` (not behind a `$ref`, not free-form
/// `meta` objects); true when anything changed.
fn close(node: &mut serde_json::Value) -> bool {
    let mut changed = false;
    if let serde_json::Value::Object(map) = node {
        if map.get("properties").is_some_and(|p| p.as_object().is_some_and(|p| !p.is_empty()))
            && !map.contains_key("additionalProperties")
        {
            map.insert("additionalProperties".into(), serde_json::Value::Bool(false));
            changed = true;
        }
        for (key, value) in map.iter_mut() {
            match (key.as_str(), value) {
                // A `properties` map names fields, and is no schema itself (a field may be
                // called `properties`); each of its values is one.
                ("properties", serde_json::Value::Object(fields)) => {
                    for field in fields.values_mut() {
                        changed |= close(field);
                    }
                }
                (_, value) => changed |= close(value),
            }
        }
    } else if let serde_json::Value::Array(items) = node {
        for item in items {
            changed |= close(item);
        }
    }
    changed
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

/// The docs UI's files, served from the binary: Swagger UI 5.35.0 (`swagger-ui-dist` from npm,
/// Apache-2.0) with its licence texts; see `crates/kit/assets/swagger-ui/README.md`.
pub(crate) const DOCS_ASSETS: [(&str, &str, &[u8]); 5] = [
    (
        "swagger-ui-bundle.js",
        "application/javascript; charset=utf-8",
        include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    ("swagger-ui.css", "text/css; charset=utf-8", include_bytes!("../assets/swagger-ui/swagger-ui.css")),
    ("LICENSE", "text/plain; charset=utf-8", include_bytes!("../assets/swagger-ui/LICENSE")),
    ("NOTICE", "text/plain; charset=utf-8", include_bytes!("../assets/swagger-ui/NOTICE")),
    (
        "swagger-ui-bundle.js.LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js.LICENSE.txt"),
    ),
];

/// Registers `/docs` and its files under `/docs/`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/docs", web::get().to(docs_page));
    for (name, content_type, body) in DOCS_ASSETS {
        cfg.route(
            &format!("/docs/{name}"),
            web::get().to(move || async move {
                HttpResponse::Ok()
                    .content_type(content_type)
                    .insert_header(("Cache-Control", "public, max-age=86400"))
                    .body(body)
            }),
        );
    }
}

/// The page: Swagger UI from `/docs/`, reading `/openapi.json`; no request leaves the service
/// (the online validator is off).
const DOCS_HTML: &str = r##"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Chorus API reference</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script>
      window.ui = SwaggerUIBundle({
        url: "/openapi.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        validatorUrl: "none",
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout"
      });
    </script>
  </body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn sha256(bytes: &[u8]) -> String {
        Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_docs_ui_is_the_pinned_release_and_needs_no_other_host() {
        let digest = |name: &str| sha256(DOCS_ASSETS.iter().find(|(n, _, _)| *n == name).unwrap().2);
        assert_eq!(digest("swagger-ui-bundle.js"), "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2");
        assert_eq!(digest("swagger-ui.css"), "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d");
        for line in DOCS_HTML.lines().filter(|line| line.contains("src=") || line.contains("href=")) {
            assert!(line.contains("\"/docs/"), "the page loads only its own files: {line}");
        }
    }
}
