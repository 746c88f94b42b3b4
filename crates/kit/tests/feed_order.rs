//! The feed never skips an event that commits late. A transaction that started earlier and
//! commits later holds readers back until it commits; then its events arrive, in their place,
//! exactly once, and writers never waited for each other.

use chorus_kit::db::{DbConnection, Migrations};
use chorus_kit::events::{Event, append, read};
use chorus_kit::testing::TestDatabase;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

fn subjects(events: &[Event]) -> Vec<&str> {
    events.iter().map(|event| event.subject.as_str()).collect()
}

#[tokio::test]
async fn an_event_that_commits_late_is_delivered_once_in_its_place() {
    let database = TestDatabase::create();
    let db = database.migrated(Migrations { sqlite: SQLITE, postgres: POSTGRES }).await;
    let publish = |subject: &'static str| {
        let db = db.clone();
        async move {
            db.write(move |conn| append(conn, "app", "test.happened", subject, &serde_json::json!({}))).await.unwrap()
        }
    };
    publish("first").await;
    chorus_kit::testing::feed_settled(&db).await;
    let seen = db.read(|conn| read(conn, 0, 100)).await.unwrap();
    assert_eq!(subjects(&seen), ["first"]);
    let cursor = seen[0].id;

    if !database.is_postgres() {
        // SQLite has one writer: a transaction that started earlier also commits earlier, so
        // ids are consecutive in commit order and the late case cannot arise.
        publish("second").await;
        let next = db.read(move |conn| read(conn, cursor, 100)).await.unwrap();
        assert_eq!(subjects(&next), ["second"]);
        assert_eq!(next[0].id, cursor + 1);
        return;
    }

    // A transaction starts, publishes, and stays open.
    let mut early = DbConnection::Postgresql(PgConnection::establish(&database.url).unwrap());
    early.batch_execute("BEGIN").unwrap();
    append(&mut early, "app", "test.happened", "started-early", &serde_json::json!({})).unwrap();

    // Another starts later, publishes and commits, without waiting for the first.
    let started = std::time::Instant::now();
    publish("committed-first").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "the second writer waited for the first");

    // Readers are held back: what committed first is not served ahead of the open transaction.
    let held = db.read(move |conn| read(conn, cursor, 100)).await.unwrap();
    assert_eq!(subjects(&held), Vec::<&str>::new());
    assert_eq!(db.read(chorus_kit::events::last_id).await.unwrap(), cursor);

    // The early transaction commits: both arrive, in transaction order, each once.
    early.batch_execute("COMMIT").unwrap();
    // The horizon is the whole server's: another test's open transaction can hold it a moment.
    chorus_kit::testing::feed_settled(&db).await;
    let released = db.read(move |conn| read(conn, cursor, 100)).await.unwrap();
    assert_eq!(subjects(&released), ["started-early", "committed-first"]);
    assert!(released[0].id > cursor && released[1].id > released[0].id);
    let after = released[1].id;
    assert!(db.read(move |conn| read(conn, after, 100)).await.unwrap().is_empty());
    let behind = db.read(move |conn| chorus_kit::events::behind(conn, cursor, 100));
    assert_eq!(behind.await.unwrap(), 2);

    // An open transaction that rolls back leaves no hole and no event.
    let mut abandoned = DbConnection::Postgresql(PgConnection::establish(&database.url).unwrap());
    abandoned.batch_execute("BEGIN").unwrap();
    append(&mut abandoned, "app", "test.happened", "rolled-back", &serde_json::json!({})).unwrap();
    publish("after-rollback").await;
    abandoned.batch_execute("ROLLBACK").unwrap();
    chorus_kit::testing::feed_settled(&db).await;
    let last = db.read(move |conn| read(conn, after, 100)).await.unwrap();
    assert_eq!(subjects(&last), ["after-rollback"]);
}

/// A test event for [`chorus_kit::events::publish_all`].
struct Happened(&'static str);

impl chorus_kit::events::Publish for Happened {
    fn event_type(&self) -> &'static str {
        "test.happened"
    }
    fn subject(&self) -> &str {
        self.0
    }
    fn data(&self) -> serde_json::Value {
        serde_json::json!({})
    }
}

#[tokio::test]
async fn events_of_one_transaction_keep_their_order_and_a_rolled_back_one_leaves_no_trace() {
    use chorus_kit::events::{publish, publish_all};

    let database = TestDatabase::create();
    let db = database.migrated(Migrations { sqlite: SQLITE, postgres: POSTGRES }).await;
    for _ in 0..2 {
        db.write(|conn| {
            publish(conn, "app", &Happened("a"))?;
            publish_all(conn, &[("app", Happened("b")), ("app", Happened("c"))])?;
            // A savepoint that rolls back takes its event, and its place, with it.
            let _ = conn.transaction::<(), diesel::result::Error, _>(|conn| {
                publish(conn, "app", &Happened("rolled-back")).unwrap();
                Err(diesel::result::Error::RollbackTransaction)
            });
            publish(conn, "app", &Happened("d"))?;
            Ok::<_, chorus_kit::db::DbError>(())
        })
        .await
        .unwrap();
    }
    chorus_kit::testing::feed_settled(&db).await;
    let events = db.read(|conn| read(conn, 0, 100)).await.unwrap();
    assert_eq!(subjects(&events), ["a", "b", "c", "d", "a", "b", "c", "d"]);
    // Within a transaction, ids are consecutive; the second transaction starts afresh above.
    for pair in events[..4].windows(2).chain(events[4..].windows(2)) {
        assert_eq!(pair[1].id, pair[0].id + 1, "{events:?}");
    }
    assert!(events[4].id > events[3].id);
}
