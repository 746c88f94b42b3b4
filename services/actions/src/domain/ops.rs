//! What users and apps do to entities. Each operation changes rows, counts and the event log
//! together, so counts never drift from the actions and every change reaches the feed: in the
//! caller's transaction, or, for [`like`], [`comment`] and [`share`], which may be called outside
//! one, in a single statement that commits by itself or a transaction of their own.

use chorus_kit::db::DbConnection;
use chorus_kit::events::{Publish, publish};
use chorus_kit::mirror::Standing;

use super::events::ActionsEvent;
use super::model::{
    Action, ActionKind, Counts, Decision, Entity, EntityInput, EntityRef, Flag, FlagStatus, MAX_COMMENT,
    MAX_FLAG_REASON, MAX_SHARE_TEXT, ShareMedium, validate_key,
};
use super::{ActionsError, check_max, check_text, new_id};
use crate::store;
use crate::store::actions::{COUNTS_PLACEHOLDER, ENTITY_ID_PLACEHOLDER, EventTemplate, NewAction, NewActionByKey};
use crate::store::entities::CountDelta;

/// Who is acting on a comment.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    User(&'a str),
    App,
}

/// The entity with this key, created (without a name) when an action names it first.
pub fn ensure_entity(conn: &mut DbConnection, app_id: &str, key: &str) -> Result<Entity, ActionsError> {
    validate_key(key)?;
    match store::entities::find_by_key(conn, app_id, key)? {
        Some(entity) => Ok(entity),
        None => Ok(store::entities::insert(conn, &new_id(), app_id, key, None)?),
    }
}

/// Creates or updates an entity; true when it was created.
pub fn upsert_entity(
    conn: &mut DbConnection,
    app_id: &str,
    key: &str,
    input: &EntityInput,
) -> Result<(Entity, bool), ActionsError> {
    validate_key(key)?;
    input.validate()?;
    let (entity, created) = match store::entities::find_by_key(conn, app_id, key)? {
        Some(existing) => (store::entities::update(conn, app_id, &existing.id, input)?, false),
        None => (store::entities::insert(conn, &new_id(), app_id, key, Some(input))?, true),
    };
    publish(conn, app_id, &ActionsEvent::EntityUpdated { entity: &entity })?;
    Ok((entity, created))
}

/// The entity, with the viewer's own summary when there is a viewer: read again with it, in the
/// one query an action bar takes.
pub fn entity_for(
    conn: &mut DbConnection,
    app_id: &str,
    entity: Entity,
    viewer: Option<&str>,
) -> Result<Entity, ActionsError> {
    match viewer {
        Some(_) => get_entity(conn, app_id, &entity.key, viewer),
        None => Ok(entity),
    }
}

pub fn get_entity(
    conn: &mut DbConnection,
    app_id: &str,
    key: &str,
    viewer: Option<&str>,
) -> Result<Entity, ActionsError> {
    validate_key(key)?;
    match viewer {
        Some(user_id) => {
            let (mut entity, me) = store::entities::find_by_key_seen_by(conn, app_id, key, user_id)?
                .ok_or(ActionsError::EntityNotFound)?;
            entity.me = Some(me);
            Ok(entity)
        }
        None => store::entities::find_by_key(conn, app_id, key)?.ok_or(ActionsError::EntityNotFound),
    }
}

/// Banned and erased users cannot act.
pub fn ensure_can_act(conn: &mut DbConnection, user_id: &str) -> Result<(), ActionsError> {
    may_act(chorus_kit::mirror::standing(conn, user_id)?)
}

fn may_act(standing: Standing) -> Result<(), ActionsError> {
    match standing {
        Standing::InGoodStanding => Ok(()),
        Standing::Banned => Err(ActionsError::Banned),
        Standing::Erased => Err(ActionsError::Erased),
    }
}

/// The entity a user acts on, created when the action names it first, once the user is known
/// to be allowed to act. One query when the entity exists, as it almost always does.
fn acting_on(conn: &mut DbConnection, app_id: &str, user_id: &str, key: &str) -> Result<Entity, ActionsError> {
    validate_key(key)?;
    match store::entities::find_by_key_acting(conn, app_id, key, user_id)? {
        Some((entity, standing)) => may_act(standing).map(|()| entity),
        None => {
            ensure_can_act(conn, user_id)?;
            ensure_entity(conn, app_id, key)
        }
    }
}

/// Records a like, comment or share on the entity with the key, counts it on the entity and the
/// user's tally, and publishes it. On PostgreSQL the usual case is one statement, which commits
/// by itself when the caller runs outside a transaction
/// ([`chorus_kit::db::Db::write_unwrapped`]); a new entity, a user who may not act or a like
/// that exists take the long way, in a transaction of their own. Returns the entity and the new
/// action, or `None` for a like the user already has.
fn record(
    conn: &mut DbConnection,
    action: &NewActionByKey<'_>,
    delta: CountDelta,
    unless_duplicate: bool,
) -> Result<(Entity, Option<Action>), ActionsError> {
    let &NewActionByKey { app_id, entity_key: key, user_id, kind, body, medium } = action;
    validate_key(key)?;
    let id = new_id();
    let created_at = chorus_kit::db::now();
    if let Some(event) = announcement(&id, action, created_at)
        && let Some((entity, action)) =
            store::actions::insert_counted_by_key(conn, &id, action, created_at, delta, unless_duplicate, &event)?
    {
        return Ok((entity, Some(action)));
    }
    chorus_kit::db::transaction(conn, |conn| {
        let entity = acting_on(conn, app_id, user_id, key)?;
        let new = NewAction { app_id, entity_id: &entity.id, user_id, kind, body, medium, parent_id: None };
        let counted = if unless_duplicate {
            store::actions::insert_counted_unless_duplicate(conn, &id, &new, &entity.key, delta)?
        } else {
            Some(store::actions::insert_counted(conn, &id, &new, &entity.key, delta)?)
        };
        match counted {
            Some(counted) => {
                let action = announce(conn, app_id, &entity, counted)?;
                Ok((entity, Some(action)))
            }
            None => Ok((entity, None)),
        }
    })
}

/// The `action.created` event of a new action on the entity with the key, as a template the
/// statement that writes the action fills in with the entity's id and counts; `None` when what
/// the user wrote holds a placeholder. Public so that the bench publishes the same payload.
pub fn announcement(id: &str, new: &NewActionByKey<'_>, created_at: chrono::NaiveDateTime) -> Option<EventTemplate> {
    let action = Action {
        id: id.to_owned(),
        kind: new.kind,
        entity_id: ENTITY_ID_PLACEHOLDER.to_owned(),
        entity_key: new.entity_key.to_owned(),
        user_id: new.user_id.to_owned(),
        text: new.body.map(str::to_owned),
        medium: new.medium.map(str::to_owned),
        parent_id: None,
        deleted: false,
        created_at: created_at.and_utc(),
    };
    let entity = EntityRef { id: ENTITY_ID_PLACEHOLDER.to_owned(), key: new.entity_key.to_owned() };
    let event = ActionsEvent::ActionCreated { action: &action, entity: &entity, counts: COUNTS_PLACEHOLDER };
    let user_text = [new.entity_key, new.body.unwrap_or_default(), new.medium.unwrap_or_default()];
    EventTemplate::new(event.event_type(), event.data().to_string(), &user_text)
}

/// Publishes a new action, counted on its entity.
fn announce(
    conn: &mut DbConnection,
    app_id: &str,
    entity: &Entity,
    (action, counts): (Action, Counts),
) -> Result<Action, ActionsError> {
    publish(conn, app_id, &ActionsEvent::ActionCreated { action: &action, entity: &EntityRef::from(entity), counts })?;
    Ok(action)
}

/// Takes a withdrawn action out of its entity's counts and its author's tally, and publishes it.
fn forget(conn: &mut DbConnection, app_id: &str, action: &Action, delta: CountDelta) -> Result<(), ActionsError> {
    let counts = store::entities::bump(conn, &action.entity_id, delta)?;
    store::tallies::add(conn, &action.entity_id, &action.user_id, delta)?;
    let entity = store::entities::reference(conn, &action.entity_id)?;
    publish(conn, app_id, &ActionsEvent::ActionDeleted { action, entity: &entity, counts })?;
    Ok(())
}

/// Likes the entity; idempotent. True when this call created the like. Atomic outside a
/// transaction too (see [`record`]).
pub fn like(conn: &mut DbConnection, app_id: &str, user_id: &str, key: &str) -> Result<(Action, bool), ActionsError> {
    // Insert first: a new like (the usual case) is then one statement, and an existing one,
    // ours from before or a concurrent request's, is read only when the insert finds it.
    let like = NewActionByKey { app_id, user_id, entity_key: key, kind: ActionKind::Like, body: None, medium: None };
    let delta = CountDelta { likes: 1, ..Default::default() };
    match record(conn, &like, delta, true)? {
        (_, Some(like)) => Ok((like, true)),
        (entity, None) => {
            Ok((store::actions::find_like(conn, &entity.id, user_id)?.ok_or(ActionsError::EntityNotFound)?, false))
        }
    }
}

/// Removes the user's like; idempotent. True when there was one.
pub fn unlike(conn: &mut DbConnection, app_id: &str, user_id: &str, key: &str) -> Result<bool, ActionsError> {
    validate_key(key)?;
    let Some((entity, standing)) = store::entities::find_by_key_acting(conn, app_id, key, user_id)? else {
        // No such entity, so no like; a banned user still hears that they may not act.
        ensure_can_act(conn, user_id)?;
        return Ok(false);
    };
    may_act(standing)?;
    // Two unlikes at once: only the one whose delete removed the like counts.
    let Some((like, counts)) = store::actions::delete_like_counted(conn, &entity.id, user_id, &entity.key)? else {
        return Ok(false);
    };
    publish(conn, app_id, &ActionsEvent::ActionDeleted { action: &like, entity: &EntityRef::from(&entity), counts })?;
    Ok(true)
}

/// Comments on the entity, or replies to `parent_id`, a comment on it. Atomic outside a
/// transaction too (see [`record`]).
pub fn comment(
    conn: &mut DbConnection,
    app_id: &str,
    user_id: &str,
    key: &str,
    text: &str,
    parent_id: Option<&str>,
) -> Result<Action, ActionsError> {
    check_text("text", text, MAX_COMMENT)?;
    let delta = CountDelta { comments: 1, ..Default::default() };
    let Some(parent_id) = parent_id else {
        let comment = NewActionByKey {
            app_id,
            user_id,
            entity_key: key,
            kind: ActionKind::Comment,
            body: Some(text),
            medium: None,
        };
        let (_, comment) = record(conn, &comment, delta, false)?;
        return comment.ok_or(ActionsError::EntityNotFound);
    };
    // A reply: its parent must be a comment on the same entity.
    chorus_kit::db::transaction(conn, |conn| reply(conn, app_id, user_id, key, text, parent_id))
}

/// A reply to `parent_id`, which must be a comment on the same entity.
fn reply(
    conn: &mut DbConnection,
    app_id: &str,
    user_id: &str,
    key: &str,
    text: &str,
    parent_id: &str,
) -> Result<Action, ActionsError> {
    let delta = CountDelta { comments: 1, ..Default::default() };
    let entity = acting_on(conn, app_id, user_id, key)?;
    let parent = store::actions::find(conn, app_id, parent_id)?;
    let on_this_entity = parent.is_some_and(|p| p.kind == ActionKind::Comment && p.entity_id == entity.id);
    if !on_this_entity {
        return Err(ActionsError::ParentNotFound);
    }
    let new = NewAction {
        app_id,
        entity_id: &entity.id,
        user_id,
        kind: ActionKind::Comment,
        body: Some(text),
        medium: None,
        parent_id: Some(parent_id),
    };
    let counted = store::actions::insert_counted(conn, &new_id(), &new, &entity.key, delta)?;
    announce(conn, app_id, &entity, counted)
}

fn find_comment(conn: &mut DbConnection, app_id: &str, comment_id: &str) -> Result<Action, ActionsError> {
    store::actions::find(conn, app_id, comment_id)?
        .filter(|action| action.kind == ActionKind::Comment)
        .ok_or(ActionsError::CommentNotFound)
}

/// Deletes a comment, leaving a tombstone; idempotent.
pub fn delete_comment(
    conn: &mut DbConnection,
    app_id: &str,
    actor: Actor<'_>,
    comment_id: &str,
) -> Result<(), ActionsError> {
    let comment = find_comment(conn, app_id, comment_id)?;
    if let Actor::User(user_id) = actor
        && comment.user_id != user_id
    {
        return Err(ActionsError::NotAuthor);
    }
    // Two deletes at once both read a live comment; only the one that made the tombstone counts.
    if comment.deleted || !store::actions::tombstone(conn, &comment.id)? {
        return Ok(());
    }
    let tombstone = Action { text: None, deleted: true, ..comment };
    forget(conn, app_id, &tombstone, CountDelta { comments: -1, ..Default::default() })
}

/// Shares the entity. Atomic outside a transaction too (see [`record`]).
pub fn share(
    conn: &mut DbConnection,
    app_id: &str,
    user_id: &str,
    key: &str,
    medium: ShareMedium,
    text: Option<&str>,
) -> Result<Action, ActionsError> {
    if let Some(text) = text {
        check_max("text", text, MAX_SHARE_TEXT)?;
    }
    let share = NewActionByKey {
        app_id,
        user_id,
        entity_key: key,
        kind: ActionKind::Share,
        body: text,
        medium: Some(medium.as_str()),
    };
    let (_, share) = record(conn, &share, CountDelta { shares: 1, ..Default::default() }, false)?;
    share.ok_or(ActionsError::EntityNotFound)
}

/// Flags a comment for the app's moderators; once per user. True when this call flagged it.
pub fn flag(
    conn: &mut DbConnection,
    app_id: &str,
    user_id: &str,
    comment_id: &str,
    reason: Option<&str>,
) -> Result<(Flag, bool), ActionsError> {
    if let Some(reason) = reason {
        check_max("reason", reason, MAX_FLAG_REASON)?;
    }
    ensure_can_act(conn, user_id)?;
    let comment = find_comment(conn, app_id, comment_id)?;
    if let Some(existing) = store::flags::find_by_user(conn, comment_id, user_id)? {
        return Ok((existing, false));
    }
    let new = store::flags::NewFlag { app_id, comment_id, entity_id: &comment.entity_id, user_id, reason };
    let flag = store::flags::insert(conn, &new_id(), &new)?;
    publish(conn, app_id, &ActionsEvent::CommentFlagged { flag: &flag, comment: &comment })?;
    Ok((flag, true))
}

/// Resolves a flag, and with it every open flag on the same comment.
pub fn resolve_flag(
    conn: &mut DbConnection,
    app_id: &str,
    flag_id: &str,
    decision: Decision,
) -> Result<Flag, ActionsError> {
    let flag = store::flags::find(conn, app_id, flag_id)?.ok_or(ActionsError::FlagNotFound)?;
    let status = match decision {
        Decision::Dismiss => FlagStatus::Dismissed,
        Decision::RemoveComment => {
            delete_comment(conn, app_id, Actor::App, &flag.comment_id)?;
            FlagStatus::Removed
        }
    };
    store::flags::resolve_comment(conn, &flag.comment_id, status)?;
    store::flags::resolve(conn, &flag.id, status)?;
    store::flags::find(conn, app_id, flag_id)?.ok_or(ActionsError::FlagNotFound)
}
