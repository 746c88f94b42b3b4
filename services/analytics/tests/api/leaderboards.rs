//! Leaderboards and metrics grouped by entity.

use chrono::{Days, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Stack, event, range_of_today};

fn about(name: &str, id: &str, user: &str, entity: &str) -> Value {
    let mut event = event(name, id, &Utc::now().to_rfc3339());
    event["user_id"] = json!(user);
    event["entity_key"] = json!(entity);
    event
}

fn items(body: &Value, key: &str) -> Vec<(String, i64)> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item[key].as_str().unwrap().to_owned(), item["count"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_top_entities_and_users_of_a_range_most_first() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let batch = json!([
        about("read", "1", "u1", "post-a"),
        about("read", "2", "u1", "post-b"),
        about("read", "3", "u2", "post-b"),
        about("read", "4", "u3", "post-b"),
        about("read", "5", "u3", "post-c"),
        about("read", "6", "u3", "post-c"),
    ]);
    assert_eq!(stack.ingest(&app.token, batch).await["accepted"], 6);
    let ada = stack.user(&app, "ada-phone").await;
    for key in ["post-c", "post-d"] {
        let liked =
            stack.actions.call(Method::POST, &format!("/v1/entities/{key}/likes"), Some(&ada.token), None).await;
        assert_eq!(liked.status, 201, "{}", liked.body);
    }
    stack.wait_for_today(&app.token, "actions.likes", 2).await;
    stack.wait_for_today(&app.token, "users.new", 1).await;
    let today = Utc::now().date_naive();
    let range = format!("from={today}T00:00:00Z&to={}T00:00:00Z", today + Days::new(1));

    let reads =
        stack.api.get(&format!("/v1/leaderboards/entities?{range}&metric=events.read&limit=2"), &app.token).await;
    assert_eq!(items(&reads.body, "entity_key"), vec![("post-b".into(), 3), ("post-c".into(), 2)], "{}", reads.body);
    let actions = stack.api.get(&format!("/v1/leaderboards/entities?{range}"), &app.token).await;
    assert_eq!(
        items(&actions.body, "entity_key"),
        vec![("post-c".into(), 1), ("post-d".into(), 1)],
        "{}",
        actions.body
    );
    let users = stack.api.get(&format!("/v1/leaderboards/users?{range}&limit=3"), &app.token).await;
    // Ada liked twice and joined today (three facts); ties go by id.
    let mut expected = vec![("u3".to_owned(), 3), (ada.id.clone(), 3), ("u1".to_owned(), 2)];
    expected[..2].sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(items(&users.body, "user_id"), expected, "{}", users.body);

    // Grouped by entity: one series per top entity.
    let grouped = stack
        .api
        .get(&format!("/v1/metrics/events.read?{}&group_by=entity&limit=2", range_of_today()), &app.token)
        .await;
    assert_eq!(grouped.status, 200, "{}", grouped.body);
    let groups: Vec<(String, i64)> = grouped.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| (group["key"].as_str().unwrap().to_owned(), group["points"][0]["value"].as_i64().unwrap()))
        .collect();
    assert_eq!(groups, vec![("post-b".into(), 3), ("post-c".into(), 2)]);
    assert!(grouped.body.get("points").is_none(), "{}", grouped.body);
    stack
        .api
        .get(&format!("/v1/metrics/users.active?{}&group_by=entity", range_of_today()), &app.token)
        .await
        .assert_problem(400, Some("group_by"));

    // Another app's leaderboards are empty.
    let other = stack.app().await;
    let theirs = stack.api.get(&format!("/v1/leaderboards/users?{range}"), &other.token).await;
    assert_eq!(theirs.body["items"], json!([]));
}

#[tokio::test]
async fn an_erased_user_leaves_the_leaderboards() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let ada = stack.user(&app, "ada-phone").await;
    stack.ingest(&ada.token, json!([event("tap", "t1", &Utc::now().to_rfc3339())])).await;
    let board = async || {
        let reply = stack.api.get(&format!("/v1/leaderboards/users?{}", range_of_today()), &app.token).await;
        items(&reply.body, "user_id").into_iter().map(|(user, _)| user).collect::<Vec<_>>()
    };
    assert_eq!(board().await, vec![ada.id.clone()]);
    stack.peer.erase_self(&ada).await;
    chorus_kit::testing::eventually("the erased user leaves the leaderboard", async || board().await.is_empty()).await;
}
