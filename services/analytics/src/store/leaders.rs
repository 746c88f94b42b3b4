//! Counts per entity (at quarter and UTC-day grain) and per user (by UTC day): the leaderboards,
//! and metrics grouped by entity. Writers touch rows in key order (callers pass sorted maps).

use std::collections::BTreeMap;

use chorus_kit::db::{DbConnection, DbError};
use chorus_kit::prepared::Statement;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel::upsert::excluded;

use super::schema::{entity_counts, user_activity};
use crate::domain::time::{DAY, QUARTER};

/// `(app, metric, entity key, grain, bucket)`.
pub type EntityBucket<'a> = (&'a str, String, &'a str, i64, i64);
/// `(app, user, grain, bucket)`.
pub type UserBucket<'a> = (&'a str, &'a str, i64, i64);

/// Adds to the entities' counts.
pub fn add_entity_counts(conn: &mut DbConnection, counts: &BTreeMap<EntityBucket<'_>, i64>) -> Result<(), DbError> {
    if counts.is_empty() {
        return Ok(());
    }
    if let DbConnection::Postgresql(pg) = conn {
        // One prepared statement over arrays, in key order.
        Statement::new(
            "INSERT INTO entity_counts (app_id, metric, entity_key, grain, bucket, count) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) \
             ON CONFLICT (app_id, metric, grain, bucket, entity_key) \
             DO UPDATE SET count = entity_counts.count + excluded.count",
        )
        .bind::<Array<Text>, _>(counts.keys().map(|key| key.0.to_owned()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(counts.keys().map(|key| key.1.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(counts.keys().map(|key| key.2.to_owned()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(counts.keys().map(|key| key.3).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(counts.keys().map(|key| key.4).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(counts.values().copied().collect::<Vec<_>>())
        .execute(pg)?;
        return Ok(());
    }
    let rows: Vec<_> = counts
        .iter()
        .map(|((app_id, metric, entity_key, grain, bucket), count)| {
            (
                entity_counts::app_id.eq(*app_id),
                entity_counts::metric.eq(metric),
                entity_counts::entity_key.eq(*entity_key),
                entity_counts::grain.eq(grain),
                entity_counts::bucket.eq(bucket),
                entity_counts::count.eq(count),
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        let upsert = diesel::insert_into(entity_counts::table)
            .values(chunk)
            .on_conflict((
                entity_counts::app_id,
                entity_counts::metric,
                entity_counts::grain,
                entity_counts::bucket,
                entity_counts::entity_key,
            ))
            .do_update()
            .set(entity_counts::count.eq(entity_counts::count + excluded(entity_counts::count)));
        chorus_kit::on_backend!(&mut *conn, |c| upsert.execute(c))?;
    }
    Ok(())
}

/// Adds to the users' activity.
pub fn add_user_activity(conn: &mut DbConnection, counts: &BTreeMap<UserBucket<'_>, i64>) -> Result<(), DbError> {
    if counts.is_empty() {
        return Ok(());
    }
    if let DbConnection::Postgresql(pg) = conn {
        // One prepared statement over arrays, in key order.
        Statement::new(
            "INSERT INTO user_activity (app_id, user_id, grain, bucket, count) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) \
             ON CONFLICT (app_id, grain, bucket, user_id) DO UPDATE SET count = user_activity.count + excluded.count",
        )
        .bind::<Array<Text>, _>(counts.keys().map(|key| key.0.to_owned()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(counts.keys().map(|key| key.1.to_owned()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(counts.keys().map(|key| key.2).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(counts.keys().map(|key| key.3).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(counts.values().copied().collect::<Vec<_>>())
        .execute(pg)?;
        return Ok(());
    }
    let rows: Vec<_> = counts
        .iter()
        .map(|((app_id, user_id, grain, bucket), count)| {
            (
                user_activity::app_id.eq(*app_id),
                user_activity::user_id.eq(*user_id),
                user_activity::grain.eq(grain),
                user_activity::bucket.eq(bucket),
                user_activity::count.eq(count),
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        let upsert = diesel::insert_into(user_activity::table)
            .values(chunk)
            .on_conflict((user_activity::app_id, user_activity::grain, user_activity::bucket, user_activity::user_id))
            .do_update()
            .set(user_activity::count.eq(user_activity::count + excluded(user_activity::count)));
        chorus_kit::on_backend!(&mut *conn, |c| upsert.execute(c))?;
    }
    Ok(())
}

/// Removes an erased user from the app's leaderboards.
pub fn forget_user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), DbError> {
    let of_user = user_activity::table.filter(user_activity::user_id.eq(user_id).and(user_activity::app_id.eq(app_id)));
    diesel::delete(of_user).execute(conn)?;
    Ok(())
}

/// Removes an app's counts from bucket `from` on (a rebuild recomputes them).
pub fn clear(conn: &mut DbConnection, app_id: &str, from: i64) -> Result<(), DbError> {
    diesel::delete(entity_counts::table.filter(entity_counts::app_id.eq(app_id).and(entity_counts::bucket.ge(from))))
        .execute(conn)?;
    diesel::delete(user_activity::table.filter(user_activity::app_id.eq(app_id).and(user_activity::bucket.ge(from))))
        .execute(conn)?;
    Ok(())
}

/// Which rows a range reads: whole days at day grain, edges at quarter grain, as `[start, end)`
/// pairs of bucket starts.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub days: Vec<(i64, i64)>,
    pub quarters: Vec<(i64, i64)>,
}

/// One leaderboard row.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Leader {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// A range condition on `grain` and `bucket` for `coverage`, with its binds, numbered from
/// `first` (`$n` placeholders; SQLite reads them too).
fn coverage_sql(coverage: &Coverage, first: usize) -> (String, Vec<i64>) {
    let mut terms = Vec::new();
    let mut binds = Vec::new();
    for (grain, ranges) in [(DAY, &coverage.days), (QUARTER, &coverage.quarters)] {
        for (start, end) in ranges {
            let n = first + binds.len();
            terms.push(format!("(grain = {grain} AND bucket >= ${n} AND bucket < ${})", n + 1));
            binds.extend([*start, *end]);
        }
    }
    if terms.is_empty() {
        terms.push("FALSE".into());
    }
    (format!("({})", terms.join(" OR ")), binds)
}

/// The `limit` entities with the most of `metrics` over `coverage`, most first (ties by key).
pub fn top_entities(
    conn: &mut DbConnection,
    app_id: Option<&str>,
    metrics: &[String],
    coverage: &Coverage,
    limit: i64,
) -> Result<Vec<Leader>, DbError> {
    let metric_list = (0..metrics.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
    let (range, binds) = coverage_sql(coverage, metrics.len() + 2);
    let limit_at = metrics.len() + 2 + binds.len();
    let sql = format!(
        "SELECT entity_key AS key, CAST(SUM(count) AS BIGINT) AS count FROM entity_counts \
         WHERE ($1 = '' OR app_id = $1) AND metric IN ({metric_list}) AND {range} \
         GROUP BY entity_key ORDER BY count DESC, key LIMIT ${limit_at}"
    );
    let mut query = diesel::sql_query(sql).into_boxed().bind::<Text, _>(app_id.unwrap_or_default().to_owned());
    for metric in metrics {
        query = query.bind::<Text, _>(metric.clone());
    }
    for bind in binds {
        query = query.bind::<BigInt, _>(bind);
    }
    Ok(query.bind::<BigInt, _>(limit).load(conn)?)
}

/// The `limit` users with the most activity over `coverage`, most first (ties by id).
pub fn top_users(
    conn: &mut DbConnection,
    app_id: Option<&str>,
    coverage: &Coverage,
    limit: i64,
) -> Result<Vec<Leader>, DbError> {
    let (range, binds) = coverage_sql(coverage, 2);
    let limit_at = 2 + binds.len();
    let sql = format!(
        "SELECT user_id AS key, CAST(SUM(count) AS BIGINT) AS count FROM user_activity \
         WHERE ($1 = '' OR app_id = $1) AND {range} \
         GROUP BY user_id ORDER BY count DESC, key LIMIT ${limit_at}"
    );
    let mut query = diesel::sql_query(sql).into_boxed().bind::<Text, _>(app_id.unwrap_or_default().to_owned());
    for bind in binds {
        query = query.bind::<BigInt, _>(bind);
    }
    Ok(query.bind::<BigInt, _>(limit).load(conn)?)
}

/// The rows of `metric` for the entities `keys` over `coverage`: `(entity key, grain, bucket,
/// count)`.
pub fn entity_rows(
    conn: &mut DbConnection,
    app_id: Option<&str>,
    metric: &str,
    keys: &[String],
    coverage: &Coverage,
) -> Result<Vec<(String, i64, i64, i64)>, DbError> {
    let mut rows = Vec::new();
    for (grain, ranges) in [(DAY, &coverage.days), (QUARTER, &coverage.quarters)] {
        for (start, end) in ranges {
            let mut query = entity_counts::table
                .filter(entity_counts::metric.eq(metric))
                .filter(entity_counts::entity_key.eq_any(keys))
                .filter(entity_counts::grain.eq(grain))
                .filter(entity_counts::bucket.ge(start).and(entity_counts::bucket.lt(end)))
                .select((entity_counts::entity_key, entity_counts::grain, entity_counts::bucket, entity_counts::count))
                .into_boxed();
            if let Some(app_id) = app_id {
                query = query.filter(entity_counts::app_id.eq(app_id));
            }
            rows.extend(query.load::<(String, i64, i64, i64)>(conn)?);
        }
    }
    Ok(rows)
}
