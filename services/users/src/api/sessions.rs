//! Sessions (the SDK's first call, and refresh) and tokens for apps and services.

use actix_web::{HttpRequest, HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::take_quota_of;
use chorus_kit::db::Db;
use chorus_kit::extract::Json;
use chorus_kit::rate_limit::{OperationClass, RateLimits};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UsersState;
use super::model::User;
use crate::domain::UsersError;
use crate::domain::sessions::{self, OpenedSession};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    /// The app's public API key.
    pub api_key: String,
    /// A stable id of the device (1 to 200 characters, not blank); its anonymous user is found
    /// by it.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub device_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshSession {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppCredentialsRequest {
    pub api_key: String,
    pub api_secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCredentials {
    /// The service account's name, such as `actions`.
    pub name: String,
    pub secret: String,
}

/// A user session: the user and their tokens.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub user: User,
    /// Send as `Authorization: Bearer …` to every Chorus service.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Trade it for new tokens at /v1/sessions/refresh. It works once.
    pub refresh_token: String,
}

/// An access token for an app or a service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessToken {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
}

pub(super) fn session(state: &UsersState, opened: OpenedSession) -> Session {
    let issued = state.issuer.user_token(&opened.user.app_id, &opened.user.id, opened.access_ttl_secs);
    Session {
        user: opened.user.into(),
        access_token: issued.token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in,
        refresh_token: opened.refresh_token,
    }
}

fn access_token(issued: sessions::IssuedToken) -> AccessToken {
    AccessToken { access_token: issued.token, token_type: "Bearer".into(), expires_in: issued.expires_in }
}

/// Start a session
///
/// The SDK's first call. Finds the device's anonymous user, or creates one (201). Repeating the
/// call for the same device returns the same user with fresh tokens. Once the device's user has
/// signed in with an identity, a device id alone no longer opens their session (401): the SDK
/// uses its refresh token, or the app signs the user in again.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    tag = "sessions",
    operation_id = "start_session",
    request_body = StartSession,
    responses(
        (status = 200, description = "A session for the device's existing user", body = Session),
        (status = 201, description = "A session for a new anonymous user", body = Session),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    )
)]
pub async fn start_session(
    req: HttpRequest,
    limits: web::Data<RateLimits>,
    state: web::Data<UsersState>,
    db: web::Data<Db>,
    body: Json<StartSession>,
) -> Result<HttpResponse, Problem> {
    let StartSession { api_key, device_id } = body.into_inner();
    take_quota_of(&req, &limits, OperationClass::Session, &format!("api-key:{api_key}"))?;
    let opened = db.write(move |conn| sessions::start(conn, &api_key, &device_id)).await?;
    let created = opened.created;
    let session = session(&state, opened);
    Ok(if created { HttpResponse::Created().json(session) } else { HttpResponse::Ok().json(session) })
}

/// Refresh a session
///
/// Trades a refresh token for new tokens. Each refresh token works once; presenting a used one
/// revokes the session.
#[utoipa::path(
    post,
    path = "/v1/sessions/refresh",
    tag = "sessions",
    operation_id = "refresh_session",
    request_body = RefreshSession,
    responses(
        (status = 200, description = "New tokens", body = Session),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    )
)]
pub async fn refresh_session(
    state: web::Data<UsersState>,
    db: web::Data<Db>,
    body: Json<RefreshSession>,
) -> Result<web::Json<Session>, Problem> {
    let token = body.into_inner().refresh_token;
    match db.write(move |conn| sessions::refresh(conn, &token)).await? {
        sessions::Refreshed::Rotated(opened) => Ok(web::Json(session(&state, *opened))),
        sessions::Refreshed::Revoked => Err(UsersError::RefreshTokenReused.into()),
    }
}

/// Get an app token
///
/// For the app's own servers: trades the API key and secret for an app token.
#[utoipa::path(
    post,
    path = "/v1/tokens/app",
    tag = "sessions",
    operation_id = "create_app_token",
    request_body = AppCredentialsRequest,
    responses(
        (status = 200, description = "An app token", body = AccessToken),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
    )
)]
pub async fn create_app_token(
    req: HttpRequest,
    limits: web::Data<RateLimits>,
    state: web::Data<UsersState>,
    db: web::Data<Db>,
    body: Json<AppCredentialsRequest>,
) -> Result<web::Json<AccessToken>, Problem> {
    let AppCredentialsRequest { api_key, api_secret } = body.into_inner();
    // Per API key, so guessing an app's secret is as slow as the sessions budget allows.
    take_quota_of(&req, &limits, OperationClass::Session, &format!("api-key:{api_key}"))?;
    let app = db.read(move |conn| sessions::authenticate_app(conn, &api_key, &api_secret)).await?;
    Ok(web::Json(access_token(state.issuer.app_token(&app.id))))
}

/// Get a service token
///
/// For Chorus services: trades service credentials from config for a token with internal scopes.
#[utoipa::path(
    post,
    path = "/v1/tokens/service",
    tag = "sessions",
    operation_id = "create_service_token",
    request_body = ServiceCredentials,
    responses(
        (status = 200, description = "A service token", body = AccessToken),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
    )
)]
pub async fn create_service_token(
    state: web::Data<UsersState>,
    body: Json<ServiceCredentials>,
) -> Result<web::Json<AccessToken>, Problem> {
    let account = sessions::authenticate_service(&state.service_accounts, &body.name, &body.secret)?;
    Ok(web::Json(access_token(state.issuer.service_token(account))))
}
