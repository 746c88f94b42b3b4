//! chorus-kit: the runtime every Chorus service shares, written once.
//!
//! A service crate holds its domain and nothing generic. It implements [`server::Service`] and
//! gets config loading, telemetry, metrics, health, problem+json errors, the database pool and
//! migrations, auth extractors (with revoked subjects and rate limits), pagination, idempotency, the event feed, graceful shutdown and a
//! test harness from here.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod docs;
pub mod event_types;
pub mod events;
pub mod extract;
pub mod feed;
pub mod follower;
pub mod health;
pub mod http;
pub mod hub;
pub mod idempotency;
pub mod lifecycle;
pub mod metrics;
pub mod mirror;
pub mod outbound;
pub mod pagination;
pub mod prepared;
pub mod problem;
pub mod rate_limit;
pub mod revocation;
pub mod schema;
pub mod secrets;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod testing;
pub mod usage;
pub mod validation;
pub mod webhooks;

pub use problem::Problem;
pub use server::{Mount, MountContext, Service};
