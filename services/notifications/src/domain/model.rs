//! What the notifications service talks about, as the domain sees it. The wire forms of these
//! types, and their conversions, are in `api::model`.

use chrono::{DateTime, Utc};

use super::NotificationsError;
use chorus_kit::validation::{self, Invalid};

pub const MAX_KEY: usize = 2_048;
const MAX_TOKEN: usize = 4_096;
/// Notification bodies quote at most this much of a comment.
pub const BODY_CHARS: usize = 200;

/// The kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePlatform {
    Ios,
    Android,
    Web,
}

impl DevicePlatform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ios => "ios",
            Self::Android => "android",
            Self::Web => "web",
        }
    }
}

/// The push service that reaches a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushProvider {
    /// Apple Push Notification service.
    Apns,
    /// Firebase Cloud Messaging (HTTP v1).
    Fcm,
    /// Web Push (RFC 8030).
    Webpush,
}

impl PushProvider {
    pub const ALL: [Self; 3] = [Self::Apns, Self::Fcm, Self::Webpush];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apns => "apns",
            Self::Fcm => "fcm",
            Self::Webpush => "webpush",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|provider| provider.as_str() == value)
    }
}

/// Which APNs environment issued a device's token. A token works only with its own environment's
/// endpoint; mixing them up makes APNs answer `BadDeviceToken` for every token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApnsEnvironment {
    #[default]
    Production,
    /// Development builds of the app.
    Sandbox,
}

impl ApnsEnvironment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Sandbox => "sandbox",
        }
    }

    pub fn parse(value: &str) -> Self {
        if value == "sandbox" { Self::Sandbox } else { Self::Production }
    }
}

/// A Web Push subscription's keys (RFC 8291 §3), base64url as the browser's
/// `PushSubscription.toJSON()` gives them: `p256dh` is the user agent's P-256 public key (65
/// bytes, uncompressed), `auth` its 16-byte authentication secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebPushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// A user's push device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    /// A [`DevicePlatform`], as stored.
    pub platform: String,
    /// A [`PushProvider`], as stored.
    pub provider: String,
    /// The provider's push token for this device (for Web Push, the subscription's endpoint).
    pub token: String,
    /// APNs devices only.
    pub environment: Option<ApnsEnvironment>,
    pub created_at: DateTime<Utc>,
}

/// A device to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub platform: DevicePlatform,
    pub provider: PushProvider,
    /// The provider's push token for the device (for Web Push, the subscription's endpoint).
    pub token: String,
    /// APNs only; production unless said otherwise.
    pub environment: Option<ApnsEnvironment>,
    /// Web Push only: without them nothing can be encrypted to the device, so nothing is pushed.
    pub web_push_keys: Option<WebPushKeys>,
}

impl NewDevice {
    pub fn validate(&self) -> Result<(), NotificationsError> {
        validation::text("token", &self.token, MAX_TOKEN)?;
        if let Some(keys) = &self.web_push_keys {
            base64url("keys.p256dh", &keys.p256dh, 87)?;
            base64url("keys.auth", &keys.auth, 22)?;
        }
        Ok(())
    }
}

/// Checks that `value` is unpadded base64url of exactly `chars` characters.
fn base64url(field: &'static str, value: &str, chars: usize) -> Result<(), Invalid> {
    let alphabet = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if value.chars().count() != chars || !value.chars().all(alphabet) {
        return Err(Invalid::new(field, format!("must be {chars} characters of unpadded base64url")));
    }
    Ok(())
}

/// What a subscription hears of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// Every new comment on the entity, replies included.
    NewComments,
    /// Only replies, on the entity.
    Replies,
}

impl SubscriptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewComments => "new_comments",
            Self::Replies => "replies",
        }
    }

    pub fn parse(value: &str) -> Result<Self, NotificationsError> {
        match value {
            "new_comments" => Ok(Self::NewComments),
            "replies" => Ok(Self::Replies),
            _ => Err(Invalid::new("kind", "must be new_comments or replies").into()),
        }
    }
}

/// A user's subscription to an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub entity_key: String,
    pub kind: SubscriptionKind,
    pub created_at: DateTime<Utc>,
}

/// Checks an entity key a user subscribes to.
pub fn validate_key(key: &str) -> Result<(), NotificationsError> {
    if key.is_empty() {
        return Err(Invalid::new("key", "must not be empty").into());
    }
    Ok(validation::max_chars("key", key, MAX_KEY)?)
}

/// Why a notification was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// A new comment on an entity the user subscribed to.
    NewComment,
    /// A reply to the user's comment.
    Reply,
    /// A message the app sent.
    Broadcast,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewComment => "new_comment",
            Self::Reply => "reply",
            Self::Broadcast => "broadcast",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "reply" => Self::Reply,
            "broadcast" => Self::Broadcast,
            _ => Self::NewComment,
        }
    }
}

/// One notification in a user's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    pub title: String,
    /// The start of the comment; none once its author is erased or it is deleted.
    pub body: Option<String>,
    pub entity_key: Option<String>,
    /// Who caused it.
    pub actor_id: Option<String>,
    /// The comment it is about.
    pub action_id: Option<String>,
    /// Where a broadcast points.
    pub url: Option<String>,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

/// The start of `text`, for a notification body.
pub fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let start: String = chars.by_ref().take(BODY_CHARS).collect();
    if chars.next().is_some() { format!("{start}…") } else { start }
}

/// The events a webhook can receive: the notifications service's own, and the actions events it
/// follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WebhookEventType {
    NotificationCreated,
    ActionCreated,
    ActionDeleted,
    EntityUpdated,
    CommentFlagged,
}

impl WebhookEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotificationCreated => "notification.created",
            Self::ActionCreated => "action.created",
            Self::ActionDeleted => "action.deleted",
            Self::EntityUpdated => "entity.updated",
            Self::CommentFlagged => "comment.flagged",
        }
    }
}

/// An app's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// The [`WebhookEventType`]s it receives, by name, sorted and without repeats.
    pub event_types: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Where a delivery stands (the kit's, shared by every service that delivers webhooks).
pub use chorus_kit::webhooks::DeliveryStatus;

/// One event's delivery to one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What a push says, before a provider shapes it: the notification as the inbox holds it when
/// the push is sent (title, body, what it is about), and its id, which clients dedupe on since
/// a push is sent at least once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub notification_id: String,
    pub title: String,
    pub body: Option<String>,
    pub entity_key: Option<String>,
    pub url: Option<String>,
}

/// One notification's push to one device, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDelivery {
    pub id: String,
    pub device_id: String,
    pub provider: PushProvider,
    pub notification_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The provider's HTTP status at the last attempt, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Who a broadcast reaches. Banned users never do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// These users; ids not of the app are skipped.
    Users { user_ids: Vec<String> },
    /// Everyone subscribed to the entity, for any kind.
    Subscribers { entity_key: String },
    /// Every user of the app.
    Everyone,
}

/// A broadcast to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBroadcast {
    pub title: String,
    pub body: Option<String>,
    /// Where the notification points.
    pub url: Option<String>,
    /// An entity the notification is about.
    pub entity_key: Option<String>,
    pub audience: Audience,
}

/// A sent broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    pub id: String,
    pub title: String,
    pub body: Option<String>,
    pub url: Option<String>,
    pub entity_key: Option<String>,
    pub audience: Audience,
    /// How many inboxes it has reached so far: an audience of more than 500 is written in pages
    /// of 500 after the answer, and this count grows with them.
    pub recipients: i64,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_kinds_are_checked() {
        let device = NewDevice {
            platform: DevicePlatform::Ios,
            provider: PushProvider::Apns,
            token: "t".into(),
            environment: None,
            web_push_keys: None,
        };
        assert!(device.validate().is_ok());
        let blank = NewDevice { token: " ".into(), ..device.clone() };
        assert!(matches!(blank.validate(), Err(NotificationsError::Invalid { field: "token", .. })));
        assert!(matches!(SubscriptionKind::parse("all"), Err(NotificationsError::Invalid { field: "kind", .. })));
        assert_eq!(excerpt(&"é".repeat(BODY_CHARS + 1)).chars().count(), BODY_CHARS + 1);
        assert_eq!(excerpt("short"), "short");
    }
}
