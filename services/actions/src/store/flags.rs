use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::{DbError, written};

use super::DbConnection;
use super::schema::flags;
use crate::domain::model::{Flag, FlagStatus};

#[derive(Queryable, Selectable)]
#[diesel(table_name = flags)]
struct FlagRow {
    id: String,
    comment_id: String,
    entity_id: String,
    user_id: String,
    reason: Option<String>,
    status: String,
    created_at: NaiveDateTime,
    resolved_at: Option<NaiveDateTime>,
}

impl From<FlagRow> for Flag {
    fn from(row: FlagRow) -> Self {
        Flag {
            id: row.id,
            comment_id: row.comment_id,
            entity_id: row.entity_id,
            user_id: row.user_id,
            reason: row.reason,
            status: FlagStatus::parse(&row.status),
            created_at: row.created_at.and_utc(),
            resolved_at: row.resolved_at.map(|at| at.and_utc()),
        }
    }
}

pub struct NewFlag<'a> {
    pub app_id: &'a str,
    pub comment_id: &'a str,
    pub entity_id: &'a str,
    pub user_id: &'a str,
    pub reason: Option<&'a str>,
}

pub fn insert(conn: &mut DbConnection, id: &str, new: &NewFlag<'_>) -> Result<Flag, DbError> {
    diesel::insert_into(flags::table)
        .values((
            flags::id.eq(id),
            flags::app_id.eq(new.app_id),
            flags::comment_id.eq(new.comment_id),
            flags::entity_id.eq(new.entity_id),
            flags::user_id.eq(new.user_id),
            flags::reason.eq(new.reason),
            flags::status.eq(FlagStatus::Open.as_str()),
            flags::created_at.eq(chorus_kit::db::now()),
        ))
        .execute(conn)?;
    written(find(conn, new.app_id, id)?)
}

pub fn find(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<Option<Flag>, DbError> {
    let row: Option<FlagRow> = flags::table
        .filter(flags::app_id.eq(app_id).and(flags::id.eq(id)))
        .select(FlagRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Flag::from))
}

pub fn find_by_user(conn: &mut DbConnection, comment_id: &str, user_id: &str) -> Result<Option<Flag>, DbError> {
    let row: Option<FlagRow> = flags::table
        .filter(flags::comment_id.eq(comment_id).and(flags::user_id.eq(user_id)))
        .select(FlagRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Flag::from))
}

/// Resolves every open flag on a comment the same way.
pub fn resolve_comment(conn: &mut DbConnection, comment_id: &str, status: FlagStatus) -> Result<(), DbError> {
    diesel::update(
        flags::table.filter(flags::comment_id.eq(comment_id).and(flags::status.eq(FlagStatus::Open.as_str()))),
    )
    .set((flags::status.eq(status.as_str()), flags::resolved_at.eq(Some(chorus_kit::db::now()))))
    .execute(conn)?;
    Ok(())
}

pub fn resolve(conn: &mut DbConnection, id: &str, status: FlagStatus) -> Result<(), DbError> {
    diesel::update(flags::table.find(id))
        .set((flags::status.eq(status.as_str()), flags::resolved_at.eq(Some(chorus_kit::db::now()))))
        .execute(conn)?;
    Ok(())
}

/// The app's queue: flags with `status`, newest first.
pub fn list(
    conn: &mut DbConnection,
    app_id: &str,
    status: FlagStatus,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Flag>, DbError> {
    let mut query = flags::table
        .filter(flags::app_id.eq(app_id).and(flags::status.eq(status.as_str())))
        .select(FlagRow::as_select())
        .order(flags::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before_id {
        query = query.filter(flags::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?.into_iter().map(Flag::from).collect())
}

pub fn delete_by_user(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(flags::table.filter(flags::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}
