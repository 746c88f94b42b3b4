//! Broadcasts: an app's own notifications to its users.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::{AppPrincipal, Principal};
use chorus_kit::db::Db;
use chorus_kit::extract::{Json, Query};
use chorus_kit::idempotency::{IdempotencyKey, IdempotentRequest};
use chorus_kit::pagination::PageQuery;

use super::NotificationsState;
use super::model::{Broadcast, NewBroadcast};
use crate::domain::broadcasts;
use crate::store;

/// The scope a service token needs to send an app's broadcasts.
pub const SEND_SCOPE: &str = "broadcasts:send";

chorus_kit::list_page!(
    BroadcastList of Broadcast
);

/// Send a broadcast (app)
///
/// Puts a notification in the inbox of every user in the audience (listed users, an entity's
/// subscribers, or everyone), except banned users: the first 500 before the answer, the rest in
/// pages of 500 right after it (`recipients` counts them as they go). Each app may send a
/// limited number per 24 hours (429 past it). Accepts `Idempotency-Key`. Sent with an app token for that app, or by a
/// service holding the `broadcasts:send` scope (analytics' alerts) for the app it names in
/// `app_id`.
#[utoipa::path(
    post, path = "/v1/broadcasts", tag = "broadcasts", operation_id = "send_broadcast",
    params(chorus_kit::idempotency::IdempotencyKeyHeader),
    request_body = NewBroadcast,
    responses(
        (status = 201, description = "The broadcast, sent", body = Broadcast),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 422, response = chorus_kit::problem::responses::IdempotencyKeyReused),
        (status = 429, response = chorus_kit::problem::responses::RateLimited),
    ),
    security(("app" = []), ("service" = []))
)]
pub async fn send_broadcast(
    principal: Principal,
    state: web::Data<NotificationsState>,
    db: web::Data<Db>,
    key: IdempotencyKey,
    body: Json<NewBroadcast>,
) -> Result<HttpResponse, Problem> {
    let new = body.into_inner();
    let app_id = sender_app(&principal, new.app_id.clone())?;
    let (quota, push) = (state.daily_broadcast_quota, state.push);
    let request = IdempotentRequest::new(key, &format!("{}:{app_id}", principal.label()), "send_broadcast", &new);
    let new = new.into();
    let broadcast = db
        .write(move |conn| {
            // The wire form is what a replay answers with.
            request.create_once(conn, |conn| {
                Ok::<_, Problem>(Broadcast::from(broadcasts::send(conn, push, &app_id, &new, quota)?))
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(broadcast))
}

/// The app a broadcast is sent for: an app's own, or the one a service with the scope names.
fn sender_app(principal: &Principal, named: Option<String>) -> Result<String, Problem> {
    match (principal, named) {
        (Principal::App { app_id }, None) => Ok(app_id.clone()),
        (Principal::App { app_id }, Some(named)) if &named == app_id => Ok(named),
        (Principal::App { .. }, Some(_)) => Err(Problem::forbidden("an app sends only its own broadcasts")),
        (Principal::Service { .. } | Principal::Operator, named) if principal.has_scope(SEND_SCOPE) => {
            named.ok_or_else(|| Problem::invalid("app_id", "a service names the app it sends for"))
        }
        _ => Err(Problem::forbidden(format!("this operation needs an app token, or the `{SEND_SCOPE}` scope"))),
    }
}

/// List the app's broadcasts (app)
#[utoipa::path(
    get, path = "/v1/broadcasts", tag = "broadcasts", operation_id = "list_broadcasts",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of broadcasts, newest first", body = BroadcastList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []))
)]
pub async fn list_broadcasts(
    app: AppPrincipal,
    db: web::Data<Db>,
    query: Query<PageQuery>,
) -> Result<web::Json<BroadcastList>, Problem> {
    let page = query.page()?;
    let (before, fetch) = (page.after.clone(), page.fetch_limit());
    let mut items = db.read(move |conn| store::broadcasts::list(conn, &app.app_id, before.as_deref(), fetch)).await?;
    let next_cursor = page.finish(&mut items, |b| b.id.clone());
    Ok(web::Json(BroadcastList { items: items.into_iter().map(Broadcast::from).collect(), next_cursor }))
}
