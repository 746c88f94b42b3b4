//! Ingestion of the SDK's custom events: each event is judged on its own, the valid ones are
//! kept once per insert id, and the answer says which were refused and why.

use std::collections::HashSet;

use chorus_kit::db::{Db, DbConnection};
use chrono::{DateTime, Duration, Utc};

use super::AnalyticsError;
use super::model::{Fact, Metric};

/// The most events one batch may carry.
pub const MAX_BATCH_EVENTS: usize = 1_000;
/// The largest batch body, in bytes (1 MiB).
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// How far in the future a timestamp may lie (clocks drift).
pub const MAX_FUTURE: Duration = Duration::days(1);

/// One custom event, as its batch carried it (the shape already checked).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub name: String,
    pub user_id: Option<String>,
    pub entity_key: Option<String>,
    /// The properties, as a JSON object's text.
    pub properties: String,
    pub timestamp: DateTime<Utc>,
    pub insert_id: String,
}

/// Who sends a batch: an app, or one of its users.
#[derive(Debug, Clone)]
pub struct Sender {
    pub app_id: String,
    /// Set for a user token: events are theirs, and may name no other user.
    pub user_id: Option<String>,
}

/// Why one event of a batch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("timestamp is more than a day in the future")]
    InTheFuture,
    #[error("timestamp is older than the {days}-day retention")]
    PastRetention { days: u32 },
    #[error("user_id must be the signed-in user's own")]
    NotTheSender,
}

/// What became of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Events kept and counted.
    pub accepted: usize,
    /// Events whose insert id was already seen (in this batch or before).
    pub duplicates: usize,
    /// Refused events, by index in the batch.
    pub rejected: Vec<(usize, Rejection)>,
}

/// Judges each event, then keeps and counts the valid ones not seen before, all in one
/// transaction: the answer is given only once they are durable.
pub async fn ingest(
    db: &Db,
    sender: &Sender,
    events: Vec<NewEvent>,
    retention_days: u32,
    now: DateTime<Utc>,
) -> Result<IngestReport, AnalyticsError> {
    let oldest = now - Duration::days(i64::from(retention_days));
    let mut report = IngestReport::default();
    let mut seen = HashSet::with_capacity(events.len());
    let mut facts = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        let judged = if event.timestamp > now + MAX_FUTURE {
            Err(Rejection::InTheFuture)
        } else if event.timestamp < oldest {
            Err(Rejection::PastRetention { days: retention_days })
        } else if sender.user_id.is_some() && event.user_id.is_some() && event.user_id != sender.user_id {
            Err(Rejection::NotTheSender)
        } else {
            Ok(())
        };
        if let Err(rejection) = judged {
            report.rejected.push((index, rejection));
            continue;
        }
        if !seen.insert(event.insert_id.clone()) {
            report.duplicates += 1;
            continue;
        }
        facts.push(Fact {
            app_id: sender.app_id.clone(),
            insert_id: event.insert_id,
            metric: Metric::Custom(event.name),
            user_id: event.user_id.or_else(|| sender.user_id.clone()),
            entity_key: event.entity_key,
            properties: event.properties,
            count: 1,
            occurred_at: event.timestamp,
        });
    }
    if facts.is_empty() {
        return Ok(report);
    }
    let valid = facts.len();
    let kept = db.write(move |conn| record(conn, facts)).await?;
    report.accepted = kept;
    report.duplicates += valid - kept;
    Ok(report)
}

/// Keeps the facts not seen before (by insert id) as raw events and adds them to the rollups;
/// answers how many were new. Runs inside the caller's transaction. A fact about an erased
/// user still counts, but no longer names them.
pub fn record(conn: &mut DbConnection, mut facts: Vec<Fact>) -> Result<usize, AnalyticsError> {
    let mut users: Vec<String> = facts.iter().filter_map(|fact| fact.user_id.clone()).collect();
    users.sort_unstable();
    users.dedup();
    let erased: HashSet<String> = chorus_kit::mirror::erased_among(conn, &users)?.into_iter().collect();
    if !erased.is_empty() {
        for fact in &mut facts {
            if fact.user_id.as_ref().is_some_and(|user| erased.contains(user)) {
                fact.user_id = None;
            }
        }
    }
    let claimed = crate::store::raw::claim(conn, &facts)?;
    let new: Vec<&Fact> = facts.iter().filter(|fact| claimed.contains(&fact.insert_id)).collect();
    crate::store::raw::insert(conn, &new)?;
    super::rollup::apply(conn, &new)?;
    Ok(new.len())
}
