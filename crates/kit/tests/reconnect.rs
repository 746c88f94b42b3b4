//! The pool outlives its connections: when the database drops them (a restart, a failover, an
//! operator's `pg_terminate_backend`), the next request after a pause gets a live connection,
//! without a round trip per request to check.

use chorus_kit::db::{DbConnection, DbError, Migrations};
use chorus_kit::testing::TestDatabase;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

fn select_one(conn: &mut DbConnection) -> Result<i32, DbError> {
    Ok(diesel::select(1.into_sql::<diesel::sql_types::Integer>()).get_result(conn)?)
}

#[tokio::test]
async fn connections_the_server_dropped_are_replaced() {
    let database = TestDatabase::create();
    if !database.is_postgres() {
        // A SQLite connection is a file handle: nothing can drop it from outside.
        return;
    }
    let db = database.migrated(Migrations { sqlite: SQLITE, postgres: POSTGRES }).await;
    // Several pooled connections, all in use at once.
    let busy: Vec<_> = (0..4).map(|_| db.read(select_one)).collect();
    for answer in futures_util::future::join_all(busy).await {
        assert_eq!(answer.unwrap(), 1);
    }

    let name = database.url.rsplit('/').next().unwrap().to_owned();
    let admin_url = database.url.replace(&format!("/{name}"), "/postgres");
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .unwrap();

    // After a pause every idle connection is checked before use: no request fails.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    for _ in 0..8 {
        assert_eq!(db.read(select_one).await.unwrap(), 1);
    }
    assert_eq!(db.write(select_one).await.unwrap(), 1);
}
