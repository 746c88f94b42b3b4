//! The analytics service: ingestion of the SDK's custom events, rollups of what the actions and
//! users feeds report, and metric queries over any range, interval and IANA time zone.
//!
//! `api/` maps HTTP onto `domain/`, which keeps the rules; `store/` is the only place that
//! speaks diesel. Users and actions are reached through their clients only (`chorus-upstream`).

pub mod api;
pub mod config;
pub mod domain;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use chorus_kit::auth::JwksVerifier;
use chorus_kit::db::Migrations;
use chorus_kit::{Mount, MountContext, Service};
use chorus_upstream::{FollowerContext, Peer, Upstream};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The analytics service, as the kit runs it.
pub struct Analytics;

impl Service for Analytics {
    const NAME: &'static str = "analytics";
    const DEFAULT_CONFIG: &'static str = include_str!("../config/default.toml");
    type Config = config::Config;

    fn migrations() -> Migrations {
        Migrations { sqlite: SQLITE_MIGRATIONS, postgres: POSTGRES_MIGRATIONS }
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        <api::ApiDoc as utoipa::OpenApi>::openapi()
    }

    /// Analytics publishes no feed.
    fn events() -> chorus_kit::event_types::EventCatalog {
        chorus_kit::event_types::EventCatalog::new()
    }

    async fn mount(context: MountContext<config::Config>) -> anyhow::Result<Mount> {
        let MountContext { config, db, shutdown, metrics, .. } = context;
        let upstream = Upstream::new(&config.users);
        let feeds = FollowerContext { db: db.clone(), metrics: metrics.clone(), shutdown: shutdown.clone() };
        let users_follower = upstream.users_follower(&feeds, chorus_kit::follower::each(domain::feeds::apply_users));
        let actions_follower = upstream.actions_follower(
            &feeds,
            &config.actions.url,
            chorus_kit::follower::each(domain::feeds::apply_actions),
        );
        let retention_days = config.raw_events.retention_days;
        let (webhook_key, policy) = (config.webhooks.key(), config.webhooks.policy());
        let evaluate_every = Duration::from_secs(config.alerts.evaluate_every_secs);
        let notifications_url = config.notifications.url.clone();
        let broadcaster = upstream.clone();
        let send_broadcast = move |delivery: chorus_kit::webhooks::Claimed| {
            let (upstream, url) = (broadcaster.clone(), notifications_url.clone());
            async move { upstream.send_broadcast(&url, &delivery.payload, &delivery.id).await }
        };
        // Each service's API usage is gathered when asked for (the service account needs the
        // usage:read scope).
        let peers = Arc::new(domain::usage::Peers::new(
            upstream.clone(),
            vec![
                (Peer::Users, config.users.url.clone()),
                (Peer::Actions, config.actions.url.clone()),
                (Peer::Notifications, config.notifications.url.clone()),
            ],
        ));
        let (writer, writing) = domain::ingest::IngestWriter::start(db.clone(), shutdown.clone());
        let tasks = vec![
            writing,
            tokio::spawn(users_follower.run()),
            tokio::spawn(actions_follower.run()),
            tokio::spawn(domain::retention::run(db.clone(), retention_days, shutdown.clone())),
            tokio::spawn(domain::alerts::run(db.clone(), api::announcer(), evaluate_every, shutdown.clone())),
            tokio::spawn(domain::alerts::dispatch_webhooks(
                db.clone(),
                webhook_key.clone(),
                policy.clone(),
                metrics.clone().into_inner(),
                shutdown.clone(),
            )),
            tokio::spawn(domain::alerts::dispatch_broadcasts(
                db.clone(),
                policy,
                metrics.clone().into_inner(),
                shutdown.clone(),
                send_broadcast,
            )),
        ];
        let state = actix_web::web::Data::new(api::AnalyticsState {
            retention_days,
            webhook_key,
            allow_private_targets: config.webhooks.allow_private_targets,
            peers,
            writer,
            upstream: upstream.clone(),
        });
        Ok(Mount {
            routes: Arc::new(move |cfg| api::routes(cfg, state.clone())),
            verifier: Arc::new(JwksVerifier::new(upstream.key_fetch())),
            tasks,
        })
    }
}
