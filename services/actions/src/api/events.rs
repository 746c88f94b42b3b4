//! The actions feed on the wire: each event's `data` shape, published in the spec through
//! [`catalog`] (consumers parse them with actions-client's generated types), how the domain's
//! events take those shapes, and how erasure edits them.

use chorus_kit::event_types::EventCatalog;
use chorus_kit::events::{Publish, Redaction};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Action, Counts, Entity, EntityRef, Flag};
use crate::domain::events::{
    ACTION_CREATED, ACTION_DELETED, ActionsEvent, COMMENT_FLAGGED, ENTITY_UPDATED, ENTITY_VIEWED, ForgetWordsOf,
};

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
pub struct ActionEvent {
    pub action: Action,
    pub entity: EntityRef,
    pub counts: Counts,
}

/// The data of `entity.updated`: the entity as it now is.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityChanged {
    pub entity: Entity,
}

/// The data of `entity.viewed`: how many views one group added, and the counts after them.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityViewedData {
    pub entity: EntityRef,
    /// Views this group added; at least 1.
    #[schema(minimum = 1)]
    pub views: i64,
    pub counts: Counts,
}

/// The data of `comment.flagged`: the new flag and the comment it is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentFlaggedData {
    pub flag: Flag,
    pub comment: Action,
}

impl Publish for ActionsEvent<'_> {
    fn event_type(&self) -> &'static str {
        self.name()
    }

    fn subject(&self) -> &str {
        self.entity_id()
    }

    fn data(&self) -> serde_json::Value {
        match *self {
            Self::ActionCreated { action, entity, counts } | Self::ActionDeleted { action, entity, counts } => {
                to_data(&ActionEvent {
                    action: action.clone().into(),
                    entity: entity.clone().into(),
                    counts: counts.into(),
                })
            }
            Self::EntityUpdated { entity } => to_data(&EntityChanged { entity: entity.clone().into() }),
            Self::EntityViewed { entity, views, counts } => {
                to_data(&EntityViewedData { entity: entity.clone().into(), views, counts: counts.into() })
            }
            Self::CommentFlagged { flag, comment } => {
                to_data(&CommentFlaggedData { flag: flag.clone().into(), comment: comment.clone().into() })
            }
        }
    }
}

/// These shapes hold strings, numbers, timestamps and JSON objects only, so serializing them
/// cannot fail; the fallback is the kit's own for unserializable data.
fn to_data(data: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(data).unwrap_or_else(|_| serde_json::json!({}))
}

impl Redaction for ForgetWordsOf<'_> {
    fn needle(&self) -> &str {
        self.user_id
    }

    /// Nulls what the user wrote that an event quotes: the text of the action or flagged comment
    /// they wrote, and the reason of a flag they raised.
    fn redact(&self, event_type: &str, data: &mut serde_json::Value) -> bool {
        let quoted: &[(&str, &str)] = match event_type {
            ACTION_CREATED | ACTION_DELETED => &[("action", "text")],
            COMMENT_FLAGGED => &[("comment", "text"), ("flag", "reason")],
            _ => return false,
        };
        let mut changed = false;
        for (object, field) in quoted {
            let Some(object) = data.get_mut(*object) else { continue };
            let by_them = object.get("user_id").and_then(|author| author.as_str()) == Some(self.user_id);
            if let Some(words) = object.get_mut(*field).filter(|words| by_them && !words.is_null()) {
                *words = serde_json::Value::Null;
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn erasure_nulls_only_the_users_own_words() {
        let forget = ForgetWordsOf { user_id: "u1" };
        let mut theirs = json!({ "action": { "user_id": "u1", "text": "hi" }, "counts": {} });
        assert!(forget.redact(ACTION_CREATED, &mut theirs));
        assert_eq!(theirs["action"]["text"], serde_json::Value::Null);
        assert!(!forget.redact(ACTION_CREATED, &mut theirs), "already redacted");

        let mut flagged = json!({ "flag": { "user_id": "u2" }, "comment": { "user_id": "u1", "text": "hi" } });
        assert!(forget.redact(COMMENT_FLAGGED, &mut flagged));
        assert_eq!(flagged["comment"]["text"], serde_json::Value::Null);
        let mut their_flag =
            json!({ "flag": { "user_id": "u1", "reason": "spam" }, "comment": { "user_id": "u2", "text": "buy" } });
        assert!(forget.redact(COMMENT_FLAGGED, &mut their_flag));
        assert_eq!(their_flag["flag"]["reason"], serde_json::Value::Null);
        assert_eq!(their_flag["comment"]["text"], "buy");

        let mut someone_elses = json!({ "action": { "user_id": "u2", "text": "u1 is nice" } });
        assert!(!forget.redact(ACTION_DELETED, &mut someone_elses));
        assert_eq!(someone_elses["action"]["text"], "u1 is nice");
        assert!(!forget.redact(ENTITY_UPDATED, &mut json!({ "entity": { "meta": { "user_id": "u1" } } })));
    }
}
