//! API usage: which apps call which operation of which service. Every service counts its calls
//! per app, operation and day and serves them at `GET /v1/usage`; analytics gathers them through
//! each service's client (its own from its table), so a deprecation or a breaking change can be
//! told to exactly the apps it would hit.
//!
//! Counts are gathered when they are asked for (at most every [`FRESH_FOR`]), so an idle
//! platform makes no requests. A service answers totals since a day, so a day's count is the
//! total since it less the total since the next. A round reads every day since the last one
//! gathered (yesterday at least, whose last calls land after midnight), and the first round for
//! a service reads back [`BACKFILL_DAYS`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chorus_kit::db::Db;
use chorus_upstream::{Peer, Upstream, UsageCount};
use chrono::{Days, NaiveDate, Utc};

use super::AnalyticsError;
use crate::store;

/// Days read back the first time a service is gathered from, and at most on any round.
pub const BACKFILL_DAYS: u64 = 30;
/// How long gathered counts answer before the next question gathers again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);
/// This service's own name in the usage table.
pub const OWN: &str = "analytics";

/// The services gathered from, with their base URLs, and when they were last gathered from.
pub struct Peers {
    pub upstream: Arc<Upstream>,
    pub urls: Vec<(Peer, String)>,
    last_round: tokio::sync::Mutex<Option<Instant>>,
}

impl Peers {
    pub fn new(upstream: Arc<Upstream>, urls: Vec<(Peer, String)>) -> Self {
        Self { upstream, urls, last_round: tokio::sync::Mutex::new(None) }
    }

    /// Gathers unless the last round is fresher than [`FRESH_FOR`]; concurrent askers wait for
    /// one round.
    pub async fn refresh(&self, db: &Db) -> Result<(), AnalyticsError> {
        let mut last_round = self.last_round.lock().await;
        if last_round.is_some_and(|at| at.elapsed() < FRESH_FOR) {
            return Ok(());
        }
        gather(db, self, Utc::now().date_naive()).await?;
        *last_round = Some(Instant::now());
        Ok(())
    }
}

/// Gathers every service's counts for the days not yet final; answers how many (service, day)
/// pairs were written. A service that cannot be reached is skipped until the next round.
pub async fn gather(db: &Db, peers: &Peers, today: NaiveDate) -> Result<usize, AnalyticsError> {
    let mut written = 0;
    for (peer, url) in &peers.urls {
        let service = peer.name();
        let last = db.read(move |conn| store::usage::last_day_of(conn, service)).await?;
        let back = days_back(last.as_deref(), today);
        // Totals since each day, oldest first; the day after today has none.
        let mut since = Vec::new();
        for days in (0..=back).rev() {
            let day = today - Days::new(days);
            match peers.upstream.usage(*peer, url, day).await {
                Ok(counts) => since.push((day, totals(counts))),
                Err(error) => {
                    tracing::warn!(%error, service, "reading API usage failed; trying again next round");
                    since.clear();
                    break;
                }
            }
        }
        for (index, (day, total)) in since.iter().enumerate() {
            let next = since.get(index + 1).map(|(_, next)| next);
            let counts: Vec<(String, String, i64)> = total
                .iter()
                .map(|((app, operation), calls)| {
                    let later = next.and_then(|next| next.get(&(app.clone(), operation.clone()))).copied().unwrap_or(0);
                    (app.clone(), operation.clone(), calls - later)
                })
                .filter(|(_, _, calls)| *calls > 0)
                .collect();
            let day = day.to_string();
            db.write(move |conn| store::usage::set_counts(conn, service, &day, &counts)).await?;
            written += 1;
        }
    }
    // Its own counts are in its own table: every day since the last one copied.
    let last = db.read(|conn| store::usage::last_day_of(conn, OWN)).await?;
    let back = days_back(last.as_deref(), today);
    for days in (0..=back).rev() {
        let day = (today - Days::new(days)).to_string();
        db.write(move |conn| {
            let counts = store::usage::own_counts(conn, &day)?;
            store::usage::set_counts(conn, OWN, &day, &counts)
        })
        .await?;
        written += 1;
    }
    Ok(written)
}

/// Days to read back: since the last day gathered (yesterday at least), or [`BACKFILL_DAYS`] the
/// first time.
fn days_back(last: Option<&str>, today: NaiveDate) -> u64 {
    match last.and_then(|day| day.parse::<NaiveDate>().ok()) {
        Some(last) => u64::try_from((today - last).num_days()).unwrap_or(0).clamp(1, BACKFILL_DAYS),
        None => BACKFILL_DAYS,
    }
}

fn totals(counts: Vec<UsageCount>) -> HashMap<(String, String), i64> {
    let mut totals = HashMap::new();
    for count in counts {
        *totals.entry((count.app_id, count.operation)).or_default() += count.calls;
    }
    totals
}
