//! Who hears of a new comment. A comment notifies the entity's subscribers, and a reply notifies
//! the parent comment's author too; never the comment's own author, nor anyone who blocked the
//! author, nor banned users. Each notification lands in the inbox with a `notification.created`
//! event (subject: the recipient), which feeds the recipient's live stream.

use actions_client::types::{ActionEvent, ActionKind, Event as ActionsEvent};
use chorus_kit::db::DbConnection;
use chorus_kit::events::{publish_all, redact};
use chorus_kit::follower::ApplyError;

use super::events::{Forget, NotificationsEvent};
use super::model::{Notification, NotificationKind, SubscriptionKind, excerpt};
use super::pages::{FanOut, Recipients, Template};
use super::push::PushRoutes;
use super::webhooks::FeedEvent;
use super::{NotificationsError, new_id};
use crate::store;
use crate::store::inbox::NewNotification;

/// Applies a batch of actions events inside the follower's transaction: the apps' webhooks hear
/// of every event they asked for (each app's webhooks read once per batch), and each comment
/// fans out to its audience, whose notifications are pushed through `push`.
pub fn apply(conn: &mut DbConnection, push: PushRoutes, events: &[&ActionsEvent]) -> Result<(), ApplyError> {
    apply_events(conn, push, events).map_err(|error| match error {
        NotificationsError::Db(db) => ApplyError::Db(db),
        other => ApplyError::Rejected(other.to_string()),
    })
}

fn apply_events(conn: &mut DbConnection, push: PushRoutes, events: &[&ActionsEvent]) -> Result<(), NotificationsError> {
    super::webhooks::enqueue_feed(conn, "actions", events.iter().map(|event| as_delivered(event)))?;
    // The batch's comments: their authors remembered (a reply names its parent's author) and the
    // banned among them found once for the whole batch, not a statement each per comment.
    let written: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|event| match event {
            ActionsEvent::ActionCreated(created) if created.data.action.kind == ActionKind::Comment => {
                Some((created.data.action.id.as_str(), created.data.action.user_id.as_str()))
            }
            _ => None,
        })
        .collect();
    store::mirror::remember_authors(conn, &written)?;
    let mut authors: Vec<String> = written.iter().map(|(_, author)| (*author).to_owned()).collect();
    authors.sort();
    authors.dedup();
    let banned = chorus_kit::mirror::banned_among(conn, &authors)?;
    for event in events {
        match event {
            ActionsEvent::ActionCreated(created)
                if created.data.action.kind == ActionKind::Comment
                    && !banned.contains(&created.data.action.user_id) =>
            {
                fan_out(conn, push, &created.app_id, &created.data)?
            }
            ActionsEvent::ActionDeleted(deleted) => forget_comment(conn, &deleted.data.action.id)?,
            _ => {}
        }
    }
    Ok(())
}

/// An actions event as webhooks receive it: as the feed published it.
fn as_delivered<'a>(event: &'a ActionsEvent) -> FeedEvent<'a> {
    let (app_id, id, event_type) = match event {
        ActionsEvent::ActionCreated(e) => (&e.app_id, e.id, e.type_.to_string()),
        ActionsEvent::ActionDeleted(e) => (&e.app_id, e.id, e.type_.to_string()),
        ActionsEvent::EntityUpdated(e) => (&e.app_id, e.id, e.type_.to_string()),
        ActionsEvent::EntityViewed(e) => (&e.app_id, e.id, e.type_.to_string()),
        ActionsEvent::CommentFlagged(e) => (&e.app_id, e.id, e.type_.to_string()),
    };
    FeedEvent { app_id, id, event_type, payload: Box::new(move || serde_json::to_string(event).unwrap_or_default()) }
}

/// Fans a comment out to its audience; its author, remembered and found in good standing by the
/// caller for the whole batch, is left out of it.
fn fan_out(
    conn: &mut DbConnection,
    push: PushRoutes,
    app_id: &str,
    created: &ActionEvent,
) -> Result<(), NotificationsError> {
    let comment = &created.action;
    let author = comment.user_id.as_str();
    let key = created.entity.key.as_str();
    let body = comment.text.as_deref().map(excerpt);
    // The parent's author hears of the reply as a reply, once, and not again as a subscriber.
    let parent_author = match &comment.parent_id {
        Some(parent) => store::mirror::author_of(conn, parent)?.filter(|parent_author| parent_author != author),
        None => None,
    };
    if let Some(parent_author) = &parent_author {
        let silenced = store::mirror::silenced(conn, author, std::slice::from_ref(parent_author))?;
        if silenced.is_empty() {
            let new = NewNotification {
                app_id,
                user_id: parent_author,
                kind: NotificationKind::Reply,
                title: "New reply to your comment",
                body: body.as_deref(),
                entity_key: Some(key),
                actor_id: Some(author),
                action_id: Some(&comment.id),
                url: None,
            };
            deliver(conn, push, app_id, &[new])?;
        }
    }
    let kinds: &[SubscriptionKind] = if comment.parent_id.is_some() {
        &[SubscriptionKind::NewComments, SubscriptionKind::Replies]
    } else {
        &[SubscriptionKind::NewComments]
    };
    let subscribers = FanOut {
        recipients: Recipients::Subscribers {
            entity_key: key.to_owned(),
            kinds: kinds.iter().map(|kind| kind.as_str().to_owned()).collect(),
        },
        notification: Template {
            kind: NotificationKind::NewComment.as_str().to_owned(),
            title: format!("New comment on {key}"),
            body,
            entity_key: Some(key.to_owned()),
            actor_id: Some(author.to_owned()),
            action_id: Some(comment.id.clone()),
            url: None,
        },
        skip: std::iter::once(author.to_owned()).chain(parent_author).collect(),
        silenced_by: Some(author.to_owned()),
        broadcast_id: None,
    };
    subscribers.start(conn, push, app_id)?;
    Ok(())
}

/// A comment was deleted (by its author, a moderator, or its author's erasure): the inboxes that
/// quote it, and their copies on the feed, lose its text.
fn forget_comment(conn: &mut DbConnection, action_id: &str) -> Result<(), NotificationsError> {
    super::pages::forget_action(conn, action_id)?;
    store::inbox::forget_action(conn, action_id)?;
    redact(conn, &Forget::Comment { action_id })?;
    Ok(())
}

/// Puts each notification in its recipient's inbox and on the feed (which drives their live
/// stream), and queues its pushes to their devices.
pub fn deliver(
    conn: &mut DbConnection,
    push: PushRoutes,
    app_id: &str,
    news: &[NewNotification<'_>],
) -> Result<Vec<Notification>, NotificationsError> {
    // A page costs a handful of statements however many it reaches: the notifications in one,
    // their events in one (on PostgreSQL), the devices to push to in one read and one write.
    let with_ids: Vec<(String, NewNotification<'_>)> = news.iter().map(|new| (new_id(), new.clone())).collect();
    let delivered = store::inbox::insert_all(conn, &with_ids)?;
    let created: Vec<(&str, NotificationsEvent<'_>)> = news
        .iter()
        .zip(&delivered)
        .map(|(new, notification)| {
            (app_id, NotificationsEvent::NotificationCreated { recipient_id: new.user_id, notification })
        })
        .collect();
    let events = publish_all(conn, &created)?;
    // Webhooks get each event as feed readers see it.
    super::webhooks::enqueue_events(conn, "notifications", &events)?;
    let recipients: Vec<(&str, &Notification)> = news.iter().map(|new| new.user_id).zip(&delivered).collect();
    super::push::enqueue(conn, push, app_id, &recipients)?;
    Ok(delivered)
}
