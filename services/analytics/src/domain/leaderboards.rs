//! Leaderboards (the top entities, the most active users) and metrics grouped by entity, from
//! the per-entity and per-user rollups: a range reads its whole UTC days at day grain and its
//! edges at quarter grain.

use std::collections::HashMap;

use chorus_kit::db::Db;
use chrono::{DateTime, Utc};

use super::AnalyticsError;
use super::metrics::MetricQuery;
use super::model::{Metric, Mode, Point};
use super::time::{self, DAY, QUARTER, Span};
use crate::store;
use crate::store::leaders::Coverage;

/// The most rows a leaderboard, or a grouped query's groups, may hold.
pub const MAX_LEADERS: i64 = 100;

/// What a leaderboard ranks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Board {
    /// Entities by the sum of these metrics.
    Entities(Vec<Metric>),
    /// Users by their activity: every fact that names them.
    Users,
}

/// The metrics an entity leaderboard sums when none is named: every action.
pub fn all_actions() -> Vec<Metric> {
    vec![Metric::Likes, Metric::Comments, Metric::Shares, Metric::Views]
}

/// The top `limit` of `board` over `[from, to)`, most first: widened to whole quarters for
/// entities, and to the whole UTC days it touches for users (whose activity is kept by day).
pub async fn top(
    db: &Db,
    app_id: &str,
    board: Board,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(String, i64)>, AnalyticsError> {
    super::metrics::check_range(from, to)?;
    let span = Span {
        start: time::bucket(from.timestamp(), QUARTER),
        end: time::bucket(to.timestamp() + QUARTER - 1, QUARTER).max(time::bucket(from.timestamp(), QUARTER) + QUARTER),
    };
    let coverage = match board {
        Board::Users => {
            let days = Span { start: time::bucket(span.start, DAY), end: time::bucket(span.end + DAY - 1, DAY) };
            Coverage { days: vec![(days.start, days.end)], quarters: Vec::new() }
        }
        Board::Entities(_) => coverage_of(&[span]),
    };
    let app_id = app_id.to_owned();
    let leaders = db
        .read(move |conn| match board {
            Board::Entities(metrics) => {
                let keys: Vec<String> = metrics.iter().map(Metric::key).collect();
                store::leaders::top_entities(conn, Some(&app_id), &keys, &coverage, limit)
            }
            Board::Users => store::leaders::top_users(conn, Some(&app_id), &coverage, limit),
        })
        .await?;
    Ok(leaders.into_iter().map(|leader| (leader.key, leader.count)).collect())
}

/// A counted metric per interval for each of its top `limit` entities over the range, most
/// first.
pub async fn grouped_by_entity(
    db: &Db,
    query: MetricQuery,
    limit: i64,
) -> Result<Vec<(String, Vec<Point>)>, AnalyticsError> {
    if query.metric.is_distinct() {
        return Err(AnalyticsError::Invalid {
            field: "group_by",
            message: "users.active is a distinct count, which is not kept per entity".into(),
        });
    }
    let spans = super::metrics::spans_of(&query)?;
    let coverage = coverage_of(&spans);
    let metric = query.metric.key();
    let (app_id, mode) = (query.app_id.clone(), query.mode);
    let (leaders, rows) = db
        .read(move |conn| {
            let leaders =
                store::leaders::top_entities(conn, app_id.as_deref(), std::slice::from_ref(&metric), &coverage, limit)?;
            let keys: Vec<String> = leaders.iter().map(|leader| leader.key.clone()).collect();
            let rows = store::leaders::entity_rows(conn, app_id.as_deref(), &metric, &keys, &coverage)?;
            Ok::<_, AnalyticsError>((leaders, rows))
        })
        .await?;
    let mut values: HashMap<String, Vec<i64>> =
        leaders.iter().map(|leader| (leader.key.clone(), vec![0; spans.len()])).collect();
    for (key, _grain, bucket, count) in rows {
        // Each stored bucket read lies in exactly one span's cover.
        let index = spans.partition_point(|span| span.start <= bucket).saturating_sub(1);
        if let Some(series) = values.get_mut(&key) {
            series[index] += count;
        }
    }
    Ok(leaders
        .into_iter()
        .map(|leader| {
            let mut series = values.remove(&leader.key).unwrap_or_default();
            if mode == Mode::Cumulative {
                super::metrics::accumulate(&mut series);
            }
            let points =
                spans.iter().zip(series).map(|(span, value)| Point { start: span_start(span), value }).collect();
            (leader.key, points)
        })
        .collect())
}

fn span_start(span: &Span) -> DateTime<Utc> {
    DateTime::from_timestamp(span.start, 0).unwrap_or_default()
}

fn coverage_of(spans: &[Span]) -> Coverage {
    let (days, quarters) = time::coverage(spans);
    let pairs = |runs: Vec<Span>| runs.into_iter().map(|run| (run.start, run.end)).collect();
    Coverage { days: pairs(days), quarters: pairs(quarters) }
}
