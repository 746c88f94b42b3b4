//! What the actions feed told us: who wrote each comment. (Blocks and bans from the users feed
//! are in the kit's mirror.)

use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::comment_authors;

/// Remembers who wrote each of `comments` (comment id, author id): one statement for a batch of
/// the feed, where a statement per comment took one each.
pub fn remember_authors(conn: &mut DbConnection, comments: &[(&str, &str)]) -> Result<(), DbError> {
    // Well inside SQLite's limit of bound parameters per statement.
    for chunk in comments.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(comment_id, author_id)| {
                (comment_authors::comment_id.eq(*comment_id), comment_authors::author_id.eq(*author_id))
            })
            .collect();
        let insert = diesel::insert_into(comment_authors::table).values(&rows).on_conflict_do_nothing();
        chorus_kit::on_backend!(&mut *conn, |c| insert.execute(c))?;
    }
    Ok(())
}

pub fn author_of(conn: &mut DbConnection, comment_id: &str) -> Result<Option<String>, DbError> {
    Ok(comment_authors::table.find(comment_id).select(comment_authors::author_id).first(conn).optional()?)
}

/// Of `users`, the ones to leave out when `author` acts: those who blocked the author, and the
/// banned (from the kit's mirror of the users feed).
pub fn silenced(conn: &mut DbConnection, author: &str, users: &[String]) -> Result<Vec<String>, DbError> {
    let mut out = chorus_kit::mirror::blockers_among(conn, author, users)?;
    out.extend(chorus_kit::mirror::banned_among(conn, users)?);
    Ok(out)
}

/// Forgets the comments the user wrote (erasure).
pub fn forget_user(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(comment_authors::table.filter(comment_authors::author_id.eq(user_id))).execute(conn)?;
    Ok(())
}
