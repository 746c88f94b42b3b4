//! User profiles: what a user may say about themselves, and the limits on it.

use chrono::{DateTime, Utc};

use super::{UsersError, check_max};

const MAX_NAME: usize = 100;
const MAX_BIO: usize = 1_000;
const MAX_LOCATION: usize = 200;
const MAX_URL: usize = 2_048;
const MAX_META_BYTES: usize = 8_192;

/// A user's private settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSettings {
    /// Whether Chorus sends this user notifications.
    pub notifications_enabled: bool,
}

/// A user of an app. `settings` is `None` in the public view.
#[derive(Debug, Clone, PartialEq)]
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
    pub meta: serde_json::Value,
    /// Banned users cannot open sessions or act in the app.
    pub banned: bool,
    pub settings: Option<UserSettings>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// The view anyone else in the app gets.
    pub fn public(mut self) -> Self {
        self.settings = None;
        self
    }
}

/// Changes to the caller's own profile. Absent fields stay as they are; an empty string clears
/// a text field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    /// An http or https URL with a host name.
    pub image_url: Option<String>,
    /// Replaces the whole meta object.
    pub meta: Option<serde_json::Value>,
    pub settings: Option<UserSettings>,
}

impl ProfileUpdate {
    /// Checks every field present against its limits.
    pub fn validate(&self) -> Result<(), UsersError> {
        let texts = [
            ("display_name", &self.display_name, MAX_NAME),
            ("first_name", &self.first_name, MAX_NAME),
            ("last_name", &self.last_name, MAX_NAME),
            ("bio", &self.bio, MAX_BIO),
            ("location", &self.location, MAX_LOCATION),
            ("image_url", &self.image_url, MAX_URL),
        ];
        for (field, value, max) in texts {
            if let Some(value) = value {
                check_max(field, value, max)?;
            }
        }
        if let Some(image_url) = self.image_url.as_deref().filter(|url| !url.is_empty()) {
            chorus_kit::validation::http_url("image_url", image_url, MAX_URL)?;
        }
        if let Some(meta) = &self.meta {
            chorus_kit::validation::json_object("meta", meta, MAX_META_BYTES)?;
        }
        Ok(())
    }

    /// True when the update would change nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Turns "" into "clear the field".
pub fn cleared(value: &Option<String>) -> Option<Option<String>> {
    value.as_ref().map(|v| if v.is_empty() { None } else { Some(v.clone()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_oversized_and_malformed_fields() {
        let long = ProfileUpdate { bio: Some("x".repeat(MAX_BIO + 1)), ..Default::default() };
        assert!(matches!(long.validate(), Err(UsersError::Invalid { field: "bio", .. })));
        let url = ProfileUpdate { image_url: Some("javascript:alert(1)".into()), ..Default::default() };
        assert!(matches!(url.validate(), Err(UsersError::Invalid { field: "image_url", .. })));
        let meta = ProfileUpdate { meta: Some(serde_json::json!([1])), ..Default::default() };
        assert!(matches!(meta.validate(), Err(UsersError::Invalid { field: "meta", .. })));
        let fine = ProfileUpdate { display_name: Some("Ada".into()), ..Default::default() };
        assert!(fine.validate().is_ok());
    }
}
