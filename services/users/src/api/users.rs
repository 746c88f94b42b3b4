//! Users: one's own profile, identities, blocks and data; other users' public profiles; and the
//! app's moderation and personal-data operations.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::{AppPrincipal, Principal, UserPrincipal};
use chorus_kit::db::Db;
use chorus_kit::extract::{Json, Query};
use chorus_kit::pagination::PageQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::UsersState;
use super::model::{User, UserSettings};
use super::sessions::{Session, session};
use crate::domain::users::{self as ops, Linked};
use crate::domain::{UsersError, invalid, profile};
use crate::store;

const MAX_BATCH: usize = 100;

/// Changes to the caller's own profile. Absent fields stay as they are; an empty string clears
/// a text field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// At most 100 characters.
    #[schema(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub display_name: Option<String>,
    /// At most 100 characters.
    #[schema(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub first_name: Option<String>,
    /// At most 100 characters.
    #[schema(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub last_name: Option<String>,
    /// At most 1,000 characters.
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub bio: Option<String>,
    /// At most 200 characters.
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    pub location: Option<String>,
    /// An http or https URL with a host name, at most 2,048 characters; empty clears it.
    #[schema(
        max_length = 2048,
        pattern = r"^$|^https?://(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?([/?#][^\s\u0000]*)?$"
    )]
    pub image_url: Option<String>,
    /// Replaces the whole meta object (at most 8 KiB as JSON).
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    pub settings: Option<UserSettings>,
}

impl From<ProfileUpdate> for profile::ProfileUpdate {
    fn from(update: ProfileUpdate) -> Self {
        Self {
            display_name: update.display_name,
            first_name: update.first_name,
            last_name: update.last_name,
            bio: update.bio,
            location: update.location,
            image_url: update.image_url,
            meta: update.meta,
            settings: update.settings.map(profile::UserSettings::from),
        }
    }
}

/// A third-party identity linked to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct Identity {
    /// Such as `google`, `apple` or `facebook`.
    pub provider: String,
    pub external_id: String,
    pub linked_at: chrono::DateTime<chrono::Utc>,
}

impl From<ops::Identity> for Identity {
    fn from(identity: ops::Identity) -> Self {
        Self { provider: identity.provider, external_id: identity.external_id, linked_at: identity.linked_at }
    }
}

/// Everything the users service keeps about one user (GDPR export).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct PersonalData {
    pub user: User,
    pub identities: Vec<Identity>,
    /// Ids of the users this user blocked.
    pub blocked_user_ids: Vec<String>,
    pub devices: Vec<ExportedDevice>,
    pub exported_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ExportedDevice {
    pub device_id: String,
    pub first_seen_at: chrono::DateTime<chrono::Utc>,
}

impl From<ops::PersonalData> for PersonalData {
    fn from(data: ops::PersonalData) -> Self {
        Self {
            user: data.user.into(),
            identities: data.identities.into_iter().map(Identity::from).collect(),
            blocked_user_ids: data.blocked_user_ids,
            devices: data.devices.into_iter().map(ExportedDevice::from).collect(),
            exported_at: data.exported_at,
        }
    }
}

impl From<ops::ExportedDevice> for ExportedDevice {
    fn from(device: ops::ExportedDevice) -> Self {
        Self { device_id: device.device_id, first_seen_at: device.first_seen_at }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentityList {
    pub items: Vec<Identity>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockedUser {
    pub user_id: String,
    pub blocked_at: chrono::DateTime<chrono::Utc>,
}

chorus_kit::list_page!(
    BlockList of BlockedUser
);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserIds {
    /// 1 to 100 comma-separated user ids. Ids not in the caller's app are left out.
    #[param(pattern = r"^[^,\s\u0000]+(,[^,\s\u0000]+){0,99}$")]
    pub ids: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIdentity {
    /// Such as `google` or `apple`: 1 to 50 lowercase letters, digits, `_`, `-` and `.`.
    #[schema(pattern = r"^[a-z0-9_.-]{1,50}$", min_length = 1, max_length = 50)]
    pub provider: String,
    /// The user's id at the provider, as the app's server verified it (1 to 255 characters).
    #[schema(min_length = 1, max_length = 255, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub external_id: String,
}

/// The outcome of linking an identity.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentityLinked {
    /// The user the identity belongs to now.
    pub user: User,
    /// Present when the identity already belonged to another user of the app: that user's
    /// session, to hand to the device, whose next sessions open that user too.
    pub session: Option<Session>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BanRequest {
    /// Why, for the app's records (at most 500 characters).
    #[schema(max_length = 500, pattern = r"^[^\u0000]*$")]
    pub reason: Option<String>,
}

/// The app a user or app principal acts in.
fn app_of(principal: &Principal) -> Result<String, Problem> {
    principal
        .app_id()
        .map(str::to_owned)
        .ok_or_else(|| Problem::forbidden("this operation needs a user session token or an app token"))
}

/// Read your own profile
#[utoipa::path(
    get, path = "/v1/users/me", tag = "users", operation_id = "get_me",
    responses(
        (status = 200, description = "The caller, with settings", body = User),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn get_me(me: UserPrincipal, db: web::Data<Db>) -> Result<web::Json<User>, Problem> {
    Ok(web::Json(db.read(move |conn| ops::user(conn, &me.app_id, &me.user_id)).await?.into()))
}

/// Change your own profile and settings
///
/// Absent fields stay as they are; an empty string clears a text field.
#[utoipa::path(
    patch, path = "/v1/users/me", tag = "users", operation_id = "update_me",
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The changed profile", body = User),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn update_me(
    me: UserPrincipal,
    db: web::Data<Db>,
    body: Json<ProfileUpdate>,
) -> Result<web::Json<User>, Problem> {
    let update = profile::ProfileUpdate::from(body.into_inner());
    let user = db.write(move |conn| ops::update_profile(conn, &me.app_id, &me.user_id, &update)).await?;
    Ok(web::Json(user.into()))
}

/// Erase yourself
///
/// Deletes the caller and everything the users service keeps about them, and tells every other
/// service through the `user.deleted` event.
#[utoipa::path(
    delete, path = "/v1/users/me", tag = "users", operation_id = "erase_me",
    responses(
        (status = 204, description = "Erased"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn erase_me(
    me: UserPrincipal,
    db: web::Data<Db>,
    state: web::Data<UsersState>,
) -> Result<HttpResponse, Problem> {
    let user_id = me.user_id.clone();
    db.write(move |conn| ops::erase(conn, &me.app_id, &me.user_id)).await?;
    state.revocations.revoke(&user_id);
    Ok(HttpResponse::NoContent().finish())
}

/// Export your own data
#[utoipa::path(
    get, path = "/v1/users/me/export", tag = "users", operation_id = "export_me",
    responses(
        (status = 200, description = "Everything kept about the caller", body = PersonalData),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn export_me(me: UserPrincipal, db: web::Data<Db>) -> Result<web::Json<PersonalData>, Problem> {
    Ok(web::Json(db.read(move |conn| ops::export(conn, &me.app_id, &me.user_id)).await?.into()))
}

/// List your linked identities
#[utoipa::path(
    get, path = "/v1/users/me/identities", tag = "users", operation_id = "list_my_identities",
    responses(
        (status = 200, description = "The caller's identities", body = IdentityList),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn list_my_identities(me: UserPrincipal, db: web::Data<Db>) -> Result<web::Json<IdentityList>, Problem> {
    let identities = db.read(move |conn| ops::identities(conn, &me.user_id)).await?;
    Ok(web::Json(IdentityList { items: identities.into_iter().map(Identity::from).collect() }))
}

/// Unlink one of your identities
#[utoipa::path(
    delete, path = "/v1/users/me/identities/{provider}", tag = "users", operation_id = "unlink_identity",
    params(("provider" = String, Path, description = "The identity provider, such as `google`", pattern = r"^[a-z0-9_.-]{1,50}$", min_length = 1, max_length = 50)),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn unlink_identity(
    me: UserPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let provider = path.into_inner();
    let removed = db.write(move |conn| ops::unlink_identity(conn, &me.user_id, &provider)).await?;
    if !removed {
        return Err(Problem::not_found("no identity from this provider is linked"));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// List the users you blocked
#[utoipa::path(
    get, path = "/v1/users/me/blocks", tag = "users", operation_id = "list_blocks",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of blocked users", body = BlockList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn list_blocks(
    me: UserPrincipal,
    db: web::Data<Db>,
    query: Query<PageQuery>,
) -> Result<web::Json<BlockList>, Problem> {
    let page = query.page()?;
    let (after, fetch) = (page.after.clone(), page.fetch_limit());
    let rows = db.read(move |conn| store::blocks::blocked_by(conn, &me.user_id, after.as_deref(), fetch)).await?;
    let mut items: Vec<BlockedUser> =
        rows.into_iter().map(|(user_id, at)| BlockedUser { user_id, blocked_at: at.and_utc() }).collect();
    let next_cursor = page.finish(&mut items, |item| item.user_id.clone());
    Ok(web::Json(BlockList { items, next_cursor }))
}

/// Block a user
///
/// Idempotent. Blocked users' content is hidden from the caller across Chorus.
#[utoipa::path(
    put, path = "/v1/users/me/blocks/{user_id}", tag = "users", operation_id = "block_user",
    params(("user_id" = String, Path)),
    responses(
        (status = 204, description = "Blocked"),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []))
)]
pub async fn block_user(
    me: UserPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let blocked = path.into_inner();
    db.write(move |conn| ops::block(conn, &me.app_id, &me.user_id, &blocked)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unblock a user
///
/// Idempotent.
#[utoipa::path(
    delete, path = "/v1/users/me/blocks/{user_id}", tag = "users", operation_id = "unblock_user",
    params(("user_id" = String, Path)),
    responses(
        (status = 204, description = "Not blocked"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []))
)]
pub async fn unblock_user(
    me: UserPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let blocked = path.into_inner();
    db.write(move |conn| ops::unblock(conn, &me.app_id, &me.user_id, &blocked)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Read several users
#[utoipa::path(
    get, path = "/v1/users", tag = "users", operation_id = "get_users",
    params(UserIds),
    responses(
        (status = 200, description = "The users found, by id", body = UserList),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn get_users(
    principal: Principal,
    db: web::Data<Db>,
    query: Query<UserIds>,
) -> Result<web::Json<UserList>, Problem> {
    let app_id = app_of(&principal)?;
    let ids: Vec<String> = query.ids.split(',').map(str::to_owned).collect();
    let well_formed = |id: &String| !id.is_empty() && !id.contains(|c: char| c.is_whitespace() || c == '\0');
    if ids.len() > MAX_BATCH || !ids.iter().all(well_formed) {
        return Err(invalid("ids", format!("must name 1 to {MAX_BATCH} comma-separated user ids")).into());
    }
    let users = db.read(move |conn| store::users::find_many(conn, &app_id, &ids)).await?;
    Ok(web::Json(UserList { items: users.into_iter().map(|user| user.public().into()).collect() }))
}

/// Read a user's public profile
#[utoipa::path(
    get, path = "/v1/users/{user_id}", tag = "users", operation_id = "get_user",
    params(("user_id" = String, Path)),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("user" = []), ("app" = []))
)]
pub async fn get_user(
    principal: Principal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<User>, Problem> {
    let app_id = app_of(&principal)?;
    let user_id = path.into_inner();
    let user = db.read(move |conn| ops::user(conn, &app_id, &user_id)).await?;
    Ok(web::Json(user.public().into()))
}

/// Erase a user (app)
#[utoipa::path(
    delete, path = "/v1/users/{user_id}", tag = "users", operation_id = "erase_user",
    params(("user_id" = String, Path)),
    responses(
        (status = 204, description = "Erased"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn erase_user(
    app: AppPrincipal,
    db: web::Data<Db>,
    state: web::Data<UsersState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let user_id = path.into_inner();
    let erased = user_id.clone();
    db.write(move |conn| ops::erase(conn, &app.app_id, &user_id)).await?;
    state.revocations.revoke(&erased);
    Ok(HttpResponse::NoContent().finish())
}

/// Export a user's data (app)
#[utoipa::path(
    get, path = "/v1/users/{user_id}/export", tag = "users", operation_id = "export_user",
    params(("user_id" = String, Path)),
    responses(
        (status = 200, description = "Everything kept about the user", body = PersonalData),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn export_user(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<PersonalData>, Problem> {
    let user_id = path.into_inner();
    Ok(web::Json(db.read(move |conn| ops::export(conn, &app.app_id, &user_id)).await?.into()))
}

/// Link a third-party identity (app)
///
/// Called by the app's server once it has verified the user's sign-in with the provider. When
/// the identity already belongs to another user of the app, that user is handed back with a
/// session, so the person keeps their history.
#[utoipa::path(
    post, path = "/v1/users/{user_id}/identities", tag = "users", operation_id = "link_identity",
    params(("user_id" = String, Path)),
    request_body = LinkIdentity,
    responses(
        (status = 200, description = "The user the identity belongs to", body = IdentityLinked),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
        (status = 409, response = chorus_kit::problem::responses::Conflict),
    ),
    security(("app" = []))
)]
pub async fn link_identity(
    app: AppPrincipal,
    state: web::Data<UsersState>,
    db: web::Data<Db>,
    path: web::Path<String>,
    body: Json<LinkIdentity>,
) -> Result<web::Json<IdentityLinked>, Problem> {
    let user_id = path.into_inner();
    let LinkIdentity { provider, external_id } = body.into_inner();
    let linked = db
        .write(move |conn| {
            let app = store::apps::find(conn, &app.app_id)?.ok_or(UsersError::AppNotFound)?;
            ops::link_identity(conn, &app, &user_id, &provider, &external_id)
        })
        .await?;
    Ok(web::Json(match linked {
        Linked::ToCaller(user) => IdentityLinked { user: user.into(), session: None },
        Linked::HandedBack(opened) => {
            let session = session(&state, opened);
            IdentityLinked { user: session.user.clone(), session: Some(session) }
        }
    }))
}

/// Ban a user (app)
///
/// The user can no longer open or refresh sessions; other services learn of it through the
/// `user.banned` event. Idempotent.
#[utoipa::path(
    put, path = "/v1/users/{user_id}/ban", tag = "users", operation_id = "ban_user",
    params(("user_id" = String, Path)),
    request_body = BanRequest,
    responses(
        (status = 200, description = "The banned user", body = User),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn ban_user(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
    body: Json<BanRequest>,
) -> Result<web::Json<User>, Problem> {
    let user_id = path.into_inner();
    let reason = body.into_inner().reason;
    let user = db.write(move |conn| ops::ban(conn, &app.app_id, &user_id, reason.as_deref())).await?;
    Ok(web::Json(user.into()))
}

/// Unban a user (app)
#[utoipa::path(
    delete, path = "/v1/users/{user_id}/ban", tag = "users", operation_id = "unban_user",
    params(("user_id" = String, Path)),
    responses(
        (status = 200, description = "The user, no longer banned", body = User),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
    ),
    security(("app" = []))
)]
pub async fn unban_user(
    app: AppPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<User>, Problem> {
    let user_id = path.into_inner();
    Ok(web::Json(db.write(move |conn| ops::unban(conn, &app.app_id, &user_id)).await?.into()))
}
