//! What the actions service talks about, as the domain sees it. The wire shapes of these, with
//! their serde and schema attributes, are `api`'s.

use chrono::{DateTime, Utc};

use super::{ActionsError, check_max, check_text, invalid};

pub const MAX_KEY: usize = 2_048;
pub const MAX_NAME: usize = 500;
pub const MAX_TYPE: usize = 100;
pub const MAX_META_BYTES: usize = 16_384;
pub const MAX_COMMENT: usize = 10_000;
pub const MAX_SHARE_TEXT: usize = 2_000;
pub const MAX_FLAG_REASON: usize = 500;

/// An entity's activity counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub views: i64,
    /// likes + comments + shares + views.
    pub total: i64,
}

/// The caller's own activity on an entity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MySummary {
    pub liked: bool,
    pub comments: i64,
    pub shares: i64,
}

/// Any piece of content of the host app, named by its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub id: String,
    /// The app's key for it, such as a URL.
    pub key: String,
    pub name: Option<String>,
    pub entity_type: Option<String>,
    pub meta: serde_json::Value,
    pub counts: Counts,
    /// The caller's own activity; present for user callers.
    pub me: Option<MySummary>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an upsert sets on an entity.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityInput {
    /// 1 to [`MAX_NAME`] characters, not blank.
    pub name: String,
    /// Such as `article` (1 to [`MAX_TYPE`] characters, not blank).
    pub entity_type: Option<String>,
    /// A JSON object of at most [`MAX_META_BYTES`] bytes; `None` keeps the stored meta.
    pub meta: Option<serde_json::Value>,
}

impl EntityInput {
    /// Checks every field against its limit.
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

/// Checks an entity key: 1 to [`MAX_KEY`] characters.
pub fn validate_key(key: &str) -> Result<(), ActionsError> {
    if key.is_empty() {
        return Err(invalid("key", "must not be empty"));
    }
    check_max("key", key, MAX_KEY)
}

/// What a user did to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub id: String,
    pub kind: ActionKind,
    pub entity_id: String,
    pub entity_key: String,
    pub user_id: String,
    /// A comment's text, or a share's; `None` once a comment is deleted.
    pub text: Option<String>,
    /// A share's medium, as [`ShareMedium::as_str`] stored it.
    pub medium: Option<String>,
    /// The comment this one replies to.
    pub parent_id: Option<String>,
    /// A deleted comment stays as a tombstone, so its thread keeps its shape.
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
}

/// The entity an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRef {
    pub id: String,
    pub key: String,
}

impl From<&Entity> for EntityRef {
    fn from(entity: &Entity) -> Self {
        Self { id: entity.id.clone(), key: entity.key.clone() }
    }
}

/// Where a flag is in the moderation queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    }
}
