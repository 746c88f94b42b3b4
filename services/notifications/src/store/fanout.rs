//! Fan-out jobs (an audience written page by page) and the pages of each kind of audience, in
//! user-id order.

use chorus_kit::db::DbError;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{app_users, fanout_jobs, subscriptions};
use super::subscriptions::key_hash;
use crate::domain::model::SubscriptionKind;

pub fn insert(conn: &mut DbConnection, id: &str, app_id: &str, spec: &str, after_user: &str) -> Result<(), DbError> {
    let now = chorus_kit::db::now();
    diesel::insert_into(fanout_jobs::table)
        .values((
            fanout_jobs::id.eq(id),
            fanout_jobs::app_id.eq(app_id),
            fanout_jobs::spec.eq(spec),
            fanout_jobs::after_user.eq(after_user),
            fanout_jobs::next_attempt_at.eq(now),
            fanout_jobs::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A due job, claimed for `lease` (another worker leaves it alone meanwhile): its id.
pub fn claim_due(conn: &mut DbConnection, lease: TimeDelta) -> Result<Option<String>, DbError> {
    let now = chorus_kit::db::now();
    let due: Option<String> = fanout_jobs::table
        .filter(fanout_jobs::next_attempt_at.le(now))
        .order(fanout_jobs::next_attempt_at.asc())
        .select(fanout_jobs::id)
        .first(conn)
        .optional()?;
    let Some(id) = due else { return Ok(None) };
    let taken =
        diesel::update(fanout_jobs::table.filter(fanout_jobs::id.eq(&id).and(fanout_jobs::next_attempt_at.le(now))))
            .set(fanout_jobs::next_attempt_at.eq(now + lease))
            .execute(conn)?;
    Ok((taken == 1).then_some(id))
}

/// A job: `(app id, spec, after user)`.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<(String, String, String)>, DbError> {
    Ok(fanout_jobs::table
        .find(id)
        .select((fanout_jobs::app_id, fanout_jobs::spec, fanout_jobs::after_user))
        .first(conn)
        .optional()?)
}

/// Moves a job's cursor past a written page, and extends its lease.
pub fn advance(conn: &mut DbConnection, id: &str, after_user: &str, lease_until: NaiveDateTime) -> Result<(), DbError> {
    diesel::update(fanout_jobs::table.find(id))
        .set((fanout_jobs::after_user.eq(after_user), fanout_jobs::next_attempt_at.eq(lease_until)))
        .execute(conn)?;
    Ok(())
}

/// Hands a job back before its lease ends, so another worker takes it up at once.
pub fn release(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
    diesel::update(fanout_jobs::table.find(id))
        .set(fanout_jobs::next_attempt_at.eq(chorus_kit::db::now()))
        .execute(conn)?;
    Ok(())
}

pub fn finish(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
    diesel::delete(fanout_jobs::table.find(id)).execute(conn)?;
    Ok(())
}

/// The jobs whose spec mentions `needle`: `(id, spec)`.
pub fn mentioning(conn: &mut DbConnection, needle: &str) -> Result<Vec<(String, String)>, DbError> {
    Ok(fanout_jobs::table
        .filter(fanout_jobs::spec.like(format!("%{}%", chorus_kit::db::like_escape(needle))).escape('\\'))
        .select((fanout_jobs::id, fanout_jobs::spec))
        .load(conn)?)
}

pub fn set_spec(conn: &mut DbConnection, id: &str, spec: &str) -> Result<(), DbError> {
    diesel::update(fanout_jobs::table.find(id)).set(fanout_jobs::spec.eq(spec)).execute(conn)?;
    Ok(())
}

/// Jobs not finished yet (for tests and operators).
pub fn pending(conn: &mut DbConnection) -> Result<i64, DbError> {
    Ok(fanout_jobs::table.count().get_result(conn)?)
}

/// Up to `limit` subscribers of the entity (any of `kinds`) after the user id `after`, in order.
pub fn subscribers_page(
    conn: &mut DbConnection,
    app_id: &str,
    key: &str,
    kinds: &[SubscriptionKind],
    after: &str,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    let kinds: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    Ok(subscriptions::table
        .filter(subscriptions::app_id.eq(app_id).and(subscriptions::key_hash.eq(key_hash(key))))
        .filter(subscriptions::kind.eq_any(kinds))
        .filter(subscriptions::user_id.gt(after))
        .select(subscriptions::user_id)
        .distinct()
        .order(subscriptions::user_id.asc())
        .limit(limit)
        .load(conn)?)
}

/// Up to `limit` users of the app after the user id `after`, in order.
pub fn users_page(conn: &mut DbConnection, app_id: &str, after: &str, limit: i64) -> Result<Vec<String>, DbError> {
    Ok(app_users::table
        .filter(app_users::app_id.eq(app_id).and(app_users::user_id.gt(after)))
        .select(app_users::user_id)
        .order(app_users::user_id.asc())
        .limit(limit)
        .load(conn)?)
}
