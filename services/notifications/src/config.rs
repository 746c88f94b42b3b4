//! The notifications service's configuration (`config/default.toml`, then `--config`, then
//! `CHORUS_NOTIFICATIONS__…`).

use chorus_kit::config::{
    AuthSettings, ConfigError, DatabaseSettings, EventSettings, HttpSettings, Secret, ServiceConfig, TelemetrySettings,
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
    pub actions: ActionsLink,
    pub events: EventSettings,
    #[serde(default)]
    pub rate_limits: RateLimitSettings,
    pub broadcasts: BroadcastSettings,
    pub webhooks: WebhookSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// What each endpoint's signing secret is derived from (at least 32 characters). Changing it
    /// changes every secret.
    #[serde(default)]
    pub signing_key: Option<Secret>,
    /// Attempts before a delivery is dead.
    pub max_attempts: i32,
    /// The first retry's delay; each next one doubles, with jitter, up to an hour.
    pub base_backoff_ms: u64,
    /// How long one attempt may take.
    pub timeout_secs: u64,
    /// Sends every delivery through this HTTP proxy (an egress gateway), when set.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Lets webhooks target loopback, private and link-local addresses. Off by default, since
    /// such a target reaches inside the platform's network; on only for local development and
    /// tests, whose receivers listen on loopback.
    #[serde(default)]
    pub allow_private_targets: bool,
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
        if self.webhooks.signing_key.as_ref().is_none_or(|key| key.expose().len() < 32) {
            return Err(ConfigError::invalid("webhooks.signing_key", "is required, at least 32 characters"));
        }
        if !(1..=50).contains(&self.webhooks.max_attempts) {
            return Err(ConfigError::invalid("webhooks.max_attempts", "must be between 1 and 50"));
        }
        if self.webhooks.base_backoff_ms == 0 || self.webhooks.timeout_secs == 0 {
            return Err(ConfigError::invalid("webhooks.base_backoff_ms", "and webhooks.timeout_secs must be positive"));
        }
        if let Some(proxy) = &self.webhooks.proxy_url {
            chorus_kit::config::check_http_url("webhooks.proxy_url", proxy)?;
        }
        if self.broadcasts.daily_quota == 0 {
            return Err(ConfigError::invalid("broadcasts.daily_quota", "must be at least 1"));
        }
        Ok(())
    }
}
