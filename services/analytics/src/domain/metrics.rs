//! Metric queries, answered from the rollups alone: sums of quarter counts for counted
//! metrics, merges of quarter and day sketches for distinct users.

use chorus_kit::db::{Db, DbConnection};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::AnalyticsError;
use super::model::{Metric, Mode, Point};
use super::sketch::DistinctUsers;
use super::time::{self, DAY, Interval, QUARTER, Span};
use crate::store;

/// The most points one query may answer.
pub const MAX_POINTS: usize = 1_000;

/// One metric query of one app.
#[derive(Debug, Clone)]
pub struct MetricQuery {
    /// The app; `None` for the whole platform (the operator's view).
    pub app_id: Option<String>,
    pub metric: Metric,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub interval: Interval,
    pub mode: Mode,
    pub tz: Tz,
}

/// The metric's value for each interval of the range; empty intervals are zero.
pub async fn series(db: &Db, query: MetricQuery) -> Result<Vec<Point>, AnalyticsError> {
    let spans = spans_of(&query)?;
    let (spans, values) = db
        .read(move |conn| {
            let values = if query.metric.is_distinct() {
                distinct_users(conn, query.app_id.as_deref(), &spans, query.mode)?
            } else {
                counted(conn, query.app_id.as_deref(), &query.metric.key(), &spans, query.mode)?
            };
            Ok::<_, AnalyticsError>((spans, values))
        })
        .await?;
    Ok(spans
        .iter()
        .zip(values)
        .map(|(span, value)| Point { start: DateTime::from_timestamp(span.start, 0).unwrap_or_default(), value })
        .collect())
}

/// The query's intervals, checked: `from` not after `to`, at most [`MAX_POINTS`] of them.
pub fn spans_of(query: &MetricQuery) -> Result<Vec<Span>, AnalyticsError> {
    check_range(query.from, query.to)?;
    // An empty range asks for the interval holding its instant.
    let to = query.to.max(query.from + chrono::Duration::seconds(1));
    time::intervals(query.from, to, query.interval, query.tz, MAX_POINTS)
        .map_err(|error| AnalyticsError::Invalid { field: "interval", message: error.to_string() })
}

/// A range's `from` may not be after its `to`.
pub fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), AnalyticsError> {
    if from > to {
        return Err(AnalyticsError::Invalid { field: "from", message: "must not be after `to`".into() });
    }
    Ok(())
}

/// Running sums, in place.
pub fn accumulate(values: &mut [i64]) {
    let mut total = 0;
    for value in values {
        total += *value;
        *value = total;
    }
}

/// The metric's value over one span, at the quarters covering it: what an alert's window reads.
pub fn window_value(conn: &mut DbConnection, app_id: &str, metric: &Metric, span: Span) -> Result<i64, AnalyticsError> {
    let values = if metric.is_distinct() {
        distinct_users(conn, Some(app_id), &[span], Mode::PerInterval)?
    } else {
        counted(conn, Some(app_id), &metric.key(), &[span], Mode::PerInterval)?
    };
    Ok(values.into_iter().sum())
}

/// Sums of quarter counts per span (running sums when cumulative).
fn counted(
    conn: &mut DbConnection,
    app_id: Option<&str>,
    metric: &str,
    spans: &[Span],
    mode: Mode,
) -> Result<Vec<i64>, AnalyticsError> {
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else { return Ok(Vec::new()) };
    let mut values = vec![0; spans.len()];
    for (bucket, count) in store::rollups::counts(conn, app_id, metric, first.start, last.end)? {
        // Spans are contiguous and ordered, and every bucket of the range falls in one.
        let index = spans.partition_point(|span| span.start <= bucket).saturating_sub(1);
        values[index] += count;
    }
    if mode == Mode::Cumulative {
        accumulate(&mut values);
    }
    Ok(values)
}

/// Distinct users per span (since the range's start when cumulative), merging the day sketches
/// of whole UTC days and the quarter sketches of the edges. A span's sketches are read and
/// merged before the next span's are read, so a long range costs reads, not memory.
fn distinct_users(
    conn: &mut DbConnection,
    app_id: Option<&str>,
    spans: &[Span],
    mode: Mode,
) -> Result<Vec<i64>, AnalyticsError> {
    let mut running = DistinctUsers::new();
    let mut values = Vec::with_capacity(spans.len());
    for span in spans {
        let cover = time::cover(*span);
        let mut users = DistinctUsers::new();
        if let Some(days) = cover.days {
            merge_into(&mut users, conn, app_id, DAY, days)?;
        }
        for edge in cover.quarters {
            merge_into(&mut users, conn, app_id, QUARTER, edge)?;
        }
        let value = match mode {
            Mode::PerInterval => users.count(),
            Mode::Cumulative => {
                running.merge(&users);
                running.count()
            }
        };
        values.push(value);
    }
    Ok(values)
}

/// Merges into `users` the stored sketches of `grain` for buckets in `span` (one per app and
/// bucket; across apps, their union).
fn merge_into(
    users: &mut DistinctUsers,
    conn: &mut DbConnection,
    app_id: Option<&str>,
    grain: i64,
    span: Span,
) -> Result<(), AnalyticsError> {
    for (_, bytes) in store::rollups::sketches(conn, app_id, grain, span.start, span.end)? {
        users.merge(&DistinctUsers::from_bytes(&bytes)?);
    }
    Ok(())
}
