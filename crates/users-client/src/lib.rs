//! The Rust client of the Chorus users service, generated at build time from the published
//! contract (`openapi.json`, a copy of `openapi/users.json`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), users_client::Error<users_client::types::Problem>> {
//! let users = users_client::Client::new("http://127.0.0.1:8081", users_client::Propagation::none());
//! let session = users
//!     .start_session()
//!     .body(users_client::types::StartSession { api_key: "ck_…".into(), device_id: "device-1".parse().unwrap() })
//!     .send()
//!     .await?;
//! println!("hello, {}", session.user.id);
//! # Ok(())
//! # }
//! ```

#![allow(clippy::all, unused_imports, unreachable_pub, dead_code, missing_docs)]

use std::sync::Arc;

pub use chorus_client_support::Propagation;

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));

chorus_client_support::propagation_hooks!();

/// A service token for one Chorus service, fetched with its credentials and renewed a minute
/// before it expires. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct ServiceTokens {
    client: Client,
    name: String,
    secret: String,
    cached: Arc<tokio::sync::Mutex<Option<(String, std::time::Instant)>>>,
}

impl std::fmt::Debug for ServiceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokens").field("name", &self.name).finish_non_exhaustive()
    }
}

impl ServiceTokens {
    pub fn new(client: Client, name: impl Into<String>, secret: impl Into<String>) -> Self {
        Self { client, name: name.into(), secret: secret.into(), cached: Arc::default() }
    }

    /// A valid service token, from the cache or freshly issued.
    pub async fn token(&self) -> std::result::Result<String, Error<types::Problem>> {
        let mut cached = self.cached.lock().await;
        if let Some((token, renew_at)) = cached.as_ref()
            && std::time::Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let issued = self
            .client
            .create_service_token()
            .body(types::ServiceCredentials { name: self.name.clone(), secret: self.secret.clone() })
            .send()
            .await?
            .into_inner();
        let lifetime = std::time::Duration::from_secs(issued.expires_in.max(0) as u64);
        let renew_at = std::time::Instant::now() + lifetime.saturating_sub(std::time::Duration::from_secs(60));
        *cached = Some((issued.access_token.clone(), renew_at));
        Ok(issued.access_token)
    }

    /// Forgets the cached token (after a 401, say).
    pub async fn clear(&self) {
        *self.cached.lock().await = None;
    }
}

impl Client {
    /// The published signing keys, each as a JSON Web Key object.
    pub async fn signing_keys(&self) -> std::result::Result<Vec<serde_json::Value>, Error<types::Problem>> {
        let jwks = self.get_jwks().send().await?.into_inner();
        Ok(jwks.keys.iter().filter_map(|key| serde_json::to_value(key).ok()).collect())
    }
}
