//! Raw-event retention: old days go whole (PostgreSQL partitions) or row by row (SQLite).

use chrono::{Duration, Utc};
use serde_json::json;

use super::{Stack, event};
use chorus_analytics::store::raw;

#[tokio::test]
async fn raw_events_past_the_retention_are_dropped_and_the_rollups_stay() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let old = (Utc::now() - Duration::days(40)).to_rfc3339();
    let recent = (Utc::now() - Duration::days(1)).to_rfc3339();
    let batch = json!([event("old", "o1", &old), event("old", "o2", &old), event("recent", "r1", &recent)]);
    assert_eq!(stack.ingest(&app.token, batch).await["accepted"], 3);
    let db = stack.analytics.db().clone();
    let today = Utc::now().timestamp().div_euclid(86_400);

    let dropped = db
        .write(move |conn| {
            // Day partitions for the old days, as if made when those days were current.
            raw::ensure_partitions(conn, today - 45, today - 35)?;
            raw::prune(conn, (Utc::now() - Duration::days(30)).timestamp_millis())
        })
        .await
        .unwrap();
    if matches!(db.backend(), chorus_kit::db::Backend::Postgres(_)) {
        // Eleven old days, less the one whose events already sat in the default partition
        // (a partition cannot be carved out of rows the default holds); those rows are deleted.
        assert_eq!(dropped, 10, "the old days' partitions are dropped whole");
    }
    let apps = db.read(|conn| raw::apps_since(conn, 0)).await.unwrap();
    assert_eq!(apps.len(), 1, "{apps:?}");
    let left = db
        .read(move |conn| raw::page(conn, &apps[0], 0, None, 100))
        .await
        .unwrap()
        .into_iter()
        .map(|raw| raw.metric)
        .collect::<Vec<_>>();
    assert_eq!(left, vec!["events.recent"]);

    // The old events still count, though their raw rows are gone.
    let from = (Utc::now() - Duration::days(41)).date_naive();
    let points = stack
        .points(
            &app.token,
            "events.old",
            &format!("from={from}T00:00:00Z&to={}T00:00:00Z&interval=month", Utc::now().date_naive()),
        )
        .await;
    assert_eq!(points.iter().map(|(_, value)| value).sum::<i64>(), 2);
}

#[tokio::test]
async fn rows_naming_a_user_erased_while_they_were_written_are_swept() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let mut tap = event("tap", "raced-1", &super::now());
    tap["user_id"] = json!("raced-user");
    assert_eq!(stack.ingest(&app.token, json!([tap])).await["accepted"], 1);
    let (db, app_id) = (stack.analytics.db().clone(), stack.app_id(&app.token));
    let count = || {
        let db = db.clone();
        async move { db.read(|conn| raw::count_of_user(conn, "raced-user")).await.unwrap() }
    };
    assert_eq!(count().await, 1);
    // The erasure lands as if it committed while the batch was being written.
    db.write(move |conn| chorus_kit::mirror::erase(conn, &app_id, "raced-user")).await.unwrap();
    chorus_analytics::domain::retention::maintain(&db, 90).await.unwrap();
    assert_eq!(count().await, 0);
    let board = stack.api.get(&format!("/v1/leaderboards/users?{}", super::range_of_today()), &app.token).await;
    assert_eq!(board.body["items"], json!([]), "{}", board.body);
}

#[tokio::test]
async fn replicas_maintaining_partitions_at_once_while_events_arrive_never_deadlock() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let db = stack.analytics.db().clone();
    let today = Utc::now().timestamp().div_euclid(86_400);
    // Each round makes old day partitions and drops them again, as replicas starting at once
    // would, while events keep arriving; PostgreSQL aborts one side of any deadlock, so every
    // round must succeed.
    let replicas = (0..3).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            for round in 0..6 {
                db.write(move |conn| raw::ensure_partitions(conn, today - 60 + round, today - 50))
                    .await
                    .expect("partitions are made");
                db.write(move |conn| raw::prune(conn, (Utc::now() - Duration::days(40)).timestamp_millis()))
                    .await
                    .expect("old partitions are dropped");
                chorus_analytics::domain::retention::maintain(&db, 90).await.expect("maintenance runs");
            }
        })
    });
    let replicas: Vec<_> = replicas.collect();
    for round in 0..12 {
        let at = super::now();
        let batch =
            json!([event("tap", &format!("race-{round}-a"), &at), event("tap", &format!("race-{round}-b"), &at)]);
        assert_eq!(stack.ingest(&app.token, batch).await["accepted"], 2);
    }
    for replica in replicas {
        replica.await.expect("no replica failed");
    }
    let apps = db.read(|conn| raw::apps_since(conn, 0)).await.unwrap();
    let left = db.read(move |conn| raw::page(conn, &apps[0], 0, None, 100)).await.unwrap();
    assert_eq!(left.len(), 24, "every event that arrived meanwhile is kept");
}
