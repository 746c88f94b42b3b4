//! The users service: apps, sessions, tokens, profiles, identities, blocks, bans and personal
//! data, plus the signing keys every other service verifies tokens with.
//!
//! `api/` maps HTTP onto `domain/`, which keeps the rules; `store/` is the only place that
//! speaks diesel.

pub mod api;
pub mod config;
pub mod domain;
pub mod store;

use std::sync::Arc;

use chorus_kit::auth::KeyRing;
use chorus_kit::db::Migrations;
use chorus_kit::{Mount, MountContext, Service};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::domain::sessions::TokenIssuer;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The users service, as the kit runs it.
pub struct Users;

impl Service for Users {
    const NAME: &'static str = "users";
    const DEFAULT_CONFIG: &'static str = include_str!("../config/default.toml");
    type Config = config::Config;

    fn migrations() -> Migrations {
        Migrations { sqlite: SQLITE_MIGRATIONS, postgres: POSTGRES_MIGRATIONS }
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        <api::ApiDoc as utoipa::OpenApi>::openapi()
    }

    async fn mount(context: MountContext<config::Config>) -> anyhow::Result<Mount> {
        let MountContext { config, db, shutdown, .. } = context;
        let configured_key = config.tokens.signing_key.as_ref().map(|key| key.expose().to_owned());
        let (active, stored) =
            db.write(move |conn| domain::sessions::load_signing_keys(conn, configured_key.as_deref())).await?;
        let issuer =
            TokenIssuer::new(active, &stored, config.tokens.app_token_ttl_secs, config.tokens.service_token_ttl_secs);
        let keys = Arc::new(KeyRing::default());
        for jwk in &issuer.jwks().keys {
            keys.insert(jwk);
        }
        let state =
            actix_web::web::Data::new(api::UsersState { issuer, service_accounts: config.service_accounts.clone() });
        let housekeeping = tokio::spawn(chorus_kit::events::housekeeping(db, config.events.retention(), shutdown));
        Ok(Mount {
            routes: Arc::new(move |cfg| api::routes(cfg, state.clone())),
            verifier: keys,
            tasks: vec![housekeeping],
        })
    }
}
