//! The ops check that counts never drift: recompute every entity's counts from its rows, and
//! fix (and report) any that differ.

use std::collections::BTreeMap;

use chorus_kit::db::DbConnection;

use super::ActionsError;
use super::model::Counts;
use crate::store;
use crate::store::tallies::Tally;

/// What a recount checked and fixed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecountReport {
    pub entities_checked: i64,
    /// Entities whose stored counts, or users' tallies of them, differed from their rows, now
    /// fixed. Should be zero.
    pub entities_fixed: i64,
}

impl std::ops::AddAssign for RecountReport {
    fn add_assign(&mut self, page: Self) {
        self.entities_checked += page.entities_checked;
        self.entities_fixed += page.entities_fixed;
    }
}

const PAGE: i64 = 500;

/// The counts an entity's rows add up to, given its users' tallies as its live actions add them
/// up ([`store::tallies::counted`]): one read of the actions serves both checks.
fn counted(
    conn: &mut DbConnection,
    entity_id: &str,
    tallies: &BTreeMap<String, Tally>,
) -> Result<Counts, ActionsError> {
    let mut counts = Counts::default();
    for tally in tallies.values() {
        counts.likes += tally.likes;
        counts.comments += tally.comments;
        counts.shares += tally.shares;
    }
    counts.views = store::views::views_of_entity(conn, entity_id)?;
    counts.total = counts.likes + counts.comments + counts.shares + counts.views;
    Ok(counts)
}

/// Checks one page of entities after `after`; returns the page's report and where to go on.
pub fn recount_page(
    conn: &mut DbConnection,
    after: Option<&str>,
) -> Result<(RecountReport, Option<String>), ActionsError> {
    let ids = store::entities::ids_after(conn, after, PAGE)?;
    let mut report = RecountReport::default();
    for id in &ids {
        report.entities_checked += 1;
        // Every action changes its entity's row in the same transaction, so holding the row
        // lock keeps the tally and the stored counts from the same moment.
        store::entities::lock(conn, id)?;
        // The users' own tallies (their summaries on the action bar) move in the same
        // transactions, under the same row lock.
        let tallies = store::tallies::counted(conn, id)?;
        let truth = counted(conn, id, &tallies)?;
        let mut drifted = false;
        if store::entities::counts(conn, id)? != truth {
            tracing::warn!(entity_id = %id, ?truth, "counts drifted; fixed");
            store::entities::set_counts(conn, id, truth)?;
            drifted = true;
        }
        if store::tallies::of_entity(conn, id)? != tallies {
            tracing::warn!(entity_id = %id, "users' tallies drifted; rebuilt");
            store::tallies::replace(conn, id, &tallies)?;
            drifted = true;
        }
        report.entities_fixed += i64::from(drifted);
    }
    let next = if ids.len() as i64 == PAGE { ids.last().cloned() } else { None };
    Ok((report, next))
}
