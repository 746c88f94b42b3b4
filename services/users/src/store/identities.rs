//! Third-party identities linked to users.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::identities;

pub fn owner(
    conn: &mut DbConnection,
    app_id: &str,
    provider: &str,
    external_id: &str,
) -> Result<Option<String>, DbError> {
    Ok(identities::table.find((app_id, provider, external_id)).select(identities::user_id).first(conn).optional()?)
}

/// The user's identities as (provider, external id, linked at).
pub fn of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<(String, String, NaiveDateTime)>, DbError> {
    Ok(identities::table
        .filter(identities::user_id.eq(user_id))
        .select((identities::provider, identities::external_id, identities::created_at))
        .order(identities::provider.asc())
        .load(conn)?)
}

pub fn has_provider(conn: &mut DbConnection, user_id: &str, provider: &str) -> Result<bool, DbError> {
    let count: i64 = identities::table
        .filter(identities::user_id.eq(user_id).and(identities::provider.eq(provider)))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

pub fn insert(
    conn: &mut DbConnection,
    app_id: &str,
    provider: &str,
    external_id: &str,
    user_id: &str,
) -> Result<(), DbError> {
    diesel::insert_into(identities::table)
        .values((
            identities::app_id.eq(app_id),
            identities::provider.eq(provider),
            identities::external_id.eq(external_id),
            identities::user_id.eq(user_id),
            identities::created_at.eq(chorus_kit::db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, user_id: &str, provider: &str) -> Result<bool, DbError> {
    let deleted = diesel::delete(
        identities::table.filter(identities::user_id.eq(user_id).and(identities::provider.eq(provider))),
    )
    .execute(conn)?;
    Ok(deleted > 0)
}
