//! The Rust client of the Chorus users service, generated at build time from the published
//! contract (`openapi.json`, a copy of `openapi/users.json`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), users_client::Error<users_client::types::Problem>> {
//! let users = users_client::Client::new("http://127.0.0.1:8081", users_client::Propagation::none());
//! let session = users
//!     .start_session()
//!     .body(users_client::types::StartSession { api_key: "ck_…".into(), device_id: "device-1".into() })
//!     .send()
//!     .await?;
//! println!("hello, {}", session.user.id);
//! # Ok(())
//! # }
//! ```

#![allow(clippy::all, unused_imports, unreachable_pub, dead_code, missing_docs)]

use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));

type HeaderSource = dyn Fn() -> Vec<(&'static str, String)> + Send + Sync;

/// Headers added to every request, such as the caller's request id and `traceparent`, so a
/// trace continues across services.
#[derive(Clone)]
pub struct Propagation(Option<Arc<HeaderSource>>);

impl Propagation {
    pub fn none() -> Self {
        Self(None)
    }

    pub fn from_fn(source: impl Fn() -> Vec<(&'static str, String)> + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(source)))
    }
}

impl std::fmt::Debug for Propagation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Propagation")
    }
}

impl progenitor_client::ClientHooks<Propagation> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> std::result::Result<(), Error<E>> {
        if let Some(source) = &progenitor_client::ClientInfo::inner(self).0 {
            for (name, value) in source() {
                if let Ok(value) = reqwest::header::HeaderValue::from_str(&value) {
                    request.headers_mut().insert(name, value);
                }
            }
        }
        Ok(())
    }
}
