//! The users domain: what an app, a user and a session are, and the rules that hold for them.
//! Nothing here knows HTTP or a wire format: `api/` maps these types and errors onto it, and
//! gives [`events::UsersEvent`] its published form.

pub mod apps;
pub mod events;
pub mod keys;
pub mod profile;
pub mod sessions;
pub mod users;

use chorus_kit::db::DbError;
use chorus_kit::validation::{self, Invalid};

/// Everything that can go wrong in the users domain.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("no app has this API key")]
    UnknownApiKey,
    #[error("the credentials are wrong")]
    BadCredentials,
    #[error("no such app")]
    AppNotFound,
    #[error("no such user in this app")]
    UserNotFound,
    #[error("the user is banned from this app")]
    Banned,
    #[error("this app does not allow anonymous sessions")]
    AnonymousSessionsDisabled,
    #[error("the device's user signed in with an identity: use the refresh token, or sign in again through the app")]
    SignInRequired,
    #[error("the refresh token is invalid or expired")]
    InvalidRefreshToken,
    #[error("the refresh token was already used; its session is revoked")]
    RefreshTokenReused,
    #[error("a user cannot block themselves")]
    SelfBlock,
    #[error("the user already has an identity from provider `{0}`")]
    ProviderAlreadyLinked(String),
    #[error("no signing key has this kid")]
    SigningKeyNotFound,
    #[error("this key signs tokens now; rotate first, and withdraw it once the new key signs")]
    SigningKeyInUse,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for UsersError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(error))
    }
}

impl From<Invalid> for UsersError {
    fn from(invalid: Invalid) -> Self {
        Self::Invalid { field: invalid.field, message: invalid.message }
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> UsersError {
    Invalid::new(field, message).into()
}

pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), UsersError> {
    Ok(validation::text(field, value, max)?)
}

pub(crate) fn check_max(field: &'static str, value: &str, max: usize) -> Result<(), UsersError> {
    Ok(validation::max_chars(field, value, max)?)
}

/// A new random id, time-ordered so lists sort by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
