//! Signed webhook deliveries, written once for every service that calls customers' endpoints
//! (notifications' webhooks, analytics' alert hooks).
//!
//! - **Signing**, like Stripe's: `Chorus-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
//!   "<t>.<body>">` under the endpoint's secret. Each secret is an HMAC of the endpoint's id
//!   under the service's `webhooks.signing_key`, so no secret is stored.
//! - **Targets** are held to [`crate::outbound`]'s rules: refused at registration when inside the
//!   platform's network, and checked again as each delivery connects.
//! - **Delivery** is at least once: each service keeps its deliveries in its own table (queued in
//!   the transaction that caused them), and [`dispatch`] claims the due ones, sends them, and
//!   records each attempt. Failures retry with exponential backoff and jitter, then go dead; a
//!   dead delivery can be retried by hand.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::time::Duration;

use crate::config::{ConfigError, Secret};
use crate::db::{Db, DbConnection, DbError};
use crate::outbound;
use crate::shutdown::Shutdown;

const CLAIM_BATCH: i64 = 20;
/// How long a claimed delivery is left alone by other replicas' dispatchers.
pub const CLAIM_LEASE: TimeDelta = TimeDelta::seconds(120);
const IDLE_POLL: Duration = Duration::from_millis(250);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3_600);

/// The `[webhooks]` section of a service that calls customers' endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// What each endpoint's signing secret is derived from (at least 32 characters). Changing it
    /// changes every secret.
    #[serde(default)]
    pub signing_key: Option<Secret>,
    /// Attempts before a delivery is dead (1 to 50).
    pub max_attempts: i32,
    /// The first retry's delay; each next one doubles, with jitter, up to an hour.
    pub base_backoff_ms: u64,
    /// How long one attempt may take.
    pub timeout_secs: u64,
    /// Sends every delivery through this HTTP proxy (an egress gateway), when set.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Lets targets be loopback, private and link-local addresses. Off by default, since such a
    /// target reaches inside the platform's network; on only for local development and tests,
    /// whose receivers listen on loopback.
    #[serde(default)]
    pub allow_private_targets: bool,
}

impl WebhookSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.signing_key.as_ref().is_none_or(|key| key.expose().len() < 32) {
            return Err(ConfigError::invalid("webhooks.signing_key", "is required, at least 32 characters"));
        }
        if !(1..=50).contains(&self.max_attempts) {
            return Err(ConfigError::invalid("webhooks.max_attempts", "must be between 1 and 50"));
        }
        if self.base_backoff_ms == 0 || self.timeout_secs == 0 {
            return Err(ConfigError::invalid("webhooks.base_backoff_ms", "and webhooks.timeout_secs must be positive"));
        }
        if let Some(proxy) = &self.proxy_url {
            crate::config::check_http_url("webhooks.proxy_url", proxy)?;
        }
        Ok(())
    }

    /// The key secrets are derived from (validated to be set).
    pub fn key(&self) -> WebhookKey {
        WebhookKey::new(self.signing_key.as_ref().map(|key| key.expose()).unwrap_or_default())
    }

    pub fn policy(&self) -> DeliveryPolicy {
        DeliveryPolicy {
            max_attempts: self.max_attempts,
            base_backoff: Duration::from_millis(self.base_backoff_ms),
            timeout: Duration::from_secs(self.timeout_secs),
            proxy_url: self.proxy_url.clone(),
            allow_private_targets: self.allow_private_targets,
        }
    }
}

/// The key webhook secrets are derived from (config `webhooks.signing_key`).
#[derive(Clone)]
pub struct WebhookKey(Vec<u8>);

impl WebhookKey {
    pub fn new(key: &str) -> Self {
        Self(key.as_bytes().to_vec())
    }

    /// The endpoint's signing secret (`whsec_…`): an HMAC of its id under the service's key.
    pub fn secret_for(&self, endpoint_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(endpoint_id.as_bytes());
        format!("whsec_{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

/// The `Chorus-Signature` header for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let digest: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={digest}")
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

/// Delay before attempt `attempts + 1`: exponential, capped at [`MAX_BACKOFF`], with ±25% jitter.
pub fn backoff(policy: &DeliveryPolicy, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let base = policy.base_backoff.saturating_mul(1 << exponent).min(MAX_BACKOFF);
    let jitter = f64::from(crate::secrets::random_bytes(1)[0]) / 255.0 * 0.5 - 0.25;
    base.mul_f64(1.0 + jitter)
}

/// Where a delivery stands (also its published shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Every attempt failed; retry it by hand.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "delivered" => Self::Delivered,
            "dead" => Self::Dead,
            _ => Self::Pending,
        }
    }
}

/// A due delivery, claimed for one attempt: what [`dispatch`] needs of any delivery table's rows.
pub trait Claim: Clone + Send + 'static {
    fn id(&self) -> &str;
    /// Attempts made before this one.
    fn attempts(&self) -> i32;
    /// Where it goes, for logs: a webhook's id, an alert rule's id, a device's id.
    fn endpoint_id(&self) -> &str;
}

/// A due webhook delivery, claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    /// The endpoint whose secret signs it (a webhook's id, an alert rule's id).
    pub endpoint_id: String,
    pub url: String,
    /// Sent as `Chorus-Event-Id` and `Chorus-Event-Type`.
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub attempts: i32,
}

impl Claim for Claimed {
    fn id(&self) -> &str {
        &self.id
    }

    fn attempts(&self) -> i32 {
        self.attempts
    }

    fn endpoint_id(&self) -> &str {
        &self.endpoint_id
    }
}

/// One attempt's outcome, for the service's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub status: DeliveryStatus,
    /// When to try again (pending only).
    pub retry_at: Option<NaiveDateTime>,
    /// The endpoint's HTTP status, when it answered.
    pub http_status: Option<i32>,
    pub error: Option<String>,
}

/// Claims up to `limit` due deliveries, pushing each one's next attempt `lease` ahead.
pub type ClaimDue<C> = dyn Fn(&mut DbConnection, TimeDelta, i64) -> Result<Vec<C>, DbError> + Send + Sync;

/// A service's delivery table: claim the due deliveries (pushing each one's next attempt
/// [`CLAIM_LEASE`] ahead), and record an attempt.
pub struct DeliveryQueue<C = Claimed> {
    /// What the deliveries are, for logs and the `chorus_deliveries_total{kind}` metrics:
    /// "webhook", "alert webhook", "apns".
    pub kind: &'static str,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// How many are claimed, and sent concurrently, at a time.
    pub batch: i64,
    pub claim_due: std::sync::Arc<ClaimDue<C>>,
    pub record: fn(&mut DbConnection, &str, &Attempt) -> Result<(), DbError>,
}

impl<C> DeliveryQueue<C> {
    /// A queue that claims [`CLAIM_BATCH`] deliveries at a time.
    pub fn new(
        kind: &'static str,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
        claim_due: impl Fn(&mut DbConnection, TimeDelta, i64) -> Result<Vec<C>, DbError> + Send + Sync + 'static,
        record: fn(&mut DbConnection, &str, &Attempt) -> Result<(), DbError>,
    ) -> Self {
        Self { kind, metrics, batch: CLAIM_BATCH, claim_due: std::sync::Arc::new(claim_due), record }
    }
}

/// What one send came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Delivered {
        http_status: Option<i32>,
    },
    /// Worth trying again later: after `retry_after` when the endpoint said so (a 429's or a
    /// 503's `Retry-After`), else after the policy's backoff.
    Failed {
        http_status: Option<i32>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Never deliverable (a refused target, say): dead at once.
    Refused {
        http_status: Option<i32>,
        error: String,
    },
    /// Its target no longer exists (a push device the provider reports gone, or one removed
    /// since): dead at once, and counted as `gone` rather than `dead`, since nothing went wrong.
    Gone {
        http_status: Option<i32>,
        error: String,
    },
}

/// What retrying a delivery by hand came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retried {
    /// It was dead, and is queued again with a fresh set of attempts.
    Queued,
    /// It is not dead (pending or delivered): nothing to retry.
    NotDead,
    /// The app has no such delivery.
    NotFound,
}

/// Writes, in a service's store module, the statements every delivery table needs besides its
/// own claim: `record_attempt` (the outcome of one attempt, for [`DeliveryQueue::record`]),
/// `retry` (a dead delivery queued again with a fresh set of attempts) and, given the table's
/// row type and what it converts into (`delivery_store!(table, Row => Delivery)`),
/// `find_delivery` (one delivery of the app). The table has the columns `id`, `app_id`,
/// `status`, `attempts`, `next_attempt_at`, `last_status`, `last_error` and `delivered_at`.
#[macro_export]
macro_rules! delivery_store {
    ($table:ident, $row:ty => $delivery:ty) => {
        $crate::delivery_store!($table);

        /// One delivery of the app.
        pub fn find_delivery(
            conn: &mut $crate::db::DbConnection,
            app_id: &str,
            id: &str,
        ) -> Result<Option<$delivery>, $crate::db::DbError> {
            use diesel::prelude::*;
            let row: Option<$row> = $table::table
                .filter($table::id.eq(id).and($table::app_id.eq(app_id)))
                .select(<$row>::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(<$delivery>::from))
        }
    };
    ($table:ident) => {
        /// Records an attempt: delivered, retry at `retry_at`, or dead.
        pub fn record_attempt(
            conn: &mut $crate::db::DbConnection,
            id: &str,
            attempt: &$crate::webhooks::Attempt,
        ) -> Result<(), $crate::db::DbError> {
            use diesel::prelude::*;
            let now = $crate::db::now();
            let delivered = attempt.status == $crate::webhooks::DeliveryStatus::Delivered;
            diesel::update($table::table.find(id))
                .set((
                    $table::status.eq(attempt.status.as_str()),
                    $table::attempts.eq($table::attempts + 1),
                    $table::next_attempt_at.eq(attempt.retry_at.unwrap_or(now)),
                    $table::last_status.eq(attempt.http_status),
                    $table::last_error.eq(attempt.error.as_deref()),
                    $table::delivered_at.eq(delivered.then_some(now)),
                ))
                .execute(conn)?;
            Ok(())
        }

        /// Puts a dead delivery of the app back in the queue, with a fresh set of attempts.
        pub fn retry(
            conn: &mut $crate::db::DbConnection,
            app_id: &str,
            id: &str,
        ) -> Result<$crate::webhooks::Retried, $crate::db::DbError> {
            use diesel::prelude::*;
            let of_app = $table::id.eq(id).and($table::app_id.eq(app_id));
            let updated = diesel::update(
                $table::table.filter(of_app).filter($table::status.eq($crate::webhooks::DeliveryStatus::Dead.as_str())),
            )
            .set((
                $table::status.eq($crate::webhooks::DeliveryStatus::Pending.as_str()),
                $table::attempts.eq(0),
                $table::next_attempt_at.eq($crate::db::now()),
            ))
            .execute(conn)?;
            if updated > 0 {
                return Ok($crate::webhooks::Retried::Queued);
            }
            let exists: bool = diesel::select(diesel::dsl::exists($table::table.filter(of_app))).get_result(conn)?;
            Ok(if exists { $crate::webhooks::Retried::NotDead } else { $crate::webhooks::Retried::NotFound })
        }
    };
}

/// Sends due signed webhooks until shutdown; several replicas can run one each.
pub async fn dispatch_webhooks(
    db: Db,
    queue: DeliveryQueue,
    key: WebhookKey,
    policy: DeliveryPolicy,
    shutdown: Shutdown,
) {
    // Connects only to public addresses, checked as it connects (DNS rebinding), and follows no
    // redirects; the proxy is validated at startup.
    let http = match outbound::client(policy.allow_private_targets, policy.proxy_url.as_deref(), policy.timeout) {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, kind = queue.kind, "the delivery client could not be built; deliveries wait");
            shutdown.fired().await;
            return;
        }
    };
    let allow_private = policy.allow_private_targets;
    let send = move |delivery: Claimed| {
        let (http, key) = (http.clone(), key.clone());
        async move { send_signed(&http, &key, allow_private, &delivery).await }
    };
    dispatch(db, queue, policy, shutdown, send).await;
}

/// POSTs one delivery, signed with its endpoint's secret.
async fn send_signed(http: &reqwest::Client, key: &WebhookKey, allow_private: bool, delivery: &Claimed) -> Sent {
    // A literal address never passes through the client's resolver, so it is judged here. A
    // refused target never becomes reachable by retrying.
    if let Err(refused) = outbound::check_literal(&delivery.url, allow_private) {
        return Sent::Refused { http_status: None, error: format!("the target was refused: {refused}") };
    }
    let timestamp = Utc::now().timestamp();
    let secret = key.secret_for(&delivery.endpoint_id);
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
    match sent {
        Ok(response) if response.status().is_success() => {
            Sent::Delivered { http_status: Some(i32::from(response.status().as_u16())) }
        }
        Ok(response) => Sent::Failed {
            http_status: Some(i32::from(response.status().as_u16())),
            error: format!("the endpoint answered {}", response.status()),
            retry_after: retry_after(response.headers()),
        },
        Err(error) => Sent::Failed {
            http_status: None,
            error: format!("the endpoint could not be reached: {error}"),
            retry_after: None,
        },
    }
}

/// Claims due deliveries and sends each with `send` until shutdown, recording every attempt:
/// delivered, retried after [`backoff`], or dead after `policy.max_attempts`.
pub async fn dispatch<C, S, F>(db: Db, queue: DeliveryQueue<C>, policy: DeliveryPolicy, shutdown: Shutdown, send: S)
where
    C: Claim,
    S: Fn(C) -> F,
    F: std::future::Future<Output = Sent>,
{
    queue.metrics.register_delivery_kind(queue.kind);
    loop {
        if shutdown.is_fired() {
            return;
        }
        let (claim_due, batch) = (queue.claim_due.clone(), queue.batch);
        let claimed = match db.write(move |conn| claim_due(conn, CLAIM_LEASE, batch)).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, kind = queue.kind, "claiming deliveries failed");
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
        let policy = &policy;
        let attempts = claimed.into_iter().map(|delivery| {
            let sending = send(delivery.clone());
            async move {
                let sent = sending.await;
                let gone = matches!(sent, Sent::Gone { .. });
                let attempt = outcome(policy, &delivery, sent);
                (delivery, attempt, gone)
            }
        });
        let attempts = futures_util::future::join_all(attempts).await;
        record(&db, &queue, attempts).await;
    }
}

/// What an attempt means for the delivery.
fn outcome(policy: &DeliveryPolicy, delivery: &impl Claim, sent: Sent) -> Attempt {
    let attempts = delivery.attempts() + 1;
    match sent {
        Sent::Delivered { http_status } => {
            Attempt { status: DeliveryStatus::Delivered, retry_at: None, http_status, error: None }
        }
        Sent::Refused { http_status, error } | Sent::Gone { http_status, error } => {
            Attempt { status: DeliveryStatus::Dead, retry_at: None, http_status, error: Some(error) }
        }
        Sent::Failed { http_status, error, .. } if attempts >= policy.max_attempts => {
            Attempt { status: DeliveryStatus::Dead, retry_at: None, http_status, error: Some(error) }
        }
        Sent::Failed { http_status, error, retry_after } => {
            let wait = retry_after.map_or_else(|| backoff(policy, delivery.attempts()), |after| after.min(MAX_BACKOFF));
            let delay = TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1));
            Attempt {
                status: DeliveryStatus::Pending,
                retry_at: Some(crate::db::now() + delay),
                http_status,
                error: Some(error),
            }
        }
    }
}

/// Records a batch's attempts in one transaction (one commit, not one per delivery). A failure
/// to record leaves the batch claimed; it is tried again once its lease runs out.
async fn record<C: Claim>(db: &Db, queue: &DeliveryQueue<C>, attempts: Vec<(C, Attempt, bool)>) {
    let mut rows = Vec::with_capacity(attempts.len());
    for (delivery, attempt, gone) in attempts {
        let outcome = match attempt.status {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Pending => "retried",
            DeliveryStatus::Dead if gone => "gone",
            DeliveryStatus::Dead => "dead",
        };
        queue.metrics.count_delivery(queue.kind, outcome);
        if outcome == "dead" {
            tracing::warn!(
                kind = queue.kind,
                delivery_id = %delivery.id(),
                endpoint = %delivery.endpoint_id(),
                error = attempt.error.as_deref().unwrap_or_default(),
                "delivery is dead"
            );
        }
        rows.push((delivery.id().to_owned(), attempt));
    }
    let record = queue.record;
    let recorded = db.write(move |conn| rows.iter().try_for_each(|(id, attempt)| record(conn, id, attempt))).await;
    if let Err(error) = recorded {
        tracing::warn!(%error, kind = queue.kind, "recording delivery attempts failed; they are retried after their lease");
    }
}

/// How long a `Retry-After` header asks to wait (RFC 9110 §10.2.3): delay-seconds, or an
/// HTTP-date (a date in the past means now). `None` when absent or unreadable.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or(Duration::ZERO))
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
    fn a_status_is_published_as_it_is_stored() {
        for status in [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Dead] {
            assert_eq!(serde_json::json!(status), status.as_str());
            assert_eq!(DeliveryStatus::parse(status.as_str()), status);
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(reqwest::header::RETRY_AFTER, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let later = (Utc::now() + TimeDelta::seconds(90)).to_rfc2822();
        headers.insert(reqwest::header::RETRY_AFTER, later.parse().unwrap());
        assert!(retry_after(&headers).is_some_and(|wait| wait > Duration::from_secs(80)));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn a_retry_after_wins_over_the_backoff() {
        let policy = DeliveryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            proxy_url: None,
            allow_private_targets: false,
        };
        let delivery = Claimed {
            id: "d1".into(),
            endpoint_id: "w1".into(),
            url: String::new(),
            event_id: "e1".into(),
            event_type: "t".into(),
            payload: String::new(),
            attempts: 0,
        };
        let failed = |retry_after| Sent::Failed { http_status: Some(429), error: "busy".into(), retry_after };
        let attempt = outcome(&policy, &delivery, failed(Some(Duration::from_secs(600))));
        let wait = attempt.retry_at.unwrap() - crate::db::now();
        assert!(attempt.status == DeliveryStatus::Pending && wait > TimeDelta::seconds(590), "{attempt:?}");
        let attempt = outcome(&policy, &delivery, failed(None));
        assert!(attempt.retry_at.unwrap() - crate::db::now() < TimeDelta::seconds(2));
        let gone = outcome(&policy, &delivery, Sent::Gone { http_status: Some(410), error: "no such device".into() });
        assert_eq!((gone.status, gone.retry_at, gone.http_status), (DeliveryStatus::Dead, None, Some(410)));
        let last = Claimed { attempts: 4, ..delivery };
        assert_eq!(outcome(&policy, &last, failed(None)).status, DeliveryStatus::Dead);
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
}
