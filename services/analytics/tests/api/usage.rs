//! API usage: the apps that call an operation, gathered from every service.

use chorus_kit::testing::eventually;
use reqwest::Method;
use serde_json::json;

use super::{OPERATOR_TOKEN, Stack};

#[tokio::test]
async fn the_consumers_of_an_operation_are_the_apps_that_called_it() {
    let stack = Stack::start().await;
    let (caller, idle) = (stack.app().await, stack.app().await);
    let ada = stack.user(&caller, "ada-phone").await;
    let liked = stack.actions.call(Method::POST, "/v1/entities/post-1/likes", Some(&ada.token), None).await;
    assert_eq!(liked.status, 201, "{}", liked.body);
    let caller_id = stack.app_id(&caller.token);
    let today = chrono::Utc::now().date_naive().to_string();

    eventually("the like is gathered", async || {
        let reply = stack.api.get("/v1/usage/operations/like/consumers", OPERATOR_TOKEN).await;
        reply.body["items"] == json!([{ "app_id": caller_id, "calls": 1, "last_seen": today }])
    })
    .await;
    let at_actions = stack.api.get("/v1/usage/operations/like/consumers?service=actions", OPERATOR_TOKEN).await;
    assert_eq!(at_actions.body["items"][0]["app_id"], caller_id.as_str(), "{}", at_actions.body);
    let elsewhere = stack.api.get("/v1/usage/operations/like/consumers?service=notifications", OPERATOR_TOKEN).await;
    assert_eq!(elsewhere.body["items"], json!([]));
    let later = stack.api.get("/v1/usage/operations/like/consumers?since=2999-01-01", OPERATOR_TOKEN).await;
    assert_eq!(later.body["items"], json!([]));
    // An app that never liked is not a consumer of `like`.
    let idle_id = stack.app_id(&idle.token);
    let all = stack.api.get("/v1/usage/operations/like/consumers", OPERATOR_TOKEN).await;
    assert!(!all.body["items"].as_array().unwrap().iter().any(|item| item["app_id"] == idle_id.as_str()));

    // Only the operator asks.
    stack.api.get("/v1/usage/operations/like/consumers", &caller.token).await.assert_problem(403, None);
}
