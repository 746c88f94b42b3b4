//! Push deliveries (one notification to one device, with its attempts) and the users who turned
//! notifications off.

use chorus_kit::prepared::planned_each_time;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use chorus_kit::db::DbError;

use super::DbConnection;
use super::schema::{devices, muted_users, notifications, push_deliveries};
use crate::domain::model::{ApnsEnvironment, DeliveryStatus, PushDelivery, PushMessage, PushProvider, WebPushKeys};

/// A device a push goes to, as the provider needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub device_id: String,
    pub token: String,
    pub environment: ApnsEnvironment,
    pub web_push_keys: Option<WebPushKeys>,
}

/// A due push, claimed for one attempt. The device or the message is `None` when it went
/// after the push was queued (removed, erased): then there is nothing to send.
#[derive(Debug, Clone)]
pub struct ClaimedPush {
    pub id: String,
    pub attempts: i32,
    pub device_id: String,
    pub created_at: NaiveDateTime,
    pub target: Option<PushTarget>,
    pub message: Option<PushMessage>,
}

impl chorus_kit::webhooks::Claim for ClaimedPush {
    fn id(&self) -> &str {
        &self.id
    }

    fn attempts(&self) -> i32 {
        self.attempts
    }

    fn endpoint_id(&self) -> &str {
        &self.device_id
    }
}

/// The devices, among `users`' and on `providers`, that pushes go to: those of users who have not
/// turned notifications off. Answers `(device id, user id, provider)`.
pub fn reachable_devices(
    conn: &mut DbConnection,
    users: &[String],
    providers: &[&str],
) -> Result<Vec<(String, String, String)>, DbError> {
    if users.is_empty() || providers.is_empty() {
        return Ok(Vec::new());
    }
    Ok(devices::table
        .filter(devices::user_id.eq_any(users))
        .filter(devices::provider.eq_any(providers))
        .filter(diesel::dsl::not(devices::user_id.eq_any(muted_users::table.select(muted_users::user_id))))
        .select((devices::id, devices::user_id, devices::provider))
        .load(conn)?)
}

/// A push to queue: `(delivery id, device id, provider, notification id)`.
pub type NewPush = (String, String, String, String);

/// A device changed hands: the pushes still queued for it were its previous owner's, and go.
pub fn forget_pending_of_device(conn: &mut DbConnection, device_id: &str) -> Result<(), DbError> {
    diesel::delete(
        push_deliveries::table
            .filter(push_deliveries::device_id.eq(device_id))
            .filter(push_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// Queues pushes in the caller's transaction, in one statement.
pub fn enqueue(conn: &mut DbConnection, app_id: &str, pushes: &[NewPush]) -> Result<(), DbError> {
    if pushes.is_empty() {
        return Ok(());
    }
    let now = chorus_kit::db::now();
    let rows: Vec<_> = pushes
        .iter()
        .map(|(id, device_id, provider, notification_id)| {
            (
                push_deliveries::id.eq(id),
                push_deliveries::app_id.eq(app_id),
                push_deliveries::device_id.eq(device_id),
                push_deliveries::provider.eq(provider),
                push_deliveries::notification_id.eq(notification_id),
                push_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                push_deliveries::attempts.eq(0),
                push_deliveries::next_attempt_at.eq(now),
                push_deliveries::created_at.eq(now),
            )
        })
        .collect();
    // Rows of nine values each: well within both databases' limits on bound parameters for a
    // fan-out page.
    for chunk in rows.chunks(500) {
        let insert = diesel::insert_into(push_deliveries::table).values(chunk);
        chorus_kit::on_backend!(conn, |c| insert.execute(c))?;
    }
    Ok(())
}

/// Claims up to `limit` due pushes of `provider` by pushing their next attempt `lease` ahead, so
/// another replica leaves them alone while this one sends; loads each one's device and content.
pub fn claim_due(
    conn: &mut DbConnection,
    provider: PushProvider,
    lease: TimeDelta,
    limit: i64,
) -> Result<Vec<ClaimedPush>, DbError> {
    let now = chorus_kit::db::now();
    let due: Vec<(String, String, String, i32, NaiveDateTime)> = push_deliveries::table
        .filter(push_deliveries::provider.eq(provider.as_str()))
        .filter(push_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(push_deliveries::next_attempt_at.le(now))
        // The queue and the inbox start empty and grow by the million: each read is planned
        // for them as they are (a plan cached while they were empty scans them whole).
        .filter(planned_each_time())
        .order(push_deliveries::next_attempt_at.asc())
        .limit(limit)
        .select((
            push_deliveries::id,
            push_deliveries::device_id,
            push_deliveries::notification_id,
            push_deliveries::attempts,
            push_deliveries::created_at,
        ))
        .load(conn)?;
    // One statement claims the batch; a row another replica claimed meanwhile is left out.
    let ids: Vec<&String> = due.iter().map(|(id, ..)| id).collect();
    let claim = diesel::update(
        push_deliveries::table
            .filter(push_deliveries::id.eq_any(ids))
            .filter(push_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(push_deliveries::next_attempt_at.le(now)),
    )
    .set(push_deliveries::next_attempt_at.eq(now + lease))
    .returning(push_deliveries::id);
    let claimed: Vec<String> = chorus_kit::on_backend!(conn, |c| claim.get_results(c))?;
    let taken: Vec<_> = due.into_iter().filter(|(id, ..)| claimed.contains(id)).collect();
    let device_ids: Vec<&String> = taken.iter().map(|(_, device, ..)| device).collect();
    let notification_ids: Vec<&String> = taken.iter().map(|(_, _, notification, ..)| notification).collect();
    let targets: Vec<TargetRow> = devices::table
        .filter(devices::id.eq_any(device_ids))
        .filter(planned_each_time())
        .select(TargetRow::as_select())
        .load(conn)?;
    let contents: Vec<ContentRow> = notifications::table
        .filter(notifications::id.eq_any(notification_ids))
        .filter(planned_each_time())
        .select(ContentRow::as_select())
        .load(conn)?;
    Ok(taken
        .into_iter()
        .map(|(id, device_id, notification_id, attempts, created_at)| {
            let content_row = contents.iter().find(|row| row.id == notification_id);
            // A device that changed hands since the push was queued is no longer the recipient's.
            let target = targets
                .iter()
                .find(|row| row.id == device_id && content_row.is_some_and(|content| content.user_id == row.user_id))
                .map(TargetRow::to_target);
            let message = content_row.map(ContentRow::to_message);
            ClaimedPush { id, attempts, device_id, created_at, target, message }
        })
        .collect())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = devices)]
struct TargetRow {
    id: String,
    user_id: String,
    token: String,
    environment: Option<String>,
    web_push_p256dh: Option<String>,
    web_push_auth: Option<String>,
}

impl TargetRow {
    fn to_target(&self) -> PushTarget {
        PushTarget {
            device_id: self.id.clone(),
            token: self.token.clone(),
            environment: self.environment.as_deref().map(ApnsEnvironment::parse).unwrap_or_default(),
            web_push_keys: self
                .web_push_p256dh
                .clone()
                .zip(self.web_push_auth.clone())
                .map(|(p256dh, auth)| WebPushKeys { p256dh, auth }),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notifications)]
struct ContentRow {
    id: String,
    user_id: String,
    title: String,
    body: Option<String>,
    entity_key: Option<String>,
    url: Option<String>,
}

impl ContentRow {
    fn to_message(&self) -> PushMessage {
        PushMessage {
            notification_id: self.id.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
            entity_key: self.entity_key.clone(),
            url: self.url.clone(),
        }
    }
}

chorus_kit::delivery_store!(push_deliveries, PushDeliveryRow => PushDelivery);

#[derive(Queryable, Selectable)]
#[diesel(table_name = push_deliveries)]
struct PushDeliveryRow {
    id: String,
    device_id: String,
    provider: String,
    notification_id: String,
    status: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
}

impl From<PushDeliveryRow> for PushDelivery {
    fn from(row: PushDeliveryRow) -> Self {
        PushDelivery {
            id: row.id,
            device_id: row.device_id,
            // Written only from a known provider.
            provider: PushProvider::parse(&row.provider).unwrap_or(PushProvider::Fcm),
            notification_id: row.notification_id,
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

/// Which of the app's pushes to list.
#[derive(Debug, Clone, Default)]
pub struct PushFilter {
    pub status: Option<DeliveryStatus>,
    pub device_id: Option<String>,
    pub before_id: Option<String>,
}

/// The app's pushes, newest first.
pub fn list(
    conn: &mut DbConnection,
    app_id: &str,
    filter: &PushFilter,
    limit: i64,
) -> Result<Vec<PushDelivery>, DbError> {
    let mut query = push_deliveries::table
        .filter(push_deliveries::app_id.eq(app_id))
        .select(PushDeliveryRow::as_select())
        .order(push_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(push_deliveries::status.eq(status.as_str()));
    }
    if let Some(device) = &filter.device_id {
        query = query.filter(push_deliveries::device_id.eq(device.clone()));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(push_deliveries::id.lt(before.clone()));
    }
    Ok(query.load(conn)?.into_iter().map(PushDelivery::from).collect())
}

/// Records whether the user wants notifications pushed (`settings.notifications_enabled`).
pub fn set_muted(conn: &mut DbConnection, app_id: &str, user_id: &str, muted: bool) -> Result<(), DbError> {
    diesel::delete(muted_users::table.find(user_id)).execute(conn)?;
    if muted {
        diesel::insert_into(muted_users::table)
            .values((muted_users::user_id.eq(user_id), muted_users::app_id.eq(app_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether the user turned notifications off.
pub fn is_muted(conn: &mut DbConnection, user_id: &str) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(muted_users::table.find(user_id))).get_result(conn)?)
}

/// Erasure: the user's pushes (to their devices, and of their notifications, wherever the device
/// went since) and their setting go. Runs before their devices and inbox are removed.
pub fn forget_user(conn: &mut DbConnection, user_id: &str) -> Result<(), DbError> {
    let their_devices = devices::table.filter(devices::user_id.eq(user_id)).select(devices::id);
    diesel::delete(push_deliveries::table.filter(push_deliveries::device_id.eq_any(their_devices))).execute(conn)?;
    let their_notifications = notifications::table.filter(notifications::user_id.eq(user_id)).select(notifications::id);
    diesel::delete(push_deliveries::table.filter(push_deliveries::notification_id.eq_any(their_notifications)))
        .execute(conn)?;
    diesel::delete(muted_users::table.find(user_id)).execute(conn)?;
    Ok(())
}
