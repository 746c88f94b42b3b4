//! The notifications service: push devices, subscriptions to entities, fan-out of new comments
//! and replies from the actions feed, and the in-app inbox with its live stream.
//!
//! `api/` maps HTTP onto `domain/`, which keeps the rules; `store/` is the only place that
//! speaks diesel; `push/` speaks the push providers' protocols. Users and actions are reached
//! through their clients only (`chorus-upstream`).

pub mod api;
pub mod config;
pub mod domain;
pub mod push;
pub mod store;

use std::sync::Arc;

use chorus_kit::auth::JwksVerifier;
use chorus_kit::db::Migrations;
use chorus_kit::{Mount, MountContext, Service};
use chorus_upstream::{FollowerContext, Upstream};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The notifications service, as the kit runs it.
pub struct Notifications;

impl Service for Notifications {
    const NAME: &'static str = "notifications";
    const DEFAULT_CONFIG: &'static str = include_str!("../config/default.toml");
    type Config = config::Config;

    fn migrations() -> Migrations {
        Migrations { sqlite: SQLITE_MIGRATIONS, postgres: POSTGRES_MIGRATIONS }
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        <api::ApiDoc as utoipa::OpenApi>::openapi()
    }

    fn events() -> chorus_kit::event_types::EventCatalog {
        api::events::catalog()
    }

    async fn mount(context: MountContext<config::Config>) -> anyhow::Result<Mount> {
        let MountContext { config, db, shutdown, metrics, .. } = context;
        let upstream = Upstream::new(&config.users);
        let (webhook_key, policy) = (config.webhooks.key(), config.webhooks.policy());
        let channels = push::Channels::load(&config.push)?;
        let routes = channels.routes();
        let feeds = FollowerContext { db: db.clone(), metrics: metrics.clone(), shutdown: shutdown.clone() };
        let users_follower = upstream.users_follower(&feeds, chorus_kit::follower::each(domain::users_feed::apply));
        let actions_follower = upstream.actions_follower(
            &feeds,
            &config.actions.url,
            std::sync::Arc::new(move |conn, events| domain::fanout::apply(conn, routes, events)),
        );
        let mut tasks = vec![
            tokio::spawn(domain::pages::run(db.clone(), routes, shutdown.clone())),
            tokio::spawn(users_follower.run()),
            tokio::spawn(actions_follower.run()),
            tokio::spawn(domain::webhooks::dispatch(
                db.clone(),
                webhook_key.clone(),
                policy,
                metrics.clone().into_inner(),
                shutdown.clone(),
            )),
        ];
        tasks.extend(channels.dispatch(&db, &metrics.clone().into_inner(), &shutdown));
        let state = actix_web::web::Data::new(api::NotificationsState {
            daily_broadcast_quota: config.broadcasts.daily_quota,
            allow_private_targets: config.webhooks.allow_private_targets,
            webhook_key,
            push: routes,
        });
        Ok(Mount {
            routes: Arc::new(move |cfg| api::routes(cfg, state.clone())),
            verifier: Arc::new(JwksVerifier::new(upstream.key_fetch())),
            tasks,
        })
    }
}
