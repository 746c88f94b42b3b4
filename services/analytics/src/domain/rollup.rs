//! Facts into rollups, in the transaction that keeps them: counts per metric and quarter, the
//! distinct users of each quarter and UTC day, and counts per entity and per user at both
//! grains (leaderboards).

use std::collections::BTreeMap;

use chorus_kit::db::DbConnection;

use super::AnalyticsError;
use super::model::Fact;
use super::sketch::DistinctUsers;
use super::time::{DAY, QUARTER, bucket};
use crate::store;
use crate::store::leaders::{EntityBucket, UserBucket};
use crate::store::rollups::CountRow;

/// The grains of sketches and per-entity and per-user counts: a range reads its whole UTC days
/// and the quarters at its edges.
pub const GRAINS: [i64; 2] = [QUARTER, DAY];

/// Adds `facts` to the rollups. Keys are visited in order (see `store::rollups`).
pub fn apply(conn: &mut DbConnection, facts: &[&Fact]) -> Result<(), AnalyticsError> {
    let mut counts: BTreeMap<(&str, String, i64), i64> = BTreeMap::new();
    let mut users: BTreeMap<(&str, i64, i64), DistinctUsers> = BTreeMap::new();
    let mut entities: BTreeMap<EntityBucket<'_>, i64> = BTreeMap::new();
    let mut activity: BTreeMap<UserBucket<'_>, i64> = BTreeMap::new();
    for fact in facts {
        let at = fact.occurred_at.timestamp();
        let metric = fact.metric.key();
        for grain in GRAINS {
            let bucket = bucket(at, grain);
            if let Some(user_id) = &fact.user_id {
                users.entry((&fact.app_id, grain, bucket)).or_default().insert(user_id);
                // Per-user activity is kept by UTC day only: a row per user and day is already
                // the write path's largest cost.
                if grain == DAY {
                    *activity.entry((&fact.app_id, user_id, grain, bucket)).or_default() += 1;
                }
            }
            if let Some(key) = &fact.entity_key {
                *entities.entry((&fact.app_id, metric.clone(), key, grain, bucket)).or_default() += fact.count;
            }
        }
        *counts.entry((&fact.app_id, metric, bucket(at, QUARTER))).or_default() += fact.count;
    }
    // The app's hot rows (its counts and sketches, which every writer of the app updates) come
    // last, so they are held only from here to the commit.
    store::leaders::add_user_activity(conn, &activity)?;
    store::leaders::add_entity_counts(conn, &entities)?;
    let rows: Vec<CountRow<'_>> = counts
        .iter()
        .map(|((app_id, metric, bucket), count)| CountRow { app_id, metric, bucket: *bucket, count: *count })
        .collect();
    store::rollups::add_counts(conn, &rows)?;
    for ((app_id, grain, bucket), new_users) in users {
        store::rollups::merge_sketch(conn, app_id, grain, bucket, |stored| {
            let mut merged = match stored.map(DistinctUsers::from_bytes) {
                Some(Ok(sketch)) => sketch,
                // A sketch that does not decode would refuse every later write of its bucket;
                // it starts over instead (that bucket's distinct count restarts), and says so.
                Some(Err(error)) => {
                    tracing::error!(%error, app_id, grain, bucket, "a distinct-users sketch was unreadable; it starts over");
                    DistinctUsers::new()
                }
                None => DistinctUsers::new(),
            };
            merged.merge(&new_users);
            merged.to_bytes()
        })?;
    }
    Ok(())
}
