//! The all-in-one launcher: starts every Chorus service in one process, each on its own port
//! with its own SQLite database under the data dir, and keeps a demo app's credentials.

use anyhow::Context;
use chorus_kit::config::{self, Secret, ServiceConfig};
use chorus_kit::server::{self, Running};
use chorus_kit::{Service, secrets};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where and how to run the platform.
#[derive(Debug, Clone)]
pub struct Options {
    pub data_dir: PathBuf,
    pub host: String,
    /// Use each service's configured port (8081…), or any free port (tests).
    pub any_port: bool,
    /// Per-service database URLs; unset ones use SQLite files in the data dir.
    pub users_database_url: Option<String>,
    pub actions_database_url: Option<String>,
    pub notifications_database_url: Option<String>,
    pub analytics_database_url: Option<String>,
}

impl Options {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            host: "127.0.0.1".into(),
            any_port: false,
            users_database_url: None,
            actions_database_url: None,
            notifications_database_url: None,
            analytics_database_url: None,
        }
    }
}

/// What the launcher keeps in `<data-dir>/credentials.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub operator_token: String,
    pub demo_app: DemoApp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoApp {
    pub app_id: String,
    pub api_key: String,
    pub api_secret: String,
}

/// The running platform.
pub struct Platform {
    pub credentials: Credentials,
    pub users_url: String,
    pub actions_url: String,
    pub notifications_url: String,
    pub analytics_url: String,
    users: Running,
    actions: Running,
    notifications: Running,
    analytics: Running,
}

/// The service accounts the launcher wires up: each consumer gets a fresh secret per start, and
/// the users service learns only its digest.
const FEED_READERS: [&str; 3] = ["actions", "notifications", "analytics"];

/// What each service account may do: every one reads feeds; analytics also reads the API usage
/// counts and sends alerts' broadcasts.
fn scopes_of(account: &str) -> Vec<String> {
    let mut scopes = vec![chorus_kit::events::READ_SCOPE.to_owned()];
    if account == "analytics" {
        scopes.extend([chorus_kit::usage::READ_SCOPE.to_owned(), "broadcasts:send".to_owned()]);
    }
    scopes
}

impl Platform {
    pub async fn start(options: Options) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&options.data_dir)
            .with_context(|| format!("creating the data dir {}", options.data_dir.display()))?;
        let credentials_path = options.data_dir.join("credentials.json");
        let existing = read_credentials(&credentials_path)?;
        let operator_token =
            existing.as_ref().map(|c| c.operator_token.clone()).unwrap_or_else(|| secrets::new_credential("op"));

        let service_secrets: Vec<(&str, String)> =
            FEED_READERS.iter().map(|name| (*name, secrets::new_credential("ss"))).collect();
        let mut users_config =
            service_config::<chorus_users::Users>(&options, options.users_database_url.as_deref(), &operator_token)?;
        users_config.service_accounts.extend(service_secrets.iter().map(|(name, secret)| {
            chorus_users::config::ServiceAccount {
                name: (*name).to_owned(),
                secret_sha256: secrets::digest(secret),
                scopes: scopes_of(name),
            }
        }));
        let users = server::start::<chorus_users::Users>(validated(users_config)?).await?;
        let users_url = format!("http://{}:{}", options.host, users.port);

        let mut actions_config = service_config::<chorus_actions::Actions>(
            &options,
            options.actions_database_url.as_deref(),
            &operator_token,
        )?;
        actions_config.users.url = users_url.clone();
        actions_config.users.service_secret = Some(Secret::new(secret_of(&service_secrets, "actions")));
        let actions = server::start::<chorus_actions::Actions>(validated(actions_config)?).await?;
        let actions_url = format!("http://{}:{}", options.host, actions.port);

        let mut notifications_config = service_config::<chorus_notifications::Notifications>(
            &options,
            options.notifications_database_url.as_deref(),
            &operator_token,
        )?;
        notifications_config.users.url = users_url.clone();
        notifications_config.users.service_secret = Some(Secret::new(secret_of(&service_secrets, "notifications")));
        notifications_config.actions.url = actions_url.clone();
        // Webhook secrets must outlive restarts, so their key is derived from the kept operator token.
        notifications_config.webhooks.signing_key =
            Some(Secret::new(secrets::digest(&format!("webhooks:{operator_token}"))));
        let notifications =
            server::start::<chorus_notifications::Notifications>(validated(notifications_config)?).await?;
        let notifications_url = format!("http://{}:{}", options.host, notifications.port);

        let mut analytics_config = service_config::<chorus_analytics::Analytics>(
            &options,
            options.analytics_database_url.as_deref(),
            &operator_token,
        )?;
        analytics_config.users.url = users_url.clone();
        analytics_config.users.service_secret = Some(Secret::new(secret_of(&service_secrets, "analytics")));
        analytics_config.actions.url = actions_url.clone();
        analytics_config.notifications.url = notifications_url.clone();
        analytics_config.webhooks.signing_key =
            Some(Secret::new(secrets::digest(&format!("analytics-webhooks:{operator_token}"))));
        let analytics = server::start::<chorus_analytics::Analytics>(validated(analytics_config)?).await?;
        let analytics_url = format!("http://{}:{}", options.host, analytics.port);

        let credentials = match existing {
            Some(credentials) => credentials,
            None => {
                let demo_app = create_demo_app(&users_url, &operator_token).await?;
                let credentials = Credentials { operator_token, demo_app };
                write_credentials(&credentials_path, &credentials)?;
                credentials
            }
        };
        Ok(Self {
            credentials,
            users_url,
            actions_url,
            notifications_url,
            analytics_url,
            users,
            actions,
            notifications,
            analytics,
        })
    }

    /// Each service's name, base URL and docs URL.
    pub fn services(&self) -> Vec<(&'static str, String)> {
        vec![
            (self.users.name, self.users_url.clone()),
            (self.actions.name, self.actions_url.clone()),
            (self.notifications.name, self.notifications_url.clone()),
            (self.analytics.name, self.analytics_url.clone()),
        ]
    }

    /// Stops every service gracefully, consumers first.
    pub async fn stop(self) {
        self.analytics.stop().await;
        self.notifications.stop().await;
        self.actions.stop().await;
        self.users.stop().await;
    }
}

/// A service's configuration under the launcher: its defaults and environment, with the data
/// dir's SQLite database, the launcher's host and the shared operator token.
fn service_config<S: Service>(
    options: &Options,
    database_url: Option<&str>,
    operator_token: &str,
) -> anyhow::Result<S::Config> {
    // Validated only after the launcher's own settings are in (consumers' links to users, say).
    let mut config: S::Config = config::load_unvalidated(S::NAME, S::DEFAULT_CONFIG, None)?;
    let url = match database_url {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}", options.data_dir.join(format!("{}.db", S::NAME)).display()),
    };
    config.database_mut().url = Secret::new(url);
    config.http_mut().host = options.host.clone();
    if config.http_mut().workers == 0 {
        config.http_mut().workers = shared_http_workers();
    }
    if options.any_port {
        config.http_mut().port = 0;
    }
    config.auth_mut().operator_token = Some(Secret::new(operator_token));
    Ok(config)
}

/// The services the launcher runs in its one process.
const SERVICES: usize = 4;

/// HTTP workers per service unless configured (`http.workers`): the machine's cores shared among
/// the four services, at least one each. A worker per core each would run four times as many
/// workers as cores, and every request would pay for wakeups the cores cannot use.
fn shared_http_workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / SERVICES).max(1)
}

/// Checks a service's configuration once the launcher has filled it in.
fn validated<C: ServiceConfig>(config: C) -> anyhow::Result<C> {
    config.validate()?;
    Ok(config)
}

async fn create_demo_app(users_url: &str, operator_token: &str) -> anyhow::Result<DemoApp> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {operator_token}").parse()?);
    let http = reqwest::Client::builder().default_headers(headers).build()?;
    let users = users_client::Client::new_with_client(users_url, http, users_client::Propagation::none());
    let created = users
        .create_app()
        .idempotency_key("launcher-demo-app")
        .body(users_client::types::CreateApp { name: "Demo app".parse().expect("a valid app name"), settings: None })
        .send()
        .await
        .context("creating the demo app")?
        .into_inner();
    Ok(DemoApp {
        app_id: created.app.id,
        api_key: created.app.api_key,
        api_secret: created.api_secret.context("a new app comes with its secret")?,
    })
}

fn secret_of(secrets: &[(&str, String)], name: &str) -> String {
    secrets.iter().find(|(n, _)| *n == name).map(|(_, s)| s.clone()).unwrap_or_default()
}

fn read_credentials(path: &Path) -> anyhow::Result<Option<Credentials>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_credentials(path: &Path, credentials: &Credentials) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(credentials)?;
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, text).with_context(|| format!("writing {}", temp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&temp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
