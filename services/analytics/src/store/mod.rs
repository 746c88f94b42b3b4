//! The diesel side of the analytics service: its schema and every query it runs.

pub mod alerts;
pub mod leaders;
pub mod raw;
pub mod rollups;
pub mod schema;
pub mod usage;

pub use chorus_kit::db::DbConnection;
