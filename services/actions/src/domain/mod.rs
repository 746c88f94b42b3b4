//! The actions domain: entities, the actions users take on them, counts that never drift, and
//! moderation. Nothing here knows HTTP or a wire format: `api/` maps these plain types and errors
//! onto requests, responses and event data, and publishes [`events::ActionsEvent`]s in the shapes
//! its spec shows.

pub mod events;
pub mod model;
pub mod ops;
pub mod recount;
pub mod users_feed;
pub mod views;

use chorus_kit::db::DbError;
use chorus_kit::validation::{self, Invalid};

/// Everything that can go wrong in the actions domain.
#[derive(Debug, thiserror::Error)]
pub enum ActionsError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("no entity has this key in the app")]
    EntityNotFound,
    #[error("parent_id names no comment on this entity")]
    ParentNotFound,
    #[error("no such comment in the app")]
    CommentNotFound,
    #[error("no such flag in the app")]
    FlagNotFound,
    #[error("the user is banned from this app")]
    Banned,
    #[error("the user was erased")]
    Erased,
    #[error("only the comment's author or the app may delete it")]
    NotAuthor,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ActionsError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(error))
    }
}

impl From<Invalid> for ActionsError {
    fn from(invalid: Invalid) -> Self {
        Self::Invalid { field: invalid.field, message: invalid.message }
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> ActionsError {
    Invalid::new(field, message).into()
}

pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), ActionsError> {
    Ok(validation::text(field, value, max)?)
}

pub(crate) fn check_max(field: &'static str, value: &str, max: usize) -> Result<(), ActionsError> {
    Ok(validation::max_chars(field, value, max)?)
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
