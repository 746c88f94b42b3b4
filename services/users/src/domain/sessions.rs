//! Sessions and tokens: the SDK's first call, refresh-token rotation, app and service tokens.

use chorus_kit::auth::{Claims, ISSUER, TokenKind, TokenSigner};
use chorus_kit::db::DbConnection;
use chorus_kit::secrets;
use chrono::TimeDelta;
use serde::Deserialize;
use std::sync::RwLock;

use super::apps::App;
use super::events::UsersEvent;
use super::profile::User;
use super::{UsersError, check_text, new_id};
use crate::store;

const MAX_DEVICE_ID: usize = 200;

/// Signs access tokens for users, apps and services, with the key that signs now (it changes
/// when a rotation's new key activates; see [`super::keys`]).
pub struct TokenIssuer {
    signer: RwLock<TokenSigner>,
    app_ttl_secs: i64,
    service_ttl_secs: i64,
}

/// A signed access token and its lifetime in seconds.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
}

impl TokenIssuer {
    pub fn new(signer: TokenSigner, app_ttl_secs: u32, service_ttl_secs: u32) -> Self {
        Self {
            signer: RwLock::new(signer),
            app_ttl_secs: app_ttl_secs.into(),
            service_ttl_secs: service_ttl_secs.into(),
        }
    }

    /// The `kid` tokens are signed with now.
    pub fn kid(&self) -> String {
        self.signer.read().expect("signer lock").kid().to_owned()
    }

    /// Signs with `signer` from now on (a no-op when it already does).
    pub fn sign_with(&self, signer: TokenSigner) {
        let mut current = self.signer.write().expect("signer lock");
        if current.kid() != signer.kid() {
            tracing::info!(kid = signer.kid(), "signing tokens with a new key");
            *current = signer;
        }
    }

    fn issue(&self, kind: TokenKind, sub: &str, app: Option<&str>, scope: Vec<String>, ttl: i64) -> IssuedToken {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: sub.into(),
            iat: now,
            exp: now + ttl,
            kind,
            app: app.map(str::to_owned),
            scope,
        };
        IssuedToken { token: self.signer.read().expect("signer lock").sign(&claims), expires_in: ttl }
    }

    pub fn user_token(&self, app_id: &str, user_id: &str, ttl_secs: u32) -> IssuedToken {
        self.issue(TokenKind::User, user_id, Some(app_id), Vec::new(), ttl_secs.into())
    }

    pub fn app_token(&self, app_id: &str) -> IssuedToken {
        self.issue(TokenKind::App, app_id, Some(app_id), Vec::new(), self.app_ttl_secs)
    }

    pub fn service_token(&self, account: &ServiceAccount) -> IssuedToken {
        self.issue(TokenKind::Service, &account.name, None, account.scopes.clone(), self.service_ttl_secs)
    }
}

/// An internal service allowed to get service tokens. It is configuration, read from the config
/// file (hence `Deserialize`), never part of the API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    pub name: String,
    /// Hex SHA-256 of the service's secret.
    pub secret_sha256: String,
    pub scopes: Vec<String>,
}

/// The service account these credentials belong to.
pub fn authenticate_service<'a>(
    accounts: &'a [ServiceAccount],
    name: &str,
    secret: &str,
) -> Result<&'a ServiceAccount, UsersError> {
    accounts
        .iter()
        .find(|account| account.name == name && secrets::verify(secret, &account.secret_sha256.to_ascii_lowercase()))
        .ok_or(UsersError::BadCredentials)
}

/// The app these credentials belong to.
pub fn authenticate_app(conn: &mut DbConnection, api_key: &str, api_secret: &str) -> Result<App, UsersError> {
    match store::apps::find_by_api_key(conn, api_key)? {
        Some((app, secret_hash)) if secrets::verify(api_secret, &secret_hash) => Ok(app),
        _ => Err(UsersError::BadCredentials),
    }
}

/// A session just opened or refreshed; the caller signs the access token.
#[derive(Debug)]
pub struct OpenedSession {
    pub user: User,
    /// True when this call created the user.
    pub created: bool,
    pub refresh_token: String,
    pub access_ttl_secs: u32,
}

/// The SDK's first call: finds the device's anonymous user, or creates one.
pub fn start(conn: &mut DbConnection, api_key: &str, device_id: &str) -> Result<OpenedSession, UsersError> {
    check_text("device_id", device_id, MAX_DEVICE_ID)?;
    let (app, _) = store::apps::find_by_api_key(conn, api_key)?.ok_or(UsersError::UnknownApiKey)?;
    let (user, created) = match store::users::of_device(conn, &app.id, device_id)? {
        Some((user, signed_in)) => {
            // A device id is no secret: it may reopen an anonymous user's session, never that of
            // a user who signed in with an identity.
            if signed_in {
                return Err(UsersError::SignInRequired);
            }
            (user, false)
        }
        None => {
            if !app.settings.anonymous_sessions {
                return Err(UsersError::AnonymousSessionsDisabled);
            }
            let user = store::users::insert(conn, &new_id(), &app.id)?;
            store::sessions::insert_device(conn, &app.id, device_id, &user.id)?;
            chorus_kit::events::publish(conn, &app.id, &UsersEvent::Created { user: &user })?;
            (user, true)
        }
    };
    if user.banned {
        return Err(UsersError::Banned);
    }
    // A known device is seen again as its token is issued (a new one was inserted seen).
    let seen_device = (!created).then_some(device_id);
    let refresh_token = issue_refresh_token(conn, &app, &user.id, &new_id(), seen_device)?;
    Ok(OpenedSession { user, created, refresh_token, access_ttl_secs: app.settings.access_token_ttl_secs })
}

/// Opens a session for a known user (after an identity hand-back).
pub fn open_for(conn: &mut DbConnection, app: &App, user: User) -> Result<OpenedSession, UsersError> {
    let refresh_token = issue_refresh_token(conn, app, &user.id, &new_id(), None)?;
    Ok(OpenedSession { user, created: false, refresh_token, access_ttl_secs: app.settings.access_token_ttl_secs })
}

/// What presenting a refresh token did.
#[derive(Debug)]
pub enum Refreshed {
    Rotated(Box<OpenedSession>),
    /// The token had been used before, so its family is revoked. This outcome must commit, so it
    /// is not an error here; the caller reports it as one.
    Revoked,
}

/// Rotates a refresh token. A token presented twice revokes its whole family, since one of the
/// two presenters holds a stolen copy.
pub fn refresh(conn: &mut DbConnection, refresh_token: &str) -> Result<Refreshed, UsersError> {
    let row = store::sessions::find_refresh_token(conn, &secrets::digest(refresh_token))?
        .ok_or(UsersError::InvalidRefreshToken)?;
    if row.revoked || row.expires_at < chorus_kit::db::now() {
        return Err(UsersError::InvalidRefreshToken);
    }
    if row.used_at.is_some() || !store::sessions::mark_used(conn, &row.token_hash)? {
        store::sessions::revoke_family(conn, &row.family_id)?;
        return Ok(Refreshed::Revoked);
    }
    let app = store::apps::find(conn, &row.app_id)?.ok_or(UsersError::InvalidRefreshToken)?;
    let user = store::users::find(conn, &row.app_id, &row.user_id)?.ok_or(UsersError::InvalidRefreshToken)?;
    if user.banned {
        return Err(UsersError::Banned);
    }
    let refresh_token = issue_refresh_token(conn, &app, &user.id, &row.family_id, None)?;
    Ok(Refreshed::Rotated(Box::new(OpenedSession {
        user,
        created: false,
        refresh_token,
        access_ttl_secs: app.settings.access_token_ttl_secs,
    })))
}

/// A new refresh token of `family_id` for the user (stored hashed), marking `seen_device` seen
/// in the same write.
fn issue_refresh_token(
    conn: &mut DbConnection,
    app: &App,
    user_id: &str,
    family_id: &str,
    seen_device: Option<&str>,
) -> Result<String, UsersError> {
    let token = secrets::new_credential("rt");
    let token_hash = secrets::digest(&token);
    let expires_at = chorus_kit::db::now() + TimeDelta::days(app.settings.refresh_token_ttl_days.into());
    let new =
        store::sessions::NewRefreshToken { token_hash: &token_hash, family_id, user_id, app_id: &app.id, expires_at };
    store::sessions::insert_refresh_token(conn, &new, seen_device)?;
    Ok(token)
}
