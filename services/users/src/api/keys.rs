//! The token-signing keys: the public JWKS every service verifies against, and the operator's
//! rotation and withdrawal.

use actix_web::{HttpResponse, web};
use chorus_kit::Problem;
use chorus_kit::auth::{Jwks, OperatorPrincipal};
use chorus_kit::db::Db;
use chorus_kit::extract::Query;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::UsersState;
use crate::domain::keys::{self, SigningKey as StoredKey};

/// The longest lead time a rotation may ask for, in seconds.
const MAX_LEAD_SECS: u32 = 3_600;

/// A token-signing key, as the operator sees it (the public half is in the JWKS).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SigningKey {
    /// The key id tokens name in their header.
    pub kid: String,
    pub created_at: DateTime<Utc>,
    /// When it signs (or signed) from. Until then it is only published.
    pub activates_at: DateTime<Utc>,
    /// True for the one key that signs tokens now.
    pub signing: bool,
}

impl From<StoredKey> for SigningKey {
    fn from(key: StoredKey) -> Self {
        Self {
            kid: key.kid,
            created_at: key.created_at.and_utc(),
            activates_at: key.activates_at.and_utc(),
            signing: key.signing,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RotateQuery {
    /// Seconds until the new key signs (0 to 3,600); the configured lead time
    /// (`tokens.rotation_lead_secs`) when absent. 0 signs at once: use it after a leak, accepting
    /// that verifiers fetch the key on first sight.
    #[param(minimum = 0, maximum = 3600)]
    pub activate_in_secs: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SigningKeyList {
    /// Every published key, the latest activation first.
    pub items: Vec<SigningKey>,
}

/// The token-signing keys
///
/// Every Chorus service verifies access tokens against these keys, locally. Fetch them again on
/// a schedule (a withdrawn key disappears from here) and when a token names an unknown `kid`.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    operation_id = "get_jwks",
    responses((status = 200, description = "The public keys", body = Jwks))
)]
pub async fn get_jwks(db: web::Data<Db>) -> Result<web::Json<Jwks>, Problem> {
    Ok(web::Json(db.read(keys::published_keys).await?))
}

/// List the signing keys (operator)
#[utoipa::path(
    get,
    path = "/v1/admin/signing-keys",
    tag = "keys",
    operation_id = "list_signing_keys",
    responses(
        (status = 200, description = "Every published key", body = SigningKeyList),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("operator" = []))
)]
pub async fn list_signing_keys(_: OperatorPrincipal, db: web::Data<Db>) -> Result<web::Json<SigningKeyList>, Problem> {
    let items = db.read(keys::list).await?;
    Ok(web::Json(SigningKeyList { items: items.into_iter().map(SigningKey::from).collect() }))
}

/// Rotate the signing key (operator)
///
/// Creates a new key and publishes it at once; it signs from `activates_at`, after the
/// configured lead time (`tokens.rotation_lead_secs`), by which time every service has it. The
/// old key stays published, so the tokens it signed keep verifying until they expire or it is
/// withdrawn.
#[utoipa::path(
    post,
    path = "/v1/admin/signing-keys",
    tag = "keys",
    operation_id = "rotate_signing_key",
    params(RotateQuery),
    responses(
        (status = 201, description = "The new key", body = SigningKey),
        (status = 400, response = chorus_kit::problem::responses::BadRequest),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
    ),
    security(("operator" = []))
)]
pub async fn rotate_signing_key(
    _: OperatorPrincipal,
    db: web::Data<Db>,
    state: web::Data<UsersState>,
    query: Query<RotateQuery>,
) -> Result<HttpResponse, Problem> {
    let lead = match query.activate_in_secs {
        Some(secs) if secs > MAX_LEAD_SECS => {
            return Err(Problem::invalid("activate_in_secs", format!("must be at most {MAX_LEAD_SECS}")));
        }
        Some(secs) => chrono::TimeDelta::seconds(secs.into()),
        None => state.rotation_lead,
    };
    let key = db.write(move |conn| keys::rotate(conn, lead)).await?;
    if key.signing
        && let Some(signer) = db.read(keys::signing_key).await?
    {
        // No lead time: this replica signs with it now; the others follow within a second.
        state.issuer.sign_with(signer);
    }
    Ok(HttpResponse::Created().json(SigningKey::from(key)))
}

/// Withdraw a signing key (operator)
///
/// Stops publishing the key, so every service refuses the tokens it signed within its JWKS
/// refresh interval (`auth.jwks_refresh_secs`). The key that signs now cannot be withdrawn:
/// rotate first, and withdraw it once the new key signs.
#[utoipa::path(
    delete,
    path = "/v1/admin/signing-keys/{kid}",
    tag = "keys",
    operation_id = "withdraw_signing_key",
    params(("kid" = String, Path, description = "The key id")),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, response = chorus_kit::problem::responses::Unauthorized),
        (status = 403, response = chorus_kit::problem::responses::Forbidden),
        (status = 404, response = chorus_kit::problem::responses::NotFound),
        (status = 409, response = chorus_kit::problem::responses::Conflict),
    ),
    security(("operator" = []))
)]
pub async fn withdraw_signing_key(
    _: OperatorPrincipal,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let kid = path.into_inner();
    db.write(move |conn| keys::withdraw(conn, &kid)).await?;
    Ok(HttpResponse::NoContent().finish())
}
