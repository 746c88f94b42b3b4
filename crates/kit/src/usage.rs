//! API usage: calls per day, consumer (app) and operation id, counted by the kit for every
//! service. It answers "which apps still call operation X since day D", the list of callers a
//! deprecation must reach. Counts gather in memory and are written every few seconds (and at
//! shutdown), so counting costs no write per request.

use crate::extract::Query;
use actix_web::web;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::db::{Db, DbConnection, DbError};
use crate::problem::Problem;
use crate::schema::chorus_api_usage;
use crate::shutdown::Shutdown;

/// The scope a service token needs to read usage.
pub const READ_SCOPE: &str = "usage:read";
const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Counts not yet written.
#[derive(Default)]
pub struct UsageCounter {
    pending: Mutex<HashMap<(NaiveDate, String, String), i64>>,
}

impl UsageCounter {
    pub fn count(&self, app_id: &str, operation: &str) {
        let day = chrono::Utc::now().date_naive();
        let mut pending = self.pending.lock().expect("usage lock");
        *pending.entry((day, app_id.to_owned(), operation.to_owned())).or_default() += 1;
    }

    fn take(&self) -> HashMap<(NaiveDate, String, String), i64> {
        std::mem::take(&mut *self.pending.lock().expect("usage lock"))
    }

    /// Writes what was counted; on failure the counts go back for the next flush.
    pub async fn flush(&self, db: &Db) {
        let counts = self.take();
        if counts.is_empty() {
            return;
        }
        let batch = counts.clone();
        if let Err(error) = db.write(move |conn| write_counts(conn, &batch)).await {
            tracing::warn!(%error, "writing API usage failed; keeping the counts for the next try");
            let mut pending = self.pending.lock().expect("usage lock");
            for (key, calls) in counts {
                *pending.entry(key).or_default() += calls;
            }
        }
    }
}

fn write_counts(conn: &mut DbConnection, counts: &HashMap<(NaiveDate, String, String), i64>) -> Result<(), DbError> {
    for ((day, app_id, operation), calls) in counts {
        let day = day.to_string();
        let key = chorus_api_usage::table.find((&day, app_id, operation));
        let updated =
            diesel::update(key).set(chorus_api_usage::calls.eq(chorus_api_usage::calls + calls)).execute(conn)?;
        if updated == 0 {
            let inserted = crate::db::insert_once(conn, |conn| {
                diesel::insert_into(chorus_api_usage::table)
                    .values((
                        chorus_api_usage::day.eq(&day),
                        chorus_api_usage::app_id.eq(app_id),
                        chorus_api_usage::operation.eq(operation),
                        chorus_api_usage::calls.eq(calls),
                    ))
                    .execute(conn)
            })?;
            if !inserted {
                // Another replica wrote the day's first count meanwhile.
                diesel::update(key).set(chorus_api_usage::calls.eq(chorus_api_usage::calls + calls)).execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Writes counts every few seconds until shutdown, then once more.
pub async fn flusher(counter: web::Data<UsageCounter>, db: Db, shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FLUSH_INTERVAL) => counter.flush(&db).await,
            _ = shutdown.fired() => {
                counter.flush(&db).await;
                return;
            }
        }
    }
}

/// One app's calls of one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageRow {
    pub app_id: String,
    pub operation: String,
    pub calls: i64,
    /// The first and last day (UTC, `YYYY-MM-DD`) with calls in the range.
    pub first_day: String,
    pub last_day: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageReport {
    pub items: Vec<UsageRow>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Only this operation id, such as `get_users`.
    #[param(min_length = 1)]
    pub operation: Option<String>,
    /// From this day on (UTC, `YYYY-MM-DD`); default: all kept days.
    pub since: Option<NaiveDate>,
}

/// Who called what
///
/// Calls per app and operation id since a day: the apps a deprecation or breaking change would
/// reach. Counts are written every few seconds. Needs the `usage:read` scope (or the operator).
#[utoipa::path(
    get,
    path = "/v1/usage",
    tag = "usage",
    operation_id = "get_usage",
    params(UsageQuery),
    responses(
        (status = 200, description = "Calls per app and operation", body = UsageReport),
        (status = 400, response = crate::problem::responses::BadRequest),
        (status = 401, response = crate::problem::responses::Unauthorized),
        (status = 403, response = crate::problem::responses::Forbidden),
    ),
    security(("service" = []), ("operator" = []))
)]
pub async fn get_usage(
    principal: Principal,
    db: web::Data<Db>,
    counter: web::Data<UsageCounter>,
    query: Query<UsageQuery>,
) -> Result<web::Json<UsageReport>, Problem> {
    if !principal.has_scope(READ_SCOPE) {
        return Err(Problem::forbidden(format!("reading usage needs the `{READ_SCOPE}` scope")));
    }
    if query.operation.as_deref().is_some_and(str::is_empty) {
        return Err(Problem::invalid("operation", "must not be empty"));
    }
    let since = query.since.map(|day| day.to_string());
    // What this replica counted but has not written yet is part of the answer.
    counter.flush(&db).await;
    let operation = query.operation.clone();
    let rows: Vec<(String, String, String, i64)> = db
        .read(move |conn| {
            let mut select = chorus_api_usage::table
                .select((
                    chorus_api_usage::app_id,
                    chorus_api_usage::operation,
                    chorus_api_usage::day,
                    chorus_api_usage::calls,
                ))
                .into_boxed();
            if let Some(operation) = operation {
                select = select.filter(chorus_api_usage::operation.eq(operation));
            }
            if let Some(since) = since {
                select = select.filter(chorus_api_usage::day.ge(since));
            }
            select.load(conn).map_err(DbError::from)
        })
        .await?;
    let mut report: Vec<UsageRow> = Vec::new();
    for (app_id, operation, day, calls) in rows {
        match report.iter_mut().find(|row| row.app_id == app_id && row.operation == operation) {
            Some(row) => {
                row.calls += calls;
                row.first_day = row.first_day.clone().min(day.clone());
                row.last_day = row.last_day.clone().max(day);
            }
            None => report.push(UsageRow { app_id, operation, calls, first_day: day.clone(), last_day: day }),
        }
    }
    report.sort_by(|a, b| (&a.operation, &a.app_id).cmp(&(&b.operation, &b.app_id)));
    Ok(web::Json(UsageReport { items: report }))
}
