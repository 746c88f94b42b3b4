//! Views per user and entity: kept so an erasure can take a user's views back out of the counts.

use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::view_tallies;

/// Adds `views` to the user's tally for the entity.
pub fn add_views(conn: &mut DbConnection, entity_id: &str, user_id: &str, views: i64) -> Result<(), DbError> {
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
