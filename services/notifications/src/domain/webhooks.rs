//! Webhooks: apps register endpoints that receive their events, signed and delivered at least
//! once by the kit's machinery ([`chorus_kit::webhooks`]): every delivery is logged with its
//! attempts, failures retry with backoff, then go dead, and a dead delivery can be retried by
//! hand.

use chorus_kit::db::{Db, DbConnection};
use chorus_kit::shutdown::Shutdown;
use chorus_kit::validation::{self, Invalid};
use chorus_kit::webhooks::{DeliveryPolicy, DeliveryQueue, Retried, WebhookKey};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::model::{Delivery, Webhook, WebhookEventType};
use super::{NotificationsError, new_id};
use crate::store;
use crate::store::webhooks::NewDelivery;

pub const MAX_WEBHOOKS_PER_APP: i64 = 20;
const MAX_URL: usize = 2_048;

/// A webhook endpoint to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// An http or https URL that accepts POSTed JSON.
    pub url: String,
    /// The events to receive (at least one; repeats count once).
    pub event_types: Vec<WebhookEventType>,
}

impl NewWebhook {
    pub fn validate(&self) -> Result<(), NotificationsError> {
        validation::http_url("url", &self.url, MAX_URL)?;
        if self.event_types.is_empty() {
            return Err(Invalid::new("event_types", "must name at least one event type").into());
        }
        Ok(())
    }
}

/// A new webhook and its signing secret, which the app sees once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// What the app verifies `Chorus-Signature` with; derived again when signing, never stored.
    pub secret: String,
}

pub fn register(
    conn: &mut DbConnection,
    app_id: &str,
    new: &NewWebhook,
    key: &WebhookKey,
) -> Result<CreatedWebhook, NotificationsError> {
    new.validate()?;
    if store::webhooks::count_of_app(conn, app_id)? >= MAX_WEBHOOKS_PER_APP {
        return Err(NotificationsError::TooManyWebhooks { max: MAX_WEBHOOKS_PER_APP });
    }
    let mut event_types: Vec<String> = new.event_types.iter().map(|t| t.as_str().to_owned()).collect();
    event_types.sort();
    event_types.dedup();
    let webhook = store::webhooks::insert(conn, &new_id(), app_id, &new.url, &event_types)?;
    let secret = key.secret_for(&webhook.id);
    Ok(CreatedWebhook { webhook, secret })
}

/// One event of a feed as a webhook receives it: its app, its id in the feed, its type, and its
/// body as the feed published it (made only when some webhook wants the event).
pub struct FeedEvent<'a> {
    pub app_id: &'a str,
    pub id: i64,
    pub event_type: String,
    pub payload: Box<dyn Fn() -> String + 'a>,
}

/// Queues each of `events` (`feed` names their feed in the delivery ids) for every webhook of
/// its app that wants its type, in the caller's transaction, reading each app's webhooks once.
pub fn enqueue_feed<'a>(
    conn: &mut DbConnection,
    feed: &str,
    events: impl IntoIterator<Item = FeedEvent<'a>>,
) -> Result<(), NotificationsError> {
    let mut hooks_of: HashMap<&str, Vec<Webhook>> = HashMap::new();
    for event in events {
        let hooks = match hooks_of.entry(event.app_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(store::webhooks::of_app(conn, event.app_id)?),
        };
        if hooks.is_empty() {
            continue;
        }
        let event_id = format!("{feed}:{}", event.id);
        queue_for(conn, hooks, event.app_id, &event_id, &event.event_type, event.payload)?;
    }
    Ok(())
}

/// [`enqueue_feed`] for events of this service's own feed.
pub fn enqueue_events(
    conn: &mut DbConnection,
    feed: &str,
    events: &[chorus_kit::events::Event],
) -> Result<(), NotificationsError> {
    let as_delivered = events.iter().map(|event| FeedEvent {
        app_id: &event.app_id,
        id: event.id,
        event_type: event.event_type.clone(),
        payload: Box::new(move || serde_json::to_string(event).unwrap_or_default()),
    });
    enqueue_feed(conn, feed, as_delivered)
}

/// Queues one event, whose body `payload` gives, for each of `hooks` that wants its type.
fn queue_for(
    conn: &mut DbConnection,
    hooks: &[Webhook],
    app_id: &str,
    event_id: &str,
    event_type: &str,
    payload: impl FnOnce() -> String,
) -> Result<(), NotificationsError> {
    let wanting: Vec<&Webhook> = hooks.iter().filter(|hook| hook.event_types.iter().any(|t| t == event_type)).collect();
    if wanting.is_empty() {
        return Ok(());
    }
    let payload = payload();
    for hook in wanting {
        let new = NewDelivery { app_id, webhook_id: &hook.id, event_id, event_type, payload: &payload };
        store::webhooks::enqueue(conn, &new_id(), &new)?;
    }
    Ok(())
}

/// Puts a dead delivery back in the queue with a fresh set of attempts.
pub fn retry(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<Delivery, NotificationsError> {
    match store::webhooks::retry(conn, app_id, id)? {
        Retried::Queued => {
            store::webhooks::find_delivery(conn, app_id, id)?.ok_or(NotificationsError::DeliveryNotFound)
        }
        Retried::NotDead => Err(NotificationsError::DeliveryNotDead),
        Retried::NotFound => Err(NotificationsError::DeliveryNotFound),
    }
}

/// Refuses a target inside the platform's network (see [`chorus_kit::outbound`]) with a 400
/// that names `url` and says why. Called at registration; delivery checks again.
pub async fn check_target(url: &str, allow_private: bool) -> Result<(), NotificationsError> {
    chorus_kit::outbound::check_target(url, allow_private)
        .await
        .map_err(|refused| Invalid::new("url", refused.to_string()).into())
}

/// Sends due deliveries until shutdown, through the kit's dispatcher.
pub async fn dispatch(
    db: Db,
    key: WebhookKey,
    policy: DeliveryPolicy,
    metrics: std::sync::Arc<chorus_kit::metrics::Metrics>,
    shutdown: Shutdown,
) {
    let queue = DeliveryQueue::new("webhook", metrics, store::webhooks::claim_due, store::webhooks::record_attempt);
    chorus_kit::webhooks::dispatch_webhooks(db, queue, key, policy, shutdown).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_name_known_event_types() {
        let hook =
            NewWebhook { url: "https://example.com/hook".into(), event_types: vec![WebhookEventType::ActionCreated] };
        assert!(hook.validate().is_ok());
        let none = NewWebhook { event_types: vec![], ..hook.clone() };
        assert!(matches!(none.validate(), Err(NotificationsError::Invalid { field: "event_types", .. })));
        let ftp = NewWebhook { url: "ftp://example.com".into(), ..hook };
        assert!(matches!(ftp.validate(), Err(NotificationsError::Invalid { field: "url", .. })));
    }
}
