//! Webhooks: apps register endpoints that receive their events, signed like Stripe's
//! (`Chorus-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`). Every delivery is
//! logged with its attempts; failures retry with exponential backoff and jitter, then go dead,
//! and a dead delivery can be retried by hand. Each endpoint's secret is derived from the
//! service's webhook key, so no secret is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chorus_kit::db::{Db, DbConnection};
use chorus_kit::outbound;
use chorus_kit::shutdown::Shutdown;
use chorus_kit::validation::{self, Invalid};
use chrono::{TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

use super::model::{DeliveryStatus, Webhook, WebhookEventType};
use super::{NotificationsError, new_id};
use crate::store;
use crate::store::webhooks::{Claimed, NewDelivery};

pub const MAX_WEBHOOKS_PER_APP: i64 = 20;
const MAX_URL: usize = 2_048;
const CLAIM_BATCH: i64 = 20;
const CLAIM_LEASE: TimeDelta = TimeDelta::seconds(120);
const IDLE_POLL: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(3_600);

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

/// The key webhook secrets are derived from (config `webhooks.signing_key`).
#[derive(Clone)]
pub struct WebhookKey(Vec<u8>);

impl WebhookKey {
    pub fn new(key: &str) -> Self {
        Self(key.as_bytes().to_vec())
    }

    /// The endpoint's signing secret: an HMAC of its id under the service's key.
    pub fn secret_for(&self, webhook_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(webhook_id.as_bytes());
        format!("whsec_{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

/// The `Chorus-Signature` header for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let digest: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={digest}")
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

/// Queues `event` for every webhook of the app that wants its type, in the caller's transaction.
pub fn enqueue(
    conn: &mut DbConnection,
    app_id: &str,
    event_id: &str,
    event_type: &str,
    event: &serde_json::Value,
) -> Result<(), NotificationsError> {
    let wanting: Vec<Webhook> = store::webhooks::of_app(conn, app_id)?
        .into_iter()
        .filter(|hook| hook.event_types.iter().any(|t| t == event_type))
        .collect();
    if wanting.is_empty() {
        return Ok(());
    }
    let payload = event.to_string();
    for hook in wanting {
        let new = NewDelivery { app_id, webhook_id: &hook.id, event_id, event_type, payload: &payload };
        store::webhooks::enqueue(conn, &new_id(), &new)?;
    }
    Ok(())
}

/// How deliveries are attempted.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    pub max_attempts: i32,
    pub base_backoff: Duration,
    pub timeout: Duration,
    /// An HTTP proxy every delivery goes through (an egress gateway), if any.
    pub proxy_url: Option<String>,
    /// Whether targets on private addresses are allowed (local development and tests only).
    pub allow_private_targets: bool,
}

/// Refuses a target inside the platform's network (see [`chorus_kit::outbound`]) with a 400
/// that names `url` and says why. Called at registration; delivery checks again.
pub async fn check_target(url: &str, allow_private: bool) -> Result<(), NotificationsError> {
    outbound::check_target(url, allow_private).await.map_err(|refused| Invalid::new("url", refused.to_string()).into())
}

/// Delay before attempt `attempts + 1`: exponential, capped, with ±25% jitter.
pub fn backoff(policy: &DeliveryPolicy, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let base = policy.base_backoff.saturating_mul(1 << exponent).min(MAX_BACKOFF);
    let jitter = f64::from(chorus_kit::secrets::random_bytes(1)[0]) / 255.0 * 0.5 - 0.25;
    base.mul_f64(1.0 + jitter)
}

/// Sends due deliveries until shutdown; several replicas can run one each.
pub async fn dispatch(db: Db, key: WebhookKey, policy: DeliveryPolicy, shutdown: Shutdown) {
    // Connects only to public addresses, checked as it connects (DNS rebinding), and follows no
    // redirects; the proxy is validated at startup.
    let http = match outbound::client(policy.allow_private_targets, policy.proxy_url.as_deref(), policy.timeout) {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "the webhook client could not be built; deliveries wait");
            shutdown.fired().await;
            return;
        }
    };
    loop {
        if shutdown.is_fired() {
            return;
        }
        let claimed = db.write(|conn| store::webhooks::claim_due(conn, CLAIM_LEASE, CLAIM_BATCH)).await;
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "claiming webhook deliveries failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = shutdown.fired() => return,
            }
            continue;
        }
        let attempts = claimed.into_iter().map(|delivery| attempt(&db, &http, &key, &policy, delivery));
        futures_util::future::join_all(attempts).await;
    }
}

async fn attempt(db: &Db, http: &reqwest::Client, key: &WebhookKey, policy: &DeliveryPolicy, delivery: Claimed) {
    let timestamp = Utc::now().timestamp();
    let secret = key.secret_for(&delivery.webhook_id);
    // A literal address never passes through the client's resolver, so it is judged here. A
    // refused target never becomes reachable by retrying: the delivery goes dead at once.
    if let Err(refused) = outbound::check_literal(&delivery.url, policy.allow_private_targets) {
        let error = format!("the target was refused: {refused}");
        tracing::warn!(delivery_id = %delivery.id, webhook_id = %delivery.webhook_id, %error, "webhook delivery is dead");
        record(db, &delivery.id, DeliveryStatus::Dead, None, None, error).await;
        return;
    }
    let sent = http
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("Chorus-Signature", signature(&secret, timestamp, &delivery.payload))
        .header("Chorus-Event-Id", &delivery.event_id)
        .header("Chorus-Event-Type", &delivery.event_type)
        .header("Chorus-Delivery-Id", &delivery.id)
        .body(delivery.payload.clone())
        .send()
        .await;
    let (http_status, error) = match &sent {
        Ok(response) if response.status().is_success() => (Some(i32::from(response.status().as_u16())), None),
        Ok(response) => {
            (Some(i32::from(response.status().as_u16())), Some(format!("the endpoint answered {}", response.status())))
        }
        Err(error) => (None, Some(format!("the endpoint could not be reached: {error}"))),
    };
    let attempts = delivery.attempts + 1;
    let (status, retry_at) = match &error {
        None => (DeliveryStatus::Delivered, None),
        Some(_) if attempts >= policy.max_attempts => (DeliveryStatus::Dead, None),
        Some(_) => {
            let delay = TimeDelta::from_std(backoff(policy, delivery.attempts)).unwrap_or(TimeDelta::hours(1));
            (DeliveryStatus::Pending, Some(chorus_kit::db::now() + delay))
        }
    };
    if status == DeliveryStatus::Dead {
        tracing::warn!(delivery_id = %delivery.id, webhook_id = %delivery.webhook_id, attempts, "webhook delivery is dead");
    }
    record(db, &delivery.id, status, retry_at, http_status, error).await;
}

/// Records one attempt's outcome. A failure to record leaves the delivery claimed; it is tried
/// again once its lease runs out.
async fn record(
    db: &Db,
    delivery_id: &str,
    status: DeliveryStatus,
    retry_at: Option<chrono::NaiveDateTime>,
    http_status: Option<i32>,
    error: impl Into<Option<String>>,
) {
    let (id, error) = (delivery_id.to_owned(), error.into());
    let recorded = db
        .write(move |conn| store::webhooks::record_attempt(conn, &id, status, retry_at, http_status, error.as_deref()))
        .await;
    if let Err(error) = recorded {
        tracing::warn!(%error, "recording a webhook attempt failed; it will be retried after its lease");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_signatures_are_stable_and_keyed() {
        let key = WebhookKey::new("k1");
        assert_eq!(key.secret_for("w1"), key.secret_for("w1"));
        assert_ne!(key.secret_for("w1"), key.secret_for("w2"));
        assert_ne!(key.secret_for("w1"), WebhookKey::new("k2").secret_for("w1"));
        let header = signature("whsec_x", 1_700_000_000, "{}");
        assert!(header.starts_with("t=1700000000,v1=") && header.len() == "t=1700000000,v1=".len() + 64);
        assert_ne!(header, signature("whsec_x", 1_700_000_000, "{ }"));
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let policy = DeliveryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            proxy_url: None,
            allow_private_targets: false,
        };
        assert!(backoff(&policy, 0) <= Duration::from_millis(1_250));
        assert!(backoff(&policy, 4) >= Duration::from_secs(12));
        assert!(backoff(&policy, 40) <= MAX_BACKOFF + MAX_BACKOFF / 4);
    }

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
