//! The HTTP face of the actions service: handlers parse, authorize, call the domain and map the
//! result. Every wire shape lives here (requests, responses in [`model`] and the resource
//! modules, event data in [`events`]), converted from and to the domain's plain types; their
//! serde and utoipa attributes are the published contract.

mod actions;
mod entities;
pub mod events;
pub mod model;
mod moderation;

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::Principal;
use chorus_kit::docs::Conventions;
use chorus_kit::problem::{FieldError, ProblemType};

use crate::domain::ActionsError;
use crate::domain::views::{ViewError, ViewRecorder};

/// Shared state of the actions handlers.
pub struct ActionsState {
    pub views: ViewRecorder,
}

pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<ActionsState>) {
    cfg.app_data(state)
        .route("/v1/entities", web::get().to(entities::list_entities))
        .route("/v1/entities/lookup", web::post().to(entities::lookup_entities))
        .route("/v1/entities/{key}", web::put().to(entities::upsert_entity))
        .route("/v1/entities/{key}", web::get().to(entities::get_entity))
        .route("/v1/entities/{key}/stream", web::get().to(entities::stream_entity))
        .route("/v1/entities/{key}/likes", web::post().to(actions::like))
        .route("/v1/entities/{key}/likes/me", web::delete().to(actions::unlike))
        .route("/v1/entities/{key}/comments", web::post().to(actions::comment))
        .route("/v1/entities/{key}/comments", web::get().to(actions::list_comments))
        .route("/v1/entities/{key}/shares", web::post().to(actions::share))
        .route("/v1/entities/{key}/views", web::post().to(actions::view))
        .route("/v1/entities/{key}/actions", web::get().to(actions::list_entity_actions))
        .route("/v1/users/{user_id}/actions", web::get().to(actions::list_user_actions))
        .route("/v1/actions", web::get().to(actions::list_app_actions))
        .route("/v1/comments/{comment_id}", web::delete().to(actions::delete_comment))
        .route("/v1/comments/{comment_id}/flags", web::post().to(moderation::flag_comment))
        .route("/v1/moderation/flags", web::get().to(moderation::list_flags))
        .route("/v1/moderation/flags/{flag_id}/resolve", web::post().to(moderation::resolve_flag))
        .route("/v1/admin/recount", web::post().to(moderation::recount))
        .configure(chorus_kit::feed::configure);
}

/// Who is asking, within which app.
pub(crate) struct Caller {
    pub app_id: String,
    /// Present for user callers; app callers act for the whole app.
    pub user_id: Option<String>,
}

impl Caller {
    pub fn of(principal: Principal) -> Result<Self, Problem> {
        match principal {
            Principal::User { app_id, user_id } => Ok(Self { app_id, user_id: Some(user_id) }),
            Principal::App { app_id } => Ok(Self { app_id, user_id: None }),
            _ => Err(Problem::forbidden("this operation needs a user session token or an app token")),
        }
    }
}

impl From<ActionsError> for Problem {
    fn from(error: ActionsError) -> Self {
        match error {
            ActionsError::Invalid { field, message } => Problem::invalid(field, message),
            ActionsError::ParentNotFound => Problem::not_found(error.to_string()).with_errors(vec![FieldError {
                field: "parent_id".into(),
                message: "names no comment on this entity".into(),
            }]),
            ActionsError::EntityNotFound | ActionsError::CommentNotFound | ActionsError::FlagNotFound => {
                Problem::not_found(error.to_string())
            }
            ActionsError::Banned | ActionsError::Erased | ActionsError::NotAuthor => {
                Problem::forbidden(error.to_string())
            }
            ActionsError::Db(db) => Problem::from(db),
        }
    }
}

impl From<ViewError> for Problem {
    fn from(error: ViewError) -> Self {
        match error {
            ViewError::Banned => Problem::forbidden(error.to_string()),
            ViewError::Invalid { field, message } => Problem::invalid(field, message),
            ViewError::KeyReused => Problem::new(ProblemType::IdempotencyKeyReused).with_detail(error.to_string()),
            ViewError::Unavailable => Problem::new(ProblemType::Unavailable).with_detail(error.to_string()),
        }
    }
}

/// The published contract of the actions service.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Chorus actions",
        description = "Entities and the action bar: likes, comments, shares and views with live counts, \
            activity lists, moderation, and live streams. Entity keys are arbitrary strings (up to \
            2,048 characters, such as URLs) and appear in paths percent-encoded. Publishes \
            action.created, action.deleted, entity.updated, entity.viewed and comment.flagged on \
            its feed; each carries the entity's counts after the change."
    ),
    paths(
        entities::list_entities,
        entities::lookup_entities,
        entities::upsert_entity,
        entities::get_entity,
        entities::stream_entity,
        actions::like,
        actions::unlike,
        actions::comment,
        actions::list_comments,
        actions::share,
        actions::view,
        actions::list_entity_actions,
        actions::list_user_actions,
        actions::list_app_actions,
        actions::delete_comment,
        moderation::flag_comment,
        moderation::list_flags,
        moderation::resolve_flag,
        moderation::recount,
        chorus_kit::feed::list_events,
        chorus_kit::feed::stream_events,
    ),
    components(schemas(entities::EntitySort, entities::EntityKey, model::FlagStatus)),
    modifiers(&Conventions),
    tags(
        (name = "entities", description = "Entities and their action bar"),
        (name = "actions", description = "Likes, comments, shares, views and activity lists"),
        (name = "moderation", description = "Flags and the moderation queue"),
        (name = "events", description = "The actions event feed"),
    )
)]
pub struct ApiDoc;
