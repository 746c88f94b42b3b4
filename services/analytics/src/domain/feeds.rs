//! What the followed feeds mean to analytics: likes, comments, shares and views from actions;
//! new users and erasures from users. Each counted event becomes a fact whose insert id is
//! `<feed>:<event id>`, so a redelivered event is never counted twice.

use actions_client::types::{ActionKind, Event as ActionsEvent};
use chorus_kit::db::DbConnection;
use chorus_kit::follower::ApplyError;
use users_client::types::Event as UsersEvent;

use super::AnalyticsError;
use super::ingest::record;
use super::model::{Fact, Metric};
use crate::store;

/// Applies one actions event inside the follower's transaction.
pub fn apply_actions(conn: &mut DbConnection, event: &ActionsEvent) -> Result<(), ApplyError> {
    let fact = match event {
        ActionsEvent::ActionCreated(created) => {
            let action = &created.data.action;
            let metric = match action.kind {
                ActionKind::Like => Metric::Likes,
                ActionKind::Comment => Metric::Comments,
                ActionKind::Share => Metric::Shares,
            };
            Fact {
                app_id: created.app_id.clone(),
                insert_id: format!("actions:{}", created.id),
                metric,
                user_id: Some(action.user_id.clone()),
                entity_key: Some(created.data.entity.key.clone()),
                properties: "{}".into(),
                count: 1,
                occurred_at: created.occurred_at,
            }
        }
        ActionsEvent::EntityViewed(viewed) => Fact {
            app_id: viewed.app_id.clone(),
            insert_id: format!("actions:{}", viewed.id),
            metric: Metric::Views,
            user_id: None,
            entity_key: Some(viewed.data.entity.key.clone()),
            properties: "{}".into(),
            count: i64::try_from(viewed.data.views.get()).unwrap_or(i64::MAX),
            occurred_at: viewed.occurred_at,
        },
        _ => return Ok(()),
    };
    record(conn, vec![fact]).map(drop).map_err(into_apply_error)
}

/// Applies one users event inside the follower's transaction: the kit's mirror first (erasures
/// revoke tokens), then a new user counts, and an erased one's raw events go.
pub fn apply_users(conn: &mut DbConnection, event: &UsersEvent) -> Result<(), ApplyError> {
    chorus_upstream::users_mirror::apply(conn, event)?;
    let outcome = match event {
        UsersEvent::Created(created) => record(
            conn,
            vec![Fact {
                app_id: created.app_id.clone(),
                insert_id: format!("users:{}", created.id),
                metric: Metric::NewUsers,
                user_id: Some(created.data.user.id.clone()),
                entity_key: None,
                properties: "{}".into(),
                count: 1,
                occurred_at: created.occurred_at,
            }],
        )
        .map(drop),
        UsersEvent::Deleted(deleted) => erase_user(conn, &deleted.app_id, &deleted.data.user_id),
        _ => Ok(()),
    };
    outcome.map_err(into_apply_error)
}

/// Forgets an erased user of an app: every raw event that names them, their place in the
/// leaderboards, and their id among alert broadcasts' recipients. Rollups keep their counts,
/// which name no one; distinct-user sketches hold only hashes, which cannot be read back as ids.
/// (A write that raced the erasure is swept by the hourly maintenance.)
pub fn erase_user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<(), AnalyticsError> {
    store::raw::forget_user(conn, app_id, user_id)?;
    store::leaders::forget_user(conn, app_id, user_id)?;
    store::alerts::forget_user(conn, app_id, user_id)?;
    Ok(())
}

fn into_apply_error(error: AnalyticsError) -> ApplyError {
    match error {
        AnalyticsError::Db(db) => ApplyError::Db(db),
        other => ApplyError::Rejected(other.to_string()),
    }
}
