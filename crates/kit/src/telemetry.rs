//! Logs and request context: JSON logs through `tracing`, a request id on every request (taken
//! from `X-Request-Id` or made up), and W3C `traceparent`, all passed on to outgoing client calls.

use std::sync::Once;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetrySettings};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// Installs the global subscriber once per process; later calls (other services in the same
/// launcher, other tests) keep the first.
pub fn init(settings: &TelemetrySettings) {
    static INIT: Once = Once::new();
    let settings = settings.clone();
    INIT.call_once(move || {
        let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(&settings.log_level));
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stdout);
        let installed = match settings.log_format {
            LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
            LogFormat::Pretty => builder.try_init(),
        };
        // Another subscriber (a test's) may already be installed, which is fine.
        drop(installed);
    });
}

/// What identifies the request being served, for logs, problem bodies and outgoing calls.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// The trace flags of the incoming `traceparent` (or `01`, sampled).
    pub trace_flags: String,
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

impl RequestContext {
    /// Builds the context from incoming headers, making up what is missing or malformed.
    pub fn from_headers(request_id: Option<&str>, traceparent: Option<&str>) -> Self {
        let request_id = request_id
            .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let (trace_id, trace_flags) = traceparent
            .and_then(parse_traceparent)
            .unwrap_or_else(|| (uuid::Uuid::new_v4().simple().to_string(), "01".to_owned()));
        Self { request_id, trace_id, trace_flags }
    }

    /// A `traceparent` for a call made on behalf of this request: same trace, new span.
    pub fn child_traceparent(&self) -> String {
        let span_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
        format!("00-{}-{span_id}-{}", self.trace_id, self.trace_flags)
    }

    /// Runs `future` with this context as the current one.
    pub async fn scope<F: std::future::Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }
}

fn parse_traceparent(value: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let [version, trace_id, span_id, flags] = parts.as_slice() else { return None };
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = hex(version, 2)
        && *version != "ff"
        && hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && hex(span_id, 16)
        && hex(flags, 2);
    valid.then(|| (trace_id.to_ascii_lowercase(), flags.to_ascii_lowercase()))
}

/// The id of the request being served, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(|ctx| ctx.request_id.clone()).ok()
}

/// Headers to add to an outgoing call made while serving a request: `x-request-id` and a child
/// `traceparent`. Empty outside a request. Client crates call this through their request hook.
pub fn outgoing_headers() -> Vec<(&'static str, String)> {
    CURRENT
        .try_with(|ctx| {
            vec![(REQUEST_ID_HEADER, ctx.request_id.clone()), (TRACEPARENT_HEADER, ctx.child_traceparent())]
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_valid_incoming_trace_and_request_id() {
        let ctx = RequestContext::from_headers(
            Some("req-1"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        assert_eq!(ctx.request_id, "req-1");
        assert_eq!(ctx.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let child = ctx.child_traceparent();
        assert!(child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && child.ends_with("-01"));
        assert!(parse_traceparent(&child).is_some());
    }

    #[test]
    fn replaces_malformed_ones() {
        let ctx = RequestContext::from_headers(Some("bad id\n"), Some("00-000-bad-01"));
        assert_eq!(ctx.request_id.len(), 32);
        assert_eq!(ctx.trace_id.len(), 32);
    }

    #[tokio::test]
    async fn outgoing_headers_follow_the_current_request() {
        assert!(outgoing_headers().is_empty());
        let ctx = RequestContext::from_headers(Some("req-7"), None);
        let headers = ctx.scope(async { outgoing_headers() }).await;
        assert_eq!(headers[0], (REQUEST_ID_HEADER, "req-7".to_owned()));
    }
}
