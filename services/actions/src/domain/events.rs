//! The events the actions service publishes on its feed. Each `data` shape here is published in
//! the spec through [`catalog`], so consumers parse them with actions-client's generated types.
//! Every event about an entity carries the entity's counts after the change, so a consumer (an
//! open action bar, say) never has to ask for them.

use chorus_kit::event_types::EventCatalog;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Action, Counts, Entity, EntityRef, Flag};

pub const ACTION_CREATED: &str = "action.created";
pub const ACTION_DELETED: &str = "action.deleted";
pub const ENTITY_UPDATED: &str = "entity.updated";
pub const ENTITY_VIEWED: &str = "entity.viewed";
pub const COMMENT_FLAGGED: &str = "comment.flagged";

/// Every event type of the actions feed.
pub fn catalog() -> EventCatalog {
    EventCatalog::new()
        .event::<ActionEvent>(ACTION_CREATED, "ActionCreated", "a like, comment or share was made.")
        .event::<ActionEvent>(
            ACTION_DELETED,
            "ActionDeleted",
            "a like or share was withdrawn, or a comment deleted (it stays as a tombstone).",
        )
        .event::<EntityChanged>(ENTITY_UPDATED, "EntityUpdated", "an entity was created or changed by an upsert.")
        .event::<EntityViewedData>(ENTITY_VIEWED, "EntityViewed", "views of an entity were recorded, grouped.")
        .event::<CommentFlaggedData>(COMMENT_FLAGGED, "CommentFlagged", "a user flagged a comment for moderation.")
}

/// The data of `action.created` and `action.deleted`: the action, its entity and the entity's
/// counts after the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionEvent<'a> {
    pub action: &'a Action,
    pub entity: &'a EntityRef,
    pub counts: Counts,
}

/// The data of `entity.updated`: the entity as it now is.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityChanged<'a> {
    pub entity: &'a Entity,
}

/// The data of `entity.viewed`: how many views one group added, and the counts after them.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityViewedData<'a> {
    pub entity: &'a EntityRef,
    /// Views this group added; at least 1.
    #[schema(minimum = 1)]
    pub views: i64,
    pub counts: Counts,
}

/// The data of `comment.flagged`: the new flag and the comment it is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentFlaggedData<'a> {
    pub flag: &'a Flag,
    pub comment: &'a Action,
}
