//! Each user's live likes, comments and shares on each entity: the caller's own summary on an
//! action bar. A row per user and entity, kept in every action's transaction as the entity's
//! counts are, so an action bar reads it by primary key whatever the entity or the caller has
//! done. The operator recount checks it against the actions and rebuilds it.

use diesel::prelude::*;

use std::collections::BTreeMap;

use chorus_kit::db::DbError;
use chorus_kit::prepared::Statement;

use super::DbConnection;
use super::entities::CountDelta;
use super::schema::{action_tallies, actions};
use crate::domain::model::ActionKind;

/// A user's live actions on one entity, counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

/// Adds `delta`'s likes, comments and shares (views are not tallied here) to the user's tally
/// of the entity, creating it when this is their first action on it.
pub fn add(conn: &mut DbConnection, entity_id: &str, user_id: &str, delta: CountDelta) -> Result<(), DbError> {
    use diesel::sql_types::{BigInt, Text};

    match conn {
        // On an unlike's path: a statement PostgreSQL plans once (diesel plans upserts anew).
        DbConnection::Postgresql(pg) => {
            Statement::new(
                "INSERT INTO action_tallies (entity_id, user_id, likes, comments, shares) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (entity_id, user_id) DO UPDATE SET \
                 likes = action_tallies.likes + EXCLUDED.likes, \
                 comments = action_tallies.comments + EXCLUDED.comments, \
                 shares = action_tallies.shares + EXCLUDED.shares",
            )
            .bind::<Text, _>(entity_id.to_owned())
            .bind::<Text, _>(user_id.to_owned())
            .bind::<BigInt, _>(delta.likes)
            .bind::<BigInt, _>(delta.comments)
            .bind::<BigInt, _>(delta.shares)
            .execute(pg)?;
        }
        DbConnection::Sqlite(sqlite) => {
            use diesel::upsert::excluded;
            diesel::insert_into(action_tallies::table)
                .values((
                    action_tallies::entity_id.eq(entity_id),
                    action_tallies::user_id.eq(user_id),
                    action_tallies::likes.eq(delta.likes),
                    action_tallies::comments.eq(delta.comments),
                    action_tallies::shares.eq(delta.shares),
                ))
                .on_conflict((action_tallies::entity_id, action_tallies::user_id))
                .do_update()
                .set((
                    action_tallies::likes.eq(action_tallies::likes + excluded(action_tallies::likes)),
                    action_tallies::comments.eq(action_tallies::comments + excluded(action_tallies::comments)),
                    action_tallies::shares.eq(action_tallies::shares + excluded(action_tallies::shares)),
                ))
                .execute(sqlite)?;
        }
    }
    Ok(())
}

/// Removes every tally of the user (erasure).
pub fn forget_user(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(action_tallies::table.filter(action_tallies::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// The stored tallies of an entity, by user.
pub fn of_entity(conn: &mut DbConnection, entity_id: &str) -> Result<BTreeMap<String, Tally>, DbError> {
    let rows: Vec<(String, i64, i64, i64)> = action_tallies::table
        .filter(action_tallies::entity_id.eq(entity_id))
        .select((action_tallies::user_id, action_tallies::likes, action_tallies::comments, action_tallies::shares))
        .load(conn)?;
    Ok(rows
        .into_iter()
        // A tally back at zero (a like undone) says no more than no row.
        .filter(|(_, likes, comments, shares)| (*likes, *comments, *shares) != (0, 0, 0))
        .map(|(user_id, likes, comments, shares)| (user_id, Tally { likes, comments, shares }))
        .collect())
}

/// The tallies an entity's live actions add up to, by user (the recount's truth).
pub fn counted(conn: &mut DbConnection, entity_id: &str) -> Result<BTreeMap<String, Tally>, DbError> {
    let rows: Vec<(String, String, i64)> = actions::table
        .filter(actions::entity_id.eq(entity_id).and(actions::deleted_at.is_null()))
        .group_by((actions::user_id, actions::kind))
        .select((actions::user_id, actions::kind, diesel::dsl::count_star()))
        .load(conn)?;
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for (user_id, kind, count) in rows {
        let tally = tallies.entry(user_id).or_default();
        match ActionKind::parse(&kind) {
            Some(ActionKind::Like) => tally.likes = count,
            Some(ActionKind::Comment) => tally.comments = count,
            Some(ActionKind::Share) => tally.shares = count,
            None => {}
        }
    }
    Ok(tallies)
}

/// Replaces an entity's tallies with `tallies`.
pub fn replace(conn: &mut DbConnection, entity_id: &str, tallies: &BTreeMap<String, Tally>) -> Result<(), DbError> {
    diesel::delete(action_tallies::table.filter(action_tallies::entity_id.eq(entity_id))).execute(conn)?;
    for (user_id, tally) in tallies {
        let delta = CountDelta { likes: tally.likes, comments: tally.comments, shares: tally.shares, views: 0 };
        add(conn, entity_id, user_id, delta)?;
    }
    Ok(())
}
