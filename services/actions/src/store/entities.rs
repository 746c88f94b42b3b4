use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::BTreeMap;

use chorus_kit::db::{DbError, written};
use chorus_kit::mirror::Standing;
use chorus_kit::prepared::Statement;

use super::DbConnection;
use super::schema::entities;
use crate::domain::model::{Counts, Entity, EntityInput, EntityRef, MySummary};

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = entities)]
pub(super) struct EntityRow {
    id: String,
    entity_key: String,
    name: Option<String>,
    entity_type: Option<String>,
    meta: String,
    likes: i64,
    comments: i64,
    shares: i64,
    views: i64,
    total: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    last_activity_at: NaiveDateTime,
}

impl From<EntityRow> for Entity {
    fn from(row: EntityRow) -> Self {
        Entity {
            id: row.id,
            key: row.entity_key,
            name: row.name,
            entity_type: row.entity_type,
            meta: serde_json::from_str(&row.meta).unwrap_or_else(|_| serde_json::json!({})),
            counts: Counts {
                likes: row.likes,
                comments: row.comments,
                shares: row.shares,
                views: row.views,
                total: row.total,
            },
            me: None,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

pub fn key_hash(key: &str) -> String {
    chorus_kit::secrets::digest(key)
}

pub fn find_by_key(conn: &mut DbConnection, app_id: &str, key: &str) -> Result<Option<Entity>, DbError> {
    let row: Option<EntityRow> = entities::table
        .filter(entities::app_id.eq(app_id).and(entities::key_hash.eq(key_hash(key))))
        .select(EntityRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Entity::from))
}

/// The entity with this key, if any, and the actor's standing (from the kit's mirror of the
/// users feed, `chorus_kit::mirror`), in one query: what every action checks before it writes.
pub fn find_by_key_acting(
    conn: &mut DbConnection,
    app_id: &str,
    key: &str,
    user_id: &str,
) -> Result<Option<(Entity, Standing)>, DbError> {
    const SQL: &str = "SELECT id, entity_key, name, entity_type, meta, likes, comments, shares, views, total, \
         created_at, updated_at, last_activity_at, \
         EXISTS (SELECT 1 FROM chorus_user_bans WHERE user_id = $3) AS banned, \
         EXISTS (SELECT 1 FROM chorus_erased_users WHERE user_id = $3) AS erased \
         FROM entities WHERE app_id = $1 AND key_hash = $2";
    let row: Option<ActingRow> = by_key_and_user(conn, [SQL, SQL], app_id, key, user_id)?;
    Ok(row.map(|row| (Entity::from(row.entity), Standing::from_flags(row.banned, row.erased))))
}

/// The entity with this key, if any, with what `viewer` did on it (their live actions, from
/// their tally, [`super::tallies`]): the action bar, in one query of two primary-key lookups,
/// so its cost grows neither with the entity's activity nor with the viewer's own.
pub fn find_by_key_seen_by(
    conn: &mut DbConnection,
    app_id: &str,
    key: &str,
    viewer: &str,
) -> Result<Option<(Entity, MySummary)>, DbError> {
    macro_rules! seen_by {
        ($tally:literal) => {
            concat!(
                "SELECT e.id, e.entity_key, e.name, e.entity_type, e.meta, e.likes, e.comments, e.shares, \
                 e.views, e.total, e.created_at, e.updated_at, e.last_activity_at, \
                 COALESCE(t.likes, 0) AS my_likes, COALESCE(t.comments, 0) AS my_comments, \
                 COALESCE(t.shares, 0) AS my_shares FROM entities e LEFT JOIN ",
                $tally,
                " WHERE e.app_id = $1 AND e.key_hash = $2"
            )
        };
    }
    // PostgreSQL's plan for the plain join read every tally of the viewer and kept the entity's
    // (it estimates a user's tallies from the average, and a busy caller has thousands); the
    // fenced lateral subquery is planned apart, as one lookup of the whole primary key. SQLite
    // has no LATERAL, and looks the plain join up by the whole key.
    const POSTGRES: &str = seen_by!(
        "LATERAL (SELECT likes, comments, shares FROM action_tallies \
         WHERE user_id = $3 AND entity_id = e.id OFFSET 0) t ON true"
    );
    const SQLITE: &str = seen_by!("action_tallies t ON t.user_id = $3 AND t.entity_id = e.id");
    let row: Option<SeenRow> = by_key_and_user(conn, [POSTGRES, SQLITE], app_id, key, viewer)?;
    Ok(row.map(|row| {
        let me = MySummary { liked: row.my_likes > 0, comments: row.my_comments, shares: row.my_shares };
        (Entity::from(row.entity), me)
    }))
}

/// Runs a statement whose parameters are `$1` the app, `$2` the key's hash and `$3` a user, on
/// either backend, its text given as `[postgres, sqlite]`: prepared once per connection on
/// PostgreSQL. SQLite takes `$3` for a named parameter, numbered by first appearance (so `$3`,
/// the first in the text, would be bound first); `?3` is the third parameter wherever it is.
fn by_key_and_user<Row>(
    conn: &mut DbConnection,
    [postgres, sqlite]: [&'static str; 2],
    app_id: &str,
    key: &str,
    user_id: &str,
) -> Result<Option<Row>, DbError>
where
    Row: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    use diesel::sql_types::Text;

    let (app_id, key_hash, user_id) = (app_id.to_owned(), key_hash(key), user_id.to_owned());
    Ok(match conn {
        DbConnection::Postgresql(pg) => Statement::new(postgres)
            .bind::<Text, _>(app_id)
            .bind::<Text, _>(key_hash)
            .bind::<Text, _>(user_id)
            .get_result(pg)
            .optional()?,
        DbConnection::Sqlite(connection) => diesel::sql_query(sqlite.replace('$', "?"))
            .bind::<Text, _>(app_id)
            .bind::<Text, _>(key_hash)
            .bind::<Text, _>(user_id)
            .get_result(connection)
            .optional()?,
    })
}

#[derive(QueryableByName)]
struct SeenRow {
    #[diesel(embed)]
    entity: EntityRow,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    my_likes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    my_comments: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    my_shares: i64,
}

#[derive(QueryableByName)]
struct ActingRow {
    #[diesel(embed)]
    entity: EntityRow,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    banned: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    erased: bool,
}

pub fn find(conn: &mut DbConnection, app_id: &str, id: &str) -> Result<Option<Entity>, DbError> {
    let row: Option<EntityRow> = entities::table
        .filter(entities::app_id.eq(app_id).and(entities::id.eq(id)))
        .select(EntityRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Entity::from))
}

pub fn find_many_by_key(conn: &mut DbConnection, app_id: &str, keys: &[String]) -> Result<Vec<Entity>, DbError> {
    let hashes: Vec<String> = keys.iter().map(|key| key_hash(key)).collect();
    let rows: Vec<EntityRow> = entities::table
        .filter(entities::app_id.eq(app_id).and(entities::key_hash.eq_any(hashes)))
        .select(EntityRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Entity::from).collect())
}

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    app_id: &str,
    key: &str,
    input: Option<&EntityInput>,
) -> Result<Entity, DbError> {
    let now = chorus_kit::db::now();
    let meta = input.and_then(|i| i.meta.as_ref()).map_or_else(|| "{}".to_owned(), ToString::to_string);
    chorus_kit::db::insert_once(conn, |conn| {
        diesel::insert_into(entities::table)
            .values((
                entities::id.eq(id),
                entities::app_id.eq(app_id),
                entities::entity_key.eq(key),
                entities::key_hash.eq(key_hash(key)),
                entities::name.eq(input.map(|i| i.name.trim().to_owned())),
                entities::entity_type.eq(input.and_then(|i| i.entity_type.clone())),
                entities::meta.eq(meta),
                entities::likes.eq(0),
                entities::comments.eq(0),
                entities::shares.eq(0),
                entities::views.eq(0),
                entities::total.eq(0),
                entities::created_at.eq(now),
                entities::updated_at.eq(now),
                entities::last_activity_at.eq(now),
            ))
            .execute(conn)
    })?;
    written(find_by_key(conn, app_id, key)?)
}

pub fn update(conn: &mut DbConnection, app_id: &str, id: &str, input: &EntityInput) -> Result<Entity, DbError> {
    diesel::update(entities::table.filter(entities::app_id.eq(app_id).and(entities::id.eq(id))))
        .set((
            entities::name.eq(Some(input.name.trim())),
            entities::entity_type.eq(input.entity_type.as_deref()),
            input.meta.as_ref().map(|meta| entities::meta.eq(meta.to_string())),
            entities::updated_at.eq(chorus_kit::db::now()),
        ))
        .execute(conn)?;
    written(find(conn, app_id, id)?)
}

/// A change to an entity's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountDelta {
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub views: i64,
}

impl std::ops::AddAssign for CountDelta {
    fn add_assign(&mut self, other: Self) {
        self.likes += other.likes;
        self.comments += other.comments;
        self.shares += other.shares;
        self.views += other.views;
    }
}

impl CountDelta {
    pub(super) fn total(self) -> i64 {
        self.likes + self.comments + self.shares + self.views
    }
}

/// Applies `delta` atomically (`SET likes = likes + …`, so concurrent writers never lose an
/// update) and returns the new counts.
pub fn bump(conn: &mut DbConnection, entity_id: &str, delta: CountDelta) -> Result<Counts, DbError> {
    use diesel::sql_types::{BigInt, Text, Timestamp};

    let now = chorus_kit::db::now();
    let (likes, comments, shares, views, total) = match conn {
        // On every action's path: a statement PostgreSQL plans once (diesel plans UPDATEs anew).
        DbConnection::Postgresql(pg) => {
            let row: BumpedRow = Statement::new(
                "UPDATE entities SET likes = likes + $2, comments = comments + $3, shares = shares + $4, \
                 views = views + $5, total = total + $6, last_activity_at = $7 WHERE id = $1 \
                 RETURNING id, likes, comments, shares, views, total",
            )
            .bind::<Text, _>(entity_id.to_owned())
            .bind::<BigInt, _>(delta.likes)
            .bind::<BigInt, _>(delta.comments)
            .bind::<BigInt, _>(delta.shares)
            .bind::<BigInt, _>(delta.views)
            .bind::<BigInt, _>(delta.total())
            .bind::<Timestamp, _>(now)
            .get_result(pg)?;
            (row.likes, row.comments, row.shares, row.views, row.total)
        }
        DbConnection::Sqlite(_) => diesel::update(entities::table.find(entity_id))
            .set((
                entities::likes.eq(entities::likes + delta.likes),
                entities::comments.eq(entities::comments + delta.comments),
                entities::shares.eq(entities::shares + delta.shares),
                entities::views.eq(entities::views + delta.views),
                entities::total.eq(entities::total + delta.total()),
                entities::last_activity_at.eq(now),
            ))
            .returning((entities::likes, entities::comments, entities::shares, entities::views, entities::total))
            .get_result::<(i64, i64, i64, i64, i64)>(conn)?,
    };
    Ok(Counts { likes, comments, shares, views, total })
}

/// Applies each entity's delta, as [`bump`] does, and returns the new counts by entity id. The
/// rows are locked in id order first (the order every multi-entity writer keeps, so two groups
/// never deadlock); on PostgreSQL the whole group is then one statement.
pub fn bump_many(
    conn: &mut DbConnection,
    deltas: &BTreeMap<String, CountDelta>,
) -> Result<BTreeMap<String, Counts>, DbError> {
    use diesel::sql_types::{Array, BigInt, Text, Timestamp};

    let DbConnection::Postgresql(pg) = conn else {
        // SQLite has one writer: nothing to order against, and no round trips to save.
        return deltas.iter().map(|(id, delta)| Ok((id.clone(), bump(conn, id, *delta)?))).collect();
    };
    let ids: Vec<String> = deltas.keys().cloned().collect();
    // NO KEY UPDATE, the lock the update itself takes: a plain FOR UPDATE would also conflict
    // with the key-share locks other groups' tally rows hold on these entities (their foreign
    // key), and two groups could deadlock.
    Statement::new("SELECT id FROM entities WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind::<Array<Text>, _>(ids.clone())
        .execute(pg)?;
    let column = |f: fn(&CountDelta) -> i64| deltas.values().map(f).collect::<Vec<i64>>();
    let rows: Vec<BumpedRow> = Statement::new(
        "UPDATE entities e SET likes = e.likes + d.likes, comments = e.comments + d.comments, \
         shares = e.shares + d.shares, views = e.views + d.views, \
         total = e.total + d.likes + d.comments + d.shares + d.views, last_activity_at = $6 \
         FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) \
              AS d(id, likes, comments, shares, views) \
         WHERE e.id = d.id \
         RETURNING e.id, e.likes, e.comments, e.shares, e.views, e.total",
    )
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<BigInt>, _>(column(|d| d.likes))
    .bind::<Array<BigInt>, _>(column(|d| d.comments))
    .bind::<Array<BigInt>, _>(column(|d| d.shares))
    .bind::<Array<BigInt>, _>(column(|d| d.views))
    .bind::<Timestamp, _>(chorus_kit::db::now())
    .load(pg)?;
    Ok(rows.into_iter().map(|row| (row.id.clone(), row.counts())).collect())
}

/// An entity's counts as an `UPDATE … RETURNING` gives them back.
#[derive(QueryableByName)]
pub(super) struct BumpedRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    likes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    comments: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    shares: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    views: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

impl BumpedRow {
    pub(super) fn counts(&self) -> Counts {
        Counts { likes: self.likes, comments: self.comments, shares: self.shares, views: self.views, total: self.total }
    }
}

pub fn counts(conn: &mut DbConnection, entity_id: &str) -> Result<Counts, DbError> {
    let (likes, comments, shares, views, total) = entities::table
        .find(entity_id)
        .select((entities::likes, entities::comments, entities::shares, entities::views, entities::total))
        .first(conn)?;
    Ok(Counts { likes, comments, shares, views, total })
}

/// Locks the entity's row until the transaction ends, so its counts and its actions cannot
/// change underneath the caller (a no-op write: it works the same on both backends).
pub fn lock(conn: &mut DbConnection, entity_id: &str) -> Result<(), DbError> {
    diesel::update(entities::table.find(entity_id)).set(entities::likes.eq(entities::likes)).execute(conn)?;
    Ok(())
}

/// Overwrites the stored counts (the recount routine).
pub fn set_counts(conn: &mut DbConnection, entity_id: &str, counts: Counts) -> Result<(), DbError> {
    diesel::update(entities::table.find(entity_id))
        .set((
            entities::likes.eq(counts.likes),
            entities::comments.eq(counts.comments),
            entities::shares.eq(counts.shares),
            entities::views.eq(counts.views),
            entities::total.eq(counts.total),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn reference(conn: &mut DbConnection, entity_id: &str) -> Result<EntityRef, DbError> {
    let key: String = entities::table.find(entity_id).select(entities::entity_key).first(conn)?;
    Ok(EntityRef { id: entity_id.to_owned(), key })
}

/// Every entity id, in pages (the recount routine walks them all).
pub fn ids_after(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> Result<Vec<String>, DbError> {
    let mut query = entities::table.select(entities::id).order(entities::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(entities::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Most total activity first.
    Popular,
    /// Most recent activity first.
    Recent,
}

/// A page of the app's entities. The sort key travels in the cursor as `<value>|<id>`.
pub fn list(
    conn: &mut DbConnection,
    app_id: &str,
    sort: Sort,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<(Entity, String)>, DbError> {
    let mut query = entities::table.filter(entities::app_id.eq(app_id)).select(EntityRow::as_select()).into_boxed();
    match sort {
        Sort::Popular => {
            query = query.order((entities::total.desc(), entities::id.desc()));
            if let Some((total, id)) = after {
                let total: i64 = total.parse().unwrap_or(i64::MAX);
                query = query.filter(entities::total.lt(total).or(entities::total.eq(total).and(entities::id.lt(id))));
            }
        }
        Sort::Recent => {
            query = query.order((entities::last_activity_at.desc(), entities::id.desc()));
            if let Some((at, id)) = after {
                let at = NaiveDateTime::parse_from_str(&at, "%Y-%m-%dT%H:%M:%S%.f").unwrap_or(NaiveDateTime::MAX);
                query = query.filter(
                    entities::last_activity_at.lt(at).or(entities::last_activity_at.eq(at).and(entities::id.lt(id))),
                );
            }
        }
    }
    let rows: Vec<EntityRow> = query.limit(limit).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let sort_value = match sort {
                Sort::Popular => row.total.to_string(),
                Sort::Recent => row.last_activity_at.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            };
            let cursor = format!("{sort_value}|{}", row.id);
            (Entity::from(row), cursor)
        })
        .collect())
}
