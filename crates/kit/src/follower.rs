//! The feed follower: a consumer's loop over another service's event feed, read through the
//! producer's generated client as typed events. It keeps its cursor in its own database, written
//! in the same transaction as the effects of each event it applies, so each event takes effect
//! once even though delivery is at least once. When the producer is down it retries with backoff;
//! its lag is a metric; it stops between batches on shutdown.
//!
//! Events are pushed, not polled: the follower pages `GET /v1/events` until it has caught up,
//! then subscribes to the producer's server-sent events (`/v1/events/stream` from its cursor, as
//! `Last-Event-ID`) and applies each event as it arrives. When the stream ends or fails it pages
//! again to close any gap, and subscribes anew, with backoff while the producer is away. An idle
//! platform therefore sends no requests: the stream stays open, with the producer's keepalives.
//!
//! An event of a type the consumer's client does not know is skipped on purpose (a new event
//! type is a compatible change) and counted. A known type that does not parse is never skipped:
//! the follower stops before it, counts it in `chorus_feed_malformed_events_total` (which the
//! shipped alerts watch), logs it, and tries again with backoff, so nothing is lost.

use actix_web::web;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;

pub use chorus_client_support::FeedItem;

use crate::db::{Db, DbConnection, DbError};
use crate::metrics::Metrics;
use crate::schema::chorus_feed_cursors;
use crate::shutdown::Shutdown;

const IDLE_POLL: Duration = Duration::from_millis(500);
/// The most events one transaction applies. Under load a follower commits many events at once,
/// so the consumer's fsyncs do not grow with the producer's traffic; an erasure, which touches
/// many rows, still shares a transaction with at most this many others.
const MAX_BATCH: usize = 64;
/// Events read from a stream ahead of the batch being applied.
const READ_AHEAD: usize = 4 * MAX_BATCH;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One page of a producer's feed: each event's id, and the event as the client could read it.
#[derive(Debug, Clone)]
pub struct FeedBatch<E> {
    pub events: Vec<(i64, FeedItem<E>)>,
    /// Events after this page the producer has yet to deliver, for the lag metric.
    pub behind: i64,
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

/// Reads the page of the feed after a cursor.
pub type Fetch<E> =
    Box<dyn Fn(i64) -> Pin<Box<dyn Future<Output = Result<FeedBatch<E>, FetchError>> + Send>> + Send + Sync>;
/// The live events after a cursor, in order, each with its id, as the producer pushes them.
pub type EventStream<E> = Pin<Box<dyn futures_util::Stream<Item = Result<(i64, FeedItem<E>), FetchError>> + Send>>;
/// Opens the producer's event stream after a cursor.
pub type Subscribe<E> =
    Box<dyn Fn(i64) -> Pin<Box<dyn Future<Output = Result<EventStream<E>, FetchError>> + Send>> + Send + Sync>;
/// Applies a batch of typed events, in feed order, inside the follower's transaction (at most
/// `MAX_BATCH`, 64, at a time). A consumer that needs the same lookup for every event (an app's
/// webhooks, say) does it once per batch; one that does not wraps a per-event function in
/// [`each`].
pub type Apply<E> = Arc<dyn Fn(&mut DbConnection, &[&E]) -> Result<(), ApplyError> + Send + Sync>;

/// An [`Apply`] that applies each event of a batch with `apply_one`, in order.
pub fn each<E: 'static>(
    apply_one: impl Fn(&mut DbConnection, &E) -> Result<(), ApplyError> + Send + Sync + 'static,
) -> Apply<E> {
    Arc::new(move |conn, events| events.iter().try_for_each(|event| apply_one(conn, event)))
}

/// Why applying an event failed; the batch rolls back and is retried.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Rejected(String),
}

/// Follows one feed of events of type `E` (the producer client's `types::Event`) until shutdown.
pub struct Follower<E> {
    /// The feed's name in the cursor table and in metrics, such as `users`.
    pub feed: &'static str,
    pub db: Db,
    pub metrics: web::Data<Metrics>,
    pub shutdown: Shutdown,
    pub fetch: Fetch<E>,
    /// The producer's live stream; without one, the follower polls `fetch`.
    pub subscribe: Option<Subscribe<E>>,
    /// Applies the events of a batch inside their transaction, with the cursor.
    pub apply: Apply<E>,
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
    let locked: Option<i64> = diesel::update(chorus_feed_cursors::table.find(feed))
        .set(chorus_feed_cursors::updated_at.eq(crate::db::now()))
        .returning(chorus_feed_cursors::last_event_id)
        .get_result(conn)
        .optional()?;
    match locked {
        Some(cursor) => Ok(cursor),
        None => {
            // First batch ever; a replica racing us here fails on the primary key and retries.
            store_cursor(conn, feed, 0)?;
            Ok(0)
        }
    }
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

impl<E: Send + Sync + 'static> Follower<E> {
    pub async fn run(self) {
        self.metrics.register_feed(self.feed);
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
            let caught_up = match step {
                Ok(more) => !more,
                Err(error) => {
                    self.metrics.count_feed_error(self.feed);
                    failures = failures.saturating_add(1);
                    let pause = backoff(failures);
                    tracing::warn!(feed = self.feed, %error, retry_in_ms = pause.as_millis() as u64, "feed follower failed");
                    if !self.pause(pause).await {
                        return;
                    }
                    continue;
                }
            };
            if !caught_up {
                failures = 0;
                continue;
            }
            let pause = match &self.subscribe {
                None => {
                    failures = 0;
                    IDLE_POLL
                }
                Some(subscribe) => match self.follow_stream(subscribe).await {
                    // Ended cleanly (the producer restarted, say): page, then subscribe again.
                    Ok(applied) => {
                        failures = if applied > 0 { 0 } else { failures.saturating_add(1) };
                        if failures == 0 { Duration::ZERO } else { backoff(failures) }
                    }
                    Err(error) => {
                        self.metrics.count_feed_error(self.feed);
                        failures = failures.saturating_add(1);
                        let pause = backoff(failures);
                        tracing::warn!(feed = self.feed, %error, retry_in_ms = pause.as_millis() as u64, "feed stream failed");
                        pause
                    }
                },
            };
            if !self.pause(pause).await {
                return;
            }
        }
    }

    /// Sleeps for `pause`; false when shutdown came first.
    async fn pause(&self, pause: Duration) -> bool {
        if pause.is_zero() {
            return !self.shutdown.is_fired();
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => true,
            _ = self.shutdown.fired() => false,
        }
    }

    /// Applies events from the producer's stream as they arrive, until it ends, fails, or
    /// shutdown; returns how many it applied.
    async fn follow_stream(&self, subscribe: &Subscribe<E>) -> Result<usize, String> {
        use futures_util::StreamExt;

        let feed = self.feed;
        let after = self.db.read(move |conn| cursor(conn, feed)).await.map_err(|e| e.to_string())?;
        let mut stream = tokio::select! {
            opened = subscribe(after) => opened.map_err(|e| e.to_string())?,
            _ = self.shutdown.fired() => return Ok(0),
        };
        self.metrics.set_feed_lag(feed, 0);
        // Read ahead while a batch commits: the HTTP client reads the response only on demand,
        // so without this each commit would carry the one or two events read just before it.
        let (arriving, mut arrived) = tokio::sync::mpsc::channel(READ_AHEAD);
        // A JoinSet aborts the reader when the follower stops following.
        let mut reader = tokio::task::JoinSet::new();
        reader.spawn(async move {
            while let Some(item) = stream.next().await {
                let failed = item.is_err();
                if arriving.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        let mut applied = 0;
        loop {
            let next = tokio::select! {
                next = arrived.recv() => next,
                _ = self.shutdown.fired() => return Ok(applied),
            };
            let first = match next {
                None => return Ok(applied),
                Some(Err(error)) => return Err(error.to_string()),
                Some(Ok(item)) => item,
            };
            // Whatever else has already arrived joins this transaction: under load one commit
            // carries many events; when quiet, each event is applied as it comes.
            let mut batch = vec![first];
            let mut broken = None;
            while batch.len() < MAX_BATCH {
                match arrived.try_recv() {
                    Ok(Ok(item)) => batch.push(item),
                    Ok(Err(error)) => {
                        broken = Some(error.to_string());
                        break;
                    }
                    Err(_) => break,
                }
            }
            let newest = batch.last().map_or(0, |(id, _)| *id);
            applied += self.apply_batch(batch).await?;
            self.metrics.set_feed_position(feed, newest);
            if let Some(error) = broken {
                return Err(error);
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
        let Some(newest) = batch.events.last().map(|(id, _)| *id) else {
            self.metrics.set_feed_lag(feed, batch.behind);
            self.metrics.set_feed_position(feed, after);
            return Ok(false);
        };
        let mut events = batch.events.into_iter().peekable();
        while events.peek().is_some() {
            self.apply_batch(events.by_ref().take(MAX_BATCH).collect()).await?;
        }
        self.metrics.set_feed_lag(feed, batch.behind);
        self.metrics.set_feed_position(feed, newest);
        Ok(batch.behind > 0)
    }

    /// Applies `items` in one transaction, with the cursor, skipping those a replica already
    /// applied; returns how many were new. An unknown type is skipped on purpose; a malformed
    /// known one stops the follower before it (the events before it are applied).
    async fn apply_batch(&self, items: Vec<(i64, FeedItem<E>)>) -> Result<usize, String> {
        let feed = self.feed;
        let mut events = Vec::with_capacity(items.len());
        let mut malformed = None;
        for (id, item) in items {
            match item {
                FeedItem::Known(event) => events.push((id, Some(event))),
                FeedItem::Unknown { event_type, .. } => {
                    tracing::debug!(feed, id, event_type, "skipped an event type this client does not know");
                    self.metrics.count_feed_skipped(feed, &event_type);
                    events.push((id, None));
                }
                FeedItem::Malformed { event_type, error, .. } => {
                    self.metrics.count_feed_malformed(feed);
                    tracing::error!(
                        feed,
                        id,
                        event_type,
                        error,
                        "an event of a known type does not match its schema; stopped before it"
                    );
                    malformed = Some(format!("event {id} ({event_type}) does not parse: {error}"));
                    break;
                }
            }
        }
        let apply = self.apply.clone();
        let applied = if events.is_empty() {
            0
        } else {
            self.db
                .write(move |conn| {
                    let applied_through = lock_cursor(conn, feed)?;
                    let new: Vec<&(i64, Option<E>)> = events.iter().filter(|(id, _)| *id > applied_through).collect();
                    let Some((newest, _)) = new.last() else { return Ok::<_, ApplyError>(0) };
                    let known: Vec<&E> = new.iter().filter_map(|(_, event)| event.as_ref()).collect();
                    if !known.is_empty() {
                        apply(conn, &known)?;
                    }
                    store_cursor(conn, feed, *newest)?;
                    Ok(new.len())
                })
                .await
                .map_err(|e| format!("applying events of {feed}: {e}"))?
        };
        match malformed {
            Some(error) => Err(error),
            None => Ok(applied),
        }
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
