//! The notifications feed on the wire: each event's `data` shape, published in the spec through
//! [`catalog`], how a domain event becomes one, and how erasure edits the retained ones.

use chorus_kit::event_types::EventCatalog;
use chorus_kit::events::{Publish, Redaction};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::model::Notification;
use crate::domain::events::{Forget, NOTIFICATION_CREATED, NotificationsEvent};

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

impl Publish for NotificationsEvent<'_> {
    fn event_type(&self) -> &'static str {
        match self {
            Self::NotificationCreated { .. } => NOTIFICATION_CREATED,
        }
    }

    fn subject(&self) -> &str {
        match self {
            Self::NotificationCreated { recipient_id, .. } => recipient_id,
        }
    }

    fn data(&self) -> Value {
        let data = match self {
            Self::NotificationCreated { notification, .. } => {
                let notification = Notification::from((*notification).clone());
                serde_json::to_value(NotificationCreatedData { notification: &notification })
            }
        };
        // Plain structs of strings and timestamps always serialize.
        data.unwrap_or_else(|_| serde_json::json!({}))
    }
}

impl Redaction for Forget<'_> {
    fn needle(&self) -> &str {
        match self {
            Self::WordsOf { user_id } => user_id,
            Self::Comment { action_id } => action_id,
        }
    }

    /// Nulls the quoted `body` of a `notification.created` the erased user caused, or that is
    /// about the deleted comment.
    fn redact(&self, event_type: &str, data: &mut Value) -> bool {
        if event_type != NOTIFICATION_CREATED {
            return false;
        }
        let (pointer, id) = match self {
            Self::WordsOf { user_id } => ("/notification/actor_id", user_id),
            Self::Comment { action_id } => ("/notification/action_id", action_id),
        };
        let concerned = data.pointer(pointer).and_then(Value::as_str) == Some(*id);
        match data.pointer_mut("/notification/body").filter(|body| concerned && !body.is_null()) {
            Some(body) => {
                *body = Value::Null;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model as domain;

    fn notification() -> domain::Notification {
        domain::Notification {
            id: "n1".into(),
            kind: domain::NotificationKind::Reply,
            title: "New reply to your comment".into(),
            body: Some("hello".into()),
            entity_key: Some("post".into()),
            actor_id: Some("bob".into()),
            action_id: Some("c1".into()),
            url: None,
            read: false,
            created_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn notification_created_publishes_the_inbox_shape_to_the_recipient() {
        let notification = notification();
        let event = NotificationsEvent::NotificationCreated { recipient_id: "ada", notification: &notification };
        assert_eq!((event.event_type(), event.subject()), (NOTIFICATION_CREATED, "ada"));
        let data = event.data();
        assert_eq!(data["notification"]["kind"], "reply");
        assert_eq!(data["notification"]["body"], "hello");
        assert_eq!(data["notification"]["read"], false);
    }

    #[test]
    fn forgetting_nulls_only_the_bodies_concerned() {
        let notification = notification();
        let event = NotificationsEvent::NotificationCreated { recipient_id: "ada", notification: &notification };
        let data = event.data();
        let redacted = |forget: Forget<'_>, event_type: &str| {
            let mut data = data.clone();
            (forget.redact(event_type, &mut data), data["notification"]["body"].clone())
        };
        assert_eq!(redacted(Forget::WordsOf { user_id: "bob" }, NOTIFICATION_CREATED), (true, Value::Null));
        assert_eq!(redacted(Forget::Comment { action_id: "c1" }, NOTIFICATION_CREATED), (true, Value::Null));
        assert_eq!(redacted(Forget::WordsOf { user_id: "ada" }, NOTIFICATION_CREATED), (false, "hello".into()));
        assert_eq!(redacted(Forget::Comment { action_id: "c2" }, NOTIFICATION_CREATED), (false, "hello".into()));
        assert_eq!(redacted(Forget::WordsOf { user_id: "bob" }, "other.event"), (false, "hello".into()));
        assert_eq!(Forget::Comment { action_id: "c1" }.needle(), "c1");
    }
}
