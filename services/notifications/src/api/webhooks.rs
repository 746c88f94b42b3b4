//! Webhooks (app): register endpoints, see their deliveries, retry a dead one.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::AppPrincipal;
use chorus_kit::db::Db;
use chorus_kit::extract::{Json, Query};
use chorus_kit::idempotency::{IdempotencyKey, IdempotentRequest};
use chorus_kit::pagination::PageQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::NotificationsState;
use super::model::{Delivery, DeliveryStatus, Webhook, WebhookEventType};
use crate::domain::{NotificationsError, webhooks};
use crate::store;

/// What `POST /v1/webhooks` registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An http or https URL with a host name (at most 2,048 characters) that accepts POSTed
    /// JSON.
    #[schema(
        min_length = 1,
        max_length = 2048,
        pattern = r"^https?://(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?([/?#][^\s\u0000]*)?$"
    )]
    pub url: String,
    /// The events to receive (at least one; repeats count once).
    #[schema(min_items = 1)]
    pub event_types: Vec<WebhookEventType>,
}

impl From<NewWebhook> for webhooks::NewWebhook {
    fn from(new: NewWebhook) -> Self {
        Self { url: new.url, event_types: new.event_types.into_iter().map(Into::into).collect() }
    }
}

/// A new webhook and its signing secret, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// Verify `Chorus-Signature` with it. Shown once here; Chorus derives it again when signing.
    pub secret: String,
}

impl From<webhooks::CreatedWebhook> for CreatedWebhook {
    fn from(created: webhooks::CreatedWebhook) -> Self {
        Self { webhook: created.webhook.into(), secret: created.secret }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

chorus_kit::list_page!(
    DeliveryList of Delivery
);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this state: `pending`, `delivered` or `dead`.
    pub status: Option<DeliveryStatus>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Register a webhook (app)
///
/// Chorus POSTs each chosen event to the URL as JSON, signed in `Chorus-Signature`
/// (`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`), and retries failures
/// with backoff. The secret is shown here; an `Idempotency-Key` replay shows it again.
///
/// The URL's host must be, and resolve only to, public addresses: loopback, private,
/// link-local, unspecified, multicast and broadcast targets get 400 naming `url` (server-side
/// request forgery; the operator can allow them for local development).
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "webhooks", operation_id = "register_webhook",
    params(chorus_kit::idempotency::IdempotencyKeyHeader),
    request_body = NewWebhook,
    responses(
        (status = 201, description = "The webhook and its secret", body = CreatedWebhook),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 409, response = chorus_kit::problem::responses::Conflict),
        (status = 422, response = chorus_kit::problem::responses::IdempotencyKeyReused),
    ),
    security(("app" = []))
)]
pub async fn register_webhook(
    app: AppPrincipal,
    state: web::Data<NotificationsState>,
    db: web::Data<Db>,
    idempotency: IdempotencyKey,
    body: Json<NewWebhook>,
) -> Result<HttpResponse, Problem> {
    let new = body.into_inner();
    let key = state.webhook_key.clone();
    let request = IdempotentRequest::new(idempotency, &format!("app:{}", app.app_id), "register_webhook", &new);
    let new: webhooks::NewWebhook = new.into();
    new.validate()?;
    webhooks::check_target(&new.url, state.allow_private_targets).await?;
    let created = db
        .write(move |conn| {
            // The stored response is the webhook alone; its secret is derived again, never stored.
            if let Some(replay) = request.replay::<Webhook>(conn)? {
                let secret = key.secret_for(&replay.body.id);
                return Ok(CreatedWebhook { webhook: replay.body, secret });
            }
            let created = CreatedWebhook::from(webhooks::register(conn, &app.app_id, &new, &key)?);
            request.record(conn, 201, &created.webhook)?;
            Ok::<_, Problem>(created)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// List the app's webhooks (app)
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    responses(
        (status = 200, description = "The app's webhooks (at most 20)", body = WebhookList),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []))
)]
pub async fn list_webhooks(app: AppPrincipal, db: web::Data<Db>) -> Result<web::Json<WebhookList>, Problem> {
    let webhooks = db.read(move |conn| store::webhooks::of_app(conn, &app.app_id)).await?;
    Ok(web::Json(WebhookList { items: webhooks.into_iter().map(Webhook::from).collect() }))
}

/// Remove a webhook (app)
///
/// Its pending deliveries go with it.
#[utoipa::path(
    delete, path = "/v1/webhooks/{webhook_id}", tag = "webhooks", operation_id = "remove_webhook",
    params(("webhook_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn remove_webhook(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    if !db.write(move |conn| store::webhooks::delete(conn, &app.app_id, &id)).await? {
        return Err(NotificationsError::WebhookNotFound.into());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// List a webhook's deliveries (app)
#[utoipa::path(
    get, path = "/v1/webhooks/{webhook_id}/deliveries", tag = "webhooks", operation_id = "list_deliveries",
    params(("webhook_id" = String, Path), DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = DeliveryList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn list_deliveries(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
    query: Query<DeliveryQuery>,
) -> Result<web::Json<DeliveryList>, Problem> {
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.page()?;
    let (webhook_id, status) = (path.into_inner(), query.status);
    let (before, fetch) = (page.after.clone(), page.fetch_limit());
    let mut items = db
        .read(move |conn| {
            store::webhooks::find(conn, &app.app_id, &webhook_id)?.ok_or(NotificationsError::WebhookNotFound)?;
            Ok::<_, NotificationsError>(store::webhooks::deliveries(
                conn,
                &app.app_id,
                &webhook_id,
                status,
                before.as_deref(),
                fetch,
            )?)
        })
        .await?;
    let next_cursor = page.finish(&mut items, |d| d.id.clone());
    Ok(web::Json(DeliveryList { items: items.into_iter().map(Delivery::from).collect(), next_cursor }))
}

/// Retry a dead delivery (app)
///
/// Queues it again with a fresh set of attempts. Only dead deliveries can be retried.
#[utoipa::path(
    post, path = "/v1/webhooks/deliveries/{delivery_id}/retry", tag = "webhooks", operation_id = "retry_delivery",
    params(("delivery_id" = String, Path)),
    responses(
        (status = 200, description = "The delivery, queued again", body = Delivery),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
        (status = 409, response = chorus_kit::problem::responses::Conflict),
    ),
    security(("app" = []))
)]
pub async fn retry_delivery(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<Delivery>, Problem> {
    let id = path.into_inner();
    let delivery = db.write(move |conn| webhooks::retry(conn, &app.app_id, &id)).await?;
    Ok(web::Json(delivery.into()))
}
