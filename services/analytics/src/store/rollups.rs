//! The rollups: counts per 15-minute bucket, and distinct-user sketches per quarter and day.
//!
//! Writers touch rows in key order (the callers pass sorted keys), so two concurrent writers
//! of the same buckets queue rather than deadlock.

use chorus_kit::db::{DbConnection, DbError};
use chorus_kit::prepared::Statement;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel::upsert::excluded;

use super::schema::{active_users, metric_counts};

/// One bucket's count to add.
pub struct CountRow<'a> {
    pub app_id: &'a str,
    pub metric: &'a str,
    pub bucket: i64,
    pub count: i64,
}

/// Adds each row's count to its bucket.
pub fn add_counts(conn: &mut DbConnection, rows: &[CountRow<'_>]) -> Result<(), DbError> {
    if let DbConnection::Postgresql(pg) = conn {
        // One prepared statement over arrays, in the rows' (key) order.
        Statement::new(
            "INSERT INTO metric_counts (app_id, metric, bucket, count) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) \
             ON CONFLICT (app_id, metric, bucket) DO UPDATE SET count = metric_counts.count + excluded.count",
        )
        .bind::<Array<Text>, _>(rows.iter().map(|row| row.app_id.to_owned()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|row| row.metric.to_owned()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|row| row.bucket).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|row| row.count).collect::<Vec<_>>())
        .execute(pg)?;
        return Ok(());
    }
    let rows: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                metric_counts::app_id.eq(row.app_id),
                metric_counts::metric.eq(row.metric),
                metric_counts::bucket.eq(row.bucket),
                metric_counts::count.eq(row.count),
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        chorus_kit::on_backend!(conn, |c| diesel::insert_into(metric_counts::table)
            .values(chunk)
            .on_conflict((metric_counts::app_id, metric_counts::metric, metric_counts::bucket))
            .do_update()
            .set(metric_counts::count.eq(metric_counts::count + excluded(metric_counts::count)))
            .execute(c))?;
    }
    Ok(())
}

/// The counts of `metric` by bucket, for buckets in `[from, to)`, in bucket order: of one app,
/// or of every app (`None`, a bucket then appearing once per app).
pub fn counts(
    conn: &mut DbConnection,
    app_id: Option<&str>,
    metric: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64)>, DbError> {
    let mut query = metric_counts::table
        .filter(metric_counts::metric.eq(metric))
        .filter(metric_counts::bucket.ge(from).and(metric_counts::bucket.lt(to)))
        .select((metric_counts::bucket, metric_counts::count))
        .order(metric_counts::bucket)
        .into_boxed();
    if let Some(app_id) = app_id {
        query = query.filter(metric_counts::app_id.eq(app_id));
    }
    Ok(query.load(conn)?)
}

/// Every count row of an app from bucket `from` on, for comparing rollups.
pub fn all_counts(conn: &mut DbConnection, app_id: &str, from: i64) -> Result<Vec<(String, i64, i64)>, DbError> {
    Ok(metric_counts::table
        .filter(metric_counts::app_id.eq(app_id).and(metric_counts::bucket.ge(from)))
        .select((metric_counts::metric, metric_counts::bucket, metric_counts::count))
        .order((metric_counts::metric, metric_counts::bucket))
        .load(conn)?)
}

/// Merges into the stored sketch of `(app_id, grain, bucket)` with `merge`, which gets the
/// stored bytes (none for a new bucket) and answers the new ones. The row is locked from read
/// to commit on PostgreSQL; SQLite has one writer.
pub fn merge_sketch(
    conn: &mut DbConnection,
    app_id: &str,
    grain: i64,
    bucket: i64,
    mut merge: impl FnMut(Option<&[u8]>) -> Vec<u8>,
) -> Result<(), DbError> {
    let key = active_users::table.find((app_id, grain, bucket));
    loop {
        let stored: Option<Vec<u8>> = match conn {
            DbConnection::Postgresql(pg) => {
                key.select(active_users::sketch).for_no_key_update().first(pg).optional()?
            }
            DbConnection::Sqlite(sqlite) => key.select(active_users::sketch).first(sqlite).optional()?,
        };
        if let Some(stored) = stored {
            diesel::update(key).set(active_users::sketch.eq(merge(Some(&stored)))).execute(conn)?;
            return Ok(());
        }
        let inserted = chorus_kit::on_backend!(conn, |c| diesel::insert_into(active_users::table)
            .values((
                active_users::app_id.eq(app_id),
                active_users::grain.eq(grain),
                active_users::bucket.eq(bucket),
                active_users::sketch.eq(merge(None)),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        if inserted == 1 {
            return Ok(());
        }
        // A concurrent writer created the bucket first; merge into its row.
    }
}

/// The stored sketches of `grain` for buckets in `[from, to)`, in bucket order: of one app, or
/// of every app (`None`, a bucket then appearing once per app).
pub fn sketches(
    conn: &mut DbConnection,
    app_id: Option<&str>,
    grain: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, Vec<u8>)>, DbError> {
    let mut query = active_users::table
        .filter(active_users::grain.eq(grain))
        .filter(active_users::bucket.ge(from).and(active_users::bucket.lt(to)))
        .select((active_users::bucket, active_users::sketch))
        .order(active_users::bucket)
        .into_boxed();
    if let Some(app_id) = app_id {
        query = query.filter(active_users::app_id.eq(app_id));
    }
    Ok(query.load(conn)?)
}

/// Removes an app's rollups from bucket `from` on (a rebuild recomputes them).
pub fn clear(conn: &mut DbConnection, app_id: &str, from: i64) -> Result<(), DbError> {
    diesel::delete(metric_counts::table.filter(metric_counts::app_id.eq(app_id).and(metric_counts::bucket.ge(from))))
        .execute(conn)?;
    diesel::delete(active_users::table.filter(active_users::app_id.eq(app_id).and(active_users::bucket.ge(from))))
        .execute(conn)?;
    Ok(())
}
