//! The diesel side of the actions service: its schema and every query it runs.

pub mod actions;
pub mod entities;
pub mod flags;
pub mod schema;
pub mod tallies;
pub mod views;

pub use chorus_kit::db::DbConnection;
