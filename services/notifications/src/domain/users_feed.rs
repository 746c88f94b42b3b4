//! What the users feed means to notifications: blocks and bans silence people, and erasure
//! removes a user's devices, subscriptions and inbox, and their words from others' inboxes.

use chorus_kit::db::DbConnection;
use chorus_kit::follower::ApplyError;
use users_client::types::Event as UsersEvent;

use super::NotificationsError;
use crate::store;

/// Applies one users event inside the follower's transaction.
pub fn apply(conn: &mut DbConnection, event: &UsersEvent) -> Result<(), ApplyError> {
    let outcome = match event {
        UsersEvent::Banned(banned) => store::mirror::ban(conn, &banned.data.user_id),
        UsersEvent::Unbanned(unbanned) => store::mirror::unban(conn, &unbanned.data.user_id),
        UsersEvent::Blocked(blocked) => {
            store::mirror::block(conn, &blocked.data.user_id, &blocked.data.blocked_user_id)
        }
        UsersEvent::Unblocked(unblocked) => {
            store::mirror::unblock(conn, &unblocked.data.user_id, &unblocked.data.blocked_user_id)
        }
        UsersEvent::Created(created) => store::broadcasts::remember_user(conn, &created.app_id, &created.data.user.id),
        UsersEvent::Deleted(deleted) => erase_user(conn, &deleted.data.user_id),
        UsersEvent::Updated(_) => Ok(()),
    };
    outcome.map_err(|error| match error {
        NotificationsError::Db(db) => ApplyError::Db(db),
        other => ApplyError::Rejected(other.to_string()),
    })
}

pub fn erase_user(conn: &mut DbConnection, user_id: &str) -> Result<(), NotificationsError> {
    store::devices::remove_all_of(conn, user_id)?;
    store::subscriptions::remove_all_of(conn, user_id)?;
    store::inbox::forget_user(conn, user_id)?;
    store::mirror::forget_user(conn, user_id)?;
    store::broadcasts::forget_user(conn, user_id)?;
    // The feed keeps what was sent to them, and quotes of what they wrote; both go.
    chorus_kit::events::forget_subject(conn, user_id, super::events::NOTIFICATION_CREATED)?;
    // The feed copies of notifications quote their words too.
    chorus_kit::events::rewrite_mentioning(conn, user_id, |_, data| {
        let by_them = data.pointer("/notification/actor_id").and_then(|v| v.as_str()) == Some(user_id);
        match data.pointer_mut("/notification/body").filter(|body| by_them && !body.is_null()) {
            Some(body) => {
                *body = serde_json::Value::Null;
                true
            }
            None => false,
        }
    })?;
    Ok(())
}
