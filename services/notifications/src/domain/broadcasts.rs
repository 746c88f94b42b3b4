//! Broadcasts: notifications an app sends its users directly, to listed users, to an entity's
//! subscribers, or to everyone, within a daily quota per app.

use chorus_kit::db::DbConnection;
use chorus_kit::validation::{self, Invalid};
use chrono::TimeDelta;

use super::model::{Audience, Broadcast, MAX_KEY, NewBroadcast, NotificationKind, SubscriptionKind};
use super::pages::{FanOut, Recipients, Template};
use super::push::PushRoutes;
use super::{NotificationsError, new_id};
use crate::store;

const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 2_000;
const MAX_URL: usize = 2_048;
const MAX_LISTED_USERS: usize = 1_000;

impl NewBroadcast {
    pub fn validate(&self) -> Result<(), NotificationsError> {
        validation::text("title", &self.title, MAX_TITLE)?;
        if let Some(body) = &self.body {
            validation::max_chars("body", body, MAX_BODY)?;
        }
        if let Some(url) = &self.url {
            validation::http_url("url", url, MAX_URL)?;
        }
        if let Some(key) = &self.entity_key {
            validation::text("entity_key", key, MAX_KEY)?;
        }
        match &self.audience {
            Audience::Users { user_ids } if user_ids.is_empty() || user_ids.len() > MAX_LISTED_USERS => {
                Err(Invalid::new("audience.user_ids", format!("must name 1 to {MAX_LISTED_USERS} users")).into())
            }
            Audience::Subscribers { entity_key } => Ok(validation::text("audience.entity_key", entity_key, MAX_KEY)?),
            _ => Ok(()),
        }
    }
}

/// Sends a broadcast, unless the app has used its quota for the last 24 hours; its notifications
/// are pushed through `push`.
pub fn send(
    conn: &mut DbConnection,
    push: PushRoutes,
    app_id: &str,
    new: &NewBroadcast,
    daily_quota: u32,
) -> Result<Broadcast, NotificationsError> {
    new.validate()?;
    store::broadcasts::lock_quota(conn, app_id)?;
    let sent = store::broadcasts::count_since(conn, app_id, chorus_kit::db::now() - TimeDelta::hours(24))?;
    if sent >= i64::from(daily_quota) {
        return Err(NotificationsError::QuotaExceeded { quota: daily_quota });
    }
    let recipients = match &new.audience {
        Audience::Users { user_ids } => {
            Recipients::Listed { user_ids: store::broadcasts::known_users(conn, app_id, user_ids)? }
        }
        Audience::Subscribers { entity_key } => Recipients::Subscribers {
            entity_key: entity_key.clone(),
            kinds: [SubscriptionKind::NewComments, SubscriptionKind::Replies]
                .map(|kind| kind.as_str().to_owned())
                .to_vec(),
        },
        Audience::Everyone => Recipients::Everyone,
    };
    // The count grows as the fan-out's pages are written; the first page is written now.
    let mut broadcast = store::broadcasts::insert(conn, &new_id(), app_id, new, 0)?;
    let fan_out = FanOut {
        recipients,
        notification: Template {
            kind: NotificationKind::Broadcast.as_str().to_owned(),
            title: new.title.clone(),
            body: new.body.clone(),
            entity_key: new.entity_key.clone(),
            actor_id: None,
            action_id: None,
            url: new.url.clone(),
        },
        skip: Vec::new(),
        silenced_by: None,
        broadcast_id: Some(broadcast.id.clone()),
    };
    let reached = fan_out.start(conn, push, app_id)?;
    broadcast.recipients = i64::try_from(reached).unwrap_or(i64::MAX);
    Ok(broadcast)
}
