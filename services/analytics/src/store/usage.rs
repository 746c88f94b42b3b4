//! Every service's API usage, as analytics gathered it.

use chorus_kit::db::{DbConnection, DbError};
use chorus_kit::schema::chorus_api_usage;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::upsert::excluded;

use super::schema::api_usage;

/// Sets the calls of `(service, operation, app, day)` rows, replacing what was gathered before
/// (a service's count for a day only grows, and is read whole each time).
pub fn set_counts(
    conn: &mut DbConnection,
    service: &str,
    day: &str,
    counts: &[(String, String, i64)],
) -> Result<(), DbError> {
    let rows: Vec<_> = counts
        .iter()
        .map(|(app_id, operation, calls)| {
            (
                api_usage::service.eq(service),
                api_usage::operation.eq(operation),
                api_usage::app_id.eq(app_id),
                api_usage::day.eq(day),
                api_usage::calls.eq(calls),
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        let upsert = diesel::insert_into(api_usage::table)
            .values(chunk)
            .on_conflict((api_usage::operation, api_usage::app_id, api_usage::service, api_usage::day))
            .do_update()
            .set(api_usage::calls.eq(excluded(api_usage::calls)));
        chorus_kit::on_backend!(&mut *conn, |c| upsert.execute(c))?;
    }
    Ok(())
}

/// This service's own counts of `day` (the kit's table): `(app, operation, calls)`.
pub fn own_counts(conn: &mut DbConnection, day: &str) -> Result<Vec<(String, String, i64)>, DbError> {
    Ok(chorus_api_usage::table
        .filter(chorus_api_usage::day.eq(day))
        .select((chorus_api_usage::app_id, chorus_api_usage::operation, chorus_api_usage::calls))
        .load(conn)?)
}

/// The last day (`YYYY-MM-DD`) gathered from `service`, if any.
pub fn last_day_of(conn: &mut DbConnection, service: &str) -> Result<Option<String>, DbError> {
    Ok(api_usage::table.filter(api_usage::service.eq(service)).select(diesel::dsl::max(api_usage::day)).first(conn)?)
}

/// One consumer of an operation.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Consumer {
    #[diesel(sql_type = Text)]
    pub app_id: String,
    #[diesel(sql_type = BigInt)]
    pub calls: i64,
    /// The last day (UTC, `YYYY-MM-DD`) it called.
    #[diesel(sql_type = Text)]
    pub last_day: String,
}

/// The apps that called `operation` (of `service`, or of any) on `since` or later, by app id
/// after `after`.
pub fn consumers(
    conn: &mut DbConnection,
    operation: &str,
    service: Option<&str>,
    since: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Consumer>, DbError> {
    let consumers = diesel::sql_query(
        "SELECT app_id, CAST(SUM(calls) AS BIGINT) AS calls, MAX(day) AS last_day FROM api_usage \
         WHERE operation = $1 AND ($2 = '' OR service = $2) AND day >= $3 AND app_id > $4 \
         GROUP BY app_id HAVING SUM(calls) > 0 ORDER BY app_id LIMIT $5",
    )
    .bind::<Text, _>(operation)
    .bind::<Text, _>(service.unwrap_or_default())
    .bind::<Text, _>(since)
    .bind::<Text, _>(after.unwrap_or_default())
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(consumers)
}
