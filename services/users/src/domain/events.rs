//! What the users service tells the others: the event types of its feed, and [`UsersEvent`], the
//! changes the domain publishes. Their wire form (the `data` the spec publishes) is the api's
//! concern: see `api::events`.

use super::profile::{User, UserSettings};

pub const USER_CREATED: &str = "user.created";
pub const USER_UPDATED: &str = "user.updated";
pub const USER_DELETED: &str = "user.deleted";
pub const USER_BANNED: &str = "user.banned";
pub const USER_UNBANNED: &str = "user.unbanned";
pub const USER_BLOCKED: &str = "user.blocked";
pub const USER_UNBLOCKED: &str = "user.unblocked";
pub const USER_SETTINGS_CHANGED: &str = "user.settings_changed";

/// A change other services must learn of, published in the transaction that makes it.
#[derive(Debug, Clone, Copy)]
pub enum UsersEvent<'a> {
    /// A user joined the app (their first session). The event shows their public profile only.
    Created { user: &'a User },
    /// A user changed their profile or settings. The event shows their public profile only.
    Updated { user: &'a User },
    /// A user was erased.
    Deleted { user_id: &'a str },
    /// The app banned a user, for `reason` when it gave one.
    Banned { user_id: &'a str, reason: Option<&'a str> },
    /// The app lifted a user's ban.
    Unbanned { user_id: &'a str },
    /// `blocker` blocked `blocked`.
    Blocked { blocker: &'a str, blocked: &'a str },
    /// `blocker` unblocked `blocked`.
    Unblocked { blocker: &'a str, blocked: &'a str },
    /// A user changed their private settings (notifications learns whether to push to them).
    SettingsChanged { user_id: &'a str, settings: &'a UserSettings },
}
