//! Raw events and their deduplication keys.
//!
//! On PostgreSQL `raw_events` is partitioned by day (`raw_events_pYYYYMMDD`), so retention
//! drops whole days; SQLite deletes the rows.

use std::collections::HashSet;

use chorus_kit::db::{DbConnection, DbError};
use chorus_kit::prepared::Statement;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};

use super::schema::{event_keys, raw_events};
use crate::domain::model::Fact;

/// Rows per statement: well inside both backends' bound-parameter limits.
const CHUNK: usize = 1_000;
const DAY_MS: i64 = 86_400_000;

/// Claims the facts' insert ids and answers the `(app, insert id)` pairs that were new; a
/// claimed id stays claimed while it is kept, so a resent event is never counted twice.
pub fn claim(conn: &mut DbConnection, facts: &[Fact]) -> Result<HashSet<(String, String)>, DbError> {
    if let DbConnection::Postgresql(pg) = conn {
        // One prepared statement over arrays, whatever the batch's size.
        #[derive(QueryableByName)]
        struct Claimed {
            #[diesel(sql_type = Text)]
            app_id: String,
            #[diesel(sql_type = Text)]
            insert_id: String,
        }
        let claimed: Vec<Claimed> = Statement::new(
            "INSERT INTO event_keys (app_id, insert_id, occurred_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) \
             ON CONFLICT DO NOTHING RETURNING app_id, insert_id",
        )
        .bind::<Array<Text>, _>(facts.iter().map(|fact| fact.app_id.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(facts.iter().map(|fact| fact.insert_id.clone()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(facts.iter().map(|fact| fact.occurred_at.timestamp_millis()).collect::<Vec<_>>())
        .load(pg)?;
        return Ok(claimed.into_iter().map(|row| (row.app_id, row.insert_id)).collect());
    }
    let mut claimed = HashSet::with_capacity(facts.len());
    for chunk in facts.chunks(CHUNK) {
        let keys: Vec<_> = chunk
            .iter()
            .map(|fact| {
                (
                    event_keys::app_id.eq(&fact.app_id),
                    event_keys::insert_id.eq(&fact.insert_id),
                    event_keys::occurred_at.eq(fact.occurred_at.timestamp_millis()),
                )
            })
            .collect();
        let new: Vec<(String, String)> = chorus_kit::on_backend!(conn, |c| diesel::insert_into(event_keys::table)
            .values(&keys)
            .on_conflict_do_nothing()
            .returning((event_keys::app_id, event_keys::insert_id))
            .get_results(c))?;
        claimed.extend(new);
    }
    Ok(claimed)
}

/// Keeps the facts as raw events.
pub fn insert(conn: &mut DbConnection, facts: &[&Fact]) -> Result<(), DbError> {
    if let DbConnection::Postgresql(pg) = conn {
        let column = |value: fn(&Fact) -> Option<String>| facts.iter().map(|fact| value(fact)).collect::<Vec<_>>();
        Statement::new(
            "INSERT INTO raw_events (app_id, insert_id, metric, user_id, entity_key, properties, count, occurred_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::bigint[], $8::bigint[])",
        )
        .bind::<Array<Text>, _>(facts.iter().map(|fact| fact.app_id.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(facts.iter().map(|fact| fact.insert_id.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(facts.iter().map(|fact| fact.metric.key()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(column(|fact| fact.user_id.clone()))
        .bind::<Array<Nullable<Text>>, _>(column(|fact| fact.entity_key.clone()))
        .bind::<Array<Text>, _>(facts.iter().map(|fact| fact.properties.clone()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(facts.iter().map(|fact| fact.count).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(facts.iter().map(|fact| fact.occurred_at.timestamp_millis()).collect::<Vec<_>>())
        .execute(pg)?;
        return Ok(());
    }
    for chunk in facts.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|fact| {
                (
                    raw_events::app_id.eq(&fact.app_id),
                    raw_events::insert_id.eq(&fact.insert_id),
                    raw_events::metric.eq(fact.metric.key()),
                    raw_events::user_id.eq(fact.user_id.as_deref()),
                    raw_events::entity_key.eq(fact.entity_key.as_deref()),
                    raw_events::properties.eq(&fact.properties),
                    raw_events::count.eq(fact.count),
                    raw_events::occurred_at.eq(fact.occurred_at.timestamp_millis()),
                )
            })
            .collect();
        chorus_kit::on_backend!(&mut *conn, |c| diesel::insert_into(raw_events::table).values(&rows).execute(c))?;
    }
    Ok(())
}

/// A raw event as a rebuild reads it back.
#[derive(Debug, Queryable)]
pub struct RawEvent {
    pub app_id: String,
    pub insert_id: String,
    pub metric: String,
    pub user_id: Option<String>,
    pub entity_key: Option<String>,
    pub properties: String,
    pub count: i64,
    pub occurred_at: i64,
}

/// Up to `limit` raw events of `app_id` at or after `since_ms`, after the `(occurred_at,
/// insert_id)` position `after`, in that order.
pub fn page(
    conn: &mut DbConnection,
    app_id: &str,
    since_ms: i64,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<RawEvent>, DbError> {
    let mut query = raw_events::table
        .filter(raw_events::app_id.eq(app_id))
        .filter(raw_events::occurred_at.ge(since_ms))
        .select((
            raw_events::app_id,
            raw_events::insert_id,
            raw_events::metric,
            raw_events::user_id,
            raw_events::entity_key,
            raw_events::properties,
            raw_events::count,
            raw_events::occurred_at,
        ))
        .order((raw_events::occurred_at, raw_events::insert_id))
        .limit(limit)
        .into_boxed();
    if let Some((at, insert_id)) = after {
        query = query.filter(
            raw_events::occurred_at.gt(at).or(raw_events::occurred_at.eq(at).and(raw_events::insert_id.gt(insert_id))),
        );
    }
    Ok(query.load(conn)?)
}

/// The apps with raw events at or after `since_ms`.
pub fn apps_since(conn: &mut DbConnection, since_ms: i64) -> Result<Vec<String>, DbError> {
    Ok(raw_events::table
        .filter(raw_events::occurred_at.ge(since_ms))
        .select(raw_events::app_id)
        .distinct()
        .load(conn)?)
}

/// Removes every raw event of the app that names `user_id`; answers how many.
pub fn forget_user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<usize, DbError> {
    let of_user = raw_events::table.filter(raw_events::user_id.eq(user_id).and(raw_events::app_id.eq(app_id)));
    Ok(diesel::delete(of_user).execute(conn)?)
}

/// Removes the raw events and leaderboard rows that name any erased user (the kit's
/// `chorus_erased_users`), of the app they were erased from: what a write that raced an
/// erasure left behind. Answers how many rows went.
pub fn sweep_erased(conn: &mut DbConnection) -> Result<usize, DbError> {
    let raw = diesel::sql_query(
        "DELETE FROM raw_events WHERE user_id IS NOT NULL AND EXISTS \
         (SELECT 1 FROM chorus_erased_users e WHERE e.user_id = raw_events.user_id AND e.app_id = raw_events.app_id)",
    )
    .execute(conn)?;
    let activity = diesel::sql_query(
        "DELETE FROM user_activity WHERE EXISTS \
         (SELECT 1 FROM chorus_erased_users e WHERE e.user_id = user_activity.user_id AND e.app_id = user_activity.app_id)",
    )
    .execute(conn)?;
    Ok(raw + activity)
}

/// Locks `raw_events` and every partition of it, parent first, for partition DDL.
///
/// `CREATE TABLE .. PARTITION OF` and `DROP TABLE` of a partition take their locks child first
/// (the default partition, the dropped day) and the parent after, while readers and writers lock
/// the parent first; two such orders deadlock. Taking the whole tree up front, in the readers'
/// order, leaves nothing to wait for halfway. PostgreSQL only; the caller is in a transaction.
fn lock_for_ddl(pg: &mut diesel::PgConnection) -> Result<(), DbError> {
    pg.batch_execute("LOCK TABLE raw_events IN ACCESS EXCLUSIVE MODE").map_err(DbError::Query)
}

/// Makes sure the day partitions from `first_day` to `last_day` (Unix days) exist. PostgreSQL
/// only; a no-op on SQLite. Locks the table only when a partition is missing.
pub fn ensure_partitions(conn: &mut DbConnection, first_day: i64, last_day: i64) -> Result<(), DbError> {
    let DbConnection::Postgresql(pg) = conn else { return Ok(()) };
    #[derive(QueryableByName)]
    struct Existing {
        #[diesel(sql_type = Text)]
        relname: String,
    }
    let wanted: Vec<String> = (first_day..=last_day).map(partition_name).collect();
    let existing: HashSet<String> = diesel::sql_query("SELECT relname FROM pg_class WHERE relname = ANY($1)")
        .bind::<Array<Text>, _>(&wanted)
        .load::<Existing>(pg)?
        .into_iter()
        .map(|row| row.relname)
        .collect();
    let missing: Vec<i64> = (first_day..=last_day).filter(|day| !existing.contains(&partition_name(*day))).collect();
    if missing.is_empty() {
        return Ok(());
    }
    lock_for_ddl(pg)?;
    let mut sql = String::new();
    for day in missing {
        // Rows already in the default partition for that day would block the new partition;
        // the day is then left to the default partition, which retention also prunes.
        // IF NOT EXISTS: another replica may have made it while this one waited for the lock.
        sql.push_str(&format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM raw_events_default WHERE occurred_at >= {from} AND occurred_at < {to}) THEN \
                 CREATE TABLE IF NOT EXISTS {name} PARTITION OF raw_events FOR VALUES FROM ({from}) TO ({to}); \
               END IF; \
             END $$;",
            name = partition_name(day),
            from = day * DAY_MS,
            to = (day + 1) * DAY_MS,
        ));
    }
    pg.batch_execute(&sql).map_err(DbError::Query)
}

fn partition_name(day: i64) -> String {
    let date = chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap_or_default();
    format!("raw_events_p{}", date.format("%Y%m%d"))
}

/// Drops what is older than `before_ms`: on PostgreSQL whole day partitions (and the default
/// partition's old rows), on SQLite the rows; and the deduplication keys of that age. Answers
/// how many partitions were dropped.
pub fn prune(conn: &mut DbConnection, before_ms: i64) -> Result<usize, DbError> {
    let mut dropped = 0;
    if let DbConnection::Postgresql(pg) = conn {
        #[derive(QueryableByName)]
        struct Partition {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let partitions: Vec<Partition> = diesel::sql_query(
            "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'raw_events' AND c.relname LIKE 'raw_events_p%'",
        )
        .load(pg)?;
        let cutoff = partition_name(before_ms.div_euclid(DAY_MS));
        let old: Vec<String> =
            partitions.into_iter().map(|partition| partition.name).filter(|name| *name < cutoff).collect();
        if !old.is_empty() {
            lock_for_ddl(pg)?;
            // IF EXISTS: another replica may have dropped it while this one waited for the lock.
            pg.batch_execute(&format!("DROP TABLE IF EXISTS {}", old.join(", ")))?;
            dropped = old.len();
        }
    }
    // Through the parent, so the lock order is the readers' own; on PostgreSQL only the default
    // partition can still hold rows this old.
    diesel::delete(raw_events::table.filter(raw_events::occurred_at.lt(before_ms))).execute(conn)?;
    diesel::delete(event_keys::table.filter(event_keys::occurred_at.lt(before_ms))).execute(conn)?;
    Ok(dropped)
}

/// How many raw events name `user_id` (for erasure checks).
pub fn count_of_user(conn: &mut DbConnection, user_id: &str) -> Result<i64, DbError> {
    Ok(raw_events::table.filter(raw_events::user_id.eq(user_id)).count().get_result(conn)?)
}
