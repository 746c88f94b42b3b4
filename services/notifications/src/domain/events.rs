//! The events the notifications service publishes on its feed. Each `data` shape here is
//! published in the spec through [`catalog`]. The feed drives each user's live inbox stream.

use chorus_kit::event_types::EventCatalog;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::Notification;

pub const NOTIFICATION_CREATED: &str = "notification.created";

/// Every event type of the notifications feed.
pub fn catalog() -> EventCatalog {
    EventCatalog::new().event::<NotificationCreatedData>(
        NOTIFICATION_CREATED,
        "NotificationCreated",
        "a notification reached a user's inbox; the subject is the recipient.",
    )
}

/// The data of `notification.created`: the notification as the recipient's inbox shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationCreatedData<'a> {
    pub notification: &'a Notification,
}
