//! Sessions: the SDK's first call, and refresh tokens.

use super::*;

#[tokio::test]
async fn the_sdk_first_steps_work() {
    let h = Harness::start().await;
    let (app_id, api_key, _) = h.app("Demo").await;

    let first =
        h.call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": "phone-1" }))).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let user_id = s(&first.body["user"]["id"]);
    assert_eq!(first.body["user"]["app_id"], app_id.as_str());
    assert_eq!(first.body["token_type"], "Bearer");
    assert!(first.body["expires_in"].as_i64().unwrap() > 0);

    // The same device finds the same user.
    let again =
        h.call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": "phone-1" }))).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(s(&again.body["user"]["id"]), user_id);

    let token = s(&first.body["access_token"]);
    let me = h.call(Method::GET, "/v1/users/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["settings"]["notifications_enabled"], true);

    let update = json!({ "display_name": "Ada", "bio": "Counts things", "meta": { "team": "blue" },
                         "settings": { "notifications_enabled": false } });
    let updated = h.call(Method::PATCH, "/v1/users/me", Some(&token), Some(update)).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["display_name"], "Ada");
    assert_eq!(updated.body["meta"]["team"], "blue");
    assert_eq!(updated.body["settings"]["notifications_enabled"], false);

    // Another user of the app sees the public profile, without settings.
    let other = h.session(&api_key, "phone-2").await;
    let other_token = s(&other["access_token"]);
    let seen = h.call(Method::GET, &format!("/v1/users/{user_id}"), Some(&other_token), None).await;
    assert_eq!(seen.body["display_name"], "Ada");
    assert!(seen.body.get("settings").is_none());
    let batch = h
        .call(
            Method::GET,
            &format!("/v1/users?ids={user_id},{},missing", s(&other["user"]["id"])),
            Some(&other_token),
            None,
        )
        .await;
    assert_eq!(batch.body["items"].as_array().unwrap().len(), 2);

    // Every change is on the feed, in order.
    let service = h.service_token().await;
    let events = h.events(&service).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["user.created", "user.updated", "user.settings_changed", "user.created"]);
    assert!(events.windows(2).all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));
    // The settings travel on their own event, which only services read.
    assert_eq!(events[2]["data"], json!({ "user_id": user_id, "notifications_enabled": false }));
    assert!(events[1]["data"]["user"].get("settings").is_none());
    chorus_kit::testing::assert_events_match_schema::<users_client::types::Event>(&events);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_session() {
    let h = Harness::start().await;
    let (_, api_key, _) = h.app("Demo").await;
    let session = h.session(&api_key, "d1").await;
    let first = s(&session["refresh_token"]);

    let refreshed = h.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({ "refresh_token": first }))).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let second = s(&refreshed.body["refresh_token"]);
    assert_ne!(first, second);

    let reused = h.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({ "refresh_token": first }))).await;
    assert_problem(&reused, StatusCode::UNAUTHORIZED, None);
    // The reuse revoked the whole family, including the newest token.
    let after = h.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({ "refresh_token": second }))).await;
    assert_problem(&after, StatusCode::UNAUTHORIZED, None);
}
