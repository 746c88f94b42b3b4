//! The analytics domain: what counts, how facts become rollups, and how a metric query is
//! answered from them. Nothing here knows HTTP or the published shapes; `api/` converts to and
//! from these types and maps the errors. Peers' events arrive through their generated clients.

pub mod alerts;
pub mod feeds;
pub mod ingest;
pub mod leaderboards;
pub mod metrics;
pub mod model;
pub mod rebuild;
pub mod retention;
pub mod rollup;
pub mod sketch;
pub mod time;
pub mod usage;

use chorus_kit::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("no such alert rule of the app")]
    RuleNotFound,
    #[error("no such alert delivery of the app")]
    DeliveryNotFound,
    #[error("only a dead delivery can be retried")]
    DeliveryNotDead,
    #[error("an app may keep at most {max} alert rules")]
    TooManyRules { max: i64 },
    #[error("a stored rollup is unreadable: {0}")]
    Corrupt(#[from] sketch::SketchError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<chorus_kit::validation::Invalid> for AnalyticsError {
    fn from(invalid: chorus_kit::validation::Invalid) -> Self {
        Self::Invalid { field: invalid.field, message: invalid.message }
    }
}

impl From<diesel::result::Error> for AnalyticsError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(error))
    }
}
