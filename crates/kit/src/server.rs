//! What makes a Chorus service, and how the kit runs one: the same middleware, health, metrics,
//! docs, error handling and shutdown for every service.

use actix_web::{App, HttpServer, web};
use std::future::Future;
use std::sync::Arc;
use utoipa::openapi::OpenApi;

use crate::auth::{Authenticator, TokenVerifier};
use crate::config::ServiceConfig;
use crate::db::{Db, Migrations};
use crate::docs::{self, SpecText};
use crate::event_types::EventCatalog;
use crate::extract::{self, BodyLimit};
use crate::health;
use crate::http::{self, Operations};
use crate::lifecycle::{self, Deprecation, LifecycleError};
use crate::metrics::{self, Metrics};
use crate::rate_limit::RateLimits;
use crate::revocation::Revocations;
use crate::shutdown::{self, Shutdown, ShutdownTrigger};
use crate::usage::UsageCounter;

/// A Chorus service, as the kit, the launcher and the test harness see it.
pub trait Service: 'static {
    /// Short name: `users`. Also the config prefix (`CHORUS_USERS__…`).
    const NAME: &'static str;
    /// The embedded `config/default.toml`.
    const DEFAULT_CONFIG: &'static str;
    type Config: ServiceConfig;

    fn migrations() -> Migrations;

    /// The event types the service publishes on its feed; the spec shows each as its own schema.
    fn events() -> EventCatalog;

    /// The service's OpenAPI document, as utoipa builds it from the code.
    fn openapi() -> OpenApi;

    /// Deprecated operations, with their dates. The published spec and the responses' headers
    /// both follow from this one list.
    fn deprecations() -> &'static [Deprecation] {
        &[]
    }

    /// Builds the service's state, routes and background tasks on a migrated database.
    fn mount(context: MountContext<Self::Config>) -> impl Future<Output = anyhow::Result<Mount>>;
}

/// What a service gets to build itself from.
pub struct MountContext<C> {
    pub config: C,
    pub db: Db,
    /// Fires once the HTTP server has drained, so background tasks outlive every request.
    pub shutdown: Shutdown,
    pub metrics: web::Data<Metrics>,
    /// The users whose tokens this process refuses. The kit keeps it current from the
    /// `chorus_erased_users` table; a service that erases users itself also revokes them here at
    /// once, after commit.
    pub revocations: Arc<Revocations>,
}

pub type Routes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// A service, assembled.
pub struct Mount {
    pub routes: Routes,
    pub verifier: Arc<dyn TokenVerifier>,
    /// Background tasks (feed followers, say); they must end when shutdown fires. The kit runs
    /// its own (event and idempotency-key pruning, usage counts) besides.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A running service.
pub struct Running {
    pub name: &'static str,
    pub port: u16,
    pub db: Db,
    handle: actix_web::dev::ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Ends live streams, which would otherwise hold the HTTP drain open.
    streams: ShutdownTrigger,
    /// Ends background tasks, after the drain.
    background: ShutdownTrigger,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Ends live streams, stops accepting connections and finishes the requests in flight, then
    /// lets background tasks flush (work those requests queued, such as views, included), and
    /// returns when all of it is done.
    pub async fn stop(self) {
        self.streams.fire();
        self.handle.stop(true).await;
        let _ = self.server.await;
        self.background.fire();
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!(service = self.name, "stopped");
    }
}

/// The published contract: the service's document with its deprecations marked. The checked-in
/// spec, `/openapi.json` and `<bin> openapi` are all this.
pub fn spec<S: Service>() -> Result<OpenApi, LifecycleError> {
    let mut spec = S::openapi();
    S::events().apply_to_spec(&mut spec);
    docs::close_request_schemas(&mut spec);
    lifecycle::apply_to_spec(&mut spec, S::deprecations())?;
    Ok(spec)
}

/// Connects, migrates (unless told not to), mounts and binds the service.
pub async fn start<S: Service>(config: S::Config) -> anyhow::Result<Running> {
    let db = Db::connect(config.database())?;
    if config.database().migrate_on_start {
        let applied = db.migrate(S::migrations()).await?;
        if !applied.is_empty() {
            tracing::info!(service = S::NAME, ?applied, "migrations applied");
        }
    }
    let (streams, streams_shutdown) = shutdown::channel();
    let (background, shutdown) = shutdown::channel();
    let metrics = web::Data::new(Metrics::new(S::NAME));
    let http_settings = config.http().clone();
    let operator_token = config.auth().operator_token.clone();
    // Loaded before the first request is served, so a restart never forgets an erasure.
    let revocations = Arc::new(Revocations::default());
    let loading = revocations.clone();
    db.read(move |conn| loading.refresh(conn)).await?;
    let mount = S::mount(MountContext {
        config: config.clone(),
        db: db.clone(),
        shutdown: shutdown.clone(),
        metrics: metrics.clone(),
        revocations: revocations.clone(),
    })
    .await?;

    let spec = spec::<S>()?;
    let spec_text = web::Data::new(SpecText(docs::spec_json(&spec)));
    let operations = web::Data::new(Operations::new(&spec, S::deprecations())?);
    let authenticator = web::Data::new(Authenticator::new(
        mount.verifier.clone(),
        operator_token.as_ref().map(|t| t.expose()),
        revocations.clone(),
    ));
    let revocations_task = tokio::spawn(crate::revocation::follow(revocations, db.clone(), shutdown.clone()));
    let keys_task = tokio::spawn(crate::auth::refresh_keys_on_schedule(
        mount.verifier.clone(),
        config.auth().jwks_refresh_interval(),
        shutdown.clone(),
    ));
    // One set of buckets for every worker of the process.
    let rate_limits = Arc::new(RateLimits::new(config.rate_limits()));
    let rate_limits_task = tokio::spawn(crate::rate_limit::housekeeping(rate_limits.clone(), shutdown.clone()));
    let rate_limits = web::Data::from(rate_limits);
    let db_data = web::Data::new(db.clone());
    let usage = web::Data::new(UsageCounter::default());
    let usage_task = tokio::spawn(crate::usage::flusher(usage.clone(), db.clone(), shutdown.clone()));
    let housekeeping_task =
        tokio::spawn(crate::events::housekeeping(db.clone(), config.events().retention(), shutdown.clone()));
    let (hub, hub_task) = crate::hub::EventHub::start(db.clone(), streams_shutdown.clone());
    let hub = web::Data::from(hub);
    let shutdown_data = web::Data::new(streams_shutdown);
    let routes = mount.routes.clone();
    let max_body = http_settings.max_body_bytes;

    let mut server = HttpServer::new(move || {
        let routes = routes.clone();
        App::new()
            .wrap(actix_web::middleware::from_fn(http::observe))
            .app_data(db_data.clone())
            .app_data(authenticator.clone())
            .app_data(metrics.clone())
            .app_data(operations.clone())
            .app_data(shutdown_data.clone())
            .app_data(hub.clone())
            .app_data(usage.clone())
            .app_data(rate_limits.clone())
            .app_data(spec_text.clone())
            .app_data(BodyLimit(max_body))
            .app_data(extract::path_config())
            .route("/health/live", web::get().to(health::live))
            .route("/health/ready", web::get().to(health::ready))
            .route("/metrics", web::get().to(metrics::metrics_endpoint))
            .route("/openapi.json", web::get().to(docs::openapi_json))
            .configure(docs::configure)
            .route("/v1/usage", web::get().to(crate::usage::get_usage))
            .configure(move |cfg| routes(cfg))
            .default_service(web::to(http::fallback))
    })
    .disable_signals()
    .shutdown_timeout(http_settings.shutdown_timeout_secs);
    if http_settings.workers > 0 {
        server = server.workers(http_settings.workers);
    }
    let server = server.bind((http_settings.host.as_str(), http_settings.port))?;
    let port = server.addrs().first().map(|addr| addr.port()).unwrap_or(http_settings.port);
    let server = server.run();
    let handle = server.handle();
    tracing::info!(service = S::NAME, port, "listening");
    let mut tasks = mount.tasks;
    tasks.push(hub_task);
    tasks.push(usage_task);
    tasks.push(housekeeping_task);
    tasks.extend([revocations_task, keys_task, rate_limits_task]);
    Ok(Running { name: S::NAME, port, db, handle, server: tokio::spawn(server), streams, background, tasks })
}
