//! What the users feed means to notifications: blocks and bans silence people, and erasure
//! removes a user's devices, subscriptions and inbox, and their words from others' inboxes.

use chorus_kit::db::DbConnection;
use chorus_kit::events::Event;
use chorus_kit::follower::ApplyError;

use super::NotificationsError;
use crate::store;

pub fn apply(conn: &mut DbConnection, event: &Event) -> Result<(), ApplyError> {
    let field = |name: &str| event.data.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let outcome = match event.event_type.as_str() {
        "user.banned" => store::mirror::ban(conn, &event.subject),
        "user.unbanned" => store::mirror::unban(conn, &event.subject),
        "user.blocked" => store::mirror::block(conn, &field("user_id"), &field("blocked_user_id")),
        "user.unblocked" => store::mirror::unblock(conn, &field("user_id"), &field("blocked_user_id")),
        "user.created" => store::broadcasts::remember_user(conn, &event.app_id, &event.subject),
        "user.deleted" => erase_user(conn, &event.subject),
        _ => Ok(()),
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
    let erased = serde_json::json!({ "notification": { "erased": true } });
    chorus_kit::events::redact_subject(conn, user_id, super::fanout::NOTIFICATION_CREATED, &erased)?;
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
