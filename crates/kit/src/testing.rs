//! The test harness: start a real service on 127.0.0.1:0 with a fresh database of its own.
//!
//! Databases are SQLite files in a temp dir, or, when `CHORUS_TEST_POSTGRES_URL` names a
//! PostgreSQL server, a new database on it that is dropped afterwards. Set `TEST_LOG` to see logs.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::config::{self, LogFormat, Secret, ServiceConfig, TelemetrySettings};
use crate::server::{self, Running, Service};

/// The operator token every spawned test service accepts.
pub const OPERATOR_TOKEN: &str = "test-operator-token";
pub const POSTGRES_URL_VAR: &str = "CHORUS_TEST_POSTGRES_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn create() -> Self {
        match std::env::var(POSTGRES_URL_VAR).ok().filter(|url| !url.is_empty()) {
            Some(admin_url) => Self::postgres(admin_url),
            None => {
                let dir = tempfile::tempdir().expect("a temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self { url, postgres: None, _dir: Some(dir) }
            }
        }
    }

    fn postgres(admin_url: String) -> Self {
        let name = format!("chorus_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).expect("connecting to the test PostgreSQL");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("creating a test database");
        let mut url = url::Url::parse(&admin_url).expect("CHORUS_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Self { url: url.to_string(), postgres: Some((admin_url, name)), _dir: None }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// A service running for one test.
pub struct TestService<C> {
    pub base_url: String,
    pub port: u16,
    pub config: C,
    pub database: TestDatabase,
    running: Option<Running>,
}

impl<C> TestService<C> {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("the service is running")
    }

    /// Stops the service gracefully, as SIGTERM would.
    pub async fn stop(mut self) -> TestDatabase {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        self.database
    }
}

/// The service's embedded defaults, set up for a test: loopback, port 0, one worker, a fresh
/// database, the test operator token.
pub fn test_config<S: Service>(database: &TestDatabase) -> S::Config {
    let mut config: S::Config = config::defaults(S::DEFAULT_CONFIG).expect("the embedded defaults are valid");
    let http = config.http_mut();
    http.host = "127.0.0.1".into();
    http.port = 0;
    http.workers = 1;
    http.shutdown_timeout_secs = 5;
    config.database_mut().url = Secret::new(database.url.clone());
    config.database_mut().pool_size = 4;
    config.auth_mut().operator_token = Some(Secret::new(OPERATOR_TOKEN));
    config
}

pub async fn spawn<S: Service>() -> TestService<S::Config> {
    spawn_with::<S>(|_| {}).await
}

/// Spawns the service with a fresh database, after `customize` adjusts its config.
pub async fn spawn_with<S: Service>(customize: impl FnOnce(&mut S::Config)) -> TestService<S::Config> {
    let database = TestDatabase::create();
    let mut config = test_config::<S>(&database);
    customize(&mut config);
    spawn_on::<S>(database, config).await
}

/// Spawns the service on an existing database (to test restarts).
pub async fn spawn_on<S: Service>(database: TestDatabase, config: S::Config) -> TestService<S::Config> {
    if std::env::var_os("TEST_LOG").is_some() {
        crate::telemetry::init(&TelemetrySettings { log_format: LogFormat::Pretty, log_level: "info".into() });
    }
    let running = server::start::<S>(config.clone()).await.expect("the service starts");
    let port = running.port;
    TestService { base_url: format!("http://127.0.0.1:{port}"), port, config, database, running: Some(running) }
}

/// Which backend tests run on, for test output.
pub fn backend_name() -> &'static str {
    if std::env::var(POSTGRES_URL_VAR).is_ok_and(|url| !url.is_empty()) { "postgres" } else { "sqlite" }
}
