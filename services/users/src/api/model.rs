//! Wire shapes more than one resource (or the feed) shares: a user and their settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::profile as domain;

/// A user's private settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserSettings {
    /// Whether Chorus sends this user notifications.
    pub notifications_enabled: bool,
}

/// A user of an app. `settings` is present only in the user's own view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    pub app_id: String,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub image_url: Option<String>,
    /// Free-form JSON the app keeps with the user.
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
    /// Banned users cannot open sessions or act in the app.
    pub banned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<UserSettings>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<domain::UserSettings> for UserSettings {
    fn from(settings: domain::UserSettings) -> Self {
        Self { notifications_enabled: settings.notifications_enabled }
    }
}

impl From<UserSettings> for domain::UserSettings {
    fn from(settings: UserSettings) -> Self {
        Self { notifications_enabled: settings.notifications_enabled }
    }
}

impl From<domain::User> for User {
    fn from(user: domain::User) -> Self {
        Self {
            id: user.id,
            app_id: user.app_id,
            display_name: user.display_name,
            first_name: user.first_name,
            last_name: user.last_name,
            bio: user.bio,
            location: user.location,
            image_url: user.image_url,
            meta: user.meta,
            banned: user.banned,
            settings: user.settings.map(UserSettings::from),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}
