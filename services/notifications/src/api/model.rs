//! The wire forms of what the notifications service talks about: the request and response
//! bodies its spec publishes, and their conversions to and from the domain's types. Names,
//! docs and attributes here are the contract (utoipa names each schema after its type).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::model as domain;

/// The kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DevicePlatform {
    Ios,
    Android,
    Web,
}

impl From<DevicePlatform> for domain::DevicePlatform {
    fn from(platform: DevicePlatform) -> Self {
        match platform {
            DevicePlatform::Ios => Self::Ios,
            DevicePlatform::Android => Self::Android,
            DevicePlatform::Web => Self::Web,
        }
    }
}

/// The push service that reaches the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushProvider {
    /// Apple Push Notification service.
    Apns,
    /// Firebase Cloud Messaging (HTTP v1).
    Fcm,
    /// Web Push (RFC 8030).
    Webpush,
}

impl From<PushProvider> for domain::PushProvider {
    fn from(provider: PushProvider) -> Self {
        match provider {
            PushProvider::Apns => Self::Apns,
            PushProvider::Fcm => Self::Fcm,
            PushProvider::Webpush => Self::Webpush,
        }
    }
}

impl From<domain::PushProvider> for PushProvider {
    fn from(provider: domain::PushProvider) -> Self {
        match provider {
            domain::PushProvider::Apns => Self::Apns,
            domain::PushProvider::Fcm => Self::Fcm,
            domain::PushProvider::Webpush => Self::Webpush,
        }
    }
}

/// Which APNs environment issued the device's token: `production` (App Store and TestFlight
/// builds) or `sandbox` (development builds). Pushes go to that environment's endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApnsEnvironment {
    Production,
    Sandbox,
}

impl From<ApnsEnvironment> for domain::ApnsEnvironment {
    fn from(environment: ApnsEnvironment) -> Self {
        match environment {
            ApnsEnvironment::Production => Self::Production,
            ApnsEnvironment::Sandbox => Self::Sandbox,
        }
    }
}

impl From<domain::ApnsEnvironment> for ApnsEnvironment {
    fn from(environment: domain::ApnsEnvironment) -> Self {
        match environment {
            domain::ApnsEnvironment::Production => Self::Production,
            domain::ApnsEnvironment::Sandbox => Self::Sandbox,
        }
    }
}

/// A Web Push subscription's keys (RFC 8291 §3), as `PushSubscription.toJSON().keys` gives
/// them: unpadded base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebPushKeys {
    /// The user agent's P-256 public key, uncompressed (65 bytes: 87 characters).
    #[schema(min_length = 87, max_length = 87, pattern = r"^[A-Za-z0-9_-]{87}$")]
    pub p256dh: String,
    /// The 16-byte authentication secret (22 characters).
    #[schema(min_length = 22, max_length = 22, pattern = r"^[A-Za-z0-9_-]{22}$")]
    pub auth: String,
}

/// A push device of the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub id: String,
    #[schema(value_type = DevicePlatform)]
    pub platform: String,
    #[schema(value_type = PushProvider)]
    pub provider: String,
    /// The provider's push token for this device (for Web Push, the subscription's endpoint).
    pub token: String,
    /// The APNs environment of the token; APNs devices only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<ApnsEnvironment>,
    pub created_at: DateTime<Utc>,
}

impl From<domain::Device> for Device {
    fn from(device: domain::Device) -> Self {
        let domain::Device { id, platform, provider, token, environment, created_at } = device;
        Self { id, platform, provider, token, environment: environment.map(Into::into), created_at }
    }
}

/// What `POST /v1/devices` registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub platform: DevicePlatform,
    pub provider: PushProvider,
    /// The provider's push token for the device (1 to 4,096 characters): the APNs device token,
    /// the FCM registration token, or the Web Push subscription's `endpoint` URL.
    #[schema(min_length = 1, max_length = 4096, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub token: String,
    /// APNs only (ignored otherwise): the environment that issued the token; `production` when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<ApnsEnvironment>,
    /// Web Push only (ignored otherwise): the subscription's keys, which every push is encrypted
    /// to (RFC 8291). A Web Push device registered without them is kept but receives no pushes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<WebPushKeys>,
}

impl From<NewDevice> for domain::NewDevice {
    fn from(new: NewDevice) -> Self {
        Self {
            platform: new.platform.into(),
            provider: new.provider.into(),
            token: new.token,
            environment: new.environment.map(Into::into),
            web_push_keys: new.keys.map(|keys| domain::WebPushKeys { p256dh: keys.p256dh, auth: keys.auth }),
        }
    }
}

/// What a subscription hears of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionKind {
    /// Every new comment on the entity, replies included.
    NewComments,
    /// Only replies, on the entity.
    Replies,
}

impl From<domain::SubscriptionKind> for SubscriptionKind {
    fn from(kind: domain::SubscriptionKind) -> Self {
        match kind {
            domain::SubscriptionKind::NewComments => Self::NewComments,
            domain::SubscriptionKind::Replies => Self::Replies,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    pub entity_key: String,
    pub kind: SubscriptionKind,
    pub created_at: DateTime<Utc>,
}

impl From<domain::Subscription> for Subscription {
    fn from(subscription: domain::Subscription) -> Self {
        let domain::Subscription { entity_key, kind, created_at } = subscription;
        Self { entity_key, kind: kind.into(), created_at }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A new comment on an entity the user subscribed to.
    NewComment,
    /// A reply to the user's comment.
    Reply,
    /// A message the app sent.
    Broadcast,
}

impl From<domain::NotificationKind> for NotificationKind {
    fn from(kind: domain::NotificationKind) -> Self {
        match kind {
            domain::NotificationKind::NewComment => Self::NewComment,
            domain::NotificationKind::Reply => Self::Reply,
            domain::NotificationKind::Broadcast => Self::Broadcast,
        }
    }
}

/// One notification in a user's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    pub title: String,
    /// The start of the comment; null once its author is erased.
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

impl From<domain::Notification> for Notification {
    fn from(notification: domain::Notification) -> Self {
        let domain::Notification { id, kind, title, body, entity_key, actor_id, action_id, url, read, created_at } =
            notification;
        Self { id, kind: kind.into(), title, body, entity_key, actor_id, action_id, url, read, created_at }
    }
}

/// The events a webhook can receive: the notifications service's own, and the actions events it
/// follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum WebhookEventType {
    #[serde(rename = "notification.created")]
    NotificationCreated,
    #[serde(rename = "action.created")]
    ActionCreated,
    #[serde(rename = "action.deleted")]
    ActionDeleted,
    #[serde(rename = "entity.updated")]
    EntityUpdated,
    #[serde(rename = "comment.flagged")]
    CommentFlagged,
}

impl From<WebhookEventType> for domain::WebhookEventType {
    fn from(event_type: WebhookEventType) -> Self {
        match event_type {
            WebhookEventType::NotificationCreated => Self::NotificationCreated,
            WebhookEventType::ActionCreated => Self::ActionCreated,
            WebhookEventType::ActionDeleted => Self::ActionDeleted,
            WebhookEventType::EntityUpdated => Self::EntityUpdated,
            WebhookEventType::CommentFlagged => Self::CommentFlagged,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    #[schema(value_type = Vec<WebhookEventType>)]
    pub event_types: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<domain::Webhook> for Webhook {
    fn from(webhook: domain::Webhook) -> Self {
        let domain::Webhook { id, url, event_types, created_at } = webhook;
        Self { id, url, event_types, created_at }
    }
}

/// Where a delivery stands: the kit's, which analytics' alert deliveries share.
pub use chorus_kit::webhooks::DeliveryStatus;

/// One event's delivery to one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

impl From<domain::Delivery> for Delivery {
    fn from(delivery: domain::Delivery) -> Self {
        let domain::Delivery {
            id,
            webhook_id,
            event_id,
            event_type,
            status,
            attempts,
            next_attempt_at,
            last_status,
            last_error,
            created_at,
            delivered_at,
        } = delivery;
        Self {
            id,
            webhook_id,
            event_id,
            event_type,
            status,
            attempts,
            next_attempt_at,
            last_status,
            last_error,
            created_at,
            delivered_at,
        }
    }
}

/// Who a broadcast reaches. Banned users never do. (Also part of responses, so the schema stays
/// open: a request's unknown members here are ignored.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Audience {
    /// These users (1 to 1,000); ids not of the app are skipped.
    Users {
        #[schema(min_items = 1, max_items = 1000)]
        user_ids: Vec<String>,
    },
    /// Everyone subscribed to the entity, for any kind.
    Subscribers {
        /// 1 to 2,048 characters.
        #[schema(min_length = 1, max_length = 2048, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
        entity_key: String,
    },
    /// Every user of the app.
    Everyone,
}

impl From<domain::Audience> for Audience {
    fn from(audience: domain::Audience) -> Self {
        match audience {
            domain::Audience::Users { user_ids } => Self::Users { user_ids },
            domain::Audience::Subscribers { entity_key } => Self::Subscribers { entity_key },
            domain::Audience::Everyone => Self::Everyone,
        }
    }
}

impl From<Audience> for domain::Audience {
    fn from(audience: Audience) -> Self {
        match audience {
            Audience::Users { user_ids } => Self::Users { user_ids },
            Audience::Subscribers { entity_key } => Self::Subscribers { entity_key },
            Audience::Everyone => Self::Everyone,
        }
    }
}

/// What `POST /v1/broadcasts` sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBroadcast {
    /// 1 to 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub title: String,
    /// At most 2,000 characters.
    #[schema(max_length = 2000, pattern = r"^[^\u0000]*$")]
    pub body: Option<String>,
    /// An http or https URL with a host name (at most 2,048 characters) the notification opens.
    #[schema(
        max_length = 2048,
        pattern = r"^https?://(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?([/?#][^\s\u0000]*)?$"
    )]
    pub url: Option<String>,
    /// An entity the notification is about (1 to 2,048 characters).
    #[schema(min_length = 1, max_length = 2048, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub entity_key: Option<String>,
    pub audience: Audience,
    /// The app it is sent for: required with a service token (scope `broadcasts:send`, such as
    /// analytics' alerts), and with an app token absent or the app's own (else 403).
    #[schema(min_length = 1, max_length = 64)]
    pub app_id: Option<String>,
}

impl From<NewBroadcast> for domain::NewBroadcast {
    fn from(new: NewBroadcast) -> Self {
        let NewBroadcast { title, body, url, entity_key, audience, app_id: _ } = new;
        Self { title, body, url, entity_key, audience: audience.into() }
    }
}

/// A sent broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

impl From<domain::Broadcast> for Broadcast {
    fn from(broadcast: domain::Broadcast) -> Self {
        let domain::Broadcast { id, title, body, url, entity_key, audience, recipients, created_at } = broadcast;
        Self { id, title, body, url, entity_key, audience: audience.into(), recipients, created_at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_refused() {
        assert!(serde_json::from_str::<DevicePlatform>("\"palm\"").is_err());
        assert!(serde_json::from_str::<WebhookEventType>("\"user.created\"").is_err());
    }

    #[test]
    fn wire_enums_name_what_the_domain_stores() {
        // The store writes the domain's `as_str`; responses must show the same names.
        let as_json = |value: serde_json::Value| value.as_str().unwrap_or_default().to_owned();
        for kind in [domain::SubscriptionKind::NewComments, domain::SubscriptionKind::Replies] {
            assert_eq!(as_json(serde_json::json!(SubscriptionKind::from(kind))), kind.as_str());
        }
        for kind in
            [domain::NotificationKind::NewComment, domain::NotificationKind::Reply, domain::NotificationKind::Broadcast]
        {
            assert_eq!(as_json(serde_json::json!(NotificationKind::from(kind))), kind.as_str());
        }
        for platform in [DevicePlatform::Ios, DevicePlatform::Android, DevicePlatform::Web] {
            assert_eq!(as_json(serde_json::json!(platform)), domain::DevicePlatform::from(platform).as_str());
        }
        for provider in [PushProvider::Apns, PushProvider::Fcm, PushProvider::Webpush] {
            assert_eq!(as_json(serde_json::json!(provider)), domain::PushProvider::from(provider).as_str());
        }
        let event_types = [
            WebhookEventType::NotificationCreated,
            WebhookEventType::ActionCreated,
            WebhookEventType::ActionDeleted,
            WebhookEventType::EntityUpdated,
            WebhookEventType::CommentFlagged,
        ];
        for event_type in event_types {
            assert_eq!(as_json(serde_json::json!(event_type)), domain::WebhookEventType::from(event_type).as_str());
        }
    }
}
