//! The events the users service publishes on its feed, in their wire form. Each `data` shape here
//! is published in the spec through [`catalog`], so consumers parse them with users-client's
//! generated types.

use chorus_kit::event_types::EventCatalog;
use chorus_kit::events::Publish;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::User;
use crate::domain::events::{
    USER_BANNED, USER_BLOCKED, USER_CREATED, USER_DELETED, USER_SETTINGS_CHANGED, USER_UNBANNED, USER_UNBLOCKED,
    USER_UPDATED, UsersEvent,
};

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
        .event::<SettingsChanged>(
            USER_SETTINGS_CHANGED,
            "UserSettingsChanged",
            "a user changed their private settings (whether they are sent notifications).",
        )
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

/// The data of `user.settings_changed`: the user's private settings as they now are. Only
/// services read the feed, so the settings may be published on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsChanged<'a> {
    pub user_id: &'a str,
    /// Whether Chorus sends this user notifications (inbox and push).
    pub notifications_enabled: bool,
}

impl Publish for UsersEvent<'_> {
    fn event_type(&self) -> &'static str {
        match self {
            UsersEvent::Created { .. } => USER_CREATED,
            UsersEvent::Updated { .. } => USER_UPDATED,
            UsersEvent::Deleted { .. } => USER_DELETED,
            UsersEvent::Banned { .. } => USER_BANNED,
            UsersEvent::Unbanned { .. } => USER_UNBANNED,
            UsersEvent::Blocked { .. } => USER_BLOCKED,
            UsersEvent::Unblocked { .. } => USER_UNBLOCKED,
            UsersEvent::SettingsChanged { .. } => USER_SETTINGS_CHANGED,
        }
    }

    fn subject(&self) -> &str {
        match self {
            UsersEvent::Created { user } | UsersEvent::Updated { user } => &user.id,
            UsersEvent::Deleted { user_id }
            | UsersEvent::Banned { user_id, .. }
            | UsersEvent::Unbanned { user_id }
            | UsersEvent::SettingsChanged { user_id, .. } => user_id,
            UsersEvent::Blocked { blocker, .. } | UsersEvent::Unblocked { blocker, .. } => blocker,
        }
    }

    fn data(&self) -> serde_json::Value {
        match *self {
            // Everyone in the app reads the feed, so it carries the public view only.
            UsersEvent::Created { user } | UsersEvent::Updated { user } => {
                to_data(&UserChanged { user: &User::from(user.clone().public()) })
            }
            UsersEvent::Deleted { user_id } | UsersEvent::Unbanned { user_id } => {
                to_data(&UserRef { user_id, reason: None })
            }
            UsersEvent::Banned { user_id, reason } => to_data(&UserRef { user_id, reason }),
            UsersEvent::Blocked { blocker, blocked } | UsersEvent::Unblocked { blocker, blocked } => {
                to_data(&BlockChanged { user_id: blocker, blocked_user_id: blocked })
            }
            UsersEvent::SettingsChanged { user_id, settings } => {
                to_data(&SettingsChanged { user_id, notifications_enabled: settings.notifications_enabled })
            }
        }
    }
}

/// The JSON form of an event's data. These shapes hold only strings, numbers, booleans and JSON
/// values, so serializing them cannot fail.
fn to_data(data: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(data).expect("event data serializes to JSON")
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::profile::{self, UserSettings};

    fn user() -> profile::User {
        profile::User {
            id: "u1".into(),
            app_id: "a1".into(),
            display_name: Some("Ada".into()),
            first_name: None,
            last_name: None,
            bio: None,
            location: None,
            image_url: None,
            meta: serde_json::json!({}),
            banned: false,
            settings: Some(UserSettings { notifications_enabled: true }),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn user_events_carry_the_public_profile() {
        let user = user();
        let event = UsersEvent::Updated { user: &user };
        assert_eq!((event.event_type(), event.subject()), (USER_UPDATED, "u1"));
        let data = event.data();
        assert_eq!(data["user"]["display_name"], "Ada");
        assert!(data["user"].get("settings").is_none(), "settings are private: {data}");
    }

    #[test]
    fn references_leave_out_an_absent_reason() {
        let banned = UsersEvent::Banned { user_id: "u1", reason: Some("spam") };
        assert_eq!(banned.data(), serde_json::json!({ "user_id": "u1", "reason": "spam" }));
        let deleted = UsersEvent::Deleted { user_id: "u1" };
        assert_eq!(deleted.data(), serde_json::json!({ "user_id": "u1" }));
        let blocked = UsersEvent::Blocked { blocker: "u1", blocked: "u2" };
        assert_eq!(blocked.subject(), "u1");
        assert_eq!(blocked.data(), serde_json::json!({ "user_id": "u1", "blocked_user_id": "u2" }));
    }
}
