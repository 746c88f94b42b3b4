//! Raw-event retention: day partitions are made ahead of time (PostgreSQL) and everything past
//! the retention goes, hourly and at start.

use std::time::Duration;

use chorus_kit::db::Db;
use chorus_kit::shutdown::Shutdown;
use chrono::Utc;

use super::AnalyticsError;
use crate::store;

const EVERY: Duration = Duration::from_secs(3_600);
/// Days back that get their own partition.
const BACKFILL_DAYS: i64 = 7;

/// Runs [`maintain`] now and hourly until shutdown.
pub async fn run(db: Db, retention_days: u32, shutdown: Shutdown) {
    loop {
        if let Err(error) = maintain(&db, retention_days).await {
            tracing::warn!(%error, "raw-event retention failed; trying again within the hour");
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.fired() => return,
        }
    }
}

/// Makes the partitions of the days most events land in (a week back, for devices that were
/// offline, to two days ahead), drops what is past the retention (older backfills land in the
/// default partition, whose old rows are deleted), and sweeps away rows naming an erased user
/// that a write racing the erasure left. Each step is its own short transaction, since creating
/// or dropping a partition locks the table its writers use.
pub async fn maintain(db: &Db, retention_days: u32) -> Result<(), AnalyticsError> {
    let today = Utc::now().timestamp().div_euclid(86_400);
    let retention = i64::from(retention_days);
    for day in today - BACKFILL_DAYS.min(retention)..=today + 2 {
        db.write(move |conn| store::raw::ensure_partitions(conn, day, day)).await?;
    }
    let before = (Utc::now().timestamp() - retention * 86_400) * 1_000;
    let dropped = db.write(move |conn| store::raw::prune(conn, before)).await?;
    if dropped > 0 {
        tracing::info!(dropped, "dropped raw-event partitions past the retention");
    }
    let swept = db.write(store::raw::sweep_erased).await?;
    if swept > 0 {
        tracing::info!(swept, "removed rows naming erased users that raced their erasure");
    }
    Ok(())
}
