//! Subscriptions to entities.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::UserPrincipal;
use chorus_kit::db::Db;
use chorus_kit::extract::Query;
use chorus_kit::pagination::PageQuery;

use super::model::{Subscription, SubscriptionKind};
use crate::domain::model::{self as domain, validate_key};
use crate::store;

chorus_kit::list_page!(
    SubscriptionList of Subscription
);

/// The entity key and subscription kind of a subscription's path.
fn parse(path: (String, String)) -> Result<(String, domain::SubscriptionKind), Problem> {
    let (key, kind) = path;
    validate_key(&key)?;
    Ok((key, domain::SubscriptionKind::parse(&kind)?))
}

/// Subscribe to an entity
///
/// `kind` is `new_comments` (every new comment, replies included) or `replies` (replies only).
/// Idempotent.
#[utoipa::path(
    put, path = "/v1/entities/{key}/subscriptions/{kind}", tag = "subscriptions", operation_id = "subscribe",
    params(("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$"), ("kind" = SubscriptionKind, Path)),
    responses(
        (status = 204, description = "Subscribed"),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn subscribe(
    me: UserPrincipal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (key, kind) = parse(path.into_inner())?;
    db.write(move |conn| store::subscriptions::add(conn, &me.app_id, &me.user_id, &key, kind)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unsubscribe from an entity
///
/// Idempotent.
#[utoipa::path(
    delete, path = "/v1/entities/{key}/subscriptions/{kind}", tag = "subscriptions", operation_id = "unsubscribe",
    params(("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$"), ("kind" = SubscriptionKind, Path)),
    responses(
        (status = 204, description = "Not subscribed"),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn unsubscribe(
    me: UserPrincipal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (key, kind) = parse(path.into_inner())?;
    db.write(move |conn| store::subscriptions::remove(conn, &me.user_id, &key, kind)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List your subscriptions
#[utoipa::path(
    get, path = "/v1/subscriptions", tag = "subscriptions", operation_id = "list_subscriptions",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's subscriptions", body = SubscriptionList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn list_subscriptions(
    me: UserPrincipal,
    db: web::Data<Db>,
    query: Query<PageQuery>,
) -> Result<web::Json<SubscriptionList>, Problem> {
    let page = query.page()?;
    let after = page.after_pair()?;
    let fetch = page.fetch_limit();
    let mut rows = db.read(move |conn| store::subscriptions::of_user(conn, &me.user_id, after, fetch)).await?;
    let next_cursor = page.finish(&mut rows, |(_, cursor)| cursor.clone());
    Ok(web::Json(SubscriptionList { items: rows.into_iter().map(|(s, _)| s.into()).collect(), next_cursor }))
}
