//! The diesel side of the notifications service: its schema and every query it runs.

pub mod broadcasts;
pub mod devices;
pub mod fanout;
pub mod inbox;
pub mod mirror;
pub mod push;
pub mod schema;
pub mod subscriptions;
pub mod webhooks;

pub use chorus_kit::db::DbConnection;
