//! Revoked subjects: the users whose access tokens no service may accept any more, because they
//! were erased. A token outlives its user by up to its lifetime, so every service refuses these
//! subjects with 401, for every operation, read or write.
//!
//! The set lives in memory, so checking it costs no query. It is fed from the kit's
//! `chorus_erased_users` table, which every service's database holds: the users service writes it
//! in the erasure's own transaction, and every other service in the transaction that applies
//! `user.deleted` from the users feed (`chorus_upstream::users_mirror`). Each process reads the
//! table's newest rows every [`REFRESH_INTERVAL`], so all replicas learn of an erasure within
//! that interval of its commit.
//!
//! Only erasures younger than [`REVOCATION_WINDOW`] are kept in memory: no Chorus token lives
//! longer (the users service refuses longer lifetimes), so an older erasure has no token left to
//! refuse.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use crate::db::{Db, DbConnection, DbError};
use crate::schema::chorus_erased_users;
use crate::shutdown::Shutdown;

/// How often each process looks for new erasures.
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(200);
/// How long an erasure is remembered in memory: the longest lifetime any Chorus token may have
/// (24 hours), with room for clock skew.
pub const REVOCATION_WINDOW: TimeDelta = TimeDelta::hours(25);
/// Each refresh reads again this far behind the newest erasure it saw, so an erasure whose
/// transaction committed late (stamped earlier than one already seen) is still picked up.
const LATE_COMMIT_MARGIN: TimeDelta = TimeDelta::seconds(60);

/// The revoked subjects of one process, by user id, with when each was erased.
#[derive(Debug, Default)]
pub struct Revocations {
    erased: RwLock<HashMap<String, NaiveDateTime>>,
    newest: RwLock<Option<NaiveDateTime>>,
}

impl Revocations {
    /// True when `user_id` was erased: their tokens must be refused.
    pub fn is_revoked(&self, user_id: &str) -> bool {
        self.erased.read().expect("revocations lock").contains_key(user_id)
    }

    /// Revokes `user_id` in this process at once, ahead of the next refresh (the process that
    /// performed the erasure calls it after commit).
    pub fn revoke(&self, user_id: &str) {
        self.erased.write().expect("revocations lock").insert(user_id.to_owned(), crate::db::now());
    }

    /// Reads the erasures recorded since the last refresh, and forgets those past the window.
    pub fn refresh(&self, conn: &mut DbConnection) -> Result<usize, DbError> {
        let now = crate::db::now();
        let window_start = now - REVOCATION_WINDOW;
        let since = self
            .newest
            .read()
            .expect("revocations lock")
            .map_or(window_start, |newest| (newest - LATE_COMMIT_MARGIN).max(window_start));
        let rows: Vec<(String, NaiveDateTime)> = chorus_erased_users::table
            .filter(chorus_erased_users::erased_at.ge(since))
            .select((chorus_erased_users::user_id, chorus_erased_users::erased_at))
            .load(conn)?;
        let mut erased = self.erased.write().expect("revocations lock");
        let before = erased.len();
        let mut newest = self.newest.write().expect("revocations lock");
        for (user_id, erased_at) in rows {
            *newest = Some(newest.map_or(erased_at, |seen| seen.max(erased_at)));
            erased.insert(user_id, erased_at);
        }
        erased.retain(|_, erased_at| *erased_at >= window_start);
        Ok(erased.len().saturating_sub(before))
    }
}

/// Keeps `revocations` current until shutdown. A failed read is logged and tried again on the
/// next tick; the set keeps what it knew.
pub async fn follow(revocations: std::sync::Arc<Revocations>, db: Db, shutdown: Shutdown) {
    let mut failing = false;
    loop {
        let set = revocations.clone();
        match db.read(move |conn| set.refresh(conn)).await {
            Ok(_) => failing = false,
            Err(error) if !failing => {
                tracing::warn!(%error, "reading new erasures failed; retrying");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(REFRESH_INTERVAL) => {}
            _ = shutdown.fired() => return,
        }
    }
}
