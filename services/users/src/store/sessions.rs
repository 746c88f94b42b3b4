//! Devices (which anonymous user a device is) and refresh tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::DbError;
use chorus_kit::prepared::Statement;

use super::DbConnection;
use super::schema::{devices, refresh_tokens};

pub fn insert_device(conn: &mut DbConnection, app_id: &str, device_id: &str, user_id: &str) -> Result<(), DbError> {
    let now = chorus_kit::db::now();
    diesel::insert_into(devices::table)
        .values((
            devices::app_id.eq(app_id),
            devices::device_id.eq(device_id),
            devices::user_id.eq(user_id),
            devices::created_at.eq(now),
            devices::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves every device of `from_user` to `to_user`, so those devices' next session is theirs.
pub fn repoint_devices(conn: &mut DbConnection, from_user: &str, to_user: &str) -> Result<(), DbError> {
    diesel::update(devices::table.filter(devices::user_id.eq(from_user)))
        .set(devices::user_id.eq(to_user))
        .execute(conn)?;
    Ok(())
}

/// The devices of a user, for data export.
pub fn devices_of(conn: &mut DbConnection, user_id: &str) -> Result<Vec<(String, NaiveDateTime)>, DbError> {
    Ok(devices::table
        .filter(devices::user_id.eq(user_id))
        .select((devices::device_id, devices::created_at))
        .order(devices::created_at.asc())
        .load(conn)?)
}

#[derive(Debug, Queryable)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub user_id: String,
    pub app_id: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked: bool,
    pub created_at: NaiveDateTime,
}

/// A refresh token to store: only its hash, never the token.
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a str,
    pub family_id: &'a str,
    pub user_id: &'a str,
    pub app_id: &'a str,
    pub expires_at: NaiveDateTime,
}

/// Stores a refresh token; with `seen_device`, also marks that device of the token's app seen
/// now (a session reopened from it). On PostgreSQL the two are one statement: a new session is
/// the SDK's first call on every launch, so each round trip counts.
pub fn insert_refresh_token(
    conn: &mut DbConnection,
    token: &NewRefreshToken<'_>,
    seen_device: Option<&str>,
) -> Result<(), DbError> {
    use diesel::sql_types::{Text, Timestamp};

    let now = chorus_kit::db::now();
    if let (DbConnection::Postgresql(pg), Some(device_id)) = (&mut *conn, seen_device) {
        Statement::new(
            "WITH seen AS (UPDATE devices SET last_seen_at = $6 WHERE app_id = $4 AND device_id = $7) \
             INSERT INTO refresh_tokens (token_hash, family_id, user_id, app_id, expires_at, revoked, created_at) \
             VALUES ($1, $2, $3, $4, $5, false, $6)",
        )
        .bind::<Text, _>(token.token_hash.to_owned())
        .bind::<Text, _>(token.family_id.to_owned())
        .bind::<Text, _>(token.user_id.to_owned())
        .bind::<Text, _>(token.app_id.to_owned())
        .bind::<Timestamp, _>(token.expires_at)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(device_id.to_owned())
        .execute(pg)?;
        return Ok(());
    }
    if let Some(device_id) = seen_device {
        diesel::update(devices::table.find((token.app_id, device_id)))
            .set(devices::last_seen_at.eq(now))
            .execute(conn)?;
    }
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token.token_hash),
            refresh_tokens::family_id.eq(token.family_id),
            refresh_tokens::user_id.eq(token.user_id),
            refresh_tokens::app_id.eq(token.app_id),
            refresh_tokens::expires_at.eq(token.expires_at),
            refresh_tokens::revoked.eq(false),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh_token(conn: &mut DbConnection, token_hash: &str) -> Result<Option<RefreshTokenRow>, DbError> {
    Ok(refresh_tokens::table.find(token_hash).first(conn).optional()?)
}

/// Marks a token used; false when another request used it first.
pub fn mark_used(conn: &mut DbConnection, token_hash: &str) -> Result<bool, DbError> {
    let updated = diesel::update(
        refresh_tokens::table.filter(refresh_tokens::token_hash.eq(token_hash).and(refresh_tokens::used_at.is_null())),
    )
    .set(refresh_tokens::used_at.eq(Some(chorus_kit::db::now())))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn revoke_family(conn: &mut DbConnection, family_id: &str) -> Result<(), DbError> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(family_id)))
        .set(refresh_tokens::revoked.eq(true))
        .execute(conn)?;
    Ok(())
}

pub fn revoke_user(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id)))
        .set(refresh_tokens::revoked.eq(true))
        .execute(conn)?;
    Ok(())
}
