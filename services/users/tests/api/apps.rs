//! Apps: creation, idempotency and secrets.

use super::*;

#[tokio::test]
async fn app_creation_is_idempotent_and_secrets_are_shown_once() {
    let h = Harness::start().await;
    let create = |name: &'static str, key: &'static str| {
        h.http
            .post(h.service.url("/v1/apps"))
            .bearer_auth(OPERATOR_TOKEN)
            .header("Idempotency-Key", key)
            .json(&json!({ "name": name }))
            .send()
    };
    let first = Reply::from(create("Shop", "k1").await.unwrap()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(s(&first.body["api_secret"]).starts_with("cs_"));
    let replay = Reply::from(create("Shop", "k1").await.unwrap()).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body["app"]["id"], first.body["app"]["id"]);
    assert_eq!(replay.body["api_secret"], Value::Null);
    assert_problem(&Reply::from(create("Other", "k1").await.unwrap()).await, StatusCode::UNPROCESSABLE_ENTITY, None);

    // The app manages itself; rotation retires the old secret.
    let api_key = s(&first.body["app"]["api_key"]);
    let app_id = s(&first.body["app"]["id"]);
    let app_token = h.app_token(&api_key, &s(&first.body["api_secret"])).await;
    let settings = json!({ "settings": { "anonymous_sessions": false, "access_token_ttl_secs": 600, "refresh_token_ttl_days": 7 } });
    let updated = h.call(Method::PATCH, &format!("/v1/apps/{app_id}"), Some(&app_token), Some(settings)).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    let refused =
        h.call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": "d" }))).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, None);
    let rotated = h.call(Method::POST, &format!("/v1/apps/{app_id}/secret"), Some(&app_token), None).await;
    let new_secret = s(&rotated.body["api_secret"]);
    let old = json!({ "api_key": api_key, "api_secret": s(&first.body["api_secret"]) });
    assert_problem(&h.call(Method::POST, "/v1/tokens/app", None, Some(old)).await, StatusCode::UNAUTHORIZED, None);
    h.app_token(&api_key, &new_secret).await;
}
