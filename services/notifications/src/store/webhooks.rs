use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::{DbError, written};
use chorus_kit::webhooks::Claimed;

use super::DbConnection;
use super::schema::{webhook_deliveries, webhooks};
use crate::domain::model::{Delivery, DeliveryStatus, Webhook};

/// A webhook as stored; `event_types` (the third column) holds the names as a JSON array of
/// strings.
type WebhookRow = (String, String, String, NaiveDateTime);

fn to_webhook((id, url, event_types, created_at): WebhookRow) -> Webhook {
    Webhook {
        id,
        url,
        // Written only from a validated list.
        event_types: serde_json::from_str(&event_types).unwrap_or_default(),
        created_at: created_at.and_utc(),
    }
}

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    app_id: &str,
    url: &str,
    event_types: &[String],
) -> Result<Webhook, DbError> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(id),
            webhooks::app_id.eq(app_id),
            webhooks::url.eq(url),
            webhooks::event_types.eq(serde_json::to_string(event_types).unwrap_or_default()),
            webhooks::created_at.eq(chorus_kit::db::now()),
        ))
        .execute(conn)?;
    written(find(conn, app_id, id)?)
}

pub fn find(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<Option<Webhook>, DbError> {
    let row: Option<WebhookRow> = webhooks::table
        .filter(webhooks::id.eq(id).and(webhooks::app_id.eq(app_id)))
        .select((webhooks::id, webhooks::url, webhooks::event_types, webhooks::created_at))
        .first(conn)
        .optional()?;
    Ok(row.map(to_webhook))
}

pub fn of_app(conn: &mut DbConnection, app_id: &str) -> Result<Vec<Webhook>, DbError> {
    let rows: Vec<WebhookRow> = webhooks::table
        .filter(webhooks::app_id.eq(app_id))
        .select((webhooks::id, webhooks::url, webhooks::event_types, webhooks::created_at))
        .order(webhooks::id.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(to_webhook).collect())
}

pub fn count_of_app(conn: &mut DbConnection, app_id: &str) -> Result<i64, DbError> {
    Ok(webhooks::table.filter(webhooks::app_id.eq(app_id)).count().get_result(conn)?)
}

pub fn delete(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(webhooks::table.filter(webhooks::id.eq(id).and(webhooks::app_id.eq(app_id)))).execute(conn)? > 0)
}

pub struct NewDelivery<'a> {
    pub app_id: &'a str,
    pub webhook_id: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub payload: &'a str,
}

pub fn enqueue(conn: &mut DbConnection, id: &str, new: &NewDelivery<'_>) -> Result<(), DbError> {
    let now = chorus_kit::db::now();
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(id),
            webhook_deliveries::app_id.eq(new.app_id),
            webhook_deliveries::webhook_id.eq(new.webhook_id),
            webhook_deliveries::event_id.eq(new.event_id),
            webhook_deliveries::event_type.eq(new.event_type),
            webhook_deliveries::payload.eq(new.payload),
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: String,
    webhook_id: String,
    event_id: String,
    event_type: String,
    status: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Delivery {
            id: row.id,
            webhook_id: row.webhook_id,
            event_id: row.event_id,
            event_type: row.event_type,
            status: DeliveryStatus::parse(&row.status),
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.and_utc(),
            last_status: row.last_status,
            last_error: row.last_error,
            created_at: row.created_at.and_utc(),
            delivered_at: row.delivered_at.map(|at| at.and_utc()),
        }
    }
}

/// A webhook's deliveries, newest first.
pub fn deliveries(
    conn: &mut DbConnection,
    app_id: &str,
    webhook_id: &str,
    status: Option<DeliveryStatus>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>, DbError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::app_id.eq(app_id).and(webhook_deliveries::webhook_id.eq(webhook_id)))
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.as_str()));
    }
    if let Some(before) = before_id {
        query = query.filter(webhook_deliveries::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?.into_iter().map(Delivery::from).collect())
}

/// Claims up to `limit` due deliveries by pushing their next attempt `lease` ahead, so another
/// replica's dispatcher leaves them alone while this one tries.
pub fn claim_due(conn: &mut DbConnection, lease: chrono::TimeDelta, limit: i64) -> Result<Vec<Claimed>, DbError> {
    let now = chorus_kit::db::now();
    let due: Vec<(String, String, String, String, String, String, i32)> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::next_attempt_at.asc())
        .limit(limit)
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhooks::url,
            webhook_deliveries::event_id,
            webhook_deliveries::event_type,
            webhook_deliveries::payload,
            webhook_deliveries::attempts,
        ))
        .load(conn)?;
    let mut claimed = Vec::with_capacity(due.len());
    for (id, webhook_id, url, event_id, event_type, payload, attempts) in due {
        let taken = diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(&id).and(webhook_deliveries::next_attempt_at.le(now))),
        )
        .set(webhook_deliveries::next_attempt_at.eq(now + lease))
        .execute(conn)?;
        if taken == 1 {
            claimed.push(Claimed { id, endpoint_id: webhook_id, url, event_id, event_type, payload, attempts });
        }
    }
    Ok(claimed)
}

chorus_kit::delivery_store!(webhook_deliveries, DeliveryRow => Delivery);
