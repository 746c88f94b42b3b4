//! The event log: a service appends events to its `chorus_events` table in the same transaction
//! as the change, so the table is both the outbox and the log. This module is its store (append,
//! read, prune, erase); [`crate::feed`] serves it over HTTP and [`crate::hub`] keeps streams live.
//!
//! # Positions without a global lock
//!
//! Readers page by id (`after`), so ids must grow in the order events become visible, and an
//! event that commits late must never land behind a cursor that has moved on. Writers must not
//! queue behind each other to get there, or the database's group commit has nothing to group.
//!
//! - **PostgreSQL:** an event's id is its transaction's id (`pg_current_xact_id()`) shifted left
//!   by [`TX_SHIFT`] bits, plus its rank within the transaction. Writers take no lock. Readers
//!   return only ids below the *visibility horizon*: the oldest transaction still running
//!   (`pg_snapshot_xmin(pg_current_snapshot())`), shifted the same way. Every transaction below it
//!   has finished, so nothing can appear there later: a transaction that started earlier and
//!   commits later holds the horizon back until it commits, and its events are then delivered in
//!   their place, once. Ids therefore increase in commit-visibility order but are not
//!   consecutive, and a long-running writing transaction on the server delays every feed until
//!   it ends.
//! - **SQLite** has one writer at a time, so a counter row (`chorus_event_sequence`) hands out
//!   consecutive ids in commit order at no cost.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

use crate::db::{Db, DbConnection, DbError};
use crate::prepared::Statement;
use crate::schema::{chorus_event_sequence, chorus_events};
use crate::shutdown::Shutdown;

/// The SQL of the *visibility horizon* (see the module docs): the oldest running transaction's
/// id, shifted by [`TX_SHIFT`]. Every PostgreSQL statement that judges visibility uses this one.
macro_rules! horizon_sql {
    () => {
        "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)"
    };
}

/// The SQL expression that numbers one event appended by a service's own statement on
/// PostgreSQL, as [`publish`] numbers it (this transaction's id shifted by [`TX_SHIFT`], plus the
/// event's rank in the transaction, counted in the transaction-local `chorus.event_rank`). For a
/// statement that writes a change and its event at once, so it commits by itself
/// ([`crate::db::Db::write_unwrapped`]); evaluate it once per event row. A macro, so the
/// service can `concat!` it into its statement's SQL.
#[macro_export]
macro_rules! next_event_id_sql {
    () => {
        "((pg_current_xact_id()::text::bigint << 20) + set_config('chorus.event_rank', \
           (COALESCE(NULLIF(current_setting('chorus.event_rank', true), '')::bigint, -1) + 1)::text, \
           true)::bigint)"
    };
}

/// The statement of [`read_at_horizon`], with `$filter` narrowing the events: `$1` after,
/// `$2` limit, `$3` app id, `$4` subject (PostgreSQL numbers only the placeholders used).
macro_rules! read_sql {
    ($filter:literal) => {
        concat!(
            "SELECT s.pruned_through, e.id, e.app_id, e.event_type, e.subject, e.data, e.occurred_at \
             FROM chorus_event_sequence s LEFT JOIN LATERAL ( \
               SELECT id, app_id, event_type, subject, data, occurred_at FROM chorus_events \
               WHERE id > $1 AND id < ",
            horizon_sql!(),
            " ",
            $filter,
            " ORDER BY id LIMIT $2) e ON true WHERE s.id = 1 ORDER BY e.id"
        )
    };
}

/// The scope a service token needs to read a feed.
pub const READ_SCOPE: &str = "events:read";

/// One event of a feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Increases in commit order (not necessarily by one). Pass it as `after` to continue.
    pub id: i64,
    /// What happened, such as `user.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The app the event belongs to.
    pub app_id: String,
    /// The id of the resource the event is about.
    pub subject: String,
    /// The event's body; its shape depends on `type`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// A change a service publishes on its feed.
///
/// The domain names the change with a type of its own, free of wire concerns; the service's
/// `api` layer implements this trait for it, giving the wire form its spec publishes (through
/// the service's [`crate::event_types::EventCatalog`]). So renaming a domain field never
/// changes a published event.
pub trait Publish {
    /// The event type, such as `action.created`: one of the service's catalog.
    fn event_type(&self) -> &'static str;
    /// The id of the resource the event is about (an entity, a user, a recipient).
    fn subject(&self) -> &str;
    /// The event's `data`, in the shape the spec's schema for [`Publish::event_type`] shows.
    fn data(&self) -> serde_json::Value;
}

/// Publishes `event` inside the caller's transaction, so it commits (or not) with the change,
/// and returns it as readers will see it.
pub fn publish(conn: &mut DbConnection, app_id: &str, event: &impl Publish) -> Result<Event, DbError> {
    let data = event.data();
    let (id, occurred_at) = insert(conn, app_id, event.event_type(), event.subject(), &data)?;
    Ok(Event {
        id,
        event_type: event.event_type().to_owned(),
        app_id: app_id.to_owned(),
        subject: event.subject().to_owned(),
        data,
        occurred_at: occurred_at.and_utc(),
    })
}

/// Publishes several events inside the caller's transaction, in the order given, and returns
/// them as readers will see them, in that order. On PostgreSQL this is one statement however
/// many there are (the view recorder publishes one event per entity of a group, a fan-out one
/// per recipient of a page); on SQLite, one insert each.
pub fn publish_all<E: Publish>(conn: &mut DbConnection, events: &[(&str, E)]) -> Result<Vec<Event>, DbError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    if let DbConnection::Postgresql(pg) = conn {
        let occurred_at = crate::db::now();
        let data: Vec<serde_json::Value> = events.iter().map(|(_, event)| event.data()).collect();
        let column = |f: &dyn Fn(&(&str, E)) -> String| events.iter().map(f).collect::<Vec<String>>();
        let rows = Rows {
            app_ids: column(&|(app_id, _)| (*app_id).to_owned()),
            event_types: column(&|(_, event)| event.event_type().to_owned()),
            subjects: column(&|(_, event)| event.subject().to_owned()),
            data: data.iter().map(serde_json::Value::to_string).collect(),
        };
        let ids = insert_rows(pg, rows, occurred_at)?;
        let published = ids.into_iter().zip(events).zip(data).map(|((id, (app_id, event)), data)| Event {
            id,
            event_type: event.event_type().to_owned(),
            app_id: (*app_id).to_owned(),
            subject: event.subject().to_owned(),
            data,
            occurred_at: occurred_at.and_utc(),
        });
        return Ok(published.collect());
    }
    events.iter().map(|(app_id, event)| publish(conn, app_id, event)).collect()
}

/// What erasure takes out of a service's retained events: the words of a person, or of one
/// deleted comment, that the events quote.
///
/// Like [`Publish`], the domain names what to forget and the `api` layer, which owns the wire
/// shapes, implements how.
pub trait Redaction {
    /// Text every event this redaction changes contains (a user or action id); it narrows the
    /// scan.
    fn needle(&self) -> &str;
    /// Edits one retained event's `data`; true when it changed it.
    fn redact(&self, event_type: &str, data: &mut serde_json::Value) -> bool;
}

/// Applies `redaction` to every retained event it concerns; returns how many changed.
pub fn redact(conn: &mut DbConnection, redaction: &impl Redaction) -> Result<usize, DbError> {
    rewrite_mentioning(conn, redaction.needle(), |event_type, data| redaction.redact(event_type, data))
}

/// Appends an event inside the caller's transaction and returns its id. Services publish
/// through [`publish`]; this raw form serves the kit and tests.
pub fn append(
    conn: &mut DbConnection,
    app_id: &str,
    event_type: &str,
    subject: &str,
    data: &impl Serialize,
) -> Result<i64, DbError> {
    let data = serde_json::to_value(data).unwrap_or_else(|_| serde_json::json!({}));
    Ok(insert(conn, app_id, event_type, subject, &data)?.0)
}

/// Inserts one event; returns its id and when it occurred.
fn insert(
    conn: &mut DbConnection,
    app_id: &str,
    event_type: &str,
    subject: &str,
    data: &serde_json::Value,
) -> Result<(i64, chrono::NaiveDateTime), DbError> {
    let occurred_at = crate::db::now();
    if let DbConnection::Postgresql(pg) = conn {
        let rows = Rows {
            app_ids: vec![app_id.to_owned()],
            event_types: vec![event_type.to_owned()],
            subjects: vec![subject.to_owned()],
            data: vec![data.to_string()],
        };
        let ids = insert_rows(pg, rows, occurred_at)?;
        return Ok((ids[0], occurred_at));
    }
    let id = next_id(conn)?;
    diesel::insert_into(chorus_events::table)
        .values((
            chorus_events::id.eq(id),
            chorus_events::app_id.eq(app_id),
            chorus_events::event_type.eq(event_type),
            chorus_events::subject.eq(subject),
            chorus_events::data.eq(data.to_string()),
            chorus_events::occurred_at.eq(occurred_at),
        ))
        .execute(conn)?;
    Ok((id, occurred_at))
}

/// Events to insert on PostgreSQL, column by column.
struct Rows {
    app_ids: Vec<String>,
    event_types: Vec<String>,
    subjects: Vec<String>,
    data: Vec<String>,
}

/// Inserts `rows` on PostgreSQL in one statement, numbering them (see [`next_id`]) in the order
/// given; returns their ids in that order.
fn insert_rows(
    pg: &mut diesel::PgConnection,
    rows: Rows,
    occurred_at: chrono::NaiveDateTime,
) -> Result<Vec<i64>, DbError> {
    use diesel::sql_types::{Array, BigInt, Text, Timestamp};

    let count = rows.app_ids.len() as i64;
    let mut ids: Vec<i64> = Statement::new(
        "INSERT INTO chorus_events (id, app_id, event_type, subject, data, occurred_at) \
         SELECT (pg_current_xact_id()::text::bigint << 20) + n.last - $6 + u.rank, \
                u.app_id, u.event_type, u.subject, u.data, $5 \
         FROM (SELECT set_config('chorus.event_rank', \
                 (COALESCE(NULLIF(current_setting('chorus.event_rank', true), '')::bigint, -1) + $6)::text, \
                 true)::bigint AS last) n, \
              unnest($1::text[], $2::text[], $3::text[], $4::text[]) \
              WITH ORDINALITY AS u(app_id, event_type, subject, data, rank) \
         RETURNING id",
    )
    .bind::<Array<Text>, _>(rows.app_ids)
    .bind::<Array<Text>, _>(rows.event_types)
    .bind::<Array<Text>, _>(rows.subjects)
    .bind::<Array<Text>, _>(rows.data)
    .bind::<Timestamp, _>(occurred_at)
    .bind::<BigInt, _>(count)
    .load::<Position>(pg)?
    .into_iter()
    .map(|position| position.id)
    .collect();
    // Ranks follow the input's order, so sorted ids do too.
    ids.sort_unstable();
    Ok(ids)
}

type EventRow = (i64, String, String, String, String, chrono::NaiveDateTime);

/// Narrows a read to one app's events about one subject (an entity's live stream, say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub app_id: Option<String>,
    pub subject: Option<String>,
}

/// On PostgreSQL, an event id is `transaction id << TX_SHIFT` plus its rank in the transaction,
/// so one transaction may append up to 2^20 events, and ids stay below 2^53 (exact in every JSON
/// reader) for 2^33 transactions.
pub const TX_SHIFT: u32 = 20;

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// The id for the next event of the caller's transaction on SQLite. (On PostgreSQL, [`insert`]
/// computes it in the insert: the transaction's id, from `pg_current_xact_id()`, which gives the
/// transaction its id before the event exists, plus the event's rank in the transaction, counted
/// in a transaction-local setting, `chorus.event_rank`, that resets when the transaction ends and
/// rolls back with a savepoint. No index is read and no row is locked to number an event.)
fn next_id(conn: &mut DbConnection) -> Result<i64, DbError> {
    // One writer at a time: the counter row's lock costs nothing, and ids stay consecutive.
    diesel::update(chorus_event_sequence::table.find(1))
        .set(chorus_event_sequence::last_id.eq(chorus_event_sequence::last_id + 1))
        .execute(conn)?;
    Ok(chorus_event_sequence::table.find(1).select(chorus_event_sequence::last_id).first(conn)?)
}

/// The lowest id a reader may not see yet (PostgreSQL): events of transactions still running,
/// or not yet started, are at or above it. `None` on SQLite, where every committed event is final.
fn horizon(conn: &mut DbConnection) -> Result<Option<i64>, DbError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            Ok(Some(Statement::new(concat!("SELECT ", horizon_sql!(), " AS id")).get_result::<Position>(pg)?.id))
        }
        DbConnection::Sqlite(_) => Ok(None),
    }
}

/// The newest event id readers can see, 0 for an empty log.
pub fn last_id(conn: &mut DbConnection) -> Result<i64, DbError> {
    if let DbConnection::Postgresql(pg) = conn {
        // One statement: a process's tail asks after every commit while nobody listens.
        return Ok(Statement::new(concat!(
            "SELECT COALESCE(MAX(id), 0) AS id FROM chorus_events WHERE id < ",
            horizon_sql!()
        ))
        .planned_each_time()
        .get_result::<Position>(pg)?
        .id);
    }
    let horizon = horizon(conn)?;
    newest_below(conn, horizon)
}

fn newest_below(conn: &mut DbConnection, horizon: Option<i64>) -> Result<i64, DbError> {
    match horizon {
        Some(horizon) => Ok(chorus_events::table
            .filter(chorus_events::id.lt(horizon))
            .filter(crate::prepared::planned_each_time())
            .select(diesel::dsl::max(chorus_events::id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0)),
        None => Ok(chorus_event_sequence::table.find(1).select(chorus_event_sequence::last_id).first(conn)?),
    }
}

/// True when every committed event is visible to readers: nothing committed sits at or above the
/// horizon (always on SQLite). Tests use it to read the feed after their writes.
pub fn all_visible(conn: &mut DbConnection) -> Result<bool, DbError> {
    let Some(horizon) = horizon(conn)? else { return Ok(true) };
    let newest: Option<i64> = chorus_events::table.select(diesel::dsl::max(chorus_events::id)).first(conn)?;
    Ok(newest.is_none_or(|newest| newest < horizon))
}

/// How many events a reader at `after` has yet to read, counted up to `cap` (by the database,
/// without loading them).
pub fn behind(conn: &mut DbConnection, after: i64, cap: i64) -> Result<i64, DbError> {
    let horizon = horizon(conn)?;
    count_behind(conn, after, cap, horizon)
}

const COUNT_BEHIND: &str =
    "SELECT COUNT(*) AS behind FROM (SELECT id FROM chorus_events WHERE id > $1 AND id < $2 LIMIT $3) ahead";

fn count_behind(conn: &mut DbConnection, after: i64, cap: i64, horizon: Option<i64>) -> Result<i64, DbError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        behind: i64,
    }
    use diesel::sql_types::BigInt;

    let (after, horizon) = (after, horizon.unwrap_or(i64::MAX));
    Ok(match conn {
        DbConnection::Postgresql(pg) => Statement::new(COUNT_BEHIND)
            .planned_each_time()
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(horizon)
            .bind::<BigInt, _>(cap)
            .get_result::<Count>(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(COUNT_BEHIND)
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(horizon)
            .bind::<BigInt, _>(cap)
            .get_result::<Count>(sqlite)?,
    }
    .behind)
}

/// One page of the feed after `after`, with the newest visible id and how many events remain
/// after the page (up to `behind_cap`), all judged against one visibility horizon.
pub fn page(conn: &mut DbConnection, after: i64, limit: u32, behind_cap: i64) -> Result<Page, ReadError> {
    let horizon = horizon(conn)?;
    let events = read_below(conn, after, limit, &EventFilter::default(), horizon)?;
    let next_after = events.last().map_or(after, |event| event.id);
    let behind = count_behind(conn, next_after, behind_cap, horizon)?;
    let last_id = newest_below(conn, horizon)?;
    Ok(Page { events, next_after, last_id, behind })
}

/// A page of the feed, as [`page`] reads it.
#[derive(Debug)]
pub struct Page {
    pub events: Vec<Event>,
    /// The `after` for the next page: the last id returned, or the `after` given.
    pub next_after: i64,
    /// The newest id readers can see.
    pub last_id: i64,
    pub behind: i64,
}

/// Why events could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The events after the cursor were pruned (past retention): the reader must resync from
    /// the producer's API, then follow from `pruned_through`.
    #[error("events up to {pruned_through} are past retention")]
    Gone { pruned_through: i64 },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Reads events after `after`, or fails with [`ReadError::Gone`] when they were pruned.
pub fn read(conn: &mut DbConnection, after: i64, limit: u32) -> Result<Vec<Event>, ReadError> {
    read_filtered(conn, after, limit, &EventFilter::default())
}

/// Reads the events after `after` that pass `filter`, or fails with [`ReadError::Gone`] when they
/// were pruned.
pub fn read_filtered(
    conn: &mut DbConnection,
    after: i64,
    limit: u32,
    filter: &EventFilter,
) -> Result<Vec<Event>, ReadError> {
    if let DbConnection::Postgresql(pg) = conn {
        return read_at_horizon(pg, after, limit, filter);
    }
    read_below(conn, after, limit, filter, None)
}

/// [`read_filtered`] on PostgreSQL in one statement (a live stream reads after every commit):
/// the horizon, the page below it and the prune mark, all of one snapshot.
fn read_at_horizon(
    pg: &mut diesel::PgConnection,
    after: i64,
    limit: u32,
    filter: &EventFilter,
) -> Result<Vec<Event>, ReadError> {
    use diesel::sql_types::{BigInt, Text};

    // One statement per filter, so each keeps a plan that uses its index.
    let sql = match (&filter.app_id, &filter.subject) {
        (None, None) => read_sql!(""),
        (Some(_), None) => read_sql!("AND app_id = $3"),
        (None, Some(_)) => read_sql!("AND subject = $4"),
        (Some(_), Some(_)) => read_sql!("AND app_id = $3 AND subject = $4"),
    };
    let rows: Vec<ReadRow> = Statement::new(sql)
        .planned_each_time()
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(i64::from(limit))
        .bind::<Text, _>(filter.app_id.clone().unwrap_or_default())
        .bind::<Text, _>(filter.subject.clone().unwrap_or_default())
        .load(pg)
        .map_err(DbError::from)?;
    let pruned_through = rows.first().map_or(0, |row| row.pruned_through);
    if after < pruned_through {
        return Err(ReadError::Gone { pruned_through });
    }
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Event {
                id: row.id?,
                event_type: row.event_type?,
                app_id: row.app_id?,
                subject: row.subject?,
                data: serde_json::from_str(&row.data?).unwrap_or(serde_json::Value::Null),
                occurred_at: row.occurred_at?.and_utc(),
            })
        })
        .collect())
}

/// One row of [`read_at_horizon`]: the prune mark, and an event unless the page is empty.
#[derive(QueryableByName)]
struct ReadRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pruned_through: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    app_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    event_type: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    subject: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    data: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    occurred_at: Option<chrono::NaiveDateTime>,
}

fn read_below(
    conn: &mut DbConnection,
    after: i64,
    limit: u32,
    filter: &EventFilter,
    horizon: Option<i64>,
) -> Result<Vec<Event>, ReadError> {
    let mut query = chorus_events::table
        .filter(chorus_events::id.gt(after))
        .order(chorus_events::id.asc())
        .limit(i64::from(limit))
        .into_boxed();
    // Only below the horizon: nothing can commit there any more.
    if let Some(horizon) = horizon {
        // Planned for the log as it is now (see `prepared::planned_each_time`).
        query = query.filter(chorus_events::id.lt(horizon)).filter(crate::prepared::planned_each_time());
    }
    if let Some(app_id) = &filter.app_id {
        query = query.filter(chorus_events::app_id.eq(app_id.clone()));
    }
    if let Some(subject) = &filter.subject {
        query = query.filter(chorus_events::subject.eq(subject.clone()));
    }
    let rows: Vec<EventRow> = query.load(conn).map_err(DbError::from)?;
    // Checked after the read: a prune that committed before it is seen here, so a reader never
    // gets a page with a hole where pruned events were.
    let pruned_through: i64 = chorus_event_sequence::table
        .find(1)
        .select(chorus_event_sequence::pruned_through)
        .first(conn)
        .map_err(DbError::from)?;
    if after < pruned_through {
        return Err(ReadError::Gone { pruned_through });
    }
    Ok(rows
        .into_iter()
        .map(|(id, app_id, event_type, subject, data, occurred_at)| Event {
            id,
            event_type,
            app_id,
            subject,
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            occurred_at: occurred_at.and_utc(),
        })
        .collect())
}

/// Rewrites the retained events whose data mentions `needle` (a user id, say) with `edit`, which
/// returns true when it changed the event. Erasure uses it so personal data does not outlive the
/// person in the log. Returns how many events changed.
fn rewrite_mentioning(
    conn: &mut DbConnection,
    needle: &str,
    mut edit: impl FnMut(&str, &mut serde_json::Value) -> bool,
) -> Result<usize, DbError> {
    let escaped = crate::db::like_escape(needle);
    let rows: Vec<(i64, String, String)> = chorus_events::table
        .filter(chorus_events::data.like(format!("%{escaped}%")).escape('\\'))
        .select((chorus_events::id, chorus_events::event_type, chorus_events::data))
        .load(conn)?;
    let mut changed = 0;
    for (id, event_type, data) in rows {
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&data) else { continue };
        if edit(&event_type, &mut value) {
            diesel::update(chorus_events::table.find(id))
                .set(chorus_events::data.eq(value.to_string()))
                .execute(conn)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Deletes the retained events about `subject` of type `event_type` (erasure: the events
/// addressed to a person must not outlive them). Readers page by `id > after`, so the gap they
/// leave is never noticed. Returns how many went.
pub fn forget_subject(conn: &mut DbConnection, subject: &str, event_type: &str) -> Result<usize, DbError> {
    Ok(diesel::delete(
        chorus_events::table.filter(chorus_events::subject.eq(subject).and(chorus_events::event_type.eq(event_type))),
    )
    .execute(conn)?)
}

/// Deletes events older than `retention`; readers behind them then get 410 Gone.
pub fn prune(conn: &mut DbConnection, retention: chrono::TimeDelta) -> Result<usize, DbError> {
    let cutoff = crate::db::now() - retention;
    let newest_expired: Option<i64> = chorus_events::table
        .filter(chorus_events::occurred_at.lt(cutoff))
        .select(diesel::dsl::max(chorus_events::id))
        .first(conn)?;
    let Some(through) = newest_expired else { return Ok(0) };
    diesel::update(chorus_event_sequence::table.find(1))
        .set(chorus_event_sequence::pruned_through.eq(through))
        .execute(conn)?;
    Ok(diesel::delete(chorus_events::table.filter(chorus_events::id.le(through))).execute(conn)?)
}

/// How long an `Idempotency-Key` is remembered.
const IDEMPOTENCY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(600);

/// Background upkeep every producing service runs: prunes events past `retention` and forgets
/// expired idempotency keys, until shutdown.
pub async fn housekeeping(db: Db, retention: chrono::TimeDelta, shutdown: Shutdown) {
    loop {
        let outcome = db
            .write(move |conn| {
                let events = prune(conn, retention)?;
                let keys = crate::idempotency::prune(conn, IDEMPOTENCY_WINDOW)?;
                Ok::<_, DbError>((events, keys))
            })
            .await;
        match outcome {
            Ok((0, 0)) => {}
            Ok((events, keys)) => tracing::info!(events, idempotency_keys = keys, "pruned"),
            Err(error) => tracing::warn!(%error, "housekeeping failed; retrying later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(HOUSEKEEPING_INTERVAL) => {}
            _ = shutdown.fired() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TX_SHIFT;

    #[test]
    fn the_sql_that_numbers_events_shifts_by_tx_shift() {
        let shift = format!("::bigint << {TX_SHIFT})");
        for sql in [horizon_sql!(), next_event_id_sql!()] {
            assert!(sql.contains(&shift), "{sql}");
        }
    }
}
