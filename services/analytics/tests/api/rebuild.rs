//! The rollups equal a recount of the raw events, and the operator's rebuild recomputes exactly
//! the live rollups.

use chrono::{Days, Utc};
use reqwest::Method;
use serde_json::json;

use super::{OPERATOR_TOKEN, Stack, event};

#[tokio::test]
async fn a_rebuild_equals_the_live_rollups() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let ada = stack.user(&app, "ada-phone").await;
    let like = stack.actions.call(Method::POST, "/v1/entities/post-1/likes", Some(&ada.token), None).await;
    assert_eq!(like.status, 201, "{}", like.body);
    let yesterday = (Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let mut events: Vec<_> = (0..300)
        .map(|n| {
            let mut e = event(if n % 3 == 0 { "open" } else { "tap" }, &format!("r{n}"), &yesterday);
            e["user_id"] = json!(format!("user-{}", n % 200));
            e
        })
        .collect();
    events.push(event("open", "now", &Utc::now().to_rfc3339()));
    assert_eq!(stack.ingest(&app.token, json!(events)).await["accepted"], 301);
    stack.wait_for_today(&app.token, "actions.likes", 1).await;
    stack.wait_for_today(&app.token, "users.new", 1).await;

    let today = Utc::now().date_naive();
    let range = format!("from={}T00:00:00Z&to={}T00:00:00Z", today - Days::new(2), today + Days::new(1));
    let metrics = ["events.open", "events.tap", "actions.likes", "users.new", "users.active"];
    let mut live = Vec::new();
    for metric in metrics {
        for query in
            [format!("{range}&interval=hour"), format!("{range}&interval=day&tz=Asia/Kathmandu&mode=cumulative")]
        {
            live.push(stack.points(&app.token, metric, &query).await);
        }
    }
    // 200 active users yesterday: past the exact range, so an estimate within a few percent.
    let most_active = live[8].iter().map(|(_, value)| *value).max().unwrap();
    assert!((194..=206).contains(&most_active), "the active users of yesterday: {most_active}");

    // The live rollups equal a recount of the raw events, by metric and UTC day.
    let app_id = stack.app_id(&app.token);
    let raw = stack
        .analytics
        .db()
        .read(move |conn| chorus_analytics::store::raw::page(conn, &app_id, 0, None, 10_000))
        .await
        .unwrap();
    let mut recount: std::collections::BTreeMap<(String, String), i64> = std::collections::BTreeMap::new();
    for event in &raw {
        let day = chrono::DateTime::from_timestamp_millis(event.occurred_at).unwrap().date_naive().to_string();
        *recount.entry((event.metric.clone(), day)).or_default() += event.count;
    }
    assert!(recount.len() >= 3, "{recount:?}");
    for ((metric, day), count) in &recount {
        let next = day.parse::<chrono::NaiveDate>().unwrap() + Days::new(1);
        let points = stack.points(&app.token, metric, &format!("from={day}T00:00:00Z&to={next}T00:00:00Z")).await;
        assert_eq!(points.iter().map(|(_, value)| value).sum::<i64>(), *count, "{metric} on {day}");
    }

    let rebuilt = stack.api.call(Method::POST, "/v1/rollups:rebuild", Some(OPERATOR_TOKEN), None).await;
    assert_eq!(rebuilt.status, 200, "{}", rebuilt.body);
    assert!(rebuilt.body["events"].as_i64().unwrap() >= 303, "{}", rebuilt.body);
    let mut again = Vec::new();
    for metric in metrics {
        for query in
            [format!("{range}&interval=hour"), format!("{range}&interval=day&tz=Asia/Kathmandu&mode=cumulative")]
        {
            again.push(stack.points(&app.token, metric, &query).await);
        }
    }
    assert_eq!(again, live);

    // Only the operator rebuilds.
    stack.api.call(Method::POST, "/v1/rollups:rebuild", Some(&app.token), None).await.assert_problem(403, None);
}
