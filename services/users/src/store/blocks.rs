//! Who blocked whom.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::blocks;

/// Records the block; false when it already existed.
pub fn insert(conn: &mut DbConnection, app_id: &str, blocker: &str, blocked: &str) -> Result<bool, DbError> {
    let exists: i64 = blocks::table.find((blocker, blocked)).count().get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(blocks::table)
        .values((
            blocks::app_id.eq(app_id),
            blocks::blocker_id.eq(blocker),
            blocks::blocked_id.eq(blocked),
            blocks::created_at.eq(chorus_kit::db::now()),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Removes the block; false when there was none.
pub fn delete(conn: &mut DbConnection, blocker: &str, blocked: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(blocks::table.find((blocker, blocked))).execute(conn)? > 0)
}

/// The users `blocker` blocked, in id order after `after`, as (user id, blocked at).
pub fn blocked_by(
    conn: &mut DbConnection,
    blocker: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, NaiveDateTime)>, DbError> {
    let mut query = blocks::table
        .filter(blocks::blocker_id.eq(blocker))
        .select((blocks::blocked_id, blocks::created_at))
        .order(blocks::blocked_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(blocks::blocked_id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}
