//! Writes that arrive together commit together on SQLite, each in its own savepoint: a failed
//! write rolls back alone, the others are durable when they are answered, and ids stay
//! consecutive. (PostgreSQL runs the same writes concurrently.)

use chorus_kit::db::{DbError, Migrations};
use chorus_kit::events::{append, read};
use chorus_kit::testing::TestDatabase;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug)]
enum WriteError {
    Refused,
    Db(#[allow(dead_code)] DbError),
}

impl From<DbError> for WriteError {
    fn from(error: DbError) -> Self {
        Self::Db(error)
    }
}

#[tokio::test]
async fn a_failed_write_rolls_back_alone_in_its_group() {
    let database = TestDatabase::create();
    let db = database.migrated(Migrations { sqlite: SQLITE, postgres: POSTGRES }).await;
    let writes = (0..60).map(|n| {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(move |conn| {
                append(conn, "app", "test.written", &format!("write-{n}"), &serde_json::json!({ "n": n }))?;
                // Every tenth write fails after writing: its event must not survive.
                if n % 10 == 0 { Err(WriteError::Refused) } else { Ok(n) }
            })
            .await
        })
    });
    let outcomes = futures_util::future::join_all(writes).await;
    let committed = outcomes.iter().filter(|outcome| matches!(outcome, Ok(Ok(_)))).count();
    let refused = outcomes.iter().filter(|outcome| matches!(outcome, Ok(Err(WriteError::Refused)))).count();
    assert_eq!((committed, refused), (54, 6), "{outcomes:?}");

    chorus_kit::testing::feed_settled(&db).await;
    let events = db.read(|conn| read(conn, 0, 500)).await.unwrap();
    assert_eq!(events.len(), 54);
    assert!(events.iter().all(|event| !event.subject.ends_with('0')), "a refused write's event survived");
    if !database.is_postgres() {
        let ids: Vec<i64> = events.iter().map(|event| event.id).collect();
        assert_eq!(ids, (1..=54).collect::<Vec<_>>(), "ids stay consecutive");
    }
}
