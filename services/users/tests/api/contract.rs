//! Bad input: precise problems, and nothing changed.

use super::*;

#[tokio::test]
async fn bad_input_gets_a_precise_problem_and_changes_nothing() {
    let h = Harness::start().await;
    let (_, api_key, _) = h.app("Demo").await;

    assert_problem(&h.raw("/v1/sessions", "{not json").await, StatusCode::BAD_REQUEST, Some("body"));
    assert_problem(&h.raw("/v1/sessions", r#"{"api_key":"x"}"#).await, StatusCode::BAD_REQUEST, Some("device_id"));
    let long_device = json!({ "api_key": api_key, "device_id": "d".repeat(201) });
    assert_problem(
        &h.call(Method::POST, "/v1/sessions", None, Some(long_device)).await,
        StatusCode::BAD_REQUEST,
        Some("device_id"),
    );
    let unknown = json!({ "api_key": "ck_unknown", "device_id": "d1" });
    assert_problem(&h.call(Method::POST, "/v1/sessions", None, Some(unknown)).await, StatusCode::UNAUTHORIZED, None);
    let huge = format!(r#"{{"api_key":"{api_key}","device_id":"{}"}}"#, "x".repeat(70_000));
    let response = h
        .http
        .post(h.service.url("/v1/sessions"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(&Reply::from(response).await, StatusCode::PAYLOAD_TOO_LARGE, None);

    let session = h.session(&api_key, "d1").await;
    let token = s(&session["access_token"]);
    let bad_profile = json!({ "image_url": "ftp://nope", "display_name": "fine" });
    assert_problem(
        &h.call(Method::PATCH, "/v1/users/me", Some(&token), Some(bad_profile)).await,
        StatusCode::BAD_REQUEST,
        Some("image_url"),
    );
    let unknown_field = json!({ "nickname": "x" });
    assert_problem(
        &h.call(Method::PATCH, "/v1/users/me", Some(&token), Some(unknown_field)).await,
        StatusCode::BAD_REQUEST,
        Some("nickname"),
    );
    let me = h.call(Method::GET, "/v1/users/me", Some(&token), None).await;
    assert_eq!(me.body["display_name"], Value::Null, "a rejected update changes nothing");

    assert_problem(&h.call(Method::GET, "/v1/users/me", None, None).await, StatusCode::UNAUTHORIZED, None);
    assert_problem(&h.call(Method::GET, "/v1/users/me", Some("garbage"), None).await, StatusCode::UNAUTHORIZED, None);
    assert_problem(&h.call(Method::GET, "/v1/nowhere", None, None).await, StatusCode::NOT_FOUND, None);
    assert_problem(
        &h.call(Method::PUT, "/v1/users/me", Some(&token), None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        None,
    );
    assert_problem(
        &h.call(Method::GET, "/v1/users/me/blocks?limit=500", Some(&token), None).await,
        StatusCode::BAD_REQUEST,
        Some("limit"),
    );
    assert_problem(
        &h.call(Method::GET, "/v1/users/me/blocks?cursor=%%%", Some(&token), None).await,
        StatusCode::BAD_REQUEST,
        None,
    );

    // Only user.created from the one good session reached the feed.
    let service = h.service_token().await;
    assert_eq!(h.events(&service).await.len(), 1);
}
