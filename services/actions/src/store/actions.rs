use chrono::NaiveDateTime;
use diesel::prelude::*;

use chorus_kit::db::DbError;
use chorus_kit::prepared::Statement;

use super::DbConnection;
use super::entities::{BumpedRow, CountDelta};
use super::schema::{actions, chorus_user_bans, chorus_user_blocks, entities};
use crate::domain::model::{Action, ActionKind, Counts, Entity};

/// An action's own columns, in [`own_columns!`]'s order: what a statement on `actions` alone
/// returns.
type OwnRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

/// An action with its entity's key, as [`action_columns!`] selects it.
type ActionRow = (OwnRow, String);

fn to_action((own, entity_key): ActionRow) -> Action {
    let (id, entity_id, user_id, kind, body, medium, parent_id, deleted_at, created_at) = own;
    Action {
        id,
        kind: ActionKind::parse(&kind).unwrap_or(ActionKind::Comment),
        entity_id,
        entity_key,
        user_id,
        text: body,
        medium,
        parent_id,
        deleted: deleted_at.is_some(),
        created_at: created_at.and_utc(),
    }
}

/// An action's own columns.
macro_rules! own_columns {
    () => {
        (
            actions::id,
            actions::entity_id,
            actions::user_id,
            actions::kind,
            actions::body,
            actions::medium,
            actions::parent_id,
            actions::deleted_at,
            actions::created_at,
        )
    };
}

/// An action's own columns and its entity's key (`actions` joined with `entities`).
macro_rules! action_columns {
    () => {
        (own_columns!(), entities::entity_key)
    };
}

pub struct NewAction<'a> {
    pub app_id: &'a str,
    pub entity_id: &'a str,
    pub user_id: &'a str,
    pub kind: ActionKind,
    pub body: Option<&'a str>,
    pub medium: Option<&'a str>,
    pub parent_id: Option<&'a str>,
}

/// Inserts an action no unique constraint can refuse (a comment or share), and returns it as
/// written, without reading it back.
pub fn insert_new(conn: &mut DbConnection, id: &str, new: &NewAction<'_>, entity_key: &str) -> Result<Action, DbError> {
    let created_at = chorus_kit::db::now();
    insert_row(conn, id, new, created_at)?;
    Ok(new_action(id, new, entity_key, created_at))
}

/// The action just inserted, as a reader will see it.
fn new_action(id: &str, new: &NewAction<'_>, entity_key: &str, created_at: chrono::NaiveDateTime) -> Action {
    Action {
        id: id.to_owned(),
        kind: new.kind,
        entity_id: new.entity_id.to_owned(),
        entity_key: entity_key.to_owned(),
        user_id: new.user_id.to_owned(),
        text: new.body.map(str::to_owned),
        medium: new.medium.map(str::to_owned),
        parent_id: new.parent_id.map(str::to_owned),
        deleted: false,
        created_at: created_at.and_utc(),
    }
}

fn insert_row(
    conn: &mut DbConnection,
    id: &str,
    new: &NewAction<'_>,
    created_at: chrono::NaiveDateTime,
) -> diesel::QueryResult<usize> {
    diesel::insert_into(actions::table).values(row(id, new, created_at)).execute(conn)
}

/// The columns of a new action.
#[diesel::dsl::auto_type(no_type_alias)]
fn row<'a>(id: &'a str, new: &'a NewAction<'a>, created_at: chrono::NaiveDateTime) -> _ {
    let app_id: &'a str = new.app_id;
    let entity_id: &'a str = new.entity_id;
    let user_id: &'a str = new.user_id;
    let kind: &'static str = new.kind.as_str();
    let body: Option<&'a str> = new.body;
    let medium: Option<&'a str> = new.medium;
    let parent_id: Option<&'a str> = new.parent_id;
    (
        actions::id.eq(id),
        actions::app_id.eq(app_id),
        actions::entity_id.eq(entity_id),
        actions::user_id.eq(user_id),
        actions::kind.eq(kind),
        actions::body.eq(body),
        actions::medium.eq(medium),
        actions::parent_id.eq(parent_id),
        actions::created_at.eq(created_at),
    )
}

/// Inserts the action, unless a unique constraint refuses it (a like the user already has, made
/// by a concurrent request): then `None`, and the transaction goes on. One statement
/// (`ON CONFLICT DO NOTHING`), not a savepoint around the insert.
pub fn insert_unless_duplicate(
    conn: &mut DbConnection,
    id: &str,
    new: &NewAction<'_>,
    entity_key: &str,
) -> Result<Option<Action>, DbError> {
    let created_at = chorus_kit::db::now();
    let inserted = chorus_kit::on_backend!(conn, |c| {
        diesel::insert_into(actions::table).values(row(id, new, created_at)).on_conflict_do_nothing().execute(c)
    })?;
    Ok((inserted > 0).then(|| new_action(id, new, entity_key, created_at)))
}

/// The part every counted insert shares on PostgreSQL, after its `inserted` CTE (which returns
/// the new action's `entity_id` and `user_id`, or no row when the insert was refused): the
/// user's tally and the entity's counts join that row, so they move only with a new action.
/// Parameters as [`bind_counted`] binds them: `$9` the time, `$10`–`$14` the delta. (PostgreSQL
/// runs the tally's upsert, which nothing reads, after the update: entity row, then tally row,
/// the lock order of every writer.)
macro_rules! count_inserted {
    ($returning:literal) => {
        concat!(tally_inserted!(), " ", update_counts!(), $returning)
    };
}

/// [`count_inserted!`]'s tally: the `tallied` CTE.
macro_rules! tally_inserted {
    () => {
        "tallied AS (INSERT INTO action_tallies (entity_id, user_id, likes, comments, shares) \
         SELECT entity_id, user_id, $10, $11, $12 FROM inserted \
         ON CONFLICT (entity_id, user_id) DO UPDATE SET likes = action_tallies.likes + EXCLUDED.likes, \
         comments = action_tallies.comments + EXCLUDED.comments, \
         shares = action_tallies.shares + EXCLUDED.shares)"
    };
}

/// [`count_inserted!`]'s counts: the entity's update, up to its `RETURNING`.
macro_rules! update_counts {
    () => {
        "UPDATE entities e SET likes = e.likes + $10, comments = e.comments + $11, \
         shares = e.shares + $12, views = e.views + $13, total = e.total + $14, last_activity_at = $9 \
         FROM inserted WHERE e.id = inserted.entity_id RETURNING "
    };
}

/// Binds a counted insert's parameters after its first three (the id, the app, and the entity
/// or its key's hash): `$4` the user, `$5` the kind, `$6` the body, `$7` the medium, `$8` the
/// parent, `$9` the time and `$10`–`$14` the delta (likes, comments, shares, views, total).
fn bind_counted(
    statement: Statement,
    new: &NewAction<'_>,
    created_at: chrono::NaiveDateTime,
    delta: CountDelta,
) -> Statement {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

    statement
        .bind::<Text, _>(new.user_id.to_owned())
        .bind::<Text, _>(new.kind.as_str())
        .bind::<Nullable<Text>, _>(new.body.map(str::to_owned))
        .bind::<Nullable<Text>, _>(new.medium.map(str::to_owned))
        .bind::<Nullable<Text>, _>(new.parent_id.map(str::to_owned))
        .bind::<Timestamp, _>(created_at)
        .bind::<BigInt, _>(delta.likes)
        .bind::<BigInt, _>(delta.comments)
        .bind::<BigInt, _>(delta.shares)
        .bind::<BigInt, _>(delta.views)
        .bind::<BigInt, _>(delta.total())
}

/// Inserts the action and applies `delta` to its entity's counts: the action and the new counts.
/// On PostgreSQL one statement, the insert and the update together, since every like, comment
/// and share takes this path; on SQLite, where a statement costs no round trip, the insert and
/// [`super::entities::bump`].
pub fn insert_counted(
    conn: &mut DbConnection,
    id: &str,
    new: &NewAction<'_>,
    entity_key: &str,
    delta: CountDelta,
) -> Result<(Action, Counts), DbError> {
    Ok(insert_counted_once(conn, id, new, entity_key, delta, false)?.ok_or(diesel::result::Error::NotFound)?)
}

/// As [`insert_counted`], unless a unique constraint refuses the action (a like the user already
/// has, made by a concurrent request): then `None`, nothing changed, and the transaction goes on.
pub fn insert_counted_unless_duplicate(
    conn: &mut DbConnection,
    id: &str,
    new: &NewAction<'_>,
    entity_key: &str,
    delta: CountDelta,
) -> Result<Option<(Action, Counts)>, DbError> {
    insert_counted_once(conn, id, new, entity_key, delta, true)
}

fn insert_counted_once(
    conn: &mut DbConnection,
    id: &str,
    new: &NewAction<'_>,
    entity_key: &str,
    delta: CountDelta,
    skip_duplicate: bool,
) -> Result<Option<(Action, Counts)>, DbError> {
    use diesel::sql_types::Text;

    let DbConnection::Postgresql(pg) = conn else {
        let inserted = if skip_duplicate {
            insert_unless_duplicate(conn, id, new, entity_key)?
        } else {
            Some(insert_new(conn, id, new, entity_key)?)
        };
        let Some(action) = inserted else { return Ok(None) };
        let counts = super::entities::bump(conn, new.entity_id, delta)?;
        super::tallies::add(conn, new.entity_id, new.user_id, delta)?;
        return Ok(Some((action, counts)));
    };
    macro_rules! insert_and_count {
        ($on_conflict:literal) => {
            concat!(
                "WITH inserted AS (INSERT INTO actions \
                 (id, app_id, entity_id, user_id, kind, body, medium, parent_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                $on_conflict,
                " RETURNING entity_id, user_id), ",
                count_inserted!("e.id, e.likes, e.comments, e.shares, e.views, e.total")
            )
        };
    }
    const STRICT: &str = insert_and_count!("");
    const UNLESS_DUPLICATE: &str = insert_and_count!(" ON CONFLICT DO NOTHING");
    let created_at = chorus_kit::db::now();
    let statement = Statement::new(if skip_duplicate { UNLESS_DUPLICATE } else { STRICT })
        .bind::<Text, _>(id.to_owned())
        .bind::<Text, _>(new.app_id.to_owned())
        .bind::<Text, _>(new.entity_id.to_owned());
    let counted: Option<BumpedRow> = bind_counted(statement, new, created_at, delta).get_result(pg).optional()?;
    Ok(counted.map(|row| (new_action(id, new, entity_key, created_at), row.counts())))
}

/// A user's like, comment (not a reply) or share of the entity with a key, by key: what
/// [`insert_counted_by_key`] writes once it has found the entity.
pub struct NewActionByKey<'a> {
    pub app_id: &'a str,
    pub entity_key: &'a str,
    pub user_id: &'a str,
    pub kind: ActionKind,
    pub body: Option<&'a str>,
    pub medium: Option<&'a str>,
}

/// Where the entity's id goes in an [`EventTemplate`]'s data.
pub const ENTITY_ID_PLACEHOLDER: &str = "chorus-placeholder-entity-id";

/// Where the entity's counts go in an [`EventTemplate`]'s data: numbers no count reaches.
pub const COUNTS_PLACEHOLDER: Counts = Counts {
    likes: -7_100_000_000_000_000_001,
    comments: -7_100_000_000_000_000_002,
    shares: -7_100_000_000_000_000_003,
    views: -7_100_000_000_000_000_004,
    total: -7_100_000_000_000_000_005,
};

/// The event a statement publishes with the write it makes: its type and its `data` as JSON
/// text, with [`ENTITY_ID_PLACEHOLDER`] wherever the entity's id goes and
/// [`COUNTS_PLACEHOLDER`]'s numbers where the counts the write leaves go. Its subject is the
/// entity's id. The statement replaces every occurrence, so nothing else in the data may hold
/// one (see [`EventTemplate::new`]).
#[derive(Debug)]
pub struct EventTemplate {
    event_type: &'static str,
    data: String,
}

impl EventTemplate {
    /// The template for `data`, or `None` when `user_text` (what the user wrote into the data:
    /// the entity's key, a comment's text) holds a placeholder, which the statement would
    /// replace too.
    pub fn new(event_type: &'static str, data: String, user_text: &[&str]) -> Option<Self> {
        let clean =
            event_placeholders().iter().all(|placeholder| !user_text.iter().any(|text| text.contains(placeholder)));
        clean.then_some(Self { event_type, data })
    }

    /// The event's type, `$15` of [`ACT_BY_KEY`].
    pub fn event_type(&self) -> &'static str {
        self.event_type
    }

    /// The event's `data` with its placeholders, `$16` of [`ACT_BY_KEY`].
    pub fn data(&self) -> &str {
        &self.data
    }
}

/// Every placeholder as the template's text holds it, in the order the statement fills them in
/// (`$17`–`$22`): the entity's id, then its likes, comments, shares, views and total.
pub fn event_placeholders() -> Vec<String> {
    let counts = COUNTS_PLACEHOLDER;
    let numbers = [counts.likes, counts.comments, counts.shares, counts.views, counts.total];
    std::iter::once(ENTITY_ID_PLACEHOLDER.to_owned()).chain(numbers.map(|n| n.to_string())).collect()
}

// The lookup, the standing and the insert are one snapshot: the insert takes its entity from
// the lookup, so it writes nothing unless both hold; the event takes the entity's id and
// counts from the update, so it is published only with the counted action.
macro_rules! act_by_key {
    ($on_conflict:literal) => {
        concat!(
            "WITH target AS (SELECT id FROM entities WHERE app_id = $2 AND key_hash = $3 \
               AND NOT EXISTS (SELECT 1 FROM chorus_user_bans WHERE user_id = $4) \
               AND NOT EXISTS (SELECT 1 FROM chorus_erased_users WHERE user_id = $4)), \
             inserted AS (INSERT INTO actions \
               (id, app_id, entity_id, user_id, kind, body, medium, parent_id, created_at) \
               SELECT $1, $2, target.id, $4, $5, $6, $7, $8, $9 FROM target",
            $on_conflict,
            " RETURNING entity_id, user_id), ",
            tally_inserted!(),
            ", counted AS (",
            update_counts!(),
            "e.id, e.entity_key, e.name, e.entity_type, e.meta, e.likes, e.comments, e.shares, \
             e.views, e.total, e.created_at, e.updated_at, e.last_activity_at), \
             published AS (INSERT INTO chorus_events (id, app_id, event_type, subject, data, occurred_at) \
               SELECT ",
            chorus_kit::next_event_id_sql!(),
            ", $2, $15, counted.id, \
               replace(replace(replace(replace(replace(replace($16, \
                 $17, counted.id), $18, counted.likes::text), $19, counted.comments::text), \
                 $20, counted.shares::text), $21, counted.views::text), $22, counted.total::text), \
               $9 FROM counted) \
             SELECT * FROM counted"
        )
    };
}

/// [`insert_counted_by_key`]'s statement: `$1` the action's id, `$2` the app, `$3` the hash of the
/// entity's key ([`super::entities::key_hash`]), `$4`–`$14` as [`bind_counted`] binds them, `$15`
/// the event type, `$16` the event's data with placeholders, and `$17`–`$22` those placeholders
/// ([`event_placeholders`]). Public so that the bench runs this very text in pgbench.
pub const ACT_BY_KEY: &str = act_by_key!("");

/// [`ACT_BY_KEY`] for a like, which writes nothing when the user already likes the entity.
pub const ACT_BY_KEY_UNLESS_DUPLICATE: &str = act_by_key!(" ON CONFLICT DO NOTHING");

/// The common case of every like, comment and share, on PostgreSQL in one statement, which
/// commits by itself outside a transaction: when the entity with the key exists and the user may
/// act (neither banned nor erased, in the kit's mirror of the users feed), inserts the action,
/// applies `delta` to the entity's counts and the user's tally, and publishes `event` with the
/// entity's id and counts filled in. Returns the entity as the action left it and the action.
///
/// `None` when nothing was written: no such entity, a user who may not act, or (with
/// `skip_duplicate`) a like the user already has. The caller then takes the long way
/// ([`super::entities::find_by_key_acting`], [`insert_counted`]), which tells those apart. Always
/// `None` on SQLite, where a statement costs no round trip and the long way costs nothing extra.
pub fn insert_counted_by_key(
    conn: &mut DbConnection,
    id: &str,
    new: &NewActionByKey<'_>,
    created_at: NaiveDateTime,
    delta: CountDelta,
    skip_duplicate: bool,
    event: &EventTemplate,
) -> Result<Option<(Entity, Action)>, DbError> {
    use diesel::sql_types::Text;

    let DbConnection::Postgresql(pg) = conn else { return Ok(None) };
    // The entity is not known yet: the statement takes it from `target`, and `$8`, the parent, is
    // always NULL (a reply takes the long way, which checks its parent).
    let unknown = NewAction {
        app_id: new.app_id,
        entity_id: "",
        user_id: new.user_id,
        kind: new.kind,
        body: new.body,
        medium: new.medium,
        parent_id: None,
    };
    let statement = Statement::new(if skip_duplicate { ACT_BY_KEY_UNLESS_DUPLICATE } else { ACT_BY_KEY })
        .bind::<Text, _>(id.to_owned())
        .bind::<Text, _>(new.app_id.to_owned())
        .bind::<Text, _>(super::entities::key_hash(new.entity_key));
    let statement = bind_counted(statement, &unknown, created_at, delta)
        .bind::<Text, _>(event.event_type)
        .bind::<Text, _>(event.data.clone());
    let statement = event_placeholders().into_iter().fold(statement, |statement, p| statement.bind::<Text, _>(p));
    let row: Option<super::entities::EntityRow> = statement.get_result(pg).optional()?;
    Ok(row.map(|row| {
        let entity = Entity::from(row);
        let action = new_action(id, &NewAction { entity_id: &entity.id, ..unknown }, &entity.key, created_at);
        (entity, action)
    }))
}

pub fn find(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<Option<Action>, DbError> {
    let row: Option<ActionRow> = actions::table
        .inner_join(entities::table)
        .filter(actions::app_id.eq(app_id).and(actions::id.eq(id)))
        .select(action_columns!())
        .first(conn)
        .optional()?;
    Ok(row.map(to_action))
}

/// The user's like of the entity, if any.
pub fn find_like(conn: &mut DbConnection, entity_id: &str, user_id: &str) -> Result<Option<Action>, DbError> {
    let row: Option<ActionRow> = actions::table
        .inner_join(entities::table)
        .filter(actions::entity_id.eq(entity_id).and(actions::user_id.eq(user_id)).and(actions::kind.eq("like")))
        .select(action_columns!())
        .first(conn)
        .optional()?;
    Ok(row.map(to_action))
}

/// Removes the user's like of the entity (whose key is `entity_key`) and answers it; `None` when
/// there was none, or a concurrent unlike removed it first. One statement: the delete returns the
/// row.
fn delete_like(
    conn: &mut DbConnection,
    entity_id: &str,
    user_id: &str,
    entity_key: &str,
) -> Result<Option<Action>, DbError> {
    let target = actions::table
        .filter(actions::entity_id.eq(entity_id).and(actions::user_id.eq(user_id)).and(actions::kind.eq("like")));
    let returned = chorus_kit::on_backend!(conn, |c| {
        diesel::delete(target).returning(own_columns!()).get_result::<OwnRow>(c).optional()
    })?;
    Ok(returned.map(|own| to_action((own, entity_key.to_owned()))))
}

/// Removes the user's like of the entity (whose key is `entity_key`) and takes it out of the
/// entity's counts and the user's tally: the like as it was and the counts after. `None` when
/// there was none, or a concurrent unlike removed it first (on PostgreSQL the second delete waits
/// for the first, then finds nothing), and then nothing changed. On PostgreSQL one statement, the
/// delete and both updates together; on SQLite [`delete_like`], [`super::entities::bump`] and
/// [`super::tallies::add`].
pub fn delete_like_counted(
    conn: &mut DbConnection,
    entity_id: &str,
    user_id: &str,
    entity_key: &str,
) -> Result<Option<(Action, Counts)>, DbError> {
    use diesel::sql_types::{Text, Timestamp};

    let unliked = CountDelta { likes: -1, ..Default::default() };
    let DbConnection::Postgresql(pg) = conn else {
        let Some(like) = delete_like(conn, entity_id, user_id, entity_key)? else { return Ok(None) };
        let counts = super::entities::bump(conn, entity_id, unliked)?;
        super::tallies::add(conn, entity_id, user_id, unliked)?;
        return Ok(Some((like, counts)));
    };
    // The kind is spelled out so the plan can use `actions_one_like`, the partial index of likes.
    // Row locks in every writer's order: the action, its entity, then the user's tally.
    const SQL: &str = "WITH removed AS (DELETE FROM actions \
         WHERE entity_id = $1 AND user_id = $2 AND kind = 'like' RETURNING id, entity_id, user_id, created_at), \
         tallied AS (UPDATE action_tallies t SET likes = t.likes - 1 FROM removed \
         WHERE t.user_id = removed.user_id AND t.entity_id = removed.entity_id) \
         UPDATE entities e SET likes = e.likes - 1, total = e.total - 1, last_activity_at = $3 \
         FROM removed WHERE e.id = removed.entity_id \
         RETURNING removed.id AS like_id, removed.created_at, \
         e.id, e.likes, e.comments, e.shares, e.views, e.total";
    let row: Option<UnlikedRow> = Statement::new(SQL)
        .bind::<Text, _>(entity_id.to_owned())
        .bind::<Text, _>(user_id.to_owned())
        .bind::<Timestamp, _>(chorus_kit::db::now())
        .get_result(pg)
        .optional()?;
    Ok(row.map(|row| {
        let like = Action {
            id: row.like_id,
            kind: ActionKind::Like,
            entity_id: entity_id.to_owned(),
            entity_key: entity_key.to_owned(),
            user_id: user_id.to_owned(),
            text: None,
            medium: None,
            parent_id: None,
            deleted: false,
            created_at: row.created_at.and_utc(),
        };
        (like, row.counts.counts())
    }))
}

#[derive(QueryableByName)]
struct UnlikedRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    like_id: String,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(embed)]
    counts: BumpedRow,
}

/// Deletes an action; false when it was already gone (a concurrent request deleted it first:
/// on PostgreSQL the second delete waits for the first, then finds nothing).
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(actions::table.find(id)).execute(conn)? == 1)
}

/// Deletes a comment's text but keeps its place in the thread.
/// False when it was already a tombstone (a concurrent delete got there first).
pub fn tombstone(conn: &mut DbConnection, id: &str) -> Result<bool, DbError> {
    let changed = diesel::update(actions::table.find(id).filter(actions::deleted_at.is_null()))
        .set((actions::deleted_at.eq(Some(chorus_kit::db::now())), actions::body.eq(None::<String>)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// What to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ActionQuery {
    pub app_id: String,
    /// Only this entity's actions; it must be one of `app_id`'s (found by key within the app).
    pub entity_id: Option<String>,
    pub user_id: Option<String>,
    pub kind: Option<ActionKind>,
    /// Only replies to this comment; with `top_level`, only comments that reply to nothing.
    pub parent_id: Option<String>,
    pub top_level: bool,
    /// Hide the actions of users this viewer blocked.
    pub viewer: Option<String>,
    /// Hide the actions of banned users.
    pub hide_banned: bool,
    pub before_id: Option<String>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConnection, q: &ActionQuery) -> Result<Vec<Action>, DbError> {
    let mut query = actions::table
        .inner_join(entities::table)
        .select(action_columns!())
        .order(actions::id.desc())
        .limit(q.limit)
        .into_boxed();
    // An entity belongs to one app, so its actions need no app filter; with one, SQLite's planner
    // read a cursor's page from the app's index of all its actions, filtering by entity, and not
    // from the entity's own range.
    match &q.entity_id {
        Some(entity_id) => query = query.filter(actions::entity_id.eq(entity_id.clone())),
        None => query = query.filter(actions::app_id.eq(q.app_id.clone())),
    }
    if let Some(user_id) = &q.user_id {
        query = query.filter(actions::user_id.eq(user_id.clone()));
    }
    if let Some(kind) = q.kind {
        query = query.filter(actions::kind.eq(kind.as_str()));
    }
    if let Some(parent_id) = &q.parent_id {
        query = query.filter(actions::parent_id.eq(parent_id.clone()));
    } else if q.top_level {
        query = query.filter(actions::parent_id.is_null());
    }
    // The kit's mirror of the users feed, as subselects. Typed (not raw SQL) so diesel keeps the
    // statement prepared: a list read is then planned once per connection, not on every call.
    if let Some(viewer) = &q.viewer {
        let blocked = chorus_user_blocks::table
            .filter(chorus_user_blocks::blocker_id.eq(viewer.clone()))
            .select(chorus_user_blocks::blocked_id);
        query = query.filter(actions::user_id.ne_all(blocked));
    }
    if q.hide_banned {
        let banned = chorus_user_bans::table
            .filter(chorus_user_bans::app_id.eq(q.app_id.clone()))
            .select(chorus_user_bans::user_id);
        query = query.filter(actions::user_id.ne_all(banned));
    }
    if let Some(before) = &q.before_id {
        query = query.filter(actions::id.lt(before.clone()));
    }
    Ok(query.load::<ActionRow>(conn)?.into_iter().map(to_action).collect())
}

/// Everything one user of an app did, for erasure; read through `actions_by_user`
/// (`app_id, user_id, id`), which the app's id leads.
pub fn of_user(conn: &mut DbConnection, app_id: &str, user_id: &str) -> Result<Vec<Action>, DbError> {
    let rows: Vec<ActionRow> = actions::table
        .inner_join(entities::table)
        .filter(actions::app_id.eq(app_id).and(actions::user_id.eq(user_id)))
        .select(action_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(to_action).collect())
}
