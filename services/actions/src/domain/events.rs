//! What the actions service tells its feed, as the domain names it: [`ActionsEvent`] for each
//! change and [`ForgetWordsOf`] for what erasure takes back out. Their wire shapes, and the
//! catalog that publishes them in the spec, are `api`'s. Every event about an entity carries the
//! entity's counts after the change, so a consumer (an open action bar, say) never has to ask
//! for them.

use super::model::{Action, Counts, Entity, EntityRef, Flag};

pub const ACTION_CREATED: &str = "action.created";
pub const ACTION_DELETED: &str = "action.deleted";
pub const ENTITY_UPDATED: &str = "entity.updated";
pub const ENTITY_VIEWED: &str = "entity.viewed";
pub const COMMENT_FLAGGED: &str = "comment.flagged";

/// A change the actions service publishes, published with `chorus_kit::events::publish`.
#[derive(Debug, Clone, Copy)]
pub enum ActionsEvent<'a> {
    /// A like, comment or share was made.
    ActionCreated { action: &'a Action, entity: &'a EntityRef, counts: Counts },
    /// A like or share was withdrawn, or a comment deleted (`action` is then its tombstone).
    ActionDeleted { action: &'a Action, entity: &'a EntityRef, counts: Counts },
    /// An entity was created or changed by an upsert.
    EntityUpdated { entity: &'a Entity },
    /// One group of views of an entity was recorded.
    EntityViewed { entity: &'a EntityRef, views: i64, counts: Counts },
    /// A user flagged a comment for moderation.
    CommentFlagged { flag: &'a Flag, comment: &'a Action },
}

impl ActionsEvent<'_> {
    /// The event type, one of the constants above.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ActionCreated { .. } => ACTION_CREATED,
            Self::ActionDeleted { .. } => ACTION_DELETED,
            Self::EntityUpdated { .. } => ENTITY_UPDATED,
            Self::EntityViewed { .. } => ENTITY_VIEWED,
            Self::CommentFlagged { .. } => COMMENT_FLAGGED,
        }
    }

    /// The entity the event is about: its subject, so an entity's stream can follow it.
    pub fn entity_id(&self) -> &str {
        match self {
            Self::ActionCreated { entity, .. } | Self::ActionDeleted { entity, .. } => &entity.id,
            Self::EntityUpdated { entity } => &entity.id,
            Self::EntityViewed { entity, .. } => &entity.id,
            Self::CommentFlagged { comment, .. } => &comment.entity_id,
        }
    }
}

/// Erasure's redaction: the texts a user wrote (comments, share texts), wherever a retained event
/// quotes them, redacted with `chorus_kit::events::redact`.
#[derive(Debug, Clone, Copy)]
pub struct ForgetWordsOf<'a> {
    pub user_id: &'a str,
}
