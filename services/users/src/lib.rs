//! The users service: apps, sessions, tokens, profiles, identities, blocks, bans and personal
//! data, plus the signing keys every other service verifies tokens with.
//!
//! `api/` maps HTTP onto `domain/`, which keeps the rules; `store/` is the only place that
//! speaks diesel. Wire shapes (request, response and event bodies) live in `api/` alone, so the
//! domain can change without changing the published contract.

pub mod api;
pub mod config;
pub mod domain;
pub mod store;

use std::sync::Arc;

use chorus_kit::auth::JwksVerifier;
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

    fn events() -> chorus_kit::event_types::EventCatalog {
        api::events::catalog()
    }

    async fn mount(context: MountContext<config::Config>) -> anyhow::Result<Mount> {
        let MountContext { config, db, shutdown, revocations, .. } = context;
        let configured_key = config.tokens.signing_key.as_ref().map(|key| key.expose().to_owned());
        let active = db.write(move |conn| domain::keys::load_signing_key(conn, configured_key.as_deref())).await?;
        let issuer =
            Arc::new(TokenIssuer::new(active, config.tokens.app_token_ttl_secs, config.tokens.service_token_ttl_secs));
        let signing_key_task = tokio::spawn(domain::keys::follow_signing_key(db.clone(), issuer.clone(), shutdown));
        // Users checks its own tokens the way every service does, against the published keys, so
        // a key another replica generated or a rotation added is picked up on first sight.
        let keys_db = db.clone();
        let verifier = Arc::new(JwksVerifier::new(Box::new(move || {
            let db = keys_db.clone();
            Box::pin(async move {
                let jwks = db.read(domain::keys::published_keys).await.map_err(|e| e.to_string())?;
                Ok(jwks.keys)
            })
        })));
        let state = actix_web::web::Data::new(api::UsersState {
            issuer,
            service_accounts: config.service_accounts.clone(),
            revocations,
            rotation_lead: chrono::TimeDelta::seconds(config.tokens.rotation_lead_secs.into()),
        });
        Ok(Mount {
            routes: Arc::new(move |cfg| api::routes(cfg, state.clone())),
            verifier,
            tasks: vec![signing_key_task],
        })
    }
}
