//! The diesel side of the users service: its schema and every query it runs.

pub mod apps;
pub mod blocks;
pub mod identities;
pub mod keys;
pub mod schema;
pub mod sessions;
pub mod users;

pub use chorus_kit::db::DbConnection;
