//! What the users feed told us: bans and blocks, kept here so no request has to ask users.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::{bans, blocks, erased_users, view_tallies};
use crate::domain::ActionsError;

pub fn is_banned(conn: &mut DbConnection, user_id: &str) -> Result<bool, ActionsError> {
    let count: i64 = bans::table.find(user_id).count().get_result(conn)?;
    Ok(count > 0)
}

pub fn ban(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), ActionsError> {
    if !is_banned(conn, user_id)? {
        diesel::insert_into(bans::table).values((bans::user_id.eq(user_id), bans::app_id.eq(app_id))).execute(conn)?;
    }
    Ok(())
}

pub fn unban(conn: &mut DbConnection, user_id: &str) -> Result<(), ActionsError> {
    diesel::delete(bans::table.find(user_id)).execute(conn)?;
    Ok(())
}

pub fn block(conn: &mut DbConnection, app_id: &str, blocker: &str, blocked: &str) -> Result<(), ActionsError> {
    let exists: i64 = blocks::table.find((blocker, blocked)).count().get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(blocks::table)
            .values((blocks::app_id.eq(app_id), blocks::blocker_id.eq(blocker), blocks::blocked_id.eq(blocked)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn unblock(conn: &mut DbConnection, blocker: &str, blocked: &str) -> Result<(), ActionsError> {
    diesel::delete(blocks::table.find((blocker, blocked))).execute(conn)?;
    Ok(())
}

pub fn is_erased(conn: &mut DbConnection, user_id: &str) -> Result<bool, ActionsError> {
    let count: i64 = erased_users::table.find(user_id).count().get_result(conn)?;
    Ok(count > 0)
}

/// Remembers an erased user, so their still-valid tokens cannot act again.
pub fn mark_erased(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), ActionsError> {
    if !is_erased(conn, user_id)? {
        diesel::insert_into(erased_users::table)
            .values((erased_users::user_id.eq(user_id), erased_users::app_id.eq(app_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets every block by or of the user (erasure).
pub fn forget_user(conn: &mut DbConnection, user_id: &str) -> Result<(), ActionsError> {
    diesel::delete(blocks::table.filter(blocks::blocker_id.eq(user_id).or(blocks::blocked_id.eq(user_id))))
        .execute(conn)?;
    diesel::delete(bans::table.find(user_id)).execute(conn)?;
    Ok(())
}

/// Adds `views` to the user's tally for the entity.
pub fn add_views(conn: &mut DbConnection, entity_id: &str, user_id: &str, views: i64) -> Result<(), ActionsError> {
    let updated = diesel::update(view_tallies::table.find((entity_id, user_id)))
        .set(view_tallies::views.eq(view_tallies::views + views))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(view_tallies::table)
            .values((
                view_tallies::entity_id.eq(entity_id),
                view_tallies::user_id.eq(user_id),
                view_tallies::views.eq(views),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The user's view tallies, removed (erasure): (entity id, views).
pub fn take_views_of(conn: &mut DbConnection, user_id: &str) -> Result<Vec<(String, i64)>, ActionsError> {
    let tallies: Vec<(String, i64)> = view_tallies::table
        .filter(view_tallies::user_id.eq(user_id))
        .select((view_tallies::entity_id, view_tallies::views))
        .load(conn)?;
    diesel::delete(view_tallies::table.filter(view_tallies::user_id.eq(user_id))).execute(conn)?;
    Ok(tallies)
}

pub fn views_of_entity(conn: &mut DbConnection, entity_id: &str) -> Result<i64, ActionsError> {
    // Summed here: SUM(BIGINT) is NUMERIC on PostgreSQL but INTEGER on SQLite.
    let rows: Vec<i64> =
        view_tallies::table.filter(view_tallies::entity_id.eq(entity_id)).select(view_tallies::views).load(conn)?;
    Ok(rows.into_iter().sum())
}
