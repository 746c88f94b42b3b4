//! Token-signing keys kept in the database, so every replica and every restart signs alike.

use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::signing_keys;

/// All stored keys as (kid, seed), oldest first.
pub fn all(conn: &mut DbConnection) -> Result<Vec<(String, String)>, DbError> {
    Ok(signing_keys::table
        .select((signing_keys::kid, signing_keys::seed))
        .order(signing_keys::created_at.asc())
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, kid: &str, seed: &str) -> Result<(), DbError> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(kid),
            signing_keys::seed.eq(seed),
            signing_keys::created_at.eq(chorus_kit::db::now()),
        ))
        .execute(conn)?;
    Ok(())
}
