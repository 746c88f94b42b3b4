//! What users do to their own data, and what apps do to their users: profile changes, blocks,
//! bans, identities, export and erasure. Each change that others must learn of publishes a
//! [`UsersEvent`] in the same transaction.

use chorus_kit::db::DbConnection;
use chorus_kit::events::publish;

use super::apps::App;
use super::events::{self, UsersEvent};
use super::profile::{ProfileUpdate, User};
use super::sessions::{self, OpenedSession};
use super::{UsersError, check_max, check_text, invalid};
use crate::store;

const MAX_PROVIDER: usize = 50;
const MAX_EXTERNAL_ID: usize = 255;
const MAX_BAN_REASON: usize = 500;

/// The user, or [`UsersError::UserNotFound`] (other apps' users are never found).
pub fn user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<User, UsersError> {
    store::users::find(conn, app_id, user_id)?.ok_or(UsersError::UserNotFound)
}

pub fn update_profile(
    conn: &mut DbConnection,
    app_id: &str,
    user_id: &str,
    update: &ProfileUpdate,
) -> Result<User, UsersError> {
    update.validate()?;
    let current = user(conn, app_id, user_id)?;
    // A profile is public content: a banned user can no longer publish one.
    if current.banned {
        return Err(UsersError::Banned);
    }
    if update.is_empty() {
        return Ok(current);
    }
    let user = store::users::update_profile(conn, app_id, user_id, update)?.ok_or(UsersError::UserNotFound)?;
    publish(conn, app_id, &UsersEvent::Updated { user: &user })?;
    if let Some(settings) = update.settings.as_ref().filter(|settings| current.settings.as_ref() != Some(settings)) {
        publish(conn, app_id, &UsersEvent::SettingsChanged { user_id, settings })?;
    }
    Ok(user)
}

pub fn block(conn: &mut DbConnection, app_id: &str, blocker: &str, blocked: &str) -> Result<(), UsersError> {
    if blocker == blocked {
        return Err(UsersError::SelfBlock);
    }
    user(conn, app_id, blocked)?;
    if store::blocks::insert(conn, app_id, blocker, blocked)? {
        publish(conn, app_id, &UsersEvent::Blocked { blocker, blocked })?;
    }
    Ok(())
}

pub fn unblock(conn: &mut DbConnection, app_id: &str, blocker: &str, blocked: &str) -> Result<(), UsersError> {
    if store::blocks::delete(conn, blocker, blocked)? {
        publish(conn, app_id, &UsersEvent::Unblocked { blocker, blocked })?;
    }
    Ok(())
}

/// Bans a user: their refresh tokens stop working at once, their access tokens at expiry, and
/// the other services learn of it from the feed.
pub fn ban(conn: &mut DbConnection, app_id: &str, user_id: &str, reason: Option<&str>) -> Result<User, UsersError> {
    let reason = reason.unwrap_or("");
    check_max("reason", reason, MAX_BAN_REASON)?;
    let was_banned = user(conn, app_id, user_id)?.banned;
    let user = store::users::set_ban(conn, app_id, user_id, Some(reason))?.ok_or(UsersError::UserNotFound)?;
    store::sessions::revoke_user(conn, user_id)?;
    if !was_banned {
        let reason = Some(reason).filter(|r| !r.is_empty());
        publish(conn, app_id, &UsersEvent::Banned { user_id, reason })?;
    }
    Ok(user)
}

pub fn unban(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<User, UsersError> {
    let was_banned = user(conn, app_id, user_id)?.banned;
    let user = store::users::set_ban(conn, app_id, user_id, None)?.ok_or(UsersError::UserNotFound)?;
    if was_banned {
        publish(conn, app_id, &UsersEvent::Unbanned { user_id })?;
    }
    Ok(user)
}

/// A third-party identity linked to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Such as `google`, `apple` or `facebook`.
    pub provider: String,
    pub external_id: String,
    pub linked_at: chrono::DateTime<chrono::Utc>,
}

pub fn identities(conn: &mut DbConnection, user_id: &str) -> Result<Vec<Identity>, UsersError> {
    Ok(store::identities::of_user(conn, user_id)?
        .into_iter()
        .map(|(provider, external_id, linked_at)| Identity { provider, external_id, linked_at: linked_at.and_utc() })
        .collect())
}

/// What linking an identity did.
#[derive(Debug)]
pub enum Linked {
    /// The identity now belongs to the user it was linked for.
    ToCaller(User),
    /// The identity already belonged to another user of the app: that user is handed back, with
    /// a session, and the caller's devices now open that user's sessions.
    HandedBack(OpenedSession),
}

pub fn link_identity(
    conn: &mut DbConnection,
    app: &App,
    user_id: &str,
    provider: &str,
    external_id: &str,
) -> Result<Linked, UsersError> {
    validate_provider(provider)?;
    check_text("external_id", external_id, MAX_EXTERNAL_ID)?;
    let caller = user(conn, &app.id, user_id)?;
    match store::identities::owner(conn, &app.id, provider, external_id)? {
        Some(owner) if owner == user_id => Ok(Linked::ToCaller(caller)),
        Some(owner) => {
            let owner = user(conn, &app.id, &owner)?;
            if owner.banned {
                return Err(UsersError::Banned);
            }
            store::sessions::repoint_devices(conn, user_id, &owner.id)?;
            Ok(Linked::HandedBack(sessions::open_for(conn, app, owner)?))
        }
        None => {
            if store::identities::has_provider(conn, user_id, provider)? {
                return Err(UsersError::ProviderAlreadyLinked(provider.to_owned()));
            }
            store::identities::insert(conn, &app.id, provider, external_id, user_id)?;
            Ok(Linked::ToCaller(caller))
        }
    }
}

pub fn unlink_identity(conn: &mut DbConnection, user_id: &str, provider: &str) -> Result<bool, UsersError> {
    validate_provider(provider)?;
    Ok(store::identities::delete(conn, user_id, provider)?)
}

fn validate_provider(provider: &str) -> Result<(), UsersError> {
    check_text("provider", provider, MAX_PROVIDER)?;
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.');
    if !provider.chars().all(allowed) {
        return Err(invalid("provider", "must use only a-z, 0-9, '_', '-' and '.'"));
    }
    Ok(())
}

/// Everything the users service keeps about one user (GDPR export).
#[derive(Debug, Clone)]
pub struct PersonalData {
    pub user: User,
    pub identities: Vec<Identity>,
    /// Ids of the users this user blocked.
    pub blocked_user_ids: Vec<String>,
    pub devices: Vec<ExportedDevice>,
    pub exported_at: chrono::DateTime<chrono::Utc>,
}

/// A device the user opened sessions from.
#[derive(Debug, Clone)]
pub struct ExportedDevice {
    pub device_id: String,
    pub first_seen_at: chrono::DateTime<chrono::Utc>,
}

pub fn export(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<PersonalData, UsersError> {
    let user = user(conn, app_id, user_id)?;
    let identities = identities(conn, user_id)?;
    let blocked_user_ids =
        store::blocks::blocked_by(conn, user_id, None, i64::MAX)?.into_iter().map(|(id, _)| id).collect();
    let devices = store::sessions::devices_of(conn, user_id)?
        .into_iter()
        .map(|(device_id, created_at)| ExportedDevice { device_id, first_seen_at: created_at.and_utc() })
        .collect();
    Ok(PersonalData { user, identities, blocked_user_ids, devices, exported_at: chrono::Utc::now() })
}

/// Erases the user and everything kept about them here; `user.deleted` tells every other
/// service to do the same.
pub fn erase(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), UsersError> {
    if !store::users::delete(conn, app_id, user_id)? {
        return Err(UsersError::UserNotFound);
    }
    publish(conn, app_id, &UsersEvent::Deleted { user_id })?;
    // Their tokens outlive them; every replica refuses them once this commits (the kit's
    // revocations read this table). Other services learn it from `user.deleted`.
    chorus_kit::mirror::erase(conn, app_id, user_id)?;
    // The profile must not outlive the person in the event log: the events that carried it go.
    // (Readers page by id, so the gaps are never noticed; `user.deleted` stays and says why.)
    for event_type in [events::USER_CREATED, events::USER_UPDATED, events::USER_SETTINGS_CHANGED] {
        chorus_kit::events::forget_subject(conn, user_id, event_type)?;
    }
    Ok(())
}
