//! Apps: operators create them; an app reads and changes itself and rotates its secret.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::{OperatorPrincipal, Principal};
use chorus_kit::db::Db;
use chorus_kit::extract::Json;
use chorus_kit::idempotency::{IdempotencyKey, IdempotentRequest};
use chorus_kit::secrets;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::apps as domain;
use crate::domain::{UsersError, new_id};
use crate::store;

/// Per-app settings. (Also part of responses, so the schema stays open: a request's unknown
/// members here are ignored.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AppSettings {
    /// Whether the SDK may open sessions for anonymous device users (default true).
    #[schema(default = true)]
    pub anonymous_sessions: bool,
    /// Lifetime of user access tokens, 60 to 86400 seconds (default 900).
    #[schema(minimum = 60, maximum = 86400, default = 900)]
    #[serde(deserialize_with = "chorus_kit::validation::integral")]
    pub access_token_ttl_secs: u32,
    /// Lifetime of refresh tokens, 1 to 365 days (default 30).
    #[schema(minimum = 1, maximum = 365, default = 30)]
    #[serde(deserialize_with = "chorus_kit::validation::integral")]
    pub refresh_token_ttl_days: u32,
}

/// Absent members take the domain's defaults.
impl Default for AppSettings {
    fn default() -> Self {
        domain::AppSettings::default().into()
    }
}

impl From<domain::AppSettings> for AppSettings {
    fn from(settings: domain::AppSettings) -> Self {
        Self {
            anonymous_sessions: settings.anonymous_sessions,
            access_token_ttl_secs: settings.access_token_ttl_secs,
            refresh_token_ttl_days: settings.refresh_token_ttl_days,
        }
    }
}

impl From<AppSettings> for domain::AppSettings {
    fn from(settings: AppSettings) -> Self {
        Self {
            anonymous_sessions: settings.anonymous_sessions,
            access_token_ttl_secs: settings.access_token_ttl_secs,
            refresh_token_ttl_days: settings.refresh_token_ttl_days,
        }
    }
}

/// An app, as operators and the app itself see it. The secret is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct App {
    pub id: String,
    pub name: String,
    /// The public key the SDK sends to open sessions.
    pub api_key: String,
    pub settings: AppSettings,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<domain::App> for App {
    fn from(app: domain::App) -> Self {
        Self {
            id: app.id,
            name: app.name,
            api_key: app.api_key,
            settings: app.settings.into(),
            created_at: app.created_at,
            updated_at: app.updated_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    /// 1 to 100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub name: String,
    #[serde(default)]
    pub settings: Option<AppSettings>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApp {
    /// 1 to 100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub name: Option<String>,
    /// Replaces all settings.
    pub settings: Option<AppSettings>,
}

/// A new app and its credentials.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppCredentials {
    pub app: App,
    /// Shown once, here. Chorus keeps only its hash. Null when an Idempotency-Key replays the
    /// response.
    pub api_secret: Option<String>,
}

/// An app's new secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RotatedSecret {
    pub app_id: String,
    /// Shown once, here; the old secret stops working now.
    pub api_secret: String,
}

/// The operator may manage any app; an app only itself. Anyone else is told it does not exist.
fn authorize(principal: &Principal, app_id: &str) -> Result<(), Problem> {
    match principal {
        Principal::Operator => Ok(()),
        Principal::App { app_id: own } if own == app_id => Ok(()),
        Principal::App { .. } => Err(UsersError::AppNotFound.into()),
        _ => Err(Problem::forbidden("this operation needs an app token or the operator token")),
    }
}

/// Create an app
///
/// Returns the app with its API key and, once only, its secret. Accepts `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/v1/apps",
    tag = "apps",
    operation_id = "create_app",
    request_body = CreateApp,
    params(chorus_kit::idempotency::IdempotencyKeyHeader),
    responses(
        (status = 201, description = "The app and its credentials", body = AppCredentials),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 422, response = chorus_kit::problem::responses::IdempotencyKeyReused),
    ),
    security(("operator" = []))
)]
pub async fn create_app(
    _operator: OperatorPrincipal,
    db: web::Data<Db>,
    key: IdempotencyKey,
    body: Json<CreateApp>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    domain::validate_name(&body.name)?;
    let settings = body.settings.clone().map(domain::AppSettings::from).unwrap_or_default();
    settings.validate()?;
    let request = IdempotentRequest::new(key, "operator", "create_app", &body);
    let created = db
        .write(move |conn| {
            if let Some(replay) = request.replay::<AppCredentials>(conn)? {
                return Ok(replay.body);
            }
            let api_secret = secrets::new_credential("cs");
            let app = store::apps::insert(
                conn,
                &new_id(),
                body.name.trim(),
                &settings,
                &secrets::new_credential("ck"),
                &secrets::digest(&api_secret),
            )?;
            let created = AppCredentials { app: app.into(), api_secret: Some(api_secret) };
            request.record(conn, 201, &AppCredentials { api_secret: None, ..created.clone() })?;
            Ok::<_, Problem>(created)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Read an app
#[utoipa::path(
    get,
    path = "/v1/apps/{app_id}",
    tag = "apps",
    operation_id = "get_app",
    params(("app_id" = String, Path)),
    responses(
        (status = 200, description = "The app", body = App),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []), ("operator" = []))
)]
pub async fn get_app(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<App>, Problem> {
    let app_id = path.into_inner();
    authorize(&principal, &app_id)?;
    let app = db.read(move |conn| store::apps::find(conn, &app_id)?.ok_or(UsersError::AppNotFound)).await?;
    Ok(web::Json(app.into()))
}

/// Change an app's name or settings
#[utoipa::path(
    patch,
    path = "/v1/apps/{app_id}",
    tag = "apps",
    operation_id = "update_app",
    params(("app_id" = String, Path)),
    request_body = UpdateApp,
    responses(
        (status = 200, description = "The changed app", body = App),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []), ("operator" = []))
)]
pub async fn update_app(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
    body: Json<UpdateApp>,
) -> Result<web::Json<App>, Problem> {
    let app_id = path.into_inner();
    authorize(&principal, &app_id)?;
    let UpdateApp { name, settings } = body.into_inner();
    if let Some(name) = &name {
        domain::validate_name(name)?;
    }
    let settings = settings.map(domain::AppSettings::from);
    if let Some(settings) = &settings {
        settings.validate()?;
    }
    let app = db
        .write(move |conn| {
            store::apps::update(conn, &app_id, name.as_deref().map(str::trim), settings.as_ref())?
                .ok_or(UsersError::AppNotFound)
        })
        .await?;
    Ok(web::Json(app.into()))
}

/// Rotate an app's secret
///
/// The old secret stops working at once; app tokens already issued stay valid until they expire.
#[utoipa::path(
    post,
    path = "/v1/apps/{app_id}/secret",
    tag = "apps",
    operation_id = "rotate_app_secret",
    params(("app_id" = String, Path)),
    responses(
        (status = 200, description = "The new secret", body = RotatedSecret),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []), ("operator" = []))
)]
pub async fn rotate_app_secret(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<RotatedSecret>, Problem> {
    let app_id = path.into_inner();
    authorize(&principal, &app_id)?;
    let api_secret = secrets::new_credential("cs");
    let digest = secrets::digest(&api_secret);
    let id = app_id.clone();
    let rotated = db.write(move |conn| store::apps::set_secret_hash(conn, &id, &digest)).await?;
    if !rotated {
        return Err(UsersError::AppNotFound.into());
    }
    Ok(web::Json(RotatedSecret { app_id, api_secret }))
}
