//! What every consuming service keeps of the users feed, in its own database: who is banned, who
//! blocked whom, and who was erased. One set of tables and queries for every service (written by
//! `chorus_upstream::users_mirror::apply` as users events arrive), so no request has to ask the
//! users service, and no service keeps its own copy of the logic.

use diesel::prelude::*;

use crate::db::{DbConnection, DbError, IN_LIST_CHUNK, insert_once};
use crate::schema::{chorus_erased_users, chorus_user_bans, chorus_user_blocks};

/// Records a ban (again: a no-op).
pub fn ban(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), DbError> {
    insert_once(conn, |conn| {
        diesel::insert_into(chorus_user_bans::table)
            .values((chorus_user_bans::user_id.eq(user_id), chorus_user_bans::app_id.eq(app_id)))
            .execute(conn)
    })?;
    Ok(())
}

pub fn unban(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(chorus_user_bans::table.find(user_id)).execute(conn)?;
    Ok(())
}

/// Of `users`, the banned ones.
pub fn banned_among(conn: &mut DbConnection, users: &[String]) -> Result<Vec<String>, DbError> {
    let mut banned = Vec::new();
    for chunk in users.chunks(IN_LIST_CHUNK) {
        let found = chorus_user_bans::table
            .filter(chorus_user_bans::user_id.eq_any(chunk))
            .select(chorus_user_bans::user_id)
            .load::<String>(conn)?;
        banned.extend(found);
    }
    Ok(banned)
}

/// Records that `blocker` blocked `blocked` (again: a no-op).
pub fn block(conn: &mut DbConnection, app_id: &str, blocker: &str, blocked: &str) -> Result<(), DbError> {
    insert_once(conn, |conn| {
        diesel::insert_into(chorus_user_blocks::table)
            .values((
                chorus_user_blocks::app_id.eq(app_id),
                chorus_user_blocks::blocker_id.eq(blocker),
                chorus_user_blocks::blocked_id.eq(blocked),
            ))
            .execute(conn)
    })?;
    Ok(())
}

pub fn unblock(conn: &mut DbConnection, blocker: &str, blocked: &str) -> Result<(), DbError> {
    diesel::delete(chorus_user_blocks::table.find((blocker, blocked))).execute(conn)?;
    Ok(())
}

/// Of `users`, those who blocked `author`.
pub fn blockers_among(conn: &mut DbConnection, author: &str, users: &[String]) -> Result<Vec<String>, DbError> {
    Ok(chorus_user_blocks::table
        .filter(chorus_user_blocks::blocked_id.eq(author))
        .select(chorus_user_blocks::blocker_id)
        .load::<String>(conn)?
        .into_iter()
        .filter(|blocker| users.contains(blocker))
        .collect())
}

/// Remembers an erased user, so their still-valid tokens are refused (every process picks the
/// row up, see [`crate::revocation`]), and forgets their bans and blocks, by them or of them.
pub fn erase(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), DbError> {
    let blocks_of_them = chorus_user_blocks::blocker_id.eq(user_id).or(chorus_user_blocks::blocked_id.eq(user_id));
    diesel::delete(chorus_user_blocks::table.filter(blocks_of_them)).execute(conn)?;
    diesel::delete(chorus_user_bans::table.find(user_id)).execute(conn)?;
    insert_once(conn, |conn| {
        diesel::insert_into(chorus_erased_users::table)
            .values((
                chorus_erased_users::user_id.eq(user_id),
                chorus_erased_users::app_id.eq(app_id),
                chorus_erased_users::erased_at.eq(crate::db::now()),
            ))
            .execute(conn)
    })?;
    Ok(())
}

/// Whether a user may act, as the users feed has told this service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    InGoodStanding,
    Banned,
    Erased,
}

/// The user's standing, in one query (it is on every write's path).
pub fn standing(conn: &mut DbConnection, user_id: &str) -> Result<Standing, DbError> {
    let (banned, erased): (bool, bool) = diesel::select((
        diesel::dsl::exists(chorus_user_bans::table.find(user_id)),
        diesel::dsl::exists(chorus_erased_users::table.find(user_id)),
    ))
    .get_result(conn)?;
    Ok(Standing::from_flags(banned, erased))
}

impl Standing {
    /// The standing of a user who is `banned` (in `chorus_user_bans`) or `erased` (in
    /// `chorus_erased_users`), for a service that reads both flags beside its own row in one
    /// query.
    pub fn from_flags(banned: bool, erased: bool) -> Self {
        match (banned, erased) {
            (_, true) => Self::Erased,
            (true, false) => Self::Banned,
            (false, false) => Self::InGoodStanding,
        }
    }
}

/// The standing of each of `users` (a group of writes checks them all in two queries); users
/// absent from the map are in good standing.
pub fn standings(
    conn: &mut DbConnection,
    users: &[String],
) -> Result<std::collections::HashMap<String, Standing>, DbError> {
    let mut standings: std::collections::HashMap<String, Standing> =
        banned_among(conn, users)?.into_iter().map(|user| (user, Standing::Banned)).collect();
    standings.extend(erased_among(conn, users)?.into_iter().map(|user| (user, Standing::Erased)));
    Ok(standings)
}

/// Those of `users` who were erased.
pub fn erased_among(conn: &mut DbConnection, users: &[String]) -> Result<Vec<String>, DbError> {
    let mut erased = Vec::new();
    for chunk in users.chunks(IN_LIST_CHUNK) {
        erased.extend(
            chorus_erased_users::table
                .filter(chorus_erased_users::user_id.eq_any(chunk))
                .select(chorus_erased_users::user_id)
                .load::<String>(conn)?,
        );
    }
    Ok(erased)
}

pub fn is_erased(conn: &mut DbConnection, user_id: &str) -> Result<bool, DbError> {
    Ok(chorus_erased_users::table.find(user_id).count().get_result::<i64>(conn)? > 0)
}
