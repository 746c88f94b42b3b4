//! How a Chorus service reaches the others: a service token from users, the signing keys users
//! publishes, and the event feeds of users and actions, all through the generated clients (never
//! the services' code). Outgoing calls carry the current request id and `traceparent`.

use chorus_kit::auth::{Jwk, KeyFetch};
use chorus_kit::config::{self, ConfigError, Secret};
use chorus_kit::follower::{Apply, EventStream, FeedBatch, Fetch, FetchError, Follower, Subscribe};
use chorus_kit::telemetry::outgoing_headers;
use chorus_kit::webhooks::Sent;
use futures_util::StreamExt;
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

/// Opens a producer's event stream through its client crate `$client` (each generates its own
/// types, so this is written once as a macro rather than per client).
macro_rules! open_stream {
    ($client:ident, $upstream:expr, $url:expr, $after:expr) => {{
        let token = $upstream.token().await?;
        let client = $client::Client::new_with_client($url, $upstream.streams.clone(), propagation(Some(token)));
        let resume = resume_point::<$client::types::StreamEventsLastEventId>($after)?;
        match client.stream_events().last_event_id(resume).send().await {
            Ok(response) => Ok(frames(response.into_inner())),
            Err($client::Error::ErrorResponse(problem)) => Err($upstream.refused(problem.status()).await),
            Err(error) => Err(FetchError::Unavailable(error.to_string())),
        }
    }};
}

/// Reads a service's API usage since a day through its client crate `$client` (each generates
/// its own types, so this is written once as a macro).
macro_rules! read_usage {
    ($client:ident, $upstream:expr, $url:expr, $since:expr) => {{
        let token = $upstream.token().await?;
        let client = $client::Client::new_with_client($url, $upstream.http.clone(), propagation(Some(token)));
        match client.get_usage().since($since).send().await {
            Ok(report) => Ok(report
                .into_inner()
                .items
                .into_iter()
                .map(|row| UsageCount { app_id: row.app_id, operation: row.operation, calls: row.calls })
                .collect()),
            Err($client::Error::ErrorResponse(problem)) => Err($upstream.refused(problem.status()).await),
            Err(error) => Err(FetchError::Unavailable(error.to_string())),
        }
    }};
}

/// A service whose API usage another service reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Users,
    Actions,
    Notifications,
}

impl Peer {
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Actions => "actions",
            Self::Notifications => "notifications",
        }
    }
}

/// One app's calls of one operation over a range of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    pub app_id: String,
    pub operation: String,
    pub calls: i64,
}

/// What a follower of a peer's feed runs on: the consumer's database (its cursor and effects),
/// metrics and shutdown.
#[derive(Clone)]
pub struct FollowerContext {
    pub db: chorus_kit::db::Db,
    pub metrics: actix_web::web::Data<chorus_kit::metrics::Metrics>,
    pub shutdown: chorus_kit::shutdown::Shutdown,
}

/// The links from one service to the others.
pub struct Upstream {
    http: reqwest::Client,
    /// For event streams, which stay open: no overall timeout, but a read that waits longer
    /// than a few keepalive intervals means the connection is dead.
    streams: reqwest::Client,
    users_url: String,
    tokens: ServiceTokens,
}

/// The producers send a keepalive every 15 s; three missed ones end the stream.
const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(45);

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
        let streams = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(STREAM_READ_TIMEOUT)
            .build()
            .unwrap_or_default();
        let users = users_client::Client::new_with_client(users_url, http.clone(), propagation(None));
        let tokens = ServiceTokens::new(users, service_name, service_secret);
        Arc::new(Self { http, streams, users_url: users_url.to_owned(), tokens })
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

    /// A follower of the users feed, pushed over its stream and paging to catch up, applying
    /// each batch of events with `apply` (see [`chorus_kit::follower::each`] for one at a time).
    pub fn users_follower(
        self: &Arc<Self>,
        context: &FollowerContext,
        apply: Apply<users_client::types::Event>,
    ) -> Follower<users_client::types::Event> {
        Follower {
            feed: "users",
            db: context.db.clone(),
            metrics: context.metrics.clone(),
            shutdown: context.shutdown.clone(),
            fetch: self.users_feed(),
            subscribe: Some(self.users_stream()),
            apply,
        }
    }

    /// A follower of the actions feed at `actions_url`, as [`Self::users_follower`].
    pub fn actions_follower(
        self: &Arc<Self>,
        context: &FollowerContext,
        actions_url: &str,
        apply: Apply<actions_client::types::Event>,
    ) -> Follower<actions_client::types::Event> {
        Follower {
            feed: "actions",
            db: context.db.clone(),
            metrics: context.metrics.clone(),
            shutdown: context.shutdown.clone(),
            fetch: self.actions_feed(actions_url),
            subscribe: Some(self.actions_stream(actions_url)),
            apply,
        }
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

    /// The users feed's live stream after a cursor, as users-client's typed events.
    pub fn users_stream(self: &Arc<Self>) -> Subscribe<users_client::types::Event> {
        let upstream = self.clone();
        Box::new(move |after| {
            let upstream = upstream.clone();
            Box::pin(async move { open_stream!(users_client, upstream, &upstream.users_url, after) })
        })
    }

    /// The actions feed's live stream at `actions_url` after a cursor, as actions-client's typed
    /// events.
    pub fn actions_stream(self: &Arc<Self>, actions_url: &str) -> Subscribe<actions_client::types::Event> {
        let (upstream, actions_url) = (self.clone(), actions_url.to_owned());
        Box::new(move |after| {
            let (upstream, actions_url) = (upstream.clone(), actions_url.clone());
            Box::pin(async move { open_stream!(actions_client, upstream, &actions_url, after) })
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

    /// Sends an app's broadcast through notifications at `notifications_url` with this service's
    /// token (which needs the `broadcasts:send` scope). `request` is a `NewBroadcast` as JSON, and
    /// `idempotency_key` makes a retry after a lost answer safe. A refusal that retrying cannot
    /// change (400, 403, 404, 422) is final; 401, 429, 5xx and network errors are worth another try.
    pub async fn send_broadcast(&self, notifications_url: &str, request: &str, idempotency_key: &str) -> Sent {
        let body: notifications_client::types::NewBroadcast = match serde_json::from_str(request) {
            Ok(body) => body,
            Err(error) => {
                let error = format!("the broadcast request does not parse: {error}");
                return Sent::Refused { http_status: None, error };
            }
        };
        let token = match self.token().await {
            Ok(token) => token,
            Err(error) => return Sent::Failed { http_status: None, error: error.to_string(), retry_after: None },
        };
        let client = notifications_client::Client::new_with_client(
            notifications_url,
            self.http.clone(),
            propagation(Some(token)),
        );
        match client.send_broadcast().idempotency_key(idempotency_key).body(body).send().await {
            Ok(sent) => Sent::Delivered { http_status: Some(i32::from(sent.status().as_u16())) },
            Err(notifications_client::Error::ErrorResponse(problem)) => {
                let status = problem.status();
                let error = format!("notifications answered {status}: {}", problem.into_inner().title);
                let http_status = Some(i32::from(status.as_u16()));
                match status.as_u16() {
                    401 => {
                        self.tokens.clear().await;
                        Sent::Failed { http_status, error, retry_after: None }
                    }
                    429 | 500..=599 => Sent::Failed { http_status, error, retry_after: None },
                    _ => Sent::Refused { http_status, error },
                }
            }
            Err(error) => {
                let error = format!("notifications could not be reached: {error}");
                Sent::Failed { http_status: None, error, retry_after: None }
            }
        }
    }

    /// The calls each app made of each operation of `peer` (at `url`) from `since` (UTC) to now,
    /// through the peer's client; needs the `usage:read` scope.
    pub async fn usage(&self, peer: Peer, url: &str, since: chrono::NaiveDate) -> Result<Vec<UsageCount>, FetchError> {
        match peer {
            Peer::Users => read_usage!(users_client, self, url, since),
            Peer::Actions => read_usage!(actions_client, self, url, since),
            Peer::Notifications => read_usage!(notifications_client, self, url, since),
        }
    }

    /// An app token for the app's key and secret, from users (what a dashboard signs in with):
    /// `(token, seconds it lasts)`. Refused credentials are `Ok(None)`.
    pub async fn app_token(&self, api_key: &str, api_secret: &str) -> Result<Option<(String, i64)>, FetchError> {
        let body = users_client::types::AppCredentialsRequest {
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
        };
        match self.users(None).create_app_token().body(body).send().await {
            Ok(token) => {
                let token = token.into_inner();
                Ok(Some((token.access_token, token.expires_in)))
            }
            Err(users_client::Error::ErrorResponse(problem))
                if matches!(problem.status().as_u16(), 400 | 401 | 403) =>
            {
                Ok(None)
            }
            Err(error) => Err(FetchError::Unavailable(error.to_string())),
        }
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

/// A cursor as the `Last-Event-ID` the stream resumes after.
fn resume_point<T: std::str::FromStr>(after: i64) -> Result<T, FetchError> {
    after.to_string().parse().map_err(|_| FetchError::Unavailable(format!("{after} is no event id to resume after")))
}

/// A stream's body as a follower's typed events.
fn frames<E>(body: progenitor_client::ByteStream) -> EventStream<E>
where
    E: serde::de::DeserializeOwned + chorus_client_support::EventTypes + Send + 'static,
{
    Box::pin(
        chorus_client_support::feed::event_frames::<E, _, _, _>(body.into_inner())
            .map(|item| item.map_err(FetchError::Unavailable)),
    )
}

/// A client's feed page, as a follower's batch.
fn batch<E>(page: chorus_client_support::EventPage<E>) -> FeedBatch<E> {
    FeedBatch { events: page.items, behind: page.behind }
}
