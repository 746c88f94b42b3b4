//! The event feed: a service appends events to its `chorus_events` table in the same transaction
//! as the change (so the table is both the outbox and the log), and serves the log as
//! `GET /v1/events` and as server-sent events on `GET /v1/events/stream`.

use crate::extract::Query;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::db::{Db, DbConnection, DbError};
use crate::hub::{EventHub, LiveStream};
use crate::problem::{Problem, ProblemType};
use crate::schema::{chorus_event_sequence, chorus_events};
use crate::shutdown::Shutdown;

/// The scope a service token needs to read a feed.
pub const READ_SCOPE: &str = "events:read";
const MAX_LIMIT: u32 = 500;

/// One event of a feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Increases by one per event, in commit order. Pass it as `after` to continue.
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

/// A page of the feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<Event>,
    /// The `after` value for the next request: the last id returned, or the `after` given.
    pub next_after: i64,
    /// The newest event id in the log; `last_id - next_after` is how far the reader is behind.
    pub last_id: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Return events with an id greater than this (default 0, the oldest retained).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many events per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<u32>,
}

impl FeedQuery {
    /// `limit`, checked: 1 to 500, 100 when absent.
    fn page_size(&self) -> Result<u32, Problem> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        Ok(limit)
    }
}

/// The `Last-Event-ID` request header of a stream (the WHATWG server-sent events standard): a
/// reconnecting client resumes after this event id.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct LastEventIdHeader {
    /// Resume after this event id (the `id` of the last event received); wins over `after`.
    #[param(rename = "Last-Event-ID", pattern = r"^[0-9]{1,18}$", min_length = 1, max_length = 18, nullable = false)]
    pub last_event_id: Option<String>,
}

/// One server-sent event of a Chorus stream, as the spec describes it (the OpenAPI 3.2 form):
/// `id` is the event's feed id, `event` its type and `data` the event as JSON. The event
/// catalog gives `data` its schema; lines starting with `:` are keep-alives.
#[derive(Debug, ToSchema)]
pub struct EventFrame {
    /// The event's feed id; resume after it with `Last-Event-ID`.
    pub id: String,
    /// The event's `type`.
    pub event: String,
    /// The event, as JSON.
    pub data: String,
}

/// Appends an event inside the caller's transaction and returns its id.
pub fn append(
    conn: &mut DbConnection,
    app_id: &str,
    event_type: &str,
    subject: &str,
    data: &impl Serialize,
) -> Result<i64, DbError> {
    // The sequence row is locked until commit, so ids are handed out in commit order.
    diesel::update(chorus_event_sequence::table.find(1))
        .set(chorus_event_sequence::last_id.eq(chorus_event_sequence::last_id + 1))
        .execute(conn)?;
    let id: i64 = chorus_event_sequence::table.find(1).select(chorus_event_sequence::last_id).first(conn)?;
    diesel::insert_into(chorus_events::table)
        .values((
            chorus_events::id.eq(id),
            chorus_events::app_id.eq(app_id),
            chorus_events::event_type.eq(event_type),
            chorus_events::subject.eq(subject),
            chorus_events::data.eq(serde_json::to_string(data).unwrap_or_else(|_| "{}".into())),
            chorus_events::occurred_at.eq(crate::db::now()),
        ))
        .execute(conn)?;
    Ok(id)
}

type EventRow = (i64, String, String, String, String, chrono::NaiveDateTime);

/// Narrows a read to one app's events about one subject (an entity's live stream, say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub app_id: Option<String>,
    pub subject: Option<String>,
}

/// The newest event id, 0 for an empty log.
pub fn last_id(conn: &mut DbConnection) -> Result<i64, DbError> {
    Ok(chorus_event_sequence::table.find(1).select(chorus_event_sequence::last_id).first(conn)?)
}

/// Reads events after `after`, or fails with 410 when they were pruned.
pub fn read(conn: &mut DbConnection, after: i64, limit: u32) -> Result<Vec<Event>, Problem> {
    read_filtered(conn, after, limit, &EventFilter::default())
}

/// Reads the events after `after` that pass `filter`, or fails with 410 when they were pruned.
pub fn read_filtered(
    conn: &mut DbConnection,
    after: i64,
    limit: u32,
    filter: &EventFilter,
) -> Result<Vec<Event>, Problem> {
    let mut query = chorus_events::table
        .filter(chorus_events::id.gt(after))
        .order(chorus_events::id.asc())
        .limit(i64::from(limit))
        .into_boxed();
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
        return Err(Problem::new(ProblemType::Gone).with_detail(format!(
            "events up to {pruned_through} are past retention; rebuild from the service's API, \
             then follow from after={pruned_through}"
        )));
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
pub fn rewrite_mentioning(
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

fn authorize(principal: &Principal) -> Result<(), Problem> {
    if principal.has_scope(READ_SCOPE) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!("reading the event feed needs the `{READ_SCOPE}` scope")))
    }
}

/// Registers the feed endpoints.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/events", web::get().to(list_events)).route("/v1/events/stream", web::get().to(stream_events));
}

/// Read the event feed
///
/// Events in commit order, after the given id. Consumers store the last id they applied and
/// pass it as `after`. An `after` older than retention gets 410 Gone.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    operation_id = "list_events",
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "Bad parameters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the events:read scope", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`after` is past retention", body = Problem, content_type = "application/problem+json"),
    ),
    security(("service" = []), ("operator" = []))
)]
pub async fn list_events(
    principal: Principal,
    db: web::Data<Db>,
    query: Query<FeedQuery>,
) -> Result<web::Json<EventPage>, Problem> {
    authorize(&principal)?;
    let after = parse_after(query.after)?;
    let limit = query.page_size()?;
    let (items, last_id) = db
        .read(move |conn| {
            let items = read(conn, after, limit)?;
            Ok::<_, Problem>((items, last_id(conn)?))
        })
        .await?;
    let next_after = items.last().map_or(after, |event| event.id);
    Ok(web::Json(EventPage { items, next_after, last_id }))
}

fn parse_after(after: Option<i64>) -> Result<i64, Problem> {
    match after {
        Some(after) if after < 0 => Err(Problem::invalid("after", "must not be negative")),
        other => Ok(other.unwrap_or(0)),
    }
}

/// Stream the event feed
///
/// Server-sent events: each event's `id` is its feed id, its `event` its type and its `data` the
/// event as JSON. Reconnect with `Last-Event-ID` (or `after`) to resume without gaps.
#[utoipa::path(
    get,
    path = "/v1/events/stream",
    tag = "events",
    operation_id = "stream_events",
    params(FeedQuery, LastEventIdHeader),
    responses(
        (status = 200, description = "A text/event-stream of events", content_type = "text/event-stream", body = EventFrame),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the events:read scope", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The resume point is past retention", body = Problem, content_type = "application/problem+json"),
    ),
    security(("service" = []), ("operator" = []))
)]
pub async fn stream_events(
    req: HttpRequest,
    principal: Principal,
    db: web::Data<Db>,
    hub: web::Data<EventHub>,
    shutdown: web::Data<Shutdown>,
    query: Query<FeedQuery>,
) -> Result<HttpResponse, Problem> {
    authorize(&principal)?;
    // A stream sends events as they come; `limit` is checked so a request is judged the same way
    // on both feed operations.
    query.page_size()?;
    let after = parse_after(query.after)?;
    let after = last_event_id(&req)?.unwrap_or(after);
    event_stream(&db, &hub, &shutdown, after, EventFilter::default()).await
}

/// The `Last-Event-ID` header as an event id, if sent.
pub fn last_event_id(req: &HttpRequest) -> Result<Option<i64>, Problem> {
    req.headers()
        .get("Last-Event-ID")
        .map(|value| {
            value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|v| (1..=18).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| Problem::invalid("Last-Event-ID", "must be an event id"))
        })
        .transpose()
}

/// A server-sent-event stream of the log's events after `after` that pass `filter`, live.
pub async fn event_stream(
    db: &Db,
    hub: &EventHub,
    shutdown: &Shutdown,
    after: i64,
    filter: EventFilter,
) -> Result<HttpResponse, Problem> {
    // Fail before the stream starts when the resume point is already gone.
    let first_filter = filter.clone();
    let first = db.read(move |conn| read_filtered(conn, after, MAX_LIMIT, &first_filter)).await?;
    let stream = LiveStream::new(db, hub, shutdown, after, filter, first);
    Ok(sse_response(futures_util::stream::unfold(stream, LiveStream::next_frame)))
}

/// A `text/event-stream` response over a stream of ready-made frames.
pub fn sse_response(frames: impl futures_util::Stream<Item = Result<Bytes, Infallible>> + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(frames)
}

/// One server-sent event frame.
pub fn sse_frame(id: Option<i64>, event: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    let id_line = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
    Bytes::from(format!("{id_line}event: {event}\ndata: {json}\n\n"))
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
