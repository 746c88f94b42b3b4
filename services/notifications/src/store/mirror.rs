//! What the feeds told us: comment authors (from actions), blocks and bans (from users).

use diesel::prelude::*;

use super::DbConnection;
use super::schema::{bans, blocks, comment_authors};
use crate::domain::NotificationsError;

pub fn remember_author(conn: &mut DbConnection, comment_id: &str, author_id: &str) -> Result<(), NotificationsError> {
    chorus_kit::db::insert_once(conn, |conn| {
        diesel::insert_into(comment_authors::table)
            .values((comment_authors::comment_id.eq(comment_id), comment_authors::author_id.eq(author_id)))
            .execute(conn)
    })?;
    Ok(())
}

pub fn author_of(conn: &mut DbConnection, comment_id: &str) -> Result<Option<String>, NotificationsError> {
    Ok(comment_authors::table.find(comment_id).select(comment_authors::author_id).first(conn).optional()?)
}

/// Of `users`, the ones to leave out when `author` acts: those who blocked the author, and the
/// banned.
pub fn silenced(conn: &mut DbConnection, author: &str, users: &[String]) -> Result<Vec<String>, NotificationsError> {
    let mut out: Vec<String> = blocks::table
        .filter(blocks::blocked_id.eq(author))
        .select(blocks::blocker_id)
        .load::<String>(conn)?
        .into_iter()
        .filter(|blocker| users.contains(blocker))
        .collect();
    out.extend(banned_among(conn, users)?);
    Ok(out)
}

/// Of `users`, the banned ones.
pub fn banned_among(conn: &mut DbConnection, users: &[String]) -> Result<Vec<String>, NotificationsError> {
    let mut banned = Vec::new();
    for chunk in users.chunks(chorus_kit::db::IN_LIST_CHUNK) {
        banned.extend(bans::table.filter(bans::user_id.eq_any(chunk)).select(bans::user_id).load::<String>(conn)?);
    }
    Ok(banned)
}

pub fn is_banned(conn: &mut DbConnection, user_id: &str) -> Result<bool, NotificationsError> {
    Ok(bans::table.find(user_id).count().get_result::<i64>(conn)? > 0)
}

pub fn block(conn: &mut DbConnection, blocker: &str, blocked: &str) -> Result<(), NotificationsError> {
    chorus_kit::db::insert_once(conn, |conn| {
        diesel::insert_into(blocks::table)
            .values((blocks::blocker_id.eq(blocker), blocks::blocked_id.eq(blocked)))
            .execute(conn)
    })?;
    Ok(())
}

pub fn unblock(conn: &mut DbConnection, blocker: &str, blocked: &str) -> Result<(), NotificationsError> {
    diesel::delete(blocks::table.find((blocker, blocked))).execute(conn)?;
    Ok(())
}

pub fn ban(conn: &mut DbConnection, user_id: &str) -> Result<(), NotificationsError> {
    chorus_kit::db::insert_once(conn, |conn| {
        diesel::insert_into(bans::table).values(bans::user_id.eq(user_id)).execute(conn)
    })?;
    Ok(())
}

pub fn unban(conn: &mut DbConnection, user_id: &str) -> Result<(), NotificationsError> {
    diesel::delete(bans::table.find(user_id)).execute(conn)?;
    Ok(())
}

pub fn forget_user(conn: &mut DbConnection, user_id: &str) -> Result<(), NotificationsError> {
    diesel::delete(blocks::table.filter(blocks::blocker_id.eq(user_id).or(blocks::blocked_id.eq(user_id))))
        .execute(conn)?;
    diesel::delete(bans::table.find(user_id)).execute(conn)?;
    diesel::delete(comment_authors::table.filter(comment_authors::author_id.eq(user_id))).execute(conn)?;
    Ok(())
}
