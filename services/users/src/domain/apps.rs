//! Apps: the host applications that embed Chorus, and their settings.

use super::{UsersError, check_text, invalid};

pub const MAX_NAME: usize = 100;

/// Per-app settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSettings {
    /// Whether the SDK may open sessions for anonymous device users.
    pub anonymous_sessions: bool,
    /// Lifetime of user access tokens, 60 to 86400 seconds.
    pub access_token_ttl_secs: u32,
    /// Lifetime of refresh tokens, 1 to 365 days.
    pub refresh_token_ttl_days: u32,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self { anonymous_sessions: true, access_token_ttl_secs: 900, refresh_token_ttl_days: 30 }
    }
}

impl AppSettings {
    pub fn validate(&self) -> Result<(), UsersError> {
        if !(60..=86_400).contains(&self.access_token_ttl_secs) {
            return Err(invalid("settings.access_token_ttl_secs", "must be between 60 and 86400"));
        }
        if !(1..=365).contains(&self.refresh_token_ttl_days) {
            return Err(invalid("settings.refresh_token_ttl_days", "must be between 1 and 365"));
        }
        Ok(())
    }
}

/// An app. The secret is never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: String,
    pub name: String,
    /// The public key the SDK sends to open sessions.
    pub api_key: String,
    pub settings: AppSettings,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub fn validate_name(name: &str) -> Result<(), UsersError> {
    check_text("name", name, MAX_NAME)
}
