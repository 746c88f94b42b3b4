//! Token-signing keys kept in the database, so every replica and every restart signs alike.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::signing_keys;

/// One stored key: its id, its seed (base64url), when it was created and when it signs from.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct KeyRow {
    pub kid: String,
    pub seed: String,
    pub created_at: NaiveDateTime,
    pub activates_at: NaiveDateTime,
}

const COLUMNS: (signing_keys::kid, signing_keys::seed, signing_keys::created_at, signing_keys::activates_at) =
    (signing_keys::kid, signing_keys::seed, signing_keys::created_at, signing_keys::activates_at);

/// Every stored key, the one that signs from the latest moment first.
pub fn all(conn: &mut DbConnection) -> Result<Vec<KeyRow>, DbError> {
    Ok(signing_keys::table
        .select(COLUMNS)
        .order((signing_keys::activates_at.desc(), signing_keys::created_at.desc()))
        .load(conn)?)
}

/// The key that signs at `now`: of those active by then, the one activated last.
pub fn signing_at(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Option<KeyRow>, DbError> {
    Ok(signing_keys::table
        .filter(signing_keys::activates_at.le(now))
        .select(COLUMNS)
        .order((signing_keys::activates_at.desc(), signing_keys::created_at.desc()))
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, kid: &str, seed: &str, activates_at: NaiveDateTime) -> Result<(), DbError> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(kid),
            signing_keys::seed.eq(seed),
            signing_keys::created_at.eq(chorus_kit::db::now()),
            signing_keys::activates_at.eq(activates_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes a key; false when there was none.
pub fn delete(conn: &mut DbConnection, kid: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(signing_keys::table.find(kid)).execute(conn)? > 0)
}
