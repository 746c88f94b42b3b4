//! What the notifications service talks about.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::NotificationsError;
use chorus_kit::validation::{self, Invalid};

pub const MAX_KEY: usize = 2_048;
const MAX_TOKEN: usize = 4_096;
/// Notification bodies quote at most this much of a comment.
pub const BODY_CHARS: usize = 200;

pub const PLATFORMS: [&str; 3] = ["ios", "android", "web"];
pub const PROVIDERS: [&str; 3] = ["apns", "fcm", "webpush"];

fn one_of(field: &'static str, value: &str, allowed: &[&str]) -> Result<(), NotificationsError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Invalid::new(field, format!("must be one of {}", allowed.join(", "))).into())
    }
}

/// A push device of the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub id: String,
    /// ios, android or web.
    pub platform: String,
    /// apns, fcm or webpush.
    pub provider: String,
    /// The provider's push token for this device.
    pub token: String,
    pub created_at: DateTime<Utc>,
}

/// What `POST /v1/devices` registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub platform: String,
    pub provider: String,
    pub token: String,
}

impl NewDevice {
    pub fn validate(&self) -> Result<(), NotificationsError> {
        one_of("platform", &self.platform, &PLATFORMS)?;
        one_of("provider", &self.provider, &PROVIDERS)?;
        Ok(validation::text("token", &self.token, MAX_TOKEN)?)
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    pub entity_key: String,
    pub kind: SubscriptionKind,
    pub created_at: DateTime<Utc>,
}

pub fn validate_key(key: &str) -> Result<(), NotificationsError> {
    if key.is_empty() {
        return Err(Invalid::new("key", "must not be empty").into());
    }
    Ok(validation::max_chars("key", key, MAX_KEY)?)
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

/// The start of `text`, for a notification body.
pub fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let start: String = chars.by_ref().take(BODY_CHARS).collect();
    if chars.next().is_some() { format!("{start}…") } else { start }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_kinds_are_checked() {
        let device = NewDevice { platform: "ios".into(), provider: "apns".into(), token: "t".into() };
        assert!(device.validate().is_ok());
        let bad = NewDevice { platform: "palm".into(), ..device.clone() };
        assert!(matches!(bad.validate(), Err(NotificationsError::Invalid { field: "platform", .. })));
        assert!(matches!(SubscriptionKind::parse("all"), Err(NotificationsError::Invalid { field: "kind", .. })));
        assert_eq!(excerpt(&"é".repeat(BODY_CHARS + 1)).chars().count(), BODY_CHARS + 1);
        assert_eq!(excerpt("short"), "short");
    }
}
