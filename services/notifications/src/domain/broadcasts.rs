//! Broadcasts: notifications an app sends its users directly, to listed users, to an entity's
//! subscribers, or to everyone, within a daily quota per app.

use chorus_kit::db::DbConnection;
use chorus_kit::validation::{self, Invalid};
use chrono::TimeDelta;

use super::fanout::deliver;
use super::model::{Audience, Broadcast, MAX_KEY, NewBroadcast, NotificationKind, SubscriptionKind};
use super::{NotificationsError, new_id};
use crate::store;
use crate::store::inbox::NewNotification;

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

/// Sends a broadcast, unless the app has used its quota for the last 24 hours.
pub fn send(
    conn: &mut DbConnection,
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
    let mut recipients = match &new.audience {
        Audience::Users { user_ids } => store::broadcasts::known_users(conn, app_id, user_ids)?,
        Audience::Subscribers { entity_key } => store::subscriptions::subscribers(
            conn,
            app_id,
            entity_key,
            &[SubscriptionKind::NewComments, SubscriptionKind::Replies],
        )?,
        Audience::Everyone => store::broadcasts::all_users(conn, app_id)?,
    };
    let banned = chorus_kit::mirror::banned_among(conn, &recipients)?;
    recipients.retain(|user| !banned.contains(user));
    for user in &recipients {
        let notification = NewNotification {
            app_id,
            user_id: user,
            kind: NotificationKind::Broadcast,
            title: &new.title,
            body: new.body.as_deref(),
            entity_key: new.entity_key.as_deref(),
            actor_id: None,
            action_id: None,
            url: new.url.as_deref(),
        };
        deliver(conn, app_id, &notification)?;
    }
    let count = i64::try_from(recipients.len()).unwrap_or(i64::MAX);
    Ok(store::broadcasts::insert(conn, &new_id(), app_id, new, count)?)
}
