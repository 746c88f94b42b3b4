//! The operator's rebuild: recomputes every app's rollups from the raw events kept.
//!
//! Raw events older than the retention are gone, so only whole UTC days after the retention
//! cutoff are recomputed; older rollups stay as they are. While an app is rebuilt its writers
//! wait (on PostgreSQL, a lock on the deduplication keys, which every writer takes first).

use chorus_kit::db::{Db, DbConnection};
use chrono::{DateTime, Duration, Utc};
use diesel::connection::SimpleConnection;

use super::AnalyticsError;
use super::model::{Fact, Metric};
use super::time::{DAY, bucket};
use crate::store;

/// Raw events replayed per step.
const PAGE: i64 = 5_000;

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub apps: usize,
    pub events: usize,
    /// The first instant recomputed: the first UTC midnight after the retention cutoff.
    pub from: DateTime<Utc>,
}

pub async fn rebuild(db: &Db, retention_days: u32, now: DateTime<Utc>) -> Result<RebuildReport, AnalyticsError> {
    let cutoff = (now - Duration::days(i64::from(retention_days))).timestamp();
    let from = bucket(cutoff, DAY) + DAY;
    let apps = db.read(move |conn| store::raw::apps_since(conn, from * 1_000).map_err(AnalyticsError::from)).await?;
    let mut report =
        RebuildReport { apps: apps.len(), events: 0, from: DateTime::from_timestamp(from, 0).unwrap_or_default() };
    for app_id in apps {
        report.events += db.write(move |conn| rebuild_app(conn, &app_id, from)).await?;
    }
    Ok(report)
}

fn rebuild_app(conn: &mut DbConnection, app_id: &str, from: i64) -> Result<usize, AnalyticsError> {
    if let DbConnection::Postgresql(pg) = conn {
        pg.batch_execute("LOCK TABLE event_keys IN SHARE ROW EXCLUSIVE MODE")?;
    }
    store::rollups::clear(conn, app_id, from)?;
    store::leaders::clear(conn, app_id, from)?;
    let mut replayed = 0;
    let mut after = None;
    loop {
        let page = store::raw::page(conn, app_id, from * 1_000, after.take(), PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some((last.occurred_at, last.insert_id.clone()));
        let facts: Vec<Fact> = page.into_iter().filter_map(fact_of).collect();
        super::rollup::apply(conn, &facts.iter().collect::<Vec<_>>())?;
        replayed += facts.len();
    }
    Ok(replayed)
}

fn fact_of(raw: store::raw::RawEvent) -> Option<Fact> {
    Some(Fact {
        metric: Metric::parse(&raw.metric)?,
        occurred_at: DateTime::from_timestamp_millis(raw.occurred_at)?,
        app_id: raw.app_id,
        insert_id: raw.insert_id,
        user_id: raw.user_id,
        entity_key: raw.entity_key,
        properties: raw.properties,
        count: raw.count,
    })
}
