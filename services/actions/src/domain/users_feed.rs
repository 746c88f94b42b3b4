//! What the users feed means to actions: bans stop users from acting, blocks hide content from
//! the blocker, and erasure removes a user's actions and fixes the counts.

use chorus_kit::db::DbConnection;
use chorus_kit::events::{Event, append};
use chorus_kit::follower::ApplyError;

use super::ActionsError;
use super::model::{Action, ActionKind};
use super::ops::{ACTION_DELETED, ActionEvent};
use crate::store;
use crate::store::entities::CountDelta;

/// Applies one users event inside the follower's transaction.
pub fn apply(conn: &mut DbConnection, event: &Event) -> Result<(), ApplyError> {
    let field = |name: &str| event.data.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let outcome = match event.event_type.as_str() {
        "user.banned" => store::mirror::ban(conn, &event.app_id, &event.subject),
        "user.unbanned" => store::mirror::unban(conn, &event.subject),
        "user.blocked" => store::mirror::block(conn, &event.app_id, &field("user_id"), &field("blocked_user_id")),
        "user.unblocked" => store::mirror::unblock(conn, &field("user_id"), &field("blocked_user_id")),
        "user.deleted" => erase_user(conn, &event.app_id, &event.subject),
        // Profile changes and new users need nothing here.
        _ => Ok(()),
    };
    outcome.map_err(|error| match error {
        ActionsError::Db(db) => ApplyError::Db(db),
        other => ApplyError::Rejected(other.to_string()),
    })
}

/// Removes everything the user did: likes and shares go, comments become tombstones (their
/// replies keep their thread), view tallies and flags go; counts follow.
pub fn erase_user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), ActionsError> {
    for action in store::actions::of_user(conn, user_id)? {
        let delta = match action.kind {
            ActionKind::Like => CountDelta { likes: -1, ..Default::default() },
            ActionKind::Share => CountDelta { shares: -1, ..Default::default() },
            ActionKind::Comment if action.deleted => continue,
            ActionKind::Comment => CountDelta { comments: -1, ..Default::default() },
        };
        match action.kind {
            ActionKind::Comment => store::actions::tombstone(conn, &action.id)?,
            _ => store::actions::delete(conn, &action.id)?,
        }
        let counts = store::entities::bump(conn, &action.entity_id, delta)?;
        let entity = store::entities::reference(conn, &action.entity_id)?;
        let gone = Action { text: None, deleted: true, ..action };
        append(conn, app_id, ACTION_DELETED, &gone.entity_id, &ActionEvent { action: &gone, entity: &entity, counts })?;
    }
    for (entity_id, views) in store::mirror::take_views_of(conn, user_id)? {
        store::entities::bump(conn, &entity_id, CountDelta { views: -views, ..Default::default() })?;
    }
    store::flags::delete_by_user(conn, user_id)?;
    store::mirror::forget_user(conn, user_id)
}
