//! The users service's configuration (`config/default.toml`, then `--config`, then
//! `CHORUS_USERS__…`).

use chorus_kit::config::{
    AuthSettings, ConfigError, DatabaseSettings, EventSettings, HttpSettings, Secret, ServiceConfig, TelemetrySettings,
};
use chorus_kit::rate_limit::RateLimitSettings;
use serde::Deserialize;

pub use crate::domain::sessions::ServiceAccount;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub auth: AuthSettings,
    pub tokens: TokenSettings,
    pub events: EventSettings,
    #[serde(default)]
    pub rate_limits: RateLimitSettings,
    #[serde(default)]
    pub service_accounts: Vec<ServiceAccount>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// A base64url Ed25519 seed. Unset: a key is generated on first start and kept in the database.
    #[serde(default)]
    pub signing_key: Option<Secret>,
    pub app_token_ttl_secs: u32,
    pub service_token_ttl_secs: u32,
    /// How long a rotated-in key is published before it signs, so every service has fetched it
    /// first: keep it above the services' `auth.jwks_refresh_secs` (at most 3600; 0 signs at
    /// once, relying on the verifiers' fetch on an unknown `kid`).
    #[serde(default = "default_rotation_lead_secs")]
    pub rotation_lead_secs: u32,
}

fn default_rotation_lead_secs() -> u32 {
    360
}

impl ServiceConfig for Config {
    chorus_kit::common_settings_accessors!();

    fn validate_service(&self) -> Result<(), ConfigError> {
        if let Some(key) = &self.tokens.signing_key
            && chorus_kit::auth::TokenSigner::from_encoded_seed(key.expose()).is_none()
        {
            return Err(ConfigError::invalid("tokens.signing_key", "must be a base64url 32-byte seed"));
        }
        for (field, ttl) in [
            ("tokens.app_token_ttl_secs", self.tokens.app_token_ttl_secs),
            ("tokens.service_token_ttl_secs", self.tokens.service_token_ttl_secs),
        ] {
            if !(60..=86_400).contains(&ttl) {
                return Err(ConfigError::invalid(field, "must be between 60 and 86400"));
            }
        }
        if self.tokens.rotation_lead_secs > 3_600 {
            return Err(ConfigError::invalid("tokens.rotation_lead_secs", "must be at most 3600"));
        }
        for (index, account) in self.service_accounts.iter().enumerate() {
            let digest = &account.secret_sha256;
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError::invalid(
                    format!("service_accounts[{index}].secret_sha256"),
                    "must be 64 hex digits (the SHA-256 of the secret)",
                ));
            }
        }
        Ok(())
    }
}
