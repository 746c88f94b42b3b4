//! Views per user and entity: kept so an erasure can take a user's views back out of the counts.

use diesel::prelude::*;

use std::collections::BTreeMap;

use chorus_kit::db::{DbError, IN_LIST_CHUNK};

use super::DbConnection;
use super::schema::view_tallies;

/// Adds views to users' tallies, `((entity id, user id), views)`, in one statement. Rows are
/// written in the map's order, the order every writer of tallies keeps.
pub fn add_views(conn: &mut DbConnection, tallies: &BTreeMap<(String, String), i64>) -> Result<(), DbError> {
    use diesel::upsert::excluded;

    let rows: Vec<_> = tallies
        .iter()
        .map(|((entity_id, user_id), views)| {
            (view_tallies::entity_id.eq(entity_id), view_tallies::user_id.eq(user_id), view_tallies::views.eq(views))
        })
        .collect();
    for chunk in rows.chunks(IN_LIST_CHUNK) {
        let upsert = diesel::insert_into(view_tallies::table)
            .values(chunk)
            .on_conflict((view_tallies::entity_id, view_tallies::user_id))
            .do_update()
            .set(view_tallies::views.eq(view_tallies::views + excluded(view_tallies::views)));
        chorus_kit::on_backend!(&mut *conn, |c| upsert.execute(c))?;
    }
    Ok(())
}

/// The user's view tallies, removed (erasure): (entity id, views).
pub fn take_views_of(conn: &mut DbConnection, user_id: &str) -> Result<Vec<(String, i64)>, DbError> {
    let tallies: Vec<(String, i64)> = view_tallies::table
        .filter(view_tallies::user_id.eq(user_id))
        .select((view_tallies::entity_id, view_tallies::views))
        .load(conn)?;
    diesel::delete(view_tallies::table.filter(view_tallies::user_id.eq(user_id))).execute(conn)?;
    Ok(tallies)
}

pub fn views_of_entity(conn: &mut DbConnection, entity_id: &str) -> Result<i64, DbError> {
    // Summed here: SUM(BIGINT) is NUMERIC on PostgreSQL but INTEGER on SQLite.
    let rows: Vec<i64> =
        view_tallies::table.filter(view_tallies::entity_id.eq(entity_id)).select(view_tallies::views).load(conn)?;
    Ok(rows.into_iter().sum())
}
