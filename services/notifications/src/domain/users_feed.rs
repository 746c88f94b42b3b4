//! What the users feed means to notifications: blocks and bans silence people, a user who turns
//! notifications off gets nothing pushed, and erasure removes a user's devices, pushes,
//! subscriptions and inbox, and their words from others' inboxes.

use chorus_kit::db::DbConnection;
use chorus_kit::follower::ApplyError;
use users_client::types::Event as UsersEvent;

use super::NotificationsError;
use super::events::Forget;
use crate::store;

/// Applies one users event inside the follower's transaction: the kit's mirror first (bans,
/// blocks, erasures), then what it means here: a new user joins "everyone", an erased one leaves
/// every trace.
pub fn apply(conn: &mut DbConnection, event: &UsersEvent) -> Result<(), ApplyError> {
    chorus_upstream::users_mirror::apply(conn, event)?;
    let outcome = match event {
        UsersEvent::Created(created) => {
            store::broadcasts::remember_user(conn, &created.app_id, &created.data.user.id).map_err(Into::into)
        }
        UsersEvent::Deleted(deleted) => erase_user(conn, &deleted.data.user_id),
        // Whether to push to them: the inbox fills either way.
        UsersEvent::SettingsChanged(changed) => {
            store::push::set_muted(conn, &changed.app_id, &changed.data.user_id, !changed.data.notifications_enabled)
                .map_err(Into::into)
        }
        _ => Ok(()),
    };
    outcome.map_err(|error| match error {
        NotificationsError::Db(db) => ApplyError::Db(db),
        other => ApplyError::Rejected(other.to_string()),
    })
}

pub fn erase_user(conn: &mut DbConnection, user_id: &str) -> Result<(), NotificationsError> {
    // Their pushes first: the devices say which are theirs.
    store::push::forget_user(conn, user_id)?;
    store::devices::remove_all_of(conn, user_id)?;
    store::subscriptions::remove_all_of(conn, user_id)?;
    store::inbox::forget_user(conn, user_id)?;
    store::mirror::forget_user(conn, user_id)?;
    store::broadcasts::forget_user(conn, user_id)?;
    super::pages::forget_user(conn, user_id)?;
    // The feed keeps what was sent to them, and quotes of what they wrote; both go.
    chorus_kit::events::forget_subject(conn, user_id, super::events::NOTIFICATION_CREATED)?;
    // The feed copies of notifications quote their words too.
    chorus_kit::events::redact(conn, &Forget::WordsOf { user_id })?;
    Ok(())
}
