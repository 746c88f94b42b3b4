//! Push devices and subscriptions.

use super::*;

#[tokio::test]
async fn devices_and_subscriptions_validate_and_belong_to_their_user() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    let device = json!({ "platform": "ios", "provider": "apns", "token": "apns-token-1" });
    let first = s.api.post("/v1/devices", &ada.token, device.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(s.api.post("/v1/devices", &ada.token, device.clone()).await.status, 200);
    s.api
        .post("/v1/devices", &ada.token, json!({ "platform": "palm", "provider": "apns", "token": "t" }))
        .await
        .assert_problem(400, Some("platform"));
    s.api
        .post("/v1/devices", &ada.token, json!({ "platform": "ios", "provider": "apns" }))
        .await
        .assert_problem(400, Some("token"));
    s.api.post("/v1/devices", &app, device.clone()).await.assert_problem(403, None);

    // The phone changes hands: its token moves to Bob.
    assert_eq!(s.api.post("/v1/devices", &bob.token, device).await.status, 201);
    assert_eq!(s.api.get("/v1/devices", &ada.token).await.body["items"], json!([]));
    let device_id = first.text("/id");
    s.api
        .call(Method::DELETE, &format!("/v1/devices/{device_id}"), Some(&ada.token), None)
        .await
        .assert_problem(404, None);
    assert_eq!(
        s.api.call(Method::DELETE, &format!("/v1/devices/{device_id}"), Some(&bob.token), None).await.status,
        204
    );

    let key = "https://example.com/a?b=c&d=%41";
    s.subscribe(&ada, key, "new_comments").await;
    s.subscribe(&ada, key, "new_comments").await;
    s.subscribe(&ada, key, "replies").await;
    s.api
        .call(Method::PUT, &format!("{}/subscriptions/everything", path(key)), Some(&ada.token), None)
        .await
        .assert_problem(400, Some("kind"));
    // At most 50 devices per user (Ada has none left); the list pages.
    for i in 0..50 {
        let device = json!({ "platform": "android", "provider": "fcm", "token": format!("fcm-{i}") });
        assert_eq!(s.api.post("/v1/devices", &ada.token, device).await.status, 201);
    }
    let one_too_many = json!({ "platform": "android", "provider": "fcm", "token": "fcm-extra" });
    s.api.post("/v1/devices", &ada.token, one_too_many.clone()).await.assert_problem(409, None);
    let page = s.api.get("/v1/devices?limit=20", &ada.token).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 20);
    assert!(page.body["next_cursor"].is_string());

    let listed = s.api.get("/v1/subscriptions", &ada.token).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(listed.body["items"][0]["entity_key"], key);
    s.api.call(Method::DELETE, &format!("{}/subscriptions/replies", path(key)), Some(&ada.token), None).await;
    assert_eq!(s.api.get("/v1/subscriptions", &ada.token).await.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(s.api.get("/v1/subscriptions", &bob.token).await.body["items"], json!([]));
}
