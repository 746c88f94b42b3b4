//! The wire shapes the actions service's resources and events share, as the spec publishes them.
//! Each mirrors a type of `domain::model`; the conversions here are the only place the two meet.
//! Their Rust names are the spec's schema names, so renaming one changes the contract.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::model as domain;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Like,
    Comment,
    Share,
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

impl From<domain::Counts> for Counts {
    fn from(counts: domain::Counts) -> Self {
        let domain::Counts { likes, comments, shares, views, total } = counts;
        Self { likes, comments, shares, views, total }
    }
}

impl From<domain::MySummary> for MySummary {
    fn from(summary: domain::MySummary) -> Self {
        let domain::MySummary { liked, comments, shares } = summary;
        Self { liked, comments, shares }
    }
}

impl From<domain::Entity> for Entity {
    fn from(entity: domain::Entity) -> Self {
        let domain::Entity { id, key, name, entity_type, meta, counts, me, created_at, updated_at } = entity;
        Self {
            id,
            key,
            name,
            entity_type,
            meta,
            counts: counts.into(),
            me: me.map(MySummary::from),
            created_at,
            updated_at,
        }
    }
}

impl From<domain::ActionKind> for ActionKind {
    fn from(kind: domain::ActionKind) -> Self {
        match kind {
            domain::ActionKind::Like => Self::Like,
            domain::ActionKind::Comment => Self::Comment,
            domain::ActionKind::Share => Self::Share,
        }
    }
}

impl From<ActionKind> for domain::ActionKind {
    fn from(kind: ActionKind) -> Self {
        match kind {
            ActionKind::Like => Self::Like,
            ActionKind::Comment => Self::Comment,
            ActionKind::Share => Self::Share,
        }
    }
}

impl From<ShareMedium> for domain::ShareMedium {
    fn from(medium: ShareMedium) -> Self {
        match medium {
            ShareMedium::Facebook => Self::Facebook,
            ShareMedium::Twitter => Self::Twitter,
            ShareMedium::Email => Self::Email,
            ShareMedium::Sms => Self::Sms,
            ShareMedium::Other => Self::Other,
        }
    }
}

impl From<domain::Action> for Action {
    fn from(action: domain::Action) -> Self {
        let domain::Action { id, kind, entity_id, entity_key, user_id, text, medium, parent_id, deleted, created_at } =
            action;
        Self { id, kind: kind.into(), entity_id, entity_key, user_id, text, medium, parent_id, deleted, created_at }
    }
}

impl From<domain::EntityRef> for EntityRef {
    fn from(entity: domain::EntityRef) -> Self {
        let domain::EntityRef { id, key } = entity;
        Self { id, key }
    }
}

impl From<domain::FlagStatus> for FlagStatus {
    fn from(status: domain::FlagStatus) -> Self {
        match status {
            domain::FlagStatus::Open => Self::Open,
            domain::FlagStatus::Dismissed => Self::Dismissed,
            domain::FlagStatus::Removed => Self::Removed,
        }
    }
}

impl From<FlagStatus> for domain::FlagStatus {
    fn from(status: FlagStatus) -> Self {
        match status {
            FlagStatus::Open => Self::Open,
            FlagStatus::Dismissed => Self::Dismissed,
            FlagStatus::Removed => Self::Removed,
        }
    }
}

impl From<domain::Flag> for Flag {
    fn from(flag: domain::Flag) -> Self {
        let domain::Flag { id, comment_id, entity_id, user_id, reason, status, created_at, resolved_at } = flag;
        Self { id, comment_id, entity_id, user_id, reason, status: status.into(), created_at, resolved_at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_travel_as_the_domain_names_them() {
        let sms: ShareMedium = serde_json::from_str("\"sms\"").unwrap();
        assert_eq!(domain::ShareMedium::from(sms).as_str(), "sms");
        assert!(serde_json::from_str::<ShareMedium>("\"fax\"").is_err());
        for kind in [domain::ActionKind::Like, domain::ActionKind::Comment, domain::ActionKind::Share] {
            assert_eq!(serde_json::to_value(ActionKind::from(kind)).unwrap(), kind.as_str());
        }
        for status in [domain::FlagStatus::Open, domain::FlagStatus::Dismissed, domain::FlagStatus::Removed] {
            assert_eq!(serde_json::to_value(FlagStatus::from(status)).unwrap(), status.as_str());
        }
    }
}
