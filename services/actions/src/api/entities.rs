//! Entities: upsert, read (the action bar), batch read, list, and the live stream.

use actix_web::{HttpRequest, HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::Principal;
use chorus_kit::db::Db;
use chorus_kit::events::EventFilter;
use chorus_kit::extract::{Json, Query};
use chorus_kit::feed;
use chorus_kit::hub::EventHub;
use chorus_kit::pagination::PageQuery;
use chorus_kit::shutdown::Shutdown;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use super::model::Entity;
use crate::domain::model::{self as domain, validate_key};
use crate::domain::{ActionsError, invalid, ops};
use crate::store;
use crate::store::entities::Sort;

const MAX_LOOKUP: usize = 100;

chorus_kit::list_page!(
    EntityList of Entity
);

/// What `PUT /v1/entities/{key}` sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityInput {
    /// 1 to 500 characters, not blank.
    #[schema(min_length = 1, max_length = 500, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub name: String,
    /// Such as `article` (1 to 100 characters, not blank).
    #[serde(default, rename = "type")]
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub entity_type: Option<String>,
    /// A JSON object of at most 16 KiB.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
}

impl From<EntityInput> for domain::EntityInput {
    fn from(input: EntityInput) -> Self {
        let EntityInput { name, entity_type, meta } = input;
        Self { name, entity_type, meta }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityLookup {
    /// 1 to 100 entity keys (each 1 to 2,048 characters). Unknown keys are left out of the
    /// answer.
    #[schema(min_items = 1, max_items = 100, value_type = Vec<EntityKey>)]
    pub keys: Vec<String>,
}

/// An entity key, as the spec shows it: any text of 1 to 2,048 characters without NUL, such as
/// a URL.
pub struct EntityKey;

impl utoipa::PartialSchema for EntityKey {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An entity key: 1 to 2,048 characters without NUL, such as a URL."))
            .min_length(Some(1))
            .max_length(Some(2048))
            .pattern(Some(r"^[^\u0000]+$"))
            .into()
    }
}

impl ToSchema for EntityKey {
    fn name() -> std::borrow::Cow<'static, str> {
        "EntityKey".into()
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EntityBatch {
    pub items: Vec<Entity>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntitySort {
    /// Most total activity first.
    #[default]
    Popular,
    /// Most recent activity first.
    Recent,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityListQuery {
    /// `popular` (default) or `recent`.
    pub sort: Option<EntitySort>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Upsert an entity
///
/// Creates the entity or replaces its name, type and meta. Answers 201 when it was created.
#[utoipa::path(
    put, path = "/v1/entities/{key}", tag = "entities", operation_id = "upsert_entity",
    params(("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$")),
    request_body = EntityInput,
    responses(
        (status = 200, description = "The updated entity", body = Entity),
        (status = 201, description = "The new entity", body = Entity),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn upsert_entity(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
    body: Json<EntityInput>,
) -> Result<HttpResponse, Problem> {
    let caller = Caller::of(principal)?;
    let key = path.into_inner();
    let input = domain::EntityInput::from(body.into_inner());
    let (entity, created) = db
        .write(move |conn| {
            let (entity, created) = ops::upsert_entity(conn, &caller.app_id, &key, &input)?;
            Ok::<_, ActionsError>((ops::entity_for(conn, &caller.app_id, entity, caller.user_id.as_deref())?, created))
        })
        .await?;
    let entity = Entity::from(entity);
    Ok(if created { HttpResponse::Created().json(entity) } else { HttpResponse::Ok().json(entity) })
}

/// Read an entity's action bar
///
/// Counts, and for a user the caller's own likes, comments and shares, in one call.
#[utoipa::path(
    get, path = "/v1/entities/{key}", tag = "entities", operation_id = "get_entity",
    params(("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$")),
    responses(
        (status = 200, description = "The entity with its counts", body = Entity),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn get_entity(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<Entity>, Problem> {
    let caller = Caller::of(principal)?;
    let key = path.into_inner();
    let entity = db.read(move |conn| ops::get_entity(conn, &caller.app_id, &key, caller.user_id.as_deref())).await?;
    Ok(web::Json(entity.into()))
}

/// Read several entities
#[utoipa::path(
    post, path = "/v1/entities/lookup", tag = "entities", operation_id = "lookup_entities",
    request_body = EntityLookup,
    responses(
        (status = 200, description = "The entities found", body = EntityBatch),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn lookup_entities(
    principal: Principal,
    db: web::Data<Db>,
    body: Json<EntityLookup>,
) -> Result<web::Json<EntityBatch>, Problem> {
    let caller = Caller::of(principal)?;
    let keys = body.into_inner().keys;
    if keys.is_empty() || keys.len() > MAX_LOOKUP {
        return Err(invalid("keys", format!("must hold 1 to {MAX_LOOKUP} keys")).into());
    }
    for key in &keys {
        validate_key(key).map_err(|_| invalid("keys", "each key must be 1 to 2048 characters"))?;
    }
    let items = db
        .read(move |conn| {
            let found = store::entities::find_many_by_key(conn, &caller.app_id, &keys)?;
            found
                .into_iter()
                .map(|e| ops::entity_for(conn, &caller.app_id, e, caller.user_id.as_deref()))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(web::Json(EntityBatch { items: items.into_iter().map(Entity::from).collect() }))
}

/// List the app's entities
#[utoipa::path(
    get, path = "/v1/entities", tag = "entities", operation_id = "list_entities",
    params(EntityListQuery),
    responses(
        (status = 200, description = "A page of entities", body = EntityList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn list_entities(
    principal: Principal,
    db: web::Data<Db>,
    query: Query<EntityListQuery>,
) -> Result<web::Json<EntityList>, Problem> {
    let caller = Caller::of(principal)?;
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.page()?;
    let after = page.after_pair()?;
    let sort = match query.sort.unwrap_or_default() {
        EntitySort::Popular => Sort::Popular,
        EntitySort::Recent => Sort::Recent,
    };
    let fetch = page.fetch_limit();
    let mut rows = db.read(move |conn| store::entities::list(conn, &caller.app_id, sort, after, fetch)).await?;
    let next_cursor = page.finish(&mut rows, |(_, cursor)| cursor.clone());
    Ok(web::Json(EntityList { items: rows.into_iter().map(|(entity, _)| entity.into()).collect(), next_cursor }))
}

/// Stream an entity's activity
///
/// Server-sent events for an open action bar: every action.created, action.deleted,
/// entity.viewed and entity.updated of this entity as it happens, each with the new counts.
/// Starts with what happens next (possibly with events that committed just before it opened), or
/// resumes after `Last-Event-ID`.
#[utoipa::path(
    get, path = "/v1/entities/{key}/stream", tag = "entities", operation_id = "stream_entity",
    params(
        ("key" = String, Path, description = "The entity key, percent-encoded (1 to 2,048 characters)", min_length = 1, max_length = 2048, pattern = r"^[^\u0000]+$"),
        chorus_kit::feed::LastEventIdHeader,
    ),
    responses(
        (status = 200, description = "A text/event-stream of the entity's events", content_type = "text/event-stream", body = chorus_kit::feed::EventFrame),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn stream_entity(
    req: HttpRequest,
    principal: Principal,
    db: web::Data<Db>,
    hub: web::Data<EventHub>,
    shutdown: web::Data<Shutdown>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let caller = Caller::of(principal)?;
    let key = path.into_inner();
    let resume = feed::last_event_id(&req)?;
    let app_id = caller.app_id.clone();
    let (entity, newest) = db
        .read(move |conn| {
            let entity = ops::get_entity(conn, &app_id, &key, None)?;
            Ok::<_, ActionsError>((entity, chorus_kit::events::last_id(conn)?))
        })
        .await?;
    let filter = EventFilter { app_id: Some(caller.app_id), subject: Some(entity.id) };
    feed::event_stream(&db, &hub, &shutdown, resume.unwrap_or(newest), filter).await
}
