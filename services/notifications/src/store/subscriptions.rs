use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::subscriptions;
use crate::domain::model::{Subscription, SubscriptionKind};

pub fn key_hash(key: &str) -> String {
    chorus_kit::secrets::digest(key)
}

/// Subscribes; true when the subscription is new.
pub fn add(
    conn: &mut DbConnection,
    app_id: &str,
    user_id: &str,
    key: &str,
    kind: SubscriptionKind,
) -> Result<bool, DbError> {
    chorus_kit::db::insert_once(conn, |conn| {
        diesel::insert_into(subscriptions::table)
            .values((
                subscriptions::app_id.eq(app_id),
                subscriptions::user_id.eq(user_id),
                subscriptions::entity_key.eq(key),
                subscriptions::key_hash.eq(key_hash(key)),
                subscriptions::kind.eq(kind.as_str()),
                subscriptions::created_at.eq(chorus_kit::db::now()),
            ))
            .execute(conn)
    })
}

pub fn remove(conn: &mut DbConnection, user_id: &str, key: &str, kind: SubscriptionKind) -> Result<(), DbError> {
    diesel::delete(subscriptions::table.find((user_id, key_hash(key), kind.as_str()))).execute(conn)?;
    Ok(())
}

pub fn remove_all_of(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(subscriptions::table.filter(subscriptions::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// The user's subscriptions, ordered by (key hash, kind); the cursor is that pair.
pub fn of_user(
    conn: &mut DbConnection,
    user_id: &str,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<(Subscription, String)>, DbError> {
    let mut query = subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .select((subscriptions::entity_key, subscriptions::key_hash, subscriptions::kind, subscriptions::created_at))
        .order((subscriptions::key_hash.asc(), subscriptions::kind.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((hash, kind)) = after {
        query = query.filter(
            subscriptions::key_hash
                .gt(hash.clone())
                .or(subscriptions::key_hash.eq(hash).and(subscriptions::kind.gt(kind))),
        );
    }
    let rows: Vec<(String, String, String, NaiveDateTime)> = query.load(conn)?;
    rows.into_iter()
        .map(|(entity_key, hash, kind, created_at)| {
            let cursor = format!("{hash}|{kind}");
            // A kind this code never writes is a corrupt row: a storage failure.
            let kind = SubscriptionKind::parse(&kind)
                .map_err(|error| DbError::Query(diesel::result::Error::DeserializationError(error.into())))?;
            Ok((Subscription { entity_key, kind, created_at: created_at.and_utc() }, cursor))
        })
        .collect()
}

/// Who subscribed to the entity for any of `kinds`.
pub fn subscribers(
    conn: &mut DbConnection,
    app_id: &str,
    key: &str,
    kinds: &[SubscriptionKind],
) -> Result<Vec<String>, DbError> {
    let kinds: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    let mut users: Vec<String> = subscriptions::table
        .filter(subscriptions::app_id.eq(app_id).and(subscriptions::key_hash.eq(key_hash(key))))
        .filter(subscriptions::kind.eq_any(kinds))
        .select(subscriptions::user_id)
        .load(conn)?;
    users.sort();
    users.dedup();
    Ok(users)
}
