//! Push delivery on the providers' own protocols: APNs ([`apns`]), FCM HTTP v1 ([`fcm`]) and
//! Web Push ([`webpush`]). Each provider is a channel with its own credentials from config; a
//! channel without them is off and says so once at start.
//!
//! Pushes are queued by the domain (`domain::push`) with the notifications they carry, and sent
//! here by one dispatcher per provider, through the kit's delivery machinery: at least once,
//! concurrently up to `push.concurrency` per provider (so a slow provider stalls only itself),
//! retried with backoff (or after a 429's `Retry-After`), then dead. A device the provider
//! reports gone is removed, unless [`guard::RemovalGuard`] sees a configuration mistake.

pub mod apns;
pub mod fcm;
pub mod guard;
pub mod webpush;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chorus_kit::config::ConfigError;
use chorus_kit::db::Db;
use chorus_kit::metrics::Metrics;
use chorus_kit::shutdown::Shutdown;
use chorus_kit::webhooks::{DeliveryPolicy, DeliveryQueue, Sent};
use serde::Deserialize;

use crate::domain::model::{PushMessage, PushProvider};
use crate::domain::push::PushRoutes;
use crate::store;
use crate::store::push::{ClaimedPush, PushTarget};
use guard::{GuardMetrics, RemovalGuard};

/// The `[push]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSettings {
    /// How long one send may take.
    pub timeout_secs: u64,
    /// Attempts before a push is dead (1 to 50).
    pub max_attempts: i32,
    /// The first retry's delay; each next one doubles, with jitter, up to an hour.
    pub base_backoff_ms: u64,
    /// How long a push stays worth sending (also its APNs expiration, FCM `ttl` and Web Push
    /// `TTL`). Older pushes are dead instead of late.
    pub ttl_secs: u64,
    /// Sends in flight per provider.
    pub concurrency: u16,
    /// The window in which a provider's token errors are weighed (see [`guard`]).
    pub guard_window_secs: u64,
    /// Token errors of one kind a window must hold before removals stop.
    pub guard_min_errors: u32,
    #[serde(default)]
    pub apns: ApnsSettings,
    #[serde(default)]
    pub fcm: FcmSettings,
    #[serde(default)]
    pub webpush: WebPushSettings,
}

/// `[push.apns]`: token-based authentication with a `.p8` key (Apple's "Establishing a
/// token-based connection to APNs").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsSettings {
    /// Production devices' endpoint.
    #[serde(default = "apns_production")]
    pub base_url: String,
    /// Sandbox (development) devices' endpoint.
    #[serde(default = "apns_sandbox")]
    pub sandbox_base_url: String,
    /// The signing key (`AuthKey_<key id>.p8`, PKCS#8 PEM).
    pub key_file: Option<PathBuf>,
    pub key_id: Option<String>,
    pub team_id: Option<String>,
    /// The app's bundle id, sent as `apns-topic`.
    pub topic: Option<String>,
}

fn apns_production() -> String {
    "https://api.push.apple.com".into()
}

fn apns_sandbox() -> String {
    "https://api.sandbox.push.apple.com".into()
}

impl Default for ApnsSettings {
    fn default() -> Self {
        Self {
            base_url: apns_production(),
            sandbox_base_url: apns_sandbox(),
            key_file: None,
            key_id: None,
            team_id: None,
            topic: None,
        }
    }
}

/// `[push.fcm]`: FCM HTTP v1 with a service account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmSettings {
    #[serde(default = "fcm_base")]
    pub base_url: String,
    /// The service account's JSON key; `project_id`, `client_email`, `private_key` and
    /// `token_uri` come from it.
    pub credentials_file: Option<PathBuf>,
    /// Overrides the key's `token_uri`.
    pub token_url: Option<String>,
}

fn fcm_base() -> String {
    "https://fcm.googleapis.com".into()
}

impl Default for FcmSettings {
    fn default() -> Self {
        Self { base_url: fcm_base(), credentials_file: None, token_url: None }
    }
}

/// `[push.webpush]`: Web Push with VAPID (RFC 8292).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPushSettings {
    /// The application server's P-256 key (PKCS#8 PEM); its public half is what browsers
    /// subscribe with (`applicationServerKey`).
    pub vapid_key_file: Option<PathBuf>,
    /// A contact for the push services: `mailto:` or `https:` (RFC 8292 §2.1).
    pub subject: Option<String>,
    /// Lets subscription endpoints be loopback or private addresses. Off by default: an
    /// endpoint is user input and must not reach inside the platform's network.
    #[serde(default)]
    pub allow_private_endpoints: bool,
}

impl PushSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=50).contains(&self.max_attempts) {
            return Err(ConfigError::invalid("push.max_attempts", "must be between 1 and 50"));
        }
        if self.timeout_secs == 0 || self.base_backoff_ms == 0 || self.ttl_secs == 0 || self.concurrency == 0 {
            return Err(ConfigError::invalid(
                "push.timeout_secs",
                "push.base_backoff_ms, push.ttl_secs and push.concurrency must be positive",
            ));
        }
        // A send (for FCM, a token request and the send) must end well inside the claim's lease,
        // or another replica could take the push over while it is still being sent.
        if self.timeout_secs * 3 > chorus_kit::webhooks::CLAIM_LEASE.num_seconds().unsigned_abs() {
            return Err(ConfigError::invalid("push.timeout_secs", "must be at most a third of the 120 s claim lease"));
        }
        if self.guard_window_secs == 0 || self.guard_min_errors == 0 {
            return Err(ConfigError::invalid("push.guard_window_secs", "and push.guard_min_errors must be positive"));
        }
        chorus_kit::config::check_http_url("push.apns.base_url", &self.apns.base_url)?;
        chorus_kit::config::check_http_url("push.apns.sandbox_base_url", &self.apns.sandbox_base_url)?;
        chorus_kit::config::check_http_url("push.fcm.base_url", &self.fcm.base_url)?;
        if let Some(url) = &self.fcm.token_url {
            chorus_kit::config::check_http_url("push.fcm.token_url", url)?;
        }
        let apns = &self.apns;
        all_or_none(
            "push.apns",
            &[apns.key_file.is_some(), apns.key_id.is_some(), apns.team_id.is_some(), apns.topic.is_some()],
            "key_file, key_id, team_id and topic",
        )?;
        all_or_none(
            "push.webpush",
            &[self.webpush.vapid_key_file.is_some(), self.webpush.subject.is_some()],
            "vapid_key_file and subject",
        )?;
        if let Some(subject) = &self.webpush.subject
            && !(subject.starts_with("mailto:") || subject.starts_with("https://"))
        {
            return Err(ConfigError::invalid("push.webpush.subject", "must be a mailto: or https: URI"));
        }
        Ok(())
    }

    fn policy(&self) -> DeliveryPolicy {
        DeliveryPolicy {
            max_attempts: self.max_attempts,
            base_backoff: Duration::from_millis(self.base_backoff_ms),
            timeout: Duration::from_secs(self.timeout_secs),
            proxy_url: None,
            allow_private_targets: self.webpush.allow_private_endpoints,
        }
    }
}

/// A channel's credentials are all given or none is (then the channel is off).
fn all_or_none(section: &'static str, given: &[bool], names: &str) -> Result<(), ConfigError> {
    if given.iter().any(|g| *g) && !given.iter().all(|g| *g) {
        return Err(ConfigError::invalid(section, format!("needs all of {names}, or none (the channel is off)")));
    }
    Ok(())
}

/// Why a channel could not start: its credentials are unreadable or invalid.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("{setting}: {path} cannot be read: {source}")]
    Unreadable { setting: &'static str, path: String, source: std::io::Error },
    #[error("{setting}: {message}")]
    Invalid { setting: &'static str, message: String },
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
}

fn read_file(setting: &'static str, path: &PathBuf) -> Result<Vec<u8>, ChannelError> {
    std::fs::read(path).map_err(|source| ChannelError::Unreadable { setting, path: path.display().to_string(), source })
}

/// Rendering within a provider's size limit (the type is the domain's).
impl PushMessage {
    /// The message rendered by `render` within `limit` bytes: the body is cut first, then the
    /// title, on character boundaries and marked with "…", each as long as still fits; a URL or
    /// key that does not fit is left out rather than cut (a cut one would point elsewhere). The
    /// id always stays.
    pub fn fit(&self, limit: usize, render: impl Fn(&PushMessage) -> Vec<u8>) -> Vec<u8> {
        let rendered = render(self);
        if rendered.len() <= limit {
            return rendered;
        }
        let mut message = self.clone();
        if let Some(body) = &self.body {
            if let Some(fitted) = cut_to_fit(&message, body, limit, &render, |m, text| m.body = Some(text)) {
                return fitted;
            }
            message.body = None;
        }
        for drop in [|m: &mut PushMessage| m.url = None, |m: &mut PushMessage| m.entity_key = None] {
            drop(&mut message);
            let rendered = render(&message);
            if rendered.len() <= limit {
                return rendered;
            }
        }
        let title = message.title.clone();
        cut_to_fit(&message, &title, limit, &render, |m, text| m.title = text).unwrap_or_else(|| {
            message.title.clear();
            render(&message)
        })
    }
}

/// `message` with `text` cut (by `set`) to its longest prefix, marked "…", whose rendering fits
/// `limit`; `None` when not even one character fits. Renderings grow with the prefix, so the
/// longest is found by bisection.
fn cut_to_fit(
    message: &PushMessage,
    text: &str,
    limit: usize,
    render: &impl Fn(&PushMessage) -> Vec<u8>,
    set: fn(&mut PushMessage, String),
) -> Option<Vec<u8>> {
    let attempt = |end: usize| {
        let mut cut = message.clone();
        set(&mut cut, format!("{}…", &text[..end]));
        render(&cut)
    };
    let ends: Vec<usize> = text.char_indices().map(|(at, _)| at).skip(1).collect();
    let fitting = ends.partition_point(|end| attempt(*end).len() <= limit);
    fitting.checked_sub(1).map(|last| attempt(ends[last]))
}

/// What a provider made of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        http_status: u16,
    },
    /// The provider says the token is no good (`reason` names its error): the device goes,
    /// unless the guard holds removals.
    TokenRejected {
        http_status: u16,
        reason: String,
    },
    /// Worth another try: a 429, a 5xx, an expired provider token, a network error.
    Retry {
        http_status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Never deliverable as it is (a malformed request, a payload too large, no keys).
    Rejected {
        http_status: Option<u16>,
        error: String,
    },
}

/// A provider's answer other than success, to read its error from.
pub struct Refusal {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// The answer's JSON body (null when it has none).
    pub body: serde_json::Value,
}

/// Reads what `provider` answered a send: a success or an unreachable provider settles it;
/// anything else is a [`Refusal`] for the provider's module to classify.
async fn read_answer(provider: &str, sent: reqwest::Result<reqwest::Response>) -> Result<Refusal, Outcome> {
    // Without the URL: it holds the device token or the subscription's endpoint (a capability).
    let response = sent.map_err(|error| Outcome::Retry {
        http_status: None,
        error: format!("{provider} could not be reached: {}", error.without_url()),
        retry_after: None,
    })?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Err(Outcome::Delivered { http_status: status });
    }
    let retry_after = chorus_kit::webhooks::retry_after(response.headers());
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    Ok(Refusal { status, retry_after, body })
}

/// A device and a message to send to it.
pub struct Send<'a> {
    pub target: &'a PushTarget,
    pub message: &'a PushMessage,
    /// How long the push stays worth delivering.
    pub ttl: Duration,
}

/// A provider's channel.
pub enum Channel {
    Apns(apns::Apns),
    Fcm(fcm::Fcm),
    WebPush(webpush::WebPush),
}

impl Channel {
    async fn send(&self, push: &Send<'_>) -> Outcome {
        match self {
            Self::Apns(apns) => apns.send(push).await,
            Self::Fcm(fcm) => fcm.send(push).await,
            Self::WebPush(webpush) => webpush.send(push).await,
        }
    }
}

/// The channels that are on.
pub struct Channels {
    settings: PushSettings,
    channels: Vec<(PushProvider, Channel)>,
}

impl Channels {
    /// Loads each channel whose credentials are configured; says once which are off. Fails when
    /// configured credentials cannot be read or are invalid.
    pub fn load(settings: &PushSettings) -> Result<Self, ChannelError> {
        let timeout = Duration::from_secs(settings.timeout_secs);
        let mut channels = Vec::new();
        match apns::Apns::load(&settings.apns, timeout)? {
            Some(apns) => channels.push((PushProvider::Apns, Channel::Apns(apns))),
            None => tracing::info!("push through APNs is off: push.apns has no credentials"),
        }
        match fcm::Fcm::load(&settings.fcm, timeout)? {
            Some(fcm) => channels.push((PushProvider::Fcm, Channel::Fcm(fcm))),
            None => tracing::info!("push through FCM is off: push.fcm has no credentials"),
        }
        match webpush::WebPush::load(&settings.webpush, timeout)? {
            Some(webpush) => channels.push((PushProvider::Webpush, Channel::WebPush(webpush))),
            None => tracing::info!("Web Push is off: push.webpush has no VAPID key"),
        }
        Ok(Self { settings: settings.clone(), channels })
    }

    /// The providers pushes are queued for.
    pub fn routes(&self) -> PushRoutes {
        let on = |provider| self.channels.iter().any(|(p, _)| *p == provider);
        PushRoutes { apns: on(PushProvider::Apns), fcm: on(PushProvider::Fcm), webpush: on(PushProvider::Webpush) }
    }

    /// Starts one dispatcher per channel, each sending until shutdown.
    pub fn dispatch(self, db: &Db, metrics: &Arc<Metrics>, shutdown: &Shutdown) -> Vec<tokio::task::JoinHandle<()>> {
        let settings = Arc::new(self.settings);
        let guard_metrics = GuardMetrics::register(metrics);
        self.channels
            .into_iter()
            .map(|(provider, channel)| {
                let guard = RemovalGuard::new(
                    provider.as_str(),
                    Duration::from_secs(settings.guard_window_secs),
                    settings.guard_min_errors,
                    &guard_metrics,
                );
                let (db, metrics, shutdown, settings) =
                    (db.clone(), metrics.clone(), shutdown.clone(), settings.clone());
                tokio::spawn(dispatch(db, provider, channel, guard, settings, metrics, shutdown))
            })
            .collect()
    }
}

/// Sends one provider's due pushes until shutdown.
async fn dispatch(
    db: Db,
    provider: PushProvider,
    channel: Channel,
    guard: RemovalGuard,
    settings: Arc<PushSettings>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) {
    let guard = Arc::new(guard);
    let mut queue = DeliveryQueue::new(
        provider.as_str(),
        metrics,
        move |conn, lease, limit| store::push::claim_due(conn, provider, lease, limit),
        store::push::record_attempt,
    );
    queue.batch = i64::from(settings.concurrency);
    let (channel, policy) = (Arc::new(channel), settings.policy());
    let ttl = Duration::from_secs(settings.ttl_secs);
    let sender_db = db.clone();
    let send = move |push: ClaimedPush| {
        let (db, channel, guard) = (sender_db.clone(), channel.clone(), guard.clone());
        async move { send_one(&db, &channel, &guard, ttl, push).await }
    };
    chorus_kit::webhooks::dispatch(db, queue, policy, shutdown, send).await;
}

/// Sends one push and says what it came to; removes the device when the provider reports it
/// gone and the guard allows.
async fn send_one(db: &Db, channel: &Channel, guard: &RemovalGuard, ttl: Duration, push: ClaimedPush) -> Sent {
    let (Some(target), Some(message)) = (push.target, push.message) else {
        return Sent::Gone { http_status: None, error: "the device or the notification is gone".into() };
    };
    let age = (chorus_kit::db::now() - push.created_at).to_std().unwrap_or_default();
    let Some(ttl) = ttl.checked_sub(age) else {
        return Sent::Refused { http_status: None, error: "expired before it could be sent".into() };
    };
    let outcome = channel.send(&Send { target: &target, message: &message, ttl }).await;
    guard.observe(match &outcome {
        Outcome::TokenRejected { reason, .. } => Some(reason.as_str()),
        _ => None,
    });
    match outcome {
        Outcome::Delivered { http_status } => Sent::Delivered { http_status: Some(i32::from(http_status)) },
        Outcome::Retry { http_status, error, retry_after } => {
            Sent::Failed { http_status: http_status.map(i32::from), error, retry_after }
        }
        Outcome::Rejected { http_status, error } => Sent::Refused { http_status: http_status.map(i32::from), error },
        // Kept, and tried again with backoff: once the configuration is fixed, it arrives.
        Outcome::TokenRejected { http_status, reason } if guard.holds_removals() => Sent::Failed {
            http_status: Some(i32::from(http_status)),
            error: format!(
                "the provider rejected the token ({reason}); the device was kept, since most recent sends \
                 fail the same way, which points at the push configuration"
            ),
            retry_after: None,
        },
        Outcome::TokenRejected { http_status, reason } => {
            let device = target.device_id.clone();
            match db.write(move |conn| store::devices::remove_gone(conn, &device)).await {
                Ok(_) => {
                    guard.count_removal();
                    let error = format!("the provider reports the device gone ({reason}); it was removed");
                    Sent::Gone { http_status: Some(i32::from(http_status)), error }
                }
                Err(error) => Sent::Failed {
                    http_status: None,
                    error: format!("the provider reports the device gone ({reason}); removing it failed: {error}"),
                    retry_after: None,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> PushMessage {
        PushMessage {
            notification_id: "n1".into(),
            title: "New comment on post:1".into(),
            body: Some(body.into()),
            entity_key: Some("post:1".into()),
            url: Some("https://example.com/p/1".into()),
        }
    }

    fn json(message: &PushMessage) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": message.notification_id, "title": message.title, "body": message.body,
            "key": message.entity_key, "url": message.url,
        }))
        .unwrap()
    }

    #[test]
    fn a_message_is_cut_to_fit_on_character_boundaries() {
        let short = message("hello");
        assert_eq!(short.fit(4096, json), json(&short));
        for body in ["é".repeat(3_000), "\"".repeat(3_000), "😀".repeat(1_500), "x".repeat(10_000)] {
            let fitted = message(&body).fit(4096, json);
            assert!(fitted.len() <= 4096, "{} bytes", fitted.len());
            let value: serde_json::Value = serde_json::from_slice(&fitted).unwrap();
            let cut = value["body"].as_str().unwrap();
            // As long as fits: within one escaped character and the mark of the limit.
            assert!(cut.ends_with('…') && fitted.len() > 4096 - 8, "{} bytes", fitted.len());
            assert_eq!((value["url"].as_str(), value["id"].as_str()), (Some("https://example.com/p/1"), Some("n1")));
        }
        // Past the body, the URL and key go whole before the title is cut; the id always stays.
        let mut long_title = message("");
        long_title.title = "t".repeat(5_000);
        let value: serde_json::Value = serde_json::from_slice(&long_title.fit(4096, json)).unwrap();
        assert!(value["url"].is_null() && value["key"].is_null() && value["id"] == "n1");
        assert!(value["title"].as_str().unwrap().ends_with('…'));
    }
}
