//! The analytics service's configuration (`config/default.toml`, then `--config`, then
//! `CHORUS_ANALYTICS__…`).

use chorus_kit::config::{
    AuthSettings, ConfigError, DatabaseSettings, EventSettings, HttpSettings, ServiceConfig, TelemetrySettings,
};
use chorus_kit::rate_limit::RateLimitSettings;
use chorus_kit::webhooks::WebhookSettings;
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
    pub actions: ActionsLink,
    pub events: EventSettings,
    #[serde(default)]
    pub rate_limits: RateLimitSettings,
    pub raw_events: RawEventSettings,
    pub notifications: NotificationsLink,
    pub alerts: AlertSettings,
    pub webhooks: WebhookSettings,
}

/// The notifications service, which sends alerts' broadcasts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsLink {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// How often every rule is evaluated, in seconds (1 to 3,600).
    pub evaluate_every_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsLink {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEventSettings {
    /// Days raw events are kept; an ingested event older than this is refused. 1 to 3,650.
    pub retention_days: u32,
}

impl ServiceConfig for Config {
    chorus_kit::common_settings_accessors!();

    fn validate_service(&self) -> Result<(), ConfigError> {
        self.users.validate()?;
        chorus_kit::config::check_http_url("actions.url", &self.actions.url)?;
        if !(1..=3650).contains(&self.raw_events.retention_days) {
            return Err(ConfigError::invalid("raw_events.retention_days", "must be between 1 and 3650"));
        }
        chorus_kit::config::check_http_url("notifications.url", &self.notifications.url)?;
        if !(1..=3600).contains(&self.alerts.evaluate_every_secs) {
            return Err(ConfigError::invalid("alerts.evaluate_every_secs", "must be between 1 and 3600"));
        }
        self.webhooks.validate()?;
        if self.http.max_body_bytes < crate::domain::ingest::MAX_BATCH_BYTES {
            return Err(ConfigError::invalid(
                "http.max_body_bytes",
                "must be at least 1048576, an ingest batch's limit",
            ));
        }
        Ok(())
    }
}
