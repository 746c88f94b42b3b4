//! The operator's rebuild recomputes exactly the live rollups.

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
