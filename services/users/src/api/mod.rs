//! The HTTP face of the users service: handlers parse, authorize, call the domain and map the
//! result. Every wire shape lives here, apart from the domain: request and response bodies (in
//! the resource module that uses them, or [`model`] when several do) and the feed's event data
//! ([`events`]). Their utoipa annotations are the published contract.

mod apps;
pub mod events;
mod keys;
pub mod model;
mod sessions;
mod users;

use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::docs::Conventions;
use chorus_kit::problem::ProblemType;

use chorus_kit::revocation::Revocations;
use std::sync::Arc;

use crate::domain::UsersError;
use crate::domain::sessions::{ServiceAccount, TokenIssuer};

/// Shared state of the users handlers.
pub struct UsersState {
    pub issuer: Arc<TokenIssuer>,
    pub service_accounts: Vec<ServiceAccount>,
    /// The users this process refuses; erasure adds to it at once.
    pub revocations: Arc<Revocations>,
    /// How long a rotated-in key is published before it signs.
    pub rotation_lead: chrono::TimeDelta,
}

pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<UsersState>) {
    cfg.app_data(state)
        .route("/.well-known/jwks.json", web::get().to(keys::get_jwks))
        .route("/v1/admin/signing-keys", web::get().to(keys::list_signing_keys))
        .route("/v1/admin/signing-keys", web::post().to(keys::rotate_signing_key))
        .route("/v1/admin/signing-keys/{kid}", web::delete().to(keys::withdraw_signing_key))
        .route("/v1/apps", web::post().to(apps::create_app))
        .route("/v1/apps/{app_id}", web::get().to(apps::get_app))
        .route("/v1/apps/{app_id}", web::patch().to(apps::update_app))
        .route("/v1/apps/{app_id}/secret", web::post().to(apps::rotate_app_secret))
        .route("/v1/sessions", web::post().to(sessions::start_session))
        .route("/v1/sessions/refresh", web::post().to(sessions::refresh_session))
        .route("/v1/tokens/app", web::post().to(sessions::create_app_token))
        .route("/v1/tokens/service", web::post().to(sessions::create_service_token))
        // `me` routes come before `{user_id}` routes, which would otherwise capture them.
        .route("/v1/users/me", web::get().to(users::get_me))
        .route("/v1/users/me", web::patch().to(users::update_me))
        .route("/v1/users/me", web::delete().to(users::erase_me))
        .route("/v1/users/me/export", web::get().to(users::export_me))
        .route("/v1/users/me/identities", web::get().to(users::list_my_identities))
        .route("/v1/users/me/identities/{provider}", web::delete().to(users::unlink_identity))
        .route("/v1/users/me/blocks", web::get().to(users::list_blocks))
        .route("/v1/users/me/blocks/{user_id}", web::put().to(users::block_user))
        .route("/v1/users/me/blocks/{user_id}", web::delete().to(users::unblock_user))
        .route("/v1/users", web::get().to(users::get_users))
        .route("/v1/users/{user_id}", web::get().to(users::get_user))
        .route("/v1/users/{user_id}", web::delete().to(users::erase_user))
        .route("/v1/users/{user_id}/export", web::get().to(users::export_user))
        .route("/v1/users/{user_id}/identities", web::post().to(users::link_identity))
        .route("/v1/users/{user_id}/ban", web::put().to(users::ban_user))
        .route("/v1/users/{user_id}/ban", web::delete().to(users::unban_user))
        .configure(chorus_kit::feed::configure);
}

impl From<UsersError> for Problem {
    fn from(error: UsersError) -> Self {
        match error {
            UsersError::Invalid { field, message } => Problem::invalid(field, message),
            UsersError::UnknownApiKey => Problem::unauthenticated("no app has this api_key"),
            UsersError::BadCredentials => Problem::unauthenticated("the credentials are wrong"),
            UsersError::AppNotFound => Problem::not_found("no such app"),
            UsersError::UserNotFound => Problem::not_found("no such user in this app"),
            UsersError::Banned => Problem::forbidden("the user is banned from this app"),
            UsersError::SelfBlock => Problem::forbidden(error.to_string()),
            UsersError::AnonymousSessionsDisabled => Problem::forbidden(error.to_string()),
            UsersError::SignInRequired | UsersError::InvalidRefreshToken | UsersError::RefreshTokenReused => {
                Problem::unauthenticated(error.to_string())
            }
            UsersError::ProviderAlreadyLinked(_) | UsersError::SigningKeyInUse => {
                Problem::new(ProblemType::Conflict).with_detail(error.to_string())
            }
            UsersError::SigningKeyNotFound => Problem::not_found(error.to_string()),
            UsersError::Db(db) => Problem::from(db),
        }
    }
}

/// The published contract of the users service.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Chorus users",
        description = "Apps, sessions, tokens, profiles, identities, blocks, bans and personal data. \
            Publishes the token-signing keys at /.well-known/jwks.json and the events \
            user.created, user.updated, user.deleted, user.banned, user.unbanned, user.blocked \
            and user.unblocked on its feed."
    ),
    paths(
        keys::get_jwks,
        keys::list_signing_keys,
        keys::rotate_signing_key,
        keys::withdraw_signing_key,
        apps::create_app,
        apps::get_app,
        apps::update_app,
        apps::rotate_app_secret,
        sessions::start_session,
        sessions::refresh_session,
        sessions::create_app_token,
        sessions::create_service_token,
        users::get_me,
        users::update_me,
        users::erase_me,
        users::export_me,
        users::list_my_identities,
        users::unlink_identity,
        users::list_blocks,
        users::block_user,
        users::unblock_user,
        users::get_users,
        users::get_user,
        users::erase_user,
        users::export_user,
        users::link_identity,
        users::ban_user,
        users::unban_user,
        chorus_kit::feed::list_events,
        chorus_kit::feed::stream_events,
    ),
    modifiers(&Conventions),
    tags(
        (name = "apps", description = "Operators manage apps; an app manages itself"),
        (name = "sessions", description = "Sessions and tokens"),
        (name = "users", description = "Profiles, identities, blocks, bans and personal data"),
        (name = "keys", description = "Token-signing keys"),
        (name = "events", description = "The users event feed"),
    )
)]
pub struct ApiDoc;
