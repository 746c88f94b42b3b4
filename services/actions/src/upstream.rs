//! The users service, as actions uses it: through users-client only, for signing keys and for
//! its event feed.

use chorus_kit::auth::{Jwk, KeyFetch};
use chorus_kit::events::Event;
use chorus_kit::follower::{FeedBatch, Fetch, FetchError};
use chorus_kit::telemetry::outgoing_headers;
use std::sync::Arc;
use users_client::{Client, Propagation, ServiceTokens};

use crate::config::UsersLink;

const FEED_PAGE: u32 = 200;

pub struct Users {
    url: String,
    http: reqwest::Client,
    tokens: ServiceTokens,
}

impl Users {
    pub fn new(link: &UsersLink) -> Arc<Self> {
        // A stalled connection must fail, not hang the follower or a key fetch.
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        let client = Client::new_with_client(&link.url, http.clone(), Propagation::from_fn(outgoing_headers));
        let secret = link.service_secret.as_ref().map(|s| s.expose().to_owned()).unwrap_or_default();
        let tokens = ServiceTokens::new(client, link.service_name.clone(), secret);
        Arc::new(Self { url: link.url.clone(), http, tokens })
    }

    fn client(&self, bearer: Option<String>) -> Client {
        let propagation = Propagation::from_fn(move || {
            let mut headers = outgoing_headers();
            if let Some(token) = &bearer {
                headers.push(("authorization", format!("Bearer {token}")));
            }
            headers
        });
        Client::new_with_client(&self.url, self.http.clone(), propagation)
    }

    /// Fetches the signing keys, for the token verifier.
    pub fn key_fetch(self: &Arc<Self>) -> KeyFetch {
        let users = self.clone();
        Box::new(move || {
            let users = users.clone();
            Box::pin(async move {
                let keys = users.client(None).signing_keys().await.map_err(|e| e.to_string())?;
                Ok(keys.into_iter().filter_map(|key| serde_json::from_value::<Jwk>(key).ok()).collect())
            })
        })
    }

    /// Reads the users feed after a cursor, for the follower.
    pub fn feed_fetch(self: &Arc<Self>) -> Fetch {
        let users = self.clone();
        Box::new(move |after| {
            let users = users.clone();
            Box::pin(async move { users.read_feed(after).await })
        })
    }

    async fn read_feed(&self, after: i64) -> Result<FeedBatch, FetchError> {
        let token = self.tokens.token().await.map_err(|e| FetchError::Unavailable(format!("service token: {e}")))?;
        let page = match self.client(Some(token)).list_events().after(after).limit(FEED_PAGE).send().await {
            Ok(page) => page.into_inner(),
            Err(users_client::Error::ErrorResponse(problem)) if problem.status().as_u16() == 410 => {
                return Err(FetchError::Gone);
            }
            Err(users_client::Error::ErrorResponse(problem)) if problem.status().as_u16() == 401 => {
                self.tokens.clear().await;
                return Err(FetchError::Unavailable("the service token was refused".into()));
            }
            Err(error) => return Err(FetchError::Unavailable(error.to_string())),
        };
        let events = page
            .items
            .iter()
            .map(|event| serde_json::to_value(event).and_then(serde_json::from_value::<Event>))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FetchError::Unavailable(format!("an event did not parse: {e}")))?;
        Ok(FeedBatch { events, last_id: page.last_id })
    }
}
