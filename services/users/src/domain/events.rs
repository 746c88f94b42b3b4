//! The events the users service publishes on its feed. Each `data` shape here is published in the
//! spec through [`catalog`], so consumers parse them with users-client's generated types.

use chorus_kit::event_types::EventCatalog;
use serde::Serialize;
use utoipa::ToSchema;

use super::profile::User;

pub const USER_CREATED: &str = "user.created";
pub const USER_UPDATED: &str = "user.updated";
pub const USER_DELETED: &str = "user.deleted";
pub const USER_BANNED: &str = "user.banned";
pub const USER_UNBANNED: &str = "user.unbanned";
pub const USER_BLOCKED: &str = "user.blocked";
pub const USER_UNBLOCKED: &str = "user.unblocked";

/// Every event type of the users feed.
pub fn catalog() -> EventCatalog {
    EventCatalog::new()
        .event::<UserChanged>(USER_CREATED, "UserCreated", "a user joined the app (their first session).")
        .event::<UserChanged>(USER_UPDATED, "UserUpdated", "a user changed their profile or settings.")
        .event::<UserRef>(USER_DELETED, "UserDeleted", "a user was erased; every service forgets them.")
        .event::<UserRef>(USER_BANNED, "UserBanned", "the app banned a user; they can no longer act.")
        .event::<UserRef>(USER_UNBANNED, "UserUnbanned", "the app lifted a user's ban.")
        .event::<BlockChanged>(USER_BLOCKED, "UserBlocked", "a user blocked another; the blocker stops seeing them.")
        .event::<BlockChanged>(USER_UNBLOCKED, "UserUnblocked", "a user unblocked another.")
}

/// The data of `user.created` and `user.updated`: the user's public profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserChanged<'a> {
    pub user: &'a User,
}

/// The data of `user.deleted`, `user.banned` and `user.unbanned`: the user, and for a ban the
/// app's reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef<'a> {
    pub user_id: &'a str,
    /// The app's reason for a ban, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// The data of `user.blocked` and `user.unblocked`: `user_id` blocked (or unblocked)
/// `blocked_user_id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockChanged<'a> {
    pub user_id: &'a str,
    pub blocked_user_id: &'a str,
}
