//! Layered configuration: defaults embedded in the binary, then an optional `--config FILE`, then
//! environment variables `CHORUS_<SVC>__SECTION__KEY`. Startup validates the result and fails with
//! one message naming the bad key.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration problem, always naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { key: key.into(), message: message.into() }
    }
}

/// What every service's configuration offers the kit.
pub trait ServiceConfig: DeserializeOwned + Clone + Send + Sync + 'static {
    fn http(&self) -> &HttpSettings;
    fn database(&self) -> &DatabaseSettings;
    fn database_mut(&mut self) -> &mut DatabaseSettings;
    fn telemetry(&self) -> &TelemetrySettings;
    fn auth(&self) -> &AuthSettings;
    fn http_mut(&mut self) -> &mut HttpSettings;
    fn auth_mut(&mut self) -> &mut AuthSettings;
    /// The event log: every service keeps one, and the kit prunes it.
    fn events(&self) -> &EventSettings;
    /// Rate limits per caller and class of operation (`[rate_limits]`, defaults when absent).
    fn rate_limits(&self) -> &crate::rate_limit::RateLimitSettings;
    fn rate_limits_mut(&mut self) -> &mut crate::rate_limit::RateLimitSettings;

    /// Service-specific checks, run after the common ones.
    fn validate_service(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.http().validate()?;
        self.database().validate()?;
        self.telemetry().validate()?;
        self.events().validate()?;
        self.auth().validate()?;
        self.rate_limits().validate()?;
        self.validate_service()
    }
}

/// Implements the [`ServiceConfig`] accessors for a config struct with the usual `http`,
/// `database`, `telemetry`, `auth`, `events` and `rate_limits` fields. Use it inside the `impl ServiceConfig` block.
#[macro_export]
macro_rules! common_settings_accessors {
    () => {
        fn http(&self) -> &$crate::config::HttpSettings {
            &self.http
        }
        fn http_mut(&mut self) -> &mut $crate::config::HttpSettings {
            &mut self.http
        }
        fn database(&self) -> &$crate::config::DatabaseSettings {
            &self.database
        }
        fn database_mut(&mut self) -> &mut $crate::config::DatabaseSettings {
            &mut self.database
        }
        fn telemetry(&self) -> &$crate::config::TelemetrySettings {
            &self.telemetry
        }
        fn auth(&self) -> &$crate::config::AuthSettings {
            &self.auth
        }
        fn auth_mut(&mut self) -> &mut $crate::config::AuthSettings {
            &mut self.auth
        }
        fn events(&self) -> &$crate::config::EventSettings {
            &self.events
        }
        fn rate_limits(&self) -> &$crate::rate_limit::RateLimitSettings {
            &self.rate_limits
        }
        fn rate_limits_mut(&mut self) -> &mut $crate::rate_limit::RateLimitSettings {
            &mut self.rate_limits
        }
    };
}

/// Loads `defaults`, then `file`, then the environment, and validates the result.
pub fn load<C: ServiceConfig>(service: &str, defaults: &str, file: Option<&Path>) -> Result<C, ConfigError> {
    let prefix = format!("CHORUS_{}", service.to_ascii_uppercase());
    load_with_env(defaults, file, config::Environment::with_prefix(&prefix))
}

/// Only the embedded defaults, not yet validated: what tests start from before they fill in
/// what a deployment would (then they call [`ServiceConfig::validate`]).
pub fn defaults<C: ServiceConfig>(defaults: &str) -> Result<C, ConfigError> {
    Ok(config::Config::builder()
        .add_source(config::File::from_str(defaults, config::FileFormat::Toml))
        .build()?
        .try_deserialize()?)
}

/// Like [`load`], without validation: for a launcher that fills in settings first and then calls
/// [`ServiceConfig::validate`] itself.
pub fn load_unvalidated<C: ServiceConfig>(
    service: &str,
    defaults: &str,
    file: Option<&Path>,
) -> Result<C, ConfigError> {
    let prefix = format!("CHORUS_{}", service.to_ascii_uppercase());
    layered(defaults, file, config::Environment::with_prefix(&prefix))
}

fn layered<C: ServiceConfig>(
    defaults: &str,
    file: Option<&Path>,
    environment: config::Environment,
) -> Result<C, ConfigError> {
    let mut builder = config::Config::builder().add_source(config::File::from_str(defaults, config::FileFormat::Toml));
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).required(true));
    }
    let environment = environment.prefix_separator("__").separator("__").try_parsing(true);
    Ok(builder.add_source(environment).build()?.try_deserialize()?)
}

fn load_with_env<C: ServiceConfig>(
    defaults: &str,
    file: Option<&Path>,
    environment: config::Environment,
) -> Result<C, ConfigError> {
    let loaded: C = layered(defaults, file, environment)?;
    loaded.validate()?;
    Ok(loaded)
}

/// Checks that `value` is an http or https URL, naming `key` when it is not.
pub fn check_http_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::invalid(key, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::invalid(key, "must be an http or https URL"));
    }
    Ok(())
}

/// A secret from configuration. It never prints, so it cannot reach a log line.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub host: String,
    pub port: u16,
    /// Worker threads; 0 means one per core.
    #[serde(default)]
    pub workers: usize,
    /// Largest accepted JSON body.
    pub max_body_bytes: usize,
    /// How long a graceful shutdown waits for requests in flight.
    pub shutdown_timeout_secs: u64,
}

impl HttpSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.host.trim().is_empty() {
            return Err(ConfigError::invalid("http.host", "must not be empty"));
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::invalid("http.max_body_bytes", "must be at least 1024"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (the embedded default) or `postgres://…`.
    pub url: Secret,
    pub pool_size: u32,
    /// Run pending migrations when the service starts.
    pub migrate_on_start: bool,
    pub connect_timeout_secs: u64,
}

impl DatabaseSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        Backend::of_url(self.url.expose()).map_err(|message| ConfigError::invalid("database.url", message))?;
        if self.pool_size == 0 {
            return Err(ConfigError::invalid("database.pool_size", "must be at least 1"));
        }
        Ok(())
    }
}

/// The database a `database.url` names, chosen by its scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("a sqlite:// URL needs a file path".into());
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err("must start with sqlite:// or postgres://".into())
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    /// An `EnvFilter` directive, such as `info` or `info,chorus_users=debug`.
    pub log_level: String,
}

impl TelemetrySettings {
    fn validate(&self) -> Result<(), ConfigError> {
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .map(drop)
            .map_err(|error| ConfigError::invalid("telemetry.log_level", error.to_string()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// How long the feed keeps events; consumers further behind get 410 Gone.
    pub retention_hours: u32,
}

impl EventSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.retention_hours == 0 {
            return Err(ConfigError::invalid("events.retention_hours", "must be at least 1"));
        }
        Ok(())
    }

    pub fn retention(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::hours(self.retention_hours.into())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// The operator's bearer token. Without one, operator endpoints refuse every call.
    #[serde(deserialize_with = "non_empty_secret")]
    pub operator_token: Option<Secret>,
    /// How often the signing keys are fetched again from the users service's JWKS (besides on
    /// an unknown `kid`), so a withdrawn key stops verifying within this many seconds.
    pub jwks_refresh_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self { operator_token: None, jwks_refresh_secs: 300 }
    }
}

impl AuthSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3600).contains(&self.jwks_refresh_secs) {
            return Err(ConfigError::invalid("auth.jwks_refresh_secs", "must be between 1 and 3600"));
        }
        Ok(())
    }

    pub fn jwks_refresh_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.jwks_refresh_secs)
    }
}

/// An empty value (as an unset environment variable often is) means "not configured".
fn non_empty_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.is_empty()).map(Secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Deserialize)]
    struct TestConfig {
        http: HttpSettings,
        database: DatabaseSettings,
        telemetry: TelemetrySettings,
        #[serde(default)]
        auth: AuthSettings,
        events: EventSettings,
        #[serde(default)]
        rate_limits: crate::rate_limit::RateLimitSettings,
    }

    impl ServiceConfig for TestConfig {
        crate::common_settings_accessors!();
    }

    const DEFAULTS: &str = r#"
        [http]
        host = "127.0.0.1"
        port = 8081
        max_body_bytes = 65536
        shutdown_timeout_secs = 10
        [database]
        url = "sqlite://test.db"
        pool_size = 4
        migrate_on_start = true
        connect_timeout_secs = 5
        [telemetry]
        log_format = "json"
        log_level = "info"
        [events]
        retention_hours = 24
    "#;

    fn env(pairs: &[(&str, &str)]) -> config::Environment {
        let source = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        config::Environment::with_prefix("CHORUS_TEST").source(Some(source))
    }

    #[test]
    fn environment_overrides_defaults() {
        let loaded: TestConfig = load_with_env(DEFAULTS, None, env(&[("CHORUS_TEST__HTTP__PORT", "9999")])).unwrap();
        assert_eq!(loaded.http.port, 9999);
        assert_eq!(loaded.database.pool_size, 4);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let error = load_with_env::<TestConfig>(DEFAULTS, None, env(&[("CHORUS_TEST__HTTP__PORT", "lots")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("http.port"), "{error}");

        let error = load_with_env::<TestConfig>(DEFAULTS, None, env(&[("CHORUS_TEST__DATABASE__URL", "mysql://nope")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("database.url"), "{error}");
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
