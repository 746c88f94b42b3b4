//! The actions service's configuration (`config/default.toml`, then `--config`, then
//! `CHORUS_ACTIONS__…`).

use chorus_kit::config::{
    AuthSettings, ConfigError, DatabaseSettings, EventSettings, HttpSettings, ServiceConfig, TelemetrySettings,
};
use chorus_kit::rate_limit::RateLimitSettings;
use chorus_upstream::UsersLink;
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
    #[serde(default)]
    pub rate_limits: RateLimitSettings,
    pub views: ViewSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSettings {
    /// Most views committed in one transaction (1 to 10,000).
    pub batch_max: usize,
    /// Longest a group waits to fill, in milliseconds (at most 1,000).
    pub batch_window_ms: u64,
    /// Groups committing at once (1 to 64): while one waits for its commit, the next fills.
    pub groups_in_flight: usize,
}

impl ServiceConfig for Config {
    chorus_kit::common_settings_accessors!();

    fn validate_service(&self) -> Result<(), ConfigError> {
        self.users.validate()?;
        if !(1..=10_000).contains(&self.views.batch_max) {
            return Err(ConfigError::invalid("views.batch_max", "must be between 1 and 10000"));
        }
        if !(1..=64).contains(&self.views.groups_in_flight) {
            return Err(ConfigError::invalid("views.groups_in_flight", "must be between 1 and 64"));
        }
        if self.views.batch_window_ms > 1_000 {
            return Err(ConfigError::invalid("views.batch_window_ms", "must be at most 1000"));
        }
        Ok(())
    }
}
