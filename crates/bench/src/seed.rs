//! The realistic data the PostgreSQL bench runs on, written straight into each service's
//! database in bulk (`generate_series`): going through the API would take longer than the whole
//! bench. It is history, written before the services are measured: rows and their counts, with
//! no events (a feed's retention would have dropped them long ago).
//!
//! - users: `users` people with a device each;
//! - actions: the population's entities (`entity-0` …) and `actions` actions spread over them
//!   (a like for each of the first `users` user-entity pairs, comments after), with counts that
//!   match the rows; the hot entity with `hot_actions` comments;
//! - notifications: `hot_subscribers` users subscribed to the hot entity's new comments, every
//!   user to one of as many older entities as there are entities (the measured entities have
//!   none, so a comment's cost stays comparable with pgbench's), and every user known as one of
//!   the app's users (the audience of a broadcast to everyone).

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// How much history to write.
#[derive(Debug, Clone)]
pub struct Seed {
    pub users_db: String,
    pub actions_db: String,
    pub notifications_db: String,
    pub users: u64,
    pub entities: u64,
    pub actions: u64,
    pub hot_key: String,
    pub hot_actions: u64,
    pub hot_subscribers: u64,
    /// An FCM device for each user past the hot entity's subscribers (whose comments would
    /// otherwise push throughout the other runs).
    pub fcm_devices: bool,
}

impl Seed {
    /// The users with an FCM device.
    pub fn fcm_devices(&self) -> u64 {
        if self.fcm_devices { self.users.saturating_sub(self.hot_subscribers) } else { 0 }
    }
}

impl Seed {
    /// Writes the history for the app `app_id`; prints what it wrote and how long it took.
    pub fn write(&self, app_id: &str) -> anyhow::Result<()> {
        // Ids come from the users service; anything else would not be safe to splice into SQL.
        anyhow::ensure!(
            app_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "unexpected app id {app_id}"
        );
        anyhow::ensure!(self.hot_key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "bad hot key");
        let started = std::time::Instant::now();
        let (app, users, entities, actions) = (app_id, self.users, self.entities, self.actions);
        let hot = &self.hot_key;
        let key_hash = |key: &str| format!("encode(sha256(convert_to({key}, 'UTF8')), 'hex')");

        PgConnection::establish(&self.users_db)?.batch_execute(&format!(
            "INSERT INTO users (id, app_id, meta, notifications_enabled, created_at, updated_at) \
               SELECT 'seed-user-' || g, '{app}', '{{}}', true, now(), now() FROM generate_series(1, {users}) g; \
             INSERT INTO devices (app_id, device_id, user_id, created_at, last_seen_at) \
               SELECT '{app}', 'seed-device-' || g, 'seed-user-' || g, now(), now() FROM generate_series(1, {users}) g;"
        ))?;
        vacuum(&self.users_db)?;

        let entity_hash = key_hash("'entity-' || g");
        let hot_hash = key_hash(&format!("'{hot}'"));
        PgConnection::establish(&self.actions_db)?.batch_execute(&format!(
            "INSERT INTO entities (id, app_id, entity_key, key_hash, name, meta, likes, comments, shares, views, \
               total, created_at, updated_at, last_activity_at) \
               SELECT 'seed-entity-' || g, '{app}', 'entity-' || g, {entity_hash}, 'Entity ' || g, '{{}}', \
                 0, 0, 0, 0, 0, now(), now(), now() FROM generate_series(0, {entities} - 1) g; \
             INSERT INTO entities (id, app_id, entity_key, key_hash, name, meta, likes, comments, shares, views, \
               total, created_at, updated_at, last_activity_at) \
               VALUES ('seed-hot-entity', '{app}', '{hot}', {hot_hash}, 'Hot', '{{}}', 0, 0, 0, 0, 0, now(), now(), now()); \
             INSERT INTO actions (id, app_id, entity_id, user_id, kind, body, created_at) \
               SELECT 'seed-action-' || g, '{app}', 'seed-entity-' || (g % {entities}), \
                 'seed-user-' || (1 + g % {users}), \
                 CASE WHEN g < {users} THEN 'like' ELSE 'comment' END, \
                 CASE WHEN g < {users} THEN NULL ELSE 'a comment from the history' END, \
                 now() - make_interval(secs => g) \
               FROM generate_series(0, {actions} - 1) g; \
             INSERT INTO actions (id, app_id, entity_id, user_id, kind, body, created_at) \
               SELECT 'seed-hot-' || g, '{app}', 'seed-hot-entity', 'seed-user-' || (1 + g % {users}), 'comment', \
                 'a comment on the hot entity', now() - make_interval(secs => g) \
               FROM generate_series(1, {hot_actions}) g; \
             UPDATE entities e SET likes = c.likes, comments = c.comments, total = c.likes + c.comments \
               FROM (SELECT entity_id, count(*) FILTER (WHERE kind = 'like') AS likes, \
                       count(*) FILTER (WHERE kind = 'comment') AS comments \
                     FROM actions GROUP BY entity_id) c \
               WHERE e.id = c.entity_id; \
             INSERT INTO action_tallies (entity_id, user_id, likes, comments, shares) \
               SELECT entity_id, user_id, count(*) FILTER (WHERE kind = 'like'), \
                 count(*) FILTER (WHERE kind = 'comment'), 0 \
               FROM actions GROUP BY entity_id, user_id;",
            hot_actions = self.hot_actions
        ))?;
        vacuum(&self.actions_db)?;

        let subscribers = self.hot_subscribers;
        let archived_hash = key_hash(&format!("'archived-entity-' || (g % {entities})"));
        PgConnection::establish(&self.notifications_db)?.batch_execute(&format!(
            "INSERT INTO subscriptions (app_id, user_id, entity_key, key_hash, kind, created_at) \
               SELECT '{app}', 'seed-user-' || g, '{hot}', {hot_hash}, 'new_comments', now() \
               FROM generate_series(1, {subscribers}) g; \
             INSERT INTO subscriptions (app_id, user_id, entity_key, key_hash, kind, created_at) \
               SELECT '{app}', 'seed-user-' || g, 'archived-entity-' || (g % {entities}), \
                 {archived_hash}, 'new_comments', now() \
               FROM generate_series(1, {users}) g; \
             INSERT INTO app_users (user_id, app_id) SELECT 'seed-user-' || g, '{app}' FROM generate_series(1, {users}) g; \
             INSERT INTO devices (id, app_id, user_id, platform, provider, token, created_at) \
               SELECT 'seed-fcm-' || g, '{app}', 'seed-user-' || g, 'android', 'fcm', 'seed-fcm-token-' || g, now() \
               FROM generate_series({first_device}, {users}) g WHERE {with_devices};",
            first_device = subscribers + 1,
            with_devices = self.fcm_devices,
        ))?;
        vacuum(&self.notifications_db)?;
        // The seed and its vacuum wrote gigabytes of WAL; flushed now, the checkpoint they call
        // for does not land in the middle of a measured run.
        PgConnection::establish(&self.notifications_db)?.batch_execute("CHECKPOINT")?;
        println!(
            "seeded {users} users, {entities} entities, {actions} actions, a hot entity with {} comments and \
             {subscribers} subscribers in {:.1} s",
            self.hot_actions,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// Vacuums and analyzes the database at `url`, as a database that has lived with its history
/// would be: the planner knows the tables, the visibility map is set (so index-only scans work),
/// and autovacuum has nothing left to do on the seed while the runs are measured. A statement of
/// its own: VACUUM cannot run inside the implicit transaction of a multi-statement batch.
fn vacuum(url: &str) -> anyhow::Result<()> {
    PgConnection::establish(url)?.batch_execute("VACUUM (ANALYZE)")?;
    Ok(())
}
