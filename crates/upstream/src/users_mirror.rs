//! What the users feed means to every consuming service alike: bans, blocks and erasures land
//! in the kit's mirror ([`chorus_kit::mirror`]) in the follower's transaction. A service applies
//! this first, then its own effects (erasing what it holds of a user, say).

use chorus_kit::db::{DbConnection, DbError};
use chorus_kit::mirror;
use users_client::types::Event;

/// Applies one users event to the mirror.
pub fn apply(conn: &mut DbConnection, event: &Event) -> Result<(), DbError> {
    match event {
        Event::Banned(banned) => mirror::ban(conn, &banned.app_id, &banned.data.user_id),
        Event::Unbanned(unbanned) => mirror::unban(conn, &unbanned.data.user_id),
        Event::Blocked(blocked) => {
            mirror::block(conn, &blocked.app_id, &blocked.data.user_id, &blocked.data.blocked_user_id)
        }
        Event::Unblocked(unblocked) => mirror::unblock(conn, &unblocked.data.user_id, &unblocked.data.blocked_user_id),
        Event::Deleted(deleted) => mirror::erase(conn, &deleted.app_id, &deleted.data.user_id),
        Event::Created(_) | Event::Updated(_) | Event::SettingsChanged(_) => Ok(()),
    }
}
