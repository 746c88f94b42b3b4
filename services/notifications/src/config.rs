//! The notifications service's configuration (`config/default.toml`, then `--config`, then
//! `CHORUS_NOTIFICATIONS__…`).

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
    pub actions: ActionsLink,
    pub events: EventSettings,
}

/// The users service: signing keys, this service's token and the users feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersLink {
    pub url: String,
    pub service_name: String,
    #[serde(default)]
    pub service_secret: Option<Secret>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsLink {
    pub url: String,
}

fn check_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::invalid(key, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::invalid(key, "must be an http or https URL"));
    }
    Ok(())
}

impl ServiceConfig for Config {
    chorus_kit::common_settings_accessors!();

    fn validate_service(&self) -> Result<(), ConfigError> {
        check_url("users.url", &self.users.url)?;
        check_url("actions.url", &self.actions.url)?;
        if self.users.service_secret.as_ref().is_none_or(|s| s.expose().is_empty()) {
            return Err(ConfigError::invalid(
                "users.service_secret",
                "is required to follow the users and actions feeds",
            ));
        }
        self.events.validate()
    }
}
