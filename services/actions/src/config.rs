//! The actions service's configuration (`config/default.toml`, then `--config`, then
//! `CHORUS_ACTIONS__…`).

use chorus_kit::config::{
    AuthSettings, ConfigError, DatabaseSettings, EventSettings, HttpSettings, Secret, ServiceConfig, TelemetrySettings,
};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub auth: AuthSettings,
    pub users: UsersLink,
    pub events: EventSettings,
    pub views: ViewSettings,
}

/// How actions reaches the users service: its signing keys and its feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersLink {
    pub url: String,
    pub service_name: String,
    /// The secret of the service account named `service_name` in the users service's config.
    #[serde(default)]
    pub service_secret: Option<Secret>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSettings {
    pub batch_max: usize,
    pub batch_window_ms: u64,
}

impl ServiceConfig for Config {
    chorus_kit::common_settings_accessors!();

    fn validate_service(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.users.url).map_err(|e| ConfigError::invalid("users.url", e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::invalid("users.url", "must be an http or https URL"));
        }
        if self.users.service_secret.as_ref().is_none_or(|s| s.expose().is_empty()) {
            return Err(ConfigError::invalid("users.service_secret", "is required to follow the users feed"));
        }
        self.events.validate()?;
        if !(1..=10_000).contains(&self.views.batch_max) {
            return Err(ConfigError::invalid("views.batch_max", "must be between 1 and 10000"));
        }
        if self.views.batch_window_ms > 1_000 {
            return Err(ConfigError::invalid("views.batch_window_ms", "must be at most 1000"));
        }
        Ok(())
    }
}
