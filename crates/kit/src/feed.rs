//! The event feed over HTTP: `GET /v1/events` pages through the log and `GET /v1/events/stream`
//! sends it as server-sent events (resumable with `Last-Event-ID`), both for callers with the
//! `events:read` scope. The log itself is [`crate::events`]; live streams come from
//! [`crate::hub`].

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::db::Db;
use crate::events::{Event, EventFilter, READ_SCOPE, ReadError, read_filtered};
use crate::extract::Query;
use crate::hub::{EventHub, LiveStream};
use crate::problem::{Problem, ProblemType};
use crate::shutdown::Shutdown;

const MAX_LIMIT: u32 = 500;

impl From<ReadError> for Problem {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Gone { pruned_through } => Problem::new(ProblemType::Gone).with_detail(format!(
                "events up to {pruned_through} are past retention; rebuild from the service's API, \
                 then follow from after={pruned_through}"
            )),
            ReadError::Db(db) => Problem::from(db),
        }
    }
}

/// A page of the feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<Event>,
    /// The `after` value for the next request: the last id returned, or the `after` given.
    pub next_after: i64,
    /// The newest event id readers can see.
    pub last_id: i64,
    /// How many events after `next_after` the reader has yet to read, counted up to 10,000; 0
    /// when it has caught up. (Ids are not consecutive, so `last_id - next_after` is not a count.)
    #[schema(minimum = 0, maximum = 10000)]
    pub behind: i64,
}

/// The most events [`EventPage::behind`] counts.
const BEHIND_CAP: i64 = 10_000;

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
    let page = db.read(move |conn| crate::events::page(conn, after, limit, BEHIND_CAP)).await?;
    let page =
        EventPage { items: page.events, next_after: page.next_after, last_id: page.last_id, behind: page.behind };
    Ok(web::Json(page))
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
