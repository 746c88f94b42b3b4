//! Views: counted on their entities, and per user and entity in `view_tallies`, kept so an
//! erasure can take a user's views back out of the counts.

use diesel::prelude::*;

use std::collections::BTreeMap;

use chorus_kit::db::{DbError, IN_LIST_CHUNK};
use chorus_kit::prepared::Statement;

use super::DbConnection;
use super::schema::view_tallies;
use crate::domain::model::Counts;

/// One view for [`count_by_key`]: who viewed which entity, named by its key.
#[derive(Debug, Clone, Copy)]
pub struct ViewByKey<'a> {
    pub app_id: &'a str,
    pub user_id: &'a str,
    pub entity_key: &'a str,
}

/// What [`count_by_key`] counted.
#[derive(Debug, Default)]
pub struct CountedViews {
    /// Each entity the counted views named, with the views added and its counts after them.
    pub entities: Vec<ViewedEntity>,
    /// Positions in the input of the views it left alone: the entity does not exist yet, or the
    /// viewer may not act. The caller tells those apart from the viewers' standing.
    pub uncounted: Vec<usize>,
}

/// An entity a group of views was counted on.
#[derive(Debug)]
pub struct ViewedEntity {
    pub app_id: String,
    pub id: String,
    pub key: String,
    /// Views the group added.
    pub views: i64,
    pub counts: Counts,
}

/// The common case of a group of views, on PostgreSQL in one statement: each view whose entity
/// exists and whose viewer may act (neither banned nor erased, in the kit's mirror of the users
/// feed) is added to its entity's counts and to the viewer's tally. The entities are locked in id
/// order first, the order every multi-entity writer keeps, then updated, then the tallies are
/// written in (entity, user) order, as [`add_views`] writes them.
///
/// `None` on SQLite, where a statement costs no round trip and the long way costs nothing extra.
pub fn count_by_key(conn: &mut DbConnection, views: &[ViewByKey<'_>]) -> Result<Option<CountedViews>, DbError> {
    use diesel::sql_types::{Array, Text, Timestamp};

    let DbConnection::Postgresql(pg) = conn else { return Ok(None) };
    if views.is_empty() {
        return Ok(Some(CountedViews::default()));
    }
    let column = |f: fn(&ViewByKey<'_>) -> String| views.iter().map(f).collect::<Vec<String>>();
    // Order without joins (a join on a CTE is a nested loop, quadratic in the group): each step
    // waits for the one before through a one-time filter on its count, so every entity is
    // locked, in id order, before any is updated, and the tallies (whose foreign key takes a
    // key-share lock on the entity, already held) are written last.
    let rows: Vec<CountedRow> = Statement::new(
        "WITH v AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
                WITH ORDINALITY AS v(app_id, user_id, key_hash, n)), \
         seen AS MATERIALIZED (SELECT v.n, v.user_id, e.id AS entity_id FROM v \
                JOIN entities e ON e.app_id = v.app_id AND e.key_hash = v.key_hash \
                WHERE NOT EXISTS (SELECT 1 FROM chorus_user_bans b WHERE b.user_id = v.user_id) \
                  AND NOT EXISTS (SELECT 1 FROM chorus_erased_users x WHERE x.user_id = v.user_id)), \
         locked AS MATERIALIZED (SELECT id FROM entities WHERE id IN (SELECT entity_id FROM seen) \
                ORDER BY id FOR NO KEY UPDATE), \
         bumped AS (UPDATE entities e SET views = e.views + d.views, total = e.total + d.views, \
                last_activity_at = $4 \
                FROM (SELECT entity_id, count(*) AS views FROM seen GROUP BY entity_id) d \
                WHERE e.id = d.entity_id AND (SELECT count(*) FROM locked) > 0 \
                RETURNING e.app_id, e.id, e.entity_key, d.views AS added, \
                          e.likes, e.comments, e.shares, e.views, e.total), \
         tallied AS (INSERT INTO view_tallies (entity_id, user_id, views) \
                SELECT s.entity_id, s.user_id, count(*) FROM seen s \
                WHERE (SELECT count(*) FROM bumped) > 0 \
                GROUP BY s.entity_id, s.user_id ORDER BY s.entity_id, s.user_id \
                ON CONFLICT (entity_id, user_id) DO UPDATE SET views = view_tallies.views + EXCLUDED.views) \
         SELECT app_id, id, entity_key, added, likes, comments, shares, views, total, \
                NULL::bigint AS uncounted FROM bumped \
         UNION ALL \
         SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, v.n FROM v \
         WHERE NOT EXISTS (SELECT 1 FROM seen WHERE seen.n = v.n)",
    )
    .bind::<Array<Text>, _>(column(|view| view.app_id.to_owned()))
    .bind::<Array<Text>, _>(column(|view| view.user_id.to_owned()))
    .bind::<Array<Text>, _>(column(|view| super::entities::key_hash(view.entity_key)))
    .bind::<Timestamp, _>(chorus_kit::db::now())
    .load(pg)?;
    let mut counted = CountedViews::default();
    for row in rows {
        match row {
            CountedRow { uncounted: Some(position), .. } => {
                // WITH ORDINALITY counts from 1.
                counted.uncounted.push(usize::try_from(position - 1).unwrap_or(usize::MAX));
            }
            CountedRow {
                app_id: Some(app_id),
                id: Some(id),
                entity_key: Some(key),
                added: Some(views),
                likes: Some(likes),
                comments: Some(comments),
                shares: Some(shares),
                views: Some(total_views),
                total: Some(total),
                uncounted: None,
            } => counted.entities.push(ViewedEntity {
                app_id,
                id,
                key,
                views,
                counts: Counts { likes, comments, shares, views: total_views, total },
            }),
            _ => {
                let error = "a counted entity's row missing a column".into();
                return Err(DbError::Query(diesel::result::Error::DeserializationError(error)));
            }
        }
    }
    Ok(Some(counted))
}

/// A row of [`count_by_key`]'s answer: an entity it counted views on, or the position of a view
/// it left alone (`uncounted`).
#[derive(QueryableByName)]
struct CountedRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    app_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    entity_key: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    added: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    likes: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    comments: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    shares: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    views: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    total: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    uncounted: Option<i64>,
}

/// Adds views to users' tallies, `((entity id, user id), views)`, in one statement. Rows are
/// written in the map's order, the order every writer of tallies keeps.
pub fn add_views(conn: &mut DbConnection, tallies: &BTreeMap<(String, String), i64>) -> Result<(), DbError> {
    use diesel::upsert::excluded;

    let rows: Vec<_> = tallies
        .iter()
        .map(|((entity_id, user_id), views)| {
            (view_tallies::entity_id.eq(entity_id), view_tallies::user_id.eq(user_id), view_tallies::views.eq(views))
        })
        .collect();
    for chunk in rows.chunks(IN_LIST_CHUNK) {
        let upsert = diesel::insert_into(view_tallies::table)
            .values(chunk)
            .on_conflict((view_tallies::entity_id, view_tallies::user_id))
            .do_update()
            .set(view_tallies::views.eq(view_tallies::views + excluded(view_tallies::views)));
        chorus_kit::on_backend!(&mut *conn, |c| upsert.execute(c))?;
    }
    Ok(())
}

/// The user's view tallies, removed (erasure): (entity id, views).
pub fn take_views_of(conn: &mut DbConnection, user_id: &str) -> Result<Vec<(String, i64)>, DbError> {
    let tallies: Vec<(String, i64)> = view_tallies::table
        .filter(view_tallies::user_id.eq(user_id))
        .select((view_tallies::entity_id, view_tallies::views))
        .load(conn)?;
    diesel::delete(view_tallies::table.filter(view_tallies::user_id.eq(user_id))).execute(conn)?;
    Ok(tallies)
}

pub fn views_of_entity(conn: &mut DbConnection, entity_id: &str) -> Result<i64, DbError> {
    // Summed here: SUM(BIGINT) is NUMERIC on PostgreSQL but INTEGER on SQLite.
    let rows: Vec<i64> =
        view_tallies::table.filter(view_tallies::entity_id.eq(entity_id)).select(view_tallies::views).load(conn)?;
    Ok(rows.into_iter().sum())
}
