//! What every generated Chorus client shares: a hook that adds headers (the caller's request id
//! and `traceparent`, or a bearer token) to each request, so a trace continues across services;
//! and the feed page type ([`feed`]) that keeps a consumer working when a producer adds event types.

pub mod feed;

pub use feed::{EventPage, EventTypes, FeedItem};

use std::sync::Arc;

type HeaderSource = dyn Fn() -> Vec<(&'static str, String)> + Send + Sync;

/// Headers added to every request a client sends.
#[derive(Clone, Default)]
pub struct Propagation(Option<Arc<HeaderSource>>);

impl Propagation {
    pub fn none() -> Self {
        Self(None)
    }

    pub fn from_fn(source: impl Fn() -> Vec<(&'static str, String)> + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(source)))
    }

    /// Adds this propagation's headers to `request`.
    pub fn apply(&self, request: &mut reqwest::Request) {
        let Some(source) = &self.0 else { return };
        for (name, value) in source() {
            if let Ok(value) = reqwest::header::HeaderValue::from_str(&value) {
                request.headers_mut().insert(name, value);
            }
        }
    }
}

impl std::fmt::Debug for Propagation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Propagation")
    }
}

/// Implements progenitor's request hook for a generated `Client` whose inner type is
/// [`Propagation`]. Invoke it once in the client crate, after the generated code.
#[macro_export]
macro_rules! propagation_hooks {
    () => {
        impl progenitor_client::ClientHooks<$crate::Propagation> for Client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                _info: &progenitor_client::OperationInfo,
            ) -> std::result::Result<(), Error<E>> {
                progenitor_client::ClientInfo::inner(self).apply(request);
                Ok(())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_source_headers() {
        let mut request = reqwest::Request::new(reqwest::Method::GET, "http://127.0.0.1/".parse().unwrap());
        Propagation::from_fn(|| vec![("x-request-id", "abc".into())]).apply(&mut request);
        assert_eq!(request.headers()["x-request-id"], "abc");
        Propagation::none().apply(&mut request);
        assert_eq!(request.headers().len(), 1);
    }
}
