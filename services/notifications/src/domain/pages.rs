//! Fan-out at any audience size. An audience is written page by page, in user-id order: each
//! page of at most [`PAGE`] recipients is delivered in one transaction together with the
//! cursor that says where the next page starts. The first page goes inline (most audiences are
//! a handful of subscribers, and reach them at once); a longer audience becomes a job in
//! `fanout_jobs`, which the worker continues page by page. No transaction holds the whole
//! audience, the feed follower goes on with other events meanwhile, and a crash resumes after
//! the last page written, so nobody is notified twice.

use std::time::Duration;

use chorus_kit::db::{Db, DbConnection};
use chorus_kit::shutdown::Shutdown;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::fanout::deliver;
use super::model::{NotificationKind, SubscriptionKind};
use super::push::PushRoutes;
use super::{NotificationsError, new_id};
use crate::store;
use crate::store::inbox::NewNotification;

/// Recipients per page (and per transaction).
pub const PAGE: usize = 500;
/// How long a worker holds a job between two pages before another may take it over.
const LEASE: TimeDelta = TimeDelta::seconds(60);
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Who a fan-out reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Recipients {
    /// The entity's subscribers of any of these kinds.
    Subscribers { entity_key: String, kinds: Vec<String> },
    /// Every user of the app.
    Everyone,
    /// These users of the app, sorted.
    Listed { user_ids: Vec<String> },
}

/// The notification every recipient gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub entity_key: Option<String>,
    pub actor_id: Option<String>,
    pub action_id: Option<String>,
    pub url: Option<String>,
}

/// One fan-out: its audience, its notification, who never hears of it, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanOut {
    pub recipients: Recipients,
    pub notification: Template,
    /// Never notified (a comment's author; a reply's parent author, notified on their own).
    pub skip: Vec<String>,
    /// Recipients who blocked this user, or are banned, are skipped too.
    pub silenced_by: Option<String>,
    /// The broadcast whose `recipients` count grows as pages are written.
    pub broadcast_id: Option<String>,
}

impl FanOut {
    /// Writes the first page now; a longer audience continues as a job. Runs in the caller's
    /// transaction; answers how many the first page reached.
    pub fn start(&self, conn: &mut DbConnection, push: PushRoutes, app_id: &str) -> Result<usize, NotificationsError> {
        let (reached, next) = self.page(conn, push, app_id, "")?;
        if let Some(after) = next {
            let spec = serde_json::to_string(self).unwrap_or_default();
            store::fanout::insert(conn, &new_id(), app_id, &spec, &after)?;
        }
        Ok(reached)
    }

    /// Delivers the page after the user id `after`; answers how many it reached and, unless it
    /// was the last, where the next one starts.
    fn page(
        &self,
        conn: &mut DbConnection,
        push: PushRoutes,
        app_id: &str,
        after: &str,
    ) -> Result<(usize, Option<String>), NotificationsError> {
        let limit = i64::try_from(PAGE).unwrap_or(i64::MAX);
        let mut users = match &self.recipients {
            Recipients::Subscribers { entity_key, kinds } => {
                let kinds: Vec<SubscriptionKind> =
                    kinds.iter().filter_map(|kind| SubscriptionKind::parse(kind).ok()).collect();
                store::fanout::subscribers_page(conn, app_id, entity_key, &kinds, after, limit)?
            }
            Recipients::Everyone => store::fanout::users_page(conn, app_id, after, limit)?,
            Recipients::Listed { user_ids } => {
                user_ids.iter().filter(|user| user.as_str() > after).take(PAGE).cloned().collect()
            }
        };
        let next = (users.len() == PAGE).then(|| users.last().cloned()).flatten();
        users.retain(|user| !self.skip.contains(user));
        if users.is_empty() {
            // Most entities have no subscribers: their comments cost the page read alone.
            return Ok((0, next));
        }
        let silenced = match &self.silenced_by {
            Some(author) => store::mirror::silenced(conn, author, &users)?,
            None => chorus_kit::mirror::banned_among(conn, &users)?,
        };
        users.retain(|user| !silenced.contains(user));
        let template = &self.notification;
        let kind = NotificationKind::parse(&template.kind);
        let news: Vec<NewNotification<'_>> = users
            .iter()
            .map(|user| NewNotification {
                app_id,
                user_id: user,
                kind,
                title: &template.title,
                body: template.body.as_deref(),
                entity_key: template.entity_key.as_deref(),
                actor_id: template.actor_id.as_deref(),
                action_id: template.action_id.as_deref(),
                url: template.url.as_deref(),
            })
            .collect();
        deliver(conn, push, app_id, &news)?;
        if let Some(broadcast) = &self.broadcast_id {
            store::broadcasts::add_recipients(conn, broadcast, i64::try_from(users.len()).unwrap_or(i64::MAX))?;
        }
        Ok((users.len(), next))
    }
}

/// An erased user leaves every unfinished fan-out: the fan-outs of their own comments stop, and
/// they leave the listed recipients of the others.
pub fn forget_user(conn: &mut DbConnection, user_id: &str) -> Result<(), NotificationsError> {
    for (id, spec) in store::fanout::mentioning(conn, user_id)? {
        let Ok(mut fan_out) = serde_json::from_str::<FanOut>(&spec) else { continue };
        if fan_out.silenced_by.as_deref() == Some(user_id) || fan_out.notification.actor_id.as_deref() == Some(user_id)
        {
            store::fanout::finish(conn, &id)?;
            continue;
        }
        fan_out.skip.retain(|user| user != user_id);
        if let Recipients::Listed { user_ids } = &mut fan_out.recipients {
            user_ids.retain(|user| user != user_id);
        }
        store::fanout::set_spec(conn, &id, &serde_json::to_string(&fan_out).unwrap_or_default())?;
    }
    Ok(())
}

/// A deleted comment's unfinished fan-out stops: nobody else is told of it.
pub fn forget_action(conn: &mut DbConnection, action_id: &str) -> Result<(), NotificationsError> {
    for (id, spec) in store::fanout::mentioning(conn, action_id)? {
        let Ok(fan_out) = serde_json::from_str::<FanOut>(&spec) else { continue };
        if fan_out.notification.action_id.as_deref() == Some(action_id) {
            store::fanout::finish(conn, &id)?;
        }
    }
    Ok(())
}

/// Writes the next page of job `id`, with its cursor, in one transaction; answers whether
/// pages remain.
pub fn continue_job(conn: &mut DbConnection, push: PushRoutes, id: &str) -> Result<bool, NotificationsError> {
    let Some((app_id, spec, after)) = store::fanout::find(conn, id)? else { return Ok(false) };
    let fan_out: FanOut = serde_json::from_str(&spec)
        .map_err(|error| NotificationsError::Invalid { field: "fanout_jobs.spec", message: error.to_string() })?;
    let (_, next) = fan_out.page(conn, push, &app_id, &after)?;
    match next {
        Some(next) => {
            store::fanout::advance(conn, id, &next, chorus_kit::db::now() + LEASE)?;
            Ok(true)
        }
        None => {
            store::fanout::finish(conn, id)?;
            Ok(false)
        }
    }
}

/// Continues fan-out jobs until shutdown, one page per transaction; woken by this process's
/// writes, and polling besides for jobs another replica queued. Notifications are pushed
/// through `push`.
pub async fn run(db: Db, push: PushRoutes, shutdown: Shutdown) {
    let changes = db.change_notifier();
    loop {
        if shutdown.is_fired() {
            return;
        }
        let claimed = db.write(|conn| store::fanout::claim_due(conn, LEASE)).await;
        match claimed {
            Ok(Some(id)) => loop {
                let job = id.clone();
                match db.write(move |conn| continue_job(conn, push, &job)).await {
                    Ok(true) if !shutdown.is_fired() => continue,
                    // Stopping between two pages: the job is handed back at once, for the next
                    // process (a crash hands it back when its lease runs out).
                    Ok(true) => {
                        let job = id.clone();
                        if let Err(error) = db.write(move |conn| store::fanout::release(conn, &job)).await {
                            tracing::warn!(%error, job = %id, "handing a fan-out job back failed; it resumes after its lease");
                        }
                        return;
                    }
                    Ok(false) => break,
                    Err(error) => {
                        tracing::warn!(%error, job = %id, "a fan-out page failed; the job resumes after its lease");
                        break;
                    }
                }
            },
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = changes.notified() => {}
                    _ = shutdown.fired() => return,
                }
            }
            Err(error) => {
                tracing::warn!(%error, "claiming a fan-out job failed");
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.fired() => return,
                }
            }
        }
    }
}
