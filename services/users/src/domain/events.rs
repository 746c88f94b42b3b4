//! The events the users service publishes on its feed.

use serde::Serialize;

use super::profile::User;

pub const USER_CREATED: &str = "user.created";
pub const USER_UPDATED: &str = "user.updated";
pub const USER_DELETED: &str = "user.deleted";
pub const USER_BANNED: &str = "user.banned";
pub const USER_UNBANNED: &str = "user.unbanned";
pub const USER_BLOCKED: &str = "user.blocked";
pub const USER_UNBLOCKED: &str = "user.unblocked";

/// `user.created` and `user.updated` carry the user's public profile.
#[derive(Debug, Serialize)]
pub struct UserChanged<'a> {
    pub user: &'a User,
}

/// `user.deleted`, `user.banned` and `user.unbanned` name the user.
#[derive(Debug, Serialize)]
pub struct UserRef<'a> {
    pub user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// `user.blocked` and `user.unblocked`: `user_id` blocked (or unblocked) `blocked_user_id`.
#[derive(Debug, Serialize)]
pub struct BlockChanged<'a> {
    pub user_id: &'a str,
    pub blocked_user_id: &'a str,
}
