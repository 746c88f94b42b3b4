//! What the notifications service publishes on its feed, and what erasure takes out of it, in
//! domain terms. The feed drives each user's live inbox stream. The wire form of each event (the
//! spec's schemas) and how a redaction edits it are in `api::events`.

use super::model::Notification;

pub const NOTIFICATION_CREATED: &str = "notification.created";

/// What happened, as the feed tells it.
#[derive(Debug, Clone, Copy)]
pub enum NotificationsEvent<'a> {
    /// A notification reached its recipient's inbox (`notification.created`; the subject is the
    /// recipient).
    NotificationCreated { recipient_id: &'a str, notification: &'a Notification },
}

/// What the feed's retained events must forget.
#[derive(Debug, Clone, Copy)]
pub enum Forget<'a> {
    /// An erased user's words: the text of notifications they caused.
    WordsOf { user_id: &'a str },
    /// A deleted comment: the text of notifications about it.
    Comment { action_id: &'a str },
}
