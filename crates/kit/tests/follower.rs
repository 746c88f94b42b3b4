//! The follower applies known events once, skips unknown types on purpose, and stops before a
//! known type that does not parse, without losing it.

use actix_web::web;
use chorus_kit::db::{DbConnection, Migrations};
use chorus_kit::follower::{ApplyError, FeedBatch, FeedItem, Follower, cursor};
use chorus_kit::metrics::Metrics;
use chorus_kit::testing::{TestDatabase, eventually};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A consumer's typed event: the producer's `Event` enum stands here.
#[derive(Debug, Clone, PartialEq)]
struct Liked(&'static str);

/// Records each applied event as an event of this test's own log, so the test can count them.
fn apply(conn: &mut DbConnection, event: &Liked) -> Result<(), ApplyError> {
    chorus_kit::events::append(conn, "app", "applied", event.0, &serde_json::json!({}))?;
    Ok(())
}

fn producer_feed() -> Vec<(i64, FeedItem<Liked>)> {
    vec![
        (1, FeedItem::Known(Liked("first"))),
        (2, FeedItem::Unknown { id: 2, event_type: "entity.renamed".into() }),
        (3, FeedItem::Known(Liked("second"))),
        (4, FeedItem::Malformed { id: 4, event_type: "liked".into(), error: "missing field `user_id`".into() }),
        (5, FeedItem::Known(Liked("after the bad one"))),
    ]
}

#[tokio::test]
async fn unknown_types_are_skipped_and_a_malformed_event_stops_the_follower() {
    let database = TestDatabase::create();
    let db = database.migrated(Migrations { sqlite: SQLITE, postgres: POSTGRES }).await;
    let metrics = web::Data::new(Metrics::new("consumer"));
    let (trigger, shutdown) = chorus_kit::shutdown::channel();
    let follower = Follower {
        feed: "producer",
        db: db.clone(),
        metrics: metrics.clone(),
        shutdown,
        fetch: Box::new(|after| {
            Box::pin(async move {
                let events = producer_feed().into_iter().filter(|(id, _)| *id > after).collect();
                Ok(FeedBatch { events, behind: 0 })
            })
        }),
        subscribe: None,
        apply: chorus_kit::follower::each(apply),
    };
    let task = tokio::spawn(follower.run());

    let position = async || db.read(|conn| cursor(conn, "producer")).await.unwrap();
    eventually("the follower reaches the malformed event", async || position().await == 3).await;
    eventually("the malformed event is counted", async || {
        metrics_text(&metrics).contains("chorus_feed_malformed_events_total{feed=\"producer\",service=\"consumer\"}")
    })
    .await;
    // Still stopped before it after several retries: nothing past it is applied or skipped.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(position().await, 3, "the follower never moves past an event it cannot parse");
    trigger.fire();
    task.await.unwrap();

    let applied = db
        .read(|conn| chorus_kit::events::read(conn, 0, 100))
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.subject)
        .collect::<Vec<_>>();
    assert_eq!(applied, vec!["first", "second"], "known events applied once, in order; the unknown one skipped");
    let text = metrics_text(&metrics);
    assert!(
        text.contains(
            "chorus_feed_skipped_events_total{feed=\"producer\",type=\"entity.renamed\",service=\"consumer\"} 1"
        ),
        "{text}"
    );
}

fn metrics_text(metrics: &Metrics) -> String {
    metrics.gather_text()
}
