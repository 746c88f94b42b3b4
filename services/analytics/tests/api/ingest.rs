//! Ingestion: deduplication, per-event rejections, and whole-batch refusals.

use chrono::{Duration, Utc};
use serde_json::json;

use super::{Stack, event, now};

#[tokio::test]
async fn a_duplicated_insert_id_counts_once_even_when_the_batch_is_resent() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let batch = json!([event("signup", "a1", &now()), event("signup", "a1", &now()), event("signup", "a2", &now())]);
    let report = stack.ingest(&app.token, batch.clone()).await;
    assert_eq!((report["accepted"].as_i64(), report["duplicates"].as_i64()), (Some(2), Some(1)), "{report}");
    assert_eq!(report["rejected"], json!([]));

    let again = stack.ingest(&app.token, batch).await;
    assert_eq!((again["accepted"].as_i64(), again["duplicates"].as_i64()), (Some(0), Some(3)), "{again}");
    assert_eq!(stack.today(&app.token, "events.signup").await, 2);
}

#[tokio::test]
async fn timestamps_outside_the_window_are_rejected_one_by_one_and_the_rest_kept() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let future = (Utc::now() + Duration::days(2)).to_rfc3339();
    let ancient = (Utc::now() - Duration::days(91)).to_rfc3339();
    let batch = json!([event("open", "b1", &future), event("open", "b2", &now()), event("open", "b3", &ancient)]);
    let report = stack.ingest(&app.token, batch).await;
    assert_eq!(report["accepted"], 1, "{report}");
    let rejected: Vec<(i64, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_i64().unwrap(), r["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(rejected, vec![(0, "in_the_future".to_owned()), (2, "past_retention".to_owned())]);
    assert_eq!(stack.today(&app.token, "events.open").await, 1);
}

#[tokio::test]
async fn a_malformed_batch_is_refused_whole_naming_the_field_and_keeps_nothing() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let post = |body| stack.api.post("/v1/events:batch", &app.token, body);

    let bad_name = json!({ "events": [event("ok", "c1", &now()), event("no spaces", "c2", &now())] });
    post(bad_name).await.assert_problem(400, Some("events[1].name"));
    let bad_time = json!({ "events": [event("ok", "c1", "yesterday")] });
    post(bad_time).await.assert_problem(400, Some("events[0].timestamp"));
    let nested = json!({ "events": [{ "name": "ok", "insert_id": "c3", "timestamp": now(), "properties": { "a": { "b": 1 } } }] });
    post(nested).await.assert_problem(400, Some("events[0].properties.a"));
    let too_many: Vec<_> = (0..1_001).map(|n| event("ok", &format!("d{n}"), &now())).collect();
    post(json!({ "events": too_many })).await.assert_problem(400, Some("events"));
    post(json!({ "events": [] })).await.assert_problem(400, Some("events"));
    let huge = "x".repeat(1_000);
    let oversized: Vec<_> = (0..1_000)
        .map(|n| json!({ "name": "ok", "insert_id": format!("e{n}"), "timestamp": now(), "properties": { "p": huge } }))
        .collect();
    post(json!({ "events": oversized })).await.assert_problem(413, None);

    assert_eq!(stack.today(&app.token, "events.ok").await, 0);
}

#[tokio::test]
async fn a_user_token_sends_its_own_events_only() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let ada = stack.user(&app, "ada-phone").await;
    let mut theirs = event("tap", "f2", &now());
    theirs["user_id"] = json!("someone-else");
    let report = stack.ingest(&ada.token, json!([event("tap", "f1", &now()), theirs])).await;
    assert_eq!(report["accepted"], 1, "{report}");
    assert_eq!(report["rejected"][0]["reason"], "not_the_sender");
    assert_eq!(stack.today(&app.token, "events.tap").await, 1);
    // The event counts as Ada's activity (she also joined today).
    assert_eq!(stack.today(&app.token, "users.active").await, 1);

    // Reading analytics needs the app's token, not a user's.
    stack
        .api
        .get(&format!("/v1/metrics/events.tap?{}", super::range_of_today()), &ada.token)
        .await
        .assert_problem(403, None);
}
