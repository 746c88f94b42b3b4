//! A deprecated operation is marked in the spec and answers with Deprecation, Sunset and Link.

use actix_web::{HttpResponse, web};
use chorus_kit::auth::KeyRing;
use chorus_kit::config::{
    AuthSettings, DatabaseSettings, EventSettings, HttpSettings, ServiceConfig, TelemetrySettings,
};
use chorus_kit::db::Migrations;
use chorus_kit::lifecycle::Deprecation;
use chorus_kit::{Mount, MountContext, Service, testing};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Clone, Deserialize)]
struct DemoConfig {
    http: HttpSettings,
    database: DatabaseSettings,
    telemetry: TelemetrySettings,
    #[serde(default)]
    auth: AuthSettings,
    events: EventSettings,
    #[serde(default)]
    rate_limits: chorus_kit::rate_limit::RateLimitSettings,
}

impl ServiceConfig for DemoConfig {
    chorus_kit::common_settings_accessors!();
}

/// Answers with an empty body.
#[utoipa::path(get, path = "/v1/old", operation_id = "get_old", responses((status = 204, description = "Nothing")))]
async fn get_old() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// Answers with an empty body.
#[utoipa::path(get, path = "/v1/new", operation_id = "get_new", responses((status = 204, description = "Nothing")))]
async fn get_new() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get_old, get_new))]
struct DemoDoc;

// The kit's own migrations stand in for a service's: a demo has no tables of its own.
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

struct Demo;

impl Service for Demo {
    const NAME: &'static str = "demo";
    const DEFAULT_CONFIG: &'static str = r#"
        [http]
        host = "127.0.0.1"
        port = 0
        max_body_bytes = 65536
        shutdown_timeout_secs = 5
        [database]
        url = "sqlite://unused.db"
        pool_size = 2
        migrate_on_start = true
        connect_timeout_secs = 5
        [telemetry]
        log_format = "json"
        log_level = "info"
        [events]
        retention_hours = 24
    "#;
    type Config = DemoConfig;

    fn migrations() -> Migrations {
        Migrations { sqlite: SQLITE, postgres: POSTGRES }
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        <DemoDoc as utoipa::OpenApi>::openapi()
    }

    fn events() -> chorus_kit::event_types::EventCatalog {
        chorus_kit::event_types::EventCatalog::new()
    }

    fn deprecations() -> &'static [Deprecation] {
        &[Deprecation {
            operation_id: "get_old",
            since: "2026-11-01",
            sunset: "2027-05-01",
            link: "https://chorus.dev/changes/old",
        }]
    }

    async fn mount(_: MountContext<DemoConfig>) -> anyhow::Result<Mount> {
        Ok(Mount {
            routes: Arc::new(|cfg| {
                cfg.route("/v1/old", web::get().to(get_old)).route("/v1/new", web::get().to(get_new));
            }),
            verifier: Arc::new(KeyRing::default()),
            tasks: Vec::new(),
        })
    }
}

#[tokio::test]
async fn deprecated_operations_say_so_in_the_spec_and_in_every_response() {
    let demo = testing::spawn::<Demo>().await;
    let old = reqwest::get(demo.url("/v1/old")).await.unwrap();
    assert_eq!(old.headers()["deprecation"], "@1793491200");
    assert_eq!(old.headers()["sunset"], "Sat, 01 May 2027 00:00:00 GMT");
    assert!(old.headers()["link"].to_str().unwrap().contains("rel=\"deprecation\""));
    let new = reqwest::get(demo.url("/v1/new")).await.unwrap();
    assert!(new.headers().get("deprecation").is_none());

    let spec: serde_json::Value = reqwest::get(demo.url("/openapi.json")).await.unwrap().json().await.unwrap();
    assert_eq!(spec["paths"]["/v1/old"]["get"]["deprecated"], true);
    assert!(spec["paths"]["/v1/new"]["get"].get("deprecated").is_none());
}
