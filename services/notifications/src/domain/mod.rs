//! The notifications domain: devices, subscriptions, who hears of what, and the inbox. Nothing
//! here knows HTTP or the published shapes: `api/` holds the wire types (requests, responses,
//! event payloads), converts them to and from these, and maps the errors. The domain reads its
//! peers' events through their generated clients.

pub mod broadcasts;
pub mod devices;
pub mod events;
pub mod fanout;
pub mod model;
pub mod pages;
pub mod push;
pub mod users_feed;
pub mod webhooks;

use chorus_kit::db::DbError;
use chorus_kit::validation::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("no such device of yours")]
    DeviceNotFound,
    #[error("a user may register at most {max} devices; remove one first")]
    TooManyDevices { max: i64 },
    #[error("no such notification in your inbox")]
    NotificationNotFound,
    #[error("no such webhook of the app")]
    WebhookNotFound,
    #[error("no such webhook delivery of the app")]
    DeliveryNotFound,
    #[error("no such push delivery of the app")]
    PushNotFound,
    #[error("only a dead delivery can be retried")]
    DeliveryNotDead,
    #[error("an app may register at most {max} webhooks")]
    TooManyWebhooks { max: i64 },
    #[error("the app has sent its {quota} broadcasts for the last 24 hours")]
    QuotaExceeded { quota: u32 },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for NotificationsError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(error))
    }
}

impl From<Invalid> for NotificationsError {
    fn from(invalid: Invalid) -> Self {
        Self::Invalid { field: invalid.field, message: invalid.message }
    }
}

/// A new, time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
