//! The middleware every request passes: request context, a span, the `X-Request-Id` header and
//! the per-operation metrics.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use std::collections::HashMap;
use std::time::Instant;
use tracing::Instrument;
use utoipa::openapi::OpenApi;

use crate::auth::Consumer;
use crate::lifecycle::{Deprecation, DeprecationHeaders, LifecycleError};
use crate::metrics::Metrics;
use crate::problem::{Problem, ProblemType};
use crate::rate_limit::QuotaState;
use crate::telemetry::{REQUEST_ID_HEADER, RequestContext, TRACEPARENT_HEADER};
use crate::usage::UsageCounter;

/// What the middleware knows of one operation of the spec.
#[derive(Debug, Clone)]
struct OperationInfo {
    id: String,
    deprecation: Option<DeprecationHeaders>,
}

/// Maps a matched route (method and path pattern) to its operation in the spec, and a path to
/// the methods it allows.
#[derive(Debug, Default)]
pub struct Operations {
    by_route: HashMap<(String, String), OperationInfo>,
    /// Each path template of the service, split into segments, with its methods.
    templates: Vec<(Vec<String>, Vec<&'static str>)>,
}

/// The routes every service serves outside its spec (all `GET`), besides the docs UI's files.
const KIT_ROUTES: [&str; 5] = ["/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs"];

impl Operations {
    pub fn new(spec: &OpenApi, deprecations: &[Deprecation]) -> Result<Self, LifecycleError> {
        let mut headers = HashMap::new();
        for deprecation in deprecations {
            headers.insert(deprecation.operation_id, deprecation.headers()?);
        }
        let mut by_route = HashMap::new();
        let mut templates: Vec<(Vec<String>, Vec<&'static str>)> =
            KIT_ROUTES.iter().map(|path| (segments(path), vec!["GET"])).collect();
        templates.extend(
            crate::docs::DOCS_ASSETS.iter().map(|(name, _, _)| (segments(&format!("/docs/{name}")), vec!["GET"])),
        );
        for (path, item) in &spec.paths.paths {
            let mut methods = Vec::new();
            let operations = [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                methods.push(method);
                if let Some(id) = operation.operation_id.clone() {
                    let deprecation = headers.get(id.as_str()).cloned();
                    by_route.insert((method.to_owned(), path.clone()), OperationInfo { id, deprecation });
                }
            }
            templates.push((segments(path), methods));
        }
        Ok(Self { by_route, templates })
    }

    /// The methods `path` allows: those of the most specific template it matches, since concrete
    /// path segments match before templated ones (OpenAPI 3.1, "Path Templating Matching");
    /// empty when no template matches.
    pub fn allowed_methods(&self, path: &str) -> Vec<&'static str> {
        let requested = segments(path);
        let mut best: Option<(usize, Vec<&'static str>)> = None;
        for (template, methods) in &self.templates {
            let matches = template.len() == requested.len()
                && template.iter().zip(&requested).all(|(want, got)| {
                    (want.starts_with('{') && want.ends_with('}') && !got.is_empty()) || want == got
                });
            if !matches {
                continue;
            }
            let literal = template.iter().filter(|segment| !segment.starts_with('{')).count();
            match &mut best {
                Some((most, allowed)) if *most == literal => {
                    allowed.extend(methods.iter().filter(|m| !allowed.contains(*m)).collect::<Vec<_>>());
                }
                Some((most, _)) if *most > literal => {}
                _ => best = Some((literal, methods.clone())),
            }
        }
        best.map(|(_, allowed)| allowed).unwrap_or_default()
    }

    /// The operation id (or for routes outside the spec, such as health and metrics, the pattern
    /// itself), and the deprecation headers the operation's responses carry.
    fn resolve(&self, method: &str, pattern: Option<&str>) -> (String, Option<DeprecationHeaders>) {
        let Some(pattern) = pattern else { return ("unmatched".into(), None) };
        match self.by_route.get(&(method.to_owned(), pattern.to_owned())) {
            Some(info) => (info.id.clone(), info.deprecation.clone()),
            None => (pattern.to_owned(), None),
        }
    }
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let context =
        RequestContext::from_headers(header(REQUEST_ID_HEADER).as_deref(), header(TRACEPARENT_HEADER).as_deref());
    let request_id = context.request_id.clone();
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %context.request_id,
        trace_id = %context.trace_id,
        method = %method,
        path = %req.path(),
        operation = tracing::field::Empty,
        app_id = tracing::field::Empty,
    );
    let operations = req.app_data::<web::Data<Operations>>().cloned();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let usage = req.app_data::<web::Data<UsageCounter>>().cloned();
    let started = Instant::now();

    let mut response = context.scope(next.call(req).instrument(span.clone())).await?;

    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let pattern = response.request().match_pattern();
    let (operation, deprecation) =
        operations.map(|ops| ops.resolve(&method, pattern.as_deref())).unwrap_or_else(|| ("unmatched".into(), None));
    if let Some(headers) = deprecation {
        let response_headers = response.headers_mut();
        response_headers.insert(HeaderName::from_static("deprecation"), headers.deprecation);
        response_headers.insert(HeaderName::from_static("sunset"), headers.sunset);
        response_headers.append(actix_web::http::header::LINK, headers.link);
    }
    if let Some(metrics) = metrics {
        metrics.observe_request(&operation, status, elapsed);
    }
    let consumer = response.request().extensions().get::<Consumer>().cloned();
    if let (Some(usage), Some(Consumer(app_id))) = (usage, consumer) {
        usage.count(&app_id, &operation);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let quota = response.request().extensions().get::<QuotaState>().cloned();
    if let Some(quota) = quota {
        quota.write_headers(response.headers_mut());
    }
    span.record("operation", operation.as_str());
    span.in_scope(|| {
        let millis = elapsed * 1000.0;
        if status >= 500 {
            tracing::error!(status, millis, "request failed");
        } else if is_background_traffic(&operation) {
            tracing::debug!(status, millis, "request served");
        } else {
            tracing::info!(status, millis, "request served");
        }
    });
    Ok(response)
}

/// Operations the platform calls on itself all the time (feeds, keys, service tokens, usage
/// counts, health, metrics): logged at DEBUG, so an idle platform's log stays quiet and real
/// requests stand out.
fn is_background_traffic(operation: &str) -> bool {
    const BACKGROUND: [&str; 8] = [
        "list_events",
        "stream_events",
        "get_jwks",
        "create_service_token",
        "get_usage",
        "/health/live",
        "/health/ready",
        "/metrics",
    ];
    BACKGROUND.contains(&operation)
}

fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/').split('/').map(str::to_owned).collect()
}

/// The answer for requests no route took: 405 with an `Allow` header listing the path's methods
/// (RFC 9110, section 15.5.6) when the path exists, else 404.
pub async fn fallback(req: HttpRequest, operations: web::Data<Operations>) -> Result<HttpResponse, Problem> {
    let allowed = operations.allowed_methods(req.path());
    if allowed.is_empty() {
        return Err(Problem::not_found(format!("no route for {} {}", req.method(), req.path())));
    }
    let problem = Problem::new(ProblemType::MethodNotAllowed).with_detail(format!(
        "{} is not allowed here; use {}",
        req.method(),
        allowed.join(", ")
    ));
    let mut response = problem.error_response();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(actix_web::http::header::ALLOW, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_methods_come_from_the_most_specific_template() {
        let operations = Operations {
            templates: vec![
                (segments("/v1/entities/lookup"), vec!["POST"]),
                (segments("/v1/entities/{key}"), vec!["GET", "PUT"]),
                (segments("/v1/entities/{key}/likes"), vec!["POST"]),
            ],
            ..Operations::default()
        };
        assert_eq!(operations.allowed_methods("/v1/entities/lookup"), vec!["POST"]);
        assert_eq!(operations.allowed_methods("/v1/entities/a%2Fb"), vec!["GET", "PUT"]);
        assert_eq!(operations.allowed_methods("/v1/entities/x/likes"), vec!["POST"]);
        assert!(operations.allowed_methods("/v1/nothing").is_empty());
        assert!(operations.allowed_methods("/v1/entities//likes").is_empty());
    }
}
