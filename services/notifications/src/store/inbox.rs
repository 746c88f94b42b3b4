use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::notifications;
use crate::domain::model::{Notification, NotificationKind};

#[derive(Queryable, Selectable)]
#[diesel(table_name = notifications)]
struct NotificationRow {
    id: String,
    kind: String,
    title: String,
    body: Option<String>,
    entity_key: Option<String>,
    actor_id: Option<String>,
    action_id: Option<String>,
    url: Option<String>,
    read_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Self {
        Notification {
            id: row.id,
            kind: NotificationKind::parse(&row.kind),
            title: row.title,
            body: row.body,
            entity_key: row.entity_key,
            actor_id: row.actor_id,
            action_id: row.action_id,
            url: row.url,
            read: row.read_at.is_some(),
            created_at: row.created_at.and_utc(),
        }
    }
}

#[derive(Clone)]
pub struct NewNotification<'a> {
    pub app_id: &'a str,
    pub user_id: &'a str,
    pub kind: NotificationKind,
    pub title: &'a str,
    pub body: Option<&'a str>,
    pub entity_key: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub action_id: Option<&'a str>,
    pub url: Option<&'a str>,
}

/// Puts notifications in their inboxes, `(id, notification)` each, in one statement per 500;
/// answers them as the inbox shows them (built from what was written, with no read back: a
/// fan-out writes thousands).
pub fn insert_all(
    conn: &mut DbConnection,
    news: &[(String, NewNotification<'_>)],
) -> Result<Vec<Notification>, DbError> {
    let created_at = chorus_kit::db::now();
    let rows: Vec<_> = news
        .iter()
        .map(|(id, new)| {
            (
                notifications::id.eq(id),
                notifications::app_id.eq(new.app_id),
                notifications::user_id.eq(new.user_id),
                notifications::kind.eq(new.kind.as_str()),
                notifications::title.eq(new.title),
                notifications::body.eq(new.body),
                notifications::entity_key.eq(new.entity_key),
                notifications::actor_id.eq(new.actor_id),
                notifications::action_id.eq(new.action_id),
                notifications::url.eq(new.url),
                notifications::created_at.eq(created_at),
            )
        })
        .collect();
    // Eleven values a row: well within both databases' limits on bound parameters.
    for chunk in rows.chunks(500) {
        let insert = diesel::insert_into(notifications::table).values(chunk);
        chorus_kit::on_backend!(conn, |c| insert.execute(c))?;
    }
    Ok(news
        .iter()
        .map(|(id, new)| Notification {
            id: id.clone(),
            kind: new.kind,
            title: new.title.to_owned(),
            body: new.body.map(str::to_owned),
            entity_key: new.entity_key.map(str::to_owned),
            actor_id: new.actor_id.map(str::to_owned),
            action_id: new.action_id.map(str::to_owned),
            url: new.url.map(str::to_owned),
            read: false,
            created_at: created_at.and_utc(),
        })
        .collect())
}

pub fn find(conn: &mut DbConnection, user_id: &str, id: &str) -> Result<Option<Notification>, DbError> {
    let row: Option<NotificationRow> = notifications::table
        .filter(notifications::id.eq(id).and(notifications::user_id.eq(user_id)))
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Notification::from))
}

/// The user's inbox, newest first.
pub fn list(
    conn: &mut DbConnection,
    user_id: &str,
    unread_only: bool,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Notification>, DbError> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .select(NotificationRow::as_select())
        .order(notifications::id.desc())
        .limit(limit)
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    if let Some(before) = before_id {
        query = query.filter(notifications::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?.into_iter().map(Notification::from).collect())
}

pub fn unread_count(conn: &mut DbConnection, user_id: &str) -> Result<i64, DbError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user_id).and(notifications::read_at.is_null()))
        .count()
        .get_result(conn)?)
}

/// Marks one notification read; false when the user has no such notification.
pub fn mark_read(conn: &mut DbConnection, user_id: &str, id: &str) -> Result<bool, DbError> {
    let target = notifications::table.filter(notifications::id.eq(id).and(notifications::user_id.eq(user_id)));
    let updated = diesel::update(target.filter(notifications::read_at.is_null()))
        .set(notifications::read_at.eq(Some(chorus_kit::db::now())))
        .execute(conn)?;
    Ok(updated > 0 || find(conn, user_id, id)?.is_some())
}

pub fn mark_all_read(conn: &mut DbConnection, user_id: &str) -> Result<usize, DbError> {
    Ok(diesel::update(
        notifications::table.filter(notifications::user_id.eq(user_id).and(notifications::read_at.is_null())),
    )
    .set(notifications::read_at.eq(Some(chorus_kit::db::now())))
    .execute(conn)?)
}

/// A deleted comment's text leaves every notification that quotes it.
pub fn forget_action(conn: &mut DbConnection, action_id: &str) -> Result<(), DbError> {
    diesel::update(notifications::table.filter(notifications::action_id.eq(action_id)))
        .set(notifications::body.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

/// Erasure: the user's own inbox goes, and what others were told of them loses its text.
pub fn forget_user(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(notifications::table.filter(notifications::user_id.eq(user_id))).execute(conn)?;
    diesel::update(notifications::table.filter(notifications::actor_id.eq(user_id)))
        .set(notifications::body.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}
