//! Likes, comments, shares and views, and the activity lists.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::{AppPrincipal, Principal, UserPrincipal};
use chorus_kit::db::Db;
use chorus_kit::extract::{Json, Query};
use chorus_kit::idempotency::{IdempotencyKey, IdempotentRequest};
use chorus_kit::pagination::{Page, PageQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{Action, ActionKind, ShareMedium};
use super::{ActionsState, Caller};
use crate::domain::model as domain;
use crate::domain::ops::{self, Actor};
use crate::domain::views::View;
use crate::store;
use crate::store::actions::ActionQuery;

chorus_kit::list_page!(
    ActionList of Action
);

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to 10,000 characters, not blank.
    #[schema(min_length = 1, max_length = 10000, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub text: String,
    /// Makes this a reply to that comment, which must be on the same entity.
    pub parent_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShare {
    pub medium: ShareMedium,
    /// At most 2,000 characters.
    #[schema(max_length = 2000, pattern = r"^[^\u0000]*$")]
    pub text: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionListQuery {
    /// Only this kind.
    pub kind: Option<ActionKind>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentListQuery {
    /// Replies to this comment; without it, the comments that reply to nothing.
    pub parent_id: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

fn page_of(cursor: &Option<String>, limit: Option<u32>) -> Result<Page, Problem> {
    PageQuery { cursor: cursor.clone(), limit }.page()
}

async fn list(db: &Db, mut query: ActionQuery, page: Page) -> Result<web::Json<ActionList>, Problem> {
    query.before_id = page.after.clone();
    query.limit = page.fetch_limit();
    let rows = db.read(move |conn| store::actions::list(conn, &query)).await?;
    Ok(finish(page, rows))
}

/// A page of the actions on the entity `key` (404 when there is no such entity): the entity and
/// the page are read on one connection, in one trip to the blocking pool.
async fn list_on(db: &Db, key: String, mut query: ActionQuery, page: Page) -> Result<web::Json<ActionList>, Problem> {
    query.before_id = page.after.clone();
    query.limit = page.fetch_limit();
    let rows = db
        .read(move |conn| {
            let entity = ops::get_entity(conn, &query.app_id, &key, None)?;
            query.entity_id = Some(entity.id);
            Ok::<_, crate::domain::ActionsError>(store::actions::list(conn, &query)?)
        })
        .await?;
    Ok(finish(page, rows))
}

/// The page's items (the look-ahead row dropped) and the cursor after them.
fn finish(page: Page, mut rows: Vec<domain::Action>) -> web::Json<ActionList> {
    let next_cursor = page.finish(&mut rows, |action| action.id.clone());
    web::Json(ActionList { items: rows.into_iter().map(Action::from).collect(), next_cursor })
}

/// Like an entity
///
/// Idempotent: one like per user and entity. Answers 201 for a new like, 200 when it existed.
/// Creates the entity if the key is new.
#[utoipa::path(
    post, path = "/v1/entities/{key}/likes", tag = "actions", operation_id = "like",
    params(("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$")),
    responses(
        (status = 200, description = "The existing like", body = Action),
        (status = 201, description = "The new like", body = Action),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn like(me: UserPrincipal, db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let key = path.into_inner();
    let (action, created) = db.write_unwrapped(move |conn| ops::like(conn, &me.app_id, &me.user_id, &key)).await?;
    let action = Action::from(action);
    Ok(if created { HttpResponse::Created().json(action) } else { HttpResponse::Ok().json(action) })
}

/// Remove your like
///
/// Idempotent.
#[utoipa::path(
    delete, path = "/v1/entities/{key}/likes/me", tag = "actions", operation_id = "unlike",
    params(("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$")),
    responses(
        (status = 204, description = "Not liked"),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn unlike(me: UserPrincipal, db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let key = path.into_inner();
    db.write(move |conn| ops::unlike(conn, &me.app_id, &me.user_id, &key)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Comment on an entity
///
/// With `parent_id`, a reply. Accepts `Idempotency-Key`.
#[utoipa::path(
    post, path = "/v1/entities/{key}/comments", tag = "actions", operation_id = "comment",
    params(
        ("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$"),
        chorus_kit::idempotency::IdempotencyKeyHeader,
    ),
    request_body = NewComment,
    responses(
        (status = 201, description = "The comment", body = Action),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 422, response = chorus_kit::problem::responses::IdempotencyKeyReused),
    ),
    security(("user" = []))
)]
pub async fn comment(
    me: UserPrincipal,
    db: web::Data<Db>,
    key_header: IdempotencyKey,
    path: web::Path<String>,
    body: Json<NewComment>,
) -> Result<HttpResponse, Problem> {
    let key = path.into_inner();
    let body = body.into_inner();
    let request = IdempotentRequest::new(key_header, &format!("user:{}", me.user_id), "comment", &(&key, &body));
    let action = db
        .write_unwrapped(move |conn| {
            // What the closure returns is stored for replays: the wire shape, so a replay answers
            // the same JSON.
            request.create_once_unwrapped(conn, |conn| {
                let comment = ops::comment(conn, &me.app_id, &me.user_id, &key, &body.text, body.parent_id.as_deref())?;
                Ok::<_, Problem>(Action::from(comment))
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(action))
}

/// List an entity's comments
///
/// Newest first. Without `parent_id`, the comments that start threads; with it, that comment's
/// replies. Comments by users the caller blocked, and by banned users, are left out.
#[utoipa::path(
    get, path = "/v1/entities/{key}/comments", tag = "actions", operation_id = "list_comments",
    params(("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$"), CommentListQuery),
    responses(
        (status = 200, description = "A page of comments", body = ActionList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn list_comments(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
    query: Query<CommentListQuery>,
) -> Result<web::Json<ActionList>, Problem> {
    let caller = Caller::of(principal)?;
    let page = page_of(&query.cursor, query.limit)?;
    let is_user = caller.user_id.is_some();
    let action_query = ActionQuery {
        app_id: caller.app_id,
        kind: Some(domain::ActionKind::Comment),
        parent_id: query.parent_id.clone(),
        top_level: true,
        viewer: caller.user_id,
        hide_banned: is_user,
        ..Default::default()
    };
    list_on(&db, path.into_inner(), action_query, page).await
}

/// Share an entity
///
/// Accepts `Idempotency-Key`.
#[utoipa::path(
    post, path = "/v1/entities/{key}/shares", tag = "actions", operation_id = "share",
    params(
        ("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$"),
        chorus_kit::idempotency::IdempotencyKeyHeader,
    ),
    request_body = NewShare,
    responses(
        (status = 201, description = "The share", body = Action),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 422, response = chorus_kit::problem::responses::IdempotencyKeyReused),
    ),
    security(("user" = []))
)]
pub async fn share(
    me: UserPrincipal,
    db: web::Data<Db>,
    key_header: IdempotencyKey,
    path: web::Path<String>,
    body: Json<NewShare>,
) -> Result<HttpResponse, Problem> {
    let key = path.into_inner();
    let body = body.into_inner();
    let request = IdempotentRequest::new(key_header, &format!("user:{}", me.user_id), "share", &(&key, &body));
    let action = db
        .write_unwrapped(move |conn| {
            // Stored for replays in its wire shape, like a comment.
            request.create_once_unwrapped(conn, |conn| {
                let medium = body.medium.into();
                let share = ops::share(conn, &me.app_id, &me.user_id, &key, medium, body.text.as_deref())?;
                Ok::<_, Problem>(Action::from(share))
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(action))
}

/// Record a view
///
/// Built for volume: views are committed in groups, and the answer comes once the view is
/// durable. Accepts `Idempotency-Key`, so a retried view counts once.
#[utoipa::path(
    post, path = "/v1/entities/{key}/views", tag = "actions", operation_id = "view",
    params(
        ("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$"),
        chorus_kit::idempotency::IdempotencyKeyHeader,
    ),
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 422, response = chorus_kit::problem::responses::IdempotencyKeyReused),
    ),
    security(("user" = []))
)]
pub async fn view(
    me: UserPrincipal,
    state: web::Data<ActionsState>,
    key_header: IdempotencyKey,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let key = path.into_inner();
    let idempotency = IdempotentRequest::new(key_header, &format!("user:{}", me.user_id), "view", &key);
    state.views.record(View { app_id: me.app_id, user_id: me.user_id, key, idempotency }).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List an entity's actions
#[utoipa::path(
    get, path = "/v1/entities/{key}/actions", tag = "actions", operation_id = "list_entity_actions",
    params(("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$"), ActionListQuery),
    responses(
        (status = 200, description = "A page of actions, newest first", body = ActionList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn list_entity_actions(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
    query: Query<ActionListQuery>,
) -> Result<web::Json<ActionList>, Problem> {
    let caller = Caller::of(principal)?;
    let page = page_of(&query.cursor, query.limit)?;
    let kind = query.kind.map(domain::ActionKind::from);
    let is_user = caller.user_id.is_some();
    let action_query =
        ActionQuery { app_id: caller.app_id, kind, viewer: caller.user_id, hide_banned: is_user, ..Default::default() };
    list_on(&db, path.into_inner(), action_query, page).await
}

/// List a user's activity
///
/// `me` names the caller.
#[utoipa::path(
    get, path = "/v1/users/{user_id}/actions", tag = "actions", operation_id = "list_user_actions",
    params(("user_id" = String, Path, description = "A user id, or `me`"), ActionListQuery),
    responses(
        (status = 200, description = "A page of actions, newest first", body = ActionList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn list_user_actions(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
    query: Query<ActionListQuery>,
) -> Result<web::Json<ActionList>, Problem> {
    let caller = Caller::of(principal)?;
    let page = page_of(&query.cursor, query.limit)?;
    let kind = query.kind.map(domain::ActionKind::from);
    let user_id = match (path.into_inner(), &caller.user_id) {
        (id, Some(me)) if id == "me" => me.clone(),
        (id, None) if id == "me" => return Err(Problem::forbidden("`me` needs a user session token")),
        (id, _) => id,
    };
    let action_query = ActionQuery { app_id: caller.app_id, user_id: Some(user_id), kind, ..Default::default() };
    list(&db, action_query, page).await
}

/// List the app's activity (app)
#[utoipa::path(
    get, path = "/v1/actions", tag = "actions", operation_id = "list_app_actions",
    params(ActionListQuery),
    responses(
        (status = 200, description = "A page of actions, newest first", body = ActionList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("app" = []))
)]
pub async fn list_app_actions(
    app: AppPrincipal,
    db: web::Data<Db>,
    query: Query<ActionListQuery>,
) -> Result<web::Json<ActionList>, Problem> {
    let page = page_of(&query.cursor, query.limit)?;
    let kind = query.kind.map(domain::ActionKind::from);
    list(&db, ActionQuery { app_id: app.app_id, kind, ..Default::default() }, page).await
}

/// Delete a comment
///
/// Allowed to its author and to the app. The comment stays as a tombstone, so its replies keep
/// their thread. Idempotent.
#[utoipa::path(
    delete, path = "/v1/comments/{comment_id}", tag = "actions", operation_id = "delete_comment",
    params(("comment_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn delete_comment(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let caller = Caller::of(principal)?;
    let comment_id = path.into_inner();
    db.write(move |conn| {
        let actor = caller.user_id.as_deref().map_or(Actor::App, Actor::User);
        ops::delete_comment(conn, &caller.app_id, actor, &comment_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
