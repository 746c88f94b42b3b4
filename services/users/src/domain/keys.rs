//! The token-signing keys and their rotation.
//!
//! Every stored key is published at `/.well-known/jwks.json` from the moment it is stored, and
//! signs from its `activates_at`: the key that signs is the one activated last. A rotation
//! stores a new key that activates a lead time later, so every service has seen it published
//! (they refresh the JWKS on a schedule, and on an unknown `kid`) before a token names it. A
//! withdrawn key is deleted: it stops being published, and every service stops accepting the
//! tokens it signed at its next refresh.

use chorus_kit::auth::{Jwks, TokenSigner};
use chorus_kit::db::DbConnection;
use chrono::{NaiveDateTime, TimeDelta};

use super::{UsersError, invalid};
use crate::store;
use crate::store::keys::KeyRow;

/// A stored key, without its secret half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub created_at: NaiveDateTime,
    /// When it signs (or signed) from.
    pub activates_at: NaiveDateTime,
    /// True for the one key that signs now.
    pub signing: bool,
}

/// The key that signs at startup. A configured key (`tokens.signing_key`) is stored the first
/// time it is seen, activating at once; otherwise the stored key that signs now, or a new one
/// stored there when there is none.
pub fn load_signing_key(conn: &mut DbConnection, configured: Option<&str>) -> Result<TokenSigner, UsersError> {
    let now = chorus_kit::db::now();
    if let Some(seed) = configured {
        let signer = TokenSigner::from_encoded_seed(seed)
            .ok_or_else(|| invalid("tokens.signing_key", "is not a base64url 32-byte seed"))?;
        if !store::keys::all(conn)?.iter().any(|row| row.kid == signer.kid()) {
            store::keys::insert(conn, signer.kid(), &signer.encoded_seed(), now)?;
        }
    }
    if let Some(signer) = signing_key(conn)? {
        return Ok(signer);
    }
    let generated = TokenSigner::generate();
    store::keys::insert(conn, generated.kid(), &generated.encoded_seed(), now)?;
    Ok(generated)
}

/// The stored key that signs now, if any.
pub fn signing_key(conn: &mut DbConnection) -> Result<Option<TokenSigner>, UsersError> {
    let row = store::keys::signing_at(conn, chorus_kit::db::now())?;
    Ok(row.and_then(|row| TokenSigner::from_encoded_seed(&row.seed)))
}

/// Every stored key, as published at `/.well-known/jwks.json`. Read from the database each time,
/// so every replica publishes (and accepts) the keys any replica signs with.
pub fn published_keys(conn: &mut DbConnection) -> Result<Jwks, UsersError> {
    let keys = store::keys::all(conn)?
        .iter()
        .filter_map(|row| TokenSigner::from_encoded_seed(&row.seed))
        .map(|signer| signer.jwk())
        .collect();
    Ok(Jwks { keys })
}

/// Every stored key, the newest activation first, marking the one that signs now.
pub fn list(conn: &mut DbConnection) -> Result<Vec<SigningKey>, UsersError> {
    let signing = store::keys::signing_at(conn, chorus_kit::db::now())?.map(|row| row.kid);
    Ok(store::keys::all(conn)?.into_iter().map(|row| describe(row, signing.as_deref())).collect())
}

/// Stores a new key, published at once and signing `lead` later.
pub fn rotate(conn: &mut DbConnection, lead: TimeDelta) -> Result<SigningKey, UsersError> {
    let signer = TokenSigner::generate();
    let activates_at = chorus_kit::db::now() + lead;
    store::keys::insert(conn, signer.kid(), &signer.encoded_seed(), activates_at)?;
    list(conn)?.into_iter().find(|key| key.kid == signer.kid()).ok_or(UsersError::SigningKeyNotFound)
}

/// Withdraws a key: it is no longer published, and the tokens it signed stop verifying. The key
/// that signs now cannot go (rotate first, and withdraw it once the new key signs).
pub fn withdraw(conn: &mut DbConnection, kid: &str) -> Result<(), UsersError> {
    let signing = store::keys::signing_at(conn, chorus_kit::db::now())?;
    if signing.is_some_and(|row| row.kid == kid) {
        return Err(UsersError::SigningKeyInUse);
    }
    if !store::keys::delete(conn, kid)? {
        return Err(UsersError::SigningKeyNotFound);
    }
    Ok(())
}

fn describe(row: KeyRow, signing: Option<&str>) -> SigningKey {
    SigningKey {
        signing: signing == Some(row.kid.as_str()),
        kid: row.kid,
        created_at: row.created_at,
        activates_at: row.activates_at,
    }
}

/// How often each replica checks which key signs: a rotated-in key starts signing everywhere
/// within this of its `activates_at`.
const SIGNING_KEY_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps `issuer` signing with the key that signs now, until shutdown.
pub async fn follow_signing_key(
    db: chorus_kit::db::Db,
    issuer: std::sync::Arc<super::sessions::TokenIssuer>,
    shutdown: chorus_kit::shutdown::Shutdown,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SIGNING_KEY_CHECK) => {}
            _ = shutdown.fired() => return,
        }
        match db.read(signing_key).await {
            Ok(Some(signer)) => issuer.sign_with(signer),
            Ok(None) => tracing::error!("no stored signing key signs now; tokens keep the last one"),
            Err(error) => tracing::warn!(%error, "checking the signing key failed"),
        }
    }
}
