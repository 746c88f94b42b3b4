//! How a Chorus service reaches the others: a service token from users, the signing keys users
//! publishes, and the event feeds of users and actions, all through the generated clients (never
//! the services' code). Outgoing calls carry the current request id and `traceparent`.

use chorus_kit::auth::{Jwk, KeyFetch};
use chorus_kit::config::{self, ConfigError, Secret};
use chorus_kit::follower::{FeedBatch, Fetch, FetchError};
use chorus_kit::telemetry::outgoing_headers;
use std::sync::Arc;
use std::time::Duration;
use users_client::ServiceTokens;

pub mod peers;
pub mod users_mirror;

const FEED_PAGE: u32 = 200;

/// How a consuming service reaches the users service: the `[users]` section of its config.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersLink {
    pub url: String,
    /// This service's account in the users service's `service_accounts`.
    pub service_name: String,
    /// That account's secret; the users service keeps only its SHA-256.
    #[serde(default)]
    pub service_secret: Option<Secret>,
}

impl UsersLink {
    pub fn validate(&self) -> Result<(), ConfigError> {
        config::check_http_url("users.url", &self.url)?;
        if self.service_secret.as_ref().is_none_or(|s| s.expose().is_empty()) {
            return Err(ConfigError::invalid("users.service_secret", "is required to reach the other services"));
        }
        Ok(())
    }
}

/// The links from one service to the others.
pub struct Upstream {
    http: reqwest::Client,
    users_url: String,
    tokens: ServiceTokens,
}

/// Headers for one outgoing call: propagation, and a bearer token when given. (Every client
/// re-exports the same `Propagation`.)
fn propagation(bearer: Option<String>) -> users_client::Propagation {
    users_client::Propagation::from_fn(move || {
        let mut headers = outgoing_headers();
        if let Some(token) = &bearer {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        headers
    })
}

impl Upstream {
    pub fn new(link: &UsersLink) -> Arc<Self> {
        let secret = link.service_secret.as_ref().map(|s| s.expose()).unwrap_or_default();
        Self::with_credentials(&link.url, &link.service_name, secret)
    }

    /// `service_name` and `service_secret` are this service's account in the users service.
    pub fn with_credentials(users_url: &str, service_name: &str, service_secret: &str) -> Arc<Self> {
        // A stalled connection must fail, not hang a follower or a key fetch.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        let users = users_client::Client::new_with_client(users_url, http.clone(), propagation(None));
        let tokens = ServiceTokens::new(users, service_name, service_secret);
        Arc::new(Self { http, users_url: users_url.to_owned(), tokens })
    }

    fn users(&self, bearer: Option<String>) -> users_client::Client {
        users_client::Client::new_with_client(&self.users_url, self.http.clone(), propagation(bearer))
    }

    /// Fetches the users service's signing keys, for the kit's token verifier.
    pub fn key_fetch(self: &Arc<Self>) -> KeyFetch {
        let upstream = self.clone();
        Box::new(move || {
            let upstream = upstream.clone();
            Box::pin(async move {
                let keys = upstream.users(None).signing_keys().await.map_err(|e| e.to_string())?;
                Ok(keys.into_iter().filter_map(|key| serde_json::from_value::<Jwk>(key).ok()).collect())
            })
        })
    }

    /// Reads the users feed as users-client's typed events, for a follower.
    pub fn users_feed(self: &Arc<Self>) -> Fetch<users_client::types::Event> {
        let upstream = self.clone();
        Box::new(move |after| {
            let upstream = upstream.clone();
            Box::pin(async move {
                let token = upstream.token().await?;
                let outcome = upstream.users(Some(token)).list_events().after(after).limit(FEED_PAGE).send().await;
                match outcome {
                    Ok(page) => Ok(batch(page.into_inner())),
                    Err(users_client::Error::ErrorResponse(problem)) => Err(upstream.refused(problem.status()).await),
                    Err(error) => Err(FetchError::Unavailable(error.to_string())),
                }
            })
        })
    }

    /// Reads the actions feed at `actions_url` as actions-client's typed events, for a follower.
    pub fn actions_feed(self: &Arc<Self>, actions_url: &str) -> Fetch<actions_client::types::Event> {
        let (upstream, actions_url) = (self.clone(), actions_url.to_owned());
        Box::new(move |after| {
            let (upstream, actions_url) = (upstream.clone(), actions_url.clone());
            Box::pin(async move {
                let token = upstream.token().await?;
                let actions = actions_client::Client::new_with_client(
                    &actions_url,
                    upstream.http.clone(),
                    propagation(Some(token)),
                );
                match actions.list_events().after(after).limit(FEED_PAGE).send().await {
                    Ok(page) => Ok(batch(page.into_inner())),
                    Err(actions_client::Error::ErrorResponse(problem)) => Err(upstream.refused(problem.status()).await),
                    Err(error) => Err(FetchError::Unavailable(error.to_string())),
                }
            })
        })
    }

    async fn token(&self) -> Result<String, FetchError> {
        self.tokens.token().await.map_err(|e| FetchError::Unavailable(format!("service token: {e}")))
    }

    /// What a refused feed read means; a refused token is dropped so the next try gets a new one.
    async fn refused(&self, status: reqwest::StatusCode) -> FetchError {
        match status.as_u16() {
            410 => FetchError::Gone,
            401 => {
                self.tokens.clear().await;
                FetchError::Unavailable("the service token was refused".into())
            }
            other => FetchError::Unavailable(format!("the feed answered {other}")),
        }
    }
}

/// A client's feed page, as a follower's batch.
fn batch<E>(page: chorus_client_support::EventPage<E>) -> FeedBatch<E> {
    FeedBatch { events: page.items, last_id: page.last_id }
}
