use actix_web::web;
use chorus_kit::Problem;
use chorus_kit::auth::Jwks;
use chorus_kit::db::Db;

use crate::domain::sessions::published_keys;

/// The token-signing keys
///
/// Every Chorus service verifies access tokens against these keys, locally. Fetch again when a
/// token names an unknown `kid`.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    operation_id = "get_jwks",
    responses((status = 200, description = "The public keys", body = Jwks))
)]
pub async fn get_jwks(db: web::Data<Db>) -> Result<web::Json<Jwks>, Problem> {
    Ok(web::Json(db.read(published_keys).await?))
}
