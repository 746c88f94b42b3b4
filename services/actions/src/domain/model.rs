//! What the actions service talks about.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ActionsError, check_max, check_text, invalid};

pub const MAX_KEY: usize = 2_048;
pub const MAX_NAME: usize = 500;
pub const MAX_TYPE: usize = 100;
pub const MAX_META_BYTES: usize = 16_384;
pub const MAX_COMMENT: usize = 10_000;
pub const MAX_SHARE_TEXT: usize = 2_000;
pub const MAX_FLAG_REASON: usize = 500;

/// An entity's activity counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub views: i64,
    /// likes + comments + shares + views.
    pub total: i64,
}

/// The caller's own activity on an entity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MySummary {
    pub liked: bool,
    pub comments: i64,
    pub shares: i64,
}

/// Any piece of content of the host app, named by its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Entity {
    pub id: String,
    /// The app's key for it, such as a URL.
    pub key: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub entity_type: Option<String>,
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
    pub counts: Counts,
    /// The caller's own activity; present for user callers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub me: Option<MySummary>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What `PUT /v1/entities/{key}` sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityInput {
    /// 1 to 500 characters, not blank.
    #[schema(min_length = 1, max_length = 500, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub name: String,
    /// Such as `article` (1 to 100 characters, not blank).
    #[serde(default, rename = "type")]
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub entity_type: Option<String>,
    /// A JSON object of at most 16 KiB.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
}

impl EntityInput {
    pub fn validate(&self) -> Result<(), ActionsError> {
        check_text("name", &self.name, MAX_NAME)?;
        if let Some(entity_type) = &self.entity_type {
            check_text("type", entity_type, MAX_TYPE)?;
        }
        if let Some(meta) = &self.meta {
            chorus_kit::validation::json_object("meta", meta, MAX_META_BYTES)?;
        }
        Ok(())
    }
}

pub fn validate_key(key: &str) -> Result<(), ActionsError> {
    if key.is_empty() {
        return Err(invalid("key", "must not be empty"));
    }
    check_max("key", key, MAX_KEY)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Like,
    Comment,
    Share,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Comment => "comment",
            Self::Share => "share",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "like" => Some(Self::Like),
            "comment" => Some(Self::Comment),
            "share" => Some(Self::Share),
            _ => None,
        }
    }
}

/// Where a share went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareMedium {
    Facebook,
    Twitter,
    Email,
    Sms,
    Other,
}

impl ShareMedium {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Facebook => "facebook",
            Self::Twitter => "twitter",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Other => "other",
        }
    }
}

/// A like, comment or share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Action {
    pub id: String,
    pub kind: ActionKind,
    pub entity_id: String,
    pub entity_key: String,
    pub user_id: String,
    /// A comment's text, or a share's; null once a comment is deleted.
    pub text: Option<String>,
    /// A share's medium.
    #[schema(value_type = Option<ShareMedium>)]
    pub medium: Option<String>,
    /// The comment this one replies to.
    pub parent_id: Option<String>,
    /// A deleted comment stays as a tombstone, so its thread keeps its shape.
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
}

/// The entity an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EntityRef {
    pub id: String,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagStatus {
    Open,
    /// Looked at; the comment stays.
    Dismissed,
    /// The comment was deleted.
    Removed,
}

impl FlagStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Dismissed => "dismissed",
            Self::Removed => "removed",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "dismissed" => Self::Dismissed,
            "removed" => Self::Removed,
            _ => Self::Open,
        }
    }
}

/// A user's report of a comment, in the app's moderation queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Flag {
    pub id: String,
    pub comment_id: String,
    pub entity_id: String,
    /// Who flagged it.
    pub user_id: String,
    pub reason: Option<String>,
    pub status: FlagStatus,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// How the app resolves a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Keep the comment.
    Dismiss,
    /// Delete the comment (it stays as a tombstone).
    RemoveComment,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_inputs_are_bounded() {
        assert!(validate_key(&"k".repeat(MAX_KEY)).is_ok());
        assert!(matches!(validate_key(&"k".repeat(MAX_KEY + 1)), Err(ActionsError::Invalid { field: "key", .. })));
        assert!(validate_key("https://example.com/a?b=c&d=%20é").is_ok());
        let input = EntityInput { name: " ".into(), entity_type: None, meta: None };
        assert!(matches!(input.validate(), Err(ActionsError::Invalid { field: "name", .. })));
        assert_eq!(serde_json::from_str::<ShareMedium>("\"sms\"").unwrap().as_str(), "sms");
        assert!(serde_json::from_str::<ShareMedium>("\"fax\"").is_err());
    }
}
