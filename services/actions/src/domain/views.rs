//! Views, built for volume: requests queue up and are committed in groups, one transaction per
//! group, and each request is answered only after its group commits, so an acknowledged view is
//! never lost while the database sees one write for many views.

use chorus_kit::db::{Db, DbConnection};
use chorus_kit::events::publish_all;
use chorus_kit::idempotency::IdempotentRequest;
use chorus_kit::shutdown::Shutdown;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::ActionsError;
use super::events::ActionsEvent;
use super::model::{EntityRef, validate_key};
use super::ops::ensure_entity;
use crate::config::ViewSettings;
use crate::store;
use crate::store::entities::CountDelta;
use crate::store::views::{ViewByKey, ViewedEntity};

/// One view to record.
#[derive(Debug)]
struct ViewRequest {
    view: View,
    done: oneshot::Sender<Result<(), ViewError>>,
}

/// One view: who saw which entity, and the request's `Idempotency-Key`, if any.
#[derive(Debug, Clone)]
pub struct View {
    pub app_id: String,
    pub user_id: String,
    pub key: String,
    pub idempotency: IdempotentRequest,
}

/// Why a view was not recorded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ViewError {
    #[error("the user is banned from this app, or was erased")]
    Banned,
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("the Idempotency-Key was first used with a different request")]
    KeyReused,
    #[error("views are not being recorded right now")]
    Unavailable,
}

/// What became of one view of a group.
type ViewOutcome = Result<(), ViewError>;

/// The handle handlers record views through.
#[derive(Clone)]
pub struct ViewRecorder {
    queue: mpsc::Sender<ViewRequest>,
}

impl ViewRecorder {
    /// Starts the group-commit task; it drains the queue and exits on shutdown.
    pub fn start(db: Db, shutdown: Shutdown, settings: &ViewSettings) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(settings.batch_max * 8);
        let grouping = Grouping {
            batch_max: settings.batch_max,
            window: Duration::from_millis(settings.batch_window_ms),
            in_flight: Arc::new(Semaphore::new(settings.groups_in_flight)),
            groups_in_flight: settings.groups_in_flight as u32,
        };
        let task = tokio::spawn(run(db, shutdown, receiver, grouping));
        (Self { queue }, task)
    }

    /// Records one view; resolves once it is durable. A replayed `Idempotency-Key` counts once.
    pub async fn record(&self, view: View) -> Result<(), ViewError> {
        validate_key(&view.key).map_err(to_view_error)?;
        let (done, outcome) = oneshot::channel();
        let request = ViewRequest { view, done };
        self.queue.send(request).await.map_err(|_| ViewError::Unavailable)?;
        outcome.await.unwrap_or(Err(ViewError::Unavailable))
    }
}

fn to_view_error(error: ActionsError) -> ViewError {
    match error {
        ActionsError::Banned | ActionsError::Erased => ViewError::Banned,
        ActionsError::Invalid { field, message } => ViewError::Invalid { field, message },
        _ => ViewError::Unavailable,
    }
}

/// How views are grouped.
struct Grouping {
    batch_max: usize,
    window: Duration,
    /// One permit per group committing, of `groups_in_flight`.
    in_flight: Arc<Semaphore>,
    groups_in_flight: u32,
}

async fn run(db: Db, shutdown: Shutdown, mut receiver: mpsc::Receiver<ViewRequest>, grouping: Grouping) {
    loop {
        let first = tokio::select! {
            request = receiver.recv() => request,
            _ = shutdown.fired() => {
                // Stop taking new views, then flush what is queued.
                receiver.close();
                receiver.recv().await
            }
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + grouping.window;
        while batch.len() < grouping.batch_max {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(request)) => batch.push(request),
                _ => break,
            }
        }
        let Ok(permit) = grouping.in_flight.clone().acquire_owned().await else { break };
        let db = db.clone();
        tokio::spawn(async move {
            commit(&db, batch).await;
            drop(permit);
        });
    }
    // Every group has committed before the task ends (shutdown waits on it).
    let _ = grouping.in_flight.acquire_many(grouping.groups_in_flight).await;
}

async fn commit(db: &Db, batch: Vec<ViewRequest>) {
    let views: Vec<View> = batch.iter().map(|request| request.view.clone()).collect();
    match record_creating_entities(db, views).await {
        Ok(results) => {
            for (request, result) in batch.into_iter().zip(results) {
                let _ = request.done.send(result);
            }
        }
        Err(error) => {
            tracing::error!(%error, views = batch.len(), "recording a group of views failed");
            for request in batch {
                let _ = request.done.send(Err(ViewError::Unavailable));
            }
        }
    }
}

/// Records a group, and the views of entities no one had named yet once those are created.
///
/// A group's transaction never creates an entity: two groups creating the same new entities
/// while holding other rows would deadlock. Those views wait while the group commits; their
/// entities are then created in a write of their own (in key order, holding nothing else), and
/// the views recorded as a second group.
async fn record_creating_entities(db: &Db, views: Vec<View>) -> Result<Vec<ViewOutcome>, ActionsError> {
    let first: Vec<View> = views.clone();
    let mut results = db.write(move |conn| record_batch(conn, &first)).await?;
    let waiting: Vec<usize> = (0..views.len()).filter(|&i| results[i].is_none()).collect();
    if waiting.is_empty() {
        return Ok(results.into_iter().map(settled).collect());
    }
    let new: BTreeSet<(String, String)> =
        waiting.iter().map(|&i| (views[i].app_id.clone(), views[i].key.clone())).collect();
    db.write(move |conn| {
        for (app_id, key) in &new {
            ensure_entity(conn, app_id, key)?;
        }
        Ok::<_, ActionsError>(())
    })
    .await?;
    let second: Vec<View> = waiting.iter().map(|&i| views[i].clone()).collect();
    let retried = db.write(move |conn| record_batch(conn, &second)).await?;
    for (i, result) in waiting.into_iter().zip(retried) {
        // Still waiting only if the entity went away in between.
        results[i] = Some(settled(result));
    }
    Ok(results.into_iter().map(settled).collect())
}

/// A view's outcome once its group is done: one still waiting for its entity is not recorded.
fn settled(outcome: Option<ViewOutcome>) -> ViewOutcome {
    outcome.unwrap_or(Err(ViewError::Unavailable))
}

/// Records a group of views in one transaction: tallies per user, counts and one
/// `entity.viewed` event per entity. A view whose entity does not exist yet is left waiting
/// (`None`, see [`record_creating_entities`]). On PostgreSQL the group is one statement (each
/// entity locked once, in id order, as every multi-entity writer locks them), the events one
/// more, and a view with an `Idempotency-Key` a read and a write of its own; SQLite takes the
/// long way. Either way the statements are per group, not per view, so a bigger group costs the
/// database little more than a small one.
fn record_batch(conn: &mut DbConnection, views: &[View]) -> Result<Vec<Option<ViewOutcome>>, ActionsError> {
    let mut results: Vec<Option<ViewOutcome>> = vec![None; views.len()];
    // A retried view answers as it did the first time, and is not counted again; so does one
    // sent again into the same group, which follows the first with its key.
    let mut fresh = Vec::with_capacity(views.len());
    let mut first_with_key: HashMap<(&str, &str), (usize, &str)> = HashMap::new();
    let mut follows: Vec<(usize, usize)> = Vec::new();
    for (i, view) in views.iter().enumerate() {
        if let Some((scope, key, fingerprint)) = view.idempotency.identity() {
            if let Some(&(first, first_fingerprint)) = first_with_key.get(&(scope, key)) {
                if first_fingerprint == fingerprint {
                    follows.push((i, first));
                } else {
                    results[i] = Some(Err(ViewError::KeyReused));
                }
                continue;
            }
            first_with_key.insert((scope, key), (i, fingerprint));
        }
        match view.idempotency.replay::<()>(conn) {
            Ok(Some(_)) => results[i] = Some(Ok(())),
            Ok(None) => fresh.push(i),
            Err(_) => results[i] = Some(Err(ViewError::KeyReused)),
        }
    }
    let by_key: Vec<ViewByKey<'_>> = fresh
        .iter()
        .map(|&i| ViewByKey { app_id: &views[i].app_id, user_id: &views[i].user_id, entity_key: &views[i].key })
        .collect();
    let viewed = match store::views::count_by_key(conn, &by_key)? {
        Some(counted) => {
            let uncounted: BTreeSet<usize> = counted.uncounted.iter().map(|&position| fresh[position]).collect();
            for &i in fresh.iter().filter(|i| !uncounted.contains(i)) {
                views[i].idempotency.record(conn, 204, &())?;
                results[i] = Some(Ok(()));
            }
            // Left alone: a viewer who may not act, or an entity not created yet (which waits).
            let viewers: Vec<String> = uncounted.iter().map(|&i| views[i].user_id.clone()).collect();
            let refused = chorus_kit::mirror::standings(conn, &viewers)?;
            for &i in uncounted.iter().filter(|&&i| refused.contains_key(&views[i].user_id)) {
                results[i] = Some(Err(ViewError::Banned));
            }
            counted.entities
        }
        None => {
            let rest: Vec<&View> = fresh.iter().map(|&i| &views[i]).collect();
            let (outcomes, entities) = record_the_long_way(conn, &rest)?;
            for (&i, outcome) in fresh.iter().zip(outcomes) {
                results[i] = outcome;
            }
            entities
        }
    };
    let entities: Vec<EntityRef> =
        viewed.iter().map(|entity| EntityRef { id: entity.id.clone(), key: entity.key.clone() }).collect();
    let events: Vec<(&str, ActionsEvent)> = viewed
        .iter()
        .zip(&entities)
        .map(|(viewed, entity)| {
            (viewed.app_id.as_str(), ActionsEvent::EntityViewed { entity, views: viewed.views, counts: viewed.counts })
        })
        .collect();
    publish_all(conn, &events)?;
    for (follower, first) in follows {
        results[follower] = results[first].clone();
    }
    Ok(results)
}

/// The long way, which SQLite takes (one writer, so no round trips to save): the viewers'
/// standing in two statements, the entities one per app, the tallies one, the counts one per
/// entity. Returns each view's outcome, in order (`None`: its entity does not exist yet), and
/// the entities counted.
fn record_the_long_way(
    conn: &mut DbConnection,
    views: &[&View],
) -> Result<(Vec<Option<ViewOutcome>>, Vec<ViewedEntity>), ActionsError> {
    let viewers: Vec<String> =
        views.iter().map(|view| view.user_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let refused = chorus_kit::mirror::standings(conn, &viewers)?;
    let entities = known_entities(conn, views)?;
    let mut results = Vec::with_capacity(views.len());
    // Ordered maps: rows are written in key order, the order every writer keeps.
    let mut per_entity: BTreeMap<String, CountDelta> = BTreeMap::new();
    let mut per_tally: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut viewed: BTreeMap<String, (String, EntityRef)> = BTreeMap::new();
    for View { app_id, user_id, key, idempotency } in views.iter().copied() {
        if refused.contains_key(user_id) {
            results.push(Some(Err(ViewError::Banned)));
            continue;
        }
        let Some(entity) = entities.get(&(app_id.clone(), key.clone())).cloned() else {
            results.push(None);
            continue;
        };
        idempotency.record(conn, 204, &())?;
        *per_tally.entry((entity.id.clone(), user_id.clone())).or_default() += 1;
        per_entity.entry(entity.id.clone()).or_default().views += 1;
        viewed.entry(entity.id.clone()).or_insert_with(|| (app_id.clone(), entity));
        results.push(Some(Ok(())));
    }
    store::views::add_views(conn, &per_tally)?;
    let counts = store::entities::bump_many(conn, &per_entity)?;
    let counted = viewed
        .into_iter()
        .filter_map(|(entity_id, (app_id, entity))| {
            Some(ViewedEntity {
                app_id,
                views: per_entity.get(&entity_id)?.views,
                counts: *counts.get(&entity_id)?,
                id: entity.id,
                key: entity.key,
            })
        })
        .collect();
    Ok((results, counted))
}

/// The group's entities that exist already, by (app, key): one query per app in the group.
fn known_entities(
    conn: &mut DbConnection,
    views: &[&View],
) -> Result<HashMap<(String, String), EntityRef>, ActionsError> {
    let mut keys_by_app: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for view in views {
        keys_by_app.entry(&view.app_id).or_default().insert(view.key.clone());
    }
    let mut known = HashMap::new();
    for (app_id, keys) in keys_by_app {
        let keys: Vec<String> = keys.into_iter().collect();
        for entity in store::entities::find_many_by_key(conn, app_id, &keys)? {
            known.insert((app_id.to_owned(), entity.key.clone()), EntityRef::from(&entity));
        }
    }
    Ok(known)
}
