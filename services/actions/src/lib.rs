//! The actions service: entities and what users do to them (likes, comments, shares, views),
//! counts that never drift, live streams, moderation, and its event feed.
//!
//! `api/` maps HTTP onto `domain/`, which keeps the rules, and owns every wire shape (requests,
//! responses, event data); `store/` is the only place that speaks diesel. The users service is reached through its client only (`chorus-upstream`).

pub mod api;
pub mod config;
pub mod domain;
pub mod store;

use std::sync::Arc;

use chorus_kit::auth::JwksVerifier;
use chorus_kit::db::Migrations;
use chorus_kit::{Mount, MountContext, Service};
use chorus_upstream::{FollowerContext, Upstream};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::domain::views::ViewRecorder;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The actions service, as the kit runs it.
pub struct Actions;

impl Service for Actions {
    const NAME: &'static str = "actions";
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
        let users = Upstream::new(&config.users);
        let verifier = Arc::new(JwksVerifier::new(users.key_fetch()));
        let (views, views_task) = ViewRecorder::start(db.clone(), shutdown.clone(), &config.views);
        let feeds = FollowerContext { db: db.clone(), metrics, shutdown: shutdown.clone() };
        let follower = users.users_follower(&feeds, chorus_kit::follower::each(domain::users_feed::apply));
        let tasks = vec![tokio::spawn(follower.run()), views_task];
        let state = actix_web::web::Data::new(api::ActionsState { views });
        Ok(Mount { routes: Arc::new(move |cfg| api::routes(cfg, state.clone())), verifier, tasks })
    }
}
