//! The notifications service's configuration (`config/default.toml`, then `--config`, then
//! `CHORUS_NOTIFICATIONS__…`).

use chorus_kit::config::{
    AuthSettings, ConfigError, DatabaseSettings, EventSettings, HttpSettings, ServiceConfig, TelemetrySettings,
};
use chorus_kit::rate_limit::RateLimitSettings;
pub use chorus_kit::webhooks::WebhookSettings;
use chorus_upstream::UsersLink;

pub use crate::push::PushSettings;
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
    #[serde(default)]
    pub rate_limits: RateLimitSettings,
    pub broadcasts: BroadcastSettings,
    pub webhooks: WebhookSettings,
    pub push: PushSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastSettings {
    /// Broadcasts each app may send in any 24 hours.
    pub daily_quota: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsLink {
    pub url: String,
}

impl ServiceConfig for Config {
    chorus_kit::common_settings_accessors!();

    fn validate_service(&self) -> Result<(), ConfigError> {
        self.users.validate()?;
        chorus_kit::config::check_http_url("actions.url", &self.actions.url)?;
        self.webhooks.validate()?;
        self.push.validate()?;
        if self.broadcasts.daily_quota == 0 {
            return Err(ConfigError::invalid("broadcasts.daily_quota", "must be at least 1"));
        }
        Ok(())
    }
}
