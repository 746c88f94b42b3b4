//! Profiles, identities, blocks, bans and personal data.

use super::*;

#[tokio::test]
async fn moderation_identities_blocks_and_personal_data() {
    let h = Harness::start().await;
    let (_, api_key, api_secret) = h.app("Demo").await;
    let app = h.app_token(&api_key, &api_secret).await;
    let alice = h.session(&api_key, "alice-phone").await;
    let bob = h.session(&api_key, "bob-phone").await;
    let (alice_id, bob_id) = (s(&alice["user"]["id"]), s(&bob["user"]["id"]));
    let alice_token = s(&alice["access_token"]);

    // Blocks are idempotent and listed.
    for _ in 0..2 {
        let blocked = h.call(Method::PUT, &format!("/v1/users/me/blocks/{bob_id}"), Some(&alice_token), None).await;
        assert_eq!(blocked.status, StatusCode::NO_CONTENT);
    }
    let blocks = h.call(Method::GET, "/v1/users/me/blocks", Some(&alice_token), None).await;
    assert_eq!(blocks.body["items"][0]["user_id"], bob_id.as_str());
    assert_problem(
        &h.call(Method::PUT, &format!("/v1/users/me/blocks/{alice_id}"), Some(&alice_token), None).await,
        StatusCode::FORBIDDEN,
        None,
    );

    // Linking an identity that already has a user hands that user back.
    let link = json!({ "provider": "google", "external_id": "g-123" });
    let linked =
        h.call(Method::POST, &format!("/v1/users/{alice_id}/identities"), Some(&app), Some(link.clone())).await;
    assert_eq!(linked.status, StatusCode::OK, "{:?}", linked.body);
    assert_eq!(linked.body["session"], Value::Null);
    let new_phone = h.session(&api_key, "alice-new-phone").await;
    let new_id = s(&new_phone["user"]["id"]);
    let handed = h.call(Method::POST, &format!("/v1/users/{new_id}/identities"), Some(&app), Some(link)).await;
    assert_eq!(s(&handed.body["user"]["id"]), alice_id);
    assert!(handed.body["session"]["access_token"].is_string());
    // The device id alone no longer opens the identified user's session.
    let by_device = json!({ "api_key": api_key, "device_id": "alice-new-phone" });
    assert_problem(&h.call(Method::POST, "/v1/sessions", None, Some(by_device)).await, StatusCode::UNAUTHORIZED, None);
    let refreshed = json!({ "refresh_token": s(&handed.body["session"]["refresh_token"]) });
    let refreshed = h.call(Method::POST, "/v1/sessions/refresh", None, Some(refreshed)).await;
    assert_eq!(s(&refreshed.body["user"]["id"]), alice_id);

    // A banned user can no longer open sessions; unbanning restores it.
    let banned =
        h.call(Method::PUT, &format!("/v1/users/{bob_id}/ban"), Some(&app), Some(json!({ "reason": "spam" }))).await;
    assert_eq!(banned.body["banned"], true);
    let refused =
        h.call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": "bob-phone" }))).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, None);
    h.call(Method::DELETE, &format!("/v1/users/{bob_id}/ban"), Some(&app), None).await;
    h.session(&api_key, "bob-phone").await;

    // Export, then erase, which every other service learns from the feed.
    let export = h.call(Method::GET, "/v1/users/me/export", Some(&alice_token), None).await;
    assert_eq!(export.body["identities"][0]["provider"], "google");
    assert_eq!(export.body["blocked_user_ids"][0], bob_id.as_str());
    assert_eq!(
        h.call(Method::DELETE, &format!("/v1/users/{alice_id}"), Some(&app), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &h.call(Method::GET, &format!("/v1/users/{alice_id}"), Some(&app), None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    let service = h.service_token().await;
    let types: Vec<String> = h.events(&service).await.iter().map(|e| s(&e["type"])).collect();
    for expected in ["user.blocked", "user.banned", "user.unbanned", "user.deleted"] {
        assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
    }
    // Erasure removes the events that carried the user's profile; `user.deleted` stays.
    let events = h.events(&service).await;
    let types = chorus_kit::testing::assert_events_match_schema::<users_client::types::Event>(&events);
    for expected in ["user.created", "user.blocked", "user.banned", "user.unbanned", "user.deleted"] {
        assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
    }
    let hers: Vec<&str> =
        events.iter().filter(|e| e["subject"] == alice_id.as_str()).map(|e| e["type"].as_str().unwrap()).collect();
    assert!(!hers.contains(&"user.created") && !hers.contains(&"user.updated"), "{hers:?}");
    assert!(hers.contains(&"user.deleted"), "{hers:?}");
}
