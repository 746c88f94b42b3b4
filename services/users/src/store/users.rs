use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::{DbError, written};

use super::DbConnection;
use super::schema::{devices, identities, users};
use crate::domain::profile::{ProfileUpdate, User, UserSettings, cleared};

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    app_id: String,
    display_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    bio: Option<String>,
    location: Option<String>,
    image_url: Option<String>,
    meta: String,
    notifications_enabled: bool,
    banned_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            app_id: row.app_id,
            display_name: row.display_name,
            first_name: row.first_name,
            last_name: row.last_name,
            bio: row.bio,
            location: row.location,
            image_url: row.image_url,
            meta: serde_json::from_str(&row.meta).unwrap_or_else(|_| serde_json::json!({})),
            banned: row.banned_at.is_some(),
            settings: Some(UserSettings { notifications_enabled: row.notifications_enabled }),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

pub fn insert(conn: &mut DbConnection, id: &str, app_id: &str) -> Result<User, DbError> {
    let now = chorus_kit::db::now();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::app_id.eq(app_id),
            users::meta.eq("{}"),
            users::notifications_enabled.eq(true),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    written(find(conn, app_id, id)?)
}

/// The user, if it exists in this app. Other apps' users are never found.
pub fn find(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = users::table
        .filter(users::id.eq(id).and(users::app_id.eq(app_id)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(User::from))
}

/// The user a device belongs to in an app, and whether that user signed in with an identity:
/// one query, what a new session on a known device needs.
pub fn of_device(conn: &mut DbConnection, app_id: &str, device_id: &str) -> Result<Option<(User, bool)>, DbError> {
    let row: Option<(UserRow, bool)> = devices::table
        .inner_join(users::table.on(users::id.eq(devices::user_id)))
        .left_join(identities::table.on(identities::user_id.eq(users::id)))
        .filter(devices::app_id.eq(app_id).and(devices::device_id.eq(device_id)).and(users::app_id.eq(app_id)))
        .select((UserRow::as_select(), identities::user_id.nullable().is_not_null()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(user, signed_in)| (User::from(user), signed_in)))
}

pub fn get(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<User, DbError> {
    written(find(conn, app_id, id)?)
}

pub fn find_many(conn: &mut DbConnection, app_id: &str, ids: &[String]) -> Result<Vec<User>, DbError> {
    let rows: Vec<UserRow> = users::table
        .filter(users::app_id.eq(app_id).and(users::id.eq_any(ids)))
        .select(UserRow::as_select())
        .order(users::id.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(User::from).collect())
}

pub fn update_profile(
    conn: &mut DbConnection,
    app_id: &str,
    id: &str,
    update: &ProfileUpdate,
) -> Result<Option<User>, DbError> {
    let target = users::table.filter(users::id.eq(id).and(users::app_id.eq(app_id)));
    let changes = (
        cleared(&update.display_name).map(|v| users::display_name.eq(v)),
        cleared(&update.first_name).map(|v| users::first_name.eq(v)),
        cleared(&update.last_name).map(|v| users::last_name.eq(v)),
        cleared(&update.bio).map(|v| users::bio.eq(v)),
        cleared(&update.location).map(|v| users::location.eq(v)),
        cleared(&update.image_url).map(|v| users::image_url.eq(v)),
        update.meta.as_ref().map(|meta| users::meta.eq(meta.to_string())),
        update.settings.as_ref().map(|s| users::notifications_enabled.eq(s.notifications_enabled)),
        users::updated_at.eq(chorus_kit::db::now()),
    );
    diesel::update(target).set(changes).execute(conn)?;
    find(conn, app_id, id)
}

/// Bans (with a reason) or unbans (`None`) a user; `None` when there is no such user.
pub fn set_ban(conn: &mut DbConnection, app_id: &str, id: &str, ban: Option<&str>) -> Result<Option<User>, DbError> {
    let now = chorus_kit::db::now();
    let target = users::table.filter(users::id.eq(id).and(users::app_id.eq(app_id)));
    match ban {
        Some(reason) => diesel::update(target)
            .set((users::banned_at.eq(Some(now)), users::ban_reason.eq(Some(reason)), users::updated_at.eq(now)))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                users::banned_at.eq(None::<NaiveDateTime>),
                users::ban_reason.eq(None::<String>),
                users::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    find(conn, app_id, id)
}

/// Deletes the user; devices, identities, blocks and refresh tokens go with it (ON DELETE CASCADE).
pub fn delete(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(users::table.filter(users::id.eq(id).and(users::app_id.eq(app_id)))).execute(conn)? > 0)
}
