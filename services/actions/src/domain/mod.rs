//! The actions domain: entities, the actions users take on them, counts that never drift, and
//! moderation. Nothing here knows HTTP; `api/` maps these types and errors onto it.

pub mod model;
pub mod ops;
pub mod recount;
pub mod users_feed;
pub mod views;

use chorus_kit::db::DbError;

/// Everything that can go wrong in the actions domain.
#[derive(Debug, thiserror::Error)]
pub enum ActionsError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("no entity has this key in the app")]
    EntityNotFound,
    #[error("no such comment in the app")]
    CommentNotFound,
    #[error("no such flag in the app")]
    FlagNotFound,
    #[error("the user is banned from this app")]
    Banned,
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

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> ActionsError {
    ActionsError::Invalid { field, message: message.into() }
}

/// A required text's length in characters, after trimming.
pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), ActionsError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    check_max(field, value, max)
}

pub(crate) fn check_max(field: &'static str, value: &str, max: usize) -> Result<(), ActionsError> {
    if value.chars().count() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
