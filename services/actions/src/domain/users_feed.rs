//! What the users feed means to actions: bans stop users from acting, blocks hide content from
//! the blocker, and erasure removes a user's actions and fixes the counts.

use std::collections::BTreeMap;

use chorus_kit::db::DbConnection;
use chorus_kit::events::{publish, redact};
use chorus_kit::follower::ApplyError;
use users_client::types::Event as UsersEvent;

use super::ActionsError;
use super::events::{ActionsEvent, ForgetWordsOf};
use super::model::{Action, ActionKind};
use crate::store;
use crate::store::entities::CountDelta;

/// Applies one users event inside the follower's transaction: the kit's mirror first (bans,
/// blocks, erasures), then what an erasure means here.
pub fn apply(conn: &mut DbConnection, event: &UsersEvent) -> Result<(), ApplyError> {
    chorus_upstream::users_mirror::apply(conn, event)?;
    let UsersEvent::Deleted(deleted) = event else { return Ok(()) };
    erase_user(conn, &deleted.app_id, &deleted.data.user_id).map_err(|error| match error {
        ActionsError::Db(db) => ApplyError::Db(db),
        other => ApplyError::Rejected(other.to_string()),
    })
}

/// Removes everything the user did: likes and shares go, comments become tombstones (their
/// replies keep their thread), view tallies and flags go; counts follow. Rows first, then every
/// entity's counts in id order, then the events: the lock order every writer keeps, so concurrent
/// writers on PostgreSQL never deadlock.
pub fn erase_user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), ActionsError> {
    let mut deltas: BTreeMap<String, CountDelta> = BTreeMap::new();
    let mut removed = Vec::new();
    for action in store::actions::of_user(conn, app_id, user_id)? {
        let delta = match action.kind {
            ActionKind::Like => CountDelta { likes: -1, ..Default::default() },
            ActionKind::Share => CountDelta { shares: -1, ..Default::default() },
            ActionKind::Comment if action.deleted => continue,
            ActionKind::Comment => CountDelta { comments: -1, ..Default::default() },
        };
        match action.kind {
            // Withdrawn meanwhile by a last request of theirs: already counted down.
            ActionKind::Comment if !store::actions::tombstone(conn, &action.id)? => continue,
            ActionKind::Comment => {}
            _ if !store::actions::delete(conn, &action.id)? => continue,
            _ => {}
        }
        *deltas.entry(action.entity_id.clone()).or_default() += delta;
        removed.push(Action { text: None, deleted: true, ..action });
    }
    for (entity_id, views) in store::views::take_views_of(conn, user_id)? {
        *deltas.entry(entity_id).or_default() += CountDelta { views: -views, ..Default::default() };
    }
    let mut after = BTreeMap::new();
    for (entity_id, delta) in &deltas {
        let counts = store::entities::bump(conn, entity_id, *delta)?;
        after.insert(entity_id.clone(), (store::entities::reference(conn, entity_id)?, counts));
    }
    store::tallies::forget_user(conn, user_id)?;
    for action in &removed {
        let (entity, counts) = &after[&action.entity_id];
        publish(conn, app_id, &ActionsEvent::ActionDeleted { action, entity, counts: *counts })?;
    }
    store::flags::delete_by_user(conn, user_id)?;
    // What they wrote must not outlive them: in the event log, or in a stored response a replayed
    // Idempotency-Key would return.
    redact(conn, &ForgetWordsOf { user_id })?;
    chorus_kit::idempotency::forget_caller(conn, &format!("user:{user_id}"))?;
    Ok(())
}
