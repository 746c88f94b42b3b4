//! The test harness: start a real service on 127.0.0.1:0 with a fresh database of its own.
//!
//! Databases are SQLite files in a temp dir, or, when `CHORUS_TEST_POSTGRES_URL` names a
//! PostgreSQL server, a new database on it that is dropped afterwards. On PostgreSQL a service's
//! test database is a copy of a template migrated once per service and migration set (as
//! crates.io's test databases are), so no test pays for migrations. Set `TEST_LOG` to see logs.

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

    /// A fresh database for service `S`. On PostgreSQL it is a copy of `S`'s template database,
    /// so its migrations have already run.
    pub fn for_service<S: Service>() -> Self {
        match std::env::var(POSTGRES_URL_VAR).ok().filter(|url| !url.is_empty()) {
            Some(admin_url) => {
                let template = template_for::<S>(&admin_url);
                Self::postgres_from(admin_url, Some(&template))
            }
            None => Self::create(),
        }
    }

    fn postgres(admin_url: String) -> Self {
        Self::postgres_from(admin_url, None)
    }

    fn postgres_from(admin_url: String, template: Option<&str>) -> Self {
        let name = format!("chorus_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).expect("connecting to the test PostgreSQL");
        let template = template.map(|t| format!(" TEMPLATE {t}")).unwrap_or_default();
        admin.batch_execute(&format!("CREATE DATABASE {name}{template}")).expect("creating a test database");
        let mut url = url::Url::parse(&admin_url).expect("CHORUS_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Self { url: url.to_string(), postgres: Some((admin_url, name)), _dir: None }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A small pool on this database, with the kit's and `migrations`' migrations applied: for
    /// tests of the kit's machinery without a whole service.
    pub async fn migrated(&self, migrations: crate::db::Migrations) -> crate::db::Db {
        let settings = crate::config::DatabaseSettings {
            url: Secret::new(self.url.clone()),
            pool_size: 2,
            migrate_on_start: true,
            connect_timeout_secs: 5,
        };
        let db = crate::db::Db::connect(&settings).expect("the test database connects");
        db.migrate(migrations).await.expect("the test database migrates");
        db
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

/// The template database of service `S` on the server at `admin_url`, created and migrated on
/// first use. Its name carries a digest of the migrations, so a changed migration set gets a new
/// template. An advisory lock keeps concurrent test processes from building it twice.
fn template_for<S: Service>(admin_url: &str) -> String {
    let names = crate::db::postgres_migration_names(S::migrations());
    let digest = crate::secrets::digest(&format!("{}\n{}", S::NAME, names.join("\n")));
    let name = format!("chorus_template_{}_{}", S::NAME, &digest[..12]);
    let mut admin = PgConnection::establish(admin_url).expect("connecting to the test PostgreSQL");
    // Any constant key will do; the lock only orders template builders.
    admin.batch_execute("SELECT pg_advisory_lock(727172)").expect("taking the template lock");
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        found: i32,
    }
    let exists = diesel::sql_query("SELECT 1 AS found FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(&name)
        .load::<Found>(&mut admin)
        .expect("looking for the template")
        .iter()
        .any(|row| row.found == 1);
    if !exists {
        // Built under another name and renamed once migrated, so a run killed halfway leaves
        // nothing that looks like a finished template.
        let building = format!("{name}_building");
        // Two statements: PostgreSQL runs neither inside a transaction, and a multi-statement
        // query would be one.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building}")).expect("clearing a half-built template");
        admin.batch_execute(&format!("CREATE DATABASE {building}")).expect("creating a template database");
        let mut url = url::Url::parse(admin_url).expect("CHORUS_TEST_POSTGRES_URL is a URL");
        url.set_path(&building);
        let migrated = PgConnection::establish(url.as_str())
            .map_err(|e| e.to_string())
            .and_then(|mut conn| crate::db::migrate_postgres(&mut conn, S::migrations()).map_err(|e| e.to_string()));
        if let Err(error) = migrated {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building}"));
            panic!("migrating the template database {name}: {error}");
        }
        admin.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}")).expect("naming the template");
    }
    admin.batch_execute("SELECT pg_advisory_unlock(727172)").expect("releasing the template lock");
    name
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

    /// The service's database, to check what a test's requests stored (or did not).
    pub fn db(&self) -> &crate::db::Db {
        &self.running.as_ref().expect("the service is running").db
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
/// database, the test operator token, signing keys refreshed every second, and rate limits far
/// above what a test sends (still on, so their headers are there; a test of the limits sets its
/// own).
pub fn test_config<S: Service>(database: &TestDatabase) -> S::Config {
    let mut config: S::Config = config::defaults(S::DEFAULT_CONFIG).expect("the embedded defaults parse");
    let http = config.http_mut();
    http.host = "127.0.0.1".into();
    http.port = 0;
    http.workers = 1;
    http.shutdown_timeout_secs = 5;
    config.database_mut().url = Secret::new(database.url.clone());
    config.database_mut().pool_size = 4;
    config.auth_mut().operator_token = Some(Secret::new(OPERATOR_TOKEN));
    config.auth_mut().jwks_refresh_secs = 1;
    let roomy = crate::rate_limit::Limit { per_second: 100_000, burst: 100_000 };
    let limits = config.rate_limits_mut();
    (limits.read, limits.write, limits.session, limits.ingest) = (roomy, roomy, roomy, roomy);
    config
}

pub async fn spawn<S: Service>() -> TestService<S::Config> {
    spawn_with::<S>(|_| {}).await
}

/// Spawns the service with a fresh database, after `customize` adjusts its config.
pub async fn spawn_with<S: Service>(customize: impl FnOnce(&mut S::Config)) -> TestService<S::Config> {
    let database = TestDatabase::for_service::<S>();
    let mut config = test_config::<S>(&database);
    customize(&mut config);
    config.validate().expect("the test configuration is valid");
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

/// A JSON-over-HTTP caller for tests, with answers that are easy to assert on.
#[derive(Clone)]
pub struct Api {
    pub base_url: String,
    pub http: reqwest::Client,
}

/// One answer: status, content type and the body as JSON (or a JSON string for other text).
#[derive(Debug)]
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl Api {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self { base_url: base_url.into(), http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.expect("the service answers")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(reqwest::Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: serde_json::Value) -> Reply {
        self.call(reqwest::Method::POST, path, Some(token), Some(body)).await
    }
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let text = response.text().await.expect("a readable body");
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        };
        Self { status, content_type, headers, body }
    }

    /// The body's string at `pointer` (such as `/user/id`).
    pub fn text(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no string at {pointer} in {}", self.body))
            .to_owned()
    }

    /// Asserts a problem+json answer with this status and, if given, this offending field.
    pub fn assert_problem(&self, status: u16, field: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.content_type, crate::problem::PROBLEM_JSON, "{}", self.body);
        assert_eq!(self.body["status"], status, "{}", self.body);
        let problem_type = self.body["type"].as_str().unwrap_or_default();
        assert!(problem_type.starts_with("https://chorus.dev/problems/"), "{}", self.body);
        if let Some(field) = field {
            assert_eq!(self.body["errors"][0]["field"], field, "{}", self.body);
        }
    }
}

/// Waits until every event `db` has committed is visible to feed readers. On PostgreSQL a feed
/// shows an event once every transaction older than it has finished, server-wide, which other
/// tests' transactions may delay a little.
pub async fn feed_settled(db: &crate::db::Db) {
    eventually("the feed shows every committed event", async || {
        db.read(crate::events::all_visible).await.unwrap_or(false)
    })
    .await;
}

/// Polls `check` until it returns true, for effects that cross services through a feed.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 20 seconds");
}

/// `segment` percent-encoded as one path segment: every byte but unreserved ASCII is encoded,
/// so keys holding `/`, `?`, `%` or non-ASCII stay one segment.
pub fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Asserts that every event of a feed page's `items` parses as a known type of the producer's
/// generated `Event` (its client crate's `types::Event`), and returns the types seen, in order.
pub fn assert_events_match_schema<E>(events: &[serde_json::Value]) -> Vec<String>
where
    E: serde::de::DeserializeOwned + chorus_client_support::EventTypes + std::fmt::Debug,
{
    events
        .iter()
        .map(|event| {
            let parsed = chorus_client_support::feed::parse_item::<E>(event.clone()).expect("an event with an id");
            assert!(matches!(parsed.1, chorus_client_support::FeedItem::Known(_)), "{event}: {:?}", parsed.1);
            event["type"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// Asserts that every URL pattern in a spec is the one [`crate::validation::http_url`] checks,
/// so the schema and the check cannot drift apart (utoipa takes the pattern only as a literal).
/// Returns how many it found.
pub fn assert_url_patterns_match_the_check(spec: &serde_json::Value) -> usize {
    fn walk(value: &serde_json::Value, found: &mut usize) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(pattern) = map.get("pattern").and_then(|p| p.as_str())
                    && pattern.contains("https?://")
                {
                    let expected = crate::validation::HTTP_URL_PATTERN;
                    assert!(
                        pattern == expected || pattern == format!("^$|{expected}"),
                        "a URL pattern differs from validation::HTTP_URL_PATTERN: {pattern}"
                    );
                    *found += 1;
                }
                map.values().for_each(|v| walk(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = 0;
    walk(spec, &mut found);
    found
}

/// A loopback endpoint that records the webhook calls it receives, as `(Chorus-Signature,
/// body)`, and answers 503 while failing is set: a customer's server, for webhook tests.
pub struct WebhookReceiver {
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (log, fail) = (received.clone(), failing.clone());
        let server = HttpServer::new(move || {
            let (log, fail) = (log.clone(), fail.clone());
            App::new().route(
                "/hook",
                web::post().to(move |req: HttpRequest, body: String| {
                    let (log, fail) = (log.clone(), fail.clone());
                    async move {
                        if fail.load(std::sync::atomic::Ordering::SeqCst) {
                            return HttpResponse::ServiceUnavailable().finish();
                        }
                        let signature = req
                            .headers()
                            .get("chorus-signature")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        log.lock().expect("receiver lock").push((signature, body));
                        HttpResponse::Ok().finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("a loopback port for the receiver");
        let url = format!("http://localhost:{}/hook", server.addrs()[0].port());
        tokio::spawn(server.run());
        Self { url, received, failing }
    }

    /// What arrived so far: `(Chorus-Signature, body)`.
    pub fn received(&self) -> Vec<(String, String)> {
        self.received.lock().expect("receiver lock").clone()
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Checks a `Chorus-Signature` the way an app's server would, with HMAC-SHA256 directly.
pub fn signed_by(secret: &str, header: &str, body: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Some((t, v1)) = header.split_once(',') else { return false };
    let timestamp = t.trim_start_matches("t=");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    v1.trim_start_matches("v1=") == expected
}
