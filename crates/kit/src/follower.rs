//! The feed follower: a consumer's loop over another service's event feed. It keeps its cursor
//! in its own database, written in the same transaction as the effects of each event it applies,
//! so each event takes effect once even though delivery is at least once. When the producer is
//! down it retries with backoff; its lag is a metric; it stops between batches on shutdown.

use actix_web::web;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use diesel::prelude::*;

use crate::db::{Db, DbConnection, DbError};
use crate::events::Event;
use crate::metrics::Metrics;
use crate::schema::chorus_feed_cursors;
use crate::shutdown::Shutdown;

const IDLE_POLL: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One page of a producer's feed.
#[derive(Debug, Clone)]
pub struct FeedBatch {
    pub events: Vec<Event>,
    /// The producer's newest event id, for the lag metric.
    pub last_id: i64,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The cursor is older than the producer's retention (410 Gone).
    #[error("the cursor is past the producer's retention")]
    Gone,
    #[error("{0}")]
    Unavailable(String),
}

pub type Fetch = Box<dyn Fn(i64) -> Pin<Box<dyn Future<Output = Result<FeedBatch, FetchError>> + Send>> + Send + Sync>;
pub type Apply = fn(&mut DbConnection, &Event) -> Result<(), ApplyError>;

/// Why applying an event failed; the batch rolls back and is retried.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Rejected(String),
}

/// Follows one feed until shutdown.
pub struct Follower {
    /// The feed's name in the cursor table and in metrics, such as `users`.
    pub feed: &'static str,
    pub db: Db,
    pub metrics: web::Data<Metrics>,
    pub shutdown: Shutdown,
    pub fetch: Fetch,
    /// Applies one event inside the batch's transaction.
    pub apply: Apply,
}

/// Where a consumer stands in `feed`.
pub fn cursor(conn: &mut DbConnection, feed: &str) -> Result<i64, DbError> {
    Ok(chorus_feed_cursors::table
        .find(feed)
        .select(chorus_feed_cursors::last_event_id)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Locks this feed's cursor row for the rest of the transaction and returns the cursor. Replicas
/// of a consumer each run a follower; the lock makes their batches take turns, and reading the
/// cursor after taking it means a batch another replica already applied is skipped.
fn lock_cursor(conn: &mut DbConnection, feed: &str) -> Result<i64, DbError> {
    let touched = diesel::update(chorus_feed_cursors::table.find(feed))
        .set(chorus_feed_cursors::updated_at.eq(crate::db::now()))
        .execute(conn)?;
    if touched == 0 {
        // First batch ever; a replica racing us here fails on the primary key and retries.
        store_cursor(conn, feed, 0)?;
    }
    cursor(conn, feed)
}

fn store_cursor(conn: &mut DbConnection, feed: &str, last_event_id: i64) -> Result<(), DbError> {
    let now = crate::db::now();
    let updated = diesel::update(chorus_feed_cursors::table.find(feed))
        .set((chorus_feed_cursors::last_event_id.eq(last_event_id), chorus_feed_cursors::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(chorus_feed_cursors::table)
            .values((
                chorus_feed_cursors::feed.eq(feed),
                chorus_feed_cursors::last_event_id.eq(last_event_id),
                chorus_feed_cursors::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

impl Follower {
    pub async fn run(self) {
        let mut failures: u32 = 0;
        loop {
            if self.shutdown.is_fired() {
                return;
            }
            let step = tokio::select! {
                step = self.step() => step,
                // A fetch can hang on a stalled connection; shutdown must not wait for it.
                _ = self.shutdown.fired() => return,
            };
            let pause = match step {
                Ok(true) => {
                    failures = 0;
                    Duration::ZERO
                }
                Ok(false) => {
                    failures = 0;
                    IDLE_POLL
                }
                Err(error) => {
                    self.metrics.count_feed_error(self.feed);
                    failures = failures.saturating_add(1);
                    let pause = backoff(failures);
                    tracing::warn!(feed = self.feed, %error, retry_in_ms = pause.as_millis() as u64, "feed follower failed");
                    pause
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = self.shutdown.fired() => return,
                }
            }
        }
    }

    /// Applies one batch; true when there may be more right away.
    async fn step(&self) -> Result<bool, String> {
        let feed = self.feed;
        let after = self.db.read(move |conn| cursor(conn, feed)).await.map_err(|e| e.to_string())?;
        let batch = (self.fetch)(after).await.map_err(|error| match error {
            FetchError::Gone => {
                tracing::error!(
                    feed,
                    after,
                    "the feed cursor is past retention; resync is needed (see docs/operations.md)"
                );
                error.to_string()
            }
            other => other.to_string(),
        })?;
        let Some(newest) = batch.events.last().map(|event| event.id) else {
            self.metrics.set_feed_lag(feed, batch.last_id - after);
            self.metrics.set_feed_position(feed, after);
            return Ok(false);
        };
        // One transaction per event: an event may touch many rows (an erasure does), and a short
        // transaction that appends its own events last keeps lock order simple for the service.
        for event in batch.events {
            let apply = self.apply;
            let id = event.id;
            self.db
                .write(move |conn| {
                    let applied_through = lock_cursor(conn, feed)?;
                    if event.id > applied_through {
                        apply(conn, &event)?;
                        store_cursor(conn, feed, event.id)?;
                    }
                    Ok::<_, ApplyError>(())
                })
                .await
                .map_err(|e| format!("applying event {id}: {e}"))?;
        }
        self.metrics.set_feed_lag(feed, (batch.last_id - newest).max(0));
        self.metrics.set_feed_position(feed, newest);
        Ok(true)
    }
}

/// Exponential backoff with jitter, capped.
fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(250).saturating_mul(1 << failures.min(8)).min(MAX_BACKOFF);
    let jitter = u64::from(crate::secrets::random_bytes(1)[0]) * base.as_millis() as u64 / 512;
    base + Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        assert!(backoff(1) < backoff(4));
        assert!(backoff(50) <= MAX_BACKOFF + MAX_BACKOFF / 2);
    }
}
