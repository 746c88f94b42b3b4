//! Push deliveries (app): every push to a device, with its attempts; retry a dead one.

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::AppPrincipal;
use chorus_kit::db::Db;
use chorus_kit::extract::Query;
use chorus_kit::pagination::PageQuery;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{DeliveryStatus, PushProvider};
use crate::domain::model as domain;
use crate::domain::push;
use crate::store;
use crate::store::push::PushFilter;

/// One notification's push to one device, with its attempts.
///
/// A push is retried with exponential backoff and jitter when the provider answers 5xx or
/// cannot be reached, and after the provider's `Retry-After` when it answers 429; after the
/// configured number of attempts it is dead. A device the provider reports gone (APNs 410
/// `Unregistered` or 400 `BadDeviceToken`, FCM `UNREGISTERED` or `SENDER_ID_MISMATCH`, Web Push 404
/// or 410) is removed and its push is dead at once, never retried; except when most recent sends
/// to that provider fail with the same token error, which points at a configuration mistake:
/// then the device is kept and the push retried with backoff, `last_error` saying why. A push
/// older than the service's push lifetime (a day by default) is dead rather than late, a hand
/// retry of it included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PushDelivery {
    pub id: String,
    pub device_id: String,
    pub provider: PushProvider,
    /// The notification pushed; clients dedupe on it, since a push is sent at least once.
    pub notification_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The provider's HTTP status at the last attempt, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<domain::PushDelivery> for PushDelivery {
    fn from(delivery: domain::PushDelivery) -> Self {
        Self {
            id: delivery.id,
            device_id: delivery.device_id,
            provider: delivery.provider.into(),
            notification_id: delivery.notification_id,
            status: delivery.status,
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            last_status: delivery.last_status,
            last_error: delivery.last_error,
            created_at: delivery.created_at,
            delivered_at: delivery.delivered_at,
        }
    }
}

chorus_kit::list_page!(
    PushDeliveryList of PushDelivery
);

/// Device ids are UUIDs; a filter longer than this names none.
const MAX_DEVICE_ID: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PushDeliveryQuery {
    /// Only pushes in this state: `pending`, `delivered` or `dead`.
    pub status: Option<DeliveryStatus>,
    /// Only pushes to this device (at most 100 characters).
    #[param(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub device_id: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// List the app's push deliveries (app)
#[utoipa::path(
    get, path = "/v1/push/deliveries", tag = "push", operation_id = "list_push_deliveries",
    params(PushDeliveryQuery),
    responses(
        (status = 200, description = "A page of push deliveries, newest first", body = PushDeliveryList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []))
)]
pub async fn list_push_deliveries(
    app: AppPrincipal,
    db: web::Data<Db>,
    query: Query<PushDeliveryQuery>,
) -> Result<web::Json<PushDeliveryList>, Problem> {
    let query = query.into_inner();
    if let Some(device_id) = &query.device_id {
        chorus_kit::validation::max_chars("device_id", device_id, MAX_DEVICE_ID)
            .map_err(crate::domain::NotificationsError::from)?;
    }
    let page = PageQuery { cursor: query.cursor, limit: query.limit }.page()?;
    let filter = PushFilter { status: query.status, device_id: query.device_id, before_id: page.after.clone() };
    let fetch = page.fetch_limit();
    let mut items = db.read(move |conn| store::push::list(conn, &app.app_id, &filter, fetch)).await?;
    let next_cursor = page.finish(&mut items, |delivery| delivery.id.clone());
    Ok(web::Json(PushDeliveryList { items: items.into_iter().map(PushDelivery::from).collect(), next_cursor }))
}

/// Retry a dead push delivery (app)
///
/// Queues it again with a fresh set of attempts. Only dead pushes can be retried; one whose
/// device has since gone dies again at once.
#[utoipa::path(
    post, path = "/v1/push/deliveries/{delivery_id}/retry", tag = "push", operation_id = "retry_push_delivery",
    params(("delivery_id" = String, Path)),
    responses(
        (status = 200, description = "The push, queued again", body = PushDelivery),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
        (status = 409, response = chorus_kit::problem::responses::Conflict),
    ),
    security(("app" = []))
)]
pub async fn retry_push_delivery(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<PushDelivery>, Problem> {
    let id = path.into_inner();
    let delivery = db.write(move |conn| push::retry(conn, &app.app_id, &id)).await?;
    Ok(web::Json(delivery.into()))
}
