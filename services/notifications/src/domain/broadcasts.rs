//! Broadcasts: notifications an app sends its users directly, to listed users, to an entity's
//! subscribers, or to everyone, within a daily quota per app.

use chorus_kit::db::DbConnection;
use chorus_kit::validation::{self, Invalid};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::fanout::deliver;
use super::model::{MAX_KEY, NotificationKind, SubscriptionKind};
use super::{NotificationsError, new_id};
use crate::store;
use crate::store::inbox::NewNotification;

const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 2_000;
const MAX_URL: usize = 2_048;
const MAX_LISTED_USERS: usize = 1_000;

/// Who a broadcast reaches. Banned users never do. (Also part of responses, so the schema stays
/// open: a request's unknown members here are ignored.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Audience {
    /// These users (1 to 1,000); ids not of the app are skipped.
    Users {
        #[schema(min_items = 1, max_items = 1000)]
        user_ids: Vec<String>,
    },
    /// Everyone subscribed to the entity, for any kind.
    Subscribers {
        /// 1 to 2,048 characters.
        #[schema(min_length = 1, max_length = 2048, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
        entity_key: String,
    },
    /// Every user of the app.
    Everyone,
}

/// What `POST /v1/broadcasts` sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBroadcast {
    /// 1 to 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub title: String,
    /// At most 2,000 characters.
    #[schema(max_length = 2000, pattern = r"^[^\u0000]*$")]
    pub body: Option<String>,
    /// An http or https URL with a host name (at most 2,048 characters) the notification opens.
    #[schema(
        max_length = 2048,
        pattern = r"^https?://(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?([/?#][^\s\u0000]*)?$"
    )]
    pub url: Option<String>,
    /// An entity the notification is about (1 to 2,048 characters).
    #[schema(min_length = 1, max_length = 2048, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub entity_key: Option<String>,
    pub audience: Audience,
}

/// A sent broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Broadcast {
    pub id: String,
    pub title: String,
    pub body: Option<String>,
    pub url: Option<String>,
    pub entity_key: Option<String>,
    pub audience: Audience,
    /// How many inboxes it reached.
    pub recipients: i64,
    pub created_at: DateTime<Utc>,
}

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
    let banned = store::mirror::banned_among(conn, &recipients)?;
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
    store::broadcasts::insert(conn, &new_id(), app_id, new, count)
}
