//! `POST /v1/events:batch`: custom events from SDKs.

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::Principal;
use chorus_kit::extract::Json;

use super::AnalyticsState;
use super::model::{
    EventBatch, IncomingEvent, IngestResult, MAX_ENTITY_KEY, MAX_INSERT_ID, MAX_PROPERTIES, MAX_PROPERTY_NAME,
    MAX_PROPERTY_TEXT, MAX_USER_ID,
};
use crate::domain::ingest::{self, MAX_BATCH_EVENTS, NewEvent, Sender};
use crate::domain::model::is_event_name;

/// Ingest a batch of events
///
/// Takes 1 to 1,000 custom events, at most 1 MiB in all, from a user token (the events are the
/// user's) or an app token. Each event is judged on its own: one whose timestamp is more than a
/// day ahead, or older than the raw-event retention, is rejected and listed with its index and
/// reason, and the others are kept. An event whose `insert_id` the app sent before (kept as
/// long as raw events are) is a duplicate, and is not counted again. Only a malformed batch
/// (bad JSON, a field outside its schema, over a limit) fails as a whole, and then nothing is
/// kept. Ingestion has its own rate limit, counted in batches. Each event counts toward the
/// metric `events.<name>` within a second.
#[utoipa::path(
    post, path = "/v1/events:batch", tag = "ingestion", operation_id = "ingest_events",
    request_body = EventBatch,
    responses(
        (status = 200, description = "What became of each event", body = IngestResult),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn ingest_events(
    principal: Principal,
    state: web::Data<AnalyticsState>,
    body: Json<EventBatch>,
) -> Result<web::Json<IngestResult>, Problem> {
    let sender = match principal {
        Principal::User { app_id, user_id } => Sender { app_id, user_id: Some(user_id) },
        Principal::App { app_id } => Sender { app_id, user_id: None },
        _ => return Err(Problem::forbidden("ingestion needs a user or an app token")),
    };
    let events = body.into_inner().events;
    if events.is_empty() || events.len() > MAX_BATCH_EVENTS {
        return Err(Problem::invalid("events", "must hold 1 to 1,000 events"));
    }
    let events =
        events.into_iter().enumerate().map(|(index, event)| checked(index, event)).collect::<Result<_, _>>()?;
    let report = ingest::ingest(&state.writer, &sender, events, state.retention_days, chrono::Utc::now()).await?;
    Ok(web::Json(report.into()))
}

/// Checks an event against its schema's limits, naming the field (`events[3].name`).
fn checked(index: usize, event: IncomingEvent) -> Result<NewEvent, Problem> {
    let invalid = |field: &str, message: &str| Problem::invalid(format!("events[{index}].{field}"), message);
    if !is_event_name(&event.name) {
        return Err(invalid(
            "name",
            "must be 1 to 64 letters, digits, `_`, `-`, `.` or `:`, starting with a letter or digit",
        ));
    }
    let insert_id_ok = (1..=MAX_INSERT_ID).contains(&event.insert_id.len())
        && event.insert_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !insert_id_ok {
        return Err(invalid("insert_id", "must be 1 to 64 letters, digits, `_` or `-`"));
    }
    let bad_text = |text: &String, max: usize| text.is_empty() || text.chars().count() > max || text.contains('\0');
    if event.user_id.as_ref().is_some_and(|user_id| bad_text(user_id, MAX_USER_ID)) {
        return Err(invalid("user_id", "must be 1 to 128 characters without NUL"));
    }
    if event.entity_key.as_ref().is_some_and(|key| bad_text(key, MAX_ENTITY_KEY)) {
        return Err(invalid("entity_key", "must be 1 to 2,048 characters without NUL"));
    }
    if event.properties.len() > MAX_PROPERTIES {
        return Err(invalid("properties", "may hold at most 64 properties"));
    }
    for (name, value) in &event.properties {
        if name.is_empty() || name.chars().count() > MAX_PROPERTY_NAME {
            return Err(invalid("properties", "names must be 1 to 64 characters"));
        }
        let fits = match value {
            serde_json::Value::String(text) => text.chars().count() <= MAX_PROPERTY_TEXT,
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => false,
            _ => true,
        };
        if !fits {
            return Err(Problem::invalid(
                format!("events[{index}].properties.{name}"),
                "must be a string of at most 1,024 characters, a number, a boolean or null",
            ));
        }
    }
    Ok(NewEvent {
        properties: serde_json::Value::Object(event.properties).to_string(),
        name: event.name,
        user_id: event.user_id,
        entity_key: event.entity_key,
        timestamp: event.timestamp,
        insert_id: event.insert_id,
    })
}
