//! The in-app inbox and its live stream.

use actix_web::{HttpRequest, HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::UserPrincipal;
use chorus_kit::db::Db;
use chorus_kit::events::EventFilter;
use chorus_kit::extract::Query;
use chorus_kit::feed;
use chorus_kit::hub::EventHub;
use chorus_kit::pagination::PageQuery;
use chorus_kit::shutdown::Shutdown;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::Notification;
use crate::domain::NotificationsError;
use crate::store;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<Notification>,
    /// Unread notifications in the whole inbox.
    pub unread: i64,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MarkedRead {
    /// How many notifications changed from unread to read.
    pub updated: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only unread notifications.
    pub unread_only: Option<bool>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// List your notifications
///
/// Newest first.
#[utoipa::path(
    get, path = "/v1/notifications", tag = "inbox", operation_id = "list_notifications",
    params(InboxQuery),
    responses(
        (status = 200, description = "A page of the inbox", body = NotificationList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn list_notifications(
    me: UserPrincipal,
    db: web::Data<Db>,
    query: Query<InboxQuery>,
) -> Result<web::Json<NotificationList>, Problem> {
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.page()?;
    let unread_only = query.unread_only.unwrap_or(false);
    let (before, fetch) = (page.after.clone(), page.fetch_limit());
    let (mut items, unread) = db
        .read(move |conn| {
            let items = store::inbox::list(conn, &me.user_id, unread_only, before.as_deref(), fetch)?;
            Ok::<_, NotificationsError>((items, store::inbox::unread_count(conn, &me.user_id)?))
        })
        .await?;
    let next_cursor = page.finish(&mut items, |n| n.id.clone());
    let items = items.into_iter().map(Notification::from).collect();
    Ok(web::Json(NotificationList { items, unread, next_cursor }))
}

/// Mark a notification read
///
/// Idempotent.
#[utoipa::path(
    post, path = "/v1/notifications/{notification_id}/read", tag = "inbox", operation_id = "mark_read",
    params(("notification_id" = String, Path)),
    responses(
        (status = 200, description = "The notification, read", body = Notification),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn mark_read(
    me: UserPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<Notification>, Problem> {
    let id = path.into_inner();
    let notification = db
        .write(move |conn| {
            store::inbox::mark_read(conn, &me.user_id, &id)?;
            store::inbox::find(conn, &me.user_id, &id)?.ok_or(NotificationsError::NotificationNotFound)
        })
        .await?;
    Ok(web::Json(notification.into()))
}

/// Mark your whole inbox read
#[utoipa::path(
    post, path = "/v1/notifications/read", tag = "inbox", operation_id = "mark_all_read",
    responses(
        (status = 200, description = "How many changed", body = MarkedRead),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn mark_all_read(me: UserPrincipal, db: web::Data<Db>) -> Result<web::Json<MarkedRead>, Problem> {
    let updated = db.write(move |conn| store::inbox::mark_all_read(conn, &me.user_id)).await?;
    Ok(web::Json(MarkedRead { updated: i64::try_from(updated).unwrap_or(i64::MAX) }))
}

/// Stream your new notifications
///
/// Server-sent events: a `notification.created` frame per new notification, as it arrives.
/// Starts with what arrives next, or resumes after `Last-Event-ID`.
#[utoipa::path(
    get, path = "/v1/notifications/stream", tag = "inbox", operation_id = "stream_notifications",
    params(chorus_kit::feed::LastEventIdHeader),
    responses(
        (status = 200, description = "A text/event-stream of new notifications", content_type = "text/event-stream", body = chorus_kit::feed::EventFrame),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn stream_notifications(
    req: HttpRequest,
    me: UserPrincipal,
    db: web::Data<Db>,
    hub: web::Data<EventHub>,
    shutdown: web::Data<Shutdown>,
) -> Result<HttpResponse, Problem> {
    let resume = feed::last_event_id(&req)?;
    let start = match resume {
        Some(id) => id,
        None => db.read(|conn| chorus_kit::events::last_id(conn).map_err(Problem::from)).await?,
    };
    let filter = EventFilter { app_id: Some(me.app_id), subject: Some(me.user_id) };
    feed::event_stream(&db, &hub, &shutdown, start, filter).await
}
