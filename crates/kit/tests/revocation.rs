//! Revoked subjects: an erasure recorded in the kit's table is refused by every process that
//! refreshes, including one that committed late, and old erasures age out of memory.

use chorus_kit::db::{DbError, Migrations};
use chorus_kit::revocation::Revocations;
use chorus_kit::testing::TestDatabase;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[tokio::test]
async fn erasures_reach_every_process_that_refreshes() {
    let database = TestDatabase::create();
    let db = database.migrated(Migrations { sqlite: SQLITE, postgres: POSTGRES }).await;
    // Two replicas of one service, sharing its database.
    let (first, second) = (std::sync::Arc::new(Revocations::default()), std::sync::Arc::new(Revocations::default()));

    db.write(|conn| chorus_kit::mirror::erase(conn, "app", "ada")).await.unwrap();
    for replica in [&first, &second] {
        let replica = replica.clone();
        assert_eq!(db.read(move |conn| replica.refresh(conn)).await.unwrap(), 1);
    }
    assert!(first.is_revoked("ada") && second.is_revoked("ada"));
    assert!(!first.is_revoked("bob"));

    // An erasure stamped before the newest one seen (its transaction committed late) still
    // arrives; one older than any token's lifetime is not kept.
    db.write(|conn| {
        chorus_kit::mirror::erase(conn, "app", "late")?;
        chorus_kit::mirror::erase(conn, "app", "ancient")?;
        use chorus_kit::schema::chorus_erased_users::dsl::*;
        let now = chorus_kit::db::now();
        diesel::update(chorus_erased_users.find("late"))
            .set(erased_at.eq(now - chrono::TimeDelta::seconds(10)))
            .execute(conn)?;
        diesel::update(chorus_erased_users.find("ancient"))
            .set(erased_at.eq(now - chrono::TimeDelta::hours(30)))
            .execute(conn)?;
        Ok::<_, DbError>(())
    })
    .await
    .unwrap();
    let replica = first.clone();
    db.read(move |conn| replica.refresh(conn)).await.unwrap();
    assert!(first.is_revoked("late"));
    assert!(!first.is_revoked("ancient"));

    // A process that starts now learns every erasure within the window.
    let fresh = std::sync::Arc::new(Revocations::default());
    let replica = fresh.clone();
    db.read(move |conn| replica.refresh(conn)).await.unwrap();
    assert!(fresh.is_revoked("ada") && fresh.is_revoked("late") && !fresh.is_revoked("ancient"));
}
