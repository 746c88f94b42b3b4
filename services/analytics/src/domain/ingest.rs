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

/// Judges each event, then keeps and counts the valid ones not seen before through `writer`:
/// the answer is given only once they are durable.
pub async fn ingest(
    writer: &IngestWriter,
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
    let kept = writer.record(facts).await?;
    report.accepted = kept;
    report.duplicates += valid - kept;
    Ok(report)
}

/// Keeps the facts not seen before (by insert id) as raw events and adds them to the rollups;
/// answers how many were new. Runs inside the caller's transaction. A fact about an erased
/// user still counts, but no longer names them.
pub fn record(conn: &mut DbConnection, facts: Vec<Fact>) -> Result<usize, AnalyticsError> {
    Ok(record_group(conn, vec![facts])?.first().copied().unwrap_or(0))
}

/// [`record`] for several batches at once, in one transaction: the rollups' rows, which every
/// batch of an app updates, are written once for the group. An insert id that two batches of
/// the group share counts for the first. Answers each batch's new facts.
pub fn record_group(conn: &mut DbConnection, batches: Vec<Vec<Fact>>) -> Result<Vec<usize>, AnalyticsError> {
    let batch_count = batches.len();
    let mut seen = HashSet::new();
    let mut owned = Vec::new();
    for (index, batch) in batches.into_iter().enumerate() {
        for fact in batch {
            if seen.insert((fact.app_id.clone(), fact.insert_id.clone())) {
                owned.push((index, fact));
            }
        }
    }
    // Keys are claimed in one order by every writer, so two groups never wait on each other in
    // a cycle.
    owned.sort_by(|(_, a), (_, b)| (&a.app_id, &a.insert_id).cmp(&(&b.app_id, &b.insert_id)));
    let (owners, mut facts): (Vec<usize>, Vec<Fact>) = owned.into_iter().unzip();
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
    let mut kept = vec![0; batch_count];
    let mut new = Vec::with_capacity(facts.len());
    for (fact, owner) in facts.iter().zip(&owners) {
        if claimed.contains(&(fact.app_id.clone(), fact.insert_id.clone())) {
            kept[*owner] += 1;
            new.push(fact);
        }
    }
    crate::store::raw::insert(conn, &new)?;
    super::rollup::apply(conn, &new)?;
    Ok(kept)
}

/// Most facts one group commits.
const MAX_GROUP_FACTS: usize = 20_000;
/// Groups being written at once: while one commits, the next runs its statements; the second
/// waits on the first only for the app's rollup rows, just before its own commit.
const GROUPS_IN_FLIGHT: usize = 2;

/// One batch waiting for its group.
struct Job {
    facts: Vec<Fact>,
    done: tokio::sync::oneshot::Sender<Result<usize, AnalyticsError>>,
}

/// Writes ingested batches in groups: while a group is written, the batches that arrive queue,
/// and the next group takes them all (up to 20,000 facts) in one transaction, with at most
/// [`GROUPS_IN_FLIGHT`] groups at once. Concurrent batches of an app thus rarely wait on each
/// other's locks of the app's rollup rows, and each is answered once its group is durable.
#[derive(Clone)]
pub struct IngestWriter {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

impl IngestWriter {
    /// Starts the writer; it stops at `shutdown`, after the HTTP server drained.
    pub fn start(db: Db, shutdown: chorus_kit::shutdown::Shutdown) -> (Self, tokio::task::JoinHandle<()>) {
        let (jobs, queue) = tokio::sync::mpsc::channel(1_024);
        (Self { jobs }, tokio::spawn(write_groups(db, queue, shutdown)))
    }

    /// Keeps `facts` with the next group; answers how many were new.
    pub async fn record(&self, facts: Vec<Fact>) -> Result<usize, AnalyticsError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.jobs.send(Job { facts, done }).await.map_err(|_| chorus_kit::db::DbError::Task)?;
        answer.await.map_err(|_| chorus_kit::db::DbError::Task)?
    }
}

async fn write_groups(db: Db, mut queue: tokio::sync::mpsc::Receiver<Job>, shutdown: chorus_kit::shutdown::Shutdown) {
    let mut writing = tokio::task::JoinSet::new();
    loop {
        // A free slot first, so batches keep queueing (and grouping) while the slots are busy.
        while writing.len() >= GROUPS_IN_FLIGHT {
            writing.join_next().await;
        }
        let first = tokio::select! {
            job = queue.recv() => job,
            _ = shutdown.fired() => None,
        };
        let Some(first) = first else {
            while writing.join_next().await.is_some() {}
            return;
        };
        let mut size = first.facts.len();
        let mut jobs = vec![first];
        while size < MAX_GROUP_FACTS {
            match queue.try_recv() {
                Ok(job) => {
                    size += job.facts.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        writing.spawn(write_group(db.clone(), jobs));
    }
}

/// Writes one group and answers its batches. When the group fails as a whole (a deadlock, a
/// lost connection), each batch is tried again on its own, so one batch's trouble is not its
/// neighbours'.
async fn write_group(db: Db, jobs: Vec<Job>) {
    let (batches, answers): (Vec<Vec<Fact>>, Vec<_>) = jobs.into_iter().map(|job| (job.facts, job.done)).unzip();
    let retry = (batches.len() > 1).then(|| batches.clone());
    match db.write(move |conn| record_group(conn, batches)).await {
        Ok(kept) => {
            for (answer, kept) in answers.into_iter().zip(kept.into_iter().chain(std::iter::repeat(0))) {
                let _ = answer.send(Ok(kept));
            }
        }
        Err(error) => {
            let Some(batches) = retry else {
                let _ = answers.into_iter().next().map(|answer| answer.send(Err(error)));
                return;
            };
            tracing::warn!(%error, batches = batches.len(), "an ingest group failed; writing its batches one by one");
            for (facts, answer) in batches.into_iter().zip(answers) {
                let _ = answer.send(db.write(move |conn| record(conn, facts)).await);
            }
        }
    }
}
