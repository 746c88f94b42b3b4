//! Facts into rollups, in the transaction that keeps them: counts per metric and quarter, and
//! the distinct users of each quarter and UTC day.

use std::collections::BTreeMap;

use chorus_kit::db::DbConnection;

use super::AnalyticsError;
use super::model::Fact;
use super::sketch::DistinctUsers;
use super::time::{DAY, QUARTER, bucket};
use crate::store;
use crate::store::rollups::CountRow;

/// The grains distinct-user sketches are kept at.
pub const SKETCH_GRAINS: [i64; 2] = [QUARTER, DAY];

/// Adds `facts` to the rollups. Keys are visited in order (see `store::rollups`).
pub fn apply(conn: &mut DbConnection, facts: &[&Fact]) -> Result<(), AnalyticsError> {
    let mut counts: BTreeMap<(&str, String, i64), i64> = BTreeMap::new();
    let mut users: BTreeMap<(&str, i64, i64), DistinctUsers> = BTreeMap::new();
    for fact in facts {
        let at = fact.occurred_at.timestamp();
        *counts.entry((&fact.app_id, fact.metric.key(), bucket(at, QUARTER))).or_default() += fact.count;
        if let Some(user_id) = &fact.user_id {
            for grain in SKETCH_GRAINS {
                users.entry((&fact.app_id, grain, bucket(at, grain))).or_default().insert(user_id);
            }
        }
    }
    let rows: Vec<CountRow<'_>> = counts
        .iter()
        .map(|((app_id, metric, bucket), count)| CountRow { app_id, metric, bucket: *bucket, count: *count })
        .collect();
    store::rollups::add_counts(conn, &rows)?;
    for ((app_id, grain, bucket), new_users) in users {
        let mut failed = None;
        store::rollups::merge_sketch(conn, app_id, grain, bucket, |stored| {
            let mut merged = match stored.map(DistinctUsers::from_bytes) {
                Some(Ok(sketch)) => sketch,
                Some(Err(error)) => {
                    failed = Some(error);
                    DistinctUsers::new()
                }
                None => DistinctUsers::new(),
            };
            merged.merge(&new_users);
            merged.to_bytes()
        })?;
        if let Some(error) = failed {
            return Err(error.into());
        }
    }
    Ok(())
}
