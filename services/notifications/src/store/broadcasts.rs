use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::{app_users, broadcast_quota_locks, broadcasts};
use crate::domain::model::{Audience, Broadcast, NewBroadcast};

/// The `audience` column: JSON tagged by `type`, as rows have always been written.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AudienceColumn {
    Users { user_ids: Vec<String> },
    Subscribers { entity_key: String },
    Everyone,
}

impl AudienceColumn {
    fn write(audience: &Audience) -> String {
        let column = match audience {
            Audience::Users { user_ids } => Self::Users { user_ids: user_ids.clone() },
            Audience::Subscribers { entity_key } => Self::Subscribers { entity_key: entity_key.clone() },
            Audience::Everyone => Self::Everyone,
        };
        serde_json::to_string(&column).unwrap_or_default()
    }

    fn read(column: &str) -> Option<Audience> {
        Some(match serde_json::from_str(column).ok()? {
            Self::Users { user_ids } => Audience::Users { user_ids },
            Self::Subscribers { entity_key } => Audience::Subscribers { entity_key },
            Self::Everyone => Audience::Everyone,
        })
    }
}

type BroadcastRow = (String, String, Option<String>, Option<String>, Option<String>, String, i64, NaiveDateTime);

fn to_broadcast(row: BroadcastRow) -> Broadcast {
    let (id, title, body, url, entity_key, audience, recipients, created_at) = row;
    Broadcast {
        id,
        title,
        body,
        url,
        entity_key,
        // Written only from a validated Audience.
        audience: AudienceColumn::read(&audience).unwrap_or(Audience::Everyone),
        recipients,
        created_at: created_at.and_utc(),
    }
}

macro_rules! broadcast_columns {
    () => {
        (
            broadcasts::id,
            broadcasts::title,
            broadcasts::body,
            broadcasts::url,
            broadcasts::entity_key,
            broadcasts::audience,
            broadcasts::recipients,
            broadcasts::created_at,
        )
    };
}

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    app_id: &str,
    new: &NewBroadcast,
    recipients: i64,
) -> Result<Broadcast, DbError> {
    diesel::insert_into(broadcasts::table)
        .values((
            broadcasts::id.eq(id),
            broadcasts::app_id.eq(app_id),
            broadcasts::title.eq(&new.title),
            broadcasts::body.eq(&new.body),
            broadcasts::url.eq(&new.url),
            broadcasts::entity_key.eq(&new.entity_key),
            broadcasts::audience.eq(AudienceColumn::write(&new.audience)),
            broadcasts::recipients.eq(recipients),
            broadcasts::created_at.eq(chorus_kit::db::now()),
        ))
        .execute(conn)?;
    let row: BroadcastRow = broadcasts::table.find(id).select(broadcast_columns!()).first(conn)?;
    Ok(to_broadcast(row))
}

/// Counts `more` recipients a broadcast's fan-out reached.
pub fn add_recipients(conn: &mut DbConnection, id: &str, more: i64) -> Result<(), DbError> {
    diesel::update(broadcasts::table.find(id))
        .set(broadcasts::recipients.eq(broadcasts::recipients + more))
        .execute(conn)?;
    Ok(())
}

/// Locks the app's quota row until the transaction ends, so sends count the quota in turn.
pub fn lock_quota(conn: &mut DbConnection, app_id: &str) -> Result<(), DbError> {
    let now = chorus_kit::db::now();
    let touched = diesel::update(broadcast_quota_locks::table.find(app_id))
        .set(broadcast_quota_locks::touched_at.eq(now))
        .execute(conn)?;
    if touched == 0 {
        chorus_kit::db::insert_once(conn, |conn| {
            diesel::insert_into(broadcast_quota_locks::table)
                .values((broadcast_quota_locks::app_id.eq(app_id), broadcast_quota_locks::touched_at.eq(now)))
                .execute(conn)
        })?;
        diesel::update(broadcast_quota_locks::table.find(app_id))
            .set(broadcast_quota_locks::touched_at.eq(now))
            .execute(conn)?;
    }
    Ok(())
}

pub fn count_since(conn: &mut DbConnection, app_id: &str, since: NaiveDateTime) -> Result<i64, DbError> {
    Ok(broadcasts::table
        .filter(broadcasts::app_id.eq(app_id).and(broadcasts::created_at.ge(since)))
        .count()
        .get_result(conn)?)
}

/// The app's broadcasts, newest first.
pub fn list(
    conn: &mut DbConnection,
    app_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Broadcast>, DbError> {
    let mut query = broadcasts::table
        .filter(broadcasts::app_id.eq(app_id))
        .select(broadcast_columns!())
        .order(broadcasts::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before_id {
        query = query.filter(broadcasts::id.lt(before.to_owned()));
    }
    Ok(query.load::<BroadcastRow>(conn)?.into_iter().map(to_broadcast).collect())
}

pub fn remember_user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), DbError> {
    chorus_kit::db::insert_once(conn, |conn| {
        diesel::insert_into(app_users::table)
            .values((app_users::user_id.eq(user_id), app_users::app_id.eq(app_id)))
            .execute(conn)
    })?;
    Ok(())
}

/// Erasure: the user leaves the app's audience and every broadcast's list of users.
pub fn forget_user(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(app_users::table.find(user_id)).execute(conn)?;
    let pattern = format!("%{}%", chorus_kit::db::like_escape(user_id));
    let listing: Vec<(String, String)> = broadcasts::table
        .filter(broadcasts::audience.like(pattern).escape('\\'))
        .select((broadcasts::id, broadcasts::audience))
        .load(conn)?;
    for (id, audience) in listing {
        if let Some(Audience::Users { mut user_ids }) = AudienceColumn::read(&audience) {
            user_ids.retain(|id| id != user_id);
            let audience = AudienceColumn::write(&Audience::Users { user_ids });
            diesel::update(broadcasts::table.find(id)).set(broadcasts::audience.eq(audience)).execute(conn)?;
        }
    }
    Ok(())
}

/// Of `user_ids`, those that are users of the app.
pub fn known_users(conn: &mut DbConnection, app_id: &str, user_ids: &[String]) -> Result<Vec<String>, DbError> {
    let mut known: Vec<String> = app_users::table
        .filter(app_users::app_id.eq(app_id).and(app_users::user_id.eq_any(user_ids)))
        .select(app_users::user_id)
        .load(conn)?;
    known.sort();
    Ok(known)
}

pub fn all_users(conn: &mut DbConnection, app_id: &str) -> Result<Vec<String>, DbError> {
    Ok(app_users::table
        .filter(app_users::app_id.eq(app_id))
        .select(app_users::user_id)
        .order(app_users::user_id.asc())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_keep_their_stored_json() {
        let listed = Audience::Users { user_ids: vec!["u1".into(), "u2".into()] };
        let subscribers = Audience::Subscribers { entity_key: "post".into() };
        let stored = [
            (listed, r#"{"type":"users","user_ids":["u1","u2"]}"#),
            (subscribers, r#"{"type":"subscribers","entity_key":"post"}"#),
            (Audience::Everyone, r#"{"type":"everyone"}"#),
        ];
        for (audience, json) in stored {
            assert_eq!(AudienceColumn::write(&audience), json);
            assert_eq!(AudienceColumn::read(json), Some(audience));
        }
    }
}
